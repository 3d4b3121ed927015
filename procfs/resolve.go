package procfs

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Cred is what the kernel checks execute permission against: the
// filesystem uid and gid and the supplementary groups.
type Cred struct {
	UID, GID int
	// Groups are the supplementary groups. When nil and loadGroups is
	// set, they are loaded the first time a check depends on them (most
	// checks are decided by the owner, the group or the mode alone).
	Groups     []int
	loadGroups func() ([]int, error)
}

// groups returns the supplementary groups, loading them if needed; ok is
// false when they are needed and cannot be read.
func (c *Cred) groups() (groups []int, ok bool) {
	if c.Groups == nil && c.loadGroups != nil {
		g, err := c.loadGroups()
		if err != nil {
			return nil, false
		}
		c.Groups = g
		if c.Groups == nil {
			c.Groups = []int{}
		}
	}
	return c.Groups, true
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
	// Interpreter is, for a #! script, the canonical path of the program
	// the kernel finally runs: the end of the chain when the script's
	// interpreter is itself a script (what /proc/PID/exe shows after).
	Interpreter string
	// Chain is the scripts between Executable and Interpreter, in the
	// order the kernel goes through them: empty unless the interpreter
	// of the script is a script too.
	Chain []string
	// Errno is the error the exec will fail with, when that is known
	// (ENOENT, ENOTDIR, EACCES, ENOEXEC, ELOOP, ENAMETOOLONG, EBADF); 0
	// when the exec is expected to succeed.
	Errno unix.Errno
	// Detail says, for people, why Errno was predicted.
	Detail string
	// AfterOpen: Errno comes from loading the opened file (its format,
	// a script's interpreter), which the kernel does after copying the
	// arguments, not from finding and opening it.
	AfterOpen bool
	// script: the file is a #! script with an interpreter named.
	script bool
	// File is the identity of the file Executable names, and Interp that
	// of the interpreter; zero when unknown.
	File, Interp FileIdentity

	longName bool // Executable is longer than readlink can print
}

// FileIdentity is a file as the kernel knows it: device, inode, and the id
// of the mount it was reached through (as in /proc/PID/mountinfo).
type FileIdentity struct {
	Dev, Ino, MntID uint64
}

// Known reports whether the identity was read.
func (f FileIdentity) Known() bool { return f.Dev != 0 || f.Ino != 0 }

// Same reports whether f and g are the same file.
func (f FileIdentity) Same(g FileIdentity) bool { return f.Known() && f.Dev == g.Dev && f.Ino == g.Ino }

// IdentityOf returns the identity of the file open at fd (O_PATH is
// enough), following nothing.
func IdentityOf(dirfd int, name string, flags int) (FileIdentity, uint32, error) {
	var stx unix.Statx_t
	if err := unix.Statx(dirfd, name, flags|unix.AT_STATX_SYNC_AS_STAT, unix.STATX_TYPE|unix.STATX_INO|unix.STATX_MNT_ID, &stx); err != nil {
		return FileIdentity{}, 0, err
	}
	return FileIdentity{Dev: unix.Mkdev(stx.Dev_major, stx.Dev_minor), Ino: stx.Ino, MntID: stx.Mnt_id}, uint32(stx.Mode), nil
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
	// UserNS is the inode of exectrail's user namespace (0: not
	// checked). A task in another one may have binfmt_misc handlers of
	// its own.
	UserNS uint64
}

// foreignUserNS reports whether t may be in another user namespace than
// exectrail (true when that cannot be read).
func (r *Resolver) foreignUserNS(t *Task) bool {
	if r.UserNS == 0 {
		return false
	}
	ino, err := NamespaceInode(t, "user")
	return err != nil || ino != r.UserNS
}

// maxInterpDepth is how many #! scripts may stand in a chain (a script
// whose interpreter is a script…): exec_binprm fails with ELOOP only past
// BINPRM_MAX_RECURSION+1 = 5 levels.
const maxInterpDepth = 5

