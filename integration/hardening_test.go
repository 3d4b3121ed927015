package integration

// The fixes of the "Harden the supervisor after review" commit, one test
// each: a job that starves exectrail of fds cannot run anything
// unrecorded; /proc must be exectrail's pid namespace's; read_error is not
// error; stty tostop cannot stop exectrail; -o /dev/stderr shares the
// job's stderr and a closed standard fd is no output; --orphans=wait
// obeys SIGTERM; a terminal hang-up reaches the command when exectrail is
// the session leader.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/exectrail/exectrail/procfs"
	"golang.org/x/sys/unix"
)

// hwExitOf returns the exit record of pid, if any.
func hwExitOf(r *Run, pid int) (Record, bool) {
	for _, rec := range r.Events("exit") {
		if rec.PID == pid {
			return rec, true
		}
	}
	return Record{}, false
}

// hwStr returns a string field of a record ("" when absent).
func hwStr(r Record, field string) string {
	s, _ := r.Raw[field].(string)
	return s
}

// hwParentOf returns the parent of pid (-1 if gone).
func hwParentOf(pid int) int {
	p, err := procfs.Parent("/proc", pid)
	if err != nil {
		return -1
	}
	return p
}

// hwKillLater SIGKILLs pid at the end of the test (through a pidfd opened
// now, so a reused pid is never hit).
func hwKillLater(t *testing.T, pid int) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	t.Cleanup(func() {
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		unix.Close(fd)
	})
}

// fdstarve.c lowers RLIMIT_NOFILE of its parent — exectrail, since it is
// the job's root — to 4, then runs /bin/echo SECRET: in place ("exec"), in
// a child forked by its main thread ("fork") or in a child forked by a
// second thread ("threadfork"), and says what happened on stdout.
const hwFDStarveC = `
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char *echo[] = {"/bin/echo", "SECRET", NULL};

static int forkecho(void) {
	pid_t pid = fork();
	if (pid < 0) {
		printf("fork errno=%d\n", errno);
		return 4;
	}
	if (pid == 0) {
		execv(echo[0], echo);
		_exit(100);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); return 5; }
	if (WIFSIGNALED(st)) printf("child signal=%d\n", WTERMSIG(st));
	else printf("child exit=%d\n", WEXITSTATUS(st));
	return 0;
}

static void *thread(void *ret) {
	*(int *)ret = forkecho();
	return NULL;
}

int main(int argc, char **argv) {
	struct rlimit rl = {4, 4};
	pid_t target = getppid();
	if (argc != 2) return 2;
	if (prlimit(target, RLIMIT_NOFILE, &rl, NULL) != 0) { perror("prlimit"); return 9; }
	printf("lowered %d\n", (int)target);
	fflush(stdout);
	if (strcmp(argv[1], "exec") == 0) {
		execv(echo[0], echo);
		printf("exec errno=%d\n", errno);
		return 3;
	}
	if (strcmp(argv[1], "threadfork") == 0) {
		pthread_t th;
		int ret = 6;
		if (pthread_create(&th, NULL, thread, &ret) != 0) return 7;
		pthread_join(th, NULL);
		return ret;
	}
	return forkecho();
}
`

