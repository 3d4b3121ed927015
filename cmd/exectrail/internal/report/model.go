package report

import (
	"path"
	"sort"
	"strings"
)

// Limits on what is kept per process, so that memory follows the number
// of processes and not the size of the log.
const (
	maxArgvBytes = 4096 // argv kept for display; the rest is elided
	maxAttempts  = 4    // failed or denied exec attempts kept per process
	maxPrev      = 3    // earlier programs of a process that exec'd again
	maxLineList  = 10   // line numbers kept for each kind of log problem
)

// Process is one process of the job, as far as the log tells.
type Process struct {
	PID    int
	PPID   int      // 0 when unknown
	Parent *Process // nil for a root: its parent is outside the log
	// Children in order of appearance.
	Children []*Process

	// Start is the time of the first record about the process: its fork
	// (ptrace backend) or its first exec; End the time of its exit
	// record. Unix nanoseconds.
	Start, End int64
	// LastSeen is the time of the last record about the process or any
	// of its descendants: a process that is not known to have exited was
	// alive at least until then.
	LastSeen int64

	// Exe is the executable of the last successful exec; empty when the
	// process never exec'd as far as the log tells.
	Exe string
	// Prev holds the executables of earlier successful execs (at most
	// maxPrev, the most recent last).
	Prev []string
	// ForkOf is the parent's executable at the fork that created the
	// process, when a fork record names it (ptrace backend).
	ForkOf string
	Kind   string // fork, vfork or clone, when a fork record names it
	Cwd    string
	argv   string // NUL-separated, at most maxArgvBytes
	// ArgvElided is set when argv was cut to maxArgvBytes, or the record
	// said it could not be read completely.
	ArgvElided bool

	Execs  int // successful (or, notify, not known to fail) exec records
	Failed int // failed exec attempts
	// PathMisses counts the ENOENT attempts of PATH searches that went
	// on to find the program (not counted in Failed).
	PathMisses int
	Denied     int // exec attempts refused by exectrail
	// Attempts holds the first maxAttempts failed or denied attempts.
	Attempts []Attempt
	Forks    int // fork records with the process as parent

	Exited      bool // an exit record was seen
	ExitCode    int
	Signal      string // set instead of ExitCode when killed by a signal
	DurationMS  float64
	HasDuration bool // DurationMS comes from the exit record

	// Placeholder: the process is known only as the ppid of another one.
	Placeholder bool
	// NoStart: the log does not show the process start (it appears with
	// its exit, or as a parent); Start is its first record.
	NoStart bool
	// PIDReused: a later process appeared with the same pid before this
	// one's exit was seen, so its end is unknown.
	PIDReused bool
	Line      int // line of the first record about it

	index int // position in Log.Processes

	// A PATH search in progress: failed attempts at missName so far.
	missName string
	missN    int
}

// Attempt is a failed or refused exec.
type Attempt struct {
	Time       int64
	Path       string // as passed
	Executable string // resolved; may be empty
	Error      string // errno name
	Detail     string
	Denied     bool
	Line       int
}

// Target is what the attempt tried to run, for display.
func (a Attempt) Target() string {
	if a.Executable != "" {
		return a.Executable
	}
	return a.Path
}

// Argv returns the argument vector (possibly elided; see ArgvElided).
func (p *Process) Argv() []string {
	if p.argv == "" {
		return nil
	}
	return strings.Split(p.argv, "\x00")
}

// Duration returns the process's run time in milliseconds and whether it
// is known: from the exit record, or from its start and exit.
func (p *Process) Duration() (float64, bool) {
	if p.HasDuration {
		return p.DurationMS, true
	}
	if p.Exited && !p.NoStart && p.End >= p.Start {
		return float64(p.End-p.Start) / 1e6, true
	}
	return 0, false
}

// NonZero reports whether the process is known to have ended badly: a
// non-zero exit code or a signal.
func (p *Process) NonZero() bool {
	return p.Exited && (p.Signal != "" || p.ExitCode != 0)
}

// Name is the short name of the process: the base name of what it runs,
// or why it has none.
func (p *Process) Name() string {
	switch {
	case p.Exe != "":
		return path.Base(p.Exe)
	case p.ForkOf != "":
		return path.Base(p.ForkOf)
	}
	return label(p)
}

// ExeStats aggregates the processes that ran one executable.
type ExeStats struct {
	Exe    string
	Execs  int     // successful execs of it
	TimeMS float64 // total known run time of processes that ended running it
	Timed  int     // processes whose time is known
	Procs  int     // processes that ended running it
	Failed int     // processes running it that ended non-zero
}

// LineNote names a line of the log and what is wrong with it.
type LineNote struct {
	Line   int
	Reason string
}

// SeqRange is a run of missing seq numbers, First to Last inclusive.
type SeqRange struct{ First, Last int64 }

