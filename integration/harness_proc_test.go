package integration

// The harness's processes: the bound on every wait, exectrail run
// directly (runRaw, runCmd, runCLI), the binary nobody can run
// (nobodyBinary, for runTrail with Opts.Cred), line-by-line pipes, pids,
// pidfds and process states, and polling a records file while the job
// runs (waitRecords).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitTimeout bounds every wait of the harness and the tests; reaching it
// fails the test.
const waitTimeout = 15 * time.Second

// noPanic fails the test when exectrail's stderr shows a Go crash.
func noPanic(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
		t.Errorf("stderr shows a Go panic or stack trace:\n%s", stderr)
	}
}

// oneErrorLine checks that stderr is exactly one "exectrail: ..." line.
func oneErrorLine(t *testing.T, what, stderr string) {
	t.Helper()
	noPanic(t, stderr)
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if !strings.HasSuffix(stderr, "\n") || len(lines) != 1 || !strings.HasPrefix(lines[0], "exectrail: ") {
		t.Errorf("%s: want exactly one stderr line starting %q, got:\n%q", what, "exectrail: ", stderr)
	}
}

// runRaw runs the exectrail binary with exactly args, bounded by
// waitTimeout, and returns its output and wait status.
func runRaw(t *testing.T, args ...string) (stdout, stderr string, ws syscall.WaitStatus) {
	t.Helper()
	return runCmd(t, exectrail, args...)
}

// runCmd runs name args..., bounded by waitTimeout, and returns its output
// and wait status.
func runCmd(t *testing.T, name string, args ...string) (stdout, stderr string, ws syscall.WaitStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish within %v\nstderr: %s", name, args, waitTimeout, e.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running %s %q: %v", name, args, err)
	}
	return o.String(), e.String(), cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// runCLI runs the exectrail binary with exactly args, like runRaw, for
// the subcommands that start no job (report, diff, version, and run's
// usage errors), and returns its stdout, stderr and exit status (-1 when
// a signal killed it).
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, ws := runRaw(t, args...)
	return stdout, stderr, ws.ExitStatus()
}

const exitSetupStatus = 125

// lineReader delivers the lines a process writes, one at a time, each wait
// bounded by waitTimeout.
type lineReader struct {
	ch chan string
}

// next returns the next line; ok is false at EOF.
func (l *lineReader) next(t *testing.T) (line string, ok bool) {
	t.Helper()
	select {
	case line, ok = <-l.ch:
		return line, ok
	case <-time.After(waitTimeout):
		t.Fatalf("no output line within %v", waitTimeout)
	}
	return "", false
}

// rest reads every remaining line up to EOF.
func (l *lineReader) rest(t *testing.T) []string {
	t.Helper()
	var out []string
	for {
		line, ok := l.next(t)
		if !ok {
			return out
		}
		out = append(out, line)
	}
}

// startPiped starts cmd with its stdin and stdout as pipes held by the
// test (stdout read line by line) and its stderr collected, and kills it
// when the test ends.
func startPiped(t *testing.T, cmd *exec.Cmd) (io.WriteCloser, *lineReader, *bytes.Buffer) {
	t.Helper()
	stdin, stdout, stderr := startPipes(t, cmd)
	return stdin, readLines(stdout), stderr
}

// startPipes starts cmd with its stdin and stdout as pipes held by the
// test and its stderr collected, and kills it when the test ends.
func startPipes(t *testing.T, cmd *exec.Cmd) (io.WriteCloser, io.ReadCloser, *bytes.Buffer) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return stdin, stdout, stderr
}

func readLines(r io.Reader) *lineReader {
	l := &lineReader{ch: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.ch <- sc.Text()
		}
		close(l.ch)
	}()
	return l
}

// pidGone reports whether pid no longer exists (kill(pid, 0) is ESRCH).
func pidGone(pid int) bool {
	return unix.Kill(pid, 0) == unix.ESRCH
}

// waitPidfd waits, bounded by waitTimeout, until the process behind pidfd
// has terminated.
func waitPidfd(t *testing.T, pidfd int, what string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			t.Fatalf("%s did not terminate within %v", what, waitTimeout)
		}
		pfd := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd: %v", err)
		}
		if n > 0 {
			return
		}
	}
}

