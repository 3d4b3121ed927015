package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/exectrail/exectrail/supervisor/record"
)

// RunInfo is what a log's start record says of the run.
type RunInfo struct {
	RunID   string
	Version string
	Backend string
	Host    string
	Kernel  string
	Argv    []string
	Line    int
}

// RunEnd is what a log's end record says.
type RunEnd struct {
	ExitCode   *int
	Signal     string
	ExitStatus *int
	DurationMS *float64
	Counts     map[string]int64
	KeyID      string // set when the end record is signed
	Line       int
}

// trail notes a start or end record: the run's own records, not the
// job's. They are decoded again, whole, with encoding/json: there are two
// of them in a log.
func (b *builder) trail() {
	l := b.log
	line := b.cur
	if k := bytes.Index(line, seqPrefix); k > 0 {
		line = line[k:]
	}
	switch string(b.raw.event) {
	case record.EventStart:
		l.Starts++
		var s struct {
			RunID   string   `json:"run_id"`
			Version string   `json:"version"`
			Backend string   `json:"backend"`
			Host    string   `json:"host"`
			Kernel  string   `json:"kernel"`
			Argv    []string `json:"argv"`
		}
		if l.Run == nil && json.Unmarshal(line, &s) == nil {
			l.Run = &RunInfo{RunID: s.RunID, Version: s.Version, Backend: s.Backend, Host: s.Host, Kernel: s.Kernel, Argv: s.Argv, Line: b.lineNo}
		}
	case record.EventEnd:
		l.Ends++
		var e struct {
			ExitCode   *int             `json:"exit_code"`
			Signal     string           `json:"signal"`
			ExitStatus *int             `json:"exit_status"`
			DurationMS *float64         `json:"duration_ms"`
			Counts     map[string]int64 `json:"counts"`
			KeyID      string           `json:"key_id"`
			Sig        string           `json:"sig"`
		}
		if json.Unmarshal(line, &e) == nil {
			l.End = &RunEnd{ExitCode: e.ExitCode, Signal: e.Signal, ExitStatus: e.ExitStatus, DurationMS: e.DurationMS, Counts: e.Counts, Line: b.lineNo}
			if e.Sig != "" {
				l.End.KeyID = e.KeyID
			}
		}
	}
}

// runLine is the summary's line about the run, from its start record.
func (l *Log) runLine() string {
	r := l.Run
	if r == nil {
		return ""
	}
	s := fmt.Sprintf("Run: %s, exectrail %s", r.RunID, r.Version)
	if r.Backend != "" {
		s += ", " + r.Backend + " backend"
	}
	return s + fmt.Sprintf(", host %s, kernel %s", record.PrintableString(r.Host), record.PrintableString(r.Kernel))
}

// endLine is the summary's line about the end record: how the run ended
// and whether its totals are the log's.
func (l *Log) endLine() string {
	e := l.End
	if e == nil {
		return ""
	}
	var parts []string
	switch {
	case e.ExitCode != nil:
		parts = append(parts, fmt.Sprintf("exit %d", *e.ExitCode))
	case e.Signal != "":
		parts = append(parts, "killed by "+e.Signal)
	}
	if e.DurationMS != nil {
		parts = append(parts, "after "+formatMS(*e.DurationMS))
	}
	if e.ExitStatus != nil {
		parts = append(parts, fmt.Sprintf("exectrail exit status %d", *e.ExitStatus))
	}
	s := "End: " + strings.Join(parts, " ") + "; " + l.totalsText()
	if e.KeyID != "" {
		s += fmt.Sprintf("; signed by %s (exectrail verify --key checks it)", e.KeyID)
	}
	return s
}

// totalsText compares the end record's counts with the log's.
func (l *Log) totalsText() string {
	c := l.End.Counts
	counts := fmt.Sprintf("%d %s, %d %s, %d %s", c[record.EventExec], plural(int(c[record.EventExec]), "exec", "execs"),
		c[record.EventFork], plural(int(c[record.EventFork]), "fork", "forks"), c[record.EventExit], plural(int(c[record.EventExit]), "exit", "exits"))
	if l.TotalsMatch() {
		return "its totals (" + counts + ") are the log's"
	}
	return fmt.Sprintf("its totals (%s) are not the log's (%d, %d, %d)", counts, l.Execs, l.Forks, l.Exits)
}

// TotalsMatch reports whether the end record's counts of exec, fork and
// exit records are the numbers of such records in the log.
func (l *Log) TotalsMatch() bool {
	if l.End == nil {
		return false
	}
	c := l.End.Counts
	return c[record.EventExec] == int64(l.Execs) && c[record.EventFork] == int64(l.Forks) && c[record.EventExit] == int64(l.Exits)
}

// trailNotes are the notes about the start and end records.
func (l *Log) trailNotes() []string {
	switch {
	case l.Run == nil && l.End == nil:
		return []string{"The log has no start or end record (written by an exectrail from before they existed, or cut): which run it is, and whether it is complete, cannot be told from it."}
	case l.End == nil:
		return []string{"The log has no end record: exectrail did not finish it (killed, or its output failed) or it was cut, so it may be incomplete. exectrail verify tells."}
	case !l.TotalsMatch():
		return []string{fmt.Sprintf("The end record's totals are not the log's: %s. Records are missing or were added; exectrail verify names the first line that breaks.", l.totalsText())}
	}
	return nil
}
