package procfs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// These tests resolve paths for the test process itself: its own /proc
// entry is the "tracee", so the answers can be checked against the real
// kernel by executing the same path.

func selfTask(t *testing.T) (*Task, Cred) {
	t.Helper()
	task := openTask(t, "/proc", os.Getpid())
	id, err := task.Ident()
	if err != nil {
		t.Fatal(err)
	}
	return task, id.Cred(task)
}

func canon(t *testing.T, p string) string {
	t.Helper()
	c, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeFile(t *testing.T, name, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil { // umask
		t.Fatal(err)
	}
}

// kernelErrno executes path (relative to the current directory) and
// returns the errno of the exec, 0 when it ran.
func kernelErrno(t *testing.T, path string) syscall.Errno {
	t.Helper()
	// Not exec.Command: its PATH lookup answers for some paths ("/",
	// "name") before the kernel is asked.
	cmd := &exec.Cmd{Path: path, Args: []string{path}, Env: helperEnv()}
	err := cmd.Start()
	if err == nil {
		cmd.Wait()
		return 0
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		t.Fatalf("exec %q: %v", path, err)
	}
	return errno
}

func TestResolveSelf(t *testing.T) {
	task, cred := selfTask(t)
	r := &Resolver{ProcRoot: "/proc"}
	dir := canon(t, t.TempDir())
	t.Chdir(dir)

	self := canon(t, must(os.Executable()))
	sh := canon(t, "/bin/sh")
	trueBin := canon(t, "/bin/true")

	must0(os.Symlink(self, "prog"))          // absolute symlink to an ELF file
	must0(os.Symlink("prog", "rel-link"))    // relative symlink to a symlink
	must0(os.Symlink("loop-b", "loop-a"))    // a loop
	must0(os.Symlink("loop-a", "loop-b"))    //
	must0(os.Symlink("missing", "dangling")) //
	must0(os.Mkdir("sub", 0o755))
	writeFile(t, "script", "#!/bin/sh\nexit 0\n", 0o755)
	writeFile(t, "env-script", "#!/usr/bin/env sh\nexit 0\n", 0o755)
	writeFile(t, "sub/script", "#! /bin/sh -e\nexit 0\n", 0o755)
	writeFile(t, "no-interp", "#!/nonexistent/interp\n", 0o755)
	writeFile(t, "bad-shebang", "#!\n", 0o755)
	writeFile(t, "empty-interp", "#!", 0o755)
	writeFile(t, "text", "echo hi\n", 0o755)
	writeFile(t, "not-exec", "#!/bin/sh\n", 0o644)
	writeFile(t, "script-via-script", "#!"+dir+"/script\n", 0o755)
	writeFile(t, "crlf", "#!/bin/sh\r\n", 0o755)
	// A chain of scripts, each the interpreter of the one before.
	for i := 0; i < 6; i++ {
		next := "/bin/sh"
		if i > 0 {
			next = dir + "/chain" + strconv.Itoa(i-1)
		}
		writeFile(t, "chain"+strconv.Itoa(i), "#!"+next+"\n", 0o755)
	}

	for _, c := range []struct {
		name       string
		path       string
		flags      int
		exe        string // "": not checked
		interp     string
		chain      []string // the scripts between exe and interp
		errno      syscall.Errno
		skipKernel bool // the kernel cannot be asked the same way
	}{
		{name: "absolute", path: dir + "/prog", exe: self},
		{name: "absolute through /bin symlink", path: "/bin/true", exe: trueBin},
		{name: "relative", path: "./prog", exe: self},
		{name: "relative without ./", path: "sub/../prog", exe: self},
		{name: "symlink chain", path: "rel-link", exe: self},
		{name: "double slashes", path: dir + "//sub/..//prog", exe: self},
		{name: "missing", path: "./missing", errno: unix.ENOENT},
		{name: "dangling symlink", path: "./dangling", errno: unix.ENOENT},
		{name: "symlink loop", path: "./loop-a", errno: unix.ELOOP},
		{name: "not a directory", path: "./prog/x", errno: unix.ENOTDIR},
		{name: "trailing slash", path: "./prog/", errno: unix.ENOTDIR},
		{name: "directory", path: "./sub", errno: unix.EACCES},
		{name: "root directory", path: "/", errno: unix.EACCES},
		{name: "not executable", path: "./not-exec", errno: unix.EACCES},
		{name: "text without #!", path: "./text", errno: unix.ENOEXEC},
		{name: "script", path: "./script", exe: dir + "/script", interp: sh},
		{name: "script in subdir, with arg", path: "sub/script", exe: dir + "/sub/script", interp: sh},
		{name: "env script", path: "./env-script", exe: dir + "/env-script", interp: canon(t, "/usr/bin/env")},
		{name: "script interpreter missing", path: "./no-interp", exe: dir + "/no-interp", errno: unix.ENOENT},
		{name: "bad #! line", path: "./bad-shebang", exe: dir + "/bad-shebang", errno: unix.ENOEXEC},
		{name: "CRLF #! line", path: "./crlf", exe: dir + "/crlf", errno: unix.ENOENT},
		{
			name: "empty interpreter", path: "./empty-interp", exe: dir + "/empty-interp", errno: unix.EACCES,
		},
		// interp is what the kernel finally runs; chain, the scripts
		// between.
		{name: "script as interpreter", path: "./script-via-script", exe: dir + "/script-via-script", interp: sh, chain: []string{dir + "/script"}},
		{name: "chain of 4 scripts", path: "./chain3", exe: dir + "/chain3", interp: sh, chain: []string{dir + "/chain2", dir + "/chain1", dir + "/chain0"}},
		{
			name: "chain of 5 scripts", path: "./chain4", exe: dir + "/chain4", interp: sh,
			chain: []string{dir + "/chain3", dir + "/chain2", dir + "/chain1", dir + "/chain0"},
		},
		// Too deep: the last script reached, whose interpreter is not
		// looked at.
		{name: "chain of 6 scripts", path: "./chain5", exe: dir + "/chain5", interp: dir + "/chain0",
			chain: []string{dir + "/chain4", dir + "/chain3", dir + "/chain2", dir + "/chain1"}, errno: unix.ELOOP},
		{name: "/proc/self/exe", path: "/proc/self/exe", exe: self},
		{name: "empty path", path: "", errno: unix.ENOENT, skipKernel: true},
		{name: "PATH_MAX", path: "/" + strings.Repeat("a", PathMax-1), errno: unix.ENAMETOOLONG},
		{name: "PATH_MAX minus one", path: "/" + strings.Repeat("a/", (PathMax-2)/2), errno: unix.ENOENT},
		{name: "NAME_MAX", path: "./" + strings.Repeat("n", 256), errno: unix.ENAMETOOLONG},
		{name: "AT_SYMLINK_NOFOLLOW", path: "./prog", flags: unix.AT_SYMLINK_NOFOLLOW, errno: unix.ELOOP, skipKernel: true},
		{name: "AT_SYMLINK_NOFOLLOW, not last", path: "./rel-link/../prog", flags: unix.AT_SYMLINK_NOFOLLOW, errno: unix.ENOTDIR, skipKernel: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := r.Resolve(task, os.Getpid(), cred, ExecRequest{DirFD: unix.AT_FDCWD, Path: []byte(c.path), Flags: c.flags})
			if res.Errno != c.errno {
				t.Errorf("Errno = %v (%s), want %v", res.Errno, res.Detail, c.errno)
			}
			if c.exe != "" && res.Executable != c.exe {
				t.Errorf("Executable = %q, want %q", res.Executable, c.exe)
			}
			if res.Interpreter != c.interp {
				t.Errorf("Interpreter = %q, want %q", res.Interpreter, c.interp)
			}
			if strings.Join(res.Chain, " ") != strings.Join(c.chain, " ") {
				t.Errorf("Chain = %q, want %q", res.Chain, c.chain)
			}
			if !c.skipKernel {
				if got := kernelErrno(t, c.path); got != c.errno {
					t.Errorf("the kernel says %v, the resolver %v", got, c.errno)
				}
			}
		})
	}

	// The same failure with binfmt_misc handlers registered: ENOEXEC is no
	// longer predicted.
	rm := &Resolver{ProcRoot: "/proc", BinfmtMisc: true}
	if res := rm.Resolve(task, os.Getpid(), cred, ExecRequest{DirFD: unix.AT_FDCWD, Path: []byte("./text")}); res.Errno != 0 {
		t.Errorf("BinfmtMisc: Errno = %v", res.Errno)
	}
}

