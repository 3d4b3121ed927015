package report

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"

	"github.com/exectrail/exectrail/supervisor/record"
)

// MarkdownOptions shape the markdown report.
type MarkdownOptions struct {
	Top int // rows per table; 0 means 10
	// Tree options for the process tree at the end; its MaxLines is 40
	// when 0 (use -1 for all).
	Tree TreeOptions
}

// WriteMarkdown writes the summary and the top of the tree as
// GitHub-flavoured markdown, for $GITHUB_STEP_SUMMARY and the like.
func (l *Log) WriteMarkdown(w io.Writer, o MarkdownOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	top := SummaryOptions{Top: o.Top}.top()
	d := l.digest(top)
	allExits := l.HasAllExits()

	fmt.Fprintln(bw, "### exectrail report")
	fmt.Fprintln(bw)
	if root := l.Root(); root != nil {
		cmd := argvText(root)
		if cmd == "" {
			cmd = label(root)
		}
		fmt.Fprintf(bw, "%s — %s after %s\n\n", mdCode(cut(cmd, 200)), exitWord(root, allExits), durationText(root))
	}
	fmt.Fprintln(bw, mdText(l.Headline())+".")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "| processes | executables | exec attempts | failed | denied | non-zero exits |")
	fmt.Fprintln(bw, "|---:|---:|---:|---:|---:|---:|")
	attempts := strconv.Itoa(l.ExecAttempts)
	if l.PathMisses > 0 {
		attempts += fmt.Sprintf(" (%d PATH %s)", l.PathMisses, plural(l.PathMisses, "miss", "misses"))
	}
	fmt.Fprintf(bw, "| %d | %d | %s | %d | %d | %d |\n", len(l.Processes), d.distinct, attempts, l.FailedExecs, l.DeniedExecs, l.NonZeroExits)

	if len(d.byCount) > 0 {
		mdTable(bw, "Top executables", "executable", "execs:", "total time:")
		for _, s := range d.byCount {
			fmt.Fprintf(bw, "| %s | %d | %s |\n", mdCode(s.Exe), s.Execs, mdText(exeTime(s)))
		}
	}
	if len(d.byTime) > 0 {
		mdTable(bw, "Top executables by total time", "executable", "total time:", "processes:")
		for _, s := range d.byTime {
			fmt.Fprintf(bw, "| %s | %s | %d |\n", mdCode(s.Exe), mdText(exeTime(s)), s.Procs)
		}
	}
	if len(d.longest) > 0 {
		mdTable(bw, "Longest-running processes", "time:", "pid:", "exit:", "process")
		for _, p := range d.longest {
			fmt.Fprintf(bw, "| %s | %d | %s | %s |\n", durationText(p), p.PID, mdText(exitText(p, allExits)), mdCode(cut(processText(p), 160)))
		}
	}
	if l.NonZeroExits > 0 {
		mdTable(bw, fmt.Sprintf("Non-zero exits (%d)", l.NonZeroExits), "exit:", "pid:", "time:", "process")
		for _, p := range d.nonZero {
			fmt.Fprintf(bw, "| %s | %d | %s | %s |\n", mdText(exitText(p, allExits)), p.PID, durationText(p), mdCode(cut(processText(p), 160)))
		}
		if more := l.NonZeroExits - len(d.nonZero); more > 0 {
			fmt.Fprintf(bw, "\n… and %d more.\n", more)
		}
	}
	if n := l.FailedExecs + l.DeniedExecs; n > 0 {
		mdTable(bw, fmt.Sprintf("Failed and denied execs (%d)", n), "at:", "pid:", "error", "target")
		for _, r := range d.attempts {
			e := r.a.Error
			if r.a.Denied {
				e = "**denied**"
			} else {
				e = mdText(e)
			}
			fmt.Fprintf(bw, "| %s | %d | %s | %s |\n", offset(r.a.Time, l.First), r.p.PID, e, mdCode(r.a.Target()))
		}
		if more := n - len(d.attempts); more > 0 {
			fmt.Fprintf(bw, "\n… and %d more.\n", more)
		}
	}

	to := o.Tree
	switch {
	case to.MaxLines == 0:
		to.MaxLines = 40
	case to.MaxLines < 0:
		to.MaxLines = 0
	}
	to.NoNotes = true
	var tree bytes.Buffer
	l.writeTreeLines(&tree, to)
	fence := "```"
	for strings.Contains(tree.String(), fence) {
		fence += "`"
	}
	fmt.Fprintln(bw)
	fmt.Fprintf(bw, "<details><summary>Process tree (%d %s)</summary>\n\n", len(l.Processes), plural(len(l.Processes), "process", "processes"))
	fmt.Fprintln(bw, fence+"text")
	bw.Write(tree.Bytes())
	fmt.Fprintln(bw, fence)
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "</details>")

	if notes := l.Notes(); len(notes) > 0 {
		fmt.Fprintln(bw)
		for _, n := range notes {
			fmt.Fprintln(bw, "> "+mdText(n))
			fmt.Fprintln(bw, ">")
		}
	}
	return bw.Flush()
}

// mdCode shows s as inline code that is safe in a table cell: an HTML
// code element, escaped, with | as an entity and control characters
// escaped.
func mdCode(s string) string {
	s = html.EscapeString(record.PrintableString(s))
	s = strings.ReplaceAll(s, "|", "&#124;")
	s = strings.ReplaceAll(s, "`", "&#96;")
	return "<code>" + s + "</code>"
}

// mdText escapes s as markdown text that is safe in a table cell.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range record.PrintableString(s) {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '~':
			b.WriteString("&#" + strconv.Itoa(int(r)) + ";")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdTable starts a table under a heading, after a blank line: the
// heading, the header row and the alignment row. A column named with a
// final ":" is aligned right.
func mdTable(w io.Writer, heading string, cols ...string) {
	head, align := "|", "|"
	for _, c := range cols {
		name, right := strings.CutSuffix(c, ":")
		head += " " + name + " |"
		if right {
			align += "---:|"
		} else {
			align += "---|"
		}
	}
	fmt.Fprintf(w, "\n#### %s\n\n%s\n%s\n", heading, head, align)
}
