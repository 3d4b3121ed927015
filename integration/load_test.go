package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Load, threads and ABIs: many short-lived processes, execs from threads,
// signals during held calls, posix_spawn, and the 32-bit entry points of a
// 64-bit process. Every count below is exact: a missing record and a
// duplicate are both failures.

// forkExecSrc forks N children, one at a time; each execs /usr/bin/true.
// Every fork, exec and child status is checked: the helper exits non-zero
// on the first failure.
const forkExecSrc = `
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 2) { fprintf(stderr, "usage: forkexec N\n"); return 2; }
	int n = atoi(argv[1]);
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0) { fprintf(stderr, "forkexec: fork %d: %s\n", i, strerror(errno)); return 3; }
		if (p == 0) {
			char *args[] = {"/usr/bin/true", NULL};
			execv(args[0], args);
			fprintf(stderr, "forkexec: execv %d: %s\n", i, strerror(errno));
			_exit(127);
		}
		int st;
		if (waitpid(p, &st, 0) != p) { fprintf(stderr, "forkexec: waitpid %d: %s\n", i, strerror(errno)); return 4; }
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "forkexec: child %d: wait status %#x\n", i, st); return 5; }
	}
	return 0;
}
`

// forkKinds are the fork record kinds the spec allows.
var forkKinds = []string{"fork", "vfork", "clone", "clone3"}

// checkTrueExecs asserts that r holds exactly n exec records of
// /usr/bin/true, each a clean success with the argv the helpers pass, made
// by a child of one of parents.
func checkTrueExecs(t *testing.T, r *Run, n int, parents map[int]bool) {
	t.Helper()
	checkTrueExecsArgv(t, r, n, parents, []string{"/usr/bin/true"})
}

