package integration

// Attacks of a hostile job on its supervisor (issue 12, items 3–5): each
// runs the real attack, a C helper compiled here, under bin/exectrail.

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// atUffdC execs a path in a userfaultfd page that nobody ever serves, from
// a second thread, and meanwhile (once that thread is inside execve) runs
// /usr/bin/true from the main thread. "forever" repeats the stalled exec
// until the process is killed, with the userfaultfd also held by a child
// so that the page stays registered whatever happens to this process.
const atUffdC = `#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static char *page;
static int forever;
static volatile pid_t stalled_tid;

static void *stall(void *arg) {
	(void)arg;
	stalled_tid = syscall(SYS_gettid);
	char *argv[] = {"stalled", NULL};
	do {
		execve(page, argv, environ);
		printf("stalled execve: %s\n", strerror(errno));
		fflush(stdout);
	} while (forever);
	return NULL;
}

int main(int argc, char **argv) {
	forever = argc > 1 && strcmp(argv[1], "forever") == 0;
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0) {
		printf("userfaultfd: %s\n", strerror(errno));
		return 3;
	}
	struct uffdio_api api = {.api = UFFD_API};
	if (ioctl(uffd, UFFDIO_API, &api) < 0) {
		printf("UFFDIO_API: %s\n", strerror(errno));
		return 3;
	}
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register reg = {.range = {(unsigned long)page, 4096}, .mode = UFFDIO_REGISTER_MODE_MISSING};
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) {
		printf("UFFDIO_REGISTER: %s\n", strerror(errno));
		return 3;
	}
	if (argc > 1 && strcmp(argv[1], "probe") == 0)
		return 0;
	if (forever && fork() == 0) {
		pause();
		_exit(0);
	}
	pthread_t th;
	pthread_create(&th, NULL, stall, NULL);
	// Wait (bounded by the test's timeout) until the thread is in execve.
	char path[64], buf[64];
	for (;;) {
		if (stalled_tid) {
			snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)stalled_tid);
			int fd = open(path, O_RDONLY);
			ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
			if (fd >= 0)
				close(fd);
			if (n > 3 && strncmp(buf, "59 ", 3) == 0)
				break;
		}
		usleep(1000);
	}
	printf("stalling\n");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/usr/bin/true", "true", "while-stalled", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("true: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	fflush(stdout);
	pthread_join(th, NULL);
	return 0;
}
`

