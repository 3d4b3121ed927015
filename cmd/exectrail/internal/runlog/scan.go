package runlog

import (
	"io"
	"path"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/report"
)

// Program is what a diff or a policy identifies a process by: its
// canonical executable and, for a script, its interpreter, both
// normalised.
type Program struct {
	Executable  string `json:"executable"`
	Interpreter string `json:"interpreter,omitempty"`
}

// String is "EXECUTABLE", or "EXECUTABLE #!INTERPRETER" for a script.
func (p Program) String() string {
	if p.Interpreter != "" {
		return p.Executable + " #!" + p.Interpreter
	}
	return p.Executable
}

// IsZero reports whether p names nothing (the parent of the job's first
// program, which exectrail started).
func (p Program) IsZero() bool { return p.Executable == "" && p.Interpreter == "" }

// Frame is one process in a chain of ancestors.
type Frame struct {
	PID     int      `json:"pid"`
	Program Program  `json:"program"`
	Argv    []string `json:"argv,omitempty"`
}

// Exec is one exec attempt of a log, as a program and the program that
// started it.
type Exec struct {
	// Program is what ran or was tried: for a failed attempt that led
	// to no file, Executable is the path as passed.
	Program Program
	// Parent is the program that started it: the one the process ran
	// before (a process that execs again: env → make), else the nearest
	// ancestor's; zero for the job's first program.
	Parent Program
	Error  string // errno name; "" when it ran
	Denied bool
	PID    int
	Line   int
	Argv   []string
	// Ancestors, outermost first, ends with the process that made the
	// call as it was before the exec (when it had run a program). Only
	// processes that ran a program appear; filled only when the visitor
	// asked for it (Scan's chains).
	Ancestors []Frame
}

// Ran reports whether the exec succeeded (or, notify backend, was not
// known to fail).
func (e *Exec) Ran() bool { return e.Error == "" && !e.Denied }

// Stats are counts of a log, for messages.
type Stats struct {
	Records   int
	Processes int
	Execs     int
	Malformed int
	Backend   string
}

// scanner keeps, per process, the program it runs now and the ENOENT
// attempts of a PATH search not yet settled.
type scanner struct {
	norm    *Normalizer
	prog    map[*report.Process]Program
	pending map[*report.Process][]Exec
	chains  func(*Exec) bool
	visit   func(*Exec)
}

// Scan reads the log r and calls visit for every exec attempt: the
// successful ones as they come, failed ones once they are known not to
// be a PATH search's misses (ENOENT or ENOTDIR attempts followed, in the
// same process, by a successful exec of the same base name are dropped,
// as exectrail report does). chains, when not nil, says for an exec
// (Ancestors still empty) whether its chain of ancestors is wanted.
func Scan(r io.Reader, norm *Normalizer, chains func(*Exec) bool, visit func(*Exec)) (Stats, *report.Log, error) {
	s := &scanner{norm: norm, prog: map[*report.Process]Program{},
		pending: map[*report.Process][]Exec{}, chains: chains, visit: visit}
	l, err := report.ReadExecs(r, s.exec)
	if l != nil {
		// Failures still waiting for a PATH search to settle are failures.
		for _, p := range l.Processes {
			s.flush(p)
		}
	}
	if err != nil {
		return Stats{}, l, err
	}
	return Stats{Records: l.Records, Processes: len(l.Processes), Execs: l.Execs, Malformed: l.Malformed, Backend: l.Backend}, l, nil
}

func (s *scanner) exec(ev *report.ExecEvent) {
	p := ev.Process
	e := Exec{Error: ev.Error, Denied: ev.Denied, PID: p.PID, Line: ev.Line, Argv: ev.Argv}
	exe := ev.Executable
	if exe == "" {
		exe = ev.Path
	}
	e.Program = Program{s.norm.Apply(exe), s.norm.Apply(ev.Interpreter)}
	e.Parent = s.parent(p)
	if e.Ran() {
		if q := s.pending[p]; len(q) > 0 {
			base := path.Base(ev.Path)
			kept := q[:0]
			for _, f := range q {
				if !f.Denied && (f.Error == "ENOENT" || f.Error == "ENOTDIR") && path.Base(f.Program.Executable) == base {
					continue // a PATH search's miss
				}
				kept = append(kept, f)
			}
			s.pending[p] = kept
			s.flush(p)
		}
		s.emit(p, &e)
		s.prog[p] = e.Program
		return
	}
	if !e.Denied && (e.Error == "ENOENT" || e.Error == "ENOTDIR") {
		if q := s.pending[p]; len(q) > 0 && path.Base(q[len(q)-1].Program.Executable) != path.Base(ev.Path) {
			s.flush(p) // a search for another name: the earlier one failed
		}
		e.Argv = append([]string(nil), e.Argv...)
		s.pending[p] = append(s.pending[p], e)
		return
	}
	s.emit(p, &e)
}

func (s *scanner) flush(p *report.Process) {
	q := s.pending[p]
	delete(s.pending, p)
	for i := range q {
		s.emit(p, &q[i])
	}
}

func (s *scanner) emit(p *report.Process, e *Exec) {
	if s.chains != nil && s.chains(e) {
		e.Ancestors = s.chain(p)
	}
	s.visit(e)
}

// parent is the program that starts whatever p execs now.
func (s *scanner) parent(p *report.Process) Program {
	for q := p; q != nil; q = q.Parent {
		if prog, ok := s.prog[q]; ok {
			return prog
		}
	}
	return Program{}
}

// chain lists the processes from the job's root down to p that ran a
// program, outermost first.
func (s *scanner) chain(p *report.Process) []Frame {
	var out []Frame
	for q := p; q != nil; q = q.Parent {
		if prog, ok := s.prog[q]; ok {
			out = append(out, Frame{PID: q.PID, Program: prog, Argv: q.Argv()})
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
