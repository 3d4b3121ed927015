package procfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeMem is an address space of mapped pages. ReadV behaves like
// process_vm_readv: ranges are filled in order, a range is copied up to
// the first byte it cannot read, and the count stops there (an error
// comes with a short count). The real kernel path is covered by
// mem_unsafe_test.go and the integration tests.
type fakeMem struct {
	pages map[uint64]*[PageSize]byte
	calls int // ReadV calls
	iovs  int // ranges asked for, in all
}

func newFakeMem() *fakeMem { return &fakeMem{pages: map[uint64]*[PageSize]byte{}} }

// write maps the pages under [addr, addr+len(b)) (zero-filled) and copies b.
func (m *fakeMem) write(addr uint64, b []byte) {
	for i := range b {
		a := addr + uint64(i)
		p := m.pages[a/PageSize]
		if p == nil {
			p = new([PageSize]byte)
			m.pages[a/PageSize] = p
		}
		p[a%PageSize] = b[i]
	}
}

func (m *fakeMem) mapPage(addr uint64) {
	if m.pages[addr/PageSize] == nil {
		m.pages[addr/PageSize] = new([PageSize]byte)
	}
}

func (m *fakeMem) unmap(addr uint64) { delete(m.pages, addr/PageSize) }

func (m *fakeMem) ReadV(addrs []uint64, bufs [][]byte) (int, error) {
	m.calls++
	m.iovs += len(addrs)
	if len(addrs) != len(bufs) || len(addrs) > 1024 {
		return 0, unix.EINVAL // IOV_MAX
	}
	n := 0
	for i, b := range bufs {
		a := addrs[i]
		for len(b) > 0 {
			p := m.pages[a/PageSize]
			if p == nil {
				return n, unix.EFAULT
			}
			c := copy(b, p[a%PageSize:])
			n += c
			b = b[c:]
			if a+uint64(c) < a && len(b) > 0 {
				return n, unix.EFAULT // past the top of the address space
			}
			a += uint64(c)
		}
	}
	return n, nil
}

func TestReadString(t *testing.T) {
	const page = 0x10 * PageSize
	for _, c := range []struct {
		name    string
		addr    uint64 // the address to read
		data    []byte // written at addr first, unless nil
		max     int
		want    string
		wantErr error // EFAULT or ErrTooLong
		errAddr uint64
	}{
		{name: "simple", addr: page, data: cstr("hello"), max: 100, want: "hello"},
		{name: "empty", addr: page, data: cstr(""), max: 100, want: ""},
		{
			name: "across a page boundary",
			addr: page + PageSize - 5, data: cstr("0123456789"),
			max: 100, want: "0123456789",
		},
		{
			name: "across three pages",
			addr: page + PageSize - 5, data: cstr(strings.Repeat("z", 2*PageSize+10)),
			max: 3 * PageSize, want: strings.Repeat("z", 2*PageSize+10),
		},
		{
			name: "NUL is the last byte of the page, next page unmapped",
			addr: page + PageSize - 4, data: cstr("abc"),
			max: 100, want: "abc",
		},
		{
			name: "string runs to the page end, next page unmapped",
			addr: page + PageSize - 3, data: []byte("abc"),
			max: 100, want: "abc", wantErr: unix.EFAULT, errAddr: page + PageSize,
		},
		{
			name: "unmapped",
			addr: page + 12,
			max:  100, wantErr: unix.EFAULT, errAddr: page + 12,
		},
		{name: "NULL", addr: 0, max: 100, wantErr: unix.EFAULT, errAddr: 0},
		{
			name: "exactly max",
			addr: page, data: cstr(strings.Repeat("m", 300)),
			max: 300, want: strings.Repeat("m", 300),
		},
		{
			name: "one over max",
			addr: page, data: cstr(strings.Repeat("m", 301)),
			max: 300, want: strings.Repeat("m", 300), wantErr: ErrTooLong,
		},
		{
			name: "over max across pages",
			addr: page + 100, data: cstr(strings.Repeat("m", PathMax+1)),
			max: PathMax, want: strings.Repeat("m", PathMax), wantErr: ErrTooLong,
		},
		{
			name: "max zero, empty",
			addr: page, data: cstr(""),
			max: 0, want: "",
		},
		{
			name: "max zero, not empty",
			addr: page, data: cstr("x"),
			max: 0, want: "", wantErr: ErrTooLong,
		},
		{
			name: "negative max",
			addr: page, data: cstr("x"),
			max: -5, want: "", wantErr: ErrTooLong,
		},
		{
			name: "top of the address space",
			addr: ^uint64(0) - 9, data: bytes.Repeat([]byte{'t'}, 10),
			max: 100, want: strings.Repeat("t", 10), wantErr: unix.EFAULT,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newFakeMem()
			if c.data != nil {
				m.write(c.addr, c.data)
			}
			got, err := ReadString(m, c.addr, c.max, "path")
			if string(got) != c.want {
				t.Errorf("got %q (%d bytes), want %q (%d bytes)", trunc(got), len(got), trunc([]byte(c.want)), len(c.want))
			}
			if c.wantErr == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if !strings.Contains(err.Error(), "path") {
				t.Errorf("error %q does not name the string", err)
			}
			var me *MemError
			if c.wantErr == unix.EFAULT {
				if !errors.As(err, &me) {
					t.Fatalf("error %v is not a *MemError", err)
				}
				if c.errAddr != 0 && me.Addr != c.errAddr {
					t.Errorf("MemError.Addr = %#x, want %#x", me.Addr, c.errAddr)
				}
			}
		})
	}
}