// A path in a userfaultfd page nobody serves blocks every read of it —
// process_vm_readv, /proc/PID/mem — in the kernel, for ever. The read is
// given up after --read-timeout and the exec refused with EAGAIN, with a
// record saying why; the rest of the job is served while the stall
// lasts (ptrace: after a 20 ms hand-over), and SIGTERM
// ends exectrail whatever the job's memory does. Root only: unprivileged
// userfaultfd handles only user-mode faults (vm.unprivileged_userfaultfd
// is 0 here), which a supervisor's read is not.
func TestAttackUserfaultfdStall(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	helper := compileC(t, "uffd", atUffdC, "-pthread")
	if out, err := exec.Command(helper, "probe").CombinedOutput(); err != nil {
		skipf(t, "userfaultfd unavailable: %v %s", err, out)
	}
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		r := runTrail(t, Opts{Timeout: waitTimeout, Dir: "/"}, helper)
		if r.ExitCode != 0 {
			t.Fatalf("exit %d (signal %v), want 0; stdout %q stderr %q", r.ExitCode, r.Signal, r.Stdout, r.Stderr)
		}
		if !strings.Contains(r.Stdout, "stalled execve: Resource temporarily unavailable") || !strings.Contains(r.Stdout, "true: 0") {
			t.Fatalf("want the stalled execve refused with EAGAIN and true run meanwhile; stdout:\n%s", r.Stdout)
		}
		var stall, tr *Record
		for i, e := range r.Execs() {
			switch {
			case e.Error == "EAGAIN":
				stall = &r.Execs()[i]
			case e.Executable == "/usr/bin/true":
				tr = &r.Execs()[i]
			}
		}
		if stall == nil || tr == nil {
			t.Fatalf("want a refusal record (EAGAIN) and true's record:\n%s", dump(r.Records))
		}
		if stall.Action != "deny" || !strings.Contains(stall.ErrorDetail, "did not finish within 2s") || stall.Has("path") || stall.Has("executable") {
			t.Errorf("refusal record: want action deny, the reason, no path and no executable:\n%s", dump([]Record{*stall}))
		}
		if strings.Join(tr.Argv, " ") != "true while-stalled" || tr.Error != "" {
			t.Errorf("true's record:\n%s", dump([]Record{*tr}))
		}
		if tr.Seq > stall.Seq {
			// The notify server handed the stalled call over, the
			// ptrace tracer parked it, and both kept serving: true ran
			// while the stall lasted.
			t.Errorf("true must be served while the stalled call is held (its record before the refusal):\n%s", dump(r.Records))
		}
	})
	t.Run("sigterm", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		cmd := exec.Command(exectrail, "run", "--backend", backend, "-o", filepath.Join(dir, "r.jsonl"), "--", helper, "forever")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			// Once the job says it is stalling, stop exectrail.
			buf := make([]byte, 4096)
			var seen []byte
			for !bytes.Contains(seen, []byte("stalling")) {
				n, err := stdout.Read(buf)
				if err != nil {
					break
				}
				seen = append(seen, buf[:n]...)
			}
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_, _ = bytes.NewBuffer(nil).ReadFrom(stdout)
			done <- cmd.Wait()
		}()
		select {
		case err := <-done:
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
				t.Errorf("exectrail: %v (%v), want death by SIGTERM (the command's); stderr: %s", err, ws, stderr.String())
			}
		case <-time.After(waitTimeout):
			_ = cmd.Process.Kill()
			t.Fatalf("exectrail did not obey SIGTERM within %v while a read of the job's memory was stalled; stderr: %s", waitTimeout, stderr.String())
		}
	})
}

// atHideC hides the path of an exec from process_vm_readv, in memory the
// kernel itself reads: "secret" puts "/usr/bin/true" and its argv in a
// memfd_secret page and execs it; "vvar" runs execveat(fd of
// /usr/bin/true, "", AT_EMPTY_PATH) with the "" being a NUL byte of the
// [vvar] mapping. Exit 3: the kernel lacks the feature.
const atHideC = `#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "secret") == 0) {
		int fd = syscall(447 /* memfd_secret */, 0);
		if (fd < 0) {
			printf("memfd_secret: %s\n", strerror(errno));
			return 3;
		}
		if (ftruncate(fd, 4096) < 0)
			return 3;
		char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			printf("mmap secret: %s\n", strerror(errno));
			return 3;
		}
		if (argc > 2)
			return 0; // probe
		strcpy(p, "/usr/bin/true");
		strcpy(p + 100, "secret-arg");
		char *av[] = {p, p + 100, NULL};
		execve(p, av, environ);
		printf("execve: %s\n", strerror(errno));
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "vvar") == 0) {
		FILE *m = fopen("/proc/self/maps", "r");
		char line[512];
		unsigned long lo = 0, hi = 0;
		while (m && fgets(line, sizeof line, m))
			if (strstr(line, "[vvar]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
				break;
		char *nul = NULL;
		for (char *q = (char *)lo; lo && q < (char *)hi; q++)
			if (*q == 0) {
				nul = q;
				break;
			}
		if (!nul) {
			printf("no NUL byte in a [vvar] mapping\n");
			return 3;
		}
		if (argc > 2)
			return 0; // probe
		int fd = open("/usr/bin/true", O_RDONLY);
		char *av[] = {"true", "vvar-arg", NULL};
		syscall(SYS_execveat, fd, nul, av, environ, AT_EMPTY_PATH);
		printf("execveat: %s\n", strerror(errno));
		return 1;
	}
	return 2;
}
`