// checkTrueExecsArgv is checkTrueExecs for execs with argv wantArgv.
func checkTrueExecsArgv(t *testing.T, r *Run, n int, parents map[int]bool, wantArgv []string) {
	t.Helper()
	trues := r.ExecsOf("/usr/bin/true")
	if len(trues) != n {
		t.Fatalf("want exactly %d exec records of /usr/bin/true, got %d (%d records in all)", n, len(trues), len(r.Records))
	}
	bad := 0
	for _, rec := range trues {
		ok := rec.Path == "/usr/bin/true" && !rec.Has("error") && rec.Error == "" &&
			slices.Equal(rec.Argv, wantArgv) && !rec.Has("argv_truncated") && parents[rec.PPID] && rec.PID > 0 && rec.PID != rec.PPID
		if !ok {
			if bad < 5 {
				t.Errorf("exec record of /usr/bin/true: want path /usr/bin/true, argv of %d elements starting %q, no error, parent one of %v:\n%.2000s", len(wantArgv), wantArgv[0], sortedKeys(parents), dump([]Record{rec}))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d /usr/bin/true records are wrong", bad, n)
	}
	// The only other execs are the ones that started the helpers.
	for _, rec := range r.Execs() {
		if rec.Executable != "/usr/bin/true" && rec.Error != "" {
			t.Errorf("unexpected failed exec:\n%s", dump([]Record{rec}))
		}
	}
}

// forksBy returns the fork records made by pid and checks their kind.
func forksBy(t *testing.T, r *Run, pid int) []Record {
	t.Helper()
	var out []Record
	for _, rec := range r.Events("fork") {
		if rec.PID != pid {
			continue
		}
		if !slices.Contains(forkKinds, rec.Kind) {
			t.Errorf("fork record kind %q, want one of %v:\n%s", rec.Kind, forkKinds, dump([]Record{rec}))
		}
		out = append(out, rec)
	}
	return out
}

// helperPIDs returns the pids of the exec records of program exe.
func helperPIDs(r *Run, exe string) map[int]bool {
	m := map[int]bool{}
	for _, rec := range r.ExecsOf(exe) {
		m[rec.PID] = true
	}
	return m
}

func TestLoadSequentialForkExec2000(t *testing.T) {
	helper := compileC(t, "forkexec", forkExecSrc)
	start := time.Now()
	r := runTrail(t, Opts{Timeout: time.Minute}, helper, "2000")
	t.Logf("2000 fork+exec under exectrail: %v", time.Since(start))
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (signal %v), want 0: the helper saw a failed fork, exec or child\nstderr: %s", r.ExitCode, r.Signal, r.Stderr)
	}
	hs := r.ExecsOf(helper)
	if len(hs) != 1 {
		t.Fatalf("want one exec record of the helper, got %d", len(hs))
	}
	checkTrueExecs(t, r, 2000, map[int]bool{hs[0].PID: true})
	if n := len(r.Execs()); n != 2001 {
		t.Errorf("want 2001 exec records (helper + 2000), got %d", n)
	}
	if n := len(forksBy(t, r, hs[0].PID)); n != 2000 {
		t.Errorf("want 2000 fork records by the helper, got %d", n)
	}
}

func TestLoadParallelHelpers4x500(t *testing.T) {
	helper := compileC(t, "forkexec", forkExecSrc)
	// Every helper's status is checked: a plain `wait` would return 0.
	script := `h=$1
"$h" 500 & a=$!
"$h" 500 & b=$!
"$h" 500 & c=$!
"$h" 500 & d=$!
for p in $a $b $c $d; do wait $p || { echo "helper $p failed: $?" >&2; exit 1; }; done`
	start := time.Now()
	r := runTrail(t, Opts{Timeout: time.Minute}, "/bin/sh", "-c", script, "sh", helper)
	t.Logf("4 x 500 parallel fork+exec under exectrail: %v", time.Since(start))
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (signal %v), want 0\nstderr: %s", r.ExitCode, r.Signal, r.Stderr)
	}
	parents := helperPIDs(r, helper)
	if len(parents) != 4 || len(r.ExecsOf(helper)) != 4 {
		t.Fatalf("want 4 helper execs with 4 distinct pids, got %d records, pids %v", len(r.ExecsOf(helper)), sortedKeys(parents))
	}
	checkTrueExecs(t, r, 2000, parents)
	for pid := range parents {
		if n := len(forksBy(t, r, pid)); n != 500 {
			t.Errorf("helper %d: want 500 fork records, got %d", pid, n)
		}
	}
}

// threadExecSrc execs from a second thread. It prints "PID TID" of the
// execing thread first.
const threadExecSrc = `
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void *run(void *arg) {
	(void)arg;
	printf("%d %d\n", (int)getpid(), (int)gettid());
	fflush(stdout);
	char *args[] = {"/usr/bin/true", "from-thread", NULL};
	execv(args[0], args);
	fprintf(stderr, "threadexec: execv: %s\n", strerror(errno));
	_exit(126);
}

int main(void) {
	pthread_t t;
	int e = pthread_create(&t, NULL, run, NULL);
	if (e != 0) { fprintf(stderr, "threadexec: pthread_create: %s\n", strerror(e)); return 2; }
	pthread_join(t, NULL);
	return 3;
}
`

