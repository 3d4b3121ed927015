package procfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// These tests read this test process's own memory with process_vm_readv:
// the kernel, no fake. unsafe is confined to this file.

func addrOf(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func TestProcessMemoryReadsOwnString(t *testing.T) {
	s := strings.Repeat("exectrail ", 1000) + "\x00tail"
	pm := &ProcessMemory{TID: os.Getpid()}
	addr := uint64(uintptr(unsafe.Pointer(unsafe.StringData(s))))

	buf := make([]byte, len(s))
	n, err := pm.ReadV([]uint64{addr}, [][]byte{buf})
	if err != nil || n != len(s) || string(buf) != s {
		t.Fatalf("ReadV = %d, %v; equal %v", n, err, string(buf) == s)
	}
	got, err := ReadString(pm, addr, MaxArgStrlen, "s")
	if err != nil || string(got) != strings.Repeat("exectrail ", 1000) {
		t.Fatalf("ReadString = %d bytes, %v", len(got), err)
	}
	runtime.KeepAlive(s)
}

// twoPages maps two readable pages and unmaps the second: reads that run
// off the end of the first stop at a real unmapped page.
func twoPages(t *testing.T) []byte {
	t.Helper()
	p, err := unix.MmapPtr(-1, 0, nil, 2*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.MunmapPtr(unsafe.Add(p, PageSize), PageSize); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.MunmapPtr(p, PageSize) })
	return unsafe.Slice((*byte)(p), PageSize)
}

func TestProcessMemoryUnmapped(t *testing.T) {
	page := twoPages(t)
	pm := &ProcessMemory{TID: os.Getpid()}
	next := addrOf(page) + PageSize

	// Entirely unmapped: EFAULT and nothing read.
	n, err := pm.ReadV([]uint64{next}, [][]byte{make([]byte, 10)})
	if n != 0 || !errors.Is(err, unix.EFAULT) {
		t.Errorf("unmapped: ReadV = %d, %v; want 0, EFAULT", n, err)
	}
	// Low address, never mapped.
	if n, err := pm.ReadV([]uint64{16}, [][]byte{make([]byte, 4)}); n != 0 || !errors.Is(err, unix.EFAULT) {
		t.Errorf("address 16: ReadV = %d, %v; want 0, EFAULT", n, err)
	}
	// One range crossing into the unmapped page: a partial read that
	// stops at the page boundary (KERNEL-FACTS 14), and the reason.
	copy(page[PageSize-5:], "01234")
	buf := make([]byte, 10)
	n, err = pm.ReadV([]uint64{next - 5}, [][]byte{buf})
	if n != 5 || string(buf[:5]) != "01234" || !errors.Is(err, unix.EFAULT) {
		t.Errorf("crossing: ReadV = %d %q, %v; want 5, EFAULT", n, buf[:n], err)
	}
	// Several ranges: the count stops at the first one that fails.
	copy(page, "abc")
	a, b, c := make([]byte, 3), make([]byte, 3), make([]byte, 3)
	n, err = pm.ReadV([]uint64{addrOf(page), next, addrOf(page)}, [][]byte{a, b, c})
	if n != 3 || string(a) != "abc" || !errors.Is(err, unix.EFAULT) {
		t.Errorf("batch: ReadV = %d (%q), %v; want 3, EFAULT", n, a, err)
	}

	// A string with no NUL before the unmapped page.
	copy(page[PageSize-3:], "xyz")
	got, err := ReadString(pm, next-3, 100, "path")
	var me *MemError
	if !errors.As(err, &me) || me.Addr != next || !errors.Is(err, unix.EFAULT) || string(got) != "xyz" {
		t.Errorf("ReadString = %q, %v; want \"xyz\" and EFAULT at %#x", got, err, next)
	}
	// NUL as the page's last byte: fine.
	page[PageSize-1] = 0
	if got, err := ReadString(pm, next-3, 100, "path"); err != nil || string(got) != "xy" {
		t.Errorf("ReadString = %q, %v; want \"xy\"", got, err)
	}
	runtime.KeepAlive(page)
}

// TestProcessMemoryArgv reads an argv laid out in this process: more than
// IOV_MAX strings (so the batches must respect it), and one whose bytes
// run into an unmapped page.
func TestProcessMemoryArgv(t *testing.T) {
	page := twoPages(t)
	pm := &ProcessMemory{TID: os.Getpid()}

	const n = 2500
	data := make([]byte, 0, 64<<10)
	var want []string
	for i := range n {
		s := strings.Repeat(string(rune('a'+i%26)), i%40)
		if i%500 == 7 {
			s = strings.Repeat("L", 9000)
		}
		want = append(want, s)
		data = append(data, s...)
		data = append(data, 0)
	}
	offs := make([]uint64, 0, n+2)
	base := addrOf(data)
	off := 0
	for _, s := range want {
		offs = append(offs, base+uint64(off))
		off += len(s) + 1
	}
	// argv[n]: "tail" without a NUL before the unmapped page.
	copy(page[PageSize-4:], "tail")
	offs = append(offs, addrOf(page)+PageSize-4, 0)
	arr := make([]byte, 8*len(offs))
	for i, p := range offs {
		binary.LittleEndian.PutUint64(arr[8*i:], p)
	}

	ptrs, err := ReadPointers(pm, addrOf(arr), 8, 1<<20, "argv")
	if err != nil || len(ptrs) != n+1 {
		t.Fatalf("ReadPointers: %d, %v", len(ptrs), err)
	}
	got, err := ReadStrings(pm, ptrs, MaxArgBytes, "argv")
	var me *MemError
	if !errors.As(err, &me) || me.What != "argv[2500]" || !errors.Is(err, unix.EFAULT) {
		t.Fatalf("ReadStrings error %v, want EFAULT naming argv[2500]", err)
	}
	if len(got) != n+1 || string(got[n]) != "tail" {
		t.Fatalf("%d strings, last %q", len(got), got[len(got)-1])
	}
	for i := range n {
		if !bytes.Equal(got[i], []byte(want[i])) {
			t.Fatalf("argv[%d] = %q, want %q", i, trunc(got[i]), trunc([]byte(want[i])))
		}
	}
	runtime.KeepAlive(data)
	runtime.KeepAlive(arr)
	runtime.KeepAlive(page)
}
