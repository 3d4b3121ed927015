package report

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// TreeOptions shape the process tree.
type TreeOptions struct {
	// Width folds each line to this many columns, shortening argv
	// first; 0 means no limit.
	Width int
	// Depth shows this many levels (1: the roots only); 0 means all.
	Depth int
	// Filter, a path.Match pattern, shows only the processes whose
	// executable (or a failed or refused exec) matches it, with their
	// ancestors. A pattern with a slash matches whole paths, one without
	// matches base names.
	Filter string
	// MaxLines stops after this many processes; 0 means no limit.
	MaxLines int
	// NoNotes leaves out the headline and the notes.
	NoNotes bool
}

// CheckFilter reports whether a --filter pattern is well formed.
func CheckFilter(pattern string) error {
	if _, err := path.Match(pattern, ""); err != nil {
		return fmt.Errorf("bad pattern %q: %w", pattern, err)
	}
	return nil
}

func matchName(pattern, name string) bool {
	if name == "" {
		return false
	}
	if !strings.Contains(pattern, "/") {
		name = path.Base(name)
	}
	ok, _ := path.Match(pattern, name)
	return ok
}

func (p *Process) matches(pattern string) bool {
	if matchName(pattern, p.Exe) {
		return true
	}
	for _, e := range p.Prev {
		if matchName(pattern, e) {
			return true
		}
	}
	for _, a := range p.Attempts {
		if matchName(pattern, a.Executable) || matchName(pattern, a.Path) {
			return true
		}
	}
	return false
}

// treeIndent is the deepest level drawn with one column of guides per
// level; deeper lines show their depth as a number instead.
const treeIndent = 24

// WriteTree writes the process tree.
func (l *Log) WriteTree(w io.Writer, o TreeOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if !o.NoNotes {
		fmt.Fprintln(bw, l.Headline())
		fmt.Fprintln(bw)
	}
	l.writeTreeLines(bw, o)
	if !o.NoNotes {
		if notes := l.Notes(); len(notes) > 0 {
			fmt.Fprintln(bw)
			for _, n := range notes {
				fmt.Fprintln(bw, "note: "+n)
			}
		}
	}
	return bw.Flush()
}

// writeTreeLines writes the column header and one line per process.
func (l *Log) writeTreeLines(w io.Writer, o TreeOptions) {
	var keep []bool
	if o.Filter != "" {
		keep = make([]bool, len(l.Processes))
		for _, p := range l.Processes {
			if !p.matches(o.Filter) {
				continue
			}
			for q := p; q != nil && !keep[q.index]; q = q.Parent {
				keep[q.index] = true
			}
		}
	}
	allExits := l.HasAllExits()
	notify := l.Backend == "notify"
	pidW, timeW, exitW := len("PID"), len("TIME"), len("EXIT")
	for _, p := range l.Processes {
		if keep != nil && !keep[p.index] {
			continue
		}
		pidW = max(pidW, len(strconv.Itoa(p.PID)))
		timeW = max(timeW, len(durationText(p)))
		exitW = max(exitW, runeLen(exitText(p, allExits)))
	}
	head := fmt.Sprintf("%*s  %*s  %*s  ", pidW, "PID", timeW, "TIME", exitW, "EXIT")
	fmt.Fprintln(w, strings.TrimRight(head+"PROCESS", " "))

	sizes := l.subtreeSizes()
	var colBuf []byte
	shown, hidden := 0, 0
	stopped := false
	guides := func(depth int, last []bool, self bool) string {
		var b strings.Builder
		if depth > treeIndent {
			fmt.Fprintf(&b, "[%d] ", depth)
			if self {
				return b.String()
			}
			return b.String() + "   "
		}
		for i := 1; i < depth; i++ {
			if last[i] {
				b.WriteString("   ")
			} else {
				b.WriteString("│  ")
			}
		}
		if depth > 0 {
			if !self {
				if last[depth] {
					b.WriteString("   ")
				} else {
					b.WriteString("│  ")
				}
			} else if last[depth] {
				b.WriteString("└─ ")
			} else {
				b.WriteString("├─ ")
			}
		}
		return b.String()
	}
	var kept func(*Process) bool
	if keep != nil {
		kept = func(p *Process) bool { return keep[p.index] }
	}
	walk(l.Roots, kept, func(p *Process, depth int, last []bool) bool {
		if stopped || (o.MaxLines > 0 && shown >= o.MaxLines) {
			stopped = true
			hidden++
			return true
		}
		shown++
		colBuf = padLeft(colBuf[:0], strconv.Itoa(p.PID), pidW)
		colBuf = padLeft(append(colBuf, "  "...), durationText(p), timeW)
		colBuf = padLeft(append(colBuf, "  "...), exitText(p, allExits), exitW)
		colBuf = append(colBuf, "  "...)
		cols := string(colBuf)
		argv := argvTextMax(p, o.Width*4)
		line := treeLine(cols+guides(depth, last, true), label(p), argv, marks(p, notify), o.Width)
		io.WriteString(w, line)
		io.WriteString(w, "\n")
		if o.Depth > 0 && depth+1 >= o.Depth && len(p.Children) > 0 {
			n := sizes[p.index]
			if keep != nil {
				n = 0
				walk(p.Children, kept, func(*Process, int, []bool) bool {
					n++
					return true
				})
			}
			if n > 0 {
				pad := strings.Repeat(" ", runeLen(cols))
				g := guides(depth+1, append(append([]bool(nil), last...), true), true)
				fmt.Fprintln(w, fit(pad+g+fmt.Sprintf("… %d more %s below", n, plural(n, "process", "processes")), o.Width))
			}
			return false
		}
		return true
	})
	if hidden > 0 {
		fmt.Fprintf(w, "… %d more %s not shown\n", hidden, plural(hidden, "process", "processes"))
	}
}

// padLeft appends s right-aligned in w columns.
func padLeft(b []byte, s string, w int) []byte {
	for n := runeLen(s); n < w; n++ {
		b = append(b, ' ')
	}
	return append(b, s...)
}

// fit cuts s to width columns; width 0 means no limit.
func fit(s string, width int) string {
	if width <= 0 {
		return s
	}
	return cut(s, width)
}

// treeLine assembles one tree line within width: the columns and the
// label stay, argv gives way first, then the marks, then everything is
// cut.
func treeLine(prefix, label, argv, marks string, width int) string {
	line := prefix + label
	if width <= 0 {
		if argv != "" {
			line += "  " + argv
		}
		if marks != "" {
			line += "  " + marks
		}
		return line
	}
	used := runeLen(line)
	if marks != "" {
		used += 2 + runeLen(marks)
	}
	if argv != "" {
		if room := width - used - 2; room >= 1 {
			line += "  " + cut(argv, room)
		}
	}
	if marks != "" {
		line += "  " + marks
	}
	return fit(line, width)
}
