package doctor

import (
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompFilter is seccomp(SECCOMP_SET_MODE_FILTER, flags, prog).
func seccompFilter(flags uintptr, prog []unix.SockFilter) (int, error) {
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	for {
		r, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fp)))
		runtime.KeepAlive(prog)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
}

// seccompNotif is struct seccomp_notif; seccompNotifResp is struct
// seccomp_notif_resp.
type seccompNotif struct {
	ID    uint64
	PID   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

func notifRecv(fd int, n *seccompNotif) error {
	*n = seccompNotif{}
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(n)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return os.NewSyscallError("SECCOMP_IOCTL_NOTIF_RECV", e)
		}
		return nil
	}
}

func notifSend(fd int, r *seccompNotifResp) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(r)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return os.NewSyscallError("SECCOMP_IOCTL_NOTIF_SEND", e)
		}
		return nil
	}
}

// notifSetFlags is SECCOMP_IOCTL_NOTIF_SET_FLAGS (Linux 6.6).
func notifSetFlags(fd int, flags uint64) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SET_FLAGS, uintptr(flags))
	if e != 0 {
		return e
	}
	return nil
}

// getppid is a raw getppid: the one call the probe filters trap.
func getppid() (int, error) {
	r, _, e := unix.Syscall(unix.SYS_GETPPID, 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// ptraceSeize is PTRACE_SEIZE with options.
func ptraceSeize(pid int, options int) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, uintptr(options), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
