package integration

// The harness's programs and files: the exec driver (execer) and the
// field-by-field check of an exec record (execWant, checkExec), canonical
// paths and executable files, the policy tests' sayC, a small build
// checkout (buildCheckout), and the outputs of other subcommands the
// tests read (version, doctor, report).

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// canon is filepath.EvalSymlinks, fatal on error.
func canon(t *testing.T, p string) string {
	t.Helper()
	c, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(c)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// writeExe writes an executable file.
func writeExe(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies src to dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// execerSrc is a small exec driver. Its arguments are a program of
// operations run in order; an exec that fails prints
// "FAIL <op> <arg> <ERRNO>" on stdout and the program goes on, so one run
// can make several failing attempts and end with a successful one. Every
// exec passes argv {NAME, "exectrail-test"} where NAME is the operation's
// path operand.
//
//	execve P          execve(P)
//	dirfd D N         execveat(open(D, O_PATH|O_DIRECTORY), N, 0)
//	emptypath F       execveat(open(F), "", AT_EMPTY_PATH)
//	fexecve F         glibc fexecve(open(F))
//	fdpath F FMT      dup2(open(F), 7); execve(sprintf(FMT, getpid()))
//	memfd F NAME      memfd_create(NAME), copy F into it, fexecve
//	nofollow P        execveat(AT_FDCWD, P, AT_SYMLINK_NOFOLLOW)
//	execvp N          execvp(N)
//	setpath V         setenv("PATH", V)
//	chdir D           chdir(D)
const execerSrc = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static void fail(const char *op, const char *arg) {
	printf("FAIL %s %s %s\n", op, arg, strerrorname_np(errno));
	fflush(stdout);
}

static void die(const char *what, const char *arg) {
	fprintf(stderr, "execer: %s %s: %s\n", what, arg, strerror(errno));
	exit(2);
}

static int openfile(const char *f, int flags) {
	int fd = open(f, flags);
	if (fd < 0)
		die("open", f);
	return fd;
}

int main(int argc, char **argv) {
	int i = 1;
	while (i < argc) {
		const char *op = argv[i++];
		if (i >= argc) {
			fprintf(stderr, "execer: %s needs an operand\n", op);
			return 2;
		}
		char *a = argv[i++];
		char *b = NULL;
		if (!strcmp(op, "dirfd") || !strcmp(op, "fdpath") || !strcmp(op, "memfd")) {
			if (i >= argc) {
				fprintf(stderr, "execer: %s needs two operands\n", op);
				return 2;
			}
			b = argv[i++];
		}
		char *args[] = {a, "exectrail-test", NULL};
		if (!strcmp(op, "execve")) {
			execve(a, args, environ);
		} else if (!strcmp(op, "dirfd")) {
			int dfd = openfile(a, O_PATH | O_DIRECTORY);
			args[0] = b;
			syscall(SYS_execveat, dfd, b, args, environ, 0);
			close(dfd);
		} else if (!strcmp(op, "emptypath")) {
			int fd = openfile(a, O_RDONLY);
			syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
			close(fd);
		} else if (!strcmp(op, "fexecve")) {
			int fd = openfile(a, O_RDONLY);
			fexecve(fd, args, environ);
			close(fd);
		} else if (!strcmp(op, "fdpath")) {
			int fd = openfile(a, O_RDONLY);
			if (dup2(fd, 7) < 0)
				die("dup2", a);
			close(fd);
			char p[256];
			snprintf(p, sizeof p, b, (int)getpid());
			args[0] = p;
			execve(p, args, environ);
		} else if (!strcmp(op, "memfd")) {
			int src = openfile(a, O_RDONLY);
			int mfd = memfd_create(b, 0);
			if (mfd < 0)
				die("memfd_create", b);
			char buf[65536];
			ssize_t n;
			while ((n = read(src, buf, sizeof buf)) > 0)
				if (write(mfd, buf, n) != n)
					die("write", b);
			if (n < 0)
				die("read", a);
			close(src);
			args[0] = b;
			fexecve(mfd, args, environ);
		} else if (!strcmp(op, "nofollow")) {
			syscall(SYS_execveat, AT_FDCWD, a, args, environ, AT_SYMLINK_NOFOLLOW);
		} else if (!strcmp(op, "execvp")) {
			execvp(a, args);
		} else if (!strcmp(op, "setpath")) {
			if (setenv("PATH", a, 1) < 0)
				die("setenv", a);
			continue;
		} else if (!strcmp(op, "chdir")) {
			if (chdir(a) < 0)
				die("chdir", a);
			continue;
		} else {
			fprintf(stderr, "execer: unknown operation %s\n", op);
			return 2;
		}
		fail(op, a);
	}
	return 3;
}
`

// execer compiles the exec driver.
func execer(t *testing.T, flags ...string) string {
	t.Helper()
	return compileC(t, "execer", execerSrc, flags...)
}

// execWant is what one exec record must say. Empty strings mean "absent"
// for Interpreter and Error; Syscall "" means execve (the field is absent
// or "execve").
type execWant struct {
	Path       string
	Executable string
	// ExePrefix: Executable is a prefix of the record's executable.
	ExePrefix bool
	// ExeOptional: the record may leave executable out, but if it names
	// one it must be Executable (for failed attempts on existing files).
	ExeOptional bool
	Argv        []string // nil: not checked
	Cwd         string   // "": not checked
	Interpreter string
	Error       string
	Syscall     string
	PID, PPID   int // 0: not checked
}

// checkExec compares rec with w field by field.
func checkExec(t *testing.T, what string, rec Record, w execWant) {
	t.Helper()
	var bad []string
	if rec.Event != "exec" {
		bad = append(bad, fmt.Sprintf("event %q, want exec", rec.Event))
	}
	if !rec.Has("path") || rec.Path != w.Path {
		bad = append(bad, fmt.Sprintf("path %q (present %v), want %q", rec.Path, rec.Has("path"), w.Path))
	}
	switch {
	case w.ExePrefix:
		if !strings.HasPrefix(rec.Executable, w.Executable) {
			bad = append(bad, fmt.Sprintf("executable %q, want prefix %q", rec.Executable, w.Executable))
		}
	case w.ExeOptional:
		if rec.Has("executable") && rec.Executable != w.Executable {
			bad = append(bad, fmt.Sprintf("executable %q, want %q or absent", rec.Executable, w.Executable))
		}
	case w.Executable == "":
		if rec.Has("executable") {
			bad = append(bad, fmt.Sprintf("executable %q, want absent: no file runs", rec.Executable))
		}
	default:
		if rec.Executable != w.Executable {
			bad = append(bad, fmt.Sprintf("executable %q, want %q", rec.Executable, w.Executable))
		}
	}
	if w.Argv != nil && !slices.Equal(rec.Argv, w.Argv) {
		bad = append(bad, fmt.Sprintf("argv %q, want %q", rec.Argv, w.Argv))
	}
	if w.Cwd != "" && rec.Cwd != w.Cwd {
		bad = append(bad, fmt.Sprintf("cwd %q, want %q", rec.Cwd, w.Cwd))
	}
	if rec.Interpreter != w.Interpreter || (w.Interpreter == "" && rec.Has("interpreter")) {
		bad = append(bad, fmt.Sprintf("interpreter %q (present %v), want %q", rec.Interpreter, rec.Has("interpreter"), w.Interpreter))
	}
	if rec.Error != w.Error || (w.Error == "" && rec.Has("error")) {
		bad = append(bad, fmt.Sprintf("error %q (present %v), want %q", rec.Error, rec.Has("error"), w.Error))
	}
	if w.Syscall == "" || w.Syscall == "execve" {
		if rec.Syscall != "" && rec.Syscall != "execve" {
			bad = append(bad, fmt.Sprintf("syscall %q, want execve", rec.Syscall))
		}
	} else if rec.Syscall != w.Syscall {
		bad = append(bad, fmt.Sprintf("syscall %q, want %q", rec.Syscall, w.Syscall))
	}
	if w.PID != 0 && rec.PID != w.PID {
		bad = append(bad, fmt.Sprintf("pid %d, want %d", rec.PID, w.PID))
	}
	if w.PPID != 0 && rec.PPID != w.PPID {
		bad = append(bad, fmt.Sprintf("ppid %d, want %d", rec.PPID, w.PPID))
	}
	if len(bad) > 0 {
		t.Errorf("%s:\n  %s\n%s", what, strings.Join(bad, "\n  "), dump([]Record{rec}))
	}
}

// wantN fails unless recs has n records.
func wantN(t *testing.T, recs []Record, n int, what string) {
	t.Helper()
	if len(recs) != n {
		t.Fatalf("want %d %s, got %d:\n%s", n, what, len(recs), dump(recs))
	}
}

// sayC prints "NAME-RAN PID", NAME being the last element of
// /proc/self/exe: which program really runs, whatever argv[0] says.
const sayC = `
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0) return 2;
	exe[n] = 0;
	char *b = strrchr(exe, '/');
	printf("%s-RAN %d\n", b ? b + 1 : exe, (int)getpid());
	return 0;
}
`

// ranMarker is the line start the say helper prints for exe.
func ranMarker(exe string) string { return filepath.Base(exe) + "-RAN" }

// deniedAtEntry checks that exe was refused at entry: at least one
// exec record names it, and every one says action deny, error EPERM, and
// (wantVerified "false") verified false or (wantVerified "absent") no
// verified field, the notify backend's form.
func deniedAtEntry(t *testing.T, r *Run, exe, wantVerified string) {
	t.Helper()
	recs := r.ExecsOf(exe)
	if len(recs) == 0 {
		t.Errorf("no exec record for the refused %s:\n%s", exe, dump(r.Records))
		return
	}
	for _, rec := range recs {
		v := "absent"
		if rec.Verified != nil {
			v = strconv.FormatBool(*rec.Verified)
		}
		if rec.Action != "deny" || rec.Error != "EPERM" || v != wantVerified {
			t.Errorf("exec record of refused %s: action %q error %q verified %s; want deny, EPERM, verified %s\n%s",
				exe, rec.Action, rec.Error, v, wantVerified, dump([]Record{rec}))
		}
	}
}

// noWarning checks that exectrail itself said nothing on stderr.
func noWarning(t *testing.T, r *Run) {
	t.Helper()
	noPanic(t, r.Stderr)
	for _, l := range strings.Split(r.Stderr, "\n") {
		if strings.HasPrefix(l, "exectrail:") {
			t.Errorf("unexpected exectrail message on stderr: %q", l)
		}
	}
}

// buildCheckout makes a checkout with build.sh (compile hello.c, run it
// $N times, default once; with $FETCH run fetch.sh, which runs curl
// --version) and returns its canonical path.
func buildCheckout(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		skipf(t, "needs cc")
	}
	dir, err := os.MkdirTemp("/tmp", "exectrail-checkout-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	dir = canon(t, dir)
	writeExe(t, filepath.Join(dir, "build.sh"), `#!/bin/sh
