package diff

import (
	"fmt"
	"io"
	"sort"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/runlog"
)

// Options tune a comparison.
type Options struct {
	Normalize *runlog.Normalizer
	// CountFactor, when > 1, reports programs that ran in both logs and
	// whose exec count grew or shrank by more than this factor.
	CountFactor float64
}

// LogInfo describes one side of the comparison.
type LogInfo struct {
	Name      string `json:"name"`
	Records   int    `json:"records"`
	Processes int    `json:"processes"`
	Execs     int    `json:"execs"`
	Backend   string `json:"backend,omitempty"`
	// Malformed counts lines that were not records (other output, a
	// truncated line); they are skipped.
	Malformed int `json:"malformed_lines,omitempty"`
}

// Example is the first occurrence of a new thing in NEW.
type Example struct {
	PID  int      `json:"pid"`
	Line int      `json:"line"`
	Argv []string `json:"argv,omitempty"`
	// Ancestors, outermost first, down to the process that made the
	// call (as it was before the exec).
	Ancestors []runlog.Frame `json:"ancestors"`
}

// ProgramCount is a program and how often it ran.
type ProgramCount struct {
	Program runlog.Program `json:"program"`
	Count   int            `json:"count"`
	Example *Example       `json:"example,omitempty"`
}

// Edge is a parent program starting a child program. A zero Parent is
// exectrail starting the job's command.
type Edge struct {
	Parent runlog.Program `json:"parent"`
	Child  runlog.Program `json:"child"`
}

// EdgeCount is an edge and how often it happened.
type EdgeCount struct {
	Edge
	Count   int      `json:"count"`
	Example *Example `json:"example,omitempty"`
}

// Failure is a failed or refused exec of a program.
type Failure struct {
	Program runlog.Program `json:"program"`
	Error   string         `json:"error"` // errno name; EPERM for a refusal
}

// FailureCount is a failure and how often it happened.
type FailureCount struct {
	Failure
	Count   int      `json:"count"`
	Example *Example `json:"example,omitempty"`
}

// CountChange is a program whose exec count changed by more than the
// factor.
type CountChange struct {
	Program runlog.Program `json:"program"`
	Base    int            `json:"base"`
	New     int            `json:"new"`
}

// Result is the comparison of two logs.
type Result struct {
	Base LogInfo `json:"base"`
	New  LogInfo `json:"new"`

	NewPrograms  []ProgramCount `json:"new_programs"`
	GonePrograms []ProgramCount `json:"gone_programs"`
	NewEdges     []EdgeCount    `json:"new_edges"`
	GoneEdges    []EdgeCount    `json:"gone_edges"`
	NewFailed    []FailureCount `json:"new_failed"`
	NewDenied    []FailureCount `json:"new_denied"`
	// Count changes, only with Options.CountFactor.
	CountFactor float64       `json:"count_factor,omitempty"`
	MoreOften   []CountChange `json:"more_often,omitempty"`
	LessOften   []CountChange `json:"less_often,omitempty"`
}

// Added reports whether NEW shows anything BASE does not: a program, an
// edge, a failure or refusal, or a count grown by more than the factor.
func (r *Result) Added() bool {
	return len(r.NewPrograms)+len(r.NewEdges)+len(r.NewFailed)+len(r.NewDenied)+len(r.MoreOften) > 0
}

// Removed reports whether something of BASE is missing from NEW.
func (r *Result) Removed() bool {
	return len(r.GonePrograms)+len(r.GoneEdges)+len(r.LessOften) > 0
}

// side is what one log ran.
type side struct {
	programs map[runlog.Program]int
	edges    map[Edge]int
	failed   map[Failure]int
	denied   map[Failure]int
	examples map[any]*Example // NEW only: first example of what BASE lacks
}

func newSide() *side {
	return &side{programs: map[runlog.Program]int{}, edges: map[Edge]int{},
		failed: map[Failure]int{}, denied: map[Failure]int{}, examples: map[any]*Example{}}
}

// keys of an exec in the side's maps.
func keyOf(e *runlog.Exec) any {
	switch {
	case e.Denied:
		return deniedKey(Failure{e.Program, "EPERM"})
	case e.Error != "":
		return Failure{e.Program, e.Error}
	}
	return Edge{e.Parent, e.Program}
}

type deniedKey Failure

func (s *side) add(e *runlog.Exec) {
	switch k := keyOf(e).(type) {
	case deniedKey:
		s.denied[Failure(k)]++
	case Failure:
		s.failed[k]++
	case Edge:
		s.edges[k]++
		s.programs[e.Program]++
	}
}

func (s *side) has(k any) bool {
	switch k := k.(type) {
	case deniedKey:
		return s.denied[Failure(k)] > 0
	case Failure:
		return s.failed[k] > 0
	case Edge:
		return s.edges[k] > 0
	}
	return false
}

