package procfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// PageSize is the granularity at which tracee memory is read: a read never
// crosses a page boundary, so an unmapped page fails only the strings that
// touch it (KERNEL-FACTS 14).
const PageSize = 4096

// Limits from the kernel's exec path (fs/exec.c, include/uapi/linux/binfmts.h).
const (
	// PathMax is PATH_MAX: longer exec paths fail with ENAMETOOLONG.
	PathMax = 4096
	// MaxArgStrlen is MAX_ARG_STRLEN (32 pages). It counts the NUL: an
	// argument of MaxArgStrlen bytes or more fails the exec with E2BIG.
	MaxArgStrlen = 32 * PageSize
	// MaxArgBytes bounds argv strings plus pointers: 3/4 of the 8 MiB stack
	// limit cap the kernel applies; nothing bigger can be exec'd.
	MaxArgBytes = 6 << 20
)

// Memory reads a tracee's address space.
type Memory interface {
	// ReadV fills each bufs[i] from addrs[i], in order, and returns the
	// number of bytes read in total. Like process_vm_readv it stops at the
	// first range it cannot read; the error tells why when n is short.
	ReadV(addrs []uint64, bufs [][]byte) (n int, err error)
}

// ErrTooLong marks a string or vector larger than the kernel would accept;
// what was read is returned with it.
var ErrTooLong = errors.New("longer than the kernel accepts")

// MemError describes a failed read of tracee memory.
type MemError struct {
	What string // "path", "argv[3]", "argv pointers"
	Addr uint64
	Err  error
}

func (e *MemError) Error() string {
	return fmt.Sprintf("reading %s at %#x: %v", e.What, e.Addr, e.Err)
}

func (e *MemError) Unwrap() error { return e.Err }

func pageRemain(addr uint64) uint64 { return PageSize - addr%PageSize }

func readOne(m Memory, addr uint64, buf []byte) error {
	n, err := m.ReadV([]uint64{addr}, [][]byte{buf})
	if n == len(buf) {
		return nil
	}
	if err == nil {
		err = errors.New("short read")
	}
	return err
}

// ReadString reads a NUL-terminated string at addr, page by page, up to
// max bytes (not counting the NUL). It returns what it read; err is a
// *MemError when memory ran out before the NUL, or wraps ErrTooLong.
func ReadString(m Memory, addr uint64, max int, what string) ([]byte, error) {
	return readStringFrom(m, addr, max, what, nil)
}

func readStringFrom(m Memory, addr uint64, max int, what string, prefix []byte) ([]byte, error) {
	out := prefix
	if max < 0 {
		max = 0
	}
	var page [PageSize]byte
	for {
		if addr == 0 {
			return out, &MemError{What: what, Addr: addr, Err: errFault}
		}
		chunk := pageRemain(addr)
		if room := uint64(max - len(out) + 1); chunk > room {
			chunk = room
		}
		buf := page[:chunk]
		if err := readOne(m, addr, buf); err != nil {
			return out, &MemError{What: what, Addr: addr, Err: err}
		}
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			return append(out, buf[:i]...), nil
		}
		out = append(out, buf...)
		if len(out) > max {
			return out[:max], fmt.Errorf("reading %s: %w (over %d bytes)", what, ErrTooLong, max)
		}
		if addr+chunk < addr {
			return out, &MemError{What: what, Addr: addr, Err: errFault}
		}
		addr += chunk
	}
}

var errFault error = unix.EFAULT

