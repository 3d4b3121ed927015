package main

// exectrail report, and run --report.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cast"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/report"
	"github.com/exectrail/exectrail/supervisor"
	"github.com/exectrail/exectrail/supervisor/record"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
)

const reportUsage = `usage: exectrail report [flags] LOG
       (LOG is a JSON record file written by exectrail run; - for stdin;
       a recording made with run --record lists its execs with their times)

Writes the process tree (default), --summary, or --markdown to stdout;
--trace-out writes a timeline for ui.perfetto.dev or chrome://tracing.

report flags:
`

type reportFlags struct {
	fs       *pflag.FlagSet
	tree     bool
	summary  bool
	markdown bool
	traceOut string
	depth    int
	filter   string
	width    int
	top      int
	lines    int
}

func newReportFlags() *reportFlags {
	f := &reportFlags{fs: pflag.NewFlagSet("report", pflag.ContinueOnError)}
	fs := f.fs
	fs.BoolVar(&f.tree, "tree", false, "the process tree with pid, time, exit status, executable and argv (the default)")
	fs.BoolVar(&f.summary, "summary", false, "counts, top executables by count and time, longest processes, failures")
	fs.BoolVar(&f.markdown, "markdown", false, "the summary and the top of the tree as GitHub-flavoured markdown, for $GITHUB_STEP_SUMMARY")
	fs.StringVar(&f.traceOut, "trace-out", "", "write a Chrome Trace Event timeline (JSON) to FILE, - for stdout")
	fs.IntVar(&f.depth, "depth", 0, "tree: show N levels of processes (0: all)")
	fs.StringVar(&f.filter, "filter", "", "tree: only processes whose executable matches GLOB (a base name, or a path when GLOB has a /), with their ancestors")
	fs.IntVar(&f.width, "width", 0, "fold lines to N columns, shortening argv first; 0: no limit (unset: the terminal's width, else $COLUMNS, else no limit; 160 with --markdown)")
	fs.IntVar(&f.top, "top", 10, "summary and markdown: rows per table")
	fs.IntVar(&f.lines, "lines", 0, "tree: show at most N processes; 0: all (unset: all, 40 with --markdown)")
	return f
}

// reportSay is exectrail report's voice.
var reportSay = cli.For("report")

func reportMain(args []string) int {
	f := newReportFlags()
	if status, done := reportSay.Parse(f.fs, args, reportUsage, cli.ExitSetup); done {
		return status
	}
	if err := f.validate(); err != nil {
		reportSay.Errorf("%v", err)
		return cli.ExitSetup
	}
	name := f.fs.Arg(0)
	var in io.Reader = os.Stdin
	if name != "-" {
		file, err := os.Open(name)
		if err != nil {
			reportSay.Errorf("%v", err)
			return cli.ExitFailed
		}
		defer file.Close()
		in = file
	} else {
		name = "standard input"
	}
	br := bufio.NewReaderSize(in, 64<<10)
	if looksLikeCast(br) {
		return reportCast(br, name)
	}
	l, err := report.Read(br)
	if err != nil {
		reportSay.Errorf("%s: %s", name, noRecordsReason(l, err))
		return cli.ExitFailed
	}

	if f.traceOut != "" {
		if err := writeTrace(l, f.traceOut); err != nil {
			reportSay.Errorf("%v", err)
			return cli.ExitFailed
		}
		if !f.tree && !f.summary && !f.markdown {
			if f.traceOut != "-" {
				reportSay.Notef("timeline of %d processes written to %s; open it in ui.perfetto.dev or chrome://tracing", len(l.Processes), f.traceOut)
			}
			for _, n := range l.Notes() {
				reportSay.Notef("%s", n)
			}
			return 0
		}
	}
	o := textReport{kind: f.kind(), width: f.width, depth: f.depth, filter: f.filter, top: f.top, lines: f.lines}
	if !f.fs.Changed("width") {
		o.width = defaultWidth(o.kind, 1)
	}
	if !f.fs.Changed("lines") {
		o.lines = -1 // the default of the report's kind
	}
	if err := o.write(os.Stdout, l); err != nil {
		reportSay.Errorf("writing the report: %v", err)
		return cli.ExitFailed
	}
	return 0
}

