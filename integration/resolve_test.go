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

// byDriver completes w for an exec the driver drv made itself: by its
// process (pid and parent), with argv [argv0, "exectrail-test"], as the
// driver passes it.
func byDriver(drv Record, argv0 string, w execWant) execWant {
	w.PID, w.PPID = drv.PID, drv.PPID
	w.Argv = []string{argv0, "exectrail-test"}
	return w
}

// driveOne runs the driver with ops in a fresh directory, wants exactly
// one exec record after the driver's, and checks it against w made
// complete by byDriver, with that directory as its cwd.
func driveOne(t *testing.T, helper, what, argv0 string, w execWant, ops ...string) {
	t.Helper()
	cwd := t.TempDir()
	drv, rest := resolveRunExecer(t, helper, cwd, nil, ops...)
	wantN(t, rest, 1, "exec records after the driver's")
	w.Cwd = canon(t, cwd)
	checkExec(t, what, rest[0], byDriver(drv, argv0, w))
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
			driveOne(t, helper, "execveat(dirfd)", c.file, execWant{Path: c.file, Executable: "/usr/bin/true", Syscall: "execveat"},
				"dirfd", c.dir, c.file)
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
			driveOne(t, helper, c.op, c.file, execWant{Path: "", Executable: "/usr/bin/true", Syscall: "execveat"},
				c.op, c.file)
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
			checkExec(t, "exec of "+c.fmt, rest[0], byDriver(drv, path, execWant{Path: path, Executable: "/usr/bin/true", Cwd: wantCwd}))
		})
	}
}

// 4. A memfd executable has no path; it shows as /memfd:NAME (deleted).
func TestResolveMemfd(t *testing.T) {
	helper := execer(t)
	driveOne(t, helper, "fexecve(memfd)", "payload", execWant{Path: "", Executable: "/memfd:payload", ExePrefix: true, Syscall: "execveat"},
		"memfd", "/usr/bin/true", "payload")
}

// runSh runs sh -c script under exectrail, wants exit status 0 and n
// exec records (what names them; sh's own is the first), and returns them.
func runSh(t *testing.T, o Opts, script string, n int, what string) []Record {
	t.Helper()
	r := runTrail(t, o, "sh", "-c", script)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %s\n%s", r.ExitCode, r.Stderr, dump(r.Records))
	}
	execs := r.Execs()
	wantN(t, execs, n, what)
	return execs
}

// checkShellChild checks rec, sh's exec of the command path: its path,
// executable, argv [path] and cwd, and that it was made by sh itself
// (exec without fork) or by a child of sh.
func checkShellChild(t *testing.T, what string, sh, rec Record, path, executable, cwd string) {
	t.Helper()
	checkExec(t, what, rec, execWant{Path: path, Executable: executable, Argv: []string{path}, Cwd: cwd})
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
	execs := runSh(t, Opts{}, "cd "+dir+" && ./sub/mytrue", 2, "exec records (sh, mytrue)")
	checkShellChild(t, "exec of the symlink", execs[0], execs[1], "./sub/mytrue", "/usr/bin/true", canon(t, dir))
}

// 6. #! scripts: one record for the script with its interpreter; with
// #!/usr/bin/env, env's own exec of the interpreter follows.
func TestResolveShebang(t *testing.T) {
	sh := canon(t, "/bin/sh")
	env := canon(t, "/usr/bin/env")
	// A fixed PATH: env's execvp then makes exactly one attempt.
	environ := []string{"PATH=/usr/bin"}

	for _, c := range []struct {
		name, line, interp string
		n                  int
		what               string
	}{
		{"bin-sh", "#!/bin/sh", sh, 1, "exec record (the script; the kernel loads its interpreter without an exec)"},
		{"usr-bin-env", "#!/usr/bin/env sh", env, 2, "exec records (the script, then env's exec of sh)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeExe(t, filepath.Join(dir, "script"), c.line+"\nexit 0\n")
			r := runTrail(t, Opts{Dir: dir, Env: environ}, "./script", "a1")
			if r.ExitCode != 0 {
				t.Fatalf("exit %d, stderr %s", r.ExitCode, r.Stderr)
			}
			execs := r.Execs()
			wantN(t, execs, c.n, c.what)
			checkExec(t, "script", execs[0], execWant{
				Path:        "./script",
				Executable:  canon(t, filepath.Join(dir, "script")),
				Argv:        []string{"./script", "a1"},
				Cwd:         canon(t, dir),
				Interpreter: c.interp,
			})
			if c.n == 2 {
				checkExec(t, "env's exec of sh", execs[1], execWant{
					Path:       "/usr/bin/sh",
					Executable: sh,
					Argv:       []string{"sh", "./script", "a1"},
					Cwd:        canon(t, dir),
					PID:        execs[0].PID,
					PPID:       execs[0].PPID,
				})
			}
		})
	}
}

