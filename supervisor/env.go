package supervisor

import (
	"bytes"
	"errors"

	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// readEnv reads the environment an exec passes (its envp argument, what
// the new program gets) from the caller's memory, exactly as argv is read
// and with the same bounds: a hostile pointer or unreadable memory gives
// what could be read, env_truncated, and the error (EFAULT is the error the
// exec itself fails with), never a hang beyond what a read of argv may
// take; memory the kernel can read and exectrail cannot (memfd_secret)
// gets the call refused, as for argv. A NULL envp is an empty
// environment to Linux.
func (h *Handler) readEnv(t *procfs.Task, mem procfs.Memory, c *Call, envAddr uint64, r *record.Record) {
	r.HasEnv = true
	r.Env = [][]byte{}
	if envAddr == 0 {
		return
	}
	ptrs, err := procfs.ReadPointers(mem, envAddr, c.Sys.PtrSize, maxArgs, "envp")
	if len(ptrs) > 0 {
		env, serr := procfs.ReadStrings(mem, ptrs, procfs.MaxArgBytes, "envp")
		r.Env = env
		if err == nil {
			err = serr
		}
	}
	if err == nil {
		return
	}
	r.EnvTruncated = true
	if errors.Is(err, procfs.ErrTooLong) {
		setErr(r, unix.E2BIG, err.Error())
	} else {
		memErr(r, err)
		checkUnreadable(r, t, err)
	}
}

// environFile fills the environment of a record built after the exec
// (ptrace, no entry stop seen) from /proc/PID/environ: what the kernel has
// just copied for the new program.
func (h *Handler) environFile(t *procfs.Task, r *record.Record) {
	r.HasEnv = true
	r.Env = [][]byte{}
	b, err := t.ReadFile("environ")
	if err != nil {
		r.EnvTruncated = true
		return
	}
	if b = bytes.TrimSuffix(b, []byte{0}); len(b) > 0 {
		r.Env = bytes.Split(b, []byte{0})
	}
}
