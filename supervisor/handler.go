package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/exectrail/exectrail/filter"
	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// atExecveCheck is AT_EXECVE_CHECK (Linux 6.14): execveat only checks
// whether the file could be executed and runs nothing.
const atExecveCheck = 0x10000

// maxArgs bounds argv entries: a pointer and a NUL each cost at least 9
// bytes of the kernel's argument space, so more cannot be exec'd.
const maxArgs = procfs.MaxArgBytes / 9

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

// selfNS is the inode of exectrail's own namespace ns (0 when unknown).
func selfNS(procRoot, ns string) uint64 {
	link, err := os.Readlink(procRoot + "/self/ns/" + ns)
	if err != nil {
		return 0
	}
	_, ino, err := procfs.ParseNSLink(link)
	if err != nil {
		return 0
	}
	return ino
}

// Call is a trapped syscall as the kernel saw it.
type Call struct {
	TID  int
	Sys  filter.Syscall
	Args [6]uint64
}

// ErrNotExec is returned by ExecRecord for a call that runs nothing
// (execveat with AT_EXECVE_CHECK): no exec record is due.
var ErrNotExec = errors.New("not an exec")

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

// ExecRecord builds the exec record for call c made by task t. What cannot
// be read is left out and explained in Error/ErrorDetail; the only error
// returned is ErrNotExec, or a failure to read the task's status (the task
// is gone).
func (h *Handler) ExecRecord(t *procfs.Task, c *Call) (*record.Record, error) {
	req := procfs.ExecRequest{DirFD: unix.AT_FDCWD}
	var pathAddr, argvAddr, envAddr uint64
	switch c.Sys.Kind {
	case filter.KindExecve:
		pathAddr, argvAddr, envAddr = c.ptr(0), c.ptr(1), c.ptr(2)
	case filter.KindExecveat:
		req.DirFD = c.intArg(0)
		pathAddr, argvAddr, envAddr = c.ptr(1), c.ptr(2), c.ptr(3)
		req.Flags = c.intArg(4)
		if req.Flags&atExecveCheck != 0 {
			return nil, ErrNotExec
		}
	default:
		return nil, fmt.Errorf("exec record for %v", c.Sys.Kind)
	}
	id, err := t.Ident()
	if err != nil {
		return nil, err
	}
	r := &record.Record{
		Event:   record.EventExec,
		PID:     id.Tgid,
		PPID:    id.PPid,
		TID:     c.TID,
		UID:     id.RUID,
		HasUID:  true,
		Syscall: c.Sys.Kind.String(),
	}
	if c.Sys.ABI != "x86_64" {
		r.ABI = c.Sys.ABI
	}
	mem := &procfs.ProcessMemory{TID: c.TID}
	pathOK := true
	if pathAddr == 0 {
		r.PathUnknown = true
		setErr(r, unix.EFAULT, "path pointer is NULL")
		pathOK = false
	} else {
		// PATH_MAX counts the NUL, and the kernel reads no further than
		// PATH_MAX bytes: a path without a NUL in them fails with
		// ENAMETOOLONG even when unmapped memory follows.
		path, err := procfs.ReadString(mem, pathAddr, procfs.PathMax-1, "path")
		r.Path = path
		r.PathUnknown = err != nil && len(path) == 0 && !errors.Is(err, procfs.ErrTooLong)
		if err != nil {
			pathOK = false
			if errors.Is(err, procfs.ErrTooLong) {
				setErr(r, unix.ENAMETOOLONG, err.Error())
			} else {
				memErr(r, err)
				checkUnreadable(r, t, err)
			}
		}
	}
	if argvAddr != 0 {
		ptrs, err := procfs.ReadPointers(mem, argvAddr, c.Sys.PtrSize, maxArgs, "argv")
		if err == nil {
			r.Argv, err = procfs.ReadStrings(mem, ptrs, procfs.MaxArgBytes, "argv")
			if err != nil {
				r.ArgvTruncated = true
			}
		} else {
			r.ArgvTruncated = true
			if len(ptrs) > 0 {
				r.Argv, _ = procfs.ReadStrings(mem, ptrs, procfs.MaxArgBytes, "argv")
			}
		}
		if err != nil {
			if errors.Is(err, procfs.ErrTooLong) {
				setErr(r, unix.E2BIG, err.Error())
			} else {
				memErr(r, err)
				checkUnreadable(r, t, err)
			}
		}
	}
	if r.Argv == nil {
		r.Argv = [][]byte{}
	}
	if h.Env {
		h.readEnv(t, mem, c, envAddr, r) // env.go
	}
	if cwd, err := t.LinkPath("cwd"); err == nil {
		r.Cwd = cwd
	}
	if pathOK {
		req.Path = r.Path
		var e2big unix.Errno
		var e2bigDetail string
		if r.Error == "" && r.ReadError == "" && !r.ArgvTruncated {
			e2big, e2bigDetail = argSpace(t, mem, c, r, envAddr, req)
		}
		res := h.Resolver.Resolve(t, id.Tgid, id.Cred(t), req)
		r.Executable, r.Interpreter, r.InterpreterChain = res.Executable, res.Interpreter, res.Chain
		r.ExeID, r.InterpID = record.FileID(res.File), record.FileID(res.Interp)
		switch {
		case res.Errno != 0 && (e2big == 0 || !res.AfterOpen):
			// The file is opened before the arguments are copied: its
			// failures come first; those of loading it come after.
			setErr(r, res.Errno, res.Detail)
		case e2big != 0:
			setErr(r, e2big, e2bigDetail)
		}
	}
	h.fillCgroup(t, r, id.CgroupID)
	h.fillNamespaces(t, r)
	h.fillIdentity(t, r)
	return r, nil
}