// A job that lowers exectrail's fd limit (prlimit on its ancestor needs no
// privilege) leaves the supervisor unable to open /proc/PID. That must not
// let a program run unrecorded: under notify the exec is refused with
// EAGAIN and recorded (a leader's fork needs no fd, and is recorded); under ptrace the exec itself cannot be stopped in
// time (the seccomp stop could not inspect it either), so the new program
// is killed at PTRACE_EVENT_EXEC, before its first instruction, and
// recorded. exectrail still exits.
func TestHardeningOutOfFDs(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "fdstarve", hwFDStarveC, "-pthread")
	eagain := strconv.Itoa(int(unix.EAGAIN))

	// starved checks the helper's own record and that the limit was
	// lowered on exectrail, and returns the helper's pid.
	starved := func(t *testing.T, r *Run) int {
		t.Helper()
		noPanic(t, r.Stderr)
		execs := r.Execs()
		if len(execs) == 0 || execs[0].Executable != helper {
			t.Fatalf("the first exec record is not the helper's:\n%s", dump(r.Records))
		}
		h := execs[0]
		if !strings.HasPrefix(r.Stdout, fmt.Sprintf("lowered %d\n", h.PPID)) {
			t.Fatalf("the helper did not lower the limit of its parent, exectrail (pid %d): stdout %q, stderr %q", h.PPID, r.Stdout, r.Stderr)
		}
		if strings.Contains(r.Stdout, "SECRET") {
			t.Errorf("/bin/echo SECRET ran although exectrail could not inspect it: stdout %q\n%s", r.Stdout, dump(r.Records))
		}
		return h.PID
	}
	// unreadable checks the EAGAIN record of a call that could not be
	// inspected.
	unreadable := func(t *testing.T, rec Record, what string) {
		t.Helper()
		re := hwStr(rec, "read_error")
		if rec.Error != "EAGAIN" || !strings.Contains(re, "too many open files") {
			t.Errorf("%s: want error EAGAIN and a read_error naming EMFILE (too many open files):\n%s", what, dump([]Record{rec}))
		}
		want := "refused with EAGAIN"
		if backend == "ptrace" {
			want = "killed"
		}
		if !strings.Contains(re, want) {
			t.Errorf("%s: read_error %q should say %q", what, re, want)
		}
	}

	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		r := runTrail(t, Opts{Timeout: waitTimeout}, helper, "exec")
		hpid := starved(t, r)
		execs := r.Execs()
		if len(execs) != 2 || execs[1].PID != hpid {
			t.Fatalf("want 2 exec records (the helper, then its exec of echo by the same pid %d):\n%s", hpid, dump(r.Records))
		}
		unreadable(t, execs[1], "the exec of /bin/echo")
		switch backend {
		case "ptrace":
			if r.Signal != syscall.SIGKILL || r.Stdout != fmt.Sprintf("lowered %d\n", execs[0].PPID) {
				t.Errorf("ptrace: the exec'd echo must die of SIGKILL before printing (and exectrail with it): exit %d signal %v stdout %q", r.ExitCode, r.Signal, r.Stdout)
			}
			if x, ok := hwExitOf(r, hpid); !ok || x.Signal != "SIGKILL" {
				t.Errorf("ptrace: want an exit record of pid %d with signal SIGKILL:\n%s", hpid, dump(r.Records))
			}
		default:
			if execs[1].Has("syscall") || execs[1].Has("executable") {
				t.Errorf("the refused record is of a plain execve (no syscall field) whose file is unknown (no executable):\n%s", dump(execs[1:]))
			}
			if r.ExitCode != 3 || !strings.HasSuffix(r.Stdout, "exec errno="+eagain+"\n") {
				t.Errorf("notify: the helper's execve must fail with EAGAIN (%s) and the helper exit 3: exit %d signal %v stdout %q", eagain, r.ExitCode, r.Signal, r.Stdout)
			}
		}
	})

	t.Run("fork", func(t *testing.T) {
		t.Parallel()
		r := runTrail(t, Opts{Timeout: waitTimeout}, helper, "fork")
		hpid := starved(t, r)
		forks := r.Events("fork")
		if len(forks) != 1 || forks[0].PID != hpid {
			t.Fatalf("want one fork record, by the helper (pid %d):\n%s", hpid, dump(r.Records))
		}
		switch backend {
		case "ptrace":
			// fork needs no /proc: it goes through, recorded with the
			// child; the child's exec is the one that is killed.
			child := forks[0].ChildPID
			if child == 0 || forks[0].Has("error") {
				t.Errorf("ptrace: the fork should succeed and name its child:\n%s", dump(forks))
			}
			execs := r.Execs()
			if len(execs) != 2 || execs[1].PID != child {
				t.Fatalf("ptrace: want 2 exec records (the helper, the child %d's echo):\n%s", child, dump(r.Records))
			}
			unreadable(t, execs[1], "the child's exec of /bin/echo")
			if x, ok := hwExitOf(r, child); !ok || x.Signal != "SIGKILL" {
				t.Errorf("ptrace: want an exit record of the child %d with signal SIGKILL:\n%s", child, dump(r.Records))
			}
			if r.ExitCode != 0 || !strings.HasSuffix(r.Stdout, "child signal=9\n") {
				t.Errorf("ptrace: the child must die of SIGKILL and the helper exit 0: exit %d signal %v stdout %q", r.ExitCode, r.Signal, r.Stdout)
			}
		default:
			// A fork by a thread-group leader needs no fd to be
			// recorded (tgkill tells a leader): it goes through; the
			// child's exec, which needs /proc, is refused with EAGAIN.
			if forks[0].Has("error") || forks[0].Has("read_error") {
				t.Errorf("notify: the helper's fork should be recorded and go through:\n%s", dump(forks))
			}
			execs := r.Execs()
			if len(execs) != 2 || execs[1].PID == hpid {
				t.Fatalf("notify: want 2 exec records (the helper, its child's echo):\n%s", dump(r.Records))
			}
			unreadable(t, execs[1], "the child's exec of /bin/echo")
			if r.ExitCode != 0 || !strings.HasSuffix(r.Stdout, "child exit=100\n") {
				t.Errorf("notify: the child's execve must fail (exit 100) and the helper exit 0: exit %d signal %v stdout %q", r.ExitCode, r.Signal, r.Stdout)
			}
		}
	})

	// A fork by a second thread needs the thread's process id, which
	// takes a pidfd or /proc: under notify it cannot be read, and the fork
	// is refused. Under ptrace a fork needs no /proc (as above).
	t.Run("threadfork", func(t *testing.T) {
		t.Parallel()
		r := runTrail(t, Opts{Timeout: waitTimeout}, helper, "threadfork")
		hpid := starved(t, r)
		forks := r.Events("fork")
		if len(forks) != 1 {
			t.Fatalf("want one fork record:\n%s", dump(r.Records))
		}
		if backend == "ptrace" {
			if forks[0].PID != hpid || forks[0].ChildPID == 0 || forks[0].Has("error") {
				t.Errorf("ptrace: the fork should succeed and name its child:\n%s", dump(forks))
			}
			if r.ExitCode != 0 || !strings.HasSuffix(r.Stdout, "child signal=9\n") {
				t.Errorf("ptrace: the child must die of SIGKILL and the helper exit 0: exit %d signal %v stdout %q", r.ExitCode, r.Signal, r.Stdout)
			}
			return
		}
		unreadable(t, forks[0], "the thread's fork")
		if forks[0].ChildPID != 0 || forks[0].PID == hpid {
			t.Errorf("a refused fork has no child, and its pid is the thread's id (the process id could not be read):\n%s", dump(forks))
		}
		if len(r.Execs()) != 1 {
			t.Errorf("notify: nothing but the helper may be exec'd:\n%s", dump(r.Records))
		}
		if r.ExitCode != 4 || !strings.HasSuffix(r.Stdout, "fork errno="+eagain+"\n") {
			t.Errorf("notify: the thread's fork must fail with EAGAIN (%s) and the helper exit 4: exit %d signal %v stdout %q", eagain, r.ExitCode, r.Signal, r.Stdout)
		}
	})
}

