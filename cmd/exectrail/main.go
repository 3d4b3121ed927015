// Command exectrail records every process a command runs.
//
//	exectrail run [flags] -- COMMAND [ARG...]
//	exectrail report [flags] LOG
//	exectrail play [flags] FILE
//	exectrail keygen FILE
//	exectrail diff [flags] BASE NEW
//	exectrail policy learn [flags] LOG...
//	exectrail verify [--key PUB] LOG
//	exectrail version
//	exectrail doctor [--format json]
//
// See README.md for the flags, the records and the exit codes.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/doctor"
	"golang.org/x/sys/unix"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: exectrail run [flags] -- COMMAND [ARG...]

Runs COMMAND and records every process it runs (see README.md for the
records and the exit statuses).

run flags:
`

// command is one subcommand: what `exectrail --help` lists about it, and
// its main, which takes the arguments after its name.
type command struct {
	name, args, summary string
	main                func(args []string) int
}

// commands are the subcommands, in the order the help lists them. A new
// subcommand is one more line here.
var commands = []command{
	{"run", "[flags] -- COMMAND [ARG...]", "run COMMAND, recording every process it runs", runMain},
	{"report", "[flags] LOG", "the process tree, a summary, markdown or a timeline of a record log", reportMain},
	{"play", "[flags] FILE", "replay a session recorded with run --record", playMain},             // play.go
	{"version", "", "print exectrail's version, commit, Go, libseccomp and linking", versionMain}, // version.go
	{"doctor", "[--format text|json]", "can exectrail work here? why not?", doctorMain},           // doctor.go
	{"keygen", "[--force] FILE", "make an Ed25519 pair for run --sign-key", keygenMain},           // keygen.go
	{"diff", "[flags] BASE NEW", "what changed between two record logs", diffMain},                // diff.go
	{"policy", "learn [flags] LOG...", "write a policy from what record logs ran", policyMain},    // policy.go
	{"verify", "[--key PUB] LOG", "check a log's chain, counts and signature", verifyMain},        // verify.go
	{"help", "[COMMAND]", "list the subcommands, or show COMMAND's flags", nil},                   // helpMain (a cycle otherwise)
}

// writeCommands writes the list of subcommands, one line each.
func writeCommands(w io.Writer) {
	fmt.Fprintf(w, "usage: exectrail COMMAND [ARG...]\n\ncommands:\n")
	width := 0
	for _, c := range commands {
		width = max(width, len(c.name)+1+len(c.args))
	}
	for _, c := range commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name+" "+c.args, c.summary)
	}
	fmt.Fprintf(w, "\nexectrail help COMMAND (or exectrail COMMAND --help) shows its flags.\n")
}

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
		cli.Errorf("making exectrail non-dumpable: %v", err)
		os.Exit(cli.ExitSetup)
	}
	os.Exit(cliMain(os.Args[1:]))
}

func cliMain(args []string) int {
	if len(args) == 0 {
		cli.Errorf("no subcommand")
		writeCommands(os.Stderr)
		return cli.ExitSetup
	}
	switch args[0] {
	case "-h", "--help":
		return helpMain(args[1:])
	case "--version":
		return versionMain(args[1:])
	}
	if c := lookupCommand(args[0]); c != nil {
		if c.main == nil {
			return helpMain(args[1:])
		}
		return c.main(args[1:])
	}
	cli.Errorf("unknown subcommand %q (exectrail --help lists them)", args[0])
	return cli.ExitSetup
}

func lookupCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// helpMain is `exectrail help [COMMAND]`: the list of subcommands, or
// COMMAND --help.
func helpMain(args []string) int {
	switch {
	case len(args) == 0:
		writeCommands(os.Stdout)
		return 0
	case len(args) > 1:
		cli.For("help").Errorf("want at most one COMMAND, got %d arguments", len(args))
		return cli.ExitSetup
	case args[0] == "help":
		writeCommands(os.Stdout)
		return 0
	}
	c := lookupCommand(args[0])
	if c == nil {
		cli.For("help").Errorf("unknown subcommand %q (exectrail --help lists them)", args[0])
		return cli.ExitSetup
	}
	return c.main([]string{"--help"})
}
