package main

// exectrail policy learn LOG...

import (
	"os"
	"time"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
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

func policyMain(args []string) int {
	if len(args) == 0 || (args[0] != "learn" && args[0] != "-h" && args[0] != "--help" && args[0] != "help") {
		if len(args) == 0 {
			cli.For("policy").Errorf("no subcommand (want: exectrail policy learn LOG...)")
		} else {
			cli.For("policy").Errorf("unknown subcommand %q (want: exectrail policy learn LOG...)", args[0])
		}
		return cli.ExitSetup
	}
	fs := pflag.NewFlagSet("policy learn", pflag.ContinueOnError)
	var specs []string
	fs.StringArrayVar(&specs, "normalize", nil, "rewrite paths before learning: REGEX=REPLACEMENT, the replacement written as a policy glob (repeatable)")
	say := cli.For("policy learn")
	if args[0] != "learn" {
		say.Help(fs, policyUsage)
		return 0
	}
	if status, done := say.Parse(fs, args[1:], policyUsage, cli.ExitSetup); done {
		return status
	}
	if fs.NArg() == 0 {
		say.Errorf("no log given (usage: exectrail policy learn LOG... > job.policy)")
		return cli.ExitSetup
	}
	norm, err := normalizer(specs)
	if err != nil {
		say.Errorf("%v", err)
		return cli.ExitSetup
	}
	stdin := 0
	for _, n := range fs.Args() {
		if n == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		say.Errorf("standard input can be read only once")
		return cli.ExitSetup
	}
	l := learn.New(norm, specs)
	for _, name := range fs.Args() {
		r, display, err := runlog.Open(name)
		if err != nil {
			say.Errorf("%v", err)
			return cli.ExitFailed
		}
		err = l.Add(display, r)
		r.Close()
		if err != nil {
			say.Errorf("%v", err)
			return cli.ExitFailed
		}
	}
	if err := l.Policy(time.Now()).Write(os.Stdout); err != nil {
		say.Errorf("writing the policy: %v", err)
		return cli.ExitFailed
	}
	return 0
}
