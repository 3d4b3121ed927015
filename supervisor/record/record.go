package record

import "time"

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

	Path []byte
	// PathUnknown and PPIDUnknown: the value could not be read, so the
	// field is left out rather than written as "" or 0 (which would claim
	// an exec of "" or a parent 0).
	PathUnknown   bool
	PPIDUnknown   bool
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

	// Exec records: what the cgroup path names (procfs.CgroupInfo).
	// CgroupV1 and CgroupV1Controllers are the v1 line that named the
	// container when the v2 path (Cgroup) did not.
	CgroupV1            string
	CgroupV1Controllers string
	ContainerID         string // 64 hex digits
	ContainerRuntime    string // docker, containerd, cri-o, podman; empty when not named
	PodUID              string // with dashes
	// PidNS and MntNS are the inode numbers of the process's pid and
	// mount namespaces; 0 when unknown.
	PidNS uint64
	MntNS uint64

	// The trail, set by a Writer with SetTrail: the run's id and the
	// chain hash of the line before (supervisor/trail.go).
	RunID   string
	Prev    [8]byte
	HasPrev bool
	// Start and End hold what start and end records say; nil otherwise.
	Start *StartInfo
	End   *EndInfo

	// The file that runs, in another mount namespace (FieldDev…). HasFile
	// says whether FileDev, FileIno and MntID are set.
	HasFile             bool
	FileDev             uint64
	FileIno             uint64
	MntID               uint64
	MountPoint          string
	MountRoot           string
	MountSource         string
	SameFile            *bool
	OuterPath           string
	InterpreterSameFile *bool

	// ExeID and InterpID are the identities of Executable and
	// Interpreter as resolved: the supervisor's, carried from the call
	// to its verification; never encoded.
	ExeID, InterpID FileID
	// Unreadable is set when the path or argv lies in memory that is
	// mapped but cannot be read by exectrail (memfd_secret, [vvar]),
	// which the kernel will read: the notify backend must refuse the
	// call rather than let an unrecorded program run. Never encoded.
	Unreadable bool
	// Env is the environment the exec passes (envp, --env), in order;
	// HasEnv says it was read. EnvTruncated: it could not be read
	// completely.
	Env          [][]byte
	HasEnv       bool
	EnvTruncated bool

	// Set by the Writer on the copy it writes (supervisor/writer_redact.go): the
	// fields whose value was masked, and the environment as a diff.
	Redacted []string
	EnvBase  uint64
	EnvSet   [][]byte
	EnvUnset [][]byte

	// InterpreterChain: for a script whose interpreter is a script, the
	// scripts between Executable and Interpreter (the program the kernel
	// finally runs), in the order the kernel goes through them.
	InterpreterChain []string
}

// FileID is a file as the kernel knows it: device, inode and the id of
// the mount it was reached through (statx). The zero value is unknown.
type FileID struct {
	Dev, Ino, MntID uint64
}

// StartInfo is what a start record says about the run.
type StartInfo struct {
	Version string
	// Backend is notify or ptrace; empty when the command never started
	// under supervision (the child stage failed first).
	Backend string
	Argv    [][]byte // the command as given
	Cwd     string
	Host    string
	Kernel  string // uname release
	UID     int
	// Policy holds the rules in force, "allow GLOB" or "deny GLOB", in
	// the order they are checked.
	Policy []string
	// Options are the flags that change what is recorded, as
	// --name=value.
	Options []string
	// Redaction is "on" when secrets are masked, "off" with --no-redact
	// (Writer.RedactionMode); empty: not said.
	Redaction string
}

// EndInfo is what an end record says. The caller sets ExitStatus (and the
// command's exit_code or signal and duration_ms on the Record); the
// Writer fills in the rest when it writes the record.
type EndInfo struct {
	ExitStatus int // exectrail's own exit status
	// Counts of the records written before the end record, by kind, in
	// the order written out: start, exec, fork, exit, then any other kind
	// in name order.
	Counts    []KindCount
	Denied    uint64 // records with action deny
	Calls     CallCounts
	Unwritten uint64 // records that could not be written
	Chain     string // hex of the chain over every line before the end record
	KeyID     string // when signed
	// OTLP says what --otlp exported of the records before the end
	// record; nil without --otlp.
	OTLP *ExportCounts
}

// ExportCounts are what an exporter delivered of the records before the
// end record.
type ExportCounts struct {
	Exported, NotExported uint64
}

// KindCount is the number of records of one kind.
type KindCount struct {
	Kind string
	N    uint64
}

// CallCounts are the trapped calls a backend saw, as end records report
// them. Every call received has exactly one outcome:
//
//	Received = Answered + Gone
//	Answered = Recorded + Unrecorded + (records that could not be written)
//
// and every exec or fork record is either the record of a held call or
// one written at a ptrace event for which no call was held:
//
//	Recorded + AtEvents = exec records + fork records
type CallCounts struct {
	// Received: notify, notifications received; ptrace, seccomp stops.
	Received uint64
	// Answered: let go on or refused. Notify: a response was sent.
	// Ptrace: the call's outcome was seen (exec event, syscall exit,
	// fork event, refusal at entry, or the thread's next trapped call
	// after a fork the kernel failed) and the thread resumed.
	Answered uint64
	// Gone: the task died (or was killed) while its call was held,
	// before an outcome: nothing ran.
	Gone uint64
	// Recorded: answered after its record was written.
	Recorded uint64
	// Unrecorded: answered without a record of its own, by design:
	// AT_EXECVE_CHECK (runs nothing), a call that cannot be decoded
	// (refused under notify), under ptrace an exec whose task could not
	// be read at entry (its exec event records it), a fork the kernel
	// failed (ptrace records forks that happened) and a thread's clone
	// trapped only for its CLONE_UNTRACED.
	Unrecorded uint64
	// Refused: answered with an error by exectrail (a policy, a task
	// that cannot be inspected, an undecodable call, a record that could
	// not be written). Part of Answered.
	Refused uint64
	// AtEvents: exec and fork records written at a ptrace event for which
	// no call was held (an exec whose entry was taken by a filter stacked
	// above exectrail's or could not be read, a fork whose entry was not
	// trapped or whose parent died in its fork event).
	AtEvents uint64
}