func TestThreadExecRecordsProcessID(t *testing.T) {
	helper := compileC(t, "threadexec", threadExecSrc, "-pthread")
	r := runTrail(t, Opts{Timeout: 30 * time.Second}, helper)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (signal %v), want 0 from /usr/bin/true\nstderr: %s", r.ExitCode, r.Signal, r.Stderr)
	}
	var pid, tid int
	if _, err := fmt.Sscan(r.Stdout, &pid, &tid); err != nil {
		t.Fatalf("helper output %q: %v", r.Stdout, err)
	}
	if pid == tid {
		t.Fatalf("the execing thread %d is the main thread: the test is broken", tid)
	}
	hs, trues := r.ExecsOf(helper), r.ExecsOf("/usr/bin/true")
	if len(hs) != 1 || len(trues) != 1 {
		t.Fatalf("want one exec of the helper and one of /usr/bin/true, got %d and %d:\n%s", len(hs), len(trues), dump(r.Records))
	}
	rec := trues[0]
	if rec.PID != pid {
		t.Errorf("exec from thread %d of process %d recorded with pid %d: pid must be the process id, never a thread id\n%s", tid, pid, rec.PID, dump([]Record{rec}))
	}
	if rec.Has("tid") && rec.TID != tid {
		t.Errorf("tid field %d, want the execing thread %d", rec.TID, tid)
	}
	if hs[0].PID != pid {
		t.Errorf("helper exec recorded with pid %d, want %d", hs[0].PID, pid)
	}
	if rec.PPID != hs[0].PPID {
		t.Errorf("ppid %d, want the helper's parent %d", rec.PPID, hs[0].PPID)
	}
	wantExec(t, rec, "/usr/bin/true", "/usr/bin/true", "")
	if !slices.Equal(rec.Argv, []string{"/usr/bin/true", "from-thread"}) || rec.Has("error") {
		t.Errorf("argv %q error %q, want [/usr/bin/true from-thread] and no error", rec.Argv, rec.Error)
	}
	// pthread_create is not a fork.
	if fs := forksBy(t, r, pid); len(fs) != 0 {
		t.Errorf("thread creation produced fork records:\n%s", dump(fs))
	}
}

// buildGoExec builds integration/testdata/goexec into a temp dir.
func buildGoExec(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "integration", "testdata", "goexec", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	return prebuilt(t, "goexec", "go build CGO_ENABLED=0\x00"+string(src), func(bin string) error {
		cmd := exec.Command("go", "build", "-o", bin, "./integration/testdata/goexec")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building goexec: %v\n%s", err, out)
		}
		return nil
	})
}

// A Go program under exectrail: its runtime preempts goroutines with
// SIGURG while execs and forks are held. Every exec must be recorded
// exactly once and none may fail (EINTR never happens natively). The
// program's last act is its own syscall.Exec under a stream of SIGURG.
func TestGoProgramExecsUnderPreemption(t *testing.T) {
	prog := buildGoExec(t)
	const finalArgs = 1000
	start := time.Now()
	r := runTrail(t, Opts{Timeout: time.Minute}, prog, "-n", "300", "-par", "3", "-final", "-final-args", strconv.Itoa(finalArgs))
	t.Logf("goexec 300 execs under exectrail: %v; goexec says: %s", time.Since(start), strings.TrimSpace(r.Stderr))
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (signal %v), want 0: an exec or fork failed in the Go program\nstderr: %s", r.ExitCode, r.Signal, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "goexec: 300 execs ok") {
		t.Fatalf("goexec did not finish: stdout %q", r.Stdout)
	}
	gs := r.ExecsOf(prog)
	if len(gs) != 1 {
		t.Fatalf("want one exec record of goexec, got %d", len(gs))
	}
	gpid := gs[0].PID
	var children, final []Record
	for _, rec := range r.ExecsOf("/usr/bin/true") {
		if rec.PID == gpid {
			final = append(final, rec)
		} else {
			children = append(children, rec)
		}
	}
	if len(children) != 300 || len(final) != 1 {
		t.Fatalf("want 300 exec records of /usr/bin/true by children of goexec and 1 by goexec itself, got %d and %d", len(children), len(final))
	}
	checkTrueExecs(t, &Run{Records: children}, 300, map[int]bool{gpid: true})
	wantFinal := []string{"/usr/bin/true", "goexec-final"}
	for i := range finalArgs {
		wantFinal = append(wantFinal, fmt.Sprintf("final-argument-%04d", i))
	}
	if f := final[0]; !slices.Equal(f.Argv, wantFinal) || f.Has("error") || f.Has("argv_truncated") {
		t.Errorf("goexec's final exec: want %d arguments, no error:\n%.2000s", len(wantFinal), dump(final))
	}
	if n := len(r.Execs()); n != 302 {
		t.Errorf("want 302 exec records, got %d", n)
	}
	// At least one per exec: os/exec also makes one probing clone
	// (CLONE_PIDFD) that execs nothing.
	if n := len(forksBy(t, r, gpid)); n < 300 {
		t.Errorf("want at least 300 fork records by goexec, got %d", n)
	}
}