set -e
cc -c hello.c -o hello.o
cc hello.o -o hello
i=0
while [ $i -lt ${N:-1} ]; do ./hello; i=$((i+1)); done
if [ -n "$FETCH" ]; then ./fetch.sh; fi
`)
	writeExe(t, filepath.Join(dir, "fetch.sh"), "#!/bin/sh\n/usr/bin/curl --version >/dev/null\n")
	if err := os.WriteFile(filepath.Join(dir, "hello.c"), []byte("#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runBuild runs build.sh in dir under exectrail with extra environment
// and returns the run (its Log is the records file).
func runBuild(t *testing.T, dir string, env ...string) *Run {
	t.Helper()
	r := runTrail(t, Opts{Dir: dir, Env: append(os.Environ(), env...)}, "./build.sh")
	if r.ExitCode != 0 {
		t.Fatalf("build.sh exited %d\nstdout: %s\nstderr: %s", r.ExitCode, r.Stdout, r.Stderr)
	}
	return r
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		skipf(t, "needs a git checkout: git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// versionFields parses `exectrail version`: the first line, then
// "key: value" lines.
func versionFields(t *testing.T, bin string) (string, map[string]string) {
	t.Helper()
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	fields := map[string]string{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("version line %q is not key: value", l)
		}
		fields[k] = strings.TrimSpace(v)
	}
	return lines[0], fields
}

// doctorReport is `exectrail doctor --format json`.
type doctorReport struct {
	Checks []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"checks"`
	Notify  struct{ Works bool } `json:"notify"`
	Ptrace  struct{ Works bool } `json:"ptrace"`
	Auto    string               `json:"auto"`
	AutoWhy string               `json:"auto_why"`
	OK      bool                 `json:"ok"`
}

// check returns the check with id, failing the test when there is none.
func (r *doctorReport) check(t *testing.T, id string) (status, detail string) {
	t.Helper()
	for _, c := range r.Checks {
		if c.ID == id {
			return c.Status, c.Detail
		}
	}
	t.Fatalf("doctor reported no %q check", id)
	return "", ""
}

// want checks one check's status and that its detail names the reason.
func (r *doctorReport) want(t *testing.T, id, status string, reasons ...string) {
	t.Helper()
	st, detail := r.check(t, id)
	if st != status {
		t.Errorf("check %s: %s (%s), want %s", id, st, detail, status)
	}
	for _, why := range reasons {
		if !strings.Contains(detail, why) {
			t.Errorf("check %s: %q does not say %q", id, detail, why)
		}
	}
}

const reportRule = "── exectrail report ──"

// twoPagesC is C for the hostile-memory helpers (after <stdio.h>,
// <sys/mman.h> and <unistd.h>): twoPages maps two pages and unmaps the
// second, so that the first ends right at an unmapped page.
const twoPagesC = `static char *twoPages(void) {
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) { perror("mmap"); _exit(2); }
	if (munmap(p + 4096, 4096) != 0) { perror("munmap"); _exit(2); }
	return p;
}
`