// checkUnreadable marks r when err, a failed read of the caller's memory,
// hit an address that is mapped: memory the kernel reads (a memfd_secret
// page, [vvar]) although process_vm_readv cannot. A bad pointer is not
// mapped, and the exec fails with EFAULT by itself.
func checkUnreadable(r *record.Record, t *procfs.Task, err error) {
	var me *procfs.MemError
	if errnoOf(err) != unix.EFAULT && errnoOf(err) != unix.EIO || !errors.As(err, &me) {
		return
	}
	if t.IsMapped(me.Addr) {
		r.Unreadable = true
	}
}

// fillCgroup fills the cgroup and container fields of an exec record.
// id is the task's cgroup v2 id from PIDFD_GET_INFO, 0 when unknown.
//
// When id names a cgroup whose file is cached (cgroup-v2-only hosts, see
// cgroupCache), nothing is read: id and its path belong together by
// construction. Otherwise /proc/PID/cgroup is read, and the id recorded is
// the one of the cgroup that file names — the inode of its directory
// under the cgroup2 mount — not id, which was read earlier: a process
// moved between the two reads must not get one cgroup's path with
// another's id, and only such a verified pair is cached. For a path
// outside exectrail's cgroup namespace ("/.."), which has no directory
// under the mount, id is recorded if a second PIDFD_GET_INFO, after the
// file, still gives it. Nothing about the process is cached: it can be
// moved to another cgroup at any time.
func (h *Handler) fillCgroup(t *procfs.Task, r *record.Record, id uint64) {
	if info, ok := h.cgroups.get(id, h.Resolver.ProcRoot); ok {
		setCgroup(r, info)
		r.CgroupID = id
		return
	}
	b, err := t.ReadFile("cgroup")
	if err != nil {
		return
	}
	lines, err := procfs.ParseCgroup(b)
	if err != nil {
		return
	}
	info := procfs.CgroupAttribution(lines)
	setCgroup(r, info)
	if !info.HasV2 {
		return
	}
	if sid, ok := h.cgroupID(info.V2Path); ok {
		r.CgroupID = sid
		if id != 0 && len(lines) == 1 {
			h.cgroups.put(sid, info)
		}
		return
	}
	if id != 0 && strings.HasPrefix(info.V2Path, "/..") {
		if again, err := procfs.IdentOf(t.TID); err == nil && again.CgroupID == id {
			r.CgroupID = id
		}
	}
}