// Resolve works out what req will execute in task t, whose thread group is
// tgid and whose effective credentials are cred. It never fails: what
// cannot be known is left empty, and a certain failure sets Errno.
func (r *Resolver) Resolve(t *Task, tgid int, cred Cred, req ExecRequest) Resolution {
	fd, fs, errno, detail := r.open(t, tgid, req.DirFD, req.Path, req.Flags)
	if errno != 0 {
		return Resolution{Errno: errno, Detail: detail}
	}
	defer unix.Close(fd)
	res := r.examine(t, tgid, cred, fd, fs, 0)
	if res.longName {
		res.Executable = r.longName(t, tgid, req, res.File)
	}
	if res.script && req.DirFD != unix.AT_FDCWD && (len(req.Path) == 0 || req.Path[0] != '/') {
		// The kernel names the file /dev/fd/N[/PATH]; when N is
		// close-on-exec the interpreter could not open that name, and
		// binfmt_script refuses the script (BINPRM_FLAGS_PATH_INACCESSIBLE).
		if cloexec, ok := fdCloexec(t, req.DirFD); ok && cloexec {
			res.Errno, res.Detail, res.AfterOpen = unix.ENOENT, "a #! script run through a close-on-exec file descriptor (fexecve with O_CLOEXEC): its interpreter could not open /dev/fd/N", true
		}
	}
	return res
}

// longName is the path of the file an exec of req opens, whose identity is
// f, when it is too long for readlink: the directory the path names, built
// with DirPath, and the last component, when that is the file itself (not
// a symlink to it). "" when it cannot be told.
func (r *Resolver) longName(t *Task, tgid int, req ExecRequest, f FileIdentity) string {
	p := string(req.Path)
	i := strings.LastIndexByte(p, '/')
	dir, base := ".", p
	if i >= 0 {
		dir, base = p[:i+1], p[i+1:]
	}
	if base == "" || base == "." || base == ".." {
		return ""
	}
	dfd, _, errno, _ := r.open(t, tgid, req.DirFD, []byte(dir), 0)
	if errno != 0 {
		return ""
	}
	defer unix.Close(dfd)
	if g, _, err := IdentityOf(dfd, base, unix.AT_SYMLINK_NOFOLLOW); err != nil || !g.Same(f) {
		return ""
	}
	d, err := DirPath(dfd)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(d, "/") + "/" + base
}

// fdCloexec reads whether the task's descriptor fd is close-on-exec, from
// the flags line of its fdinfo (octal, O_CLOEXEC included).
func fdCloexec(t *Task, fd int) (cloexec, ok bool) {
	b, err := t.ReadFile("fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return false, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, found := strings.CutPrefix(line, "flags:"); found {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&unix.O_CLOEXEC != 0, err == nil
		}
	}
	return false, false
}