func TestReadStringPageByPage(t *testing.T) {
	m := newFakeMem()
	const addr = 0x20*PageSize + 10
	m.write(addr, cstr(strings.Repeat("p", 10<<10)))
	if _, err := ReadString(m, addr, MaxArgStrlen, "x"); err != nil {
		t.Fatal(err)
	}
	// 10 KiB from offset 10: pages 0x20, 0x21, 0x22 — one read each.
	if m.calls != 3 {
		t.Errorf("%d reads, want 3 (one per page)", m.calls)
	}
}

func putPtrs(size int, ptrs ...uint64) []byte {
	b := make([]byte, len(ptrs)*size)
	for i, p := range ptrs {
		if size == 8 {
			binary.LittleEndian.PutUint64(b[i*8:], p)
		} else {
			binary.LittleEndian.PutUint32(b[i*4:], uint32(p))
		}
	}
	return b
}

func TestReadPointers(t *testing.T) {
	const page = 0x30 * PageSize
	for _, size := range []int{8, 4} {
		for _, c := range []struct {
			name    string
			at      uint64 // where the array starts
			ptrs    []uint64
			noNull  bool   // leave out the terminating NULL
			unmap   uint64 // page to unmap after writing (0: none)
			max     int
			want    int // pointers returned
			wantErr error
		}{
			{name: "simple", at: page, ptrs: []uint64{0x1000, 0x2000, 0x3000}, max: 10, want: 3},
			{name: "empty", at: page, ptrs: nil, max: 10, want: 0},
			{name: "crossing pages", at: page + PageSize - 2*uint64(size), ptrs: []uint64{1, 2, 3, 4, 5}, max: 10, want: 5},
			{name: "unaligned, straddling", at: page + PageSize - uint64(size)/2, ptrs: []uint64{0xdead, 0xbeef, 7}, max: 10, want: 3},
			{name: "many pages", at: page + 3, ptrs: seq(3 * PageSize / size), max: 1 << 20, want: 3 * PageSize / size},
			{
				name: "runs into an unmapped page", at: page + PageSize - 2*uint64(size),
				ptrs: []uint64{1, 2, 3}, noNull: true, unmap: page + PageSize,
				max: 10, want: 2, wantErr: unix.EFAULT,
			},
			{name: "unmapped", at: page, unmap: page, max: 10, want: 0, wantErr: unix.EFAULT},
			{name: "NULL", at: 0, max: 10, want: 0, wantErr: unix.EFAULT},
			{name: "max", at: page, ptrs: []uint64{1, 2, 3}, max: 3, want: 3},
			{name: "over max", at: page, ptrs: []uint64{1, 2, 3, 4}, max: 3, want: 3, wantErr: ErrTooLong},
		} {
			t.Run(fmt.Sprintf("%d/%s", size, c.name), func(t *testing.T) {
				m := newFakeMem()
				ptrs := c.ptrs
				if !c.noNull {
					ptrs = append(append([]uint64{}, ptrs...), 0)
				}
				if c.at != 0 {
					m.mapPage(c.at)
					m.write(c.at, putPtrs(size, ptrs...))
				}
				if c.unmap != 0 {
					m.unmap(c.unmap)
				}
				got, err := ReadPointers(m, c.at, size, c.max, "argv pointers")
				if len(got) != c.want {
					t.Fatalf("%d pointers, want %d (err %v)", len(got), c.want, err)
				}
				for i := range got {
					if got[i] != c.ptrs[i] {
						t.Errorf("ptr %d = %#x, want %#x", i, got[i], c.ptrs[i])
					}
				}
				if c.wantErr == nil && err != nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
					t.Fatalf("error %v, want %v", err, c.wantErr)
				}
			})
		}
	}
	if _, err := ReadPointers(newFakeMem(), 0x1000, 3, 10, "argv"); err == nil {
		t.Error("pointer size 3 accepted")
	}
}

