package integration

// The command line's contract as testscript scripts
// (testdata/script/*.txtar, github.com/rogpeppe/go-internal/testscript):
// usage and --help, unknown flags and subcommands, exit statuses, the one
// error line, bad input for every subcommand. Each script reads like a
// terminal session; bin/exectrail is on its PATH as exectrail, and
// $BACKEND is the backend of this run of the suite (EXECTRAIL_BACKEND),
// for the scripts that start a job.
//
// Two commands are added to testscript's own:
//
//	exits STATUS PROGRAM [ARG...]
//	    run PROGRAM as exec does; it must exit with STATUS (a number), or
//	    be killed by the signal STATUS names (SIGTERM)
//	errline PATTERN
//	    the last command's stderr is exactly one line, "exectrail: " and
//	    then text matching PATTERN (and no Go panic)

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// TestScripts runs every script but exit.txtar, which TestScriptExit runs
// alone: the kernel test guests run it (Makefile GUEST_RUN), the rest of
// the contract does not depend on the kernel.
func TestScripts(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "script", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == exitScript })
	runScripts(t, files)
}

// exitScript holds the exit statuses of exectrail run: 125, 126, 127,
// 128+N, the command's own.
const exitScript = "exit.txtar"

func TestScriptExit(t *testing.T) {
	t.Parallel()
	runScripts(t, []string{filepath.Join("testdata", "script", exitScript)})
}

func runScripts(t *testing.T, files []string) {
	testscript.Run(t, testscript.Params{
		Files:               files,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", filepath.Dir(exectrail)+":"+os.Getenv("PATH"))
			env.Setenv("BACKEND", backend)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":   scriptExits,
			"errline": scriptErrline,
		},
	})
}

// scriptExits is the exits command.
func scriptExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits STATUS PROGRAM [ARG...]")
	}
	want := args[0]
	if _, err := strconv.Atoi(want); err != nil && unix.SignalNum(want) == 0 {
		ts.Fatalf("exits: %q is neither a status nor a signal name", want)
	}
	err := ts.Exec(args[1], args[2:]...)
	got := "0"
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			got = unix.SignalName(ws.Signal())
		} else {
			got = strconv.Itoa(ws.ExitStatus())
		}
	default:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with %s, want %s", args[1], got, want)
	}
}

// scriptErrline is the errline command.
func scriptErrline(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: errline PATTERN")
	}
	re, err := regexp.Compile(args[0])
	ts.Check(err)
	stderr := ts.ReadFile("stderr")
	line, rest, _ := strings.Cut(stderr, "\n")
	msg, ok := strings.CutPrefix(line, "exectrail: ")
	switch {
	case !strings.HasSuffix(stderr, "\n") || rest != "":
		ts.Fatalf("stderr is not one line:\n%s", stderr)
	case !ok:
		ts.Fatalf("stderr does not start with \"exectrail: \": %q", line)
	case strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine"):
		ts.Fatalf("stderr shows a Go panic: %q", line)
	case !re.MatchString(msg):
		ts.Fatalf("stderr %q does not match %q", line, args[0])
	}
}
