package filter

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrListenerBusy is returned by Load when the calling thread already sits
// under a filter with a user-notification listener (exectrail under
// exectrail, or under a container runtime's seccomp agent). Only one
// listener is allowed per filter tree.
var ErrListenerBusy = errors.New("another seccomp listener already supervises this process")

// LoadFlags are the seccomp(2) filter flags Load uses for a Notify program:
// every thread gets the filter (TSYNC, reported as ESRCH rather than a
// thread id so it can be combined with NEW_LISTENER), a listener fd is
// returned, and once the supervisor has received a notification only fatal
// signals interrupt the waiting task (WAIT_KILLABLE_RECV, Linux 5.19), so a
// signal cannot turn one exec into two notifications.
const LoadFlags = unix.SECCOMP_FILTER_FLAG_NEW_LISTENER |
	unix.SECCOMP_FILTER_FLAG_TSYNC |
	unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH |
	unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV

// Load installs p. For a Notify program it returns the listener fd; for a
// Trace program it returns -1. The caller must have set no_new_privs or
// hold CAP_SYS_ADMIN.
func Load(p *Program) (int, error) {
	flags := uintptr(unix.SECCOMP_FILTER_FLAG_TSYNC)
	if p.Action == Notify {
		flags = LoadFlags
	}
	fd, err := seccompSetModeFilter(flags, p.Instructions)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return -1, fmt.Errorf("load filter: %w", ErrListenerBusy)
		}
		return -1, fmt.Errorf("load filter: %w", err)
	}
	if p.Action != Notify {
		return -1, nil
	}
	return fd, nil
}

// seccompSetModeFilter is seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog).
func seccompSetModeFilter(flags uintptr, insns []Instruction) (int, error) {
	if len(insns) == 0 || len(insns) > 0xffff {
		return -1, fmt.Errorf("seccomp: program of %d instructions", len(insns))
	}
	prog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	for {
		r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&prog)))
		runtime.KeepAlive(insns)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return -1, os.NewSyscallError("seccomp", errno)
		}
		return int(r), nil
	}
}
