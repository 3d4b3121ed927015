package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Exec path resolution: every way a program can name the file it execs
// (dirfds, empty paths, /proc/self/fd, memfds, symlinks, scripts, PATH
// search, chroots, deleted working directories) must end in the absolute,
// canonical path /proc/PID/exe would show, and a failing attempt must carry
// the errno the kernel returns.

// resolveHelperSrc is a small exec driver. Its arguments are a program of
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
const resolveHelperSrc = `
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

// resolveExecer compiles the exec driver.
func resolveExecer(t *testing.T, flags ...string) string {
	t.Helper()
	return compileC(t, "execer", resolveHelperSrc, flags...)
}

// resolveCanon is filepath.EvalSymlinks, fatal on error.
func resolveCanon(t *testing.T, p string) string {
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

// resolveFailures returns the "op arg ERRNO" lines the driver printed.
func resolveFailures(r *Run) []string {
	var out []string
	for _, l := range strings.Split(r.Stdout, "\n") {
		if rest, ok := strings.CutPrefix(l, "FAIL "); ok {
			out = append(out, rest)
		}
	}
	return out
}

// resolveWant is what one exec record must say. Empty strings mean "absent"
// for Interpreter and Error; Syscall "" means execve (the field is absent
// or "execve").
type resolveWant struct {
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

// resolveCheck compares rec with w field by field.
func resolveCheck(t *testing.T, what string, rec Record, w resolveWant) {
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

// resolveRunExecer runs the driver under exectrail in dir with ops, checks that
// it ended in a successful exec (status 0) after exactly the failures
// wantFail ("op arg ERRNO"), checks the driver's own exec record, and
// returns it with the exec records that followed it.
func resolveRunExecer(t *testing.T, helper, dir string, wantFail []string, ops ...string) (Record, []Record) {
	t.Helper()
	r := runTrail(t, Opts{Dir: dir}, append([]string{helper}, ops...)...)
	if r.ExitCode != 0 {
		t.Fatalf("driver exit %d (want 0: its last exec should succeed)\nstdout: %s\nstderr: %s\nrecords:\n%s", r.ExitCode, r.Stdout, r.Stderr, dump(r.Records))
	}
	if got := resolveFailures(r); !slices.Equal(got, wantFail) {
		t.Fatalf("the kernel's exec results are not what the test expects: got failures %q, want %q\nrecords:\n%s", got, wantFail, dump(r.Records))
	}
	execs := r.Execs()
	if len(execs) == 0 {
		t.Fatalf("no exec records:\n%s", dump(r.Records))
	}
	first := execs[0]
	resolveCheck(t, "the driver's own exec", first, resolveWant{
		Path:       helper,
		Executable: resolveCanon(t, helper),
		Argv:       append([]string{helper}, ops...),
		Cwd:        resolveCanon(t, dir),
	})
	if first.PPID == 0 {
		t.Errorf("driver exec record has no ppid:\n%s", dump([]Record{first}))
	}
	return first, execs[1:]
}

// resolveWantN fails unless recs has n records.
func resolveWantN(t *testing.T, recs []Record, n int, what string) {
	t.Helper()
	if len(recs) != n {
		t.Fatalf("want %d %s, got %d:\n%s", n, what, len(recs), dump(recs))
	}
}

// 1. execveat with a directory fd: the name resolves against the dirfd.
func TestResolveExecveatDirfd(t *testing.T) {
	helper := resolveExecer(t)
	for _, c := range []struct{ name, dir, file string }{
		{"usr-bin", "/usr/bin", "true"},
		{"dirfd-through-symlink", "/bin", "true"},
		{"dotdot-from-dirfd", "/usr/share", "../bin/true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cwd := t.TempDir()
			drv, rest := resolveRunExecer(t, helper, cwd, nil, "dirfd", c.dir, c.file)
			resolveWantN(t, rest, 1, "exec records after the driver's")
			resolveCheck(t, "execveat(dirfd)", rest[0], resolveWant{
				Path:       c.file,
				Executable: "/usr/bin/true",
				Argv:       []string{c.file, "exectrail-test"},
				Cwd:        resolveCanon(t, cwd),
				Syscall:    "execveat",
				PID:        drv.PID,
				PPID:       drv.PPID,
			})
		})
	}
}

// 2. fexecve and execveat(fd, "", AT_EMPTY_PATH): the path is empty and
// the executable is the file behind the fd.
func TestResolveExecveatEmptyPath(t *testing.T) {
	helper := resolveExecer(t)
	for _, c := range []struct{ name, op, file string }{
		{"raw-execveat", "emptypath", "/usr/bin/true"},
		{"raw-execveat-opened-through-symlink", "emptypath", "/bin/true"},
		{"glibc-fexecve", "fexecve", "/usr/bin/true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cwd := t.TempDir()
			drv, rest := resolveRunExecer(t, helper, cwd, nil, c.op, c.file)
			resolveWantN(t, rest, 1, "exec records after the driver's")
			resolveCheck(t, c.op, rest[0], resolveWant{
				Path:       "",
				Executable: "/usr/bin/true",
				Argv:       []string{c.file, "exectrail-test"},
				Cwd:        resolveCanon(t, cwd),
				Syscall:    "execveat",
				PID:        drv.PID,
				PPID:       drv.PPID,
			})
		})
	}
}

// 3. /proc/self/fd/N and its relatives name the tracee's fd, not the
// supervisor's: the supervisor's own fd 7 is something else entirely.
func TestResolveProcSelfFd(t *testing.T) {
	helper := resolveExecer(t)
	for _, c := range []struct {
		name  string
		chdir string
		fmt   string
	}{
		{"proc-self", "", "/proc/self/fd/7"},
		{"proc-thread-self", "", "/proc/thread-self/fd/7"},
		{"proc-pid", "", "/proc/%d/fd/7"},
		{"dev-fd", "", "/dev/fd/7"},
		{"relative-self-from-proc", "/proc", "self/fd/7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cwd := t.TempDir()
			ops := []string{"fdpath", "/usr/bin/true", c.fmt}
			wantCwd := resolveCanon(t, cwd)
			if c.chdir != "" {
				ops = append([]string{"chdir", c.chdir}, ops...)
				wantCwd = c.chdir
			}
			drv, rest := resolveRunExecer(t, helper, cwd, nil, ops...)
			resolveWantN(t, rest, 1, "exec records after the driver's")
			path := c.fmt
			if strings.Contains(path, "%d") {
				path = fmt.Sprintf(path, drv.PID)
			}
			resolveCheck(t, "exec of "+c.fmt, rest[0], resolveWant{
				Path:       path,
				Executable: "/usr/bin/true",
				Argv:       []string{path, "exectrail-test"},
				Cwd:        wantCwd,
				PID:        drv.PID,
				PPID:       drv.PPID,
			})
		})
	}
}

// 4. A memfd executable has no path; it shows as /memfd:NAME (deleted).
func TestResolveMemfd(t *testing.T) {
	helper := resolveExecer(t)
	cwd := t.TempDir()
	drv, rest := resolveRunExecer(t, helper, cwd, nil, "memfd", "/usr/bin/true", "payload")
	resolveWantN(t, rest, 1, "exec records after the driver's")
	resolveCheck(t, "fexecve(memfd)", rest[0], resolveWant{
		Path:       "",
		Executable: "/memfd:payload",
		ExePrefix:  true,
		Argv:       []string{"payload", "exectrail-test"},
		Cwd:        resolveCanon(t, cwd),
		Syscall:    "execveat",
		PID:        drv.PID,
		PPID:       drv.PPID,
	})
}

// resolveShellChild checks that rec was made by sh itself (exec without fork)
// or by a child of sh.
func resolveShellChild(t *testing.T, sh, rec Record) {
	t.Helper()
	if !(rec.PPID == sh.PID || (rec.PID == sh.PID && rec.PPID == sh.PPID)) {
		t.Errorf("record is neither sh (pid %d) nor its child:\n%s", sh.PID, dump([]Record{rec}))
	}
}

// 5. A symlink (to a symlink, through the /bin -> usr/bin symlink) exec'd
// by a relative path after cd: the executable is the final target.
func TestResolveSymlinkRelative(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/bin/true", filepath.Join(dir, "link1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../link1", filepath.Join(dir, "sub", "mytrue")); err != nil {
		t.Fatal(err)
	}
	r := runTrail(t, Opts{}, "sh", "-c", "cd "+dir+" && ./sub/mytrue")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %s", r.ExitCode, r.Stderr)
	}
	execs := r.Execs()
	resolveWantN(t, execs, 2, "exec records (sh, mytrue)")
	resolveCheck(t, "exec of the symlink", execs[1], resolveWant{
		Path:       "./sub/mytrue",
		Executable: "/usr/bin/true",
		Argv:       []string{"./sub/mytrue"},
		Cwd:        resolveCanon(t, dir),
	})
	resolveShellChild(t, execs[0], execs[1])
}

// resolveWriteExe writes an executable file.
func resolveWriteExe(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

// 6. #! scripts: one record for the script with its interpreter; with
// #!/usr/bin/env, env's own exec of the interpreter follows.
func TestResolveShebang(t *testing.T) {
	sh := resolveCanon(t, "/bin/sh")
	env := resolveCanon(t, "/usr/bin/env")
	// A fixed PATH: env's execvp then makes exactly one attempt.
	environ := []string{"PATH=/usr/bin"}

	t.Run("bin-sh", func(t *testing.T) {
		dir := t.TempDir()
		resolveWriteExe(t, filepath.Join(dir, "script"), "#!/bin/sh\nexit 0\n")
		r := runTrail(t, Opts{Dir: dir, Env: environ}, "./script", "a1")
		if r.ExitCode != 0 {
			t.Fatalf("exit %d, stderr %s", r.ExitCode, r.Stderr)
		}
		execs := r.Execs()
		resolveWantN(t, execs, 1, "exec record (the script; the kernel loads its interpreter without an exec)")
		resolveCheck(t, "script", execs[0], resolveWant{
			Path:        "./script",
			Executable:  resolveCanon(t, filepath.Join(dir, "script")),
			Argv:        []string{"./script", "a1"},
			Cwd:         resolveCanon(t, dir),
			Interpreter: sh,
		})
	})

	t.Run("usr-bin-env", func(t *testing.T) {
		dir := t.TempDir()
		resolveWriteExe(t, filepath.Join(dir, "script"), "#!/usr/bin/env sh\nexit 0\n")
		r := runTrail(t, Opts{Dir: dir, Env: environ}, "./script", "a1")
		if r.ExitCode != 0 {
			t.Fatalf("exit %d, stderr %s", r.ExitCode, r.Stderr)
		}
		execs := r.Execs()
		resolveWantN(t, execs, 2, "exec records (the script, then env's exec of sh)")
		resolveCheck(t, "script", execs[0], resolveWant{
			Path:        "./script",
			Executable:  resolveCanon(t, filepath.Join(dir, "script")),
			Argv:        []string{"./script", "a1"},
			Cwd:         resolveCanon(t, dir),
			Interpreter: env,
		})
		resolveCheck(t, "env's exec of sh", execs[1], resolveWant{
			Path:       "/usr/bin/sh",
			Executable: sh,
			Argv:       []string{"sh", "./script", "a1"},
			Cwd:        resolveCanon(t, dir),
			PID:        execs[0].PID,
			PPID:       execs[0].PPID,
		})
	})
}

// 7. A missing program, then a real one: the first record has ENOENT and
// no executable, the second no error field at all.
func TestResolveMissingThenReal(t *testing.T) {
	cwd := t.TempDir()
	r := runTrail(t, Opts{Dir: cwd}, "sh", "-c", "/nonexistent/prog; /usr/bin/true")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %s", r.ExitCode, r.Stderr)
	}
	execs := r.Execs()
	resolveWantN(t, execs, 3, "exec records (sh, /nonexistent/prog, /usr/bin/true)")
	resolveCheck(t, "missing program", execs[1], resolveWant{
		Path:  "/nonexistent/prog",
		Argv:  []string{"/nonexistent/prog"},
		Cwd:   resolveCanon(t, cwd),
		Error: "ENOENT",
		PPID:  execs[0].PID,
	})
	resolveCheck(t, "real program", execs[2], resolveWant{
		Path:       "/usr/bin/true",
		Executable: "/usr/bin/true",
		Argv:       []string{"/usr/bin/true"},
		Cwd:        resolveCanon(t, cwd),
	})
	resolveShellChild(t, execs[0], execs[2])
}

// 8. execvp through missing PATH directories: one ENOENT record per miss,
// and exactly one error-free record, for the file that exists.
func TestResolvePathSearch(t *testing.T) {
	helper := resolveExecer(t)
	cwd := t.TempDir()
	drv, rest := resolveRunExecer(t, helper, cwd, nil, "setpath", "/nonexist1:/nonexist2:/usr/bin", "execvp", "true")
	resolveWantN(t, rest, 3, "exec attempts by execvp")
	for i, dir := range []string{"/nonexist1", "/nonexist2"} {
		resolveCheck(t, "attempt in "+dir, rest[i], resolveWant{
			Path:  dir + "/true",
			Argv:  []string{"true", "exectrail-test"},
			Cwd:   resolveCanon(t, cwd),
			Error: "ENOENT",
			PID:   drv.PID,
			PPID:  drv.PPID,
		})
	}
	resolveCheck(t, "attempt in /usr/bin", rest[2], resolveWant{
		Path:       "/usr/bin/true",
		Executable: "/usr/bin/true",
		Argv:       []string{"true", "exectrail-test"},
		Cwd:        resolveCanon(t, cwd),
		PID:        drv.PID,
		PPID:       drv.PPID,
	})
	ok := 0
	for _, rec := range append([]Record{drv}, rest...) {
		if rec.Has("error") {
			continue
		}
		if rec.Executable == "/usr/bin/true" {
			ok++
		}
		if _, err := os.Stat(rec.Executable); err != nil {
			t.Errorf("an error-free record names a file that does not exist (%v):\n%s", err, dump([]Record{rec}))
		}
	}
	if ok != 1 {
		t.Errorf("want exactly one error-free record for /usr/bin/true, got %d", ok)
	}
}

// 9. Files that cannot run: no execute bit and a directory (EACCES), and
// a file that is neither ELF nor #! (ENOEXEC), and a file named with a
// trailing slash (ENOTDIR). The driver execs them with
// execve, which (unlike execvp or a shell) does not retry with sh.
func TestResolveExecErrors(t *testing.T) {
	helper := resolveExecer(t)
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "subdir")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	resolveWriteExe(t, plain, "just some words\n")
	cdir := resolveCanon(t, dir)
	drv, rest := resolveRunExecer(t, helper, dir,
		[]string{"execve " + noexec + " EACCES", "execve " + sub + " EACCES", "execve " + plain + " ENOEXEC", "execve /usr/bin/true/ ENOTDIR"},
		"execve", noexec, "execve", sub, "execve", plain, "execve", "/usr/bin/true/", "execve", "/usr/bin/true")
	resolveWantN(t, rest, 5, "exec attempts")
	for i, c := range []struct{ path, canon, errno string }{
		{noexec, cdir + "/noexec", "EACCES"},
		{sub, cdir + "/subdir", "EACCES"},
		{plain, cdir + "/plain", "ENOEXEC"},
	} {
		resolveCheck(t, "exec of "+filepath.Base(c.path), rest[i], resolveWant{
			Path:        c.path,
			Executable:  c.canon,
			ExeOptional: true,
			Argv:        []string{c.path, "exectrail-test"},
			Cwd:         cdir,
			Error:       c.errno,
			PID:         drv.PID,
			PPID:        drv.PPID,
		})
	}
	resolveCheck(t, "file with a trailing slash", rest[3], resolveWant{
		Path:  "/usr/bin/true/",
		Argv:  []string{"/usr/bin/true/", "exectrail-test"},
		Cwd:   cdir,
		Error: "ENOTDIR",
		PID:   drv.PID,
		PPID:  drv.PPID,
	})
	resolveCheck(t, "final exec", rest[4], resolveWant{
		Path:       "/usr/bin/true",
		Executable: "/usr/bin/true",
		Argv:       []string{"/usr/bin/true", "exectrail-test"},
		Cwd:        cdir,
		PID:        drv.PID,
		PPID:       drv.PPID,
	})
}

// 10. AT_SYMLINK_NOFOLLOW refuses a symlink as the final component
// (ELOOP) but not a symlink earlier in the path (/bin); a symlink loop
// fails with ELOOP too.
func TestResolveSymlinkNofollow(t *testing.T) {
	helper := resolveExecer(t)
	dir := t.TempDir()
	link := filepath.Join(dir, "lnk")
	if err := os.Symlink("/usr/bin/true", link); err != nil {
		t.Fatal(err)
	}
	loopA, loopB := filepath.Join(dir, "loopA"), filepath.Join(dir, "loopB")
	if err := os.Symlink("loopB", loopA); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(loopA, loopB); err != nil {
		t.Fatal(err)
	}
	drv, rest := resolveRunExecer(t, helper, dir, []string{"nofollow " + link + " ELOOP", "execve " + loopA + " ELOOP"},
		"nofollow", link, "execve", loopA, "nofollow", "/bin/true")
	resolveWantN(t, rest, 3, "exec attempts")
	resolveCheck(t, "NOFOLLOW on a symlink", rest[0], resolveWant{
		Path: link,
		// Nothing runs: naming the link itself is acceptable, naming
		// its target is not.
		Executable:  resolveCanon(t, dir) + "/lnk",
		ExeOptional: true,
		Argv:        []string{link, "exectrail-test"},
		Cwd:         resolveCanon(t, dir),
		Error:       "ELOOP",
		Syscall:     "execveat",
		PID:         drv.PID,
		PPID:        drv.PPID,
	})
	resolveCheck(t, "symlink loop", rest[1], resolveWant{
		Path:  loopA,
		Argv:  []string{loopA, "exectrail-test"},
		Cwd:   resolveCanon(t, dir),
		Error: "ELOOP",
		PID:   drv.PID,
		PPID:  drv.PPID,
	})
	resolveCheck(t, "NOFOLLOW through a directory symlink", rest[2], resolveWant{
		Path:       "/bin/true",
		Executable: "/usr/bin/true",
		Argv:       []string{"/bin/true", "exectrail-test"},
		Cwd:        resolveCanon(t, dir),
		Syscall:    "execveat",
		PID:        drv.PID,
		PPID:       drv.PPID,
	})
}

// resolveCopy copies src to dst with mode.
func resolveCopy(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// 11. ".." after a symlinked directory goes up from the physical
// directory, not the spelled one: cd a/link (-> ../b/sub) then ../bin/prog
// runs b/bin/prog, not a/bin/prog.
func TestResolveDotDotAfterSymlinkedCwd(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"a/bin", "b/sub", "b/bin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	resolveCopy(t, "/usr/bin/false", filepath.Join(dir, "a/bin/prog"), 0o755)
	resolveCopy(t, "/usr/bin/true", filepath.Join(dir, "b/bin/prog"), 0o755)
	if err := os.Symlink("../b/sub", filepath.Join(dir, "a/link")); err != nil {
		t.Fatal(err)
	}
	r := runTrail(t, Opts{}, "sh", "-c", "cd "+dir+"/a/link && ../bin/prog && .././sub/..//bin/./prog")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (the lexically resolved a/bin/prog is false): stderr %s\n%s", r.ExitCode, r.Stderr, dump(r.Records))
	}
	cdir := resolveCanon(t, dir)
	execs := r.Execs()
	resolveWantN(t, execs, 3, "exec records (sh, two progs)")
	for i, p := range []string{"../bin/prog", ".././sub/..//bin/./prog"} {
		resolveCheck(t, "exec of "+p, execs[1+i], resolveWant{
			Path:       p,
			Executable: cdir + "/b/bin/prog",
			Argv:       []string{p},
			Cwd:        cdir + "/b/sub",
		})
		resolveShellChild(t, execs[0], execs[1+i])
	}
}

// 12. In a chroot, paths, absolute symlinks, ".." and #! interpreters
// resolve inside the new root; the executable is the host's view of the file, as /proc/PID/exe
// shows it.
func TestResolveChroot(t *testing.T) {
	requireRoot(t)
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		skipf(t, "needs chroot(8)")
	}
	hello := compileC(t, "hello", `#include <stdio.h>
