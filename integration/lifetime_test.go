package integration

// The job's lifetime as the SPEC and the README promise it: exit statuses,
// the one-line errors, signal forwarding, inherited dispositions, leftover
// descendants, fail-closed behaviour when exectrail dies, nesting, and the
// privilege model.

import (
	"bytes"
	"errors"
	"fmt"
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

func TestExitStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		argv []string
		code int
		sig  syscall.Signal
	}{
		{"exit0", []string{"sh", "-c", "exit 0"}, 0, 0},
		{"exit7", []string{"sh", "-c", "exit 7"}, 7, 0},
		{"true", []string{"/usr/bin/true"}, 0, 0},
		{"false", []string{"false"}, 1, 0},
		{"killedTERM", []string{"sh", "-c", "kill -TERM $$"}, -1, syscall.SIGTERM},
		{"killedKILL", []string{"sh", "-c", "kill -KILL $$"}, -1, syscall.SIGKILL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runTrail(t, Opts{Timeout: waitTimeout}, tc.argv...)
			noPanic(t, r.Stderr)
			if r.ExitCode != tc.code || r.Signal != tc.sig {
				t.Errorf("%q: exectrail exit %d signal %v; want exit %d signal %v\nstderr: %s", tc.argv, r.ExitCode, r.Signal, tc.code, tc.sig, r.Stderr)
			}
			if tc.sig == 0 && r.Stderr != "" {
				t.Errorf("%q: unexpected stderr: %s", tc.argv, r.Stderr)
			}
			if len(r.Execs()) == 0 {
				t.Errorf("%q: no exec record", tc.argv)
			}
		})
	}
}

// sigreport.c reports every signal it receives (TERM, USR1, HUP, INT) on
// stdout together with its sender, and the totals at EOF on stdin.
const ltSigReportC = `
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <errno.h>

int main(void) {
	int sigs[] = {SIGTERM, SIGUSR1, SIGHUP, SIGINT};
	int counts[65] = {0};
	sigset_t set;
	sigemptyset(&set);
	for (int i = 0; i < 4; i++) sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) { perror("sigprocmask"); return 2; }
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) { perror("signalfd"); return 2; }
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", (int)getpid());
	struct pollfd p[2] = {{0, POLLIN, 0}, {sfd, POLLIN, 0}};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR) continue;
			perror("poll");
			return 2;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si) {
				counts[si.ssi_signo]++;
				printf("got %u from %u code %d\n", si.ssi_signo, si.ssi_pid, si.ssi_code);
			}
			continue;
		}
		if (p[0].revents) {
			char buf[64];
			if (read(0, buf, sizeof buf) <= 0) break;
		}
	}
	printf("counts %d %d %d %d\n", counts[SIGTERM], counts[SIGUSR1], counts[SIGHUP], counts[SIGINT]);
	return 0;
}
`

// Signals sent to exectrail alone reach the command, once each, sent by
// exectrail.
func TestSignalForwarding(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "sigreport", ltSigReportC)
	out := filepath.Join(t.TempDir(), "records")
	cmd := exec.Command(exectrail, "run", "--backend", backend, "-o", out, "--format", "json", "--", helper)
	stdin, lines, stderr := startPiped(t, cmd)

	line, _ := lines.next(t)
	var helperPID int
	if _, err := fmt.Sscanf(line, "ready %d", &helperPID); err != nil {
		t.Fatalf("helper said %q, want ready PID (stderr: %s)", line, stderr.String())
	}
	if helperPID == cmd.Process.Pid {
		t.Fatalf("the helper runs as exectrail's own pid %d", helperPID)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGINT} {
		// exectrail's pid only, not its process group.
		if err := syscall.Kill(cmd.Process.Pid, sig); err != nil {
			t.Fatalf("kill %v: %v", sig, err)
		}
		line, ok := lines.next(t)
		if !ok {
			t.Fatalf("the command ended instead of reporting %v; stderr: %s", sig, stderr.String())
		}
		var signo, from uint32
		var code int32
		if _, err := fmt.Sscanf(line, "got %d from %d code %d", &signo, &from, &code); err != nil {
			t.Fatalf("helper said %q, want got SIG from PID code N", line)
		}
		if syscall.Signal(signo) != sig {
			t.Errorf("sent %v to exectrail, the command got %v", sig, syscall.Signal(signo))
		}
		if int(from) != cmd.Process.Pid || code != 0 /* SI_USER */ {
			t.Errorf("%v reached the command from pid %d (si_code %d); want forwarded by exectrail (pid %d, SI_USER)", sig, from, code, cmd.Process.Pid)
		}
	}
	stdin.Close()
	rest := lines.rest(t)
	if len(rest) != 1 || rest[0] != "counts 1 1 1 1" {
		t.Errorf("after the signals the helper said %q; want exactly [\"counts 1 1 1 1\"] (TERM USR1 HUP INT once each)", rest)
	}
	err := cmd.Wait()
	noPanic(t, stderr.String())
	if err != nil {
		t.Errorf("exectrail: %v (the command exited 0); stderr: %s", err, stderr.String())
	}
}

