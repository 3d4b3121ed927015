package integration

// The ptrace backend (--backend ptrace): what it adds over the notifier —
// fork records with child_pid, exit records for every process, exec
// records verified at PTRACE_EVENT_EXEC and failures with the kernel's own
// errno — and what it must not break: fail-closed on exectrail's death
// (PTRACE_O_EXITKILL), execs from
// threads, the path-flipping race a held exec cannot see, and a parent
// killed before it could report its fork (KERNEL-FACTS 1, 13, 24–28).
//
// Every test names --backend ptrace itself, so these run, identically, in
// both passes of `make integration`; TestPtraceJobCanTrace also runs the
// other backends, to pin down the choice `auto` makes. Job control
// (PTRACE_LISTEN, test 5) runs with the backend under test:
// TestTTYJobControl and TestJobControlSignals.

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ptFlags are the exectrail flags of every run here.
var ptFlags = []string{"--backend", "ptrace"}

// ptProcesses returns every process of the job the records know of: the
// pid of every exec record and the child_pid of every fork record.
func ptProcesses(r *Run) map[int]bool {
	m := map[int]bool{}
	for _, rec := range r.Records {
		switch rec.Event {
		case "exec":
			m[rec.PID] = true
		case "fork":
			if rec.ChildPID != 0 {
				m[rec.ChildPID] = true
			}
		}
	}
	return m
}

// ptForksC starts N children at once, a third each with fork(), vfork()
// + exec of itself, and posix_spawn of itself, then waits for all. Every
// child says "KIND PID" with its own getpid() (the exec'd ones after the
// exec, which keeps the pid); the parent says "started KIND PID" with the
// pid fork/vfork/posix_spawn returned. Any failure exits non-zero.
const ptForksC = `
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void say(const char *what, int pid) {
	char b[64];
	int n = snprintf(b, sizeof b, "%s %d\n", what, pid);
	if (write(1, b, n) != n) _exit(9);
}

int main(int argc, char **argv) {
	if (argc == 3 && strcmp(argv[1], "say") == 0) { say(argv[2], (int)getpid()); return 0; }
	if (argc != 2) { fprintf(stderr, "forks: usage: forks N\n"); return 2; }
	int n = atoi(argv[1]);
	pid_t kids[1000];
	for (int i = 0; i < n && i < 1000; i++) {
		pid_t p = -1;
		const char *kind = "";
		switch (i % 3) {
		case 0:
			kind = "fork";
			p = fork();
			if (p == 0) { say("fork", (int)getpid()); _exit(0); }
			break;
		case 1: {
			kind = "vfork";
			char *a[] = {argv[0], "say", "vfork", NULL};
			p = vfork();
			if (p == 0) { execv(argv[0], a); _exit(127); }
			break;
		}
		case 2: {
			kind = "spawn";
			char *a[] = {argv[0], "say", "spawn", NULL};
			int e = posix_spawn(&p, argv[0], NULL, NULL, a, environ);
			if (e != 0) { fprintf(stderr, "forks: posix_spawn: %s\n", strerror(e)); return 3; }
			break;
		}
		}
		if (p < 0) { fprintf(stderr, "forks: %s: %s\n", kind, strerror(errno)); return 3; }
		kids[i] = p;
		char w[32];
		snprintf(w, sizeof w, "started %s", kind);
		say(w, (int)p);
	}
	for (int i = 0; i < n; i++) {
		int st;
		if (waitpid(kids[i], &st, 0) != kids[i]) { fprintf(stderr, "forks: waitpid: %s\n", strerror(errno)); return 4; }
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "forks: child %d: status %#x\n", (int)kids[i], st); return 5; }
	}
	return 0;
}
`