// Thread ids from the kernel are in exectrail's pid namespace, so /proc
// must be that namespace's: under `unshare --pid --fork` without a new
// /proc every record would describe some other process. exectrail
// refuses to start; with --mount-proc it works, as pid 1.
func TestHardeningForeignProc(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		skipf(t, "needs unshare (util-linux)")
	}
	t.Run("hostProc", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "records")
		marker := filepath.Join(t.TempDir(), "ran")
		_, stderr, ws := runCmd(t, "unshare", "--pid", "--fork", exectrail, "run", "--backend", backend, "-o", out, "--format", "json", "--", "touch", marker)
		if !ws.Exited() || ws.ExitStatus() != exitSetupStatus {
			t.Errorf("exectrail in a new pid namespace with the host's /proc: status %v (exit %d), want exit 125\nstderr: %s", ws, ws.ExitStatus(), stderr)
		}
		oneErrorLine(t, "foreign /proc", stderr)
		if !strings.HasPrefix(stderr, "exectrail: /proc does not belong") {
			t.Errorf("stderr %q: want the /proc error", stderr)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("the command ran although exectrail refused to start")
		}
	})
	t.Run("mountProc", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "records")
		_, stderr, ws := runCmd(t, "unshare", "--pid", "--fork", "--mount-proc", exectrail, "run", "--backend", backend, "-o", out, "--format", "json", "--", "true")
		noPanic(t, stderr)
		if !ws.Exited() || ws.ExitStatus() != 0 || stderr != "" {
			t.Fatalf("with --mount-proc: status %v (exit %d), want exit 0 and no stderr\nstderr: %s", ws, ws.ExitStatus(), stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		r := &Run{Records: parseRecords(t, data)}
		execs := r.Execs()
		if len(execs) != 1 {
			t.Fatalf("want one exec record:\n%s", dump(r.Records))
		}
		e := execs[0]
		wantExec(t, e, "/usr/bin/true", "/usr/bin/true", "")
		// exectrail is pid 1 of the new namespace and the command's parent.
		if e.PPID != 1 || e.PID <= 1 || e.Has("error") || e.Has("read_error") || len(e.Argv) != 1 || e.Argv[0] != "true" {
			t.Errorf("the exec record should show the namespace's pids (parent exectrail = 1), argv [true], no error:\n%s", dump(execs))
		}
		if x, ok := hwExitOf(r, e.PID); !ok || x.ExitCode == nil || *x.ExitCode != 0 {
			t.Errorf("want an exit record of pid %d with exit_code 0:\n%s", e.PID, dump(r.Records))
		}
	})
}

