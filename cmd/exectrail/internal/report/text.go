package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/exectrail/exectrail/supervisor/record"
)

// formatMS formats a duration in milliseconds for people.
func formatMS(ms float64) string {
	switch {
	case math.IsNaN(ms) || ms < 0:
		return "?"
	case ms < 100:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	case ms < 1000:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	case ms < 60e3:
		return strconv.FormatFloat(ms/1000, 'f', 2, 64) + "s"
	case ms < 3600e3:
		s := int64(ms / 1000)
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	m := int64(ms / 60e3)
	return fmt.Sprintf("%dh%02dm", m/60, m%60)
}

// durationText is the time column of a process.
func durationText(p *Process) string {
	if d, ok := p.Duration(); ok {
		return formatMS(d)
	}
	return "?"
}

// exitText is the exit column of a process: the code, the signal,
// "running" when the backend records every exit but this one is not in
// the log yet, "?" when the log cannot tell.
func exitText(p *Process, allExits bool) string {
	switch {
	case p.Exited && p.Signal != "":
		return p.Signal
	case p.Exited:
		return strconv.Itoa(p.ExitCode)
	case allExits && !p.PIDReused && !p.Placeholder:
		return "running"
	}
	return "?"
}

// label names a process: its programs, or why it has none.
func label(p *Process) string {
	switch {
	case p.Exe != "":
		if len(p.Prev) == 0 {
			return record.PrintableString(p.Exe)
		}
		var b strings.Builder
		for _, e := range p.Prev {
			b.WriteString(record.PrintableString(e))
			b.WriteString(" → ")
		}
		b.WriteString(record.PrintableString(p.Exe))
		return b.String()
	case p.Placeholder:
		return "(not in the log)"
	case p.ForkOf != "":
		return "(fork of " + record.PrintableString(p.ForkOf) + ")"
	case p.Kind != "":
		return "(" + p.Kind + ")"
	}
	return "(no exec)"
}

// argvText is argv as a shell would need it typed, with "…" when it was
// cut.
func argvText(p *Process) string { return argvTextMax(p, 0) }

// argvTextMax is argvText, stopping once it is longer than limit bytes
// (0: no limit); the caller cuts it to its width.
func argvTextMax(p *Process, limit int) string {
	if p.argv == "" && !p.ArgvElided {
		return ""
	}
	var b strings.Builder
	rest := p.argv
	for first := true; ; first = false {
		if limit > 0 && b.Len() > limit {
			return b.String()
		}
		a, more, found := strings.Cut(rest, "\x00")
		if !first {
			b.WriteByte(' ')
		}
		b.WriteString(shellQuote(a))
		if !found {
			break
		}
		rest = more
	}
	if p.ArgvElided {
		b.WriteString(" …")
	}
	return b.String()
}

// marks lists a process's failed and refused execs for its tree line.
func marks(p *Process, notify bool) string {
	var parts []string
	for _, a := range p.Attempts {
		if a.Denied {
			parts = append(parts, "⊘ denied "+shellQuote(a.Target()))
		} else {
			parts = append(parts, "✗ "+a.Error+" "+shellQuote(a.Target()))
		}
	}
	if more := p.Failed + p.Denied - len(p.Attempts); more > 0 {
		parts = append(parts, fmt.Sprintf("(+%d more)", more))
	}
	if notify {
		if n := p.Forks - len(p.Children); n > 0 {
			parts = append(parts, fmt.Sprintf("+%d %s that did not exec", n, plural(n, "fork", "forks")))
		}
	}
	return strings.Join(parts, "  ")
}

// shellQuote quotes s for a POSIX shell when it needs it, or with Go
// escapes when it holds characters that do not print.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("@%+=:,./_-", c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	if !record.Printable(s) {
		return strconv.Quote(s)
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cut shortens s to at most w columns (runes), ending in "…" when cut.
func cut(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if len(s) <= w || utf8.RuneCountInString(s) <= w {
		return s
	}
	n := 0
	for i := range s {
		if n == w-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// clock formats a record time as UTC with milliseconds.
func clock(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05.000 UTC")
}

// offset formats a time relative to the start of the log.
func offset(ns, first int64) string {
	return "+" + formatMS(float64(ns-first)/1e6)
}

// lineList formats line numbers, with "…" when there were more.
func lineList(lines []int, total int) string {
	var b strings.Builder
	for i, n := range lines {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(n))
	}
	if total > len(lines) {
		b.WriteString(", …")
	}
	return b.String()
}
