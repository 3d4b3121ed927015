package main

// exectrail doctor: can exectrail work here, and if not, why not
// (cmd/exectrail/internal/doctor does the checks).

import (
	"encoding/json"
	"os"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/doctor"
	"github.com/spf13/pflag"
)

// doctorHint ends the one-line error of an `exectrail run` that could not
// start its job (status 125).
const doctorHint = " (run 'exectrail doctor' for details)"

// startErrorf reports a failure to start the job.
func startErrorf(format string, args ...any) {
	cli.Errorf(format+"%s", append(args, doctorHint)...)
}

const doctorUsage = "usage: exectrail doctor [--format text|json]\nChecks whether exectrail can work here and says why not; exit 0 when at least one backend works, 1 otherwise.\n"

func doctorMain(args []string) int {
	fs := pflag.NewFlagSet("doctor", pflag.ContinueOnError)
	format := fs.String("format", "text", "text or json")
	say := cli.For("doctor")
	if status, done := say.Parse(fs, args, doctorUsage, cli.ExitSetup); done {
		return status
	}
	if fs.NArg() > 0 {
		say.Errorf("unexpected argument %q", fs.Arg(0))
		return cli.ExitSetup
	}
	if *format != "text" && *format != "json" {
		say.Errorf("unknown --format %q (want text or json)", *format)
		return cli.ExitSetup
	}
	rep := doctor.Run("/proc/self/exe")
	if *format == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			say.Errorf("%v", err)
			return cli.ExitSetup
		}
	} else {
		rep.WriteText(os.Stdout)
	}
	if !rep.OK {
		return cli.ExitFailed
	}
	return 0
}