// 1. Every fork record's child_pid is the pid of the child the call
// created, once per child, with the kind of call that made it.
func TestPtraceForkChildPID(t *testing.T) {
	t.Parallel()
	const n = 50
	helper := compileC(t, "forks", ptForksC)
	r := runTrail(t, Opts{Flags: ptFlags, Timeout: waitTimeout}, helper, strconv.Itoa(n))
	noPanic(t, r.Stderr)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (signal %v), want 0\nstderr: %s\nstdout: %s", r.ExitCode, r.Signal, r.Stderr, r.Stdout)
	}
	// What the children and the parent said.
	said := map[int]string{}    // child pid -> kind, from the child itself
	started := map[int]string{} // child pid -> kind, from fork's return value
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		f := strings.Fields(l)
		var pid int
		var err error
		switch {
		case len(f) == 3 && f[0] == "started":
			pid, err = strconv.Atoi(f[2])
			started[pid] = f[1]
		case len(f) == 2:
			pid, err = strconv.Atoi(f[1])
			if _, dup := said[pid]; dup {
				t.Fatalf("two children said pid %d: %q", pid, r.Stdout)
			}
			said[pid] = f[0]
		default:
			err = errors.New("unexpected line")
		}
		if err != nil {
			t.Fatalf("helper line %q: %v", l, err)
		}
	}
	if len(said) != n || !maps.Equal(said, started) {
		t.Fatalf("the helper is broken: %d children reported, want %d, and each pid as the parent saw it:\nchildren %v\nparent %v", len(said), n, said, started)
	}
	hs := r.ExecsOf(helper)
	if len(hs) == 0 {
		t.Fatalf("no exec record of the helper:\n%s", dump(r.Records))
	}
	root := hs[0].PID
	forks := r.Events("fork")
	perChild := map[int]int{}
	for _, f := range forks {
		kind, ok := said[f.ChildPID]
		switch {
		case !ok:
			t.Errorf("fork record with child_pid %d (present %v): no child had that pid\n%s", f.ChildPID, f.Has("child_pid"), dump([]Record{f}))
			continue
		case f.PID != root:
			t.Errorf("fork record of child %d has pid %d, want the helper %d\n%s", f.ChildPID, f.PID, root, dump([]Record{f}))
		}
		perChild[f.ChildPID]++
		var want []string
		switch kind {
		case "fork": // glibc fork() is clone (KERNEL-FACTS 12)
			want = []string{"fork", "clone"}
		case "vfork":
			want = []string{"vfork"}
		case "spawn": // clone3, or clone after clone3's ENOSYS
			want = []string{"clone", "clone3"}
		}
		if !slices.Contains(want, f.Kind) {
			t.Errorf("the %s child %d has a fork record of kind %q, want one of %q\n%s", kind, f.ChildPID, f.Kind, want, dump([]Record{f}))
		}
	}
	for pid, kind := range said {
		if perChild[pid] != 1 {
			t.Errorf("%s child %d: %d fork records name it as child_pid, want exactly 1", kind, pid, perChild[pid])
		}
	}
	// The exec'd children's records carry the same pids.
	for _, e := range hs[1:] {
		if k := said[e.PID]; k != "vfork" && k != "spawn" {
			t.Errorf("exec of the helper by pid %d, which is not a vfork or spawn child (%q)\n%s", e.PID, k, dump([]Record{e}))
		}
	}
	if want := 1 + 2*n/3; len(hs) != want {
		t.Errorf("%d exec records of the helper, want %d (itself and each vfork or spawn child)", len(hs), want)
	}
	// And each ends once, fork and vfork children as much as the others.
	checkExit(t, r, root, outcome{code: 0}, "the helper")
	for pid, kind := range said {
		checkExit(t, r, pid, outcome{code: 0}, kind+" child")
	}
	if got := len(r.Events("exit")); got != n+1 {
		t.Errorf("%d exit records, want %d (the helper and its children)", got, n+1)
	}
}