// Memory the kernel reads but process_vm_readv cannot (KERNEL-FACTS 39)
// must not carry an exec past exectrail unrecorded. notify cannot see
// what would run: it refuses the exec (EPERM, action deny) and says why.
// ptrace lets the kernel exec it and records, at PTRACE_EVENT_EXEC, what
// was loaded: /proc/PID/exe, and argv from the new program's cmdline.
func TestAttackHiddenPath(t *testing.T) {
	t.Parallel()
	helper := compileForNobody(t, "hide", atHideC)
	for _, mode := range []string{"secret", "vvar"} {
		if out, err := exec.Command(helper, mode, "probe").CombinedOutput(); err != nil {
			skipf(t, "%s: %v %s", mode, err, out)
		}
	}
	wantArgv := map[string]string{"secret": "/usr/bin/true secret-arg", "vvar": "true vvar-arg"}
	for _, who := range []string{"root", "nobody"} {
		for _, mode := range []string{"secret", "vvar"} {
			t.Run(who+"/"+mode, func(t *testing.T) {
				t.Parallel()
				cred := credOf(t, who)
				r := runTrail(t, Opts{Cred: cred, Timeout: waitTimeout, Dir: "/"}, helper, mode)
				noPanic(t, r.Stderr)
				execs := r.Execs()
				if len(execs) != 2 {
					t.Fatalf("want 2 exec records (the helper, its hidden exec):\n%s", dump(r.Records))
				}
				x := execs[1]
				switch backend {
				case "ptrace":
					if r.ExitCode != 0 {
						t.Fatalf("ptrace: the hidden exec must run (exit 0), got %d; stdout %q stderr %q", r.ExitCode, r.Stdout, r.Stderr)
					}
					if x.Executable != "/usr/bin/true" || x.Verified == nil || !*x.Verified || x.Has("error") {
						t.Errorf("ptrace: want executable /usr/bin/true, verified, no error:\n%s", dump([]Record{x}))
					}
					if got := strings.Join(x.Argv, " "); got != wantArgv[mode] || x.ArgvTruncated {
						t.Errorf("ptrace: argv %q, want %q from what the kernel copied:\n%s", got, wantArgv[mode], dump([]Record{x}))
					}
				default:
					if r.ExitCode != 1 || !strings.Contains(r.Stdout, "Operation not permitted") {
						t.Fatalf("notify: the hidden exec must be refused with EPERM; exit %d stdout %q", r.ExitCode, r.Stdout)
					}
					if x.Error != "EPERM" || x.Action != "deny" || !strings.Contains(x.ErrorDetail, "cannot read but the kernel can") {
						t.Errorf("notify: want error EPERM, action deny and why:\n%s", dump([]Record{x}))
					}
				}
			})
		}
	}
}

// atDeepC makes a directory chain deeper than PATH_MAX under argv[1],
// copies /usr/bin/true into its bottom as ./t, then (in a child) execs
// /usr/bin/true from there and finally execs ./t.
const atDeepC = `#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc < 2 || chdir(argv[1]) < 0)
		return 2;
	char name[201];
	memset(name, 'd', 200);
	name[200] = 0;
	for (int i = 0; i < 25; i++)
		if ((mkdir(name, 0755) < 0) || chdir(name) < 0) {
			perror("mkdir");
			return 2;
		}
	int in = open("/usr/bin/true", O_RDONLY), out = open("t", O_WRONLY | O_CREAT | O_TRUNC, 0755);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			return 2;
	close(in);
	close(out);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/usr/bin/true", "true", "deep-abs", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 3;
	execl("./t", "t", "deep-rel", (char *)NULL);
	perror("exec ./t");
	return 1;
}
`