// 7. A missing program, then a real one: the first record has ENOENT and
// no executable, the second no error field at all.
func TestResolveMissingThenReal(t *testing.T) {
	cwd := t.TempDir()
	execs := runSh(t, Opts{Dir: cwd}, "/nonexistent/prog; /usr/bin/true", 3, "exec records (sh, /nonexistent/prog, /usr/bin/true)")
	checkExec(t, "missing program", execs[1], execWant{
		Path:  "/nonexistent/prog",
		Argv:  []string{"/nonexistent/prog"},
		Cwd:   canon(t, cwd),
		Error: "ENOENT",
		PPID:  execs[0].PID,
	})
	checkShellChild(t, "real program", execs[0], execs[2], "/usr/bin/true", "/usr/bin/true", canon(t, cwd))
}

// 8. execvp through missing PATH directories: one ENOENT record per miss,
// and exactly one error-free record, for the file that exists.
func TestResolvePathSearch(t *testing.T) {
	helper := execer(t)
	cwd := t.TempDir()
	drv, rest := resolveRunExecer(t, helper, cwd, nil, "setpath", "/nonexist1:/nonexist2:/usr/bin", "execvp", "true")
	wantN(t, rest, 3, "exec attempts by execvp")
	for i, dir := range []string{"/nonexist1", "/nonexist2"} {
		checkExec(t, "attempt in "+dir, rest[i], byDriver(drv, "true", execWant{Path: dir + "/true", Cwd: canon(t, cwd), Error: "ENOENT"}))
	}
	checkExec(t, "attempt in /usr/bin", rest[2], byDriver(drv, "true", execWant{Path: "/usr/bin/true", Executable: "/usr/bin/true", Cwd: canon(t, cwd)}))
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
		checkExec(t, "exec of "+filepath.Base(c.path), rest[i], byDriver(drv, c.path, execWant{
			Path: c.path, Executable: c.canon, ExeOptional: true, Cwd: cdir, Error: c.errno,
		}))
	}
	checkExec(t, "file with a trailing slash", rest[3], byDriver(drv, "/usr/bin/true/", execWant{Path: "/usr/bin/true/", Cwd: cdir, Error: "ENOTDIR"}))
	checkExec(t, "final exec", rest[4], byDriver(drv, "/usr/bin/true", execWant{Path: "/usr/bin/true", Executable: "/usr/bin/true", Cwd: cdir}))
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
	checkExec(t, "NOFOLLOW on a symlink", rest[0], byDriver(drv, link, execWant{
		Path: link,
		// Nothing runs: naming the link itself is acceptable, naming
		// its target is not.
		Executable: canon(t, dir) + "/lnk", ExeOptional: true,
		Cwd: canon(t, dir), Error: "ELOOP", Syscall: "execveat",
	}))
	checkExec(t, "symlink loop", rest[1], byDriver(drv, loopA, execWant{Path: loopA, Cwd: canon(t, dir), Error: "ELOOP"}))
	checkExec(t, "NOFOLLOW through a directory symlink", rest[2], byDriver(drv, "/bin/true", execWant{
		Path: "/bin/true", Executable: "/usr/bin/true", Cwd: canon(t, dir), Syscall: "execveat",
	}))
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
		checkShellChild(t, "exec of "+p, execs[0], execs[1+i], p, cdir+"/b/bin/prog", cdir+"/b/sub")
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
	execs := runSh(t, Opts{}, "cd "+gone+" && /usr/bin/rmdir "+gone+" && /usr/bin/true && ../bin/prog", 4, "exec records (sh, rmdir, true, prog)")
	cdir := canon(t, dir)
	deleted := cdir + "/gone (deleted)"
	checkShellChild(t, "absolute exec from a deleted cwd", execs[0], execs[2], "/usr/bin/true", "/usr/bin/true", deleted)
	checkShellChild(t, "relative exec from a deleted cwd", execs[0], execs[3], "../bin/prog", cdir+"/bin/prog", deleted)
}