// cappedAlarmC is the start of the signal-storm programs (signalStormSrc,
// eintrStormSrc): on_sig counts a signal; on_alrm, the handler of the
// parent's 100 µs timer alrm (alrm_on), also stops that timer once CAP
// signals have landed within one fork (in_fork set, during counting),
// because a fork a signal interrupts is restarted by the kernel and a
// period shorter than the fork would never let it finish, natively too.
const cappedAlarmC = `
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CAP 20
static volatile sig_atomic_t hits, in_fork, during;
static timer_t alrm;
static const struct itimerspec alrm_on = {{0, 100000}, {0, 100000}}, alrm_off;
static void on_sig(int s) { (void)s; hits++; }
static void on_alrm(int s) {
	(void)s;
	hits++;
	if (in_fork && ++during >= CAP) timer_settime(alrm, 0, &alrm_off, NULL);
}
`

// signalStormSrc forks and execs N times while signals with SA_RESTART
// handlers keep arriving: SIGALRM every 100 µs at the parent (it lands in
// held forks) and, in each child, a POSIX timer that sends SIGURG every
// 50 µs from just before its exec (it lands in the held exec; POSIX timers
// are deleted by a successful exec, and SIGURG's default is to ignore it).
// A signal pending when a held fork goes on makes the kernel restart the
// fork (ERESTARTNOINTR), trapped again: were the storm endless, a fork
// whose hold takes longer than the period (a loaded machine; natively the
// window is a few instructions) would be restarted for ever. So the
// parent's timer stops after CAP signals in one fork, and starts again
// after it: each fork still takes signals while held, and always ends.
// The child's argv is large (about 64 KiB) so that the supervisor holds
// the exec long enough for several signals to arrive. Without
// WAIT_KILLABLE_RECV each interrupted held exec is restarted and notified
// again; with SA_RESTART cleared it would fail with EINTR instead.
const signalStormSrc = cappedAlarmC + `
#define NARGS 1000
static char *args[NARGS + 2];

int main(int argc, char **argv) {
	int n = atoi(argv[1]);
	args[0] = "/usr/bin/true";
	for (int i = 1; i <= NARGS; i++) {
		args[i] = malloc(64);
		snprintf(args[i], 64, "storm-argument-%04d-......................................", i);
	}
	args[NARGS + 1] = NULL;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGURG, &sa, NULL);
	sa.sa_handler = on_alrm;
	sigaction(SIGALRM, &sa, NULL);
	struct sigevent aev;
	memset(&aev, 0, sizeof aev);
	aev.sigev_notify = SIGEV_SIGNAL;
	aev.sigev_signo = SIGALRM;
	if (timer_create(CLOCK_MONOTONIC, &aev, &alrm) != 0) { perror("storm: timer_create"); return 6; }
	long in_forks = 0;
	int capped = 0;
	for (int i = 0; i < n; i++) {
		during = 0;
		timer_settime(alrm, 0, &alrm_on, NULL);
		in_fork = 1;
		pid_t p = fork();
		in_fork = 0;
		if (p < 0) { fprintf(stderr, "storm: fork %d: %s\n", i, strerror(errno)); return 3; }
		if (p == 0) {
			struct sigevent sev;
			memset(&sev, 0, sizeof sev);
			sev.sigev_notify = SIGEV_SIGNAL;
			sev.sigev_signo = SIGURG;
			timer_t tm;
			if (timer_create(CLOCK_MONOTONIC, &sev, &tm) != 0) { perror("storm: timer_create"); _exit(126); }
			struct itimerspec ts = {{0, 50000}, {0, 50000}};
			timer_settime(tm, 0, &ts, NULL);
			execv(args[0], args);
			fprintf(stderr, "storm: execv %d: %s\n", i, strerror(errno));
			_exit(127);
		}
		in_forks += during;
		capped += during >= CAP;
		int st;
		if (waitpid(p, &st, 0) != p) { fprintf(stderr, "storm: waitpid %d: %s\n", i, strerror(errno)); return 4; }
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "storm: child %d: wait status %#x\n", i, st); return 5; }
	}
	fprintf(stderr, "storm: %d signals handled in the parent, %ld in forks, %d forks reached the cap\n", (int)hits, in_forks, capped);
	return 0;
}
`

