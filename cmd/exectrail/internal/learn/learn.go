package learn

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/runlog"
)

// Source is one log a policy was learned from.
type Source struct {
	Name  string
	Stats runlog.Stats
}

// Entry is one allow line.
type Entry struct {
	Pattern string
	// Paths are the normalised paths it stands for (one, unless a
	// normalisation made it a glob), Execs how often they ran, Script
	// whether it is a script's interpreter.
	Paths  []string
	Execs  int
	Interp bool
	// Fileless: a memfd or deleted program, admitted because a log shows
	// it running.
	Fileless bool
	// Writable names a world-writable directory above it (on this
	// machine), where anyone could have put the program.
	Writable string
}

// Policy is a learned policy.
type Policy struct {
	Sources   []Source
	Normalize []string
	Entries   []Entry
	When      time.Time
}

// Learner collects programs from logs.
type Learner struct {
	norm      *runlog.Normalizer
	normSpecs []string
	sources   []Source
	entries   map[string]*Entry
}

// New returns a Learner that normalises with norm (specs are its rules as
// given, for the header).
func New(norm *runlog.Normalizer, specs []string) *Learner {
	return &Learner{norm: norm, normSpecs: specs, entries: map[string]*Entry{}}
}

// Add reads one log.
func (l *Learner) Add(name string, r io.Reader) error {
	st, lg, err := runlog.Scan(r, nil, nil, func(e *runlog.Exec) {
		if !e.Ran() {
			return
		}
		l.add(e.Program.Executable, false)
		if e.Program.Interpreter != "" {
			l.add(e.Program.Interpreter, true)
		}
	})
	if err != nil {
		return fmt.Errorf("%s: %s", name, runlog.Trouble(lg, err))
	}
	l.sources = append(l.sources, Source{name, st})
	return nil
}

func (l *Learner) add(p string, interp bool) {
	if p == "" {
		return
	}
	pat, _ := l.norm.ApplyGlob(p)
	e := l.entries[pat]
	if e == nil {
		e = &Entry{Pattern: pat}
		l.entries[pat] = e
		e.Fileless = strings.HasPrefix(p, "/memfd:") || strings.HasSuffix(p, " (deleted)") || !strings.HasPrefix(p, "/")
		if !e.Fileless {
			e.Writable = worldWritable(path.Dir(p))
		}
	}
	if len(e.Paths) < 5 && !contains(e.Paths, p) {
		e.Paths = append(e.Paths, p)
	}
	if interp {
		e.Interp = true
	} else {
		e.Execs++
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// worldWritable returns the nearest directory at or above dir that anyone
// may write to (mode o+w), or "".
func worldWritable(dir string) string {
	for d := dir; ; d = path.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o002 != 0 {
			return d
		}
		if d == "/" || d == "." {
			return ""
		}
	}
}

// Policy returns what was learned, entries sorted by pattern.
func (l *Learner) Policy(now time.Time) *Policy {
	p := &Policy{Sources: l.sources, Normalize: l.normSpecs, When: now}
	for _, e := range l.entries {
		p.Entries = append(p.Entries, *e)
	}
	sort.Slice(p.Entries, func(i, j int) bool { return p.Entries[i].Pattern < p.Entries[j].Pattern })
	return p
}

// Write writes the policy in the --policy format.
func (p *Policy) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# exectrail policy learned by `exectrail policy learn` at %s from:\n", p.When.UTC().Format("2006-01-02 15:04:05 UTC"))
	for _, s := range p.Sources {
		be := ""
		if s.Stats.Backend != "" {
			be = ", " + s.Stats.Backend + " backend"
		}
		fmt.Fprintf(bw, "#   %s (%d records, %d processes, %d execs%s)\n", oneLine(s.Name), s.Stats.Records, s.Stats.Processes, s.Stats.Execs, be)
	}
	for _, n := range p.Normalize {
		fmt.Fprintf(bw, "# normalised with --normalize %s\n", oneLine(n))
	}
	fmt.Fprintf(bw, "#\n# It allows exactly the executables, and script interpreters, that ran in\n"+
		"# those logs; every other program is refused, and so are programs without a\n"+
		"# file (memfd, deleted) unless listed. Failed and refused execs of the logs\n"+
		"# are not allowed. Use it with:\n"+
		"#   exectrail run --policy job.policy -- COMMAND\n\n")
	for _, e := range p.Entries {
		var notes []string
		if e.Interp && e.Execs == 0 {
			notes = append(notes, "script interpreter")
		} else if e.Interp {
			notes = append(notes, "also a script interpreter")
		}
		if e.Execs > 0 {
			notes = append(notes, fmt.Sprintf("%d %s", e.Execs, plural(e.Execs, "exec", "execs")))
		}
		if len(e.Paths) > 1 || (len(e.Paths) == 1 && runlog.EscapeGlob(e.Paths[0]) != e.Pattern) {
			notes = append(notes, "normalised from "+strings.Join(e.Paths, ", "))
		}
		if e.Fileless {
			fmt.Fprintf(bw, "# a program without a file: the logs show it running\n")
		}
		if e.Writable != "" {
			fmt.Fprintf(bw, "# %s is world-writable here: anyone on the machine can put a program there\n", oneLine(e.Writable))
		}
		fmt.Fprintf(bw, "allow %s  # %s\n", e.Pattern, oneLine(strings.Join(notes, "; ")))
	}
	return bw.Flush()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// oneLine keeps a comment on its line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
