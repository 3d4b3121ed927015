package diff

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/runlog"
)

// maxArgv bounds the argv shown on one line of a chain.
const maxArgv = 120

// Headline is the one-line verdict.
func (r *Result) Headline() string {
	if !r.Added() && !r.Removed() {
		return fmt.Sprintf("no change: %s ran the same programs as %s", r.New.Name, r.Base.Name)
	}
	var parts []string
	add := func(n int, one, many string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, one, many)))
		}
	}
	add(len(r.NewPrograms), "new program", "new programs")
	add(len(r.NewEdges), "new edge", "new edges")
	add(len(r.NewFailed), "new failed exec", "new failed execs")
	add(len(r.NewDenied), "new refused exec", "new refused execs")
	add(len(r.MoreOften), "program ran more often", "programs ran more often")
	add(len(r.GonePrograms), "program gone", "programs gone")
	add(len(r.GoneEdges), "edge gone", "edges gone")
	add(len(r.LessOften), "program ran less often", "programs ran less often")
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func progName(p runlog.Program) string {
	if p.IsZero() {
		return "(exectrail)"
	}
	return p.String()
}

func times(n int) string {
	if n == 1 {
		return "1 exec"
	}
	return fmt.Sprintf("%d execs", n)
}

// quoteArgv renders argv as a shell would read it, at most maxArgv bytes.
func quoteArgv(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`|&;<>()*?[]{}!#~") {
			b.WriteString(a)
		} else {
			b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
		}
		if b.Len() > maxArgv {
			break
		}
	}
	s := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, b.String())
	if len(s) > maxArgv {
		cut := maxArgv
		for cut > 0 && (s[cut]&0xc0) == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// chainLines renders an example as its ancestors and the new exec, one
// line each, indented as a tree.
func chainLines(ex *Example, leaf runlog.Program, what string) []string {
	var out []string
	depth := 0
	for _, f := range ex.Ancestors {
		out = append(out, fmt.Sprintf("%s%s  %s  [pid %d]", indent(depth), f.Program.String(), quoteArgv(f.Argv), f.PID))
		depth++
	}
	line := fmt.Sprintf("%s%s  %s  [pid %d, line %d]", indent(depth), leaf.String(), quoteArgv(ex.Argv), ex.PID, ex.Line)
	if what != "" {
		line += "  " + what
	}
	return append(out, line)
}

func indent(depth int) string {
	if depth == 0 {
		return ""
	}
	return strings.Repeat("   ", depth-1) + "└─ "
}

// section is one list of a comparison, as every rendering shows it: the
// entries, or (MoreOften, LessOften) the count changes.
type section struct {
	title, short string // short: markdown's title, when not title
	entries      []entry
	changes      []CountChange
	sign         string // of the count changes
}

// entry is one line of a section: + or -, the program (or parent and
// child), the errno, the count (gone: in BASE), and where the first one
// happened.
type entry struct {
	sign  string
	progs []string
	errno string
	count int
	gone  bool
	ex    *Example
	leaf  runlog.Program
	what  string
}

// sections are the lists of r, in the order both renderings show them.
func (r *Result) sections() []section {
	var ss []section
	add := func(s section) {
		if len(s.entries)+len(s.changes) > 0 {
			ss = append(ss, s)
		}
	}
	s := section{title: "New programs"}
	for _, p := range r.NewPrograms {
		s.entries = append(s.entries, entry{sign: "+", progs: []string{p.Program.String()}, count: p.Count})
	}
	add(s)
	s = section{title: "New edges, parent → child, with the first one's ancestors", short: "New edges"}
	for _, e := range r.NewEdges {
		s.entries = append(s.entries, entry{sign: "+", progs: []string{progName(e.Parent), e.Child.String()}, count: e.Count, ex: e.Example, leaf: e.Child})
	}
	add(s)
	for _, f := range []struct {
		title string
		list  []FailureCount
	}{{"New failed execs", r.NewFailed}, {"New refused execs", r.NewDenied}} {
		s = section{title: f.title}
		for _, f := range f.list {
			s.entries = append(s.entries, entry{sign: "+", progs: []string{f.Program.String()}, errno: f.Error, count: f.Count, ex: f.Example, leaf: f.Program, what: "✗ " + f.Error})
		}
		add(s)
	}
	add(section{title: fmt.Sprintf("Ran more than %g times as often", r.CountFactor), changes: r.MoreOften, sign: "+"})
	s = section{title: "Programs gone"}
	for _, p := range r.GonePrograms {
		s.entries = append(s.entries, entry{sign: "-", progs: []string{p.Program.String()}, count: p.Count, gone: true})
	}
	add(s)
	s = section{title: "Edges gone"}
	for _, e := range r.GoneEdges {
		s.entries = append(s.entries, entry{sign: "-", progs: []string{progName(e.Parent), e.Child.String()}, count: e.Count, gone: true})
	}
	add(s)
	add(section{title: fmt.Sprintf("Ran less than 1/%g as often", r.CountFactor), changes: r.LessOften, sign: "-"})
	return ss
}

// WriteText writes the comparison for a terminal.
func (r *Result) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "exectrail diff %s %s: %s\n", r.Base.Name, r.New.Name, r.Headline())
	for _, s := range r.sections() {
		fmt.Fprintf(bw, "\n%s (%d)\n", s.title, len(s.entries)+len(s.changes))
		for _, e := range s.entries {
			line := "  " + e.sign + " " + strings.Join(e.progs, " → ")
			if e.errno != "" {
				line += "  " + e.errno
			}
			count := times(e.count)
			if e.gone {
				count += " in " + r.Base.Name
			}
			fmt.Fprintf(bw, "%s  (%s)\n", line, count)
			if e.ex != nil {
				for _, l := range chainLines(e.ex, e.leaf, e.what) {
					fmt.Fprintf(bw, "      %s\n", l)
				}
			}
		}
		for _, c := range s.changes {
			fmt.Fprintf(bw, "  %s %s  %d → %d\n", s.sign, c.Program, c.Base, c.New)
		}
	}
	return bw.Flush()
}

// WriteMarkdown writes the comparison as GitHub-flavoured markdown, for a
// step summary.
func (r *Result) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	esc := html.EscapeString
	code := func(s string) string { return "<code>" + esc(s) + "</code>" }
	fmt.Fprintf(bw, "### exectrail diff\n\n%s → %s: **%s**\n", code(r.Base.Name), code(r.New.Name), esc(r.Headline()))
	for _, s := range r.sections() {
		title := s.title
		if s.short != "" {
			title = s.short
		}
		fmt.Fprintf(bw, "\n#### %s (%d)\n\n", title, len(s.entries)+len(s.changes))
		for _, e := range s.entries {
			progs := make([]string, len(e.progs))
			for i, p := range e.progs {
				progs[i] = code(p)
			}
			line := "- " + strings.Join(progs, " → ")
			if e.errno != "" {
				line += " " + esc(e.errno)
			}
			count := times(e.count)
			if e.gone {
				count += " before"
			}
			fmt.Fprintf(bw, "%s (%s)\n", line, count)
			if e.ex != nil {
				fmt.Fprintf(bw, "\n  <details><summary>where</summary>\n\n  <pre>\n")
				for _, l := range chainLines(e.ex, e.leaf, e.what) {
					fmt.Fprintf(bw, "  %s\n", esc(l))
				}
				fmt.Fprintf(bw, "  </pre>\n  </details>\n\n")
			}
		}
		if len(s.changes) > 0 {
			fmt.Fprintf(bw, "| program | %s | %s |\n|---|---:|---:|\n", esc(r.Base.Name), esc(r.New.Name))
			for _, c := range s.changes {
				fmt.Fprintf(bw, "| %s | %d | %d |\n", code(c.Program.String()), c.Base, c.New)
			}
		}
	}
	return bw.Flush()
}

// WriteJSON writes the comparison as one JSON object; lists are [] when
// empty, never null.
func (r *Result) WriteJSON(w io.Writer) error {
	out := *r
	out.NewPrograms = nonNil(out.NewPrograms)
	out.GonePrograms = nonNil(out.GonePrograms)
	out.NewEdges = nonNil(out.NewEdges)
	out.GoneEdges = nonNil(out.GoneEdges)
	out.NewFailed = nonNil(out.NewFailed)
	out.NewDenied = nonNil(out.NewDenied)
	type withVerdict struct {
		Same    bool `json:"same"`
		Added   bool `json:"added"`
		Removed bool `json:"removed"`
		*Result
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(withVerdict{!r.Added() && !r.Removed(), r.Added(), r.Removed(), &out})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