// disp.c prints the dispositions of TERM, INT and QUIT; as "disp launch
// PROG ARGS..." it resets them to default and execs PROG.
const ltDispC = `
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
	int sigs[] = {SIGTERM, SIGINT, SIGQUIT};
	const char *names[] = {"TERM", "INT", "QUIT"};
	if (argc > 2 && strcmp(argv[1], "launch") == 0) {
		sigset_t none;
		for (int i = 0; i < 3; i++) signal(sigs[i], SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[2], argv + 2);
		perror("execv");
		return 2;
	}
	for (int i = 0; i < 3; i++) {
		struct sigaction sa;
		sigaction(sigs[i], NULL, &sa);
		printf("%s=%s\n", names[i], sa.sa_handler == SIG_IGN ? "ign" : sa.sa_handler == SIG_DFL ? "dfl" : "handler");
	}
	return 0;
}
`

// A signal exectrail inherited as ignored stays ignored for the command;
// the others reach it at their default.
func TestInheritedIgnoredSignal(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "disp", ltDispC)
	out := filepath.Join(t.TempDir(), "records")
	disp := func(t *testing.T, cmd *exec.Cmd) map[string]string {
		t.Helper()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		o, err := cmd.Output()
		noPanic(t, stderr.String())
		if err != nil {
			t.Fatalf("%v: %v; stderr: %s", cmd.Args, err, stderr.String())
		}
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(o)), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				m[k] = v
			}
		}
		return m
	}

	t.Run("ignoredTERM", func(t *testing.T) {
		cmd := exec.Command("sh", "-c", `trap '' TERM; exec "$0" run -o "$1" --format json -- "$2"`, exectrail, out, helper)
		if m := disp(t, cmd); m["TERM"] != "ign" {
			t.Errorf("exectrail started with SIGTERM ignored: the command has TERM=%q, want ign (all: %v)", m["TERM"], m)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		cmd := exec.Command(helper, "launch", exectrail, "run", "--backend", backend, "-o", out, "--format", "json", "--", helper)
		m := disp(t, cmd)
		for _, s := range []string{"TERM", "INT", "QUIT"} {
			if m[s] != "dfl" {
				t.Errorf("exectrail started with default dispositions: the command has %s=%q, want dfl (all: %v)", s, m[s], m)
			}
		}
	})
}

// With --orphans=kill (the default) leftovers get SIGTERM when the command
// exits, and exectrail returns promptly with the command's status.
func TestOrphansKilled(t *testing.T) {
	t.Parallel()
	start := time.Now()
	r := runTrail(t, Opts{Timeout: waitTimeout}, "sh", "-c", "sleep 1000 & echo $!; exit 3")
	elapsed := time.Since(start)
	noPanic(t, r.Stderr)
	if r.ExitCode != 3 {
		t.Errorf("exit %d, want the command's 3; stderr: %s", r.ExitCode, r.Stderr)
	}
	// SIGTERM kills sleep at once: no need to wait for the 2 s grace.
	if elapsed > 1900*time.Millisecond {
		t.Errorf("exectrail took %v; a leftover sleep dies of SIGTERM at once", elapsed)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(r.Stdout))
	if err != nil {
		t.Fatalf("stdout %q: want the pid of the background sleep", r.Stdout)
	}
	if !pidGone(pid) {
		t.Errorf("leftover sleep (pid %d) still exists after exectrail exited", pid)
	}
	// The background shell may be terminated before it execs sleep.
	if len(r.ExecsOf("/usr/bin/sleep")) > 1 {
		t.Errorf("want at most one exec record for sleep:\n%s", dump(r.Records))
	}
}

