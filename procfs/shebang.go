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

// ParseShebang parses the start of a file the way fs/binfmt_script.c does:
// "#!", optional blanks, the interpreter up to a blank or newline, then an
// optional single argument (the rest of the line, trimmed). head is the
// first BinprmBufSize bytes of the file (or fewer for a short file).
func ParseShebang(head []byte) (interp, arg []byte, err error) {
	if len(head) < 2 || head[0] != '#' || head[1] != '!' {
		return nil, nil, ErrNoShebang
	}
	if len(head) > BinprmBufSize {
		head = head[:BinprmBufSize]
	}
	line := head[2:]
	nl := bytes.IndexByte(line, '\n')
	if nl >= 0 {
		line = line[:nl]
	}
	line = bytes.TrimLeft(line, " \t")
	end := bytes.IndexAny(line, " \t")
	if nl < 0 && end < 0 {
		// No newline and no blank after the interpreter within the
		// buffer: the kernel cannot tell whether the name was cut short.
		if len(head) == BinprmBufSize {
			return nil, nil, ErrBadShebang
		}
	}
	if end < 0 {
		end = len(line)
	}
	interp = line[:end]
	if len(interp) == 0 {
		return nil, nil, ErrBadShebang
	}
	// binfmt_script stops the name at a NUL as well.
	if i := bytes.IndexByte(interp, 0); i >= 0 {
		interp = interp[:i]
		if len(interp) == 0 {
			return nil, nil, ErrBadShebang
		}
	}
	arg = bytes.Trim(line[end:], " \t")
	return interp, arg, nil
}

// IsELF reports whether head starts with the ELF magic.
func IsELF(head []byte) bool {
	return len(head) >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F'
}
