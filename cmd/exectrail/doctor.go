package main

// exectrail doctor: can exectrail work here, and if not, why not
// (cmd/exectrail/internal/doctor does the checks).

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/doctor"
	"github.com/spf13/pflag"
)

// doctorHint ends the one-line error of an `exectrail run` that could not
// start its job (status 125).
const doctorHint = " (run 'exectrail doctor' for details)"

// startErrorf reports a failure to start the job.
func startErrorf(format string, args ...any) {
	errorf(format+"%s", append(args, doctorHint)...)
}

func doctorMain(args []string) int {
	fs := pflag.NewFlagSet("doctor", pflag.ContinueOnError)
	format := fs.String("format", "text", "text or json")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printHelp("usage: exectrail doctor [--format text|json]\nChecks whether exectrail can work here and says why not; exit 0 when at least one backend works, 1 otherwise.\n", fs)
			return 0
		}
		errorf("doctor: %v", err)
		return exitSetup
	}
	if fs.NArg() > 0 {
		errorf("doctor: unexpected argument %q", fs.Arg(0))
		return exitSetup
	}
	if *format != "text" && *format != "json" {
		errorf("doctor: unknown --format %q (want text or json)", *format)
		return exitSetup
	}
	rep := doctor.Run("/proc/self/exe")
	if *format == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			errorf("doctor: %v", err)
			return exitSetup
		}
	} else {
		rep.WriteText(os.Stdout)
	}
	if !rep.OK {
		return 1
	}
	return 0
}
