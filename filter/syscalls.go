package filter

import "golang.org/x/sys/unix"

// Kind is a trapped process syscall, independent of architecture.
type Kind int

const (
	KindUnknown Kind = iota
	KindExecve
	KindExecveat
	KindFork
	KindVfork
	KindClone
	KindClone3
)

func (k Kind) String() string {
	switch k {
	case KindExecve:
		return "execve"
	case KindExecveat:
		return "execveat"
	case KindFork:
		return "fork"
	case KindVfork:
		return "vfork"
	case KindClone:
		return "clone"
	case KindClone3:
		return "clone3"
	}
	return "unknown"
}

// IsExec reports whether k runs a program.
func (k Kind) IsExec() bool { return k == KindExecve || k == KindExecveat }

// Audit architecture values as found in seccomp_data.arch.
const (
	AuditArchX86_64 = unix.AUDIT_ARCH_X86_64
	AuditArchI386   = unix.AUDIT_ARCH_I386
)

// x32SyscallBit marks x32 system calls, which share AUDIT_ARCH_X86_64.
const x32SyscallBit = 0x40000000

// Syscall describes one trapped call as the kernel numbered it.
type Syscall struct {
	Kind Kind
	// PtrSize is the size in bytes of a user pointer (and of an argv
	// entry) for the calling ABI: 8 for x86_64, 4 for i386 and x32.
	PtrSize int
	// ABI names the calling convention: "x86_64", "i386" or "x32".
	ABI string
}

// Decode maps a seccomp_data (arch, nr) pair to the trapped call. It
// returns KindUnknown for anything the filter does not trap.
func Decode(arch uint32, nr int32) Syscall {
	switch arch {
	case AuditArchX86_64:
		if nr&x32SyscallBit != 0 {
			return Syscall{Kind: x32Kinds[nr&^x32SyscallBit], PtrSize: 4, ABI: "x32"}
		}
		return Syscall{Kind: x86_64Kinds[nr], PtrSize: 8, ABI: "x86_64"}
	case AuditArchI386:
		return Syscall{Kind: i386Kinds[nr], PtrSize: 4, ABI: "i386"}
	}
	return Syscall{Kind: KindUnknown}
}

var x86_64Kinds = map[int32]Kind{
	59:  KindExecve,
	322: KindExecveat,
	57:  KindFork,
	58:  KindVfork,
	56:  KindClone,
	435: KindClone3,
}

// x32 has its own numbers for the calls that take pointer arrays.
var x32Kinds = map[int32]Kind{
	520: KindExecve,
	545: KindExecveat,
	57:  KindFork,
	58:  KindVfork,
	56:  KindClone,
	435: KindClone3,
}

var i386Kinds = map[int32]Kind{
	11:  KindExecve,
	358: KindExecveat,
	2:   KindFork,
	190: KindVfork,
	120: KindClone,
	435: KindClone3,
}
