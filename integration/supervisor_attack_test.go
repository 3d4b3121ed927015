package integration

// The job as an attacker of its supervisor (issue 12, items 1, 2 and 6;
// README Security):
// taking exectrail's fds, memory or ptrace; stopping or killing it;
// escaping the tracer with CLONE_UNTRACED; making a record write fail.
// Each attack is a C helper compiled here and run as the job, on the
// backend under test, as root and as nobody.

import (
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

	"github.com/exectrail/exectrail/procfs"
	"golang.org/x/sys/unix"
)

// atAttackC tries every way a job process can reach its parent,
// exectrail, and prints one "NAME ERRNO" line for each (OK: it worked).
// getfd says whether one of the fds taken was the seccomp listener: with
// it, a job that stops exectrail answers its own execs with CONTINUE.
const atAttackC = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *en(int e) { return e ? strerrorname_np(e) : "OK"; }

int main(int argc, char **argv) {
	pid_t pp = getppid();
	setvbuf(stdout, NULL, _IONBF, 0);
	int pidfd = syscall(SYS_pidfd_open, pp, 0);
	if (pidfd < 0) { printf("pidfd_open %s\n", en(errno)); return 2; }
	/* pidfd_getfd of every fd of the parent (exectrail). */
	int got = 0, listener = -1, first = 0;
	for (int fd = 0; fd < 256; fd++) {
		int nfd = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
		if (nfd < 0) { if (errno != EBADF && !first) first = errno; continue; }
		got++;
		char l[128] = "", p[64];
		snprintf(p, sizeof p, "/proc/self/fd/%d", nfd);
		ssize_t n = readlink(p, l, sizeof l - 1);
		if (n > 0) l[n] = 0;
		if (strstr(l, "seccomp")) listener = nfd;
	}
	printf("getfd %s got=%d listener=%d\n", en(got ? 0 : first), got, listener >= 0);
	char mp[64];
	snprintf(mp, sizeof mp, "/proc/%d/mem", pp);
	int mfd = open(mp, O_RDWR);
	printf("mem-open %s\n", en(mfd < 0 ? errno : 0));
	char buf[8] = "xxxxxxx";
	struct iovec lio = {buf, 8}, rio = {(void *)0x400000, 8};
	ssize_t w = process_vm_writev(pp, &lio, 1, &rio, 1, 0);
	printf("vm-write %s\n", en(w < 0 && errno != EFAULT ? errno : 0));
	ssize_t r = process_vm_readv(pp, &lio, 1, &rio, 1, 0);
	printf("vm-read %s\n", en(r < 0 && errno != EFAULT ? errno : 0));
	snprintf(mp, sizeof mp, "/proc/%d/environ", pp);
	int efd = open(mp, O_RDONLY);
	printf("environ %s\n", en(efd < 0 ? errno : 0));
	printf("signal %s\n", en(kill(pp, 0) < 0 ? errno : 0));
	long a = ptrace(PTRACE_ATTACH, pp, 0, 0);
	printf("attach %s\n", en(a < 0 ? errno : 0));
	if (a == 0) { waitpid(pp, NULL, __WALL); ptrace(PTRACE_DETACH, pp, 0, 0); }
	long s = ptrace(PTRACE_SEIZE, pp, 0, 0);
	printf("seize %s\n", en(s < 0 ? errno : 0));
	if (s == 0) ptrace(PTRACE_DETACH, pp, 0, 0);
	return 0;
}
`

// atEscapeC is the CLONE_UNTRACED escape (see its own comment).
const atEscapeC = `
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* escape MODE PROGRAM [ARG...]: make a child or thread with CLONE_UNTRACED,
 * try to trace it from another process of the job, and have it exec
 * PROGRAM, waving its seccomp stops through. Prints "seize ERRNO". */

static int topipe[2], frompipe[2], gopipe[2];
static char **target;
static char stack[1 << 16] __attribute__((aligned(16)));

static const char *en(int e) { return e ? strerrorname_np(e) : "OK"; }

/* The tracer: seize tid, say how it went, then continue every stop until
 * the tracee is gone. */
static void seizer(pid_t tid, pid_t tgid) {
	long r = ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEEXEC);
	int e = r < 0 ? errno : 0;
	write(frompipe[1], &e, sizeof e);
	if (r < 0) return;
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, __WALL);
		if (p < 0) return;
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (p == tid || p == tgid) return;
			continue; /* a helper of ours */
		}
		int sig = WSTOPSIG(st);
		ptrace(PTRACE_CONT, p, 0, (st >> 16) || sig == SIGTRAP ? 0 : sig);
	}
}