// examine judges the file open at fd. fs is its filesystem's statfs when
// open already read it, else nil.
func (r *Resolver) examine(t *Task, tgid int, cred Cred, fd int, fs *unix.Statfs_t, depth int) (res Resolution) {
	exe, err := readlinkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd))
	if err == nil {
		res.Executable = exe
	} else if err == unix.ENAMETOOLONG {
		res.longName = true
	}
	// One statx: the mode and owner for the checks below, and the file's
	// identity (with its mount) for the record.
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_STATX_SYNC_AS_STAT, unix.STATX_BASIC_STATS|unix.STATX_MNT_ID, &stx); err != nil {
		res.Errno, res.Detail = ErrnoOf(err), "stat: "+err.Error()
		return res
	}
	st := unix.Stat_t{Mode: uint32(stx.Mode), Uid: stx.Uid, Gid: stx.Gid}
	res.File = FileIdentity{Dev: unix.Mkdev(stx.Dev_major, stx.Dev_minor), Ino: stx.Ino, MntID: stx.Mnt_id}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		res.Errno, res.Detail = unix.ELOOP, "final component is a symlink and AT_SYMLINK_NOFOLLOW was given"
		return res
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		res.Errno, res.Detail = unix.EACCES, "not a regular file"
		return res
	case !mayExec(&st, &cred):
		res.Errno, res.Detail = unix.EACCES, "no execute permission"
		return res
	}
	if fs == nil {
		fs = new(unix.Statfs_t)
		if unix.Fstatfs(fd, fs) != nil {
			fs = nil
		}
	}
	if fs != nil && fs.Flags&unix.ST_NOEXEC != 0 {
		res.Errno, res.Detail = unix.EACCES, "on a noexec mount"
		return res
	}
	// Opened: what fails from here on fails in loading it.
	defer func() { res.AfterOpen = res.Errno != 0 }()
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
		// binfmt_misc is per user namespace (Linux 6.7): a job in a user
		// namespace of its own may have handlers exectrail cannot see.
		if !r.BinfmtMisc && !r.foreignUserNS(t) {
			res.Errno, res.Detail = unix.ENOEXEC, "neither ELF nor a #! script"
			return res
		}
		// A handler in the task's view may take it: record its
		// interpreter as a script's. With none found nothing is
		// predicted (one exectrail cannot see may still exist).
		for _, bh := range BinfmtHandlers(t) {
			if !bh.Matches(head, res.Executable) {
				continue
			}
			ifd, ifs, errno, _ := r.open(t, tgid, unix.AT_FDCWD, []byte(bh.Interpreter), 0)
			if errno != 0 {
				// An interpreter opened at registration (flag F) need
				// not be reachable any more.
				return res
			}
			defer unix.Close(ifd)
			sub := r.examine(t, tgid, cred, ifd, ifs, depth+1)
			res.Interpreter, res.Interp = sub.Executable, sub.File
			return res
		}
		return res
	case err != nil:
		res.Errno, res.Detail = unix.ENOEXEC, err.Error()
		return res
	}
	if len(interp) == 0 {
		// The kernel opens "" relative to the cwd, a directory: EACCES.
		res.Errno, res.Detail = unix.EACCES, "#! line names no interpreter"
		return res
	}
	res.script = true
	if depth >= maxInterpDepth {
		res.Errno, res.Detail = unix.ELOOP, "interpreters nested too deeply"
		return res
	}
	ifd, ifs, errno, detail := r.open(t, tgid, unix.AT_FDCWD, interp, 0)
	if errno != 0 {
		res.Errno, res.Detail = errno, "interpreter "+string(interp)+": "+detail
		return res
	}
	defer unix.Close(ifd)
	sub := r.examine(t, tgid, cred, ifd, ifs, depth+1)
	res.Interpreter, res.Interp = sub.Executable, sub.File
	if sub.Interpreter != "" {
		// The interpreter is a script: the kernel goes on to its own.
		res.Interpreter, res.Interp, res.Chain = sub.Interpreter, sub.Interp, append([]string{sub.Executable}, sub.Chain...)
	}
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

// mayExec is the kernel's execute permission check for the file st: true
// when it passes, or when it depends on groups that cannot be read (a
// failure is predicted only when it is certain).
func mayExec(st *unix.Stat_t, c *Cred) bool {
	mode := st.Mode
	if c.UID == 0 {
		return mode&0o111 != 0
	}
	if int(st.Uid) == c.UID {
		return mode&0o100 != 0
	}
	group, other := mode&0o010 != 0, mode&0o001 != 0
	if int(st.Gid) == c.GID {
		return group
	}
	if group == other {
		return other // membership cannot change the answer
	}
	groups, ok := c.groups()
	if !ok {
		return true // unknown: predict nothing
	}
	for _, g := range groups {
		if int(st.Gid) == g {
			return group
		}
	}
	return other
}