func TestReadPointersHighBits(t *testing.T) {
	// 4-byte pointers are zero-extended, never sign-extended.
	m := newFakeMem()
	m.write(0x5000, putPtrs(4, 0xfffff000, 0))
	got, err := ReadPointers(m, 0x5000, 4, 10, "argv")
	if err != nil || len(got) != 1 || got[0] != 0xfffff000 {
		t.Fatalf("got %#x, %v", got, err)
	}
}

func seq(n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(i + 1)
	}
	return s
}

// argvImage lays strs out in m from addr on (each NUL-terminated) and
// returns their addresses.
func argvImage(m *fakeMem, addr uint64, strs []string) []uint64 {
	ptrs := make([]uint64, len(strs))
	for i, s := range strs {
		ptrs[i] = addr
		m.write(addr, cstr(s))
		addr += uint64(len(s) + 1)
	}
	return ptrs
}

func checkStrings(t *testing.T, got [][]byte, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d strings, want %d", len(got), len(want))
	}
	for i := range got {
		if string(got[i]) != want[i] {
			t.Fatalf("string %d = %q (%d bytes), want %q (%d bytes)", i, trunc(got[i]), len(got[i]), trunc([]byte(want[i])), len(want[i]))
		}
	}
}

func TestReadStringsBatched(t *testing.T) {
	m := newFakeMem()
	strs := make([]string, 3000)
	for i := range strs {
		strs[i] = fmt.Sprintf("arg-%d", i)
	}
	ptrs := argvImage(m, 0x100*PageSize+7, strs)
	got, err := ReadStrings(m, ptrs, MaxArgBytes, "argv")
	if err != nil {
		t.Fatal(err)
	}
	checkStrings(t, got, strs)
	// 3000 short strings: three batches of at most 1024 ranges, plus one
	// read to finish each string cut by a page boundary (the batch never
	// reads across one, so an unmapped page fails only its own strings).
	want := 3
	for i, p := range ptrs {
		if pageRemain(p) < uint64(len(strs[i])+1) {
			want++
		}
	}
	if m.calls != want {
		t.Errorf("%d reads for 3000 short strings, want %d", m.calls, want)
	}
	if m.iovs != 3000+want-3 {
		t.Errorf("%d ranges read, want %d", m.iovs, 3000+want-3)
	}
}