func TestSignalStormDuringHeldCalls(t *testing.T) {
	helper := compileC(t, "storm", signalStormSrc)
	const n = 300
	start := time.Now()
	r := runTrail(t, Opts{Timeout: time.Minute}, helper, strconv.Itoa(n))
	t.Logf("signal storm, %d fork+exec: %v; %s", n, time.Since(start), strings.TrimSpace(r.Stderr))
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (signal %v), want 0: a fork or exec failed (EINTR?)\nstderr: %s", r.ExitCode, r.Signal, r.Stderr)
	}
	hs := r.ExecsOf(helper)
	if len(hs) != 1 {
		t.Fatalf("want one exec record of the helper, got %d", len(hs))
	}
	wantArgv := []string{"/usr/bin/true"}
	for i := 1; i <= 1000; i++ {
		wantArgv = append(wantArgv, fmt.Sprintf("storm-argument-%04d-......................................", i))
	}
	checkTrueExecsArgv(t, r, n, map[int]bool{hs[0].PID: true}, wantArgv)
	// A fork is restarted by the kernel itself (ERESTARTNOINTR) when a
	// signal arrives while it runs, and each restart is a new attempt: so
	// fork records are at least one per child, not exactly one.
	if got := len(forksBy(t, r, hs[0].PID)); got < n {
		t.Errorf("want at least %d fork records, got %d", n, got)
	} else {
		t.Logf("%d fork records for %d forks (kernel-restarted attempts included)", got, n)
	}
}

// posixSpawnSrc spawns /usr/bin/true N times with posix_spawn (glibc:
// clone3 with CLONE_VM|CLONE_VFORK, which the filter answers with ENOSYS,
// so glibc falls back to clone).
const posixSpawnSrc = `
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

int main(void) {
	for (int i = 0; i < 5; i++) {
		char arg[32];
		snprintf(arg, sizeof arg, "spawn-%d", i);
		char *args[] = {"/usr/bin/true", arg, NULL};
		pid_t p;
		int e = posix_spawn(&p, args[0], NULL, NULL, args, environ);
		if (e != 0) { fprintf(stderr, "spawn: posix_spawn %d: %s\n", i, strerror(e)); return 2; }
		int st;
		if (waitpid(p, &st, 0) != p) { fprintf(stderr, "spawn: waitpid: %s\n", strerror(errno)); return 3; }
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "spawn: child %d: status %#x\n", i, st); return 4; }
	}
	return 0;
}
`

func TestPosixSpawnRecorded(t *testing.T) {
	helper := compileC(t, "spawn", posixSpawnSrc)
	r := runTrail(t, Opts{Timeout: 30 * time.Second}, helper)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (signal %v), want 0\nstderr: %s", r.ExitCode, r.Signal, r.Stderr)
	}
	hs := r.ExecsOf(helper)
	if len(hs) != 1 {
		t.Fatalf("want one exec record of the helper, got %d", len(hs))
	}
	trues := r.ExecsOf("/usr/bin/true")
	if len(trues) != 5 {
		t.Fatalf("want 5 exec records of /usr/bin/true, got %d:\n%s", len(trues), dump(r.Records))
	}
	for i, rec := range trues {
		want := []string{"/usr/bin/true", fmt.Sprintf("spawn-%d", i)}
		if !slices.Equal(rec.Argv, want) || rec.Has("error") || rec.PPID != hs[0].PID {
			t.Errorf("spawn %d: want argv %q, no error, ppid %d:\n%s", i, want, hs[0].PID, dump([]Record{rec}))
		}
	}
	if n := len(forksBy(t, r, hs[0].PID)); n != 5 {
		t.Errorf("want 5 fork records by the helper, got %d:\n%s", n, dump(r.Records))
	}
}

