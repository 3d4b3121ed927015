package report

// Field names, event kinds and actions of the records, as written by
// package supervisor (supervisor/record.go, the contract in SPEC.md).
// They are mirrored here rather than imported so that this package stays
// free of cgo; TestFieldsMatchSupervisor checks that every name below has
// the same value there.
const (
	fieldSeq           = "seq"
	fieldTime          = "time"
	fieldEvent         = "event"
	fieldPID           = "pid"
	fieldPPID          = "ppid"
	fieldPath          = "path"
	fieldExecutable    = "executable"
	fieldArgv          = "argv"
	fieldArgvTruncated = "argv_truncated"
	fieldCwd           = "cwd"
	fieldInterpreter   = "interpreter"
	fieldError         = "error"
	fieldErrorDetail   = "error_detail"
	fieldAction        = "action"
	fieldVerified      = "verified"
	fieldChildPID      = "child_pid"
	fieldKind          = "kind"
	fieldExitCode      = "exit_code"
	fieldSignal        = "signal"
	fieldDurationMS    = "duration_ms"

	eventExec  = "exec"
	eventFork  = "fork"
	eventExit  = "exit"
	eventStart = "start"
	eventEnd   = "end"

	actionDeny = "deny"
)