// ReadPointers reads a NULL-terminated array of user pointers of ptrSize
// bytes (8, or 4 for i386 and x32) at addr, at most max entries.
func ReadPointers(m Memory, addr uint64, ptrSize, max int, what string) ([]uint64, error) {
	if ptrSize != 4 && ptrSize != 8 {
		return nil, fmt.Errorf("reading %s: pointer size %d", what, ptrSize)
	}
	var out []uint64
	var page [PageSize]byte
	for {
		if addr == 0 {
			return out, &MemError{What: what, Addr: addr, Err: errFault}
		}
		chunk := pageRemain(addr)
		if chunk < uint64(ptrSize) {
			// A pointer straddling pages: read it alone.
			chunk = uint64(ptrSize)
		}
		chunk -= chunk % uint64(ptrSize)
		buf := page[:chunk]
		if chunk > uint64(len(page)) {
			buf = make([]byte, chunk)
		}
		if err := readOne(m, addr, buf); err != nil {
			return out, &MemError{What: what, Addr: addr, Err: err}
		}
		for off := 0; off < len(buf); off += ptrSize {
			var p uint64
			if ptrSize == 8 {
				p = binary.LittleEndian.Uint64(buf[off:])
			} else {
				p = uint64(binary.LittleEndian.Uint32(buf[off:]))
			}
			if p == 0 {
				return out, nil
			}
			if len(out) >= max {
				return out, fmt.Errorf("reading %s: %w (over %d entries)", what, ErrTooLong, max)
			}
			out = append(out, p)
		}
		if addr+chunk < addr {
			return out, &MemError{What: what, Addr: addr, Err: errFault}
		}
		addr += chunk
	}
}

// firstChunk is how much of each string ReadStrings asks for in its batched
// first pass; most arguments are shorter, longer ones are finished page by
// page.
const firstChunk = 256

// maxArgLen is the longest argument an exec accepts, not counting its NUL.
const maxArgLen = MaxArgStrlen - 1

// maxBatch is the number of ranges per ReadV call (IOV_MAX is 1024).
const maxBatch = 1024

// ReadStrings reads the NUL-terminated strings at ptrs with few system
// calls: one batched pass reads the start of every string, and only strings
// longer than that are finished one by one. Each string is limited to
// MaxArgStrlen-1 bytes (as in the kernel, whose limit counts the NUL) and
// all of them, NULs included, to totalMax bytes. On error it returns
// the strings read so far (the failing one included, as far as it could be
// read) and the error names it as what[i].
func ReadStrings(m Memory, ptrs []uint64, totalMax int, what string) ([][]byte, error) {
	out := make([][]byte, 0, len(ptrs))
	total := 0
	addrs := make([]uint64, 0, min(len(ptrs), maxBatch))
	bufs := make([][]byte, 0, min(len(ptrs), maxBatch))
	var arena []byte
	for start := 0; start < len(ptrs); {
		end := min(start+maxBatch, len(ptrs))
		addrs, bufs = addrs[:0], bufs[:0]
		need := 0
		for _, p := range ptrs[start:end] {
			need += int(min(pageRemain(p), firstChunk))
		}
		if cap(arena) < need {
			arena = make([]byte, need)
		}
		arena = arena[:need]
		off := 0
		for _, p := range ptrs[start:end] {
			n := int(min(pageRemain(p), firstChunk))
			addrs = append(addrs, p)
			bufs = append(bufs, arena[off:off+n:off+n])
			off += n
		}
		got, _ := m.ReadV(addrs, bufs)
		// Walk the ranges that were read completely.
		i := start
		for k := range bufs {
			if got < len(bufs[k]) {
				break
			}
			got -= len(bufs[k])
			b := bufs[k]
			var s []byte
			if j := bytes.IndexByte(b, 0); j >= 0 {
				s = append([]byte(nil), b[:j]...)
			} else {
				var err error
				s, err = readStringFrom(m, ptrs[i]+uint64(len(b)), maxArgLen, elemName(what, i), append([]byte(nil), b...))
				if err != nil {
					return append(out, s), err
				}
			}
			total += len(s) + 1
			if total > totalMax {
				return append(out, s), fmt.Errorf("reading %s: %w (over %d bytes in all)", what, ErrTooLong, totalMax)
			}
			out = append(out, s)
			i++
		}
		if i < end {
			// Range i could not be read in the batch: read it alone to
			// learn exactly why and how far.
			s, err := ReadString(m, ptrs[i], maxArgLen, elemName(what, i))
			if err != nil {
				return append(out, s), err
			}
			total += len(s) + 1
			if total > totalMax {
				return append(out, s), fmt.Errorf("reading %s: %w (over %d bytes in all)", what, ErrTooLong, totalMax)
			}
			out = append(out, s)
			i++
		}
		start = i
	}
	return out, nil
}

// elemName names element i of what in errors ("argv[3]"); it is built only
// when needed, as formatting it for every string doubled ReadStrings' cost.
func elemName(what string, i int) string {
	return what + "[" + strconv.Itoa(i) + "]"
}