// open opens, O_PATH, the file an exec of path relative to dirfd in task t
// would open, seen from t's root directory and working directory.
//
// fs is the file's filesystem statfs when the fast path read it (to rule
// out procfs), else nil.
func (r *Resolver) open(t *Task, tgid int, dirfd int, path []byte, flags int) (fd int, fs *unix.Statfs_t, errno unix.Errno, detail string) {
	if len(path) == 0 {
		if flags&unix.AT_EMPTY_PATH == 0 || dirfd == unix.AT_FDCWD {
			return -1, nil, unix.ENOENT, "empty path"
		}
		fd, err := openat(t.dir, "fd/"+strconv.Itoa(dirfd), unix.O_PATH|unix.O_CLOEXEC)
		if err != nil {
			return -1, nil, unix.EBADF, "dirfd " + strconv.Itoa(dirfd) + " is not open"
		}
		return fd, nil, 0, ""
	}
	if len(path) >= PathMax {
		return -1, nil, unix.ENAMETOOLONG, "path longer than PATH_MAX"
	}
	p := string(path)
	rootfd, err := openat(t.dir, "root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return -1, nil, ErrnoOf(err), "open root: " + err.Error()
	}
	defer unix.Close(rootfd)
	if p[0] == '/' {
		if fd, fs, ok := r.fastOpen(rootfd, p, flags); ok {
			return fd, fs, 0, ""
		}
	}
	w := pathWalk{r: r, t: t, tgid: tgid, root: rootfd}
	if w.rootID, err = mountedID(rootfd); err != nil {
		return -1, nil, ErrnoOf(err), "statx root: " + err.Error()
	}
	var start int
	if p[0] == '/' {
		start, err = unix.FcntlInt(uintptr(rootfd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return -1, nil, ErrnoOf(err), "dup root: " + err.Error()
		}
	} else {
		// The base is the directory itself, not its name: it may be
		// deleted, or outside a chroot.
		baseLink := "cwd"
		if dirfd != unix.AT_FDCWD {
			baseLink = "fd/" + strconv.Itoa(dirfd)
		}
		start, err = openat(t.dir, baseLink, unix.O_PATH|unix.O_CLOEXEC)
		if err != nil {
			if dirfd != unix.AT_FDCWD {
				return -1, nil, unix.EBADF, "dirfd " + strconv.Itoa(dirfd) + " is not open"
			}
			return -1, nil, ErrnoOf(err), "open cwd: " + err.Error()
		}
	}
	fd, err = w.walk(start, p, flags&unix.AT_SYMLINK_NOFOLLOW == 0)
	if err != nil {
		return -1, nil, ErrnoOf(err), "resolve " + p + ": " + err.Error()
	}
	return fd, nil, 0, ""
}

// fastOpen resolves an absolute path with one openat2(RESOLVE_IN_ROOT),
// which scopes ".." and absolute symlinks to the tracee's root exactly as
// the walk does, when nothing on the way needs the walk: it refuses magic
// links (RESOLVE_NO_MAGICLINKS), and a result inside procfs — where
// "self" would have named the supervisor — is discarded. Any failure is
// left to the walk, which also explains it.
func (r *Resolver) fastOpen(rootfd int, p string, flags int) (int, *unix.Statfs_t, bool) {
	oflags := unix.O_PATH | unix.O_CLOEXEC
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		oflags |= unix.O_NOFOLLOW
	}
	how := unix.OpenHow{Flags: uint64(oflags), Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(rootfd, p, &how)
	if err != nil {
		return -1, nil, false
	}
	sfs := new(unix.Statfs_t)
	if err := unix.Fstatfs(fd, sfs); err != nil || sfs.Type == unix.PROC_SUPER_MAGIC {
		unix.Close(fd)
		return -1, nil, false
	}
	return fd, sfs, true
}

// maxSymlinks is the kernel's MAXSYMLINKS: one path walk follows at most
// 40 symlinks.
const maxSymlinks = 40

// procRootIno is the inode number of every procfs root directory.
const procRootIno = 1

// pathWalk resolves a path one component at a time, as the kernel's path
// walk does for the tracee, rather than with one openat2(RESOLVE_IN_ROOT)
// in the supervisor. Two things cannot be delegated to the kernel:
//
//   - procfs's "self" and "thread-self" symlinks would name the
//     supervisor (KERNEL-FACTS 20). They are reached directly
//     (/proc/self/fd/N) or through other symlinks (/dev/fd -> /proc/self/fd),
//     so they are recognised during the walk and replaced by the tracee's
//     /proc directory.
//   - magic links (/proc/PID/fd/N, cwd, root, exe) make a scoped lookup
//     (RESOLVE_IN_ROOT) fail with EXDEV; the kernel follows them here
//     without scoping, which is what the tracee's own walk does.
//
// Ordinary symlinks are read and spliced into the remaining path, an
// absolute target restarting at the tracee's root, and ".." stops at that
// root: this is how a chroot stays a chroot (KERNEL-FACTS 21).
type pathWalk struct {
	r      *Resolver
	t      *Task
	tgid   int
	root   int
	rootID fileID
	links  int
}

// fileID identifies a directory as the kernel compares roots: the mount and
// the inode.
type fileID struct {
	mnt uint64
	dev uint64
	ino uint64
}

func mountedID(fd int) (fileID, error) {
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_INO|unix.STATX_MNT_ID, &stx); err != nil {
		return fileID{}, err
	}
	return fileID{mnt: stx.Mnt_id, dev: unix.Mkdev(stx.Dev_major, stx.Dev_minor), ino: stx.Ino}, nil
}