// nodump.c makes itself non-dumpable and execs /usr/bin/true.
const hwNoDumpC = `
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(void) {
	char *argv[] = {"true", "nondumpable-arg", NULL};
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) { perror("prctl"); return 2; }
	execv("/usr/bin/true", argv);
	perror("execv");
	return 3;
}
`

// A non-dumpable process cannot be read by an unprivileged exectrail. That
// is read_error, not error: the exec succeeds. As root everything can be
// read and neither field appears.
func TestHardeningReadError(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	helper := compileForNobody(t, "nodump", hwNoDumpC)
	// trueRecord checks the records of the run and returns the record of
	// the helper's exec of true.
	trueRecord := func(t *testing.T, r *Run, uid int) Record {
		t.Helper()
		noPanic(t, r.Stderr)
		if r.ExitCode != 0 {
			t.Fatalf("exit %d signal %v, want 0 (true ran); stderr: %s", r.ExitCode, r.Signal, r.Stderr)
		}
		execs := r.Execs()
		if len(execs) != 2 || execs[0].Executable != helper || execs[1].PID != execs[0].PID {
			t.Fatalf("want 2 exec records: the helper, then its exec of true by the same pid:\n%s", dump(r.Records))
		}
		for _, e := range execs {
			if e.UID == nil || *e.UID != uid {
				t.Errorf("uid %v, want %d:\n%s", e.UID, uid, dump([]Record{e}))
			}
		}
		return execs[1]
	}

	t.Run("nobody", func(t *testing.T) {
		t.Parallel()
		r := runTrail(t, Opts{Cred: nobody, Timeout: waitTimeout}, helper)
		x := trueRecord(t, r, 65534)
		if x.Has("error") || x.Has("error_detail") {
			t.Errorf("the exec succeeded: the record must have no error (an unreadable process is read_error):\n%s", dump([]Record{x}))
		}
		switch backend {
		case "ptrace":
			// Everything hidden before the exec was read after it:
			// no read_error is left to claim otherwise.
			if x.Has("read_error") || x.Cwd != "/" {
				t.Errorf("ptrace: path, argv and cwd come from the new program; want cwd / and no read_error:\n%s", dump([]Record{x}))
			}
			// After the exec, the argument area the kernel copied is
			// readable through /proc/PID/cmdline.
			if x.ArgvTruncated || strings.Join(x.Argv, " ") != "true nondumpable-arg" {
				t.Errorf("ptrace: argv must come from the new program's cmdline:\n%s", dump([]Record{x}))
			}
			// The tracer was attached before the process became
			// non-dumpable, but memory reads still need dumpable. After
			// the exec true is dumpable again: the executable is
			// verified from /proc/PID/exe.
			wantExec(t, x, "/usr/bin/true", "/usr/bin/true", "")
			if x.Verified == nil || !*x.Verified {
				t.Errorf("ptrace: the exec of true must be verified:\n%s", dump([]Record{x}))
			}
		default:
			if re := hwStr(x, "read_error"); !strings.Contains(re, "operation not permitted") {
				t.Errorf("read_error %q: want the EPERM of reading a non-dumpable process's memory:\n%s", re, dump([]Record{x}))
			}
			if !x.ArgvTruncated || len(x.Argv) != 0 {
				t.Errorf("argv could not be read: want argv [] and argv_truncated:\n%s", dump([]Record{x}))
			}
			if x.Has("path") {
				t.Errorf("notify: the path could not be read; it must be absent, not \"\":\n%s", dump([]Record{x}))
			}
			// Nothing tells the notify backend which file it is: it
			// must not guess.
			if x.Executable != "" || x.Has("verified") {
				t.Errorf("notify: the path could not be read; want no executable and no verified:\n%s", dump([]Record{x}))
			}
		}
	})
	t.Run("root", func(t *testing.T) {
		t.Parallel()
		r := runTrail(t, Opts{Timeout: waitTimeout}, helper)
		x := trueRecord(t, r, 0)
		wantExec(t, x, "/usr/bin/true", "/usr/bin/true", "")
		if x.Has("error") || x.Has("read_error") || x.ArgvTruncated || strings.Join(x.Argv, " ") != "true nondumpable-arg" {
			t.Errorf("root reads a non-dumpable process: want argv [true nondumpable-arg], no error, no read_error:\n%s", dump([]Record{x}))
		}
	})
}

