package main

// exectrail policy learn LOG...

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/learn"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/runlog"
	"github.com/spf13/pflag"
)

const policyUsage = `usage: exectrail policy learn [--normalize REGEX=REPLACEMENT]... LOG... > job.policy
       (LOG: JSON record logs of trusted runs, gzip-compressed or not; - for stdin)

Writes an allow policy for exectrail run --policy that admits exactly the
executables and script interpreters those runs executed.

learn flags:
`

// exitLearn: a log could not be read, or the policy not written.
const exitLearn = 1

func policyMain(args []string) int {
	if len(args) == 0 || (args[0] != "learn" && args[0] != "-h" && args[0] != "--help" && args[0] != "help") {
		if len(args) == 0 {
			errorf("policy: no subcommand (want: exectrail policy learn LOG...)")
		} else {
			errorf("policy: unknown subcommand %q (want: exectrail policy learn LOG...)", args[0])
		}
		return exitSetup
	}
	fs := pflag.NewFlagSet("policy learn", pflag.ContinueOnError)
	fs.Usage = func() {}
	var specs []string
	fs.StringArrayVar(&specs, "normalize", nil, "rewrite paths before learning: REGEX=REPLACEMENT, the replacement written as a policy glob (repeatable)")
	if args[0] != "learn" {
		fmt.Print(policyUsage)
		fs.PrintDefaults()
		return 0
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Print(policyUsage)
			fs.PrintDefaults()
			return 0
		}
		errorf("policy learn: %v", err)
		return exitSetup
	}
	if fs.NArg() == 0 {
		errorf("policy learn: no log given (usage: exectrail policy learn LOG... > job.policy)")
		return exitSetup
	}
	norm, err := normalizer(specs)
	if err != nil {
		errorf("policy learn: %v", err)
		return exitSetup
	}
	stdin := 0
	for _, n := range fs.Args() {
		if n == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		errorf("policy learn: standard input can be read only once")
		return exitSetup
	}
	l := learn.New(norm, specs)
	for _, name := range fs.Args() {
		r, display, err := runlog.Open(name)
		if err != nil {
			errorf("policy learn: %v", err)
			return exitLearn
		}
		err = l.Add(display, r)
		r.Close()
		if err != nil {
			errorf("policy learn: %v", err)
			return exitLearn
		}
	}
	if err := l.Policy(time.Now()).Write(os.Stdout); err != nil {
		errorf("policy learn: writing the policy: %v", err)
		return exitLearn
	}
	return 0
}
