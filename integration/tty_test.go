package integration

// exectrail on a terminal: an interactive shell under exectrail must feel
// like plain bash, and exectrail as a job of an interactive shell must
// take part in job control (SPEC, "The launched command keeps the
// terminal"; KERNEL-FACTS 31–33).

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ttyPrompt is the shells' PS1: it appears in no command the tests type.
const ttyPrompt = "ttyprompt-5c1e> "

// ttyScreen collects what the terminal shows and waits for strings in it.
type ttyScreen struct {
	mu      sync.Mutex
	buf     []byte
	off     int // everything before off has been matched
	eof     bool
	changed chan struct{}
}

func newTTYScreen(master *os.File) *ttyScreen {
	s := &ttyScreen{changed: make(chan struct{}, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			s.mu.Lock()
			s.buf = append(s.buf, b[:n]...)
			if err != nil {
				s.eof = true
			}
			s.mu.Unlock()
			select {
			case s.changed <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

// waitForAny waits, bounded by ltTimeout, until one of wants appears
// after the previous match, consumes the screen up to the end of the first
// one and returns it.
func (s *ttyScreen) waitForAny(t *testing.T, wants ...string) string {
	t.Helper()
	timer := time.NewTimer(ltTimeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		first, end := "", -1
		for _, w := range wants {
			if i := bytes.Index(s.buf[s.off:], []byte(w)); i >= 0 && (end < 0 || i < end-len(first)) {
				first, end = w, i+len(w)
			}
		}
		if end >= 0 {
			s.off += end
		}
		eof, seen := s.eof, string(s.buf[s.off:])
		s.mu.Unlock()
		if end >= 0 {
			return first
		}
		if eof {
			t.Fatalf("terminal closed before any of %q appeared; unmatched output:\n%q", wants, seen)
		}
		select {
		case <-s.changed:
		case <-timer.C:
			t.Fatalf("none of %q appeared on the terminal within %v; unmatched output:\n%q", wants, ltTimeout, seen)
		}
	}
}

// waitFor waits, bounded by ltTimeout, until want appears after the
// previous match, and consumes the screen up to its end.
func (s *ttyScreen) waitFor(t *testing.T, want string) {
	t.Helper()
	s.waitForAny(t, want)
}

// ttyType writes keystrokes to the terminal.
func ttyType(t *testing.T, master *os.File, keys string) {
	t.Helper()
	if _, err := master.WriteString(keys); err != nil {
		t.Fatalf("typing %q: %v", keys, err)
	}
}

// ttyEnv is the environment of the interactive shells.
func ttyEnv(extra ...string) []string {
	return append([]string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=/tmp",
		"TERM=dumb",
		"PS1=" + ttyPrompt,
		"HISTFILE=/dev/null",
		"INPUTRC=/dev/null",
		"LC_ALL=C",
	}, extra...)
}

func ttyRequireBash(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		skipf(t, "needs bash")
	}
}

// ttyWaitCmd waits for cmd, bounded by ltTimeout (killing it then).
func ttyWaitCmd(t *testing.T, cmd *exec.Cmd) syscall.WaitStatus {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("waiting for %v: %v", cmd.Args, err)
		}
		return cmd.ProcessState.Sys().(syscall.WaitStatus)
	case <-time.After(ltTimeout):
		_ = cmd.Process.Kill()
		t.Fatalf("%v did not exit within %v", cmd.Args, ltTimeout)
	}
	return 0
}

// ttyKillLater SIGKILLs, at the end of the test, the processes of records
// matching exe (a leftover sleep when the test fails half way).
func ttyKillLater(t *testing.T, recs []Record, exe string) {
	for _, r := range recs {
		if r.Event == "exec" && r.Executable == exe {
			if fd, err := unix.PidfdOpen(r.PID, 0); err == nil {
				t.Cleanup(func() {
					_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
					unix.Close(fd)
				})
			}
		}
	}
}

// ttyStart starts cmd on a new pty of rows×cols, kills it and closes the
// master when the test ends, and returns the master with a screen that
// collects everything the pty shows.
func ttyStart(t *testing.T, cmd *exec.Cmd, rows, cols uint16) (*os.File, *ttyScreen) {
	t.Helper()
	master, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		master.Close()
	})
	return master, newTTYScreen(master)
}