// int80Src is a static, non-PIE 64-bit program that makes i386 system
// calls with int $0x80: it forks (i386 fork = 2); the child execs
// /usr/bin/true (i386 execve = 11) and the parent, once the child has
// exited 0, does the same. Its strings and 32-bit argv arrays are in
// static storage, below 4 GiB in a non-PIE binary. If an exec returns, it
// exits 3; if the filter killed it, SIGSYS.
const int80Src = `
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[] = "/usr/bin/true";
static char arg0[] = "/usr/bin/true";
static char argp[] = "int80-parent";
static char argc_[] = "int80-child";
static uint32_t argvp[3], argvc[3], envp[1];

static long int80(long nr, uint32_t b, uint32_t c, uint32_t d) {
	long ret;
	__asm__ volatile("int $0x80"
		: "=a"(ret)
		: "a"(nr), "b"(b), "c"(c), "d"(d)
		: "memory", "r8", "r9", "r10", "r11");
	return ret;
}

static uint32_t p32(void *p) {
	uintptr_t u = (uintptr_t)p;
	if (u >> 32) { fprintf(stderr, "int80: %p is above 4 GiB\n", p); _exit(2); }
	return (uint32_t)u;
}

int main(void) {
	argvp[0] = p32(arg0); argvp[1] = p32(argp); argvp[2] = 0;
	argvc[0] = p32(arg0); argvc[1] = p32(argc_); argvc[2] = 0;
	envp[0] = 0;
	fflush(stdout);
	long pid = int80(2, 0, 0, 0);
	if (pid < 0) { fprintf(stderr, "int80: fork: %ld\n", pid); return 4; }
	if (pid == 0) {
		long r = int80(11, p32(path), p32(argvc), p32(envp));
		fprintf(stderr, "int80: child execve returned %ld\n", r);
		_exit(3);
	}
	int st;
	if (waitpid((pid_t)pid, &st, 0) != pid) { perror("int80: waitpid"); return 5; }
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "int80: child status %#x\n", st); return 6; }
	long r = int80(11, p32(path), p32(argvp), p32(envp));
	fprintf(stderr, "int80: execve returned %ld\n", r);
	return 3;
}
`

func TestI386Int80Exec(t *testing.T) {
	helper := compileC(t, "int80", int80Src, "-static", "-no-pie")
	r := runTrail(t, Opts{Timeout: 30 * time.Second}, helper)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (signal %v), want 0 from /usr/bin/true: the int $0x80 fork or exec did not run\nstderr: %s\n%s", r.ExitCode, r.Signal, r.Stderr, dump(r.Records))
	}
	hs := r.ExecsOf(helper)
	if len(hs) != 1 {
		t.Fatalf("want one exec record of the helper, got %d", len(hs))
	}
	pid := hs[0].PID
	trues := r.ExecsOf("/usr/bin/true")
	if len(trues) != 2 {
		t.Fatalf("want 2 exec records of /usr/bin/true (child, then parent), got %d:\n%s", len(trues), dump(r.Records))
	}
	for i, want := range [][]string{{"/usr/bin/true", "int80-child"}, {"/usr/bin/true", "int80-parent"}} {
		rec := trues[i]
		wantExec(t, rec, "/usr/bin/true", "/usr/bin/true", "")
		if rec.ABI != "i386" || !slices.Equal(rec.Argv, want) || rec.Has("error") || rec.Has("argv_truncated") {
			t.Errorf("i386 exec: want abi i386, argv %q, no error:\n%s", want, dump([]Record{rec}))
		}
	}
	if trues[0].PPID != pid || trues[1].PID != pid {
		t.Errorf("want the child's exec (ppid %d) first, then the helper's own (pid %d):\n%s", pid, pid, dump(trues))
	}
	fs := forksBy(t, r, pid)
	if len(fs) != 1 || fs[0].ABI != "i386" {
		t.Errorf("want one i386 fork record by the helper:\n%s", dump(fs))
	}
}

