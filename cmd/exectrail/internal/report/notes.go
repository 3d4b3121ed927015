package report

import (
	"fmt"
	"strconv"
	"strings"
)

// Headline is one line saying what the log holds.
func (l *Log) Headline() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s, %d %s", len(l.Processes), plural(len(l.Processes), "process", "processes"),
		l.ExecAttempts, plural(l.ExecAttempts, "exec", "execs"))
	if l.FailedExecs > 0 || l.DeniedExecs > 0 {
		fmt.Fprintf(&b, " (%d failed, %d denied)", l.FailedExecs, l.DeniedExecs)
	}
	if l.NonZeroExits > 0 {
		fmt.Fprintf(&b, ", %d non-zero %s", l.NonZeroExits, plural(l.NonZeroExits, "exit", "exits"))
	}
	if l.Records > 0 {
		fmt.Fprintf(&b, " in %s", formatMS(float64(l.Last-l.First)/1e6))
	}
	switch l.Backend {
	case "":
		b.WriteString(" (backend unknown)")
	default:
		fmt.Fprintf(&b, " (%s backend)", l.Backend)
	}
	return b.String()
}

// Notes says what the log leaves unknown and what is wrong with it, one
// sentence each.
func (l *Log) Notes() []string {
	var notes []string
	var noExit, placeholders, reused int
	for _, p := range l.Processes {
		switch {
		case p.Placeholder:
			placeholders++
		case p.PIDReused:
			reused++
		case !p.Exited:
			noExit++
		}
	}
	if l.Backend == "notify" {
		if noExit > 0 {
			notes = append(notes, fmt.Sprintf("%d of %d processes %s no exit record, so their exit status and time show as ?: the notify backend records the exits only of COMMAND and of the orphans exectrail reaps. Run with --backend ptrace for every exit.", noExit, len(l.Processes), plural(noExit, "has", "have")))
		}
		if l.ForksWithoutChild > 0 {
			notes = append(notes, fmt.Sprintf("%d fork %s no child (notify backend): a child is in the log only once it execs, so forks that did not exec are counted on their parent, not shown.", l.ForksWithoutChild, plural(l.ForksWithoutChild, "record names", "records name")))
		}
	} else if noExit > 0 {
		notes = append(notes, fmt.Sprintf("%d %s no exit record yet: still running when the log ended, or the log was cut.", noExit, plural(noExit, "process has", "processes have")))
	}
	if placeholders > 0 {
		notes = append(notes, fmt.Sprintf("%d %s known only as the parent of another (it never exec'd, and no record names it): shown as \"(not in the log)\".", placeholders, plural(placeholders, "process is", "processes are")))
	}
	if reused > 0 {
		notes = append(notes, fmt.Sprintf("%d %s pid reused by a later process before an exit record was seen: %s end is unknown.", reused, plural(reused, "process had its", "processes had their"), plural(reused, "its", "their")))
	}
	if l.Malformed > 0 {
		var parts []string
		for _, n := range l.MalformedLines {
			parts = append(parts, fmt.Sprintf("%d (%s)", n.Line, n.Reason))
		}
		more := ""
		if l.Malformed > len(l.MalformedLines) {
			more = ", …"
		}
		notes = append(notes, fmt.Sprintf("%d %s not %s and %s skipped: line %s%s.", l.Malformed, plural(l.Malformed, "line is", "lines are"), plural(l.Malformed, "a record", "records"), plural(l.Malformed, "was", "were"), strings.Join(parts, ", "), more))
	}
	if l.Interleaved > 0 {
		notes = append(notes, fmt.Sprintf("%d %s other output before the record on the same line (records shared a stream with the job's output; use -o FILE): line %s.", l.Interleaved, plural(l.Interleaved, "line has", "lines have"), lineList(l.InterleavedLines, l.Interleaved)))
	}
	if l.TruncatedLast {
		notes = append(notes, "The last line is incomplete (the log is still being written, or was cut) and was skipped.")
	}
	if l.SeqMissing > 0 {
		var parts []string
		for _, g := range l.SeqGaps {
			if g.First == g.Last {
				parts = append(parts, strconv.FormatInt(g.First, 10))
			} else {
				parts = append(parts, fmt.Sprintf("%d–%d", g.First, g.Last))
			}
		}
		more := ""
		if len(l.SeqGaps) == maxLineList {
			more = ", …"
		}
		notes = append(notes, fmt.Sprintf("%d %s missing from the log (seq %s%s).", l.SeqMissing, plural(int(l.SeqMissing), "record is", "records are"), strings.Join(parts, ", "), more))
	}
	if l.SeqBackwards > 0 {
		notes = append(notes, fmt.Sprintf("%d %s seq going backwards (several runs in one file?): line %s.", l.SeqBackwards, plural(l.SeqBackwards, "record has its", "records have their"), lineList(l.SeqBackLines, l.SeqBackwards)))
	}
	if l.OtherEvents > 0 {
		notes = append(notes, fmt.Sprintf("%d %s of kinds this report does not know were ignored.", l.OtherEvents, plural(l.OtherEvents, "record", "records")))
	}
	if l.ReadErr != nil {
		notes = append(notes, fmt.Sprintf("Reading stopped early: %v.", l.ReadErr))
	}
	notes = append(notes, l.trailNotes()...) // trail.go
	return notes
}
