package procfs

import (
	"bytes"
	"errors"
)

// BinprmBufSize is how much of a file the kernel looks at to choose a
// binary format (BINPRM_BUF_SIZE): a "#!" line must fit in it.
const BinprmBufSize = 256

// ErrNoShebang means the buffer does not start with "#!".
var ErrNoShebang = errors.New("not a #! script")

// ErrBadShebang means the "#!" line names no interpreter the kernel would
// accept (empty, or cut off by the 256-byte limit): the exec fails with
// ENOEXEC.
var ErrBadShebang = errors.New("malformed #! line")

// ParseShebang parses the start of a file the way fs/binfmt_script.c
// (load_script, Linux 5.1 and later) does. head is the start of the file;
// only its first BinprmBufSize bytes count, and a shorter head is padded
// with NULs, as the kernel's buffer is.
//
//   - The line ends at the first newline, unless a NUL comes first. Without
//     a newline the interpreter name must be followed by a blank or a NUL
//     inside the buffer (else it may have been cut short: ErrBadShebang),
//     and the line is the buffer minus its last byte.
//   - Leading and trailing blanks (space, tab) are dropped; nothing else is,
//     so with CRLF line endings the "\r" is part of the name or argument,
//     exactly as the kernel keeps it.
//   - The interpreter runs up to the first blank or NUL. After a blank, the
//     rest of the line (blanks trimmed, cut at a NUL) is one argument.
//
// A line with no name at all gives ErrBadShebang (the exec fails with
// ENOEXEC). interp is empty, with a nil error, when the name starts with a
// NUL ("#!" alone in a file, "#!" then blanks without a newline): the
// kernel then opens "" as the interpreter, which (getname_kernel accepts
// an empty name) is the working directory, and the exec fails with EACCES
// (observed on Linux 6.18; TestParseShebangMatchesKernel). arg is nil when
// there is no argument, and empty but not nil when the kernel passes an
// empty one (a NUL right after the blanks).
func ParseShebang(head []byte) (interp, arg []byte, err error) {
	if len(head) < 2 || head[0] != '#' || head[1] != '!' {
		return nil, nil, ErrNoShebang
	}
	buf := make([]byte, BinprmBufSize)
	copy(buf, head)
	var line []byte
	text := buf
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		text = buf[:i] // strnchr stops at a NUL
	}
	if nl := bytes.IndexByte(text, '\n'); nl >= 0 {
		line = buf[2:nl]
	} else {
		// No newline: the kernel cannot tell whether the name was cut
		// short unless a blank or a NUL follows it in the buffer.
		name := bytes.TrimLeft(buf[2:], " \t")
		if len(name) == 0 || !bytes.ContainsAny(name, " \t\x00") {
			return nil, nil, ErrBadShebang
		}
		line = buf[2 : BinprmBufSize-1]
	}
	line = bytes.Trim(line, " \t")
	if len(line) == 0 {
		return nil, nil, ErrBadShebang
	}
	end := bytes.IndexAny(line, " \t\x00")
	if end < 0 {
		return line, nil, nil
	}
	interp = line[:end]
	if line[end] == 0 {
		return interp, nil, nil
	}
	arg = bytes.TrimLeft(line[end:], " \t")
	if i := bytes.IndexByte(arg, 0); i >= 0 {
		arg = arg[:i]
	}
	return interp, arg, nil
}

// IsELF reports whether head starts with the ELF magic.
func IsELF(head []byte) bool {
	return len(head) >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F'
}