// With --orphans=wait exectrail stays until the last descendant has
// exited, and keeps recording.
func TestOrphansWait(t *testing.T) {
	t.Parallel()
	start := time.Now()
	r := runTrail(t, Opts{Flags: []string{"--orphans=wait"}, Timeout: waitTimeout},
		"sh", "-c", "(sleep 0.3; /usr/bin/true) & exit 0")
	elapsed := time.Since(start)
	noPanic(t, r.Stderr)
	if r.ExitCode != 0 {
		t.Errorf("exit %d, want 0; stderr: %s", r.ExitCode, r.Stderr)
	}
	if got := r.ExecsOf("/usr/bin/true"); len(got) != 1 {
		t.Errorf("the orphan's exec of /usr/bin/true must be recorded once (exectrail must wait for it):\n%s", dump(r.Records))
	}
	if elapsed < 300*time.Millisecond {
		t.Errorf("exectrail exited after %v, before the orphan's sleep 0.3 could end", elapsed)
	}
}

// leftover.c: the root forks a child that catches SIGTERM, says so, and
// stays; the root prints the child's pid and exits 4.
const ltLeftoverC = `
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; write(1, "TERM\n", 5); }

int main(void) {
	struct sigaction sa = {0};
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	pid_t p = fork();
	if (p < 0) { perror("fork"); return 2; }
	if (p == 0) for (;;) pause();
	printf("%d\n", (int)p);
	fflush(stdout);
	return 4;
}
`

// A leftover that survives SIGTERM is killed after --kill-grace.
func TestOrphansKillGrace(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "leftover", ltLeftoverC)
	start := time.Now()
	r := runTrail(t, Opts{Flags: []string{"--kill-grace=200ms"}, Timeout: waitTimeout}, helper)
	elapsed := time.Since(start)
	noPanic(t, r.Stderr)
	if r.ExitCode != 4 {
		t.Errorf("exit %d, want the command's 4; stderr: %s", r.ExitCode, r.Stderr)
	}
	lines := strings.Fields(r.Stdout)
	if len(lines) != 2 || lines[1] != "TERM" {
		t.Fatalf("stdout %q: want the leftover's pid, then TERM (it is sent SIGTERM first)", r.Stdout)
	}
	pid, err := strconv.Atoi(lines[0])
	if err != nil {
		t.Fatalf("stdout %q: want the leftover's pid first", r.Stdout)
	}
	if !pidGone(pid) {
		t.Errorf("leftover %d survived exectrail", pid)
	}
	// The default grace is 2 s; 200 ms must be honoured.
	if elapsed > 1500*time.Millisecond {
		t.Errorf("exectrail took %v with --kill-grace=200ms", elapsed)
	}
}

// failclosed.c: after a line on stdin it tries a fork and an exec and
// reports how they fail.
const ltFailClosedC = `
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
	char line[64];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	if (!fgets(line, sizeof line, stdin)) return 2;
	pid_t p = fork();
	if (p == 0) _exit(0);
	if (p > 0) { waitpid(p, NULL, 0); printf("ran fork\n"); }
	else printf("fork %s\n", strerrorname_np(errno));
	char *argv[] = {"true", NULL};
	execv("/usr/bin/true", argv);
	printf("exec %s\n", strerrorname_np(errno));
	printf("done\n");
	return 0;
}
`

