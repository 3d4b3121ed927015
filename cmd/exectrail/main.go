// Command exectrail records every process a command runs.
//
//	exectrail run [flags] -- COMMAND [ARG...]
//	exectrail report [flags] LOG
//	exectrail play [flags] FILE
//	exectrail keygen FILE
//	exectrail diff [flags] BASE NEW
//	exectrail policy learn [flags] LOG...
//	exectrail version
//	exectrail doctor [--format json]
//
// See README.md for the flags, the records and the exit codes.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/doctor"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/signkey"
	"golang.org/x/sys/unix"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: exectrail run [flags] -- COMMAND [ARG...]
       exectrail report [flags] LOG   (see exectrail report --help)
       exectrail play [--speed N] [--idle-limit SECONDS] FILE
       exectrail keygen [--force] FILE   (an Ed25519 pair for run --sign-key)
       exectrail diff [flags] BASE NEW  (see exectrail diff --help)
       exectrail policy learn [flags] LOG... > job.policy
       exectrail version
       exectrail doctor [--format text|json]   (can exectrail work here? why not?)

run flags:
`

func init() {
	// Keep main on the process's main thread: the child stage must exec
	// from the thread whose id is the pid, which is the one a ptrace
	// supervisor attaches to.
	runtime.LockOSThread()
}

func main() {
	// The child stage is chosen before anything else.
	if len(os.Args) > 1 && os.Args[1] == childStageArg {
		os.Exit(childMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == doctor.ProbeArg {
		os.Exit(doctor.ProbeMain(os.Args[2:])) // exectrail doctor's probe children
	}
	// Before anything else, and so before any job exists: no process
	// without CAP_SYS_PTRACE may read or write exectrail's memory, take
	// its fds (pidfd_getfd: the seccomp listener) or trace it. Its own
	// /proc/self stays readable to itself; the child stage regains
	// dumpability at its exec, so the job is as readable as ever.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		errorf("making exectrail non-dumpable: %v", err)
		os.Exit(exitSetup)
	}
	os.Exit(cliMain(os.Args[1:]))
}

func cliMain(args []string) int {
	if len(args) == 0 {
		errorf("no subcommand (want run, report, play, doctor or version); see exectrail run --help")
		return exitSetup
	}
	switch args[0] {
	case "run":
		return runMain(args[1:])
	case "report":
		return reportMain(args[1:])
	case "play":
		return playMain(args[1:]) // play.go
	case "doctor":
		return doctorMain(args[1:]) // doctor.go
	case "keygen":
		return signkey.Keygen(args[1:], os.Stdout, os.Stderr)
	case "diff":
		return diffMain(args[1:]) // diff.go
	case "policy":
		return policyMain(args[1:]) // policy.go
	case "version", "--version":
		return versionMain(args[1:]) // version.go
	case "help", "-h", "--help":
		fmt.Print(usage)
		newRunFlags().fs.PrintDefaults()
		return 0
	}
	errorf("unknown subcommand %q (want run, report, play, doctor or version)", args[0])
	return exitSetup
}
