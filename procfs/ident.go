package procfs

import (
	"errors"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Ident is who a task is, in exectrail's pid and user namespaces: what an
// exec record needs of /proc/PID/status, without generating it.
type Ident struct {
	Tgid, PPid int
	// RUID is the real uid (the record's uid); FSUID and FSGID are the
	// filesystem ids, which the kernel checks file permissions against.
	RUID         int
	FSUID, FSGID int
	// CgroupID is the id of the task's cgroup v2 cgroup (the inode of its
	// directory); 0 when the kernel did not say (ident read from status).
	CgroupID uint64
	// Groups are the supplementary groups when they were read (status
	// fallback); nil otherwise: Cred loads them when a permission check
	// needs them.
	Groups []int
}

// pidfdThread is PIDFD_THREAD (O_EXCL; Linux 6.9): a pidfd for any
// thread, not only a thread-group leader.
const pidfdThread = unix.O_EXCL

// ErrNoPidfdInfo says the kernel (or a seccomp profile or LSM around
// exectrail) does not let exectrail describe a task through a pidfd: read
// status instead.
var ErrNoPidfdInfo = errors.New("PIDFD_GET_INFO not available")

var (
	pidfdProbe     sync.Once
	pidfdAvailable bool
)

// forcePidfdInfo breaks the fallback on purpose, for tests only: with
// EXECTRAIL_TEST_FORCE_PIDFD_GET_INFO=1 in exectrail's environment the
// ids come from PIDFD_GET_INFO without the probe and a failure is not
// retried from status. On a kernel without PIDFD_GET_INFO (before 6.13)
// every exec record then fails; `make test-kernels
// GUEST_ENV=EXECTRAIL_TEST_FORCE_PIDFD_GET_INFO=1` shows that the 6.1
// guest's run catches a broken fallback. Not for production use.
var forcePidfdInfo = os.Getenv("EXECTRAIL_TEST_FORCE_PIDFD_GET_INFO") == "1"

// pidfdInfoAvailable probes, once, whether pidfd_open(PIDFD_THREAD) and
// PIDFD_GET_INFO work, on exectrail's own thread. Deciding from a probe
// rather than from a tracee's errors keeps a task that is dying (EINVAL
// from pidfd_open on 6.9–6.14, ESRCH elsewhere) from turning the fast path
// off for everyone.
func pidfdInfoAvailable() bool {
	if forcePidfdInfo {
		return true
	}
	pidfdProbe.Do(func() {
		fd, err := unix.PidfdOpen(unix.Gettid(), pidfdThread)
		if err != nil {
			return
		}
		defer unix.Close(fd)
		_, err = identOfPidfd(fd)
		pidfdAvailable = err == nil
	})
	return pidfdAvailable
}

// IdentOf reads the ids of thread tid (an id in exectrail's own pid
// namespace) with one pidfd_open and one PIDFD_GET_INFO (Linux 6.13): no
// /proc file is looked up, generated or parsed. It returns ErrNoPidfdInfo
// when that is not available at all, and another error when it fails for
// this task. Like everything read about a held task, the result is only
// trusted once the caller has confirmed the task is still the one that
// made the call.
func IdentOf(tid int) (Ident, error) {
	if !pidfdInfoAvailable() {
		return Ident{}, ErrNoPidfdInfo
	}
	fd, err := unix.PidfdOpen(tid, pidfdThread)
	if err != nil {
		return Ident{}, &identError{tid: tid, op: "pidfd_open", err: err}
	}
	defer unix.Close(fd)
	id, err := identOfPidfd(fd)
	if err != nil {
		return Ident{}, &identError{tid: tid, op: "PIDFD_GET_INFO", err: err}
	}
	return id, nil
}

// identError is a failure to read a task's ids through a pidfd.
type identError struct {
	tid int
	op  string
	err error
}

func (e *identError) Error() string {
	return e.op + " of thread " + strconv.Itoa(e.tid) + ": " + e.err.Error()
}
func (e *identError) Unwrap() error { return e.err }

// ReadIdent reads the ids of thread tid: through a pidfd when procRoot is
// /proc (exectrail's own pid namespace) and that works, else from
// procRoot/tid/status. The pidfd is only a shortcut: whatever makes it fail
// for one task (a kernel that will not report a parent outside exectrail's
// pid namespace, say), status is tried before giving up.
func ReadIdent(procRoot string, tid int) (Ident, error) {
	if id, ok := pidfdIdent(procRoot, tid); ok {
		return id, nil
	}
	if forcePidfdInfo && procRoot == "/proc" {
		return IdentOf(tid)
	}
	t, err := OpenTask(procRoot, tid)
	if err != nil {
		return Ident{}, err
	}
	defer t.Close()
	return t.statusIdent()
}

// Ident reads the task's ids: through a pidfd when that works, else from
// its status file (which then also gives the groups).
func (t *Task) Ident() (Ident, error) {
	if id, ok := pidfdIdent(t.ProcRoot, t.TID); ok {
		return id, nil
	}
	if forcePidfdInfo && t.ProcRoot == "/proc" {
		return IdentOf(t.TID)
	}
	return t.statusIdent()
}

// pidfdIdent is IdentOf when procRoot is exectrail's own /proc (the pid
// namespace pidfd_open speaks), ok false on any failure.
func pidfdIdent(procRoot string, tid int) (Ident, bool) {
	if procRoot != "/proc" {
		return Ident{}, false
	}
	id, err := IdentOf(tid)
	return id, err == nil
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
	return Ident{Tgid: st.Tgid, PPid: st.PPid, RUID: st.Uid[0], FSUID: st.Uid[3], FSGID: st.Gid[3], Groups: groups}, nil
}

// Cred is the credentials an exec by the task is checked against. The
// supplementary groups are read from status only when a permission check
// depends on them.
func (id Ident) Cred(t *Task) Cred {
	return Cred{UID: id.FSUID, GID: id.FSGID, Groups: id.Groups, loadGroups: func() ([]int, error) {
		st, err := t.Status()
		if err != nil {
			return nil, err
		}
		return st.Groups, nil
	}}
}

// TgidOf returns the process id of thread tid. A thread-group leader —
// the caller of nearly every fork — is recognised by tgkill(tid, tid, 0),
// which succeeds only for a task whose id is its thread group's, and which
// sends nothing, opens nothing and allocates nothing (a pidfd costs an
// inode and a file). Any other thread, or a leader exectrail may not
// signal, is asked through ReadIdent.
func TgidOf(procRoot string, tid int) (int, error) {
	if procRoot == "/proc" && unix.Tgkill(tid, tid, 0) == nil {
		return tid, nil
	}
	id, err := ReadIdent(procRoot, tid)
	if err != nil {
		return 0, err
	}
	return id.Tgid, nil
}