// SPEC guarantee 3: once exectrail is gone the job cannot start anything;
// every fork and exec fails with ENOSYS (KERNEL-FACTS 2).
func TestFailClosedWhenExectrailDies(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "failclosed", ltFailClosedC)
	for _, tc := range []struct {
		name string
		argv []string
		want []string // the job's stdout after exectrail died
		err  string   // in the job's stderr
	}{
		{"shell", []string{"sh", "-c", "echo ready; read x; /usr/bin/true && echo ran; echo done"}, nil, "fork"},
		{"helper", []string{helper}, []string{"fork ENOSYS", "exec ENOSYS", "done"}, ""},
	} {
		if backend == "ptrace" {
			// PTRACE_O_EXITKILL: the job dies with its tracer, so it
			// prints nothing more and reports no failed fork.
			tc.want, tc.err = []string{}, ""
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ltFailClosed(t, tc.argv, tc.want, tc.err)
		})
	}
}

func ltFailClosed(t *testing.T, argv, want []string, wantErr string) {
	out := filepath.Join(t.TempDir(), "records")
	cmd := exec.Command(exectrail, append([]string{"run", "--backend", backend, "-o", out, "--format", "json", "--"}, argv...)...)
	stdin, lines, stderr := startPiped(t, cmd)
	if line, _ := lines.next(t); line != "ready" {
		t.Fatalf("job said %q, want ready; stderr: %s", line, stderr.String())
	}
	// The first record is the job's exec, written before it ran.
	recs := waitRecords(t, out, "the job's exec record", func(r []Record) bool { return len(r) > 0 })
	jobPID := recs[0].PID
	if recs[0].Event != "exec" || jobPID <= 0 || jobPID == cmd.Process.Pid {
		t.Fatalf("first record is not the job's exec:\n%s", dump(recs))
	}
	jobFD, err := unix.PidfdOpen(jobPID, 0)
	if err != nil {
		t.Fatalf("pidfd_open(job %d): %v", jobPID, err)
	}
	defer unix.Close(jobFD)
	t.Cleanup(func() { _ = unix.PidfdSendSignal(jobFD, unix.SIGKILL, nil, 0) })
	etFD, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(exectrail): %v", err)
	}
	defer unix.Close(etFD)

	// Kill exectrail alone and wait until it is gone, listener and all.
	if err := unix.PidfdSendSignal(etFD, unix.SIGKILL, nil, 0); err != nil {
		t.Fatal(err)
	}
	waitPidfd(t, etFD, "exectrail after SIGKILL")

	if _, err := io.WriteString(stdin, "go\n"); err != nil && backend != "ptrace" {
		t.Fatalf("writing to the job's stdin: %v", err)
	}
	stdin.Close()
	rest := lines.rest(t) // to EOF: the job has closed its stdout
	for _, l := range rest {
		if strings.HasPrefix(l, "ran") {
			t.Errorf("the job started a process after exectrail died (fail open); output %q", rest)
		}
	}
	if want != nil && strings.Join(rest, "\n") != strings.Join(want, "\n") {
		t.Errorf("job output after exectrail died: %q, want %q", rest, want)
	}
	// No leak: the job finishes by itself.
	waitPidfd(t, jobFD, fmt.Sprintf("the job (pid %d)", jobPID))

	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() {
		t.Errorf("exectrail: %v, want killed by SIGKILL", err)
	}
	// The job's stderr is exectrail's: complete once both are gone.
	if !strings.Contains(strings.ToLower(stderr.String()), wantErr) {
		t.Errorf("the job's stderr %q should report the failed %s", stderr.String(), wantErr)
	}
	data, _ := os.ReadFile(out)
	for _, r := range parseRecords(t, data) {
		if r.Executable == "/usr/bin/true" && r.Error == "" {
			t.Errorf("a successful exec of true was recorded:\n%s", dump([]Record{r}))
		}
	}
}

