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

// WriteText writes the comparison for a terminal.
func (r *Result) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "exectrail diff %s %s: %s\n", r.Base.Name, r.New.Name, r.Headline())
	section := func(title string, n int) bool {
		if n == 0 {
			return false
		}
		fmt.Fprintf(bw, "\n%s (%d)\n", title, n)
		return true
	}
	chain := func(ex *Example, leaf runlog.Program, what string) {
		if ex == nil {
			return
		}
		for _, l := range chainLines(ex, leaf, what) {
			fmt.Fprintf(bw, "      %s\n", l)
		}
	}
	if section("New programs", len(r.NewPrograms)) {
		for _, p := range r.NewPrograms {
			fmt.Fprintf(bw, "  + %s  (%s)\n", p.Program, times(p.Count))
		}
	}
	if section("New edges, parent → child, with the first one's ancestors", len(r.NewEdges)) {
		for _, e := range r.NewEdges {
			fmt.Fprintf(bw, "  + %s → %s  (%s)\n", progName(e.Parent), e.Child, times(e.Count))
			chain(e.Example, e.Child, "")
		}
	}
	for _, s := range []struct {
		title string
		list  []FailureCount
	}{{"New failed execs", r.NewFailed}, {"New refused execs", r.NewDenied}} {
		if section(s.title, len(s.list)) {
			for _, f := range s.list {
				fmt.Fprintf(bw, "  + %s  %s  (%s)\n", f.Program, f.Error, times(f.Count))
				chain(f.Example, f.Program, "✗ "+f.Error)
			}
		}
	}
	if section(fmt.Sprintf("Ran more than %g times as often", r.CountFactor), len(r.MoreOften)) {
		for _, c := range r.MoreOften {
			fmt.Fprintf(bw, "  + %s  %d → %d\n", c.Program, c.Base, c.New)
		}
	}
	if section("Programs gone", len(r.GonePrograms)) {
		for _, p := range r.GonePrograms {
			fmt.Fprintf(bw, "  - %s  (%s in %s)\n", p.Program, times(p.Count), r.Base.Name)
		}
	}
	if section("Edges gone", len(r.GoneEdges)) {
		for _, e := range r.GoneEdges {
			fmt.Fprintf(bw, "  - %s → %s  (%s in %s)\n", progName(e.Parent), e.Child, times(e.Count), r.Base.Name)
		}
	}
	if section(fmt.Sprintf("Ran less than 1/%g as often", r.CountFactor), len(r.LessOften)) {
		for _, c := range r.LessOften {
			fmt.Fprintf(bw, "  - %s  %d → %d\n", c.Program, c.Base, c.New)
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
	section := func(title string, n int) bool {
		if n == 0 {
			return false
		}
		fmt.Fprintf(bw, "\n#### %s (%d)\n\n", title, n)
		return true
	}
	chain := func(ex *Example, leaf runlog.Program, what string) {
		if ex == nil {
			return
		}
		fmt.Fprintf(bw, "\n  <details><summary>where</summary>\n\n  <pre>\n")
		for _, l := range chainLines(ex, leaf, what) {
			fmt.Fprintf(bw, "  %s\n", esc(l))
		}
		fmt.Fprintf(bw, "  </pre>\n  </details>\n\n")
	}
	if section("New programs", len(r.NewPrograms)) {
		for _, p := range r.NewPrograms {
			fmt.Fprintf(bw, "- %s (%s)\n", code(p.Program.String()), times(p.Count))
		}
	}
	if section("New edges", len(r.NewEdges)) {
		for _, e := range r.NewEdges {
			fmt.Fprintf(bw, "- %s → %s (%s)\n", code(progName(e.Parent)), code(e.Child.String()), times(e.Count))
			chain(e.Example, e.Child, "")
		}
	}
	for _, s := range []struct {
		title string
		list  []FailureCount
	}{{"New failed execs", r.NewFailed}, {"New refused execs", r.NewDenied}} {
		if section(s.title, len(s.list)) {
			for _, f := range s.list {
				fmt.Fprintf(bw, "- %s %s (%s)\n", code(f.Program.String()), esc(f.Error), times(f.Count))
				chain(f.Example, f.Program, "✗ "+f.Error)
			}
		}
	}
	table := func(title string, list []CountChange) {
		if section(title, len(list)) {
			fmt.Fprintf(bw, "| program | %s | %s |\n|---|---:|---:|\n", esc(r.Base.Name), esc(r.New.Name))
			for _, c := range list {
				fmt.Fprintf(bw, "| %s | %d | %d |\n", code(c.Program.String()), c.Base, c.New)
			}
		}
	}
	table(fmt.Sprintf("Ran more than %g times as often", r.CountFactor), r.MoreOften)
	if section("Programs gone", len(r.GonePrograms)) {
		for _, p := range r.GonePrograms {
			fmt.Fprintf(bw, "- %s (%s before)\n", code(p.Program.String()), times(p.Count))
		}
	}
	if section("Edges gone", len(r.GoneEdges)) {
		for _, e := range r.GoneEdges {
			fmt.Fprintf(bw, "- %s → %s (%s before)\n", code(progName(e.Parent)), code(e.Child.String()), times(e.Count))
		}
	}
	table(fmt.Sprintf("Ran less than 1/%g as often", r.CountFactor), r.LessOften)
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