// markerSrc writes the file named by argv[1].
const markerSrc = `
#include <stdio.h>
int main(int argc, char **argv) {
	if (argc < 2) return 2;
	FILE *f = fopen(argv[1], "w");
	if (!f) return 3;
	fputs("ran\n", f);
	return fclose(f) ? 4 : 0;
}
`

// x32Src tries an x32 execve (0x40000000|520 via syscall) of the marker
// program, with 32-bit pointers in static storage. It prints the return
// value and exits 0 when the call returns.
const x32Src = `
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static char path[4096];
static char marker[4096];
static char arg0[] = "marker";
static uint32_t argv32[3], envp32[1];

int main(int argc, char **argv) {
	if (argc != 3) return 2;
	strncpy(path, argv[1], sizeof path - 1);
	strncpy(marker, argv[2], sizeof marker - 1);
	argv32[0] = (uint32_t)(uintptr_t)arg0;
	argv32[1] = (uint32_t)(uintptr_t)marker;
	argv32[2] = 0;
	envp32[0] = 0;
	long ret;
	__asm__ volatile("syscall"
		: "=a"(ret)
		: "a"(0x40000000L | 520), "D"((uintptr_t)path), "S"((uintptr_t)argv32), "d"((uintptr_t)envp32)
		: "rcx", "r11", "memory");
	printf("x32 execve returned %ld\n", ret);
	return 0;
}
`

func TestX32ExecNeverUnseen(t *testing.T) {
	marker := compileC(t, "marker", markerSrc)
	helper := compileC(t, "x32", x32Src, "-static", "-no-pie")
	markerFile := filepath.Join(t.TempDir(), "ran")
	r := runTrail(t, Opts{Timeout: 30 * time.Second}, helper, marker, markerFile)
	t.Logf("x32 attempt: exit %d, stdout %q", r.ExitCode, r.Stdout)
	_, err := os.Stat(markerFile)
	ran := err == nil
	seen := r.ExecsOf(marker)
	for _, rec := range seen {
		if rec.ABI != "x32" {
			t.Errorf("x32 exec recorded without abi x32:\n%s", dump([]Record{rec}))
		}
		if rec.Path != marker || !slices.Equal(rec.Argv, []string{"marker", markerFile}) {
			t.Errorf("x32 exec: want path %q argv [marker %s]:\n%s", marker, markerFile, dump([]Record{rec}))
		}
	}
	if ran && len(seen) == 0 {
		t.Fatalf("the x32 execve ran %s without a record:\n%s", marker, dump(r.Records))
	}
	if ran && len(seen) != 1 {
		t.Errorf("want exactly one record of the x32 exec, got %d", len(seen))
	}
	switch {
	case ran && r.ExitCode == 0:
		t.Logf("x32 execve ran and was recorded")
	case !ran && r.ExitCode == 0 && strings.HasPrefix(r.Stdout, "x32 execve returned -"):
		t.Logf("x32 execve failed: %s (records of it: %d)", strings.TrimSpace(r.Stdout), len(seen))
	case !ran && (r.Signal == syscall.SIGSYS || r.ExitCode == 128+int(syscall.SIGSYS)):
		t.Logf("x32 execve refused by killing the helper with SIGSYS")
	default:
		t.Errorf("unexpected outcome: marker ran %v, exit %d (signal %v), stdout %q, stderr %s", ran, r.ExitCode, r.Signal, r.Stdout, r.Stderr)
	}
}