// exectrail under exectrail, all backend pairs. Only one seccomp listener
// may exist per filter tree (KERNEL-FACTS 5) and only one tracer per
// process: notify in notify and ptrace in ptrace fail with one clear line
// and 125. auto takes ptrace, and falls back to notify (with one warning
// line saying what that gives up) when the job is traced already.
func TestNestedExectrail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		outer, inner string
		fails        string // words the inner error must contain, or "" for success
		warns        bool   // the inner exectrail warns that it fell back to notify
	}{
		{"notify", "notify", "listener", false},
		{"notify", "ptrace", "", false},
		{"notify", "auto", "", false},
		{"ptrace", "notify", "", false},
		{"ptrace", "ptrace", "traced", false},
		{"ptrace", "auto", "", true},
		{"auto", "notify", "", false},
		{"auto", "ptrace", "traced", false},
		{"auto", "auto", "", true},
	} {
		t.Run(tc.outer+"/"+tc.inner, func(t *testing.T) {
			t.Parallel()
			innerOut := filepath.Join(t.TempDir(), "inner.jsonl")
			r := runTrail(t, Opts{Timeout: waitTimeout, Flags: []string{"--backend", tc.outer}},
				exectrail, "run", "--backend", tc.inner, "-o", innerOut, "--format", "json", "--", "/usr/bin/true")
			if len(r.ExecsOf(exectrail)) == 0 {
				t.Errorf("the outer exectrail did not record the inner one:\n%s", dump(r.Records))
			}
			data, _ := os.ReadFile(innerOut)
			inner := parseRecords(t, data)
			if tc.fails != "" {
				if r.ExitCode != 125 {
					t.Errorf("exit %d, want 125 from the inner exectrail; stderr: %s", r.ExitCode, r.Stderr)
				}
				oneErrorLine(t, "inner exectrail", r.Stderr)
				if !strings.Contains(r.Stderr, tc.fails) || !strings.Contains(r.Stderr, "already") {
					t.Errorf("the inner exectrail's error should say the job is %s already: %q", tc.fails, r.Stderr)
				}
				for _, e := range r.ExecsOf("/usr/bin/true") {
					if e.Error == "" {
						t.Errorf("true ran although the inner exectrail failed:\n%s", dump(r.Records))
					}
				}
				return
			}
			if tc.warns {
				if r.ExitCode != 0 || !strings.HasPrefix(r.Stderr, "exectrail: warning: ") || !strings.Contains(r.Stderr, "using --backend notify") || strings.Count(r.Stderr, "\n") != 1 {
					t.Fatalf("exit %d, stderr %q; want 0 and one warning that the inner exectrail uses notify", r.ExitCode, r.Stderr)
				}
			} else if r.ExitCode != 0 || r.Stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and silence", r.ExitCode, r.Stderr)
			}
			for name, recs := range map[string][]Record{"outer": r.Records, "inner": inner} {
				n := 0
				for _, e := range recs {
					if e.Event == "exec" && e.Executable == "/usr/bin/true" && e.Error == "" {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%s exectrail: %d successful exec records of true, want 1:\n%s", name, n, dump(recs))
				}
			}
		})
	}
}

// Root runs the command without no_new_privs (setuid works); others with
// it.
func TestNoNewPrivs(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	self, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(self), "NoNewPrivs:\t0\n") {
		skipf(t, "the test process itself runs with no_new_privs; root cannot show it off")
	}
	argv := []string{"grep", "NoNewPrivs", "/proc/self/status"}
	t.Run("root", func(t *testing.T) {
		t.Parallel()
		r := runTrail(t, Opts{Timeout: waitTimeout}, argv...)
		noPanic(t, r.Stderr)
		if r.ExitCode != 0 || r.Stdout != "NoNewPrivs:\t0\n" {
			t.Errorf("as root: exit %d stdout %q, want NoNewPrivs:\\t0; stderr: %s", r.ExitCode, r.Stdout, r.Stderr)
		}
	})
	t.Run("nobody", func(t *testing.T) {
		t.Parallel()
		r := runTrail(t, Opts{Cred: nobody, Timeout: waitTimeout}, argv...)
		noPanic(t, r.Stderr)
		if r.ExitCode != 0 || r.Stdout != "NoNewPrivs:\t1\n" {
			t.Errorf("as nobody: exit %d stdout %q, want NoNewPrivs:\\t1; stderr: %s", r.ExitCode, r.Stdout, r.Stderr)
		}
	})
}