func TestResolveFDs(t *testing.T) {
	task, cred := selfTask(t)
	r := &Resolver{ProcRoot: "/proc"}
	dir := canon(t, t.TempDir())
	writeFile(t, dir+"/script", "#!/bin/sh\n", 0o755)
	sh := canon(t, "/bin/sh")

	f, err := os.Open(dir + "/script")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// os.Open's descriptors are close-on-exec: through those the kernel
	// refuses a script (ENOENT). Copies without the flag run it.
	cfd, cdfd := int(f.Fd()), int(d.Fd())
	fd, err := unix.Dup(cfd)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	dfd, err := unix.Dup(cdfd)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)

	for _, c := range []struct {
		name   string
		req    ExecRequest
		exe    string
		interp string
		errno  syscall.Errno
	}{
		{"AT_EMPTY_PATH", ExecRequest{DirFD: fd, Flags: unix.AT_EMPTY_PATH}, dir + "/script", sh, 0},
		{"AT_EMPTY_PATH, bad fd", ExecRequest{DirFD: 987, Flags: unix.AT_EMPTY_PATH}, "", "", unix.EBADF},
		{"AT_EMPTY_PATH, AT_FDCWD", ExecRequest{DirFD: unix.AT_FDCWD, Flags: unix.AT_EMPTY_PATH}, "", "", unix.ENOENT},
		{"empty path without AT_EMPTY_PATH", ExecRequest{DirFD: fd}, "", "", unix.ENOENT},
		{"dirfd", ExecRequest{DirFD: dfd, Path: []byte("script")}, dir + "/script", sh, 0},
		{"AT_EMPTY_PATH, close-on-exec", ExecRequest{DirFD: cfd, Flags: unix.AT_EMPTY_PATH}, dir + "/script", sh, unix.ENOENT},
		{"dirfd, close-on-exec", ExecRequest{DirFD: cdfd, Path: []byte("script")}, dir + "/script", sh, unix.ENOENT},
		{"close-on-exec dirfd ignored for an absolute path", ExecRequest{DirFD: cdfd, Path: []byte(dir + "/script")}, dir + "/script", sh, 0},
		{"dirfd, bad fd", ExecRequest{DirFD: 987, Path: []byte("script")}, "", "", unix.EBADF},
		{"dirfd ignored for an absolute path", ExecRequest{DirFD: 987, Path: []byte(dir + "/script")}, dir + "/script", sh, 0},
		{"/proc/self/fd/N", ExecRequest{DirFD: unix.AT_FDCWD, Path: []byte("/proc/self/fd/" + strconv.Itoa(fd))}, dir + "/script", sh, 0},
		{"/proc/thread-self/fd/N", ExecRequest{DirFD: unix.AT_FDCWD, Path: []byte("/proc/thread-self/fd/" + strconv.Itoa(fd))}, dir + "/script", sh, 0},
		{"/dev/fd/N", ExecRequest{DirFD: unix.AT_FDCWD, Path: []byte("/dev/fd/" + strconv.Itoa(fd))}, dir + "/script", sh, 0},
		{"/proc/self/fd/N of a directory", ExecRequest{DirFD: unix.AT_FDCWD, Path: []byte("/proc/self/fd/" + strconv.Itoa(dfd))}, dir, "", unix.EACCES},
		{"/proc/self/fd/N, closed", ExecRequest{DirFD: unix.AT_FDCWD, Path: []byte("/proc/self/fd/987")}, "", "", unix.ENOENT},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := r.Resolve(task, os.Getpid(), cred, c.req)
			if res.Errno != c.errno {
				t.Errorf("Errno = %v (%s), want %v", res.Errno, res.Detail, c.errno)
			}
			if res.Executable != c.exe {
				t.Errorf("Executable = %q, want %q", res.Executable, c.exe)
			}
			if res.Interpreter != c.interp {
				t.Errorf("Interpreter = %q, want %q", res.Interpreter, c.interp)
			}
		})
	}
}