// ptExitsC ends its children in every way a process can end and says
// "LABEL PID" for each; "threads" is a re-exec of itself that runs five
// threads (three return and are joined, two are still running) and exits
// 5, saying "tid TID" for every thread. The root exits 3 once every child
// ended as planned.
const ptExitsC = `
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *what, int pid) {
	char b[64];
	int n = snprintf(b, sizeof b, "%s %d\n", what, pid);
	if (write(1, b, n) != n) _exit(9);
}

static sem_t ready;

static void *thread(void *arg) {
	say("tid", (int)gettid());
	sem_post(&ready);
	if (arg) for (;;) pause();
	return NULL;
}

static int threads(void) {
	pthread_t t[5];
	sem_init(&ready, 0, 0);
	say("threads", (int)getpid());
	for (int i = 0; i < 5; i++)
		if (pthread_create(&t[i], NULL, thread, i >= 3 ? (void *)1 : NULL) != 0) return 2;
	for (int i = 0; i < 5; i++) sem_wait(&ready);
	for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
	exit(5); // the two others are still running
}

static pid_t child(const char *label) {
	pid_t p = fork();
	if (p < 0) { perror("exits: fork"); exit(2); }
	if (p > 0) say(label, (int)p);
	return p;
}

static int check(pid_t p, const char *label, int code, int sig) {
	int st;
	if (waitpid(p, &st, 0) != p) { fprintf(stderr, "exits: waitpid %s: %s\n", label, strerror(errno)); return 1; }
	if (sig ? !(WIFSIGNALED(st) && WTERMSIG(st) == sig) : !(WIFEXITED(st) && WEXITSTATUS(st) == code)) {
		fprintf(stderr, "exits: %s: status %#x\n", label, st);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 2 && strcmp(argv[1], "threads") == 0) return threads();
	int bad = 0, pfd[2];
	pid_t p;

	if ((p = child("exit0")) == 0) _exit(0);
	bad |= check(p, "exit0", 0, 0);
	if ((p = child("exit7")) == 0) _exit(7);
	bad |= check(p, "exit7", 7, 0);
	// Killed at once, before it may even have run.
	if ((p = child("kill-early")) == 0) for (;;) pause();
	kill(p, SIGKILL);
	bad |= check(p, "kill-early", 0, SIGKILL);
	// Killed once it runs.
	if (pipe(pfd) < 0) return 2;
	if ((p = child("kill-running")) == 0) { if (write(pfd[1], "x", 1) != 1) _exit(9); for (;;) pause(); }
	char c;
	if (read(pfd[0], &c, 1) != 1) return 2;
	kill(p, SIGKILL);
	bad |= check(p, "kill-running", 0, SIGKILL);
	if ((p = child("segv")) == 0) {
		struct rlimit no = {0, 0};
		setrlimit(RLIMIT_CORE, &no);
		raise(SIGSEGV);
		_exit(8);
	}
	bad |= check(p, "segv", 0, SIGSEGV);
	if ((p = child("threads-parent")) == 0) {
		char *a[] = {argv[0], "threads", NULL};
		execv(argv[0], a);
		_exit(127);
	}
	bad |= check(p, "threads-parent", 5, 0);
	return bad ? 4 : 3;
}
`

// 2. Every process of the job has exactly one exit record saying how it
// ended, with its duration; threads have none.
func TestPtraceExitRecords(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "exits", ptExitsC, "-pthread")
	r := runTrail(t, Opts{Flags: ptFlags, Timeout: waitTimeout}, helper)
	noPanic(t, r.Stderr)
	if r.ExitCode != 3 {
		t.Fatalf("exit %d (signal %v), want the helper's 3 (4: a child did not end as planned)\nstderr: %s\nstdout: %s\nrecords:\n%s", r.ExitCode, r.Signal, r.Stderr, r.Stdout, dump(r.Records))
	}
	want := map[int]outcome{}
	label := map[int]string{}
	tids := map[int]bool{}
	var threads []int
	outcomes := map[string]outcome{
		"exit0": {code: 0}, "exit7": {code: 7},
		"kill-early": {sig: "SIGKILL"}, "kill-running": {sig: "SIGKILL"},
		"segv": {sig: "SIGSEGV"}, "threads-parent": {code: 5},
	}
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var name string
		var pid int
		if _, err := fmt.Sscanf(l, "%s %d", &name, &pid); err != nil {
			t.Fatalf("helper line %q: %v", l, err)
		}
		switch name {
		case "tid":
			tids[pid] = true
		case "threads":
			// Checked below: the exec'd image of threads-parent can
			// print before its parent has printed the child's pid.
			threads = append(threads, pid)
		default:
			o, ok := outcomes[name]
			if !ok {
				t.Fatalf("helper line %q", l)
			}
			want[pid], label[pid] = o, name
		}
	}
	if len(want) != len(outcomes) || len(tids) != 5 {
		t.Fatalf("the helper is broken: children %v, thread ids %v", label, tids)
	}
	for _, pid := range threads {
		// The exec'd image of threads-parent: same pid.
		if label[pid] != "threads-parent" {
			t.Fatalf("the threads process %d is not the threads-parent child (%v)", pid, label)
		}
	}
	execs := r.Execs()
	if len(execs) == 0 || execs[0].Executable != canon(t, helper) {
		t.Fatalf("the first record is not the helper's exec:\n%s", dump(r.Records))
	}
	root := execs[0].PID
	want[root], label[root] = outcome{code: 3}, "the root"

	procs := ptProcesses(r)
	for pid := range want {
		if !procs[pid] {
			t.Errorf("%s (pid %d) appears in no exec record and as no child_pid:\n%s", label[pid], pid, dump(r.Records))
		}
	}
	for pid := range procs {
		o, ok := want[pid]
		if !ok {
			t.Errorf("the records name a process %d the helper did not create:\n%s", pid, dump(r.Records))
			continue
		}
		checkExit(t, r, pid, o, label[pid])
	}
	for _, e := range r.Events("exit") {
		if tids[e.PID] {
			t.Errorf("exit record for thread %d of the threads process: threads get none\n%s", e.PID, dump([]Record{e}))
		} else if !procs[e.PID] {
			t.Errorf("exit record for pid %d, a process no exec or fork record names\n%s", e.PID, dump([]Record{e}))
		}
	}
	if n := len(r.Events("exit")); n != len(want) {
		t.Errorf("%d exit records, want %d (one per process)\n%s", n, len(want), dump(r.Records))
	}
}