// waitRecords polls the records file, bounded by waitTimeout, until pred
// holds for the records written so far (a record is complete when its
// line is). It returns those records.
func waitRecords(t *testing.T, file, what string, pred func([]Record) bool) []Record {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		data, _ := os.ReadFile(file)
		if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
			recs := parseRecords(t, data[:i+1])
			if pred(recs) {
				return recs
			}
		} else if pred(nil) {
			return nil
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not there within %v; records so far:\n%s", what, waitTimeout, data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitUntil polls cond, bounded by waitTimeout.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", what, waitTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// procState returns the state letter of /proc/PID/stat ("" if gone).
func procState(pid int) string {
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

// waitCmd waits for cmd, bounded by waitTimeout (killing it then).
func waitCmd(t *testing.T, cmd *exec.Cmd) syscall.WaitStatus {
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
	case <-time.After(waitTimeout):
		_ = cmd.Process.Kill()
		t.Fatalf("%v did not exit within %v", cmd.Args, waitTimeout)
	}
	return 0
}

// killLater SIGKILLs, at the end of the test, the processes of records
// matching exe (a leftover sleep when the test fails half way).
func killLater(t *testing.T, recs []Record, exe string) {
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

// nobody is the credential of the unprivileged runs: uid and gid 65534,
// no supplementary groups (os/exec sets an empty list for nil Groups).
var nobody = &syscall.Credential{Uid: 65534, Gid: 65534}

// credOf is the credential of a subtest run as who: nil for "root" (the
// test's own), nobody for "nobody", which needs root to switch to.
func credOf(t *testing.T, who string) *syscall.Credential {
	t.Helper()
	if who != "nobody" {
		return nil
	}
	requireRoot(t)
	return nobody
}

// compileForNobody compiles a C helper (compileC) that user nobody can
// run too: its directory and the one above it (t.TempDir's parent is
// root's, 0700) become searchable by others.
func compileForNobody(t *testing.T, name, src string, flags ...string) string {
	t.Helper()
	bin := compileC(t, name, src, flags...)
	chmodAll(t, 0o755, filepath.Dir(bin), filepath.Dir(filepath.Dir(bin)))
	return bin
}

// chmodAll sets the mode of every path, failing the test when it cannot.
func chmodAll(t *testing.T, mode os.FileMode, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// nobodyBinary returns a path of the binary under test that nobody
// can execute: exectrail itself when every directory above it is
// searchable by others, else the copy TestMain made (nobodyCopy).
func nobodyBinary(t *testing.T) string {
	t.Helper()
	if nobodyExectrail == "" {
		t.Fatal("no copy of exectrail for nobody (nobodyCopy failed)")
	}
	return nobodyExectrail
}

// nobodyExectrail is what nobodyBinary returns; nobodyCopy sets it.
var nobodyExectrail string

// nobodyCopy sets nobodyExectrail, copying the binary to a fresh 0755
// directory under /tmp when the checkout is out of nobody's reach (a
// clone under a 0700 directory). It runs in TestMain before any test:
// a copy written while parallel tests fork would leave its write fd in
// a forked child for a moment, and exec of it would fail with ETXTBSY.
// It returns the directory to remove at the end, or "".
func nobodyCopy() (string, error) {
	reachable := true
	if st, err := os.Stat(exectrail); err != nil || st.Mode().Perm()&0o005 != 0o005 {
		reachable = false
	}
	for d := filepath.Dir(exectrail); reachable; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			reachable = false
		}
		if d == "/" {
			break
		}
	}
	if reachable {
		nobodyExectrail = exectrail
		return "", nil
	}
	dir, err := os.MkdirTemp("/tmp", "exectrail-nobody-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return dir, err
	}
	data, err := os.ReadFile(exectrail)
	if err != nil {
		return dir, err
	}
	bin := filepath.Join(dir, "exectrail")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		return dir, err
	}
	nobodyExectrail = bin
	return dir, nil
}
