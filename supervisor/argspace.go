package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// The kernel's limits on an exec's argument space (fs/exec.c,
// bprm_stack_limits and copy_strings).
const (
	argMax  = 32 * procfs.PageSize // ARG_MAX: always allowed, whatever the stack limit
	stkLim  = 8 << 20              // _STK_LIM
	ptrSize = 8                    // the kernel's sizeof(void *), compat callers too
)

// argSpace predicts E2BIG exactly as the kernel decides it: every string
// (the filename as the kernel names it, each environment string, each
// argument; NUL included) at most MAX_ARG_STRLEN, and all of them
// together at most the limit — a quarter of the caller's stack rlimit,
// capped at 3/4 of _STK_LIM, never below ARG_MAX — less a pointer for
// each string of argv (at least one) and envp. It returns 0 when the exec
// is not refused for its arguments, or when that cannot be known (the
// environment or the stack limit could not be read).
func argSpace(t *procfs.Task, mem procfs.Memory, c *Call, r *record.Record, envAddr uint64, req procfs.ExecRequest) (unix.Errno, string) {
	filename := len(req.Path) + 1
	if req.DirFD != unix.AT_FDCWD && (len(req.Path) == 0 || req.Path[0] != '/') {
		// alloc_bprm names it /dev/fd/N or /dev/fd/N/PATH.
		filename = len("/dev/fd/") + len(strconv.Itoa(req.DirFD)) + 1
		if len(req.Path) > 0 {
			filename += 1 + len(req.Path)
		}
	}
	total := filename
	argc := len(r.Argv)
	for i, a := range r.Argv {
		if len(a)+1 > procfs.MaxArgStrlen {
			return unix.E2BIG, fmt.Sprintf("argv[%d] is %d bytes: over MAX_ARG_STRLEN (%d, with its NUL)", i, len(a), procfs.MaxArgStrlen)
		}
		total += len(a) + 1
	}
	if argc == 0 {
		total++ // the kernel gives an empty argv an argv[0] of ""
	}
	envc := 0
	if envAddr != 0 {
		ptrs, err := procfs.ReadPointers(mem, envAddr, c.Sys.PtrSize, maxArgs, "envp")
		if errors.Is(err, procfs.ErrTooLong) {
			return unix.E2BIG, err.Error()
		}
		if err != nil {
			return 0, "" // a bad pointer: the kernel's EFAULT, not ours to predict
		}
		env, err := procfs.ReadStrings(mem, ptrs, procfs.MaxArgBytes, "envp")
		if errors.Is(err, procfs.ErrTooLong) {
			return unix.E2BIG, err.Error()
		}
		if err != nil {
			return 0, ""
		}
		envc = len(env)
		for i, e := range env {
			if len(e)+1 > procfs.MaxArgStrlen {
				return unix.E2BIG, fmt.Sprintf("environment string %d is %d bytes: over MAX_ARG_STRLEN (%d, with its NUL)", i, len(e), procfs.MaxArgStrlen)
			}
			total += len(e) + 1
		}
	}
	ptrs := (max(argc, 1) + envc) * ptrSize
	if total+ptrs <= argMax {
		return 0, ""
	}
	limit := uint64(stkLim / 4 * 3)
	if uint64(total+ptrs) <= limit {
		// Between ARG_MAX and the cap: the caller's stack limit decides.
		rlim, ok := stackRlimit(t)
		if !ok {
			return 0, ""
		}
		limit = max(min(limit, rlim/4), argMax)
		if uint64(total+ptrs) <= limit {
			return 0, ""
		}
	}
	return unix.E2BIG, fmt.Sprintf("arguments and environment take %d bytes with their pointers, over the %d the kernel allows (a quarter of the stack limit, between %d and %d)", total+ptrs, limit, argMax, stkLim/4*3)
}

// stackRlimit reads the soft RLIMIT_STACK of the task from its limits
// file ("Max stack size  8388608  unlimited  bytes").
func stackRlimit(t *procfs.Task) (uint64, bool) {
	b, err := t.ReadFile("limits")
	if err != nil {
		return 0, false
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("Max stack size"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) < 1 {
			return 0, false
		}
		if string(f[0]) == "unlimited" {
			return ^uint64(0), true
		}
		v, err := strconv.ParseUint(string(f[0]), 10, 64)
		return v, err == nil
	}
	return 0, false
}