// 3. Verified exec records: a #! script run through a symlink is verified
// against /proc/PID/exe (the interpreter); failed attempts are recorded at
// the syscall's exit with the kernel's errno and verified false — also an
// ETXTBSY that nothing can predict at the entry.
func TestPtraceVerifiedScriptAndFailures(t *testing.T) {
	t.Parallel()
	helper := execer(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "real", "script")
	if err := os.Mkdir(filepath.Dir(script), 0o755); err != nil {
		t.Fatal(err)
	}
	writeExe(t, script, "#!/bin/sh\necho script-ran \"$1\"\n")
	link := filepath.Join(dir, "link")
	if err := os.Symlink("real/script", link); err != nil {
		t.Fatal(err)
	}
	// A program open for writing cannot be executed (ETXTBSY): the test
	// holds the write fd for the whole run.
	busy := filepath.Join(dir, "busy")
	copyFile(t, "/usr/bin/true", busy, 0o755)
	wfd, err := os.OpenFile(busy, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer wfd.Close()
	missing := filepath.Join(dir, "missing")

	wantFail := []string{"execve " + missing + " ENOENT", "execve " + busy + " ETXTBSY"}
	ops := []string{"execve", missing, "execve", busy, "execve", link}
	r := runTrail(t, Opts{Flags: ptFlags, Dir: dir, Timeout: waitTimeout}, append([]string{helper}, ops...)...)
	noPanic(t, r.Stderr)
	if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != strings.Join(append(append([]string{}, prefixAll("FAIL ", wantFail)...), "script-ran exectrail-test"), "\n") {
		t.Fatalf("exit %d stdout %q: want 0, the two failures and the script's output\nstderr: %s", r.ExitCode, r.Stdout, r.Stderr)
	}
	execs := r.Execs()
	wantN(t, execs, 4, "exec records (the driver, missing, busy, the script)")
	drv := execs[0]
	if drv.Verified == nil || !*drv.Verified {
		t.Errorf("the driver's own exec: verified %v, want true\n%s", drv.Raw["verified"], dump([]Record{drv}))
	}
	cwd := canon(t, dir)
	for i, c := range []struct {
		what     string
		rec      Record
		want     execWant
		verified bool
	}{
		{"missing file", execs[1], execWant{Path: missing, Argv: []string{missing, "exectrail-test"}, Cwd: cwd, Error: "ENOENT"}, false},
		// The entry stop predicts success; the exit stop has the truth.
		// executable names the file that was to run.
		{"busy program", execs[2], execWant{Path: busy, Executable: canon(t, busy), Argv: []string{busy, "exectrail-test"}, Cwd: cwd, Error: "ETXTBSY"}, false},
		{"script through a symlink", execs[3], execWant{Path: link, Executable: canon(t, script), Argv: []string{link, "exectrail-test"}, Cwd: cwd, Interpreter: canon(t, "/bin/sh")}, true},
	} {
		c.want.PID, c.want.PPID = drv.PID, drv.PPID
		checkExec(t, c.what, c.rec, c.want)
		if c.rec.Verified == nil || *c.rec.Verified != c.verified {
			t.Errorf("%s (exec %d): verified %v, want present and %v\n%s", c.what, i+1, c.rec.Raw["verified"], c.verified, dump([]Record{c.rec}))
		}
		if !c.verified && c.rec.Has("error_detail") && c.rec.ErrorDetail == "" {
			t.Errorf("%s: empty error_detail", c.what)
		}
	}
	checkExit(t, r, drv.PID, outcome{code: 0}, "the driver, then the script")
}

func prefixAll(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

// ptIdentC prints "PID EXE ARG1": its pid, /proc/self/exe (which copy of
// it runs) and the argv[1] it was given.
const ptIdentC = `
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
	char exe[4096], b[8300];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0) return 2;
	exe[n] = 0;
	int len = snprintf(b, sizeof b, "%d %s %s\n", (int)getpid(), exe, argc > 1 ? argv[1] : "-");
	return write(1, b, len) == len ? 0 : 3;
}
`

// ptRaceC forks N children one after the other. Each child starts a
// thread that flips the last byte of the path it is about to exec between
// 'A' and 'B' as fast as it can, waits until the thread runs, and execs
// the path from the main thread, with the same buffer as argv[1]. Which of
// the two programs runs is decided by whichever byte the kernel reads.
const ptRaceC = `
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[4096];
static size_t last;
static atomic_int running;

static void *flipper(void *arg) {
	(void)arg;
	volatile char *p = path;
	atomic_store(&running, 1);
	for (;;) { p[last] = 'A'; p[last] = 'B'; }
	return NULL;
}

int main(int argc, char **argv) {
	if (argc != 3) { fprintf(stderr, "race: usage: race PATH_ENDING_IN_A N\n"); return 2; }
	strcpy(path, argv[1]);
	last = strlen(path) - 1;
	int n = atoi(argv[2]);
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0) { perror("race: fork"); return 3; }
		if (p == 0) {
			pthread_t t;
			if (pthread_create(&t, NULL, flipper, NULL) != 0) _exit(120);
			while (!atomic_load(&running)) ;
			char *a[] = {"ident", path, NULL};
			execv(path, a);
			_exit(121);
		}
		int st;
		if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "race: child %d: status %#x\n", (int)p, st);
			return 4;
		}
	}
	return 0;
}
`

// 4. KERNEL-FACTS 1: the path a held exec reads can change before the
// kernel reads it. A verified record must name the program that really
// ran, every time.
func TestPtraceExecRaceVerified(t *testing.T) {
	t.Parallel()
	const n = 1000
	ident := compileC(t, "ident", ptIdentC)
	race := compileC(t, "race", ptRaceC, "-pthread")
	dir := t.TempDir()
	progA, progB := filepath.Join(dir, "progA"), filepath.Join(dir, "progB")
	copyFile(t, ident, progA, 0o755)
	copyFile(t, ident, progB, 0o755)
	progA, progB = canon(t, progA), canon(t, progB)

	start := time.Now()
	r := runTrail(t, Opts{Flags: ptFlags, Timeout: 30 * time.Second}, race, progA, strconv.Itoa(n))
	t.Logf("%d racing fork+exec under ptrace: %v", n, time.Since(start))
	noPanic(t, r.Stderr)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (signal %v), want 0\nstderr: %s", r.ExitCode, r.Signal, r.Stderr)
	}
	type ran struct{ exe, arg string }
	ranBy := map[int]ran{}
	count := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Fatalf("ident line %q: want PID EXE ARG", l)
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil || (f[1] != progA && f[1] != progB) {
			t.Fatalf("ident line %q: want PID %s|%s ARG", l, progA, progB)
		}
		if _, dup := ranBy[pid]; dup {
			t.Fatalf("pid %d ran twice", pid)
		}
		ranBy[pid] = ran{f[1], f[2]}
		count[f[1]]++
	}
	if len(ranBy) != n || count[progA] == 0 || count[progB] == 0 {
		t.Fatalf("the race is not exercised: %d runs, %d of A and %d of B; want %d runs of both", len(ranBy), count[progA], count[progB], n)
	}

	byPID := map[int][]Record{}
	for _, e := range r.Execs() {
		if e.Executable != canon(t, race) {
			byPID[e.PID] = append(byPID[e.PID], e)
		}
	}
	wrong, argvStale := 0, 0
	for pid, got := range ranBy {
		recs := byPID[pid]
		if len(recs) != 1 {
			t.Errorf("pid %d ran %s: %d exec records, want 1:\n%s", pid, got.exe, len(recs), dump(recs))
			continue
		}
		rec := recs[0]
		if rec.Executable != got.exe || rec.Path != got.exe || rec.Verified == nil || !*rec.Verified || rec.Has("error") {
			wrong++
			if wrong <= 5 {
				t.Errorf("pid %d ran %s, but its record says path %q executable %q verified %v error %q\n%s", pid, got.exe, rec.Path, rec.Executable, rec.Raw["verified"], rec.Error, dump([]Record{rec}))
			}
		}
		if len(rec.Argv) != 2 || rec.Argv[1] != got.arg {
			argvStale++
		}
	}
	for pid, recs := range byPID {
		if _, ok := ranBy[pid]; !ok {
			t.Errorf("exec record of pid %d, which never ran:\n%s", pid, dump(recs))
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d exec records name a program other than the one that ran", wrong, n)
	}
	// Each child: one fork record, one exit record (exit 0), and none
	// for the flipping thread the exec killed.
	rootPID := r.ExecsOf(canon(t, race))[0].PID
	forks, exits := map[int]int{}, map[int]int{}
	for _, f := range r.Events("fork") {
		if f.PID == rootPID {
			forks[f.ChildPID]++
		} else {
			t.Errorf("fork record by pid %d, not the race helper %d (a thread?)\n%s", f.PID, rootPID, dump([]Record{f}))
		}
	}
	for _, e := range r.Events("exit") {
		if e.ExitCode != nil && *e.ExitCode == 0 && !e.Has("signal") {
			exits[e.PID]++
		} else {
			exits[e.PID] += 1000 // counted as wrong below
		}
	}
	badFork, badExit := 0, 0
	for pid := range ranBy {
		if forks[pid] != 1 {
			badFork++
		}
		if exits[pid] != 1 {
			badExit++
		}
	}
	if badFork > 0 || badExit > 0 || len(forks) != n || len(exits) != n+1 || exits[rootPID] != 1 {
		t.Errorf("of %d children, %d lack exactly one fork record and %d exactly one exit record with exit_code 0; %d fork records name %d children, %d pids have exit records (want %d: the children and the helper)",
			n, badFork, badExit, len(r.Events("fork")), len(forks), len(exits), n+1)
	}
	// argv is read at the entry stop and the kernel copies it later, so
	// a record can show an argv[1] the program never received; reported,
	// not asserted (yet): executable and path are what this test pins.
	t.Logf("ran A %d times, B %d times; %d records' argv[1] differs from what the program received", count[progA], count[progB], argvStale)
}

// ptDebuggerC stands in for gdb and strace: it forks a child and
// PTRACE_ATTACHes to it, and forks another that asks PTRACE_TRACEME, and
// says how each went: "attach OK|ERRNO", "traceme OK|ERRNO".
const ptDebuggerC = `
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
	int st, pfd[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t p = fork();
	if (p < 0) return 2;
	if (p == 0) for (;;) pause();
	if (ptrace(PTRACE_ATTACH, p, 0, 0) == 0) {
		if (waitpid(p, &st, __WALL) != p || !WIFSTOPPED(st)) { fprintf(stderr, "debugger: attach: no stop\n"); return 3; }
		if (ptrace(PTRACE_DETACH, p, 0, 0) != 0) { perror("debugger: detach"); return 3; }
		printf("attach OK\n");
	} else {
		printf("attach %s\n", strerrorname_np(errno));
	}
	kill(p, SIGKILL);
	if (waitpid(p, &st, 0) != p || !WIFSIGNALED(st)) { fprintf(stderr, "debugger: child 1: status %#x\n", st); return 3; }

	if (pipe(pfd) < 0) return 2;
	p = fork();
	if (p < 0) return 2;
	if (p == 0) {
		int e = ptrace(PTRACE_TRACEME, 0, 0, 0) == 0 ? 0 : errno;
		if (write(pfd[1], &e, sizeof e) != sizeof e) _exit(9);
		_exit(0);
	}
	int e;
	if (read(pfd[0], &e, sizeof e) != sizeof e) return 2;
	printf("traceme %s\n", e ? strerrorname_np(e) : "OK");
	if (waitpid(p, &st, __WALL) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "debugger: child 2: status %#x\n", st); return 3; }
	return 0;
}
`

// 6. A debugger in the job: a process has one tracer, so under the ptrace
// backend the job cannot trace its own children (EPERM) — and still runs
// to its end; under notify it can. auto picks ptrace (README "The default
// backend": invisible and exact beats a debugger in the job), so a job
// that debugs needs --backend notify.
func TestPtraceJobCanTrace(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "debugger", ptDebuggerC)
	for _, tc := range []struct{ backend, want string }{
		{"ptrace", "attach EPERM\ntraceme EPERM\n"},
		{"notify", "attach OK\ntraceme OK\n"},
		{"auto", "attach EPERM\ntraceme EPERM\n"},
	} {
		t.Run(tc.backend, func(t *testing.T) {
			t.Parallel()
			r := runTrail(t, Opts{Flags: []string{"--backend", tc.backend}, Timeout: waitTimeout}, helper)
			noPanic(t, r.Stderr)
			if r.ExitCode != 0 || r.Stdout != tc.want || r.Stderr != "" {
				t.Errorf("--backend %s: exit %d stdout %q stderr %q; want exit 0 and %q", tc.backend, r.ExitCode, r.Stdout, r.Stderr, tc.want)
			}
			if len(r.ExecsOf(canon(t, helper))) != 1 {
				t.Errorf("--backend %s: want one exec record of the helper:\n%s", tc.backend, dump(r.Records))
			}
			// Which backend ran: only ptrace verifies and writes exits.
			verified := len(r.Execs()) > 0 && r.Execs()[0].Verified != nil
			traced := tc.backend != "notify"
			if verified != traced {
				t.Errorf("--backend %s: verified field present %v, want %v\n%s", tc.backend, verified, traced, dump(r.Records))
			}
			if traced {
				for pid := range ptProcesses(r) {
					if len(exitsOf(r, pid)) != 1 {
						t.Errorf("pid %d: want one exit record\n%s", pid, dump(r.Records))
					}
				}
			}
		})
	}
}

