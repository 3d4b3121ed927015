package procfs

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Cred is what the kernel checks execute permission against.
type Cred struct {
	EUID, EGID int
	Groups     []int
}

// CredFromStatus takes the effective ids and groups from a status.
func CredFromStatus(st Status) Cred {
	return Cred{EUID: st.Uid[1], EGID: st.Gid[1], Groups: st.Groups}
}

// ExecRequest is an exec as the tracee asked for it.
type ExecRequest struct {
	// DirFD is execveat's dirfd, or unix.AT_FDCWD for execve.
	DirFD int
	// Path is the pathname argument, exactly as passed.
	Path []byte
	// Flags are execveat's flags (AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW).
	Flags int
}

// Resolution is what an exec will run, as far as can be known before it
// runs.
type Resolution struct {
	// Executable is the absolute, canonical path of the file that runs, as
	// /proc/PID/exe would show it; for a file without a name (memfd,
	// deleted file) the kernel's "/memfd:x (deleted)" form. Empty when the
	// path does not lead to a file.
	Executable string
	// Interpreter is the canonical path of a #! script's interpreter.
	Interpreter string
	// Errno is the error the exec will fail with, when that is known
	// (ENOENT, ENOTDIR, EACCES, ENOEXEC, ELOOP, ENAMETOOLONG, EBADF); 0
	// when the exec is expected to succeed.
	Errno unix.Errno
	// Detail says, for people, why Errno was predicted.
	Detail string
}

// Resolver resolves exec paths for tasks. Its zero value is not usable:
// ProcRoot must be set.
type Resolver struct {
	// ProcRoot is where procfs is mounted, normally "/proc".
	ProcRoot string
	// BinfmtMisc is true when binfmt_misc handlers are registered: a file
	// that is neither ELF nor #! may still run, so ENOEXEC is not
	// predicted.
	BinfmtMisc bool
}

// maxInterpDepth is BINPRM_MAX_RECURSION: how deeply interpreters may
// themselves be scripts.
const maxInterpDepth = 4

// Resolve works out what req will execute in task t, whose thread group is
// tgid and whose effective credentials are cred. It never fails: what
// cannot be known is left empty, and a certain failure sets Errno.
func (r *Resolver) Resolve(t *Task, tgid int, cred Cred, req ExecRequest) Resolution {
	fd, errno, detail := r.open(t, tgid, req.DirFD, req.Path, req.Flags)
	if errno != 0 {
		return Resolution{Errno: errno, Detail: detail}
	}
	defer unix.Close(fd)
	return r.examine(t, tgid, cred, fd, 0)
}

func (r *Resolver) examine(t *Task, tgid int, cred Cred, fd int, depth int) Resolution {
	var res Resolution
	exe, err := readlinkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd))
	if err == nil {
		res.Executable = exe
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		res.Errno, res.Detail = errnoOf(err), "stat: "+err.Error()
		return res
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		res.Errno, res.Detail = unix.ELOOP, "final component is a symlink and AT_SYMLINK_NOFOLLOW was given"
		return res
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		res.Errno, res.Detail = unix.EACCES, "not a regular file"
		return res
	case !mayExec(&st, cred):
		res.Errno, res.Detail = unix.EACCES, "no execute permission"
		return res
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err == nil && sfs.Flags&unix.ST_NOEXEC != 0 {
		res.Errno, res.Detail = unix.EACCES, "on a noexec mount"
		return res
	}
	head, ok := readHead(fd)
	if !ok {
		// Execute-only file we cannot read: the format stays unknown.
		return res
	}
	if IsELF(head) {
		return res
	}
	interp, _, err := ParseShebang(head)
	switch {
	case errors.Is(err, ErrNoShebang):
		if !r.BinfmtMisc {
			res.Errno, res.Detail = unix.ENOEXEC, "neither ELF nor a #! script"
		}
		return res
	case err != nil:
		res.Errno, res.Detail = unix.ENOEXEC, err.Error()
		return res
	}
	if depth >= maxInterpDepth {
		res.Errno, res.Detail = unix.ELOOP, "interpreters nested too deeply"
		return res
	}
	ifd, errno, detail := r.open(t, tgid, unix.AT_FDCWD, interp, 0)
	if errno != 0 {
		res.Errno, res.Detail = errno, "interpreter "+string(interp)+": "+detail
		return res
	}
	defer unix.Close(ifd)
	sub := r.examine(t, tgid, cred, ifd, depth+1)
	res.Interpreter = sub.Executable
	if sub.Errno != 0 {
		res.Errno, res.Detail = sub.Errno, "interpreter "+string(interp)+": "+sub.Detail
	}
	return res
}

func readHead(fd int) ([]byte, bool) {
	rfd, err := openat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK)
	if err != nil {
		return nil, false
	}
	defer unix.Close(rfd)
	buf := make([]byte, BinprmBufSize)
	n := 0
	for n < len(buf) {
		m, err := unix.Pread(rfd, buf[n:], int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], true
}