func TestReadStringsMixed(t *testing.T) {
	m := newFakeMem()
	var strs []string
	for i := range 60 {
		switch i % 4 {
		case 0:
			strs = append(strs, strings.Repeat(string(rune('a'+i%26)), 10<<10))
		case 1:
			strs = append(strs, "")
		case 2:
			strs = append(strs, strings.Repeat("y", firstChunk)) // NUL just past the first chunk
		default:
			strs = append(strs, fmt.Sprint(i))
		}
	}
	ptrs := argvImage(m, 0x200*PageSize+PageSize-100, strs)
	got, err := ReadStrings(m, ptrs, MaxArgBytes, "argv")
	if err != nil {
		t.Fatal(err)
	}
	checkStrings(t, got, strs)
}

func TestReadStringsUnmappedInTheMiddle(t *testing.T) {
	m := newFakeMem()
	strs := make([]string, 3000)
	for i := range strs {
		strs[i] = fmt.Sprintf("arg-%d", i)
	}
	ptrs := argvImage(m, 0x300*PageSize, strs)
	ptrs[1500] = 0x7000 * PageSize // nothing there
	got, err := ReadStrings(m, ptrs, MaxArgBytes, "argv")
	if !errors.Is(err, unix.EFAULT) {
		t.Fatalf("error %v, want EFAULT", err)
	}
	if !strings.Contains(err.Error(), "argv[1500]") {
		t.Errorf("error %q does not name argv[1500]", err)
	}
	// The strings before it, then the failing one as far as it could be
	// read (nothing).
	checkStrings(t, got[:1500], strs[:1500])
	if len(got) != 1501 || len(got[1500]) != 0 {
		t.Fatalf("got %d strings, last %q", len(got), got[len(got)-1])
	}
}

func TestReadStringsRunsIntoUnmapped(t *testing.T) {
	m := newFakeMem()
	base := uint64(0x400 * PageSize)
	ptrs := argvImage(m, base, []string{"one", "two"})
	// The third string starts 600 bytes before an unmapped page and has
	// no NUL before it: longer than the first chunk, finished page by
	// page, then fails.
	third := base + PageSize - 600
	m.write(third, bytes.Repeat([]byte{'q'}, 600))
	m.unmap(base + PageSize)
	ptrs = append(ptrs, third)
	got, err := ReadStrings(m, ptrs, MaxArgBytes, "argv")
	var me *MemError
	if !errors.As(err, &me) || me.What != "argv[2]" || me.Addr != base+PageSize {
		t.Fatalf("error %v, want a MemError for argv[2] at %#x", err, base+PageSize)
	}
	checkStrings(t, got, []string{"one", "two", strings.Repeat("q", 600)})
}

func TestReadStringsLimits(t *testing.T) {
	m := newFakeMem()
	ptrs := argvImage(m, 0x500*PageSize, []string{"aaaa", "bbbb", "cccc"})
	// 3 strings of 4 bytes + NUL: 15 bytes.
	if got, err := ReadStrings(m, ptrs, 15, "argv"); err != nil || len(got) != 3 {
		t.Fatalf("total 15 with limit 15: %q, %v", got, err)
	}
	got, err := ReadStrings(m, ptrs, 14, "argv")
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("total 15 with limit 14: error %v", err)
	}
	if len(got) != 3 {
		t.Errorf("got %q", got)
	}

	// MAX_ARG_STRLEN counts the NUL.
	m = newFakeMem()
	ok := strings.Repeat("L", MaxArgStrlen-1)
	ptrs = argvImage(m, 0x600*PageSize+5, []string{"x", ok, ok + "L"})
	got, err = ReadStrings(m, ptrs, MaxArgBytes, "argv")
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "argv[2]") {
		t.Fatalf("error %v, want ErrTooLong for argv[2]", err)
	}
	checkStrings(t, got[:2], []string{"x", ok})
	if len(got) != 3 || len(got[2]) != MaxArgStrlen-1 {
		t.Errorf("got %d strings", len(got))
	}
}