// 7. SPEC guarantee 3 with ptrace: PTRACE_O_EXITKILL kills the job when
// exectrail dies.
func TestPtraceExitKill(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "records")
	cmd := exec.Command(exectrail, "run", "--backend", "ptrace", "-o", out, "--format", "json", "--", "sleep", "1000")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	recs := waitRecords(t, out, "the exec of sleep", func(r []Record) bool {
		return len(r) > 0 && r[0].Executable == "/usr/bin/sleep"
	})
	pid := recs[0].PID
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(sleep %d): %v", pid, err)
	}
	defer unix.Close(fd)
	t.Cleanup(func() { _ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) })
	// Past its exec stop and asleep: it runs, traced.
	waitUntil(t, "the traced sleep to sleep", func() bool { return procState(pid) == "S" })
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitPidfd(t, fd, "the traced sleep after exectrail's SIGKILL")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the sleep took %v to die after exectrail did", d)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("exectrail: %v, want killed by SIGKILL", err)
	}
}

// ptThreadExecC: a second thread execs /usr/bin/false while a third one
// waits in pause(); it says "PID TID OTHERTID" first.
const ptThreadExecC = `
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

static sem_t ready;
static int other;

static void *idle(void *arg) {
	(void)arg;
	other = gettid();
	sem_post(&ready);
	for (;;) pause();
}

static void *run(void *arg) {
	(void)arg;
	printf("%d %d %d\n", (int)getpid(), (int)gettid(), other);
	fflush(stdout);
	char *args[] = {"/usr/bin/false", "from-thread", NULL};
	execv(args[0], args);
	_exit(126);
}

int main(void) {
	pthread_t t1, t2;
	sem_init(&ready, 0, 0);
	if (pthread_create(&t1, NULL, idle, NULL) != 0) return 2;
	sem_wait(&ready);
	if (pthread_create(&t2, NULL, run, NULL) != 0) return 2;
	pthread_join(t2, NULL);
	return 3;
}
`