static pid_t helper(void) {
	pid_t h = fork();
	if (h == 0) {
		pid_t tid;
		if (read(topipe[0], &tid, sizeof tid) == sizeof tid) seizer(tid, getppid());
		_exit(0);
	}
	return h;
}

static int child(void *arg) {
	pid_t me = syscall(SYS_gettid);
	char b;
	write(topipe[1], &me, sizeof me);
	read(gopipe[0], &b, 1);
	syscall(SYS_execve, target[0], target, environ);
	_exit(126);
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 3) return 2;
	target = argv + 2;
	pipe(topipe); pipe(frompipe); pipe(gopipe);
	const char *mode = argv[1];
	if (!strcmp(mode, "clone3")) {
		struct clone_args ca = {.flags = CLONE_UNTRACED, .exit_signal = SIGCHLD};
		long r = syscall(SYS_clone3, &ca, sizeof ca);
		if (r == 0) _exit(0);
		printf("clone3 %s\n", en(r < 0 ? errno : 0));
		if (r > 0) waitpid(r, NULL, 0);
		return 0;
	}
	int flags;
	if (!strcmp(mode, "proc")) flags = CLONE_UNTRACED | SIGCHLD;
	else if (!strcmp(mode, "ptrace")) flags = CLONE_UNTRACED | CLONE_PTRACE | SIGCHLD;
	else if (!strcmp(mode, "vfork")) flags = CLONE_UNTRACED | CLONE_VFORK | CLONE_VM | SIGCHLD;
	else if (!strcmp(mode, "thread")) flags = CLONE_UNTRACED | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
	else return 2;
	pid_t h = -1;
	if (strcmp(mode, "proc") && strcmp(mode, "ptrace")) {
		h = helper(); /* the parent is suspended (vfork) or is the thread's own process */
		if (!strcmp(mode, "vfork")) {
			/* The go-ahead comes from the helper's report, relayed by a
			 * second helper: the parent cannot act until the child execs. */
			pid_t relay = fork();
			if (relay == 0) {
				int e;
				read(frompipe[0], &e, sizeof e);
				printf("seize %s\n", en(e));
				write(gopipe[1], "g", 1);
				_exit(0);
			}
		}
	}
	pid_t c = clone(child, stack + sizeof stack, flags, NULL);
	if (c < 0) { printf("clone %s\n", en(errno)); return 1; }
	if (!strcmp(mode, "vfork")) {
		int st;
		waitpid(c, &st, 0);
		printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		while (wait(NULL) > 0) ;
		return 0;
	}
	if (h < 0) {
		/* proc: the parent itself is the tracer. */
		pid_t tid;
		read(topipe[0], &tid, sizeof tid);
		pid_t w = fork();
		if (w == 0) {
			int e;
			read(frompipe[0], &e, sizeof e);
			printf("seize %s\n", en(e));
			write(gopipe[1], "g", 1);
			_exit(0);
		}
		seizer(tid, tid);
		int st;
		waitpid(c, &st, __WALL);
		printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		while (wait(NULL) > 0) ;
		return 0;
	}
	/* thread: the helper traces it; the thread execs and takes over. */
	int e;
	read(frompipe[0], &e, sizeof e);
	printf("seize %s\n", en(e));
	write(gopipe[1], "g", 1);
	for (;;) pause(); /* the thread's exec ends this */
}
`

// atMarkerDir returns a directory every user can create files in.
func atMarkerDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	chmodAll(t, 0o777, filepath.Dir(d), d)
	return d
}

// atWho are the identities the attacks run as: exectrail and the job as
// nobody; as root with a policy (the job loses CAP_SYS_PTRACE); as root
// with --user nobody (the job is another user altogether).
var atWho = []struct {
	name  string
	cred  *syscall.Credential
	flags []string
}{
	{"nobody", nobody, nil},
	{"rootPolicy", nil, []string{"--deny", "/nonexistent/*"}},
	{"rootUser", nil, []string{"--user", "nobody"}},
}

// atLines parses the helper's "NAME RESULT" lines.
func atLines(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			m[k] = v
		}
	}
	return m
}

// Item 1 of issue 12: no process of the job can take exectrail's fds (the
// seccomp listener), read or write its memory, or ptrace it.
func TestAttackSupervisor(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	helper := compileForNobody(t, "attack", atAttackC)
	for _, who := range atWho {
		t.Run(who.name, func(t *testing.T) {
			t.Parallel()
			r := runTrail(t, Opts{Cred: who.cred, Flags: who.flags, Timeout: waitTimeout}, helper)
			noPanic(t, r.Stderr)
			if r.ExitCode != 0 {
				t.Fatalf("exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
			}
			got := atLines(r.Stdout)
			want := map[string]string{
				"getfd":    "EPERM got=0 listener=0",
				"mem-open": "EACCES",
				"vm-write": "EPERM",
				"vm-read":  "EPERM",
				"attach":   "EPERM",
				"seize":    "EPERM",
				"environ":  "EACCES",
				"signal":   "OK",
			}
			switch who.name {
			case "rootPolicy":
				// Root without CAP_SYS_PTRACE still reads the environment
				// of a non-dumpable process of its own uid (README
				// Security): the one it was given itself.
				want["environ"] = "OK"
			case "rootUser":
				// Another user: it cannot even signal exectrail.
				want["signal"] = "EPERM"
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %q, want %q\nhelper output:\n%s", k, got[k], v, r.Stdout)
				}
			}
			execs := r.Execs()
			if len(execs) != 1 || execs[0].Executable != helper {
				t.Errorf("want the one exec record of the helper:\n%s", dump(r.Records))
			}
		})
	}
}

// What a root job keeps when exectrail runs as root with neither a
// policy nor --user (README Security): CAP_SYS_PTRACE, and with it
// exectrail's fds (with notify, the listener), its memory, and ptrace.
func TestAttackSupervisorRootJob(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	helper := compileForNobody(t, "attack", atAttackC)
	r := runTrail(t, Opts{Timeout: waitTimeout}, helper)
	got := atLines(r.Stdout)
	listener := "listener=0"
	if backend == "notify" {
		listener = "listener=1"
	}
	if !strings.HasPrefix(got["getfd"], "OK") || !strings.HasSuffix(got["getfd"], listener) || got["attach"] != "OK" || got["mem-open"] != "OK" || got["vm-write"] != "OK" {
		t.Errorf("a root job keeps CAP_SYS_PTRACE without a policy or --user, as the README says; helper output:\n%s\nstderr: %s", r.Stdout, r.Stderr)
	}
}

// atStopC: the job stops exectrail (SIGSTOP to its parent), then a child
// of the job execs touch MARKER. Prints "child PID" before the exec.
const atStopC = `
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
	int go[2], ready[2];
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2 || pipe(go) != 0 || pipe(ready) != 0) return 2;
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(go[1]);
		close(ready[0]);
		close(ready[1]); /* running: exectrail has let it start */
		if (read(go[0], &b, 1) != 0) _exit(3);
		printf("child %d\n", (int)getpid());
		execl("/usr/bin/touch", "touch", argv[1], (char *)NULL);
		printf("exec failed\n");
		_exit(4);
	}
	char b;
	close(ready[1]);
	if (read(ready[0], &b, 1) != 0) return 2;
	pid_t pp = getppid();
	if (kill(pp, SIGSTOP) != 0) { perror("kill"); return 2; }
	/* A signal is delivered asynchronously: go on once exectrail is
	 * stopped. */
	for (;;) {
		char sp[64], st[512] = "";
		snprintf(sp, sizeof sp, "/proc/%d/stat", (int)pp);
		FILE *f = fopen(sp, "r");
		if (!f) return 2;
		size_t n = fread(st, 1, sizeof st - 1, f);
		fclose(f);
		st[n] = 0;
		char *rp = strrchr(st, ')');
		if (rp && rp[1] && rp[2] == 'T') break;
		usleep(1000);
	}
	close(go[1]);
	int st;
	waitpid(c, &st, 0);
	printf("child status %d\n", st);
	return 0;
}
`

// atInSyscall waits, bounded by waitTimeout, until task pid is blocked in
// syscall nr (the first field of /proc/PID/syscall), held by exectrail.
func atInSyscall(t *testing.T, pid, nr int) {
	t.Helper()
	want := strconv.Itoa(nr) + " "
	deadline := time.Now().Add(waitTimeout)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid))
		if err != nil {
			t.Fatalf("task %d: %v", pid, err)
		}
		if strings.HasPrefix(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %d is not held in syscall %d within %v: %q", pid, nr, waitTimeout, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// atWaitState waits, bounded by waitTimeout, until process pid is in one
// of the /proc/PID/stat states.
func atWaitState(t *testing.T, pid int, states string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatalf("process %d: %v", pid, err)
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 && len(s) > i+2 && strings.ContainsRune(states, rune(s[i+2])) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d is not in state %q within %v: %s", pid, states, waitTimeout, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A job that stops exectrail stalls: its next exec waits, unrecorded and
// not run, until exectrail is continued (then it is recorded and runs)
// or killed (then it never runs).
func TestAttackStopSupervisor(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	helper := compileForNobody(t, "stopper", atStopC)
	for _, who := range []string{"nobody", "root"} {
		for _, then := range []string{"cont", "kill"} {
			t.Run(who+"_"+then, func(t *testing.T) {
				t.Parallel()
				cred := credOf(t, who)
				dir := atMarkerDir(t)
				marker := filepath.Join(dir, "ran")
				out := filepath.Join(dir, "records")
				bin := exectrail
				if cred != nil {
					bin = nobodyBinary(t)
				}
				cmd := exec.Command(bin, "run", "--backend", backend, "-o", out, "--format", "json", "--", helper, marker)
				cmd.Dir = "/"
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
				_, lines, stderr := startPiped(t, cmd)
				etFD, err := unix.PidfdOpen(cmd.Process.Pid, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(etFD)
				line, _ := lines.next(t)
				var child int
				if _, err := fmt.Sscanf(line, "child %d", &child); err != nil {
					t.Fatalf("helper said %q; stderr %s", line, stderr.String())
				}
				childFD, err := unix.PidfdOpen(child, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(childFD)
				t.Cleanup(func() { _ = unix.PidfdSendSignal(childFD, unix.SIGKILL, nil, 0) })
				atWaitState(t, cmd.Process.Pid, "T")
				atInSyscall(t, child, unix.SYS_EXECVE)
				if _, err := os.Stat(marker); err == nil {
					t.Fatalf("touch ran while exectrail was stopped")
				}
				if then == "cont" {
					if err := unix.PidfdSendSignal(etFD, unix.SIGCONT, nil, 0); err != nil {
						t.Fatal(err)
					}
					rest := lines.rest(t)
					if err := cmd.Wait(); err != nil {
						t.Fatalf("exectrail: %v; helper said %q; stderr %s", err, rest, stderr.String())
					}
					if _, err := os.Stat(marker); err != nil {
						t.Errorf("touch did not run after SIGCONT: %v", err)
					}
					data, _ := os.ReadFile(out)
					r := &Run{Records: parseRecords(t, data)}
					if x := r.ExecsOf("/usr/bin/touch"); len(x) != 1 || x[0].PID != child || x[0].Error != "" {
						t.Errorf("want one successful exec record of touch by pid %d:\n%s", child, dump(r.Records))
					}
					return
				}
				if err := unix.PidfdSendSignal(etFD, unix.SIGKILL, nil, 0); err != nil {
					t.Fatal(err)
				}
				waitPidfd(t, childFD, "the held child")
				rest := lines.rest(t)
				_ = cmd.Wait()
				if _, err := os.Stat(marker); err == nil {
					t.Errorf("touch ran after exectrail was killed (fail open); helper said %q", rest)
				}
				data, _ := os.ReadFile(out)
				if r := (&Run{Records: parseRecords(t, data)}); len(r.ExecsOf("/usr/bin/touch")) != 0 {
					t.Errorf("an exec of touch was recorded although it never ran:\n%s", dump(r.Records))
				}
			})
		}
	}
}

// Item 2 of issue 12: with CLONE_UNTRACED (alone, with CLONE_PTRACE, as a
// vfork, as a thread) a job cannot make a process or thread that
// exectrail does not trace from its first instruction, so no other
// process of the job can trace it and wave its exec through: the exec
// is recorded, and a denied program does not run. clone3 gets ENOSYS.
func TestAttackEscapeTracer(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	helper := compileForNobody(t, "escape", atEscapeC)
	for _, who := range []string{"nobody", "root"} {
		for _, mode := range []string{"proc", "ptrace", "vfork", "thread"} {
			for _, deny := range []bool{false, true} {
				name := who + "_" + mode
				if deny {
					name += "_deny"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					marker := filepath.Join(atMarkerDir(t), "ran")
					var flags []string
					if deny {
						flags = []string{"--deny", "/usr/bin/touch"}
					}
					r := runTrail(t, Opts{Cred: credOf(t, who), Flags: flags, Timeout: waitTimeout}, helper, mode, "/usr/bin/touch", marker)
					noPanic(t, r.Stderr)
					got := atLines(r.Stdout)
					if backend == "ptrace" && got["seize"] != "EPERM" {
						t.Errorf("another process of the job could trace the CLONE_UNTRACED %s (seize %q): it is not exectrail's tracee", mode, got["seize"])
					}
					x := r.ExecsOf("/usr/bin/touch")
					_, ran := os.Stat(marker)
					if deny {
						if ran == nil {
							t.Errorf("the denied touch ran")
						}
						if len(x) == 0 || x[0].Action != "deny" {
							t.Errorf("want a deny record for touch:\n%s", dump(r.Records))
						}
						return
					}
					if r.ExitCode != 0 || ran != nil {
						t.Fatalf("exit %d, touch ran: %v; stdout %q stderr %q", r.ExitCode, ran == nil, r.Stdout, r.Stderr)
					}
					if len(x) != 1 || x[0].Error != "" || x[0].PID == r.Execs()[0].PID && mode != "thread" {
						t.Errorf("want one successful exec record of touch, by the child:\n%s", dump(r.Records))
					}
					if backend == "ptrace" && (len(x) != 1 || x[0].Verified == nil || !*x[0].Verified) {
						t.Errorf("the exec of touch is not verified: the tracer did not see it happen:\n%s", dump(r.Records))
					}
					if mode == "thread" && (len(x) != 1 || x[0].TID == 0 || x[0].PID != r.Execs()[0].PID) {
						t.Errorf("the thread's exec: want the helper's pid and the thread's tid:\n%s", dump(r.Records))
					}
				})
			}
		}
	}
	t.Run("clone3", func(t *testing.T) {
		t.Parallel()
		r := runTrail(t, Opts{Timeout: waitTimeout}, helper, "clone3", "/usr/bin/true")
		if got := atLines(r.Stdout)["clone3"]; got != "ENOSYS" {
			t.Errorf("clone3(CLONE_UNTRACED): %q, want ENOSYS (the filter refuses clone3 whatever its flags)", got)
		}
	})
}

// atErrorLines returns the lines of stderr that are exectrail's own.
func atErrorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "exectrail: ") {
			out = append(out, l)
		}
	}
	return out
}

// atWantFailed checks the end of a run whose record output failed: 125,
// one error line naming the output, no panic, and touch never ran.
func atWantFailed(t *testing.T, what string, ws syscall.WaitStatus, stderr, marker string) {
	t.Helper()
	noPanic(t, stderr)
	if !ws.Exited() || ws.ExitStatus() != exitSetupStatus {
		t.Errorf("%s: status %v (exit %d), want exit 125; stderr %q", what, ws, ws.ExitStatus(), stderr)
	}
	if l := atErrorLines(stderr); len(l) != 1 || !strings.Contains(l[0], "writing records") {
		t.Errorf("%s: want exactly one exectrail error line about the records, got %q", what, l)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("%s: touch ran although a record before it could not be written", what)
	}
}

// Item 6 of issue 12: a record that cannot be written stops the job before
// anything more runs, whatever the record (exec, fork, exit), and
// exectrail exits 125 with one error line.
func TestAttackOutputFailure(t *testing.T) {
	t.Parallel()
	// -o /dev/full: the first record, the command's own exec, fails. The
	// ptrace backend used to resume the command before it noticed: a loop,
	// not a timer, shows it does not.
	t.Run("devFull", func(t *testing.T) {
		t.Parallel()
		const tries = 20
		for i := 0; i < tries; i++ {
			marker := filepath.Join(t.TempDir(), "ran")
			_, stderr, ws := runCmd(t, exectrail, "run", "--backend", backend, "-o", "/dev/full", "--", "touch", marker)
			atWantFailed(t, fmt.Sprintf("try %d of %d", i+1, tries), ws, stderr, marker)
			if t.Failed() {
				return
			}
		}
	})

	// The records go to a pipe that the test closes at a chosen point: the
	// exec record of sh is read, then the pipe is closed and sh goes on.
	closed := func(t *testing.T, script string) {
		dir := t.TempDir()
		marker := filepath.Join(dir, "ran")
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exectrail, "run", "--backend", backend, "-o", "/dev/fd/3", "--format", "json", "--", "sh", "-c", script, "sh", marker)
		cmd.ExtraFiles = []*os.File{pw}
		stdin, lines, stderr := startPiped(t, cmd)
		pw.Close()
		recs := readLines(pr)
		for {
			l, ok := recs.next(t)
			if !ok {
				t.Fatalf("no exec record of sh; stderr %s", stderr.String())
			}
			if strings.Contains(l, `"event":"exec"`) && strings.Contains(l, `"sh"`) {
				break
			}
		}
		closeLastReader(t, pr) // every later write gets EPIPE
		if _, err := io.WriteString(stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
		stdin.Close()
		lines.rest(t)
		err = cmd.Wait()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		atWantFailed(t, "after the reader went away", cmd.ProcessState.Sys().(syscall.WaitStatus), stderr.String(), marker)
	}
	t.Run("exitRecord", func(t *testing.T) {
		t.Parallel()
		// Nothing but sh's own exit is recorded after the pipe closes.
		closed(t, "read x")
	})
	t.Run("forkRecord", func(t *testing.T) {
		t.Parallel()
		closed(t, `read x; /usr/bin/touch "$1"`)
	})

	// A real reader that goes away early, `| head -c1`: more records than
	// a pipe holds, so some write fails whatever the timing; which one is
	// racy, hence several tries.
	t.Run("headC1", func(t *testing.T) {
		t.Parallel()
		if _, err := exec.LookPath("head"); err != nil {
			skipf(t, "needs head")
		}
		const tries = 5
		for i := 0; i < tries; i++ {
			marker := filepath.Join(t.TempDir(), "ran")
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			et := exec.Command(exectrail, "run", "--backend", backend, "-o", "-", "--format", "json", "--",
				"sh", "-c", `i=0; while [ $i -lt 400 ]; do /bin/true; i=$((i+1)); done; touch "$1"`, "sh", marker)
			var stderr strings.Builder
			et.Stdout, et.Stderr = pw, &stderr
			head := exec.Command("head", "-c1")
			head.Stdin, head.Stdout = pr, io.Discard
			if err := head.Start(); err != nil {
				t.Fatal(err)
			}
			if err := et.Start(); err != nil {
				t.Fatal(err)
			}
			pr.Close()
			pw.Close()
			done := make(chan struct{})
			timer := time.AfterFunc(waitTimeout, func() { _ = et.Process.Kill() })
			go func() { _ = head.Wait(); close(done) }()
			_ = et.Wait()
			timer.Stop()
			<-done
			atWantFailed(t, fmt.Sprintf("| head -c1, try %d of %d", i+1, tries), et.ProcessState.Sys().(syscall.WaitStatus), stderr.String(), marker)
			if t.Failed() {
				return
			}
		}
	})
}

// closeLastReader closes pr, the read end of a pipe, and waits until no
// child of the test process holds a copy of it, so that every later write
// to the pipe gets EPIPE. A child that another test is starting holds
// this process's fds, close-on-exec ones too, until its exec has closed
// them (after its parent has resumed): a write then finds a reader and
// succeeds, which under load made a run whose records could not be
// written exit 0 instead of 125. (Such a child cannot fork before its
// exec, so the test process's children are all there is to check.)
func closeLastReader(t *testing.T, pr *os.File) {
	t.Helper()
	fi, err := pr.Stat()
	if err != nil {
		t.Fatal(err)
	}
	link := fmt.Sprintf("pipe:[%d]", fi.Sys().(*syscall.Stat_t).Ino)
	pr.Close()
	deadline := time.Now().Add(waitTimeout)
	for {
		holder := 0
		for _, pid := range procfs.Children("/proc", os.Getpid()) {
			if holdsForReading(pid, link) {
				holder = pid
				break
			}
		}
		if holder == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still holds the read end of the records pipe (%s)", holder, link)
		}
		time.Sleep(time.Millisecond)
	}
}

// holdsForReading reports whether process pid has link (pipe:[INO]) open
// for reading.
func holdsForReading(pid int, link string) bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if l, err := os.Readlink(dir + "/" + e.Name()); err != nil || l != link {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				if flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64); err == nil && flags&unix.O_ACCMODE != unix.O_WRONLY {
					return true
				}
			}
		}
	}
	return false
}

// atFDsC prints every open fd above 2 with what it is.
const atFDsC = `
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
	for (int fd = 3; fd < 1024; fd++) {
		if (fcntl(fd, F_GETFD) < 0) continue;
		char p[64], l[256] = "";
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(p, l, sizeof l - 1);
		if (n > 0) l[n] = 0;
		printf("%d %s\n", fd, l);
	}
	return 0;
}
`

// The job inherits none of exectrail's own fds — the records, the
// listener, pidfds, the --report copy, an fd given for -o /dev/fd/N —
// only what exectrail itself inherited for it: what the helper has when
// run directly with the same fds, less fd 3, given for the records.
func TestAttackInheritedFDs(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "fds", atFDsC)
	dir := t.TempDir()
	rec, err := os.Create(filepath.Join(dir, "records"))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	keep, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	fds := func(name string, args ...string) string {
		var stdout, stderr strings.Builder
		cmd := exec.Command(name, args...)
		cmd.ExtraFiles = []*os.File{rec, keep}
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v; stderr %s", name, err, stderr.String())
		}
		return stdout.String()
	}
	native := fds(helper)
	want := strings.Replace(native, "3 "+rec.Name()+"\n", "", 1)
	if want == native || !strings.Contains(want, "4 /dev/null\n") {
		t.Fatalf("run directly, the helper has fds:\n%s\nwant 3 (%s) and 4 (/dev/null) among them", native, rec.Name())
	}
	if got := fds(exectrail, "run", "--backend", backend, "-o", "/dev/fd/3", "--format", "json", "--report", "--", helper); got != want {
		t.Errorf("the job's fds above 2:\n%s\nwant what exectrail inherited, less the records' fd 3:\n%s", got, want)
	}
}

// --user runs the job as another user (its groups, or the one given),
// needs root, and refuses what would not be another user.
func TestUserFlag(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	t.Run("uidGid", func(t *testing.T) {
		t.Parallel()
		r := runTrail(t, Opts{Flags: []string{"--user", "4242424:4242425"}, Dir: "/", Timeout: waitTimeout}, "sh", "-c", "id -u; id -g; id -G")
		if r.ExitCode != 0 || r.Stdout != "4242424\n4242425\n4242425\n" {
			t.Errorf("--user 4242424:4242425: exit %d, id says %q; stderr %q", r.ExitCode, r.Stdout, r.Stderr)
		}
		if x := r.Execs(); len(x) == 0 || x[0].UID == nil || *x[0].UID != 4242424 {
			t.Errorf("the records should say uid 4242424:\n%s", dump(r.Records))
		}
	})
	t.Run("name", func(t *testing.T) {
		t.Parallel()
		r := runTrail(t, Opts{Flags: []string{"--user", "nobody"}, Dir: "/", Timeout: waitTimeout}, "id", "-u")
		if r.ExitCode != 0 || r.Stdout != "65534\n" {
			t.Errorf("--user nobody: exit %d, id -u says %q; stderr %q", r.ExitCode, r.Stdout, r.Stderr)
		}
	})
	for _, bad := range []string{"no-such-user-exectrail", "root", "0", "4242424", "nobody:no-such-group-exectrail", ":1"} {
		t.Run("bad_"+bad, func(t *testing.T) {
			t.Parallel()
			_, stderr, ws := runRaw(t, "run", "--backend", backend, "--user", bad, "--", "true")
			if !ws.Exited() || ws.ExitStatus() != exitSetupStatus {
				t.Errorf("--user %q: status %v, want exit 125", bad, ws)
			}
			oneErrorLine(t, "--user "+bad, stderr)
		})
	}
	t.Run("notRoot", func(t *testing.T) {
		t.Parallel()
		r := runTrail(t, Opts{Cred: nobody, Flags: []string{"--user", "nobody"}, Timeout: waitTimeout}, "true")
		if r.ExitCode != exitSetupStatus || !strings.Contains(r.Stderr, "needs exectrail to run as root") {
			t.Errorf("--user as nobody: exit %d, stderr %q; want 125 and why", r.ExitCode, r.Stderr)
		}
		oneErrorLine(t, "--user as nobody", r.Stderr)
	})
}