func (f *reportFlags) validate() error {
	switch n := f.fs.NArg(); {
	case n == 0:
		return errors.New("no log given (usage: exectrail report [flags] LOG, - for stdin)")
	case n > 1:
		return fmt.Errorf("one log at a time (got %d arguments)", n)
	}
	modes := 0
	for _, on := range []bool{f.tree, f.summary, f.markdown} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return errors.New("--tree, --summary and --markdown exclude each other")
	}
	if f.traceOut == "-" && modes > 0 {
		return errors.New("--trace-out - and a text report would both go to stdout")
	}
	if f.depth < 0 {
		return errors.New("--depth must not be negative")
	}
	if f.top < 1 {
		return errors.New("--top must be at least 1")
	}
	if f.lines < 0 {
		return errors.New("--lines must not be negative")
	}
	if f.width < 0 {
		return errors.New("--width must not be negative")
	}
	if f.filter != "" {
		if err := report.CheckFilter(f.filter); err != nil {
			return fmt.Errorf("--filter: %w", err)
		}
	}
	return nil
}

func (f *reportFlags) kind() reportKind {
	switch {
	case f.summary:
		return kindSummary
	case f.markdown:
		return kindMarkdown
	}
	return kindTree
}

// reportKind is the kind of a text report: exectrail report --tree,
// --summary or --markdown, and exectrail run --report=KIND.
type reportKind string

// The kinds.
const (
	kindNone     reportKind = "" // run: no --report
	kindTree     reportKind = "tree"
	kindSummary  reportKind = "summary"
	kindMarkdown reportKind = "markdown"
)

// parseReportKind reads run's --report value ("" for none).
func parseReportKind(s string) (reportKind, error) {
	switch k := reportKind(s); k {
	case kindNone, kindTree, kindSummary, kindMarkdown:
		return k, nil
	}
	return "", fmt.Errorf("unknown --report %q (want tree, summary or markdown)", s)
}

// textReport is one text report to write.
type textReport struct {
	kind   reportKind
	width  int    // fold lines to this many columns; 0: no limit
	depth  int    // tree: levels shown; 0: all
	filter string // tree: --filter GLOB
	top    int    // summary, markdown: rows per table
	lines  int    // tree: processes shown; 0: all; -1: the kind's default (all for a tree, 40 in markdown)
}

// write writes the report of l to w.
func (o textReport) write(w io.Writer, l *report.Log) error {
	tree := report.TreeOptions{Width: o.width, Depth: o.depth, Filter: o.filter, MaxLines: max(o.lines, 0)}
	switch o.kind {
	case kindSummary:
		return l.WriteSummary(w, report.SummaryOptions{Top: o.top, Width: o.width})
	case kindMarkdown:
		switch o.lines {
		case -1: // unset: the markdown default
			tree.MaxLines = 0
		case 0: // all
			tree.MaxLines = -1
		}
		return l.WriteMarkdown(w, report.MarkdownOptions{Top: o.top, Tree: tree})
	}
	return l.WriteTree(w, tree)
}

func writeTrace(l *report.Log, name string) error {
	if name == "-" {
		return l.WriteTrace(os.Stdout)
	}
	file, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("--trace-out: %w", err)
	}
	if err := l.WriteTrace(file); err != nil {
		file.Close()
		return fmt.Errorf("--trace-out: writing %s: %w", name, err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("--trace-out: %w", err)
	}
	return nil
}

