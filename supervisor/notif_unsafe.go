package supervisor

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw seccomp user-notification ioctls. Each is one small function that
// returns the errno unwrapped (callers branch on EINTR and ENOENT) and keeps
// its pointer argument alive across the call.

// seccompNotif is struct seccomp_notif.
type seccompNotif struct {
	ID    uint64
	PID   uint32
	Flags uint32
	Data  seccompData
}

// seccompData is struct seccomp_data.
type seccompData struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

// seccompNotifResp is struct seccomp_notif_resp.
type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

const (
	ioctlNotifRecv    = unix.SECCOMP_IOCTL_NOTIF_RECV // _IOWR('!', 0, struct seccomp_notif)
	ioctlNotifSend    = unix.SECCOMP_IOCTL_NOTIF_SEND // _IOWR('!', 1, struct seccomp_notif_resp)
	ioctlNotifIDValid = 0x40082102                    // _IOW('!', 2, __u64)
)

func init() {
	if unsafe.Sizeof(seccompNotif{}) != 80 || unsafe.Sizeof(seccompNotifResp{}) != 24 {
		panic("seccomp notification structs have the wrong size")
	}
}

// notifRecv receives one notification. n must be zeroed (EINVAL otherwise).
func notifRecv(fd int, n *seccompNotif) unix.Errno {
	*n = seccompNotif{}
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), ioctlNotifRecv, uintptr(unsafe.Pointer(n)))
	runtime.KeepAlive(n)
	return e
}

// notifSend answers a notification.
func notifSend(fd int, r *seccompNotifResp) unix.Errno {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), ioctlNotifSend, uintptr(unsafe.Pointer(r)))
	runtime.KeepAlive(r)
	return e
}

// notifIDValid reports whether notification id is still pending: the task
// is alive and still blocked in that very syscall.
func notifIDValid(fd int, id uint64) bool {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), ioctlNotifIDValid, uintptr(unsafe.Pointer(&id)))
		if e == unix.EINTR {
			continue
		}
		return e == 0
	}
}