func setCgroup(r *record.Record, info procfs.CgroupInfo) {
	r.CgroupV1, r.CgroupV1Controllers = info.V1Path, info.V1Controllers
	r.ContainerID, r.ContainerRuntime, r.PodUID = info.ID, info.Runtime, info.PodUID
	if info.HasV2 {
		r.Cgroup = info.V2Path
	}
}

// cgroupCache maps cgroup v2 ids to what /proc/PID/cgroup says of them,
// on hosts with no cgroup v1 hierarchy. There the file is a single line,
// "0::" and the cgroup's path relative to exectrail's cgroup namespace:
// fixed for the life of the cgroup, because cgroup v2 directories cannot
// be renamed, and ids are never reused while the machine is up. So a
// process whose cgroup id (PIDFD_GET_INFO) is known needs no read of its
// cgroup file: first-touching /proc/PID/cgroup of a fresh process is one
// of the dearest reads of an exec record. Entries are only made from a
// path read from the file and the id of that path's directory (stat), so
// a process moved between the two reads cannot pair one cgroup's id with
// another's path. A v1 hierarchy mounted while exectrail runs would add
// lines; /proc/self/cgroup is checked for that every cgroupRecheck, and
// the cache is dropped when one appears.
type cgroupCache struct {
	mu      sync.Mutex
	m       map[uint64]procfs.CgroupInfo
	checked time.Time
	v1Free  bool
}

const (
	cgroupRecheck  = 100 * time.Millisecond
	cgroupCacheMax = 4096 // distinct cgroups; past this the cache starts over
)