// 8. exec from a non-leader thread (KERNEL-FACTS 24): the record has the
// process id as pid and the former thread id as tid, is verified, and the
// process has one exit record — none for its threads.
func TestPtraceThreadExec(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "threadexec", ptThreadExecC, "-pthread")
	r := runTrail(t, Opts{Flags: ptFlags, Timeout: waitTimeout}, helper)
	noPanic(t, r.Stderr)
	if r.ExitCode != 1 {
		t.Fatalf("exit %d (signal %v), want 1 from /usr/bin/false\nstderr: %s\n%s", r.ExitCode, r.Signal, r.Stderr, dump(r.Records))
	}
	var pid, tid, other int
	if _, err := fmt.Sscan(r.Stdout, &pid, &tid, &other); err != nil || pid == tid || pid == other || tid == other {
		t.Fatalf("helper output %q (%v): want PID and two other thread ids", r.Stdout, err)
	}
	execs := r.Execs()
	wantN(t, execs, 2, "exec records (the helper, false)")
	rec := execs[1]
	checkExec(t, "exec from a thread", rec, execWant{
		Path: "/usr/bin/false", Executable: "/usr/bin/false", Argv: []string{"/usr/bin/false", "from-thread"},
		PID: pid, PPID: execs[0].PPID,
	})
	if execs[0].PID != pid {
		t.Errorf("the helper's exec has pid %d, want %d", execs[0].PID, pid)
	}
	if rec.TID != tid {
		t.Errorf("tid %v, want the execing thread %d\n%s", rec.Raw["tid"], tid, dump([]Record{rec}))
	}
	if rec.Verified == nil || !*rec.Verified {
		t.Errorf("verified %v, want true\n%s", rec.Raw["verified"], dump([]Record{rec}))
	}
	if fs := r.Events("fork"); len(fs) != 0 {
		t.Errorf("threads produced fork records:\n%s", dump(fs))
	}
	checkExit(t, r, pid, outcome{code: 1}, "the process after the thread's exec")
	for _, e := range r.Events("exit") {
		if e.PID != pid {
			t.Errorf("exit record for %d (threads are %d and %d): only the process has one\n%s", e.PID, tid, other, dump([]Record{e}))
		}
	}
}