// noRecordsReason explains an unreadable log in one line.
func noRecordsReason(l *report.Log, err error) string {
	if l == nil {
		return err.Error()
	}
	switch {
	case l.ReadErr != nil && l.Lines == 0:
		return fmt.Sprintf("cannot read it: %v", l.ReadErr)
	case l.Lines == 0:
		return "empty: no records"
	}
	var why []string
	for i, n := range l.MalformedLines {
		if i == 3 {
			why = append(why, "…")
			break
		}
		why = append(why, fmt.Sprintf("line %d: %s", n.Line, n.Reason))
	}
	if l.TruncatedLast {
		why = append(why, "the last line is incomplete")
	}
	if l.ReadErr != nil {
		why = append(why, fmt.Sprintf("reading stopped: %v", l.ReadErr))
	}
	s := fmt.Sprintf("no records in %d %s", l.Lines, plural(l.Lines, "line", "lines"))
	if len(why) > 0 {
		s += " (" + strings.Join(why, "; ") + ")"
	}
	return s + "; exectrail report reads the JSON records of exectrail run -o FILE --format json"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// markdownWidth folds the tree in markdown, which is read in a browser,
// not a terminal.
const markdownWidth = 160

// defaultWidth is the width of a report of kind written to fd when
// --width is not given.
func defaultWidth(kind reportKind, fd int) int {
	if kind == kindMarkdown {
		return markdownWidth
	}
	return terminalWidth(fd)
}

// terminalWidth is the width of the terminal on fd, else $COLUMNS, else
// 0 (no limit).
func terminalWidth(fd int) int {
	if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
		return int(ws.Col)
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 0
}

// runReport is `exectrail run --report`: every record is also written, as
// JSON whatever --format says, to an unlinked temporary file (the output
// may be a terminal, a pipe or text), which is read back and reported on
// stderr once the job has ended.
type runReport struct {
	kind    reportKind   // kindNone for a step summary only
	extra   reportExtras // --report-file, --step-summary, --baseline (summary.go)
	copy    *os.File
	line    []byte // scratch for one JSON line
	copyErr error  // the error that stopped the copy
}

// newRunReport opens the copy; nil when there is no report to make and
// no step summary is due (see reportExtras).
func newRunReport(kind reportKind, extra reportExtras) (*runReport, error) {
	if kind == kindNone && extra.summary == "" {
		return nil, nil
	}
	file, err := os.CreateTemp("", "exectrail-report-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("--report: keeping a copy of the records: %w", err)
	}
	_ = os.Remove(file.Name())
	return &runReport{kind: kind, extra: extra, copy: file}, nil
}

// attach makes w copy every record to the report's file.
func (r *runReport) attach(w *supervisor.Writer) {
	if r == nil {
		return
	}
	// The copy is not part of the record contract: an error writing it
	// neither fails the record's write nor refuses an exec; it only stops
	// the copy and is reported with the report.
	out := supervisor.FDWriter(int(r.copy.Fd()))
	w.AddObserver(func(rec *record.Record) {
		if r.copyErr != nil {
			return
		}
		r.line = record.AppendJSON(r.line[:0], rec)
		for b := r.line; len(b) > 0; {
			n, err := out.Write(b)
			if err != nil {
				r.copyErr = err
				return
			}
			b = b[n:]
		}
	})
}

// print writes the report to stderr. It changes nothing about the run's
// exit status.
func (r *runReport) print() {
	if r == nil {
		return
	}
	defer r.copy.Close()
	if r.copyErr != nil {
		cli.Warnf("--report: the copy of the records is incomplete: %v", r.copyErr)
	}
	l, err := report.Read(io.NewSectionReader(r.copy, 0, 1<<62))
	if err != nil {
		return // no record: nothing ran
	}
	if r.kind != kindNone {
		r.printReport(l) // summary.go
	}
	r.printStepSummary(l) // summary.go
}

// looksLikeCast reports whether the input starts with an asciicast v2
// header rather than a record.
func looksLikeCast(br *bufio.Reader) bool {
	head, _ := br.Peek(br.Size())
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	var probe struct {
		Version *int `json:"version"`
		Seq     *int `json:"seq"`
	}
	return json.Unmarshal(head, &probe) == nil && probe.Version != nil && probe.Seq == nil
}

// reportCast lists the exec markers of a recording (exectrail run
// --record): when each exec happened, as an offset into the recording and
// as wall-clock time, and what it ran.
func reportCast(in io.Reader, name string) int {
	cr, err := cast.NewReader(in)
	if err != nil {
		reportSay.Errorf("%s: %v", name, err)
		return cli.ExitFailed
	}
	start := time.Unix(cr.Header.Timestamp, 0).UTC()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	fmt.Fprintf(out, "recording of %q, started %s, %dx%d\n", cr.Header.Command, start.Format(time.RFC3339), cr.Header.Width, cr.Header.Height)
	n := 0
	for {
		ev, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			out.Flush()
			reportSay.Errorf("%s: %v", name, err)
			return cli.ExitFailed
		}
		if ev.Type != "m" {
			continue
		}
		n++
		at := start.Add(time.Duration(ev.Time * float64(time.Second)))
		fmt.Fprintf(out, "%10.3fs  %s  %s\n", ev.Time, at.Format("15:04:05.000"), strings.Map(printableRune, ev.Data))
	}
	fmt.Fprintf(out, "%d execs\n", n)
	return 0
}

func printableRune(r rune) rune {
	if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
		return '?'
	}
	return r
}