// Input is one log to compare: its name in the result and its records.
type Input struct {
	Name string
	R    io.Reader
}

// Compare reads both logs and compares them. The readers are read to the
// end; an error means a log holds no record (or cannot be read at all).
func Compare(base, nw Input, o Options) (*Result, error) {
	baseName, newName := base.Name, nw.Name
	res := &Result{Base: LogInfo{Name: baseName}, New: LogInfo{Name: newName}}
	b := newSide()
	st, l, err := runlog.Scan(base.R, o.Normalize, nil, b.add)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", baseName, runlog.Trouble(l, err))
	}
	res.Base = info(baseName, st)
	n := newSide()
	// An example, with its ancestors, of the first occurrence of each
	// thing BASE lacks; a new program's is that of its first edge.
	wanted := false
	want := func(e *runlog.Exec) bool {
		k := keyOf(e)
		wanted = !b.has(k) && !n.has(k)
		return wanted
	}
	st, l, err = runlog.Scan(nw.R, o.Normalize, want, func(e *runlog.Exec) {
		if wanted {
			wanted = false
			k := keyOf(e)
			ex := &Example{PID: e.PID, Line: e.Line, Argv: e.Argv, Ancestors: e.Ancestors}
			if ex.Ancestors == nil {
				ex.Ancestors = []runlog.Frame{}
			}
			n.examples[k] = ex
			if _, ok := k.(Edge); ok && n.programs[e.Program] == 0 {
				n.examples[e.Program] = ex
			}
		}
		n.add(e)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %s", newName, runlog.Trouble(l, err))
	}
	res.New = info(newName, st)

	onlyIn(n.programs, b.programs, func(p runlog.Program, c int) {
		res.NewPrograms = append(res.NewPrograms, ProgramCount{p, c, n.examples[p]})
	})
	onlyIn(b.programs, n.programs, func(p runlog.Program, c int) {
		res.GonePrograms = append(res.GonePrograms, ProgramCount{Program: p, Count: c})
	})
	onlyIn(n.edges, b.edges, func(e Edge, c int) {
		res.NewEdges = append(res.NewEdges, EdgeCount{e, c, n.examples[e]})
	})
	onlyIn(b.edges, n.edges, func(e Edge, c int) {
		res.GoneEdges = append(res.GoneEdges, EdgeCount{Edge: e, Count: c})
	})
	onlyIn(n.failed, b.failed, func(f Failure, c int) {
		res.NewFailed = append(res.NewFailed, FailureCount{f, c, n.examples[f]})
	})
	onlyIn(n.denied, b.denied, func(f Failure, c int) {
		res.NewDenied = append(res.NewDenied, FailureCount{f, c, n.examples[deniedKey(f)]})
	})
	if o.CountFactor > 1 {
		res.CountFactor = o.CountFactor
		for p, nc := range n.programs {
			bc := b.programs[p]
			switch {
			case bc == 0:
			case float64(nc) > float64(bc)*o.CountFactor:
				res.MoreOften = append(res.MoreOften, CountChange{p, bc, nc})
			case float64(bc) > float64(nc)*o.CountFactor:
				res.LessOften = append(res.LessOften, CountChange{p, bc, nc})
			}
		}
	}
	sortResult(res)
	return res, nil
}

// onlyIn calls f for every key counted in a and not in b, with its count
// in a.
func onlyIn[K comparable](a, b map[K]int, f func(K, int)) {
	for k, c := range a {
		if b[k] == 0 {
			f(k, c)
		}
	}
}

func info(name string, st runlog.Stats) LogInfo {
	return LogInfo{Name: name, Records: st.Records, Processes: st.Processes, Execs: st.Execs, Backend: st.Backend, Malformed: st.Malformed}
}

func sortResult(r *Result) {
	progs := func(s []ProgramCount) {
		sort.Slice(s, func(i, j int) bool { return s[i].Program.String() < s[j].Program.String() })
	}
	edges := func(s []EdgeCount) {
		sort.Slice(s, func(i, j int) bool {
			a, b := s[i], s[j]
			if a.Child != b.Child {
				return a.Child.String() < b.Child.String()
			}
			return a.Parent.String() < b.Parent.String()
		})
	}
	fails := func(s []FailureCount) {
		sort.Slice(s, func(i, j int) bool {
			a, b := s[i], s[j]
			if a.Program != b.Program {
				return a.Program.String() < b.Program.String()
			}
			return a.Error < b.Error
		})
	}
	counts := func(s []CountChange) {
		sort.Slice(s, func(i, j int) bool { return s[i].Program.String() < s[j].Program.String() })
	}
	progs(r.NewPrograms)
	progs(r.GonePrograms)
	edges(r.NewEdges)
	edges(r.GoneEdges)
	fails(r.NewFailed)
	fails(r.NewDenied)
	counts(r.MoreOften)
	counts(r.LessOften)
}
