package record

// Event kinds.
const (
	EventExec = "exec"
	EventFork = "fork"
	EventExit = "exit"
	// EventStart is the first record of every log (seq 1) and EventEnd
	// its last: what the run was, and what it wrote (supervisor/trail.go).
	EventStart = "start"
	EventEnd   = "end"
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

	// Container attribution on exec records. cgroup_v1 (and which
	// hierarchy it came from) is the v1 path that named the container
	// when the v2 path did not: hybrid and v1-only hosts.
	FieldCgroupV1               = "cgroup_v1"
	FieldCgroupV1Hex            = "cgroup_v1_hex"
	FieldCgroupV1Controllers    = "cgroup_v1_controllers"
	FieldCgroupV1ControllersHex = "cgroup_v1_controllers_hex"
	FieldContainerID            = "container_id"
	FieldContainerRuntime       = "container_runtime"
	FieldPodUID                 = "pod_uid"
	FieldPidNS                  = "pidns"
	FieldMntNS                  = "mntns"

	// The trail (supervisor/trail.go): every record of a run carries run_id and
	// prev; start and end records carry the rest.
	FieldRunID   = "run_id"
	FieldPrev    = "prev"
	FieldVersion = "version"
	FieldBackend = "backend"
	FieldHost    = "host"
	FieldKernel  = "kernel"
	FieldPolicy  = "policy"
	FieldOptions = "options"
	// End records.
	FieldExitStatus       = "exit_status"
	FieldCounts           = "counts"
	FieldDenied           = "denied"
	FieldCallsReceived    = "calls_received"
	FieldCallsAnswered    = "calls_answered"
	FieldCallsGone        = "calls_gone"
	FieldCallsRecorded    = "calls_recorded"
	FieldCallsUnrecorded  = "calls_unrecorded"
	FieldCallsRefused     = "calls_refused"
	FieldRecordsAtEvents  = "records_at_events"
	FieldRecordsUnwritten = "records_unwritten"
	// With --otlp: of the records before the end record, how many the
	// Collector took and how many it did not.
	FieldOTLPExported    = "otlp_exported"
	FieldOTLPNotExported = "otlp_not_exported"
	FieldChain           = "chain"
	FieldKeyID           = "key_id"
	FieldSig             = "sig"

	// The file that runs, when the process is in another mount
	// namespace than exectrail, where a path can name another file than
	// it does for exectrail: its device and inode, the mount it was
	// reached through (id, mount point and root as in the process's
	// mountinfo, and the mount's source), whether exectrail's own view
	// of the path is the same file, and the path of that file in
	// exectrail's view when it has one.
	FieldDev                 = "dev"
	FieldIno                 = "ino"
	FieldMntID               = "mnt_id"
	FieldMountPoint          = "mount_point"
	FieldMountPointHex       = "mount_point_hex"
	FieldMountRoot           = "mount_root"
	FieldMountRootHex        = "mount_root_hex"
	FieldMountSource         = "mount_source"
	FieldMountSourceHex      = "mount_source_hex"
	FieldSameFile            = "same_file"
	FieldOuterPath           = "outer_path"
	FieldOuterPathHex        = "outer_path_hex"
	FieldInterpreterSameFile = "interpreter_same_file"
	// Redaction and the environment (supervisor/writer_redact.go). redacted lists
	// the fields whose value was masked ("argv[3]", "path", "env[12]").
	// env is the whole environment, or env_base (the seq of an earlier
	// exec record whose environment this one's is relative to) with
	// env_set (entries added or changed) and env_unset (names removed).
	FieldRedacted     = "redacted"
	FieldRedaction    = "redaction" // start records: on or off
	FieldEnv          = "env"
	FieldEnvHex       = "env_hex"
	FieldEnvBase      = "env_base"
	FieldEnvSet       = "env_set"
	FieldEnvSetHex    = "env_set_hex"
	FieldEnvUnset     = "env_unset"
	FieldEnvUnsetHex  = "env_unset_hex"
	FieldEnvTruncated = "env_truncated"
)

// Exec record fields for a script whose interpreter is a script.
const (
	FieldInterpreterChain    = "interpreter_chain"
	FieldInterpreterChainHex = "interpreter_chain_hex"
)