// ptKillForkerC runs K rounds: fork a child that forks and reaps
// grandchildren (each _exits 0 at once) as fast as it can, let it run
// 1–3 ms, SIGKILL it, reap it. It says "root PID" and exits 0.
const ptKillForkerC = `
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 2) return 2;
	int k = atoi(argv[1]);
	printf("root %d\n", (int)getpid());
	fflush(stdout);
	for (int i = 0; i < k; i++) {
		pid_t p = fork();
		if (p < 0) { perror("killforker: fork"); return 3; }
		if (p == 0) {
			for (;;) {
				pid_t c = fork();
				if (c == 0) _exit(0);
				if (c > 0) waitpid(c, NULL, 0);
			}
		}
		usleep(1000 + (i % 5) * 500);
		kill(p, SIGKILL);
		if (waitpid(p, NULL, 0) != p) { perror("killforker: waitpid"); return 4; }
	}
	return 0;
}
`

// 9. A process SIGKILLed in its PTRACE_EVENT_FORK stop never reports that
// event — the kernel drops a ptrace stop that SIGKILL ends before the
// tracer collected it — but its child exists and must run, with a fork
// record and an exit record like any other. (A tracer that holds the
// child until the parent's fork event arrives holds it forever: it never
// runs and, with --orphans=wait, exectrail never exits: the run times
// out.) The window is small, so this kills 150 forking processes
// mid-flight; a correct exectrail passes every time, a holding one fails
// nearly every time.
//
// --orphans=wait, not kill: the orphaned grandchildren end by themselves,
// and nothing but the root signals anything, so exactly the 150 forkers
// die of SIGKILL. (With --orphans=kill a grandchild still there when the
// root exits gets SIGTERM, which a traced process only dies of after a
// round trip through the tracer; on a loaded machine that took longer
// than a short --kill-grace, and the grace's SIGKILL made 151 or 152.)
func TestPtraceForkerKilledMidFork(t *testing.T) {
	t.Parallel()
	helper := compileC(t, "killforker", ptKillForkerC)
	flags := append([]string{"--orphans=wait"}, ptFlags...)
	r := runTrail(t, Opts{Flags: flags, Timeout: waitTimeout}, helper, "150")
	noPanic(t, r.Stderr)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (signal %v), want 0\nstderr: %s", r.ExitCode, r.Signal, r.Stderr)
	}
	var root int
	if _, err := fmt.Sscanf(r.Stdout, "root %d", &root); err != nil {
		t.Fatalf("helper said %q", r.Stdout)
	}
	forked := map[int]int{}
	for _, f := range r.Events("fork") {
		forked[f.ChildPID]++
	}
	exits := map[int][]Record{}
	for _, e := range r.Events("exit") {
		exits[e.PID] = append(exits[e.PID], e)
	}
	// Problems by kind, with up to three examples each.
	bad := map[string][]string{}
	add := func(kind string, format string, args ...any) {
		bad[kind] = append(bad[kind], fmt.Sprintf(format, args...))
	}
	killed := 0
	for pid, es := range exits {
		e := es[0]
		if e.Signal == "SIGKILL" {
			killed++
		}
		switch {
		case len(es) != 1:
			add("several exit records", "pid %d: %d", pid, len(es))
		case pid != root && forked[pid] != 1:
			add("not exactly one fork record", "%d for %s", forked[pid], strings.TrimSpace(dump(es)))
		case e.Signal != "" && e.Signal != "SIGKILL":
			add("died of an unexpected signal", "%s", strings.TrimSpace(dump(es)))
		}
		if d, ok := durationMS(e); !ok || d < 0 {
			add("no duration_ms", "%s", strings.TrimSpace(dump(es)))
		}
	}
	for pid := range forked {
		if len(exits[pid]) != 1 {
			add("a forked child without exactly one exit record", "child %d: %d", pid, len(exits[pid]))
		}
	}
	// The forkers die of SIGKILL; a grandchild gets no signal.
	if killed != 150 {
		add("SIGKILL count", "%d processes died of SIGKILL, want the 150 forkers", killed)
	}
	if len(bad) > 0 {
		var b strings.Builder
		for _, kind := range slices.Sorted(maps.Keys(bad)) {
			ex := bad[kind]
			fmt.Fprintf(&b, "\n%d × %s, e.g.:", len(ex), kind)
			for _, x := range ex[:min(3, len(ex))] {
				b.WriteString("\n    " + x)
			}
		}
		t.Errorf("%d fork records, %d exit records:%s", len(r.Events("fork")), len(r.Events("exit")), b.String())
	}
}