// echoC answers each line on stdin with "pong LINE" and exits 0 at EOF.
const echoC = `
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
	char line[256];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", (int)getpid());
	while (fgets(line, sizeof line, stdin)) printf("pong %s", line);
	return 0;
}
`

// Job control without a terminal, with the backend under test: SIGSTOP or
// SIGTSTP stops a job process until SIGCONT, and neither is an event.
// With ptrace, /proc shows a group-stopped tracee as "t" (tracing stop),
// and the tracer must leave the group-stop with PTRACE_LISTEN
// (KERNEL-FACTS 26); TestTTYJobControl does Ctrl-Z and fg on a terminal.
func TestJobControlSignals(t *testing.T) {
	t.Parallel()
	// stopped reports whether a /proc state letter means stopped: T, or
	// with ptrace t for a tracee, as a group-stopped tracee waits in
	// PTRACE_LISTEN.
	stopped := func(state string) bool { return state == "T" || backend == "ptrace" && state == "t" }
	helper := compileC(t, "echo", echoC)
	out := filepath.Join(t.TempDir(), "records")
	cmd := exec.Command(exectrail, "run", "--backend", backend, "-o", out, "--format", "json", "--", helper)
	// A process group of its own, whose leader's parent (this test)
	// is in another group of the same session: never an orphaned
	// group, where the kernel discards SIGTSTP (only SIGSTOP would
	// stop it), whatever group and session the test runs in.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, lines, stderr := startPiped(t, cmd)
	line, _ := lines.next(t)
	var pid int
	if _, err := fmt.Sscanf(line, "ready %d", &pid); err != nil {
		t.Fatalf("helper said %q, want ready PID; stderr: %s", line, stderr.String())
	}
	ping := func(msg string) {
		t.Helper()
		if _, err := io.WriteString(stdin, msg+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	ping("hello")
	if l, _ := lines.next(t); l != "pong hello" {
		t.Fatalf("helper said %q, want pong hello", l)
	}
	for _, sig := range []unix.Signal{unix.SIGSTOP, unix.SIGTSTP, unix.SIGSTOP} {
		if err := unix.Kill(pid, sig); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, fmt.Sprintf("the helper to stop after %v", sig), func() bool { return stopped(procState(pid)) })
		// Stopped means stopped: a line now stays unanswered, and the
		// process is stopped at the end. (A tracer that resumed the
		// group-stop with PTRACE_CONT lets it run on and answer within
		// microseconds.) The state alone is not checked on the way:
		// the first "t" seen may be the signal-delivery stop, after
		// which the tracer re-injects the signal and the process runs
		// for an instant before it enters the group-stop.
		ping("while-stopped")
		select {
		case l := <-lines.ch:
			t.Fatalf("after %v the helper still answered: %q", sig, l)
		case <-time.After(300 * time.Millisecond):
		}
		if st := procState(pid); !stopped(st) {
			t.Fatalf("after %v the helper left the stop by itself (state %q)", sig, st)
		}
		if err := unix.Kill(pid, unix.SIGCONT); err != nil {
			t.Fatal(err)
		}
		if l, ok := lines.next(t); l != "pong while-stopped" {
			t.Fatalf("after SIGCONT the helper said %q (ok %v), want pong while-stopped", l, ok)
		}
		waitUntil(t, "the helper to run on after SIGCONT", func() bool { st := procState(pid); return st == "S" || st == "R" })
	}
	stdin.Close()
	if rest := lines.rest(t); len(rest) != 0 {
		t.Errorf("helper said %q after EOF", rest)
	}
	ws := waitCmd(t, cmd)
	noPanic(t, stderr.String())
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("exectrail: %v, want exit 0; stderr: %s", ws, stderr.String())
	}
	data, _ := os.ReadFile(out)
	r := &Run{Records: parseRecords(t, data)}
	checkExit(t, r, pid, outcome{code: 0}, "the helper")
	if n := len(r.Records); n != 2 {
		t.Errorf("%d records, want 2 (exec, exit): stops and continues are no events\n%s", n, dump(r.Records))
	}
}
