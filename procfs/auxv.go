package procfs

import (
	"encoding/binary"
	"errors"
)

// atExecfn is AT_EXECFN: the address of the filename the kernel executed,
// on the new program's stack.
const atExecfn = 31

// ErrNoExecfn means the auxiliary vector has no AT_EXECFN entry.
var ErrNoExecfn = errors.New("no AT_EXECFN in auxv")

// ParseAuxvExecfn returns the AT_EXECFN value from the contents of
// /proc/PID/auxv, whose entries are pairs of words of wordSize bytes (8
// for x86_64, 4 for i386 and x32 processes).
func ParseAuxvExecfn(auxv []byte, wordSize int) (uint64, error) {
	if wordSize != 4 && wordSize != 8 {
		return 0, errors.New("bad auxv word size")
	}
	for len(auxv) >= 2*wordSize {
		var key, val uint64
		if wordSize == 8 {
			key, val = binary.LittleEndian.Uint64(auxv), binary.LittleEndian.Uint64(auxv[8:])
		} else {
			key, val = uint64(binary.LittleEndian.Uint32(auxv)), uint64(binary.LittleEndian.Uint32(auxv[4:]))
		}
		if key == 0 {
			break
		}
		if key == atExecfn {
			return val, nil
		}
		auxv = auxv[2*wordSize:]
	}
	return 0, ErrNoExecfn
}

// ExecFilename reads the filename the kernel used for the task's last exec
// (bprm->filename, the kernel's own copy) from its new stack. Call it
// before the new program runs, at PTRACE_EVENT_EXEC.
func ExecFilename(t *Task, mem Memory) ([]byte, error) {
	auxv, err := t.ReadFile("auxv")
	if err != nil {
		return nil, err
	}
	addr, err := ParseAuxvExecfn(auxv, 8)
	if err != nil || addr>>32 != 0 && auxvLooks32(auxv) {
		// A 32-bit program: its auxv words are 4 bytes.
		addr, err = ParseAuxvExecfn(auxv, 4)
	}
	if err != nil {
		return nil, err
	}
	return ReadString(mem, addr, PathMax-1, "AT_EXECFN")
}

// auxvLooks32 guesses whether auxv holds 4-byte words: every 64-bit key is
// a small number, which 4-byte pairs read as 64-bit words are not.
func auxvLooks32(auxv []byte) bool {
	return len(auxv) >= 8 && binary.LittleEndian.Uint64(auxv)>>32 != 0
}