func (c *cgroupCache) get(id uint64, procRoot string) (procfs.CgroupInfo, bool) {
	if id == 0 {
		return procfs.CgroupInfo{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= cgroupRecheck {
		c.checked = now
		c.v1Free = false
		if b, err := os.ReadFile(procRoot + "/self/cgroup"); err == nil {
			lines, err := procfs.ParseCgroup(b)
			c.v1Free = err == nil && len(lines) == 1 && lines[0].Hierarchy == 0 && lines[0].Controllers == ""
		}
		if !c.v1Free {
			c.m = nil
		}
	}
	info, ok := c.m[id]
	return info, ok && c.v1Free
}

func (c *cgroupCache) put(id uint64, info procfs.CgroupInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.v1Free {
		return
	}
	if c.m == nil || len(c.m) >= cgroupCacheMax {
		c.m = make(map[uint64]procfs.CgroupInfo)
	}
	c.m[id] = info
}

// cgroupID is the cgroup v2 id of path: the inode of its directory under
// the cgroup2 mount. A path outside exectrail's cgroup namespace ("/..")
// is not under the mount, and has no id exectrail can see.
func (h *Handler) cgroupID(path string) (uint64, bool) {
	if h.Cgroup2Mount == "" || !strings.HasPrefix(path, "/") ||
		strings.Contains(path, "/../") || strings.HasSuffix(path, "/..") {
		return 0, false
	}
	var st unix.Stat_t
	if err := unix.Stat(h.Cgroup2Mount+path, &st); err != nil {
		return 0, false
	}
	return st.Ino, true
}

// fillNamespaces records the inode numbers of the task's pid and mount
// namespaces, read from its ns/ links through the task's handle.
func (h *Handler) fillNamespaces(t *procfs.Task, r *record.Record) {
	if ino, err := procfs.NamespaceInode(t, "pid"); err == nil {
		r.PidNS = ino
	}
	if ino, err := procfs.NamespaceInode(t, "mnt"); err == nil {
		r.MntNS = ino
	}
}

// ForkRecord builds the fork record for call c. It needs only the calling
// thread's process id (procfs.TgidOf: no /proc file, and for a thread-group
// leader not even a pidfd).
func (h *Handler) ForkRecord(c *Call) (*record.Record, error) {
	tgid, err := procfs.TgidOf(h.Resolver.ProcRoot, c.TID)
	if err != nil {
		return nil, err
	}
	r := &record.Record{Event: record.EventFork, PID: tgid, TID: c.TID, Kind: c.Sys.Kind.String()}
	if c.Sys.ABI != "x86_64" {
		r.ABI = c.Sys.ABI
	}
	return r, nil
}

// memErr files a failed read of tracee memory: a bad pointer (EFAULT) is
// the error the exec itself will fail with; anything else (EPERM on a
// non-dumpable process, ESRCH) only means exectrail could not see, and the
// exec's own outcome is unknown.
func memErr(r *record.Record, err error) {
	if e := errnoOf(err); e == unix.EFAULT || e == unix.EIO {
		setErr(r, unix.EFAULT, err.Error())
		return
	}
	if r.ReadError == "" {
		r.ReadError = err.Error()
	}
}

// setErr keeps the first error: it is the one the exec fails with.
func setErr(r *record.Record, e unix.Errno, detail string) {
	if r.Error != "" {
		return
	}
	r.Error = errnoName(e)
	r.ErrorDetail = detail
}

func errnoName(e unix.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return fmt.Sprintf("errno %d", int(e))
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}

// VerifyExec completes r, the record of an exec that has just succeeded,
// from what the kernel actually loaded: at PTRACE_EVENT_EXEC the new
// program has not run an instruction yet, and /proc/PID/exe is the file
// that will run (KERNEL-FACTS 1). pid is the process after the exec
// (which has the thread-group id even when a non-leader thread exec'd). r
// may be nil when no entry stop was seen (a filter stacked above ours, with
// a higher-priority action, took the call); the record is then built from
// /proc.
func (h *Handler) VerifyExec(t *procfs.Task, pid int, r *record.Record) *record.Record {
	if r == nil {
		r = &record.Record{Event: record.EventExec, Argv: [][]byte{}}
		var cgroupID uint64
		if id, err := t.Ident(); err == nil {
			r.PPID, r.UID, r.HasUID, cgroupID = id.PPid, id.RUID, true, id.CgroupID
		}
		if b, err := t.ReadFile("cmdline"); err == nil && len(b) > 0 {
			r.Argv = bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0})
		}
		if cwd, err := t.Readlink("cwd"); err == nil {
			r.Cwd = cwd
		}
		h.fillCgroup(t, r, cgroupID)
		h.fillNamespaces(t, r)
		if h.Env {
			h.environFile(t, r) // env.go
		}
		mem := &procfs.ProcessMemory{TID: pid}
		if fn, err := procfs.ExecFilename(t, mem); err == nil {
			r.Path = fn
		}
		r.Executable = ""
	}
	r.PID = pid
	if r.ReadError != "" && r.ArgvTruncated && len(r.Argv) == 0 {
		// The caller's memory could not be read before the exec (a
		// non-dumpable process); the new program's argument area, which
		// the kernel has just copied, can be.
		if b, err := t.ReadFile("cmdline"); err == nil && len(b) > 0 {
			r.Argv = bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0})
			r.ArgvTruncated = false
		}
	}
	verified := true
	r.Verified = &verified
	r.Error, r.ErrorDetail = "", ""
	exe, err := t.Readlink("exe")
	if errors.Is(err, unix.ENAMETOOLONG) {
		// Longer than the kernel prints: the file the entry stop
		// resolved (with procfs.DirPath), if it is the one that runs.
		if id, ierr := t.Identity("exe"); ierr == nil {
			switch {
			case r.Interpreter == "" && r.Executable != "" && procfs.FileIdentity(r.ExeID).Same(id):
				exe, err = r.Executable, nil
			case r.Interpreter != "" && procfs.FileIdentity(r.InterpID).Same(id):
				exe, err = r.Interpreter, nil
			}
		}
	}
	if r.MntNS == 0 {
		// Unknown at the call (a non-dumpable caller, exectrail not
		// root); the new program can be read.
		h.fillNamespaces(t, r)
	}
	if h.foreignNS(r) {
		// In another mount namespace a name proves nothing: record the
		// identity of the file that runs, from /proc/PID/exe.
		defer func() {
			if id, err := t.Identity("exe"); err == nil {
				if r.Interpreter != "" {
					r.InterpID = record.FileID(id)
				} else {
					r.ExeID = record.FileID(id)
				}
			}
			h.fillIdentity(t, r)
		}()
	}
	if err != nil {
		r.Error, r.ErrorDetail = errnoName(errnoOf(err)), "reading /proc/PID/exe after exec: "+err.Error()
		f := false
		r.Verified = &f
		return r
	}
	switch {
	case r.Interpreter != "" && r.Executable != "" && r.Interpreter == exe:
		// A script: the kernel loaded the predicted interpreter.
	case r.Interpreter == "" && r.Executable == exe:
	default:
		// What ran is not what the entry stop predicted: a race with
		// another thread, a script nobody predicted, or no entry stop at
		// all. Ask the kernel's own copy of the filename which file it
		// opened.
		r.Executable, r.Interpreter, r.InterpreterChain = exe, "", nil
		mem := &procfs.ProcessMemory{TID: pid}
		fn, err := procfs.ExecFilename(t, mem)
		if err != nil {
			break
		}
		if (r.PathUnknown || !bytes.Equal(fn, r.Path)) && !bytes.HasPrefix(fn, []byte("/dev/fd/")) {
			r.Path, r.PathUnknown = fn, false
		}
		id, err := t.Ident()
		if err != nil {
			break
		}
		res := h.Resolver.Resolve(t, pid, id.Cred(t), procfs.ExecRequest{DirFD: unix.AT_FDCWD, Path: fn})
		if res.Errno == 0 && res.Interpreter == exe {
			r.Executable, r.Interpreter, r.InterpreterChain = res.Executable, exe, res.Chain
		}
	}
	if r.ReadError != "" {
		// What the caller hid before the exec (a non-dumpable process)
		// the new program may show: once path, argv and cwd are all
		// known, nothing is missing any more, and read_error would
		// only mislead.
		if r.Cwd == "" {
			if cwd, err := t.Readlink("cwd"); err == nil {
				r.Cwd = cwd
			}
		}
		if r.PidNS == 0 || r.MntNS == 0 {
			h.fillNamespaces(t, r)
		}
		if !r.PathUnknown && !r.ArgvTruncated && r.Cwd != "" {
			r.ReadError = ""
		}
	}
	if r.Interpreter == "" && r.Executable == exe {
		// The file ran itself (no #! or binfmt_misc interpreter, which
		// would rewrite argv): argv is what the kernel copied into the
		// new program's argument area, not what was read from the caller
		// before — another thread may have changed it since, or it may
		// lie in memory exectrail cannot read (memfd_secret).
		if b, err := t.ReadFileMax("cmdline", procfs.MaxArgBytes); err == nil && len(b) > 0 {
			r.Argv = bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0})
			r.ArgvTruncated = false
		}
	}
	return r
}