// hwScreenWait waits, bounded by waitTimeout, until re matches the terminal
// output after the previous match, consumes it and returns the submatches.
// bad, when not nil, is checked as it waits: an error ends the test at
// once.
func hwScreenWait(t *testing.T, s *termScreen, re *regexp.Regexp, bad func() error) []string {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		var m []string
		if loc := re.FindSubmatchIndex(s.buf[s.off:]); loc != nil {
			for i := 0; i < len(loc); i += 2 {
				if loc[i] < 0 {
					m = append(m, "")
					continue
				}
				m = append(m, string(s.buf[s.off+loc[i]:s.off+loc[i+1]]))
			}
			s.off += loc[1]
		}
		eof, seen := s.eof, string(s.buf[s.off:])
		s.mu.Unlock()
		if m != nil {
			return m
		}
		if eof {
			t.Fatalf("terminal closed before %q appeared; unmatched output:\n%q", re, seen)
		}
		if bad != nil {
			if err := bad(); err != nil {
				t.Fatalf("waiting for %q: %v; unmatched output:\n%q", re, err, seen)
			}
		}
		select {
		case <-s.changed:
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%q did not appear on the terminal within %v; unmatched output:\n%q", re, waitTimeout, seen)
		}
	}
}

// With `stty tostop`, a background process group that writes to the
// terminal is stopped by SIGTTOU. An interactive bash under exectrail
// takes the terminal for its own process group, so exectrail — writing
// its records to the terminal — is in the background: a stop there would
// hold every exec of the job forever. Records written while an exec is
// held, and the exit record of an orphan exectrail reaps, must both get
// through.
func TestHardeningTTYTostop(t *testing.T) {
	t.Parallel()
	requireBash(t)
	const innerPrompt = "inner-prompt-7d3a> "
	cmd := exec.Command("bash", "--norc", "--noprofile", "-i")
	cmd.Env = shellEnv("ET="+exectrail, "BACKEND="+backend, "INNER_PS1="+innerPrompt)
	cmd.Dir = "/"
	master, screen := startOnPTY(t, cmd, 24, 200)
	lit := func(s string) *regexp.Regexp { return regexp.MustCompile(regexp.QuoteMeta(s)) }

	screen.waitFor(t, shellPrompt)
	typeKeys(t, master, "stty tostop\r")
	screen.waitFor(t, shellPrompt)
	tio, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS)
	if err != nil || tio.Lflag&unix.TOSTOP == 0 {
		t.Fatalf("premise: stty tostop did not set TOSTOP on the terminal (%v)", err)
	}
	// Records go to the terminal (stderr, the default), as text.
	typeKeys(t, master, `PS1="$INNER_PS1" "$ET" run --backend "$BACKEND" --format text -- bash --norc --noprofile -i`+"\r")
	screen.waitFor(t, innerPrompt)
	typeKeys(t, master, "echo ET-PID=$PPID\r")
	m := hwScreenWait(t, screen, regexp.MustCompile(`ET-PID=(\d+)`), nil)
	etPID, _ := strconv.Atoi(m[1])
	hwKillLater(t, etPID)
	if cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", etPID)); err != nil || !bytes.HasPrefix(cl, []byte(exectrail+"\x00run\x00")) {
		t.Fatalf("premise: the inner shell's parent (pid %d) is not exectrail: %q", etPID, cl)
	}
	stopped := func() error {
		if st := procState(etPID); st == "T" {
			return fmt.Errorf("exectrail (pid %d) is stopped (state T)", etPID)
		}
		return nil
	}
	waitInner := func() { hwScreenWait(t, screen, lit(innerPrompt), stopped) }
	waitInner()
	// The premise: exectrail writes from a background process group.
	fg, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPGRP)
	if pg, err2 := unix.Getpgid(etPID); err != nil || err2 != nil || pg == fg {
		t.Fatalf("premise: exectrail's process group (%d, %v) should not be the terminal's foreground one (%d, %v)", pg, err2, fg, err)
	}

	// An exec held while its record goes to the terminal. (printf, not
	// echo: its output differs from the command line and from the
	// record's argv.)
	typeKeys(t, master, `/usr/bin/printf 'INNER-%s\n' RAN`+"\r")
	hwScreenWait(t, screen, lit("INNER-RAN"), stopped)
	waitInner()

	// An orphan that exectrail reaps: its exit record goes to the
	// terminal too.
	typeKeys(t, master, "(/bin/sleep 1000 & echo ORPHAN=$!)\r")
	m = hwScreenWait(t, screen, regexp.MustCompile(`ORPHAN=(\d+)`), stopped)
	orphan, _ := strconv.Atoi(m[1])
	hwKillLater(t, orphan)
	waitInner()
	waitUntil(t, "the orphan sleep to be reparented to exectrail", func() bool { return hwParentOf(orphan) == etPID })
	if err := unix.Kill(orphan, unix.SIGKILL); err != nil {
		t.Fatalf("killing the orphan: %v", err)
	}
	hwScreenWait(t, screen, regexp.MustCompile(fmt.Sprintf(`exit +%d killed by SIGKILL`, orphan)), stopped)

	typeKeys(t, master, `/usr/bin/printf 'INNER-%s\n' AGAIN`+"\r")
	hwScreenWait(t, screen, lit("INNER-AGAIN"), stopped)
	waitInner()
	typeKeys(t, master, "exit\r")
	screen.waitFor(t, shellPrompt)
	typeKeys(t, master, "echo done-$((6*7)) status=$?\r")
	if got := screen.waitForAny(t, "done-42 status=0", "done-42 status="); got != "done-42 status=0" {
		t.Errorf("exectrail did not exit 0 after the inner shell's exit (stopped: status 150)")
	}
	all, _ := screen.shown()
	noPanic(t, all)
	if strings.Contains(all, "Stopped") {
		t.Errorf("the outer shell reported a stopped job:\n%q", all)
	}
	if !pidGone(etPID) {
		t.Errorf("exectrail (pid %d, state %q) is still there after the outer shell got its status", etPID, procState(etPID))
	}
}