func TestReadStringsEmpty(t *testing.T) {
	m := newFakeMem()
	got, err := ReadStrings(m, nil, MaxArgBytes, "argv")
	if err != nil || len(got) != 0 {
		t.Fatalf("got %q, %v", got, err)
	}
	if m.calls != 0 {
		t.Errorf("%d reads for no strings", m.calls)
	}
}

// TestMaxArgStrlenMatchesKernel pins the limit ReadStrings applies: the
// kernel refuses an argument of MaxArgStrlen bytes (its limit counts the
// NUL) and accepts one byte less.
func TestMaxArgStrlenMatchesKernel(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := func(n int) error {
		cmd := exec.Command(self, strings.Repeat("a", n))
		cmd.Env = helperEnv()
		return cmd.Run()
	}
	if err := run(MaxArgStrlen - 1); err != nil {
		t.Errorf("argument of %d bytes: %v", MaxArgStrlen-1, err)
	}
	if err := run(MaxArgStrlen); !errors.Is(err, syscall.E2BIG) {
		t.Errorf("argument of %d bytes: %v, want E2BIG", MaxArgStrlen, err)
	}
}

// Reference readers for FuzzReadArgv: one byte at a time, no batching,
// no pages.
func refByte(m *fakeMem, a uint64) (byte, bool) {
	p := m.pages[a/PageSize]
	if p == nil {
		return 0, false
	}
	return p[a%PageSize], true
}

type refErr int

const (
	refOK refErr = iota
	refFault
	refTooLong
)

func refPointers(m *fakeMem, addr uint64, size, max int) ([]uint64, refErr) {
	var out []uint64
	if addr == 0 {
		return nil, refFault
	}
	for a := addr; ; a += uint64(size) {
		var p uint64
		for j := 0; j < size; j++ {
			if a+uint64(j) < addr {
				return out, refFault // wrapped
			}
			c, ok := refByte(m, a+uint64(j))
			if !ok {
				return out, refFault
			}
			p |= uint64(c) << (8 * j)
		}
		if p == 0 {
			return out, refOK
		}
		if len(out) >= max {
			return out, refTooLong
		}
		out = append(out, p)
	}
}

func refString(m *fakeMem, addr uint64, max int) ([]byte, refErr) {
	if addr == 0 {
		return nil, refFault
	}
	var out []byte
	for a := addr; ; a++ {
		if a < addr {
			return out, refFault
		}
		c, ok := refByte(m, a)
		if !ok {
			return out, refFault
		}
		if c == 0 {
			return out, refOK
		}
		if len(out) == max {
			return out, refTooLong
		}
		out = append(out, c)
	}
}

func classify(err error) refErr {
	switch {
	case err == nil:
		return refOK
	case errors.Is(err, ErrTooLong):
		return refTooLong
	case errors.Is(err, unix.EFAULT):
		return refFault
	}
	return -1
}

// fuzzArgvImage builds a seed: a pointer array at the image start and the
// strings after it, for an image mapped at imageBase(shift).
func fuzzArgvImage(shift uint16, size int, strs ...string) []byte {
	base := imageBase(shift)
	arr := uint64((len(strs) + 1) * size)
	var ptrs []uint64
	var data []byte
	for _, s := range strs {
		ptrs = append(ptrs, base+arr+uint64(len(data)))
		data = append(data, cstr(s)...)
	}
	return append(putPtrs(size, append(ptrs, 0)...), data...)
}

// imageBase is where FuzzReadArgv maps its image: shift bytes before a
// page boundary, so small images still cross pages.
func imageBase(shift uint16) uint64 { return 0x10*PageSize - uint64(shift) }

