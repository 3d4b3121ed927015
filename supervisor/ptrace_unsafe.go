package supervisor

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw ptrace requests the tracer needs beyond what x/sys offers. Each
// must be called from the one OS thread that attached (KERNEL-FACTS 27).

// ptraceSyscallInfo is struct ptrace_syscall_info (88 bytes on x86_64).
type ptraceSyscallInfo struct {
	Op                 uint8
	_                  [3]uint8
	Arch               uint32
	InstructionPointer uint64
	StackPointer       uint64
	// The union: entry {nr, args[6]}, exit {rval, is_error},
	// seccomp {nr, args[6], ret_data}.
	U [8]uint64
}

func init() {
	if unsafe.Sizeof(ptraceSyscallInfo{}) != 88 {
		panic("ptrace_syscall_info has the wrong size")
	}
}

// ptraceGetSyscallInfo is PTRACE_GET_SYSCALL_INFO (Linux 5.3).
func ptraceGetSyscallInfo(tid int, info *ptraceSyscallInfo) error {
	*info = ptraceSyscallInfo{}
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid),
		unsafe.Sizeof(*info), uintptr(unsafe.Pointer(info)), 0, 0)
	runtime.KeepAlive(info)
	if e != 0 {
		return e
	}
	return nil
}

// ptraceSeize is PTRACE_SEIZE with options.
func ptraceSeize(pid int, options int) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, uintptr(options), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// ptraceListen is PTRACE_LISTEN: leave a group-stopped tracee stopped but
// let SIGCONT wake it.
func ptraceListen(tid int) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_LISTEN, uintptr(tid), 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// skipSyscall makes the syscall at which tid is stopped (a seccomp stop)
// not run and return -errno: the syscall number becomes -1, which the
// kernel skips, leaving the return register as set here.
func skipSyscall(tid int, errno unix.Errno) {
	var regs unix.PtraceRegs
	if err := unix.PtraceGetRegs(tid, &regs); err != nil {
		if err != unix.ESRCH {
			// (ESRCH: killed in the stop; it will not run the call.)
			_ = unix.Kill(tid, unix.SIGKILL)
		}
		return
	}
	regs.Orig_rax = ^uint64(0)
	regs.Rax = uint64(-int64(errno))
	if err := unix.PtraceSetRegs(tid, &regs); err != nil {
		// Cannot refuse it cleanly: it must not run at all.
		_ = unix.Kill(tid, unix.SIGKILL)
	}
}

// clearCloneUntraced clears CLONE_UNTRACED in the flags of the clone at
// whose seccomp stop tid is, so that the kernel attaches the child to this
// tracer like any other (the kernel re-reads the registers after the
// stop). It reports whether it succeeded.
func clearCloneUntraced(tid int, abi string) bool {
	var regs unix.PtraceRegs
	if err := unix.PtraceGetRegs(tid, &regs); err != nil {
		return false
	}
	// clone's first argument: rdi (x86_64, x32), ebx (i386).
	if abi == "i386" {
		regs.Rbx &^= unix.CLONE_UNTRACED
	} else {
		regs.Rdi &^= unix.CLONE_UNTRACED
	}
	return unix.PtraceSetRegs(tid, &regs) == nil
}
