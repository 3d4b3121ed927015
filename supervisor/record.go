package supervisor

import "time"

// Event kinds.
const (
	EventExec = "exec"
	EventFork = "fork"
	EventExit = "exit"
)

// ActionDeny marks an exec that exectrail refused.
const ActionDeny = "deny"

// Field names of the JSON records: the contract in SPEC.md. Kept in one
// place so the JSON writer, the text writer and tests agree.
const (
	FieldSeq            = "seq"
	FieldTime           = "time"
	FieldEvent          = "event"
	FieldPID            = "pid"
	FieldPPID           = "ppid"
	FieldTID            = "tid"
	FieldPath           = "path"
	FieldPathHex        = "path_hex"
	FieldExecutable     = "executable"
	FieldExecutableHex  = "executable_hex"
	FieldArgv           = "argv"
	FieldArgvHex        = "argv_hex"
	FieldArgvTruncated  = "argv_truncated"
	FieldCwd            = "cwd"
	FieldCwdHex         = "cwd_hex"
	FieldInterpreter    = "interpreter"
	FieldInterpreterHex = "interpreter_hex"
	FieldUID            = "uid"
	FieldCgroupID       = "cgroup_id"
	FieldCgroup         = "cgroup"
	FieldCgroupHex      = "cgroup_hex"
	FieldABI            = "abi"
	FieldSyscall        = "syscall"
	FieldError          = "error"
	FieldErrorDetail    = "error_detail"
	FieldReadError      = "read_error"
	FieldAction         = "action"
	FieldVerified       = "verified"
	FieldChildPID       = "child_pid"
	FieldKind           = "kind"
	FieldExitCode       = "exit_code"
	FieldSignal         = "signal"
	FieldDurationMS     = "duration_ms"
)

// Record is one event. Only the fields that apply to its Event are
// written; byte-string fields keep the tracee's bytes exactly (see the
// writers for how non-UTF-8 is represented).
type Record struct {
	Seq   uint64    // assigned by the Writer
	Time  time.Time // assigned by the Writer when zero
	Event string
	PID   int
	PPID  int
	// TID is the thread that made the call, when it is not PID.
	TID int

	Path          []byte
	Executable    string
	Argv          [][]byte
	ArgvTruncated bool
	Cwd           string
	Interpreter   string
	UID           int
	HasUID        bool
	CgroupID      uint64
	Cgroup        string
	ABI           string // "i386" or "x32" for compat calls; empty for native
	Syscall       string // "execve" or "execveat"
	Error         string
	ErrorDetail   string
	// ReadError says what of the call could not be read (tracee memory,
	// /proc) when that does not by itself make the call fail: a
	// non-dumpable process's memory, say. The record then holds what
	// could be read.
	ReadError string
	Action    string
	Verified  *bool

	ChildPID   int
	Kind       string
	ExitCode   *int
	Signal     string
	DurationMS *float64
}
