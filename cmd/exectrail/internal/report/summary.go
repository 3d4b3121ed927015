package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/exectrail/exectrail/supervisor/record"
)

// SummaryOptions shape the summary.
type SummaryOptions struct {
	Top   int // rows per table; 0 means 10
	Width int // fold lines to this many columns; 0 means no limit
}

func (o SummaryOptions) top() int {
	if o.Top <= 0 {
		return 10
	}
	return o.Top
}

// attemptRef is a failed or refused exec and the process that made it.
type attemptRef struct {
	p *Process
	a Attempt
}

// digest is what the summary and the markdown show.
type digest struct {
	distinct int
	byCount  []*ExeStats
	byTime   []*ExeStats
	timed    int // processes whose time is known
	longest  []*Process
	nonZero  []*Process
	attempts []attemptRef
	attemptN int // attempts kept in the model (attempts lists the first top)
}

func (l *Log) digest(top int) *digest {
	d := &digest{distinct: len(l.Exes)}
	d.byCount = l.Exes[:min(top, len(l.Exes))]
	var timed []*ExeStats
	for _, s := range l.Exes {
		if s.Timed > 0 {
			timed = append(timed, s)
		}
	}
	sort.SliceStable(timed, func(i, j int) bool {
		if timed[i].TimeMS != timed[j].TimeMS {
			return timed[i].TimeMS > timed[j].TimeMS
		}
		return timed[i].Exe < timed[j].Exe
	})
	d.byTime = timed[:min(top, len(timed))]

	// The longest processes: keep the top in a small sorted slice, so
	// this stays linear in the number of processes.
	for _, p := range l.Processes {
		dur, ok := p.Duration()
		if !ok {
			continue
		}
		d.timed++
		if len(d.longest) == top {
			last, _ := d.longest[top-1].Duration()
			if dur <= last {
				continue
			}
			d.longest = d.longest[:top-1]
		}
		i := sort.Search(len(d.longest), func(i int) bool {
			o, _ := d.longest[i].Duration()
			return o < dur
		})
		d.longest = append(d.longest, nil)
		copy(d.longest[i+1:], d.longest[i:])
		d.longest[i] = p
	}
	for _, p := range l.Processes {
		if p.NonZero() && len(d.nonZero) < top {
			d.nonZero = append(d.nonZero, p)
		}
		for _, a := range p.Attempts {
			d.attemptN++
			d.attempts = append(d.attempts, attemptRef{p, a})
		}
	}
	sort.SliceStable(d.attempts, func(i, j int) bool { return d.attempts[i].a.Line < d.attempts[j].a.Line })
	d.attempts = d.attempts[:min(top, len(d.attempts))]
	return d
}

// exitWord describes how a process ended, for prose.
func exitWord(p *Process, allExits bool) string {
	switch t := exitText(p, allExits); t {
	case "?":
		return "exit unknown"
	case "running":
		return "no exit yet"
	default:
		if p.Signal != "" {
			return "killed by " + t
		}
		return "exit " + t
	}
}

