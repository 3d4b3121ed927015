package integration

// exectrail on a terminal: an interactive shell under exectrail must feel
// like plain bash, and exectrail as a job of an interactive shell must
// take part in job control (SPEC, "The launched command keeps the
// terminal"; KERNEL-FACTS 31–33).

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// An interactive bash under exectrail: typing, relative execs, Ctrl-C to
// a foreground job, window size, and the exit status.
func TestTTYInteractiveShell(t *testing.T) {
	t.Parallel()
	requireBash(t)
	out := filepath.Join(t.TempDir(), "records")
	cmd := exec.Command(exectrail, "run", "--backend", backend, "-o", out, "--format", "json", "--", "bash", "--norc", "--noprofile", "-i")
	cmd.Env = shellEnv()
	cmd.Dir = "/"
	master, screen := startOnPTY(t, cmd, 24, 80)

	screen.waitFor(t, shellPrompt)
	typeKeys(t, master, "cd /bin\r")
	screen.waitFor(t, shellPrompt)
	typeKeys(t, master, "./ls -d /\r")
	screen.waitFor(t, "\n/\r\n") // the echoed command line ends in " /\r\n"
	screen.waitFor(t, shellPrompt)
	typeKeys(t, master, "echo hi $((6*7))x\r")
	screen.waitFor(t, "hi 42x")
	screen.waitFor(t, shellPrompt)

	// Window size: a resize of the terminal reaches the job.
	if err := pty.Setsize(master, &pty.Winsize{Rows: 33, Cols: 101}); err != nil {
		t.Fatal(err)
	}
	typeKeys(t, master, "stty size\r")
	screen.waitFor(t, "33 101")
	screen.waitFor(t, shellPrompt)

	// Ctrl-C stops the foreground job, not the shell (nor exectrail).
	typeKeys(t, master, "sleep 1000\r")
	recs := waitRecords(t, out, "the exec of sleep", func(r []Record) bool {
		for _, rec := range r {
			if rec.Event == "exec" && rec.Executable == "/usr/bin/sleep" {
				return true
			}
		}
		return false
	})
	killLater(t, recs, "/usr/bin/sleep")
	// The record is written once sleep's child is in the terminal's
	// foreground process group: bash moves it there before exec.
	typeKeys(t, master, "\x03")
	screen.waitFor(t, shellPrompt)
	typeKeys(t, master, "echo alive$((1+1)) $?\r")
	screen.waitFor(t, "alive2 130")
	screen.waitFor(t, shellPrompt)

	typeKeys(t, master, "exit 5\r")
	ws := waitCmd(t, cmd)
	if !ws.Exited() || ws.ExitStatus() != 5 {
		t.Errorf("exectrail: status %v, want exit 5 (the shell's)", ws)
	}
	screen.quiet(t)

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Records: parseRecords(t, data)}
	lsRecs := r.ExecsOf("/usr/bin/ls")
	if len(lsRecs) != 1 {
		t.Fatalf("want one exec of /usr/bin/ls:\n%s", dump(r.Records))
	}
	wantExec(t, lsRecs[0], "./ls", "/usr/bin/ls", "/usr/bin")
	if len(r.ExecsOf("/usr/bin/sleep")) != 1 {
		t.Errorf("want one exec of /usr/bin/sleep:\n%s", dump(r.Records))
	}
	if len(r.ExecsOf("/usr/bin/stty")) != 1 {
		t.Errorf("want one exec of /usr/bin/stty:\n%s", dump(r.Records))
	}
}