func mayExec(st *unix.Stat_t, c Cred) bool {
	mode := st.Mode
	if c.EUID == 0 {
		return mode&0o111 != 0
	}
	if int(st.Uid) == c.EUID {
		return mode&0o100 != 0
	}
	if int(st.Gid) == c.EGID {
		return mode&0o010 != 0
	}
	for _, g := range c.Groups {
		if int(st.Gid) == g {
			return mode&0o010 != 0
		}
	}
	return mode&0o001 != 0
}

// open opens, O_PATH, the file an exec of path relative to dirfd in task t
// would open, seen from t's root directory and working directory.
func (r *Resolver) open(t *Task, tgid int, dirfd int, path []byte, flags int) (fd int, errno unix.Errno, detail string) {
	oflags := unix.O_PATH | unix.O_CLOEXEC
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		oflags |= unix.O_NOFOLLOW
	}
	if len(path) == 0 {
		if flags&unix.AT_EMPTY_PATH == 0 || dirfd == unix.AT_FDCWD {
			return -1, unix.ENOENT, "empty path"
		}
		fd, err := openat(t.dir, "fd/"+strconv.Itoa(dirfd), unix.O_PATH|unix.O_CLOEXEC)
		if err != nil {
			return -1, unix.EBADF, "dirfd " + strconv.Itoa(dirfd) + " is not open"
		}
		return fd, 0, ""
	}
	if len(path) >= PathMax {
		return -1, unix.ENAMETOOLONG, "path longer than PATH_MAX"
	}
	p := string(path)
	if p[0] == '/' {
		if hp, ok := r.selfPath(t, tgid, p); ok {
			fd, err := openat(unix.AT_FDCWD, hp, oflags)
			if err != nil {
				return -1, errnoOf(err), "open " + hp + ": " + err.Error()
			}
			return fd, 0, ""
		}
	}
	rootfd, err := openat(t.dir, "root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return -1, errnoOf(err), "open root: " + err.Error()
	}
	defer unix.Close(rootfd)
	if p[0] == '/' {
		return openInRoot(rootfd, p, oflags)
	}
	baseLink := "cwd"
	if dirfd != unix.AT_FDCWD {
		baseLink = "fd/" + strconv.Itoa(dirfd)
	}
	base, err := readlinkat(t.dir, baseLink)
	if err != nil {
		if dirfd != unix.AT_FDCWD {
			return -1, unix.EBADF, "dirfd " + strconv.Itoa(dirfd) + " is not open"
		}
		return -1, errnoOf(err), "readlink cwd: " + err.Error()
	}
	root, err := readlinkat(t.dir, "root")
	if err == nil {
		if rel, ok := under(base, root); ok {
			return openInRoot(rootfd, rel+"/"+p, oflags)
		}
	}
	// The base directory is not reachable by name from the tracee's root
	// (deleted, outside a chroot, an fd that is not a directory): resolve
	// from the directory itself.
	bfd, err := openat(t.dir, baseLink, unix.O_PATH|unix.O_CLOEXEC)
	if err != nil {
		return -1, errnoOf(err), "open " + baseLink + ": " + err.Error()
	}
	defer unix.Close(bfd)
	fd, err = openat2(bfd, p, oflags, 0)
	if err != nil {
		return -1, errnoOf(err), "open " + p + ": " + err.Error()
	}
	return fd, 0, ""
}

func openInRoot(rootfd int, p string, oflags int) (int, unix.Errno, string) {
	fd, err := openat2(rootfd, p, oflags, unix.RESOLVE_IN_ROOT)
	if err != nil {
		return -1, errnoOf(err), "open " + p + ": " + err.Error()
	}
	return fd, 0, ""
}

// under returns path relative to root ("" for root itself) when path is
// root or below it and names a live directory.
func under(path, root string) (string, bool) {
	if !strings.HasPrefix(path, "/") || strings.HasSuffix(path, " (deleted)") {
		return "", false
	}
	if root == "/" {
		return path, true
	}
	if path == root {
		return "", true
	}
	if strings.HasPrefix(path, root+"/") {
		return path[len(root):], true
	}
	return "", false
}

// selfPath maps /proc/self/... and /proc/thread-self/... in a tracee's path
// to the tracee's own /proc directory: the supervisor's /proc/self is not
// the tracee's (KERNEL-FACTS 20).
func (r *Resolver) selfPath(t *Task, tgid int, p string) (string, bool) {
	clean := p
	for strings.Contains(clean, "//") {
		clean = strings.ReplaceAll(clean, "//", "/")
	}
	for _, pre := range []struct {
		prefix, repl string
	}{
		{"/proc/self", r.ProcRoot + "/" + strconv.Itoa(tgid)},
		{"/proc/thread-self", r.ProcRoot + "/" + strconv.Itoa(tgid) + "/task/" + strconv.Itoa(t.TID)},
	} {
		if clean == pre.prefix || strings.HasPrefix(clean, pre.prefix+"/") {
			return pre.repl + clean[len(pre.prefix):], true
		}
	}
	return "", false
}

func openat2(dir int, path string, flags int, resolve uint64) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags), Resolve: resolve}
	for i := 0; ; i++ {
		fd, err := unix.Openat2(dir, path, &how)
		if err == unix.EINTR || (err == unix.EAGAIN && i < 16) {
			continue
		}
		return fd, err
	}
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return errnoOf(pe.Err)
	}
	return unix.EIO
}