// An interactive bash under exectrail: typing, relative execs, Ctrl-C to
// a foreground job, window size, and the exit status.
func TestTTYInteractiveShell(t *testing.T) {
	t.Parallel()
	ttyRequireBash(t)
	out := filepath.Join(t.TempDir(), "records")
	cmd := exec.Command(exectrail, "run", "--backend", backend, "-o", out, "--format", "json", "--", "bash", "--norc", "--noprofile", "-i")
	cmd.Env = ttyEnv()
	cmd.Dir = "/"
	master, screen := ttyStart(t, cmd, 24, 80)

	screen.waitFor(t, ttyPrompt)
	ttyType(t, master, "cd /bin\r")
	screen.waitFor(t, ttyPrompt)
	ttyType(t, master, "./ls -d /\r")
	screen.waitFor(t, "\n/\r\n") // the echoed command line ends in " /\r\n"
	screen.waitFor(t, ttyPrompt)
	ttyType(t, master, "echo hi $((6*7))x\r")
	screen.waitFor(t, "hi 42x")
	screen.waitFor(t, ttyPrompt)

	// Window size: a resize of the terminal reaches the job.
	if err := pty.Setsize(master, &pty.Winsize{Rows: 33, Cols: 101}); err != nil {
		t.Fatal(err)
	}
	ttyType(t, master, "stty size\r")
	screen.waitFor(t, "33 101")
	screen.waitFor(t, ttyPrompt)

	// Ctrl-C stops the foreground job, not the shell (nor exectrail).
	ttyType(t, master, "sleep 1000\r")
	recs := ltWaitRecords(t, out, "the exec of sleep", func(r []Record) bool {
		for _, rec := range r {
			if rec.Event == "exec" && rec.Executable == "/usr/bin/sleep" {
				return true
			}
		}
		return false
	})
	ttyKillLater(t, recs, "/usr/bin/sleep")
	// The record is written once sleep's child is in the terminal's
	// foreground process group: bash moves it there before exec.
	ttyType(t, master, "\x03")
	screen.waitFor(t, ttyPrompt)
	ttyType(t, master, "echo alive$((1+1)) $?\r")
	screen.waitFor(t, "alive2 130")
	screen.waitFor(t, ttyPrompt)

	ttyType(t, master, "exit 5\r")
	ws := ttyWaitCmd(t, cmd)
	if !ws.Exited() || ws.ExitStatus() != 5 {
		t.Errorf("exectrail: status %v, want exit 5 (the shell's)", ws)
	}
	screen.mu.Lock()
	all := string(screen.buf)
	screen.mu.Unlock()
	ltNoPanic(t, all)
	if strings.Contains(all, "exectrail:") {
		t.Errorf("exectrail wrote to the terminal:\n%q", all)
	}

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

// exectrail as a job of an interactive bash: Ctrl-Z stops it, fg resumes
// it, Ctrl-C kills the command and exectrail reports it as bash expects
// (death by SIGINT, $? = 130).
func TestTTYJobControl(t *testing.T) {
	t.Parallel()
	ttyRequireBash(t)
	out := filepath.Join(t.TempDir(), "records")
	cmd := exec.Command("bash", "--norc", "--noprofile", "-i")
	cmd.Env = ttyEnv("ET="+exectrail, "OUT="+out)
	cmd.Dir = "/"
	master, screen := ttyStart(t, cmd, 24, 120)
	screen.waitFor(t, ttyPrompt)

	ttyType(t, master, "\"$ET\" run -o \"$OUT\" --format json -- sleep 1000\r")
	var sleepPID int
	recs := ltWaitRecords(t, out, "the exec of sleep", func(r []Record) bool {
		for _, rec := range r {
			if rec.Event == "exec" && rec.Executable == "/usr/bin/sleep" {
				sleepPID = rec.PID
				return true
			}
		}
		return false
	})
	ttyKillLater(t, recs, "/usr/bin/sleep")
	// The record is written while the exec is still held; a Ctrl-Z in that
	// window would stop exectrail before it lets the exec go on, and the
	// held (killable-only) exec would take the stop only after fg. Wait
	// until the exec has completed.
	ttyWaitUntil(t, "the exec of sleep to complete", func() bool {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", sleepPID))
		return err == nil && exe == "/usr/bin/sleep"
	})

	// exectrail's process group was the foreground one before exectrail
	// started, so Ctrl-Z reaches it and the job.
	ttyType(t, master, "\x1a")
	screen.waitFor(t, "Stopped")
	screen.waitFor(t, ttyPrompt)
	ttyWaitUntil(t, "the command (sleep) to stop after Ctrl-Z", func() bool { return ttyProcState(sleepPID) == "T" })

	ttyType(t, master, "fg\r")
	screen.waitFor(t, "sleep 1000\r\n") // bash names the job it resumes
	// bash prints the job before it hands the terminal over and sends
	// SIGCONT: wait for both, or Ctrl-C could reach bash instead.
	jobPgrp, err := unix.Getpgid(sleepPID)
	if err != nil {
		t.Fatalf("getpgid(sleep): %v", err)
	}
	ttyWaitUntil(t, "the job to be resumed in the foreground after fg", func() bool {
		fg, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPGRP)
		return err == nil && fg == jobPgrp && ttyProcState(sleepPID) != "T"
	})

	ttyType(t, master, "\x03")
	screen.waitFor(t, ttyPrompt)
	ttyType(t, master, "echo status=$?\r")
	screen.waitFor(t, "status=130")
	screen.waitFor(t, ttyPrompt)

	// Death by SIGINT, not exit 130: an interactive bash then breaks out
	// of a loop (KERNEL-FACTS 33).
	out2 := filepath.Join(t.TempDir(), "records")
	ttyType(t, master, "for i in 1 2; do \"$ET\" run -o "+out2+" -- sleep 1000; echo iter$i; done\r")
	recs = ltWaitRecords(t, out2, "the exec of sleep in the loop", func(r []Record) bool {
		for _, rec := range r {
			if rec.Event == "exec" && rec.Executable == "/usr/bin/sleep" {
				return true
			}
		}
		return false
	})
	ttyKillLater(t, recs, "/usr/bin/sleep")
	ttyType(t, master, "\x03")
	if got := screen.waitForAny(t, ttyPrompt, "iter1"); got != ttyPrompt {
		t.Fatalf("Ctrl-C did not break the shell loop: exectrail must die of SIGINT, not exit 130")
	}

	ttyType(t, master, "exit 0\r")
	ttyWaitCmd(t, cmd)

	screen.mu.Lock()
	all := string(screen.buf)
	screen.mu.Unlock()
	ltNoPanic(t, all)
	if !ltPidGone(sleepPID) {
		t.Errorf("sleep (pid %d) survived Ctrl-C", sleepPID)
	}
}

// ttyWaitUntil polls cond, bounded by ltTimeout.
func ttyWaitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ltTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", what, ltTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ttyProcState returns the state letter of /proc/PID/stat ("" if gone).
func ttyProcState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+3 > len(s) {
		return ""
	}
	return s[i+2 : i+3]
}
