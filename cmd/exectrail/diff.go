package main

// exectrail diff BASE NEW.

import (
	"errors"
	"fmt"
	"os"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/diff"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/runlog"
	"github.com/spf13/pflag"
)

const diffUsage = `usage: exectrail diff [flags] BASE NEW
       (BASE and NEW are JSON record logs of exectrail run, gzip-compressed
       or not; - for standard input, for one of them)

Compares what ran: programs that are new or gone, new edges (parent program
→ child program) with the ancestors of the first one, new failed and
refused execs. Exit status: 0 no change, 1 something new appeared (or,
with --fail-on-removed, disappeared), 2 trouble.

diff flags:
`

type diffFlags struct {
	fs            *pflag.FlagSet
	markdown      bool
	format        string
	normalize     []string
	countFactor   float64
	failOnRemoved bool
}

func newDiffFlags() *diffFlags {
	f := &diffFlags{fs: pflag.NewFlagSet("diff", pflag.ContinueOnError)}
	fs := f.fs
	fs.BoolVar(&f.markdown, "markdown", false, "write GitHub-flavoured markdown (for $GITHUB_STEP_SUMMARY)")
	fs.StringVar(&f.format, "format", "text", "text, markdown or json")
	fs.StringArrayVar(&f.normalize, "normalize", nil, "rewrite paths before comparing: REGEX=REPLACEMENT (Go regexp, $1 in the replacement; repeatable)")
	fs.Float64Var(&f.countFactor, "count-factor", 0, "also report programs whose exec count changed by more than this factor (> 1; 0: off)")
	fs.BoolVar(&f.failOnRemoved, "fail-on-removed", false, "exit 1 when something of BASE is gone from NEW, too")
	return f
}

func diffMain(args []string) int {
	f := newDiffFlags()
	say := cli.For("diff")
	if status, done := say.Parse(f.fs, args, diffUsage, cli.DiffTrouble); done {
		return status
	}
	format, norm, err := f.validate()
	if err != nil {
		say.Errorf("%v", err)
		return cli.DiffTrouble
	}
	res, err := compareLogs(f.fs.Arg(0), f.fs.Arg(1), diff.Options{Normalize: norm, CountFactor: f.countFactor})
	if err != nil {
		say.Errorf("%v", err)
		return cli.DiffTrouble
	}
	switch format {
	case "json":
		err = res.WriteJSON(os.Stdout)
	case "markdown":
		err = res.WriteMarkdown(os.Stdout)
	default:
		err = res.WriteText(os.Stdout)
	}
	if err != nil {
		say.Errorf("writing the result: %v", err)
		return cli.DiffTrouble
	}
	if res.Added() || (f.failOnRemoved && res.Removed()) {
		return cli.DiffChanged
	}
	return cli.DiffSame
}

func (f *diffFlags) validate() (string, *runlog.Normalizer, error) {
	if n := f.fs.NArg(); n != 2 {
		return "", nil, fmt.Errorf("want two logs, BASE and NEW (got %d arguments)", n)
	}
	if f.fs.Arg(0) == "-" && f.fs.Arg(1) == "-" {
		return "", nil, errors.New("only one of BASE and NEW can be standard input")
	}
	format := f.format
	switch format {
	case "text", "markdown", "json":
	default:
		return "", nil, fmt.Errorf("unknown --format %q (want text, markdown or json)", format)
	}
	if f.markdown {
		if f.fs.Changed("format") && format != "markdown" {
			return "", nil, errors.New("--markdown and --format " + format + " exclude each other")
		}
		format = "markdown"
	}
	if f.countFactor != 0 && !(f.countFactor > 1) {
		return "", nil, fmt.Errorf("--count-factor must be more than 1 (got %g)", f.countFactor)
	}
	norm, err := normalizer(f.normalize)
	return format, norm, err
}

func normalizer(specs []string) (*runlog.Normalizer, error) {
	norm := &runlog.Normalizer{}
	for _, s := range specs {
		if err := norm.Add(s); err != nil {
			return nil, fmt.Errorf("--normalize: %w", err)
		}
	}
	return norm, nil
}

// compareLogs opens and compares two logs.
func compareLogs(baseName, newName string, o diff.Options) (*diff.Result, error) {
	base, bn, err := runlog.Open(baseName)
	if err != nil {
		return nil, err
	}
	defer base.Close()
	nw, nn, err := runlog.Open(newName)
	if err != nil {
		return nil, err
	}
	defer nw.Close()
	return diff.Compare(diff.Input{Name: bn, R: base}, diff.Input{Name: nn, R: nw}, o)
}