// exectrail as a job of an interactive bash, with the backend under test:
// Ctrl-Z stops it and the command, fg resumes them in the foreground,
// Ctrl-C kills the command, which gets an exit record saying SIGINT, and
// exectrail reports it as bash expects (death by SIGINT, $? = 130, so a
// shell loop breaks). With ptrace the job's group-stop is left with
// PTRACE_LISTEN (KERNEL-FACTS 26): a stopped tracee shows "t".
func TestTTYJobControl(t *testing.T) {
	t.Parallel()
	requireBash(t)
	out := filepath.Join(t.TempDir(), "records")
	cmd := exec.Command("bash", "--norc", "--noprofile", "-i")
	cmd.Env = shellEnv("ET="+exectrail, "OUT="+out, "BACKEND="+backend)
	cmd.Dir = "/"
	master, screen := startOnPTY(t, cmd, 24, 120)
	screen.waitFor(t, shellPrompt)

	awaitSleep := func(what, out string) Record {
		t.Helper()
		var sleep Record
		recs := waitRecords(t, out, what, func(r []Record) bool {
			for _, rec := range r {
				if rec.Event == "exec" && rec.Executable == "/usr/bin/sleep" {
					sleep = rec
					return true
				}
			}
			return false
		})
		killLater(t, recs, "/usr/bin/sleep")
		if v := sleep.Verified; backend == "ptrace" && (v == nil || !*v) {
			t.Fatalf("the sleep's exec record is not verified: is this the ptrace backend?\n%s", dump(recs))
		}
		return sleep
	}
	stopped := func(pid int) bool {
		st := procState(pid)
		return st == "T" || backend == "ptrace" && st == "t"
	}

	typeKeys(t, master, "\"$ET\" run --backend \"$BACKEND\" -o \"$OUT\" --format json -- sleep 1000\r")
	sleepPID := awaitSleep("the exec of sleep", out).PID
	// The record is written while the exec is still held; a Ctrl-Z in that
	// window would stop exectrail before it lets the exec go on, and the
	// held (killable-only) exec would take the stop only after fg. Wait
	// until the exec has completed.
	waitUntil(t, "the exec of sleep to complete", func() bool {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", sleepPID))
		return err == nil && exe == "/usr/bin/sleep"
	})

	// exectrail's process group was the foreground one before exectrail
	// started, so Ctrl-Z reaches it and the job.
	typeKeys(t, master, "\x1a")
	screen.waitFor(t, "Stopped")
	screen.waitFor(t, shellPrompt)
	waitUntil(t, "the command (sleep) to stop after Ctrl-Z", func() bool { return stopped(sleepPID) })

	typeKeys(t, master, "fg\r")
	screen.waitFor(t, "sleep 1000\r\n") // bash names the job it resumes
	// bash prints the job before it hands the terminal over and sends
	// SIGCONT: wait for both, or Ctrl-C could reach bash instead.
	jobPgrp, err := unix.Getpgid(sleepPID)
	if err != nil {
		t.Fatalf("getpgid(sleep): %v", err)
	}
	waitUntil(t, "the job to run again in the foreground after fg", func() bool {
		fg, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPGRP)
		return err == nil && fg == jobPgrp && procState(sleepPID) == "S"
	})

	typeKeys(t, master, "\x03")
	screen.waitFor(t, shellPrompt)
	typeKeys(t, master, "echo status=$?\r")
	screen.waitFor(t, "status=130")
	screen.waitFor(t, shellPrompt)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	checkExit(t, &Run{Records: parseRecords(t, data)}, sleepPID, outcome{sig: "SIGINT"}, "sleep after Ctrl-C")

	// Death by SIGINT, not exit 130: an interactive bash then breaks out
	// of a loop (KERNEL-FACTS 33).
	out2 := filepath.Join(t.TempDir(), "records")
	typeKeys(t, master, "for i in 1 2; do \"$ET\" run --backend \"$BACKEND\" -o "+out2+" -- sleep 1000; echo iter$i; done\r")
	awaitSleep("the exec of sleep in the loop", out2)
	typeKeys(t, master, "\x03")
	if got := screen.waitForAny(t, shellPrompt, "iter1"); got != shellPrompt {
		t.Fatalf("Ctrl-C did not break the shell loop: exectrail must die of SIGINT, not exit 130")
	}

	typeKeys(t, master, "exit 0\r")
	waitCmd(t, cmd)

	screen.quiet(t)
	if !pidGone(sleepPID) {
		t.Errorf("sleep (pid %d) survived Ctrl-C", sleepPID)
	}
}
