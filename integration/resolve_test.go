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
	checkExec(t, "the driver's own exec", first, execWant{
		Path:       helper,
		Executable: canon(t, helper),
		Argv:       append([]string{helper}, ops...),
		Cwd:        canon(t, dir),
	})
	if first.PPID == 0 {
		t.Errorf("driver exec record has no ppid:\n%s", dump([]Record{first}))
	}
	return first, execs[1:]
}

// 1. execveat with a directory fd: the name resolves against the dirfd.
func TestResolveExecveatDirfd(t *testing.T) {
	helper := execer(t)
	for _, c := range []struct{ name, dir, file string }{
		{"usr-bin", "/usr/bin", "true"},
		{"dirfd-through-symlink", "/bin", "true"},
		{"dotdot-from-dirfd", "/usr/share", "../bin/true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cwd := t.TempDir()
			drv, rest := resolveRunExecer(t, helper, cwd, nil, "dirfd", c.dir, c.file)
			wantN(t, rest, 1, "exec records after the driver's")
			checkExec(t, "execveat(dirfd)", rest[0], execWant{
				Path:       c.file,
				Executable: "/usr/bin/true",
				Argv:       []string{c.file, "exectrail-test"},
				Cwd:        canon(t, cwd),
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
	helper := execer(t)
	for _, c := range []struct{ name, op, file string }{
		{"raw-execveat", "emptypath", "/usr/bin/true"},
		{"raw-execveat-opened-through-symlink", "emptypath", "/bin/true"},
		{"glibc-fexecve", "fexecve", "/usr/bin/true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cwd := t.TempDir()
			drv, rest := resolveRunExecer(t, helper, cwd, nil, c.op, c.file)
			wantN(t, rest, 1, "exec records after the driver's")
			checkExec(t, c.op, rest[0], execWant{
				Path:       "",
				Executable: "/usr/bin/true",
				Argv:       []string{c.file, "exectrail-test"},
				Cwd:        canon(t, cwd),
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
	helper := execer(t)
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
			wantCwd := canon(t, cwd)
			if c.chdir != "" {
				ops = append([]string{"chdir", c.chdir}, ops...)
				wantCwd = c.chdir
			}
			drv, rest := resolveRunExecer(t, helper, cwd, nil, ops...)
			wantN(t, rest, 1, "exec records after the driver's")
			path := c.fmt
			if strings.Contains(path, "%d") {
				path = fmt.Sprintf(path, drv.PID)
			}
			checkExec(t, "exec of "+c.fmt, rest[0], execWant{
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
	helper := execer(t)
	cwd := t.TempDir()
	drv, rest := resolveRunExecer(t, helper, cwd, nil, "memfd", "/usr/bin/true", "payload")
	wantN(t, rest, 1, "exec records after the driver's")
	checkExec(t, "fexecve(memfd)", rest[0], execWant{
		Path:       "",
		Executable: "/memfd:payload",
		ExePrefix:  true,
		Argv:       []string{"payload", "exectrail-test"},
		Cwd:        canon(t, cwd),
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
	wantN(t, execs, 2, "exec records (sh, mytrue)")
	checkExec(t, "exec of the symlink", execs[1], execWant{
		Path:       "./sub/mytrue",
		Executable: "/usr/bin/true",
		Argv:       []string{"./sub/mytrue"},
		Cwd:        canon(t, dir),
	})
	resolveShellChild(t, execs[0], execs[1])
}

// 6. #! scripts: one record for the script with its interpreter; with
// #!/usr/bin/env, env's own exec of the interpreter follows.
func TestResolveShebang(t *testing.T) {
	sh := canon(t, "/bin/sh")
	env := canon(t, "/usr/bin/env")
	// A fixed PATH: env's execvp then makes exactly one attempt.
	environ := []string{"PATH=/usr/bin"}

	t.Run("bin-sh", func(t *testing.T) {
		dir := t.TempDir()
		writeExe(t, filepath.Join(dir, "script"), "#!/bin/sh\nexit 0\n")
		r := runTrail(t, Opts{Dir: dir, Env: environ}, "./script", "a1")
		if r.ExitCode != 0 {
			t.Fatalf("exit %d, stderr %s", r.ExitCode, r.Stderr)
		}
		execs := r.Execs()
		wantN(t, execs, 1, "exec record (the script; the kernel loads its interpreter without an exec)")
		checkExec(t, "script", execs[0], execWant{
			Path:        "./script",
			Executable:  canon(t, filepath.Join(dir, "script")),
			Argv:        []string{"./script", "a1"},
			Cwd:         canon(t, dir),
			Interpreter: sh,
		})
	})

	t.Run("usr-bin-env", func(t *testing.T) {
		dir := t.TempDir()
		writeExe(t, filepath.Join(dir, "script"), "#!/usr/bin/env sh\nexit 0\n")
		r := runTrail(t, Opts{Dir: dir, Env: environ}, "./script", "a1")
		if r.ExitCode != 0 {
			t.Fatalf("exit %d, stderr %s", r.ExitCode, r.Stderr)
		}
		execs := r.Execs()
		wantN(t, execs, 2, "exec records (the script, then env's exec of sh)")
		checkExec(t, "script", execs[0], execWant{
			Path:        "./script",
			Executable:  canon(t, filepath.Join(dir, "script")),
			Argv:        []string{"./script", "a1"},
			Cwd:         canon(t, dir),
			Interpreter: env,
		})
		checkExec(t, "env's exec of sh", execs[1], execWant{
			Path:       "/usr/bin/sh",
			Executable: sh,
			Argv:       []string{"sh", "./script", "a1"},
			Cwd:        canon(t, dir),
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
	wantN(t, execs, 3, "exec records (sh, /nonexistent/prog, /usr/bin/true)")
	checkExec(t, "missing program", execs[1], execWant{
		Path:  "/nonexistent/prog",
		Argv:  []string{"/nonexistent/prog"},
		Cwd:   canon(t, cwd),
		Error: "ENOENT",
		PPID:  execs[0].PID,
	})
	checkExec(t, "real program", execs[2], execWant{
		Path:       "/usr/bin/true",
		Executable: "/usr/bin/true",
		Argv:       []string{"/usr/bin/true"},
		Cwd:        canon(t, cwd),
	})
	resolveShellChild(t, execs[0], execs[2])
}

// 8. execvp through missing PATH directories: one ENOENT record per miss,
// and exactly one error-free record, for the file that exists.
func TestResolvePathSearch(t *testing.T) {
	helper := execer(t)
	cwd := t.TempDir()
	drv, rest := resolveRunExecer(t, helper, cwd, nil, "setpath", "/nonexist1:/nonexist2:/usr/bin", "execvp", "true")
	wantN(t, rest, 3, "exec attempts by execvp")
	for i, dir := range []string{"/nonexist1", "/nonexist2"} {
		checkExec(t, "attempt in "+dir, rest[i], execWant{
			Path:  dir + "/true",
			Argv:  []string{"true", "exectrail-test"},
			Cwd:   canon(t, cwd),
			Error: "ENOENT",
			PID:   drv.PID,
			PPID:  drv.PPID,
		})
	}
	checkExec(t, "attempt in /usr/bin", rest[2], execWant{
		Path:       "/usr/bin/true",
		Executable: "/usr/bin/true",
		Argv:       []string{"true", "exectrail-test"},
		Cwd:        canon(t, cwd),
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
	helper := execer(t)
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
	writeExe(t, plain, "just some words\n")
	cdir := canon(t, dir)
	drv, rest := resolveRunExecer(t, helper, dir,
		[]string{"execve " + noexec + " EACCES", "execve " + sub + " EACCES", "execve " + plain + " ENOEXEC", "execve /usr/bin/true/ ENOTDIR"},
		"execve", noexec, "execve", sub, "execve", plain, "execve", "/usr/bin/true/", "execve", "/usr/bin/true")
	wantN(t, rest, 5, "exec attempts")
	for i, c := range []struct{ path, canon, errno string }{
		{noexec, cdir + "/noexec", "EACCES"},
		{sub, cdir + "/subdir", "EACCES"},
		{plain, cdir + "/plain", "ENOEXEC"},
	} {
		checkExec(t, "exec of "+filepath.Base(c.path), rest[i], execWant{
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
	checkExec(t, "file with a trailing slash", rest[3], execWant{
		Path:  "/usr/bin/true/",
		Argv:  []string{"/usr/bin/true/", "exectrail-test"},
		Cwd:   cdir,
		Error: "ENOTDIR",
		PID:   drv.PID,
		PPID:  drv.PPID,
	})
	checkExec(t, "final exec", rest[4], execWant{
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
	helper := execer(t)
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
	wantN(t, rest, 3, "exec attempts")
	checkExec(t, "NOFOLLOW on a symlink", rest[0], execWant{
		Path: link,
		// Nothing runs: naming the link itself is acceptable, naming
		// its target is not.
		Executable:  canon(t, dir) + "/lnk",
		ExeOptional: true,
		Argv:        []string{link, "exectrail-test"},
		Cwd:         canon(t, dir),
		Error:       "ELOOP",
		Syscall:     "execveat",
		PID:         drv.PID,
		PPID:        drv.PPID,
	})
	checkExec(t, "symlink loop", rest[1], execWant{
		Path:  loopA,
		Argv:  []string{loopA, "exectrail-test"},
		Cwd:   canon(t, dir),
		Error: "ELOOP",
		PID:   drv.PID,
		PPID:  drv.PPID,
	})
	checkExec(t, "NOFOLLOW through a directory symlink", rest[2], execWant{
		Path:       "/bin/true",
		Executable: "/usr/bin/true",
		Argv:       []string{"/bin/true", "exectrail-test"},
		Cwd:        canon(t, dir),
		Syscall:    "execveat",
		PID:        drv.PID,
		PPID:       drv.PPID,
	})
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
	copyFile(t, "/usr/bin/false", filepath.Join(dir, "a/bin/prog"), 0o755)
	copyFile(t, "/usr/bin/true", filepath.Join(dir, "b/bin/prog"), 0o755)
	if err := os.Symlink("../b/sub", filepath.Join(dir, "a/link")); err != nil {
		t.Fatal(err)
	}
	r := runTrail(t, Opts{}, "sh", "-c", "cd "+dir+"/a/link && ../bin/prog && .././sub/..//bin/./prog")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (the lexically resolved a/bin/prog is false): stderr %s\n%s", r.ExitCode, r.Stderr, dump(r.Records))
	}
	cdir := canon(t, dir)
	execs := r.Execs()
	wantN(t, execs, 3, "exec records (sh, two progs)")
	for i, p := range []string{"../bin/prog", ".././sub/..//bin/./prog"} {
		checkExec(t, "exec of "+p, execs[1+i], execWant{
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
	copyFile(t, hello, filepath.Join(root, "bin/hello"), 0o755)
	if err := os.Symlink("/bin/hello", filepath.Join(root, "bin/link")); err != nil {
		t.Fatal(err)
	}
	// A relative symlink whose ".." climb past the new root stays in it.
	if err := os.Symlink("../../../bin/hello", filepath.Join(root, "bin/up")); err != nil {
		t.Fatal(err)
	}
	writeExe(t, filepath.Join(root, "bin/script"), "#!/bin/link\n")
	croot := canon(t, root)

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
			wantN(t, execs, 2, "exec records (chroot, the program)")
			checkExec(t, "exec inside the chroot", execs[1], execWant{
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
	copyFile(t, "/usr/bin/true", filepath.Join(dir, "bin/prog"), 0o755)
	gone := filepath.Join(dir, "gone")
	if err := os.Mkdir(gone, 0o755); err != nil {
		t.Fatal(err)
	}
	r := runTrail(t, Opts{}, "sh", "-c", "cd "+gone+" && /usr/bin/rmdir "+gone+" && /usr/bin/true && ../bin/prog")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %s\n%s", r.ExitCode, r.Stderr, dump(r.Records))
	}
	cdir := canon(t, dir)
	execs := r.Execs()
	wantN(t, execs, 4, "exec records (sh, rmdir, true, prog)")
	deleted := cdir + "/gone (deleted)"
	checkExec(t, "absolute exec from a deleted cwd", execs[2], execWant{
		Path:       "/usr/bin/true",
		Executable: "/usr/bin/true",
		Argv:       []string{"/usr/bin/true"},
		Cwd:        deleted,
	})
	checkExec(t, "relative exec from a deleted cwd", execs[3], execWant{
		Path:       "../bin/prog",
		Executable: cdir + "/bin/prog",
		Argv:       []string{"../bin/prog"},
		Cwd:        deleted,
	})
	for _, rec := range execs[2:] {
		resolveShellChild(t, execs[0], rec)
	}
}