// A working directory deeper than PATH_MAX: readlink of /proc/PID/cwd
// (and of the executable's fd) fails with ENAMETOOLONG, yet the execs
// succeed. The records carry the whole cwd and executable, built by
// climbing the directories, and no error.
func TestAttackDeepCwd(t *testing.T) {
	t.Parallel()
	helper := compileForNobody(t, "deep", atDeepC)
	for _, who := range []string{"root", "nobody"} {
		t.Run(who, func(t *testing.T) {
			t.Parallel()
			cred := credOf(t, who)
			top := t.TempDir()
			if cred != nil {
				chmodAll(t, 0o777, top, filepath.Dir(top))
			}
			r := runTrail(t, Opts{Cred: cred, Timeout: waitTimeout, Dir: "/"}, helper, top)
			noPanic(t, r.Stderr)
			if r.ExitCode != 0 {
				t.Fatalf("exit %d, want 0; stderr %q", r.ExitCode, r.Stderr)
			}
			cwd := top + strings.Repeat("/"+strings.Repeat("d", 200), 25)
			var abs, rel *Record
			for i, e := range r.Execs() {
				switch strings.Join(e.Argv, " ") {
				case "true deep-abs":
					abs = &r.Execs()[i]
				case "t deep-rel":
					rel = &r.Execs()[i]
				}
			}
			if abs == nil || rel == nil {
				t.Fatalf("want the records of both execs:\n%s", dump(r.Records))
			}
			wantExec(t, *abs, "/usr/bin/true", "/usr/bin/true", cwd)
			wantExec(t, *rel, "./t", cwd+"/t", cwd)
			for _, x := range []*Record{abs, rel} {
				if x.Has("error") || x.Has("read_error") {
					t.Errorf("the exec succeeded: no error wanted:\n%s", dump([]Record{*x}))
				}
				if backend == "ptrace" && (x.Verified == nil || !*x.Verified) {
					t.Errorf("ptrace: want verified:\n%s", dump([]Record{*x}))
				}
			}
		})
	}
}