func FuzzReadArgv(f *testing.F) {
	f.Add(fuzzArgvImage(20, 8, "ls", "-l", "/tmp"), uint16(20), uint8(0), uint16(0), false, uint8(100), uint16(1000))
	f.Add(fuzzArgvImage(7, 4, "sh", "-c", "echo hi"), uint16(7), uint8(0), uint16(0), true, uint8(100), uint16(1000))
	f.Add(fuzzArgvImage(100, 8, "a", strings.Repeat("b", 300), ""), uint16(100), uint8(2), uint16(0), false, uint8(2), uint16(1000))
	f.Add(fuzzArgvImage(3, 8, "x", "y"), uint16(3), uint8(1), uint16(0), false, uint8(100), uint16(3))
	f.Fuzz(func(t *testing.T, image []byte, shift uint16, unmapMask uint8, argvOff uint16, ptr4 bool, maxPtrs uint8, totalMax uint16) {
		if len(image) > 8*PageSize {
			return
		}
		base := imageBase(shift)
		m := newFakeMem()
		m.write(base, image)
		// Unmap some of the (at most 9) pages the image touches.
		for i := uint64(0); i < 8; i++ {
			if unmapMask&(1<<i) != 0 {
				m.unmap(base + i*PageSize)
			}
		}
		pages := len(m.pages)
		size := 8
		if ptr4 {
			size = 4
		}
		argv := base + uint64(argvOff)

		ptrs, err := ReadPointers(m, argv, size, int(maxPtrs), "argv")
		rptrs, rerr := refPointers(m, argv, size, int(maxPtrs))
		if classify(err) != rerr {
			t.Fatalf("ReadPointers error %v, reference says %d", err, rerr)
		}
		if len(ptrs) != len(rptrs) {
			t.Fatalf("ReadPointers: %d pointers, reference %d", len(ptrs), len(rptrs))
		}
		for i := range ptrs {
			if ptrs[i] != rptrs[i] {
				t.Fatalf("pointer %d = %#x, reference %#x", i, ptrs[i], rptrs[i])
			}
		}
		if max := 4 + 2*(pages+2); m.calls > max {
			t.Fatalf("ReadPointers made %d reads over %d pages", m.calls, pages)
		}
		calls := m.calls

		strs, err := ReadStrings(m, ptrs, int(totalMax), "argv")
		var ref [][]byte
		rerr = refOK
		total, failed := 0, -1
		for i, p := range ptrs {
			s, e := refString(m, p, maxArgLen)
			ref = append(ref, s)
			if e == refOK {
				total += len(s) + 1
				if total > int(totalMax) {
					e = refTooLong
				}
			}
			if e != refOK {
				rerr, failed = e, i
				break
			}
		}
		if classify(err) != rerr {
			t.Fatalf("ReadStrings error %v, reference says %d", err, rerr)
		}
		if rerr == refFault && !strings.Contains(err.Error(), fmt.Sprintf("argv[%d]", failed)) {
			t.Fatalf("error %q does not name argv[%d]", err, failed)
		}
		if len(strs) != len(ref) {
			t.Fatalf("ReadStrings: %d strings, reference %d (err %v)", len(strs), len(ref), err)
		}
		for i := range strs {
			if !bytes.Equal(strs[i], ref[i]) {
				t.Fatalf("string %d = %q, reference %q", i, strs[i], ref[i])
			}
		}
		if max := 4 + len(ptrs)*(pages+3); m.calls-calls > max {
			t.Fatalf("ReadStrings made %d reads for %d strings over %d pages", m.calls-calls, len(ptrs), pages)
		}
	})
}

func BenchmarkReadStrings(b *testing.B) {
	for _, c := range []struct {
		name string
		n    int
		size int
	}{
		{"1000x16B", 1000, 16},
		{"100000x16B", 100000, 16},
		{"100x10KiB", 100, 10 << 10},
	} {
		b.Run(c.name, func(b *testing.B) {
			m := newFakeMem()
			strs := make([]string, c.n)
			for i := range strs {
				strs[i] = strings.Repeat("s", c.size)
			}
			ptrs := argvImage(m, 0x1000*PageSize, strs)
			b.ReportAllocs()
			b.SetBytes(int64(c.n * (c.size + 1)))
			for b.Loop() {
				if _, err := ReadStrings(m, ptrs, 1<<30, "argv"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