// TestTaskFixtureTree points a Task at a fake proc root, as the handler's
// status and cgroup reads would see it.
func TestTaskFixtureTree(t *testing.T) {
	root := t.TempDir()
	const pid = 4242
	pdir := filepath.Join(root, strconv.Itoa(pid))
	must0(os.Mkdir(pdir, 0o755))
	writeFile(t, pdir+"/status", statusWithName("fixture (1)"), 0o444)
	writeFile(t, pdir+"/cgroup", "1:name=systemd:/x\n0::/system.slice/docker-"+hex64+".scope\n", 0o444)
	must0(os.Symlink("/some/dir (deleted)", pdir+"/cwd"))
	// ReadFile's bound is approximate (the buffer grows past it before
	// the check), so the file is well over it.
	big := strings.Repeat("x", 2*maxProcFile+10)
	writeFile(t, pdir+"/big", big, 0o444)

	task := openTask(t, root, pid)
	st, err := task.Status()
	if err != nil {
		t.Fatal(err)
	}
	if string(st.Name) != "fixture (1)" || st.Tgid != 24467 || st.PPid != 23990 || st.Uid[1] != 1001 {
		t.Errorf("Status = %+v", st)
	}
	b, err := task.ReadFile("cgroup")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ParseCgroup(b)
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := UnifiedPath(lines); !ok || u != "/system.slice/docker-"+hex64+".scope" {
		t.Errorf("UnifiedPath = %q, %v", u, ok)
	}
	if l, err := task.Readlink("cwd"); err != nil || l != "/some/dir (deleted)" {
		t.Errorf("Readlink(cwd) = %q, %v", l, err)
	}
	if _, err := task.ReadFile("missing"); !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), pdir+"/missing") {
		t.Errorf("ReadFile(missing): %v", err)
	}
	if b, err := task.ReadFile("big"); err == nil {
		t.Errorf("ReadFile(big) read %d bytes without error", len(b))
	}
	if err := task.Close(); err != nil {
		t.Error(err)
	}
	if err := task.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	if _, err := OpenTask(root, 4243); !errors.Is(err, unix.ENOENT) {
		t.Errorf("OpenTask of a missing pid: %v", err)
	}
	// A status file missing a field fails to parse, through the Task too.
	writeFile(t, pdir+"/status", "Name:\tx\nTgid:\t1\n", 0o444)
	task2 := openTask(t, root, pid)
	if _, err := task2.Status(); !errors.Is(err, errNoField) {
		t.Errorf("Status of a truncated file: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A file on a noexec mount is predicted EACCES, whether the fast path
// (absolute path, its statfs reused) or the walk (relative path) opened it.
func TestResolveNoexecMount(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root")
		}
		t.Skip("needs root to mount")
	}
	task, cred := selfTask(t)
	r := &Resolver{ProcRoot: "/proc"}
	dir := canon(t, t.TempDir())
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOEXEC, "size=1m"); err != nil {
		t.Fatalf("mount noexec tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	writeFile(t, dir+"/prog", "#!/bin/sh\nexit 0\n", 0o755)
	t.Chdir(dir)
	for _, p := range []string{dir + "/prog", "./prog"} {
		if got, want := kernelErrno(t, p), unix.EACCES; got != want {
			t.Fatalf("the kernel says %v for %s, want %v", got, p, want)
		}
		res := r.Resolve(task, os.Getpid(), cred, ExecRequest{DirFD: unix.AT_FDCWD, Path: []byte(p)})
		if res.Errno != unix.EACCES || !strings.Contains(res.Detail, "noexec") || res.Executable != dir+"/prog" {
			t.Errorf("%s: %+v, want EACCES on a noexec mount for %s", p, res, dir+"/prog")
		}
	}
}