// Log is what a record log says about a job.
type Log struct {
	Lines   int // lines read, blank ones included
	Records int // lines that were records

	Execs, Forks, Exits, OtherEvents int
	// Starts and Ends count start and end records (trail.go); Run and
	// End are what the first start and the end record say, nil without.
	Starts, Ends int
	Run          *RunInfo
	End          *RunEnd

	// Lines that were not records, the first few of them with line
	// numbers and reasons.
	Malformed      int
	MalformedLines []LineNote
	// Records preceded on their line by other output (a job writing to
	// the same stderr).
	Interleaved      int
	InterleavedLines []int
	// TruncatedLast: the last line had no newline and was not a
	// complete record (the log is still being written, or was cut).
	TruncatedLast bool
	// TooLong counts lines over the line limit; they are skipped.
	TooLong int
	// ReadErr is an error that stopped reading early.
	ReadErr error

	// Seq numbers that never appeared (first few ranges) and how many;
	// records whose seq went backwards.
	SeqGaps      []SeqRange
	SeqMissing   int64
	SeqBackwards int
	SeqBackLines []int

	First, Last int64 // times of the earliest and latest records

	// Backend is "ptrace" or "notify" as the records show it (verified
	// fields, child pids), or "" when the log does not tell.
	Backend string

	Processes []*Process // in order of appearance
	Roots     []*Process // processes whose parent is not in the log

	ExecAttempts int
	FailedExecs  int
	// PathMisses counts ENOENT attempts of PATH searches that then found
	// the program: not failures (see Process.PathMisses).
	PathMisses   int
	DeniedExecs  int
	NonZeroExits int
	Signalled    int
	// ForksWithoutChild counts fork records that name no child (notify
	// backend): such a child is in the log only if it exec'd.
	ForksWithoutChild int

	Exes []*ExeStats // one per executable, most execs first

	execCounts map[string]int // while reading: successful execs per executable
}

// HasAllExits reports whether the backend writes an exit record for
// every process (ptrace), so that a missing one means the log ended
// before the process did.
func (l *Log) HasAllExits() bool { return l.Backend == "ptrace" }

// Root returns the main root process: the first one in the log.
func (l *Log) Root() *Process {
	if len(l.Roots) == 0 {
		return nil
	}
	return l.Roots[0]
}

// finish links the model up once every line is read.
func (l *Log) finish() {
	for _, p := range l.Processes {
		if p.Parent == nil {
			l.Roots = append(l.Roots, p)
		}
	}
	// LastSeen of a subtree: children come after their parents in
	// preorder, so one backward pass carries it up.
	order := l.preorder()
	for i := len(order) - 1; i >= 0; i-- {
		p := order[i]
		if p.Exited && p.End > p.LastSeen {
			p.LastSeen = p.End
		}
		if p.Parent != nil && p.LastSeen > p.Parent.LastSeen {
			p.Parent.LastSeen = p.LastSeen
		}
	}
	byExe := map[string]*ExeStats{}
	stat := func(exe string) *ExeStats {
		s := byExe[exe]
		if s == nil {
			s = &ExeStats{Exe: exe}
			byExe[exe] = s
		}
		return s
	}
	for _, p := range l.Processes {
		if p.NonZero() {
			l.NonZeroExits++
			if p.Signal != "" {
				l.Signalled++
			}
		}
		if p.Exe == "" {
			continue
		}
		s := stat(p.Exe)
		s.Procs++
		if d, ok := p.Duration(); ok {
			s.TimeMS += d
			s.Timed++
		}
		if p.NonZero() {
			s.Failed++
		}
	}
	for exe, n := range l.execCounts {
		stat(exe).Execs = n
	}
	l.execCounts = nil
	for _, s := range byExe {
		l.Exes = append(l.Exes, s)
	}
	sort.Slice(l.Exes, func(i, j int) bool {
		a, b := l.Exes[i], l.Exes[j]
		if a.Execs != b.Execs {
			return a.Execs > b.Execs
		}
		return a.Exe < b.Exe
	})
}

// preorder lists the processes depth first, parents before children.
func (l *Log) preorder() []*Process {
	out := make([]*Process, 0, len(l.Processes))
	walk(l.Roots, nil, func(p *Process, _ int, _ []bool) bool {
		out = append(out, p)
		return true
	})
	return out
}

// subtreeSizes returns, per process index, the number of its
// descendants.
func (l *Log) subtreeSizes() []int {
	n := make([]int, len(l.Processes))
	order := l.preorder()
	for i := len(order) - 1; i >= 0; i-- {
		p := order[i]
		if p.Parent != nil {
			n[p.Parent.index] += n[p.index] + 1
		}
	}
	return n
}

// walk visits the processes depth first, children in order, without
// recursion (a fork chain can be as deep as the log is long). With keep,
// it visits only the processes keep accepts (and whose ancestors it
// accepts). visit gets the depth and, per level down to the process,
// whether it is the last visited one among its siblings; it returns
// false to skip the process's children.
func walk(roots []*Process, keep func(*Process) bool, visit func(p *Process, depth int, last []bool) bool) {
	type frame struct {
		kids []*Process
		i    int
	}
	next := func(f *frame) int { // the next kept sibling from f.i, or len
		i := f.i
		for keep != nil && i < len(f.kids) && !keep(f.kids[i]) {
			i++
		}
		return i
	}
	var stack []frame
	var last []bool
	stack = append(stack, frame{kids: roots})
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		top.i = next(top)
		if top.i >= len(top.kids) {
			stack = stack[:len(stack)-1]
			continue
		}
		p := top.kids[top.i]
		top.i++
		top.i = next(top)
		depth := len(stack) - 1
		last = append(last[:depth], top.i == len(top.kids))
		if visit(p, depth, last) && len(p.Children) > 0 {
			stack = append(stack, frame{kids: p.Children})
		}
	}
}
