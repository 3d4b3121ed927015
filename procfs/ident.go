package procfs

import (
	"errors"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ident is who a task is, in exectrail's pid and user namespaces: what an
// exec record needs of /proc/PID/status, without generating it.
type Ident struct {
	Tgid, PPid       int
	RUID, EUID, EGID int
	// CgroupID is the id of the task's cgroup v2 cgroup (the inode of its
	// directory); 0 when the kernel did not say (ident read from status).
	CgroupID uint64
	// Groups are the supplementary groups when they were read (status
	// fallback); nil otherwise: Cred loads them when a permission check
	// needs them.
	Groups []int
}

// pidfdInfo is struct pidfd_info, first version (PIDFD_INFO_SIZE_VER0).
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
	pidfdGetInfo = 0xC040FF0B
	// pidfdThread is PIDFD_THREAD (O_EXCL; Linux 6.9): a pidfd for any
	// thread, not only a thread-group leader.
	pidfdThread       = unix.O_EXCL
	pidfdInfoCgroupID = 1 << 2
)

func init() {
	if unsafe.Sizeof(pidfdInfo{}) != 64 {
		panic("pidfd_info has the wrong size")
	}
}

// ErrNoPidfdInfo says the kernel cannot describe a task through a pidfd
// (before Linux 6.13, or PIDFD_THREAD before 6.9): read status instead.
var ErrNoPidfdInfo = errors.New("PIDFD_GET_INFO not supported")

// pidfdInfoState: 0 not tried yet, 1 works, 2 not supported.
var pidfdInfoState atomic.Int32

// IdentOf reads the ids of thread tid (an id in exectrail's own pid
// namespace) with one pidfd_open and one PIDFD_GET_INFO: no /proc file is
// looked up, generated or parsed. It returns ErrNoPidfdInfo when the
// kernel lacks either call. Like everything read about a held task, the
// result is only trusted once the caller has confirmed the task is still
// the one that made the call.
func IdentOf(tid int) (Ident, error) {
	fd, err := openPidfd(tid)
	if err != nil {
		return Ident{}, err
	}
	defer unix.Close(fd)
	return identOfPidfd(fd, tid)
}

// openPidfd opens a pidfd for thread tid, or returns ErrNoPidfdInfo.
func openPidfd(tid int) (int, error) {
	if pidfdInfoState.Load() == 2 {
		return -1, ErrNoPidfdInfo
	}
	fd, err := unix.PidfdOpen(tid, pidfdThread)
	if err != nil {
		if err == unix.EINVAL {
			pidfdInfoState.Store(2)
			return -1, ErrNoPidfdInfo
		}
		return -1, &IdentError{TID: tid, Op: "pidfd_open", Err: err}
	}
	return fd, nil
}

func identOfPidfd(fd, tid int) (Ident, error) {
	info := pidfdInfo{Mask: pidfdInfoCgroupID}
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), pidfdGetInfo, uintptr(unsafe.Pointer(&info)))
	runtime.KeepAlive(&info)
	switch e {
	case 0:
	case unix.ENOTTY, unix.EINVAL, unix.EOPNOTSUPP:
		pidfdInfoState.Store(2)
		return Ident{}, ErrNoPidfdInfo
	default:
		return Ident{}, &IdentError{TID: tid, Op: "PIDFD_GET_INFO", Err: e}
	}
	pidfdInfoState.Store(1)
	id := Ident{
		Tgid: int(info.Tgid), PPid: int(info.PPid),
		RUID: int(info.RUID), EUID: int(info.EUID), EGID: int(info.EGID),
	}
	if info.Mask&pidfdInfoCgroupID != 0 {
		id.CgroupID = info.CgroupID
	}
	return id, nil
}

// IdentError is a failure to read a task's ids through a pidfd.
type IdentError struct {
	TID int
	Op  string
	Err error
}

func (e *IdentError) Error() string { return e.Op + " of thread: " + e.Err.Error() }
func (e *IdentError) Unwrap() error { return e.Err }

// ReadIdent reads the ids of thread tid: through a pidfd when procRoot is
// /proc (exectrail's own pid namespace) and the kernel can, else from
// procRoot/tid/status.
func ReadIdent(procRoot string, tid int) (Ident, error) {
	if procRoot == "/proc" {
		id, err := IdentOf(tid)
		if !errors.Is(err, ErrNoPidfdInfo) {
			return id, err
		}
	}
	t, err := OpenTask(procRoot, tid)
	if err != nil {
		return Ident{}, err
	}
	defer t.Close()
	return t.statusIdent()
}

// Ident reads the task's ids: through a pidfd when the kernel can, else
// from its status file (which then also gives the groups).
func (t *Task) Ident() (Ident, error) {
	if t.ProcRoot == "/proc" {
		id, err := IdentOf(t.TID)
		if !errors.Is(err, ErrNoPidfdInfo) {
			return id, err
		}
	}
	return t.statusIdent()
}

func (t *Task) statusIdent() (Ident, error) {
	st, err := t.Status()
	if err != nil {
		return Ident{}, err
	}
	groups := st.Groups
	if groups == nil {
		groups = []int{}
	}
	return Ident{Tgid: st.Tgid, PPid: st.PPid, RUID: st.Uid[0], EUID: st.Uid[1], EGID: st.Gid[1], Groups: groups}, nil
}

// Cred is the credentials an exec by the task is checked against. The
// supplementary groups are read from status only when a permission check
// depends on them.
func (id Ident) Cred(t *Task) Cred {
	return Cred{EUID: id.EUID, EGID: id.EGID, Groups: id.Groups, loadGroups: func() []int {
		// A task whose status cannot be read (it is gone) has none.
		st, _ := t.Status()
		return st.Groups
	}}
}
