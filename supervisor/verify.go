package supervisor

import (
	"bytes"
	"errors"

	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// Verification: what an exec record says, checked against what the kernel
// loaded, at PTRACE_EVENT_EXEC, before the new program's first
// instruction (VerifyExec); and the policy's check on that (CheckLoaded).

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
		r.Error, r.ErrorDetail = errnoName(procfs.ErrnoOf(err)), "reading /proc/PID/exe after exec: "+err.Error()
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

// CheckLoaded is the policy's check after an exec, on r as VerifyExec
// left it, before the new program's first instruction: true when it may
// run. Under a policy what cannot be verified does not run; what was
// verified is judged on what the kernel loaded, so racing the check at
// the call (CheckCall) gains nothing. When it returns false r says why
// (action deny, EPERM) and the caller must kill the process before it
// runs. a is the process's ancestry.
func (h *Handler) CheckLoaded(r *record.Record, a *Ancestry) bool {
	verified := r.Verified != nil && *r.Verified
	if !h.Policy.Empty() && !verified {
		r.Action, r.Error = record.ActionDeny, "EPERM"
		r.ErrorDetail = "refused: the executable could not be verified after exec"
		return false
	}
	if verified {
		r.Action = ""
		if h.RefuseIn(r, a) {
			return false
		}
	}
	return true
}
