package procfs

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pidfdInfo is struct pidfd_info, first version (PIDFD_INFO_SIZE_VER0).
// Newer kernels copy only as much as the caller's size says.
type pidfdInfo struct {
	Mask     uint64
	CgroupID uint64
	PID      uint32
	Tgid     uint32
	PPid     uint32
	RUID     uint32
	RGID     uint32
	EUID     uint32
	EGID     uint32
	SUID     uint32
	SGID     uint32
	FSUID    uint32
	FSGID    uint32
	_        uint32
}

const (
	// pidfdGetInfo is PIDFD_GET_INFO, _IOWR(0xFF, 11, struct pidfd_info)
	// (Linux 6.13).
	pidfdGetInfo      = 0xC040FF0B
	pidfdInfoCgroupID = 1 << 2
)

func init() {
	if unsafe.Sizeof(pidfdInfo{}) != 64 {
		panic("pidfd_info has the wrong size")
	}
}

// identOfPidfd asks the kernel about the task behind pidfd fd.
func identOfPidfd(fd int) (Ident, error) {
	info := pidfdInfo{Mask: pidfdInfoCgroupID}
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), pidfdGetInfo, uintptr(unsafe.Pointer(&info)))
	runtime.KeepAlive(&info)
	if e != 0 {
		return Ident{}, e
	}
	id := Ident{
		Tgid: int(info.Tgid), PPid: int(info.PPid), RUID: int(info.RUID),
		FSUID: int(info.FSUID), FSGID: int(info.FSGID),
	}
	if info.Mask&pidfdInfoCgroupID != 0 {
		id.CgroupID = info.CgroupID
	}
	return id, nil
}
