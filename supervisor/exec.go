package supervisor

import (
	"errors"
	"fmt"

	"github.com/exectrail/exectrail/filter"
	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// The exec record of a held execve or execveat: path, argv (and, with
// --env, the environment) read from the caller's memory, cwd and ids from
// /proc, the path resolved as the kernel will resolve it, and the failure
// predicted when the exec is known to fail. Both backends build it here
// at the call; verify.go completes it after the exec (ptrace).

// ErrNotExec is returned by ExecRecord for a call that runs nothing
// (execveat with AT_EXECVE_CHECK): no exec record is due.
var ErrNotExec = errors.New("not an exec")

// atExecveCheck is AT_EXECVE_CHECK (Linux 6.14): execveat only checks
// whether the file could be executed and runs nothing.
const atExecveCheck = 0x10000

// maxArgs bounds argv entries: a pointer and a NUL each cost at least 9
// bytes of the kernel's argument space, so more cannot be exec'd.
const maxArgs = procfs.MaxArgBytes / 9

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
		ABI:     abiOf(c),
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
	if procfs.ErrnoOf(err) != unix.EFAULT && procfs.ErrnoOf(err) != unix.EIO || !errors.As(err, &me) {
		return
	}
	if t.IsMapped(me.Addr) {
		r.Unreadable = true
	}
}

// memErr files a failed read of tracee memory: a bad pointer (EFAULT) is
// the error the exec itself will fail with; anything else (EPERM on a
// non-dumpable process, ESRCH) only means exectrail could not see, and the
// exec's own outcome is unknown.
func memErr(r *record.Record, err error) {
	if e := procfs.ErrnoOf(err); e == unix.EFAULT || e == unix.EIO {
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