// WriteSummary writes the summary: counts, the top executables by count
// and by time, the longest processes, non-zero exits, failed and refused
// execs, and the notes.
func (l *Log) WriteSummary(w io.Writer, o SummaryOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	top := o.top()
	d := l.digest(top)
	allExits := l.HasAllExits()
	line := func(s string) { fmt.Fprintln(bw, fit(s, o.Width)) }

	line("Summary: " + l.Headline())
	if root := l.Root(); root != nil {
		cmd := argvText(root)
		if cmd == "" {
			cmd = label(root)
		}
		line(fmt.Sprintf("Command: %s  (pid %d, %s, %s)", cmd, root.PID, exitWord(root, allExits), durationText(root)))
	}
	if l.Records > 0 {
		line(fmt.Sprintf("Log: %d %s from %s to %s", l.Records, plural(l.Records, "record", "records"), clock(l.First), clock(l.Last)))
	}
	for _, s := range []string{l.runLine(), l.endLine()} { // trail.go
		if s != "" {
			line(s)
		}
	}
	fmt.Fprintln(bw)
	kv := [][2]string{
		{"processes", strconv.Itoa(len(l.Processes))},
		{"executables", fmt.Sprintf("%d distinct", d.distinct)},
		{"exec attempts", l.attemptsText()},
		{"exits", fmt.Sprintf("%d recorded, %d non-zero (%d by a signal)", l.Exits, l.NonZeroExits, l.Signalled)},
		{"time known", fmt.Sprintf("for %d of %d processes", d.timed, len(l.Processes))},
	}
	for _, r := range kv {
		line(fmt.Sprintf("  %-14s %s", r[0], r[1]))
	}

	if len(d.byCount) > 0 {
		fmt.Fprintln(bw)
		line("Top executables by count")
		rows := [][]string{{"EXECS", "TIME", "EXECUTABLE"}}
		for _, s := range d.byCount {
			rows = append(rows, []string{strconv.Itoa(s.Execs), exeTime(s), record.PrintableString(s.Exe)})
		}
		table(bw, rows, "rr", o.Width)
	}
	if len(d.byTime) > 0 {
		fmt.Fprintln(bw)
		line("Top executables by total time")
		rows := [][]string{{"TIME", "PROCS", "EXECUTABLE"}}
		for _, s := range d.byTime {
			rows = append(rows, []string{exeTime(s), strconv.Itoa(s.Procs), record.PrintableString(s.Exe)})
		}
		table(bw, rows, "rr", o.Width)
	}
	if len(d.longest) > 0 {
		fmt.Fprintln(bw)
		line("Longest-running processes")
		rows := [][]string{{"TIME", "PID", "EXIT", "PROCESS"}}
		for _, p := range d.longest {
			rows = append(rows, []string{durationText(p), strconv.Itoa(p.PID), exitText(p, allExits), processText(p)})
		}
		table(bw, rows, "rrr", o.Width)
	}
	if l.NonZeroExits > 0 {
		fmt.Fprintln(bw)
		line(fmt.Sprintf("Non-zero exits (%d)", l.NonZeroExits))
		rows := [][]string{{"EXIT", "PID", "TIME", "PROCESS"}}
		for _, p := range d.nonZero {
			rows = append(rows, []string{exitText(p, allExits), strconv.Itoa(p.PID), durationText(p), processText(p)})
		}
		table(bw, rows, "rrr", o.Width)
		if more := l.NonZeroExits - len(d.nonZero); more > 0 {
			line(fmt.Sprintf("  … %d more", more))
		}
	}
	if n := l.FailedExecs + l.DeniedExecs; n > 0 {
		fmt.Fprintln(bw)
		line(fmt.Sprintf("Failed and denied execs (%d)", n))
		rows := [][]string{{"AT", "PID", "ERROR", "TARGET"}}
		for _, r := range d.attempts {
			e := r.a.Error
			if r.a.Denied {
				e = "denied"
			}
			rows = append(rows, []string{offset(r.a.Time, l.First), strconv.Itoa(r.p.PID), e, shellQuote(r.a.Target())})
		}
		table(bw, rows, "rrl", o.Width)
		if more := n - len(d.attempts); more > 0 {
			line(fmt.Sprintf("  … %d more", more))
		}
	}
	if notes := l.Notes(); len(notes) > 0 {
		fmt.Fprintln(bw)
		for _, n := range notes {
			fmt.Fprintln(bw, "note: "+n)
		}
	}
	return bw.Flush()
}

// attemptsText sums up the exec attempts: how many ran, failed, were
// refused, or were the misses of a PATH search that found its program.
func (l *Log) attemptsText() string {
	ran := l.ExecAttempts - l.FailedExecs - l.DeniedExecs - l.PathMisses
	s := fmt.Sprintf("%d: %d ran, %d failed, %d denied", l.ExecAttempts, ran, l.FailedExecs, l.DeniedExecs)
	if l.PathMisses > 0 {
		s += fmt.Sprintf(", %d missed in a PATH search", l.PathMisses)
	}
	return s
}

func exeTime(s *ExeStats) string {
	if s.Timed == 0 {
		return "?"
	}
	t := formatMS(s.TimeMS)
	if s.Timed < s.Procs {
		t += fmt.Sprintf(" (%d of %d)", s.Timed, s.Procs)
	}
	return t
}

// processText is a process's label and argv on one line.
func processText(p *Process) string {
	if a := argvText(p); a != "" {
		return label(p) + "  " + a
	}
	return label(p)
}

// table writes rows with columns aligned: the first row is the header;
// align says, per column but the last, "r" for right-aligned (numbers)
// or "l"; the last column is free text cut to width.
func table(w io.Writer, rows [][]string, align string, width int) {
	n := len(rows[0])
	widths := make([]int, n)
	for _, r := range rows {
		for i, c := range r[:n-1] {
			widths[i] = max(widths[i], runeLen(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			pad := ""
			if i < n-1 {
				pad = strings.Repeat(" ", widths[i]-runeLen(c))
			}
			switch {
			case i == n-1:
				b.WriteString(c)
			case i < len(align) && align[i] == 'r':
				b.WriteString(pad + c + "  ")
			default:
				b.WriteString(c + pad + "  ")
			}
		}
		fmt.Fprintln(w, fit(strings.TrimRight(b.String(), " "), width))
	}
}