// -o /dev/stderr shares the job's stderr: records and the job's own lines
// do not overwrite each other in a file. A closed standard fd is not an
// output. An invalid --format does not truncate the output.
func TestHardeningOutputFDs(t *testing.T) {
	t.Parallel()
	t.Run("devStderrShared", func(t *testing.T) {
		t.Parallel()
		const nA, nB = 400, 60
		script := fmt.Sprintf(`( i=0; while [ $i -lt %d ]; do echo NOISE-A-$i >&2; i=$((i+1)); done ) &
i=0; while [ $i -lt %d ]; do echo NOISE-B-$i >&2; /bin/true; i=$((i+1)); done
wait`, nA, nB)
		errPath := filepath.Join(t.TempDir(), "stderr")
		// Not O_APPEND: only a shared offset keeps the writers apart.
		f, err := os.OpenFile(errPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, exectrail, "run", "--backend", backend, "-o", "/dev/stderr", "--format", "json", "--", "sh", "-c", script)
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, f
		err = cmd.Run()
		f.Close()
		if ctx.Err() != nil {
			t.Fatalf("exectrail did not finish within %v", waitTimeout)
		}
		if err != nil {
			t.Fatalf("exectrail: %v", err)
		}
		data, err := os.ReadFile(errPath)
		if err != nil {
			t.Fatal(err)
		}
		var recLines []byte
		seen := map[string]int{}
		bad := 0
		noise := regexp.MustCompile(`^NOISE-[AB]-\d+$`)
		for i, line := range strings.SplitAfter(string(data), "\n") {
			switch {
			case line == "":
			case !strings.HasSuffix(line, "\n"):
				t.Errorf("line %d is not terminated: %q", i+1, line)
			case strings.HasPrefix(line, "{"):
				recLines = append(recLines, line...)
			case noise.MatchString(strings.TrimSuffix(line, "\n")):
				seen[strings.TrimSuffix(line, "\n")]++
			default:
				if bad++; bad <= 5 {
					t.Errorf("line %d is neither a record nor one of the job's lines (overwritten?): %q", i+1, line)
				}
			}
		}
		var wrong []string
		for _, c := range []struct {
			tag string
			n   int
		}{{"A", nA}, {"B", nB}} {
			for i := 0; i < c.n; i++ {
				if k := fmt.Sprintf("NOISE-%s-%d", c.tag, i); seen[k] != 1 {
					wrong = append(wrong, fmt.Sprintf("%s×%d", k, seen[k]))
				}
			}
		}
		if len(wrong) > 0 {
			t.Errorf("%d of the job's lines are not there exactly once (lost or overwritten), first: %q", len(wrong), wrong[:min(len(wrong), 5)])
		}
		r := &Run{Records: parseRecords(t, recLines)} // every record intact, seq without gaps
		if got := len(r.ExecsOf("/usr/bin/true")); got != nB {
			t.Errorf("%d exec records of true, want %d", got, nB)
		}
		if t.Failed() {
			t.Logf("the file begins:\n%s", data[:min(len(data), 2000)])
		}
	})

	// exectrail with standard fd n closed: sh -c 'exec "$@" N>&-'.
	closedRun := func(t *testing.T, fd int, args ...string) (stdout, stderr string, ws syscall.WaitStatus, ran bool) {
		t.Helper()
		marker := filepath.Join(t.TempDir(), "ran")
		argv := append([]string{"-c", fmt.Sprintf(`exec "$@" %d>&-`, fd), "sh", exectrail, "run", "--backend", backend}, args...)
		argv = append(argv, "--", "touch", marker)
		stdout, stderr, ws = runCmd(t, "sh", argv...)
		_, err := os.Stat(marker)
		return stdout, stderr, ws, err == nil
	}
	for _, o := range []string{"-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"} {
		t.Run("closedStdout"+strings.ReplaceAll(o, "/", "_"), func(t *testing.T) {
			t.Parallel()
			_, stderr, ws, ran := closedRun(t, 1, "-o", o)
			if !ws.Exited() || ws.ExitStatus() != exitSetupStatus {
				t.Errorf("-o %s with stdout closed: status %v (exit %d), want 125\nstderr: %s", o, ws, ws.ExitStatus(), stderr)
			}
			oneErrorLine(t, "-o "+o+" with stdout closed", stderr)
			if !strings.Contains(stderr, "closed") {
				t.Errorf("stderr %q should say the fd is closed", stderr)
			}
			if ran {
				t.Errorf("the command ran although its records had nowhere to go")
			}
		})
	}
	for _, o := range []string{"", "/dev/stderr"} {
		t.Run("closedStderr"+strings.ReplaceAll(o, "/", "_"), func(t *testing.T) {
			t.Parallel()
			var args []string
			if o != "" {
				args = []string{"-o", o}
			}
			stdout, _, ws, ran := closedRun(t, 2, args...)
			if !ws.Exited() || ws.ExitStatus() != exitSetupStatus {
				t.Errorf("records to stderr with stderr closed (%q): status %v (exit %d), want 125", args, ws, ws.ExitStatus())
			}
			if stdout != "" {
				t.Errorf("stdout %q: nothing should go there", stdout)
			}
			if ran {
				t.Errorf("the command ran although its records had nowhere to go")
			}
		})
	}
	t.Run("badFormatKeepsOutput", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "records")
		if err := os.WriteFile(out, []byte("PRECIOUS\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, ws := runCmd(t, exectrail, "run", "--backend", backend, "-o", out, "--format", "yaml", "--", "true")
		if !ws.Exited() || ws.ExitStatus() != exitSetupStatus {
			t.Errorf("--format yaml: status %v, want exit 125", ws)
		}
		oneErrorLine(t, "--format yaml", stderr)
		if b, err := os.ReadFile(out); err != nil || string(b) != "PRECIOUS\n" {
			t.Errorf("an invalid --format truncated the output file: %q (%v)", b, err)
		}
	})
}