// splitPath splits a path into components, dropping empty ones; a
// trailing slash becomes a final "." so that a non-directory fails with
// ENOTDIR, as in the kernel.
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	if strings.HasSuffix(p, "/") {
		out = append(out, ".")
	}
	return out
}

// walk resolves p from the directory cur (which it takes over) and returns
// an O_PATH fd of the result. With followLast false a final symlink is
// returned itself.
func (w *pathWalk) walk(cur int, p string, followLast bool) (int, error) {
	comps := splitPath(p)
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		last := len(comps) == 0
		if c == ".." {
			id, err := mountedID(cur)
			if err != nil {
				unix.Close(cur)
				return -1, err
			}
			if id == w.rootID {
				continue
			}
		}
		next, err := openat(cur, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC)
		if err != nil {
			unix.Close(cur)
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(next, &st); err != nil {
			unix.Close(next)
			unix.Close(cur)
			return -1, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK || (last && !followLast) {
			unix.Close(cur)
			cur = next
			continue
		}
		w.links++
		if w.links > maxSymlinks {
			unix.Close(next)
			unix.Close(cur)
			return -1, unix.ELOOP
		}
		var sfs unix.Statfs_t
		if unix.Fstatfs(cur, &sfs) == nil && sfs.Type == unix.PROC_SUPER_MAGIC {
			unix.Close(next)
			var dir unix.Stat_t
			// err is the walk's: a failed open below must end it
			// (a shadowed err here once let it go on with fd -1).
			if unix.Fstat(cur, &dir) == nil && dir.Ino == procRootIno && (c == "self" || c == "thread-self") {
				self := w.r.ProcRoot + "/" + strconv.Itoa(w.tgid)
				if c == "thread-self" {
					self += "/task/" + strconv.Itoa(w.t.TID)
				}
				next, err = openat(unix.AT_FDCWD, self, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
			} else {
				// A magic link: the kernel jumps to the object it
				// stands for, whoever follows it.
				next, err = openat(cur, c, unix.O_PATH|unix.O_CLOEXEC)
			}
			unix.Close(cur)
			if err != nil {
				return -1, err
			}
			cur = next
			continue
		}
		target, err := readlinkat(next, "")
		unix.Close(next)
		if err != nil {
			unix.Close(cur)
			return -1, err
		}
		if target == "" {
			unix.Close(cur)
			return -1, unix.ENOENT
		}
		comps = append(splitPath(target), comps...)
		if target[0] == '/' {
			unix.Close(cur)
			if cur, err = unix.FcntlInt(uintptr(w.root), unix.F_DUPFD_CLOEXEC, 0); err != nil {
				return -1, err
			}
		}
	}
	return cur, nil
}

// ErrnoOf is the errno in err (wrapped, or in an *os.PathError), EIO
// when it holds none: the errno a record names for a failed read.
func ErrnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}
