package main

// The CI step summary, --report-file and --baseline of exectrail run.

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/diff"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/report"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/runlog"
	"github.com/spf13/pflag"
)

type reportExtraFlags struct {
	reportFile  string
	stepSummary string
	baseline    string
	normalize   []string
}

func (f *reportExtraFlags) define(fs *pflag.FlagSet) {
	fs.StringVar(&f.reportFile, "report-file", "", "write the --report to FILE instead of stderr (--report-file alone: the markdown report)")
	fs.StringVar(&f.stepSummary, "step-summary", "auto", "append the markdown report to FILE when the job ends; auto: to $GITHUB_STEP_SUMMARY when $GITHUB_ACTIONS is true; off: never")
	fs.StringVar(&f.baseline, "baseline", "", "add to the reports the diff of this run against the log BASE.jsonl (see exectrail diff)")
	fs.StringArrayVar(&f.normalize, "normalize", nil, "with --baseline: rewrite paths before comparing, REGEX=REPLACEMENT (repeatable)")
}

// reportExtras is the validated form.
type reportExtras struct {
	file     string // --report-file; "" for stderr
	summary  string // the step summary file; "" for none
	baseline string
	norm     *runlog.Normalizer
}

// options validates the flags, given --report's value, and returns the
// report kind to make (kindNone when only a step summary is due).
func (f *reportExtraFlags) options(kind reportKind) (reportExtras, reportKind, error) {
	e := reportExtras{file: f.reportFile, baseline: f.baseline}
	if f.reportFile != "" && kind == kindNone {
		kind = kindMarkdown
	}
	switch f.stepSummary {
	case "off":
	case "auto":
		if os.Getenv("GITHUB_ACTIONS") == "true" {
			e.summary = os.Getenv("GITHUB_STEP_SUMMARY")
		}
	case "":
		return e, kind, errors.New("--step-summary wants off, auto or a file name")
	default:
		e.summary = f.stepSummary
	}
	if f.baseline != "" {
		r, _, err := runlog.Open(f.baseline)
		if err != nil {
			return e, kind, fmt.Errorf("--baseline: %w", err)
		}
		r.Close()
	} else if len(f.normalize) > 0 {
		return e, kind, errors.New("--normalize needs --baseline")
	}
	norm, err := normalizer(f.normalize)
	if err != nil {
		return e, kind, err
	}
	e.norm = norm
	if e.file != "" {
		// Fail now, not after the job: and truncate, as -o does.
		file, err := os.Create(e.file)
		if err != nil {
			return e, kind, fmt.Errorf("--report-file: %w", err)
		}
		file.Close()
	}
	return e, kind, nil
}

// printReport writes the --report to --report-file, or to stderr after a
// banner.
func (r *runReport) printReport(l *report.Log) {
	out, fd := io.Writer(os.Stderr), 2
	if r.extra.file != "" {
		file, err := os.OpenFile(r.extra.file, os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o644)
		if err != nil {
			cli.Warnf("--report-file: %v", err)
			return
		}
		defer func() {
			if err := file.Close(); err != nil {
				cli.Warnf("--report-file: %v", err)
			}
		}()
		out, fd = file, -1
	} else {
		fmt.Fprintf(os.Stderr, "── exectrail report ──\n")
	}
	width := defaultWidth(r.kind, fd)
	if fd < 0 && r.kind != kindMarkdown {
		width = 0
	}
	if err := (textReport{kind: r.kind, width: width, top: 10, lines: -1}).write(out, l); err != nil {
		cli.Warnf("--report: %v", err)
		return
	}
	r.writeBaselineDiff(out, r.kind == kindMarkdown)
}

// printStepSummary appends the markdown report, and the diff against the
// baseline, to the step summary file. A failure is a warning: the job's
// status is what counts.
func (r *runReport) printStepSummary(l *report.Log) {
	if r.extra.summary == "" {
		return
	}
	file, err := os.OpenFile(r.extra.summary, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		cli.Warnf("step summary: %v", err)
		return
	}
	if err := (textReport{kind: kindMarkdown, width: markdownWidth, top: 10, lines: -1}).write(file, l); err != nil {
		cli.Warnf("step summary: writing %s: %v", r.extra.summary, err)
	} else {
		r.writeBaselineDiff(file, true)
	}
	if err := file.Close(); err != nil {
		cli.Warnf("step summary: %v", err)
	}
}

// writeBaselineDiff writes the diff of this run's records against
// --baseline, if given.
func (r *runReport) writeBaselineDiff(w io.Writer, markdown bool) {
	if r.extra.baseline == "" {
		return
	}
	base, name, err := runlog.Open(r.extra.baseline)
	if err != nil {
		cli.Warnf("--baseline: %v", err)
		return
	}
	defer base.Close()
	res, err := diff.Compare(diff.Input{Name: name, R: base}, diff.Input{Name: "this run", R: io.NewSectionReader(r.copy, 0, 1<<62)}, diff.Options{Normalize: r.extra.norm})
	if err != nil {
		cli.Warnf("--baseline: %v", err)
		return
	}
	fmt.Fprintln(w)
	if markdown {
		err = res.WriteMarkdown(w)
	} else {
		err = res.WriteText(w)
	}
	if err != nil {
		cli.Warnf("--baseline: writing the diff: %v", err)
	}
}
