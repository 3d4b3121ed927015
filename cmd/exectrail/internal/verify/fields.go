package verify

// Field names and event kinds of the records, as written by package
// supervisor (supervisor/record.go). TestFieldsMatchSupervisor checks
// them.
const (
	fieldSeq              = "seq"
	fieldEvent            = "event"
	fieldRunID            = "run_id"
	fieldPrev             = "prev"
	fieldCounts           = "counts"
	fieldExitStatus       = "exit_status"
	fieldDenied           = "denied"
	fieldAction           = "action"
	fieldCallsReceived    = "calls_received"
	fieldCallsAnswered    = "calls_answered"
	fieldCallsGone        = "calls_gone"
	fieldCallsRecorded    = "calls_recorded"
	fieldCallsUnrecorded  = "calls_unrecorded"
	fieldCallsRefused     = "calls_refused"
	fieldRecordsAtEvents  = "records_at_events"
	fieldRecordsUnwritten = "records_unwritten"
	fieldChain            = "chain"
	fieldKeyID            = "key_id"
	fieldSig              = "sig"

	eventStart = "start"
	eventEnd   = "end"
	eventExec  = "exec"
	eventFork  = "fork"
	eventExit  = "exit"

	actionDeny = "deny"
)