// binfmt_misc is per user namespace (Linux 6.7, KERNEL-FACTS 38): a job
// in `unshare -rm` registers a handler exectrail's own view does not
// have, and a file of no known format runs. The record must not predict
// ENOEXEC, and names the handler's interpreter.
func TestAttackBinfmtMiscUserns(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	// Before 6.7 a job cannot have a binfmt_misc of its own: nothing to
	// attack.
	requireKernel(t, 6, 7, "binfmt_misc per user namespace")
	// mkdir makes a directory nobody can use, with a bm/ mount point.
	mkdir := func() string {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "bm"), 0o777); err != nil {
			t.Fatal(err)
		}
		chmodAll(t, 0o777, dir, filepath.Join(dir, "bm"), filepath.Dir(dir))
		return dir
	}
	dir := mkdir()
	script := `mount -t binfmt_misc binfmt_misc "$1/bm" || exit 3
echo ':exectrail-test:M::XYZMAGIC::/usr/bin/echo:' > "$1/bm/register" || exit 3
printf XYZMAGIC > "$1/f" && chmod 755 "$1/f" && "$1/f"`
	probe := exec.Command("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "unshare", "-rm", "sh", "-c", script+" >/dev/null", "sh", mkdir())
	if out, err := probe.CombinedOutput(); err != nil {
		skipf(t, "an unprivileged binfmt_misc in a user namespace (Linux 6.7): %v %s", err, out)
	}
	r := runTrail(t, Opts{Cred: nobody, Timeout: waitTimeout, Dir: "/"}, "unshare", "-rm", "sh", "-c", script, "sh", dir)
	noPanic(t, r.Stderr)
	f := filepath.Join(dir, "f")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, f) {
		t.Fatalf("the handler (echo) must run the file: exit %d stdout %q stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	var x *Record
	for i, e := range r.Execs() {
		if e.Path == f {
			x = &r.Execs()[i]
		}
	}
	if x == nil {
		t.Fatalf("no record of the exec of %s:\n%s", f, dump(r.Records))
	}
	if x.Has("error") {
		t.Errorf("the exec succeeded: no error (no ENOEXEC) wanted:\n%s", dump([]Record{*x}))
	}
	if backend == "ptrace" && (x.Verified == nil || !*x.Verified) {
		t.Errorf("ptrace: want verified:\n%s", dump([]Record{*x}))
	}
	// The handler found in the job's own binfmt_misc mount is recorded as
	// the interpreter, as for a #! script (ptrace: confirmed by what the
	// kernel loaded).
	if x.Executable != f || x.Interpreter != "/usr/bin/echo" {
		t.Errorf("executable %q interpreter %q, want %q and /usr/bin/echo:\n%s", x.Executable, x.Interpreter, f, dump([]Record{*x}))
	}
}

// atEvilC is the program a job smuggles in under a trusted name.
const atEvilC = `#include <stdio.h>
int main(void) { puts("evil ran"); return 0; }
`

// atPivotC, in a new user and mount namespace, mounts a tmpfs on argv[2],
// puts argv[1] in it as /usr/bin/true, pivot_roots into it and execs
// /usr/bin/true.
const atPivotC = `#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int put(const char *path, const char *s) {
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	int n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
	if (argc < 3)
		return 2;
	char map[64], path[4096];
	uid_t uid = getuid();
	gid_t gid = getgid();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		perror("unshare");
		return 3;
	}
	put("/proc/self/setgroups", "deny");
	snprintf(map, sizeof map, "0 %d 1", (int)uid);
	if (put("/proc/self/uid_map", map) < 0)
		return 3;
	snprintf(map, sizeof map, "0 %d 1", (int)gid);
	if (put("/proc/self/gid_map", map) < 0)
		return 3;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mount("evilroot", argv[2], "tmpfs", 0, NULL) < 0) {
		perror("mount");
		return 3;
	}
	snprintf(path, sizeof path, "%s/usr", argv[2]);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/usr/bin", argv[2]);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/old", argv[2]);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/usr/bin/true", argv[2]);
	int in = open(argv[1], O_RDONLY), out = open(path, O_WRONLY | O_CREAT, 0755);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			return 2;
	close(in);
	close(out);
	if (chdir(argv[2]) < 0 || syscall(SYS_pivot_root, ".", "old") < 0 || chdir("/") < 0) {
		perror("pivot_root");
		return 3;
	}
	umount2("/old", MNT_DETACH);
	execl("/usr/bin/true", "true", (char *)NULL);
	perror("exec /usr/bin/true");
	return 1;
}
`

// atNoDumpExecC makes itself non-dumpable — an unprivileged exectrail can
// then read neither its memory nor its namespaces — and execs argv[1].
const atNoDumpExecC = `#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>
int main(int argc, char **argv) {
	if (argc < 2 || prctl(PR_SET_DUMPABLE, 0) < 0)
		return 2;
	execv(argv[1], argv + 1);
	perror("execv");
	return 1;
}
`

// In a mount namespace of its own a job can make a trusted path name any
// file: `unshare -rm` and a bind mount over /usr/bin/true, or pivot_root
// into a tmpfs of its own; /proc/PID/exe prints the trusted name. The
// record carries the file's identity (dev, ino, the mount), same_file
// false and, when exectrail can reach the file, its outer_path; an allow
// list naming /usr/bin/* does not admit it. Unprivileged and as root.
func TestAttackMountNamespaceLie(t *testing.T) {
	t.Parallel()
	requireRoot(t) // to run exectrail as nobody too
	evil := compileForNobody(t, "evil", atEvilC, "-static")
	pivot := compileForNobody(t, "pivot", atPivotC)
	var est syscall.Stat_t
	if err := syscall.Stat(evil, &est); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "unshare", "-rm", "true").CombinedOutput(); err != nil {
		skipf(t, "unprivileged user namespaces: %v %s", err, out)
	}
	nodump := compileForNobody(t, "nodump-exec", atNoDumpExecC)
	bind := []string{"unshare", "-rm", "sh", "-c", `mount --bind "$1" /usr/bin/true && exec /usr/bin/true`, "sh", evil}
	// The same, through a non-dumpable process: nothing of the caller can
	// be read when exectrail is not root.
	bindNoDump := []string{"unshare", "-rm", "sh", "-c", `mount --bind "$1" /usr/bin/true && exec "$2" /usr/bin/true`, "sh", evil, nodump}
	for _, who := range []string{"root", "nobody"} {
		for _, attack := range []string{"bind", "pivot_root", "bind-nodump"} {
			for _, policy := range []bool{false, true} {
				if attack == "bind-nodump" && !policy {
					continue
				}
				name := who + "/" + attack
				if policy {
					name += "/allow"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					cred := credOf(t, who)
					argv := bind
					if attack == "bind-nodump" {
						argv = bindNoDump
					}
					if attack == "pivot_root" {
						dir := t.TempDir()
						chmodAll(t, 0o777, dir, filepath.Dir(dir))
						argv = []string{pivot, evil, dir}
					}
					var flags []string
					if policy {
						flags = []string{"--allow", "/usr/bin/*", "--allow", pivot, "--allow", nodump}
					}
					r := runTrail(t, Opts{Cred: cred, Flags: flags, Timeout: waitTimeout, Dir: "/"}, argv...)
					noPanic(t, r.Stderr)
					var x *Record
					for i, e := range r.Execs() {
						if e.Path == "/usr/bin/true" {
							x = &r.Execs()[i]
						}
					}
					if x == nil {
						t.Fatalf("no record of the exec of /usr/bin/true (exit %d, stderr %q):\n%s", r.ExitCode, r.Stderr, dump(r.Records))
					}
					if attack == "bind-nodump" && who == "nobody" {
						// Nothing of the caller can be read: the call is
						// refused unread (notify) or the new program
						// checked (ptrace), and evil never runs.
						if strings.Contains(r.Stdout, "evil ran") || r.ExitCode == 0 || x.Action != "deny" {
							t.Fatalf("--allow /usr/bin/* let the smuggled file run through a non-dumpable caller: exit %d stdout %q\n%s", r.ExitCode, r.Stdout, dump(r.Records))
						}
						return
					}
					if x.Executable != "/usr/bin/true" || x.Raw["same_file"] != false || !x.Has("ino") || !x.Has("dev") || !x.Has("mnt_id") {
						t.Errorf("want executable /usr/bin/true (the job's name) with dev, ino, mnt_id and same_file false:\n%s", dump([]Record{*x}))
					}
					switch attack {
					case "bind", "bind-nodump":
						if x.Raw["ino"] != float64(est.Ino) || x.Raw["outer_path"] != evil || x.Raw["mount_point"] != "/usr/bin/true" {
							t.Errorf("bind: want the smuggled file's ino %d, outer_path %s and mount_point /usr/bin/true:\n%s", est.Ino, evil, dump([]Record{*x}))
						}
					default:
						if x.Has("outer_path") || x.Raw["mount_source"] != "evilroot" || x.Raw["mount_point"] != "/" {
							t.Errorf("pivot_root: the tmpfs is not in exectrail's view: want no outer_path, mount_source evilroot, mount_point /:\n%s", dump([]Record{*x}))
						}
					}
					if !policy {
						if r.ExitCode != 0 || !strings.Contains(r.Stdout, "evil ran") {
							t.Errorf("without a policy the job runs as it would: exit %d stdout %q", r.ExitCode, r.Stdout)
						}
						return
					}
					if strings.Contains(r.Stdout, "evil ran") || r.ExitCode == 0 {
						t.Fatalf("--allow /usr/bin/* let the smuggled file run: exit %d stdout %q\n%s", r.ExitCode, r.Stdout, dump(r.Records))
					}
					if x.Action != "deny" || x.Error != "EPERM" || !strings.Contains(x.ErrorDetail, "another file in the job's mount namespace") {
						t.Errorf("want the refusal, with why:\n%s", dump([]Record{*x}))
					}
				})
			}
		}
	}
}

// --read-timeout must be a positive duration.
func TestAttackReadTimeoutFlag(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(exectrail, "run", "--read-timeout", "0", "--", "true").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 125 || !strings.HasPrefix(string(out), "exectrail: ") || strings.Count(string(out), "\n") != 1 {
		t.Fatalf("--read-timeout 0: %v, output %q; want status 125 and one exectrail: line", err, out)
	}
}