int main(int argc, char **argv) { printf("hello from %s, %d args\n", argv[0], argc); return 0; }
`, "-static")
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	resolveCopy(t, hello, filepath.Join(root, "bin/hello"), 0o755)
	if err := os.Symlink("/bin/hello", filepath.Join(root, "bin/link")); err != nil {
		t.Fatal(err)
	}
	// A relative symlink whose ".." climb past the new root stays in it.
	if err := os.Symlink("../../../bin/hello", filepath.Join(root, "bin/up")); err != nil {
		t.Fatal(err)
	}
	resolveWriteExe(t, filepath.Join(root, "bin/script"), "#!/bin/link\n")
	croot := resolveCanon(t, root)

	for _, c := range []struct{ name, prog, exe, interp, out string }{
		{"absolute-symlink", "/bin/link", "/bin/hello", "", "hello from /bin/link, 1 args\n"},
		{"dotdot-above-root", "/../../bin/hello", "/bin/hello", "", "hello from /../../bin/hello, 1 args\n"},
		{"relative-symlink-above-root", "/bin/up", "/bin/hello", "", "hello from /bin/up, 1 args\n"},
		{"script-interpreter-via-symlink", "/bin/script", "/bin/script", croot + "/bin/hello", "hello from /bin/link, 2 args\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runTrail(t, Opts{}, chroot, root, c.prog)
			if r.ExitCode != 0 || r.Stdout != c.out {
				t.Fatalf("exit %d, stdout %q (want %q), stderr %s", r.ExitCode, r.Stdout, c.out, r.Stderr)
			}
			execs := r.Execs()
			resolveWantN(t, execs, 2, "exec records (chroot, the program)")
			resolveCheck(t, "exec inside the chroot", execs[1], resolveWant{
				Path:        c.prog,
				Executable:  croot + c.exe,
				Argv:        []string{c.prog},
				Cwd:         croot,
				Interpreter: c.interp,
				PID:         execs[0].PID,
				PPID:        execs[0].PPID,
			})
		})
	}
}

// 13. Exec from a working directory that was deleted after cd: absolute
// paths still resolve, and so does ".." (the kernel keeps the parent).
func TestResolveDeletedCwd(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	resolveCopy(t, "/usr/bin/true", filepath.Join(dir, "bin/prog"), 0o755)
	gone := filepath.Join(dir, "gone")
	if err := os.Mkdir(gone, 0o755); err != nil {
		t.Fatal(err)
	}
	r := runTrail(t, Opts{}, "sh", "-c", "cd "+gone+" && /usr/bin/rmdir "+gone+" && /usr/bin/true && ../bin/prog")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %s\n%s", r.ExitCode, r.Stderr, dump(r.Records))
	}
	cdir := resolveCanon(t, dir)
	execs := r.Execs()
	resolveWantN(t, execs, 4, "exec records (sh, rmdir, true, prog)")
	deleted := cdir + "/gone (deleted)"
	resolveCheck(t, "absolute exec from a deleted cwd", execs[2], resolveWant{
		Path:       "/usr/bin/true",
		Executable: "/usr/bin/true",
		Argv:       []string{"/usr/bin/true"},
		Cwd:        deleted,
	})
	resolveCheck(t, "relative exec from a deleted cwd", execs[3], resolveWant{
		Path:       "../bin/prog",
		Executable: cdir + "/bin/prog",
		Argv:       []string{"../bin/prog"},
		Cwd:        deleted,
	})
	for _, rec := range execs[2:] {
		resolveShellChild(t, execs[0], rec)
	}
}