// hwHasPidfd reports whether process pid holds a pidfd.
func hwHasPidfd(pid int) bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if l, err := os.Readlink(dir + "/" + e.Name()); err == nil && l == "anon_inode:[pidfd]" {
			return true
		}
	}
	return false
}

// --orphans=wait: once COMMAND is gone, SIGTERM to exectrail (a CI runner
// cancelling the job) stops the leftovers, and exectrail exits promptly
// with COMMAND's status.
func TestHardeningOrphansWaitSIGTERM(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "records")
	// A long grace: only SIGTERM, not a late SIGKILL, can end the sleep
	// within the test's bounds.
	cmd := exec.Command(exectrail, "run", "--backend", backend, "-o", out, "--format", "json",
		"--orphans=wait", "--kill-grace=60s", "--", "sh", "-c", "sleep 1000 & exit 0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var shPID, sleepPID int
	recs := waitRecords(t, out, "the exec of sleep", func(r []Record) bool {
		for _, rec := range r {
			if rec.Event == "exec" && rec.Executable == "/usr/bin/sleep" {
				sleepPID = rec.PID
				return true
			}
		}
		return false
	})
	killLater(t, recs, "/usr/bin/sleep")
	if recs[0].Event != "exec" || len(recs[0].Argv) == 0 || recs[0].Argv[0] != "sh" {
		t.Fatalf("the first record should be the exec of sh:\n%s", dump(recs))
	}
	shPID = recs[0].PID
	// COMMAND gone as exectrail sees it: reaped, and the pidfd through
	// which signals were forwarded to it closed.
	waitUntil(t, "exectrail to reap sh and drop its pidfd", func() bool {
		return pidGone(shPID) && !hwHasPidfd(cmd.Process.Pid)
	})
	if hwParentOf(sleepPID) != cmd.Process.Pid {
		t.Fatalf("premise: the leftover sleep (pid %d) should be exectrail's child now, its parent is %d", sleepPID, hwParentOf(sleepPID))
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ws := waitCmd(t, cmd)
	elapsed := time.Since(start)
	noPanic(t, stderr.String())
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("exectrail: status %v, want exit 0 (the command's)\nstderr: %s", ws, stderr.String())
	}
	if elapsed > 2*time.Second {
		t.Errorf("exectrail took %v after SIGTERM; the leftover sleep dies of SIGTERM at once", elapsed)
	}
	if !pidGone(sleepPID) {
		t.Errorf("the leftover sleep (pid %d) survived", sleepPID)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Records: parseRecords(t, data)}
	if x, ok := hwExitOf(r, sleepPID); !ok || x.Signal != "SIGTERM" {
		t.Errorf("want an exit record of the sleep (pid %d) with signal SIGTERM:\n%s", sleepPID, dump(r.Records))
	}
}

