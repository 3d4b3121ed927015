package supervisor

import (
	"os"
	"time"

	"github.com/exectrail/exectrail/filter"
	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor/record"
)

// Handler turns a held process syscall into a record. It is shared by the
// backends: each reads the registers its own way and hands the arguments
// here.
type Handler struct {
	Resolver     procfs.Resolver
	Cgroup2Mount string
	// Policy, when not empty, refuses executables (see Policy).
	Policy *Policy
	// ReadTimeout bounds the building of one exec record (0:
	// DefaultReadTimeout); a call whose record takes longer is refused
	// (bounded.go).
	ReadTimeout time.Duration
	// Env: exec records carry the environment the exec passes (--env).
	Env bool

	cgroups cgroupCache
	stalls  stallGuard
	bounded boundedWorkers
	// selfMntNS is exectrail's own mount namespace (identity.go).
	selfMntNS uint64
}

// NewHandler returns a Handler for the /proc at procRoot, probing
// binfmt_misc and the cgroup2 mount once.
func NewHandler(procRoot string) *Handler {
	h := &Handler{Resolver: procfs.Resolver{ProcRoot: procRoot}}
	h.selfMntNS = selfNS(procRoot, "mnt")
	h.Resolver.UserNS = selfNS(procRoot, "user")
	if mi, err := os.ReadFile(procRoot + "/self/mountinfo"); err == nil {
		h.Cgroup2Mount = procfs.Cgroup2Mount(mi)
	}
	if ents, err := os.ReadDir(procRoot + "/sys/fs/binfmt_misc"); err == nil {
		for _, e := range ents {
			if e.Name() != "register" && e.Name() != "status" {
				h.Resolver.BinfmtMisc = true
			}
		}
	}
	return h
}

// Call is a trapped syscall as the kernel saw it.
type Call struct {
	TID  int
	Sys  filter.Syscall
	Args [6]uint64
}

// ptr narrows a pointer argument to the calling ABI's width.
func (c *Call) ptr(i int) uint64 {
	if c.Sys.PtrSize == 4 {
		return uint64(uint32(c.Args[i]))
	}
	return c.Args[i]
}

// intArg is an int argument (sign-extended from 32 bits, as AT_FDCWD
// arrives).
func (c *Call) intArg(i int) int { return int(int32(uint32(c.Args[i]))) }

// ForkRecord builds the fork record for call c. It needs only the calling
// thread's process id (procfs.TgidOf: no /proc file, and for a thread-group
// leader not even a pidfd).
func (h *Handler) ForkRecord(c *Call) (*record.Record, error) {
	tgid, err := h.tgidOf(c.TID)
	if err != nil {
		return nil, err
	}
	return forkRecord(tgid, c.TID, c.Sys.Kind.String(), abiOf(c), 0), nil
}

// openTask is the one task-opening step of every record that reads a
// task: its /proc directory, pinned (procfs.Task), through which its pidfd
// and ids are read. Whether it is still the task that made the call is
// the backend's to confirm (notify: SECCOMP_IOCTL_NOTIF_ID_VALID after the
// reads; ptrace: the task is held in a stop, never reaped behind the
// tracer's back).
func (h *Handler) openTask(tid int) (*procfs.Task, error) {
	return procfs.OpenTask(h.Resolver.ProcRoot, tid)
}

// tgidOf is the process id of thread tid, read without a /proc file
// (procfs.TgidOf).
func (h *Handler) tgidOf(tid int) (int, error) {
	return procfs.TgidOf(h.Resolver.ProcRoot, tid)
}

// idsOf is the process id and parent process id of thread tid; -1, -1
// when they cannot be read (it is gone).
func (h *Handler) idsOf(tid int) (tgid, ppid int) {
	id, err := procfs.ReadIdent(h.Resolver.ProcRoot, tid)
	if err != nil {
		return -1, -1
	}
	return id.Tgid, id.PPid
}