// Refuse applies the policy to r, an exec record: when the executable or
// its interpreter is refused it marks r (action deny, error EPERM) and
// returns true.
func (h *Handler) Refuse(r *record.Record) bool { return h.RefuseIn(r, nil) }

// RefuseIn is Refuse for a process whose ancestry is a (see Ancestry).
func (h *Handler) RefuseIn(r *record.Record, a *Ancestry) bool {
	ex, in := File{Path: r.Executable}, File{Path: r.Interpreter}
	if h.foreignNS(r) || r.MntNS == 0 && h.selfMntNS != 0 {
		// Another mount namespace, or one that could not be read: the
		// name alone proves nothing.
		ex.Foreign = r.SameFile == nil || !*r.SameFile
		ex.Outer = r.OuterPath
		in.Foreign = r.InterpreterSameFile == nil || !*r.InterpreterSameFile
	}
	d := h.Policy.CheckFilesIn(ex, in, a)
	for _, s := range r.InterpreterChain {
		if d.Deny {
			break
		}
		// Each script of the chain runs too, as an interpreter.
		if d = h.Policy.CheckFilesIn(File{Path: s, Foreign: in.Foreign}, File{}, a); d.Deny {
			d.Reason = "interpreter " + strings.TrimPrefix(d.Reason, "executable ")
		}
	}
	if !d.Deny {
		return false
	}
	r.Action = record.ActionDeny
	r.Error = "EPERM"
	r.ErrorDetail = "refused by policy: " + d.Reason
	return true
}