// hup.c: on SIGHUP, writes "HUP" to argv[2] and exits 0; creates argv[1]
// once its handler is in place.
const hwHupC = `
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_hup(int sig) { (void)sig; got = 1; }

int main(int argc, char **argv) {
	struct sigaction sa;
	sigset_t block, old;
	if (argc != 3) return 2;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_hup;
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigdelset(&old, SIGHUP);
	if (sigaction(SIGHUP, &sa, NULL) != 0) return 3;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) return 4;
	close(fd);
	while (!got) sigsuspend(&old);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "HUP\n", 4) != 4) return 5;
	close(fd);
	return 0;
}
`

// exectrail as the session leader of a terminal (what a terminal emulator
// or sshd starts): when the terminal hangs up, the kernel sends SIGHUP to
// the session leader alone, so exectrail must pass it on to the command.
func TestHardeningHangup(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "hup", hwHupC)
	dir := t.TempDir()
	ready, marker, out := filepath.Join(dir, "ready"), filepath.Join(dir, "marker"), filepath.Join(dir, "records")
	cmd := exec.Command(exectrail, "run", "--backend", backend, "-o", out, "--format", "json", "--", helper, ready, marker)
	master, err := pty.Start(cmd) // Setsid + Setctty: exectrail leads the session
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		master.Close()
	})
	if sid, err := unix.Getsid(cmd.Process.Pid); err != nil || sid != cmd.Process.Pid {
		t.Fatalf("premise: exectrail (pid %d) should lead its session, sid %d (%v)", cmd.Process.Pid, sid, err)
	}
	waitUntil(t, "the helper to install its SIGHUP handler", func() bool {
		_, err := os.Stat(ready)
		return err == nil
	})
	master.Close() // hang up
	ws := waitCmd(t, cmd)
	if b, err := os.ReadFile(marker); err != nil || string(b) != "HUP\n" {
		t.Errorf("the command did not get SIGHUP on the hang-up: marker %q (%v)", b, err)
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("exectrail: status %v, want exit 0 (the command's, after its HUP handler)", ws)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Records: parseRecords(t, data)}
	execs := r.Execs()
	if len(execs) != 1 || execs[0].Executable != helper {
		t.Fatalf("want one exec record, the helper's:\n%s", dump(r.Records))
	}
	if x, ok := hwExitOf(r, execs[0].PID); !ok || x.ExitCode == nil || *x.ExitCode != 0 {
		t.Errorf("want an exit record of the helper with exit_code 0:\n%s", dump(r.Records))
	}
}
