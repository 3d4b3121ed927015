package integration

// Forks and clones the ptrace backend could lose or misfile: a fork
// event lost when another thread's exec (de_thread) kills the forking
// thread, a process clone that reports as PTRACE_EVENT_CLONE, a failed
// clone followed by a thread, and a call trapped by the job's own
// SECCOMP_RET_TRACE filter. They run with the pass's backend: what they
// check holds for both (notify has no child_pid and no exit records, and
// checks what it has).

import (
	"fmt"
	"strings"
	"testing"
)

// feDethreadC: rounds of (threads fork in a loop; once each has forked,
// the main thread execs this program again). The new image reaps every
// child the old one left (a forker killed before its waitpid leaves one),
// so a child left stopped hangs it. Each child prints nothing and exits 0.
const feDethreadC = `#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

enum { THREADS = 3 };
static atomic_int forked;

static void *forker(void *arg) {
	(void)arg;
	int counted = 0;
	for (;;) {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		if (p > 0 && !counted) {
			counted = 1;
			atomic_fetch_add(&forked, 1);
		}
		/* One child at a time: no storm of zombies to starve the
		   machine's other processes of pids. */
		if (p > 0)
			waitpid(p, NULL, 0);
	}
	return NULL;
}

int main(int argc, char **argv) {
	int round = argc > 1 ? atoi(argv[1]) : 0;
	/* The children of the image before: reap them all. */
	while (wait(NULL) > 0)
		;
	if (round == 0) {
		printf("done\n");
		return 0;
	}
	pthread_t t;
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t, NULL, forker, NULL);
	while (atomic_load(&forked) < THREADS)
		sched_yield();
	char next[16];
	snprintf(next, sizeof next, "%d", round - 1);
	execl("/proc/self/exe", argv[0], next, (char *)NULL);
	perror("execl");
	return 1;
}
`

// A thread's exec kills the other threads (de_thread); one killed in a
// fork never reports its fork event. Its child must be let go and
// recorded all the same, not left stopped until its parent exits (which,
// here, waits for it: a hang).
func TestForkEventLostToExec(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "dethread", feDethreadC, "-pthread")
	const rounds = 60
	r := runTrail(t, Opts{Timeout: waitTimeout}, helper, fmt.Sprint(rounds))
	noPanic(t, r.Stderr)
	if r.ExitCode != 0 || r.Stdout != "done\n" {
		t.Fatalf("exit %d (signal %v) stdout %q, want 0 and done\nstderr: %s", r.ExitCode, r.Signal, r.Stdout, r.Stderr)
	}
	if n := len(r.ExecsOf(helper)); n != rounds+1 {
		t.Errorf("%d exec records of the helper, want %d", n, rounds+1)
	}
	if backend != "ptrace" {
		return
	}
	root := r.Execs()[0].PID
	forked := map[int]int{}
	for _, f := range r.Events("fork") {
		if f.PID != root {
			t.Errorf("fork record not by the job's process %d:\n%s", root, dump([]Record{f}))
		}
		forked[f.ChildPID]++
	}
	var bad []string
	for _, e := range r.Events("exit") {
		if e.PID != root && forked[e.PID] != 1 {
			bad = append(bad, fmt.Sprintf("%d fork records for %s", forked[e.PID], strings.TrimSpace(dump([]Record{e}))))
		}
		if e.Signal != "" || e.ExitCode == nil || *e.ExitCode != 0 {
			bad = append(bad, "not a plain exit 0: "+strings.TrimSpace(dump([]Record{e})))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d problems, e.g.:\n%s", len(bad), strings.Join(bad[:min(5, len(bad))], "\n"))
	}
	if len(forked) != len(r.Events("exit"))-1 {
		t.Errorf("%d forked children, %d exit records besides the root's", len(forked), len(r.Events("exit"))-1)
	}
}

// feCloneC: a process clone with exit signal 0 (it reports as
// PTRACE_EVENT_CLONE), a clone the kernel refuses (CLONE_SIGHAND without
// CLONE_VM) and then a thread, which must not take over the refused
// clone's record.
const feCloneC = `#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char stack[1 << 16];
static int child(void *a) { (void)a; return 7; }
static void *thread(void *a) { return a; }

int main(void) {
	int pid = clone(child, stack + sizeof stack, 0, NULL);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, __WALL) != pid) {
		perror("clone");
		return 1;
	}
	long r = syscall(SYS_clone, CLONE_SIGHAND, 0, 0, 0, 0);
	int e = errno;
	pthread_t t;
	pthread_create(&t, NULL, thread, NULL);
	pthread_join(t, NULL);
	printf("clone %d exit %d; refused %ld %s\n", pid, WEXITSTATUS(st), r, strerror(e));
	return 0;
}
`

// A process is told from a thread by CLONE_THREAD, not by the event kind
// nor by a clone seen earlier that failed.
func TestCloneProcessOrThread(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "clones", feCloneC, "-pthread")
	r := runTrail(t, Opts{}, helper)
	noPanic(t, r.Stderr)
	var pid, code int
	if _, err := fmt.Sscanf(r.Stdout, "clone %d exit %d; refused -1 Invalid argument", &pid, &code); err != nil || r.ExitCode != 0 || code != 7 {
		t.Fatalf("exit %d stdout %q (%v), want the clone's exit 7 and EINVAL\nstderr: %s", r.ExitCode, r.Stdout, err, r.Stderr)
	}
	forks := r.Events("fork")
	// notify writes a fork record for each trapped clone, before the
	// call, so also the refused one (SPEC: a fork record is the attempt).
	want := 2
	if backend == "ptrace" {
		want = 1 // the clone that made a process, nothing for the thread
	}
	if len(forks) != want {
		t.Fatalf("%d fork records, want %d:\n%s", len(forks), want, dump(r.Records))
	}
	if forks[0].Kind != "clone" {
		t.Errorf("kind %q, want clone:\n%s", forks[0].Kind, dump(forks))
	}
	if backend != "ptrace" {
		return
	}
	if forks[0].ChildPID != pid {
		t.Errorf("child_pid %d, want %d:\n%s", forks[0].ChildPID, pid, dump(forks))
	}
	exits := r.Events("exit")
	if len(exits) != 2 || exits[0].PID != pid || exits[0].ExitCode == nil || *exits[0].ExitCode != 7 {
		t.Errorf("want the clone's exit 7, then the root's, and nothing for the thread:\n%s", dump(exits))
	}
}

// feTraceC loads a filter of its own that returns SECCOMP_RET_TRACE for
// getppid and prints what the call returned.
const feTraceC = `#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 5),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof f / sizeof f[0], f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("seccomp");
		return 1;
	}
	errno = 0;
	long r = syscall(SYS_getppid);
	printf("%ld %s\n", r, r < 0 ? strerror(errno) : "ran");
	return 0;
}
`

// A call trapped by no filter of exectrail's (the job's own RET_TRACE) is
// refused with ENOSYS under both backends: what the kernel does with no
// tracer, and what notify does with a call it cannot decode.
func TestForeignTrapRefused(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "ownfilter", feTraceC)
	r := runTrail(t, Opts{}, helper)
	noPanic(t, r.Stderr)
	if r.ExitCode != 0 || r.Stdout != "-1 Function not implemented\n" {
		t.Fatalf("exit %d stdout %q, want getppid refused with ENOSYS\nstderr: %s", r.ExitCode, r.Stdout, r.Stderr)
	}
}
