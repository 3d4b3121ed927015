package procfs

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxLongPath bounds the paths DirPath builds (a directory tree can be
// made arbitrarily deep; the kernel itself only limits each lookup).
const maxLongPath = 1 << 20

// DirPath returns the absolute path of the directory open at dirfd, as
// seen from exectrail's root, even when it is longer than PATH_MAX — where
// readlink of a /proc magic link fails with ENAMETOOLONG. It climbs with
// ".." and finds each directory's name in its parent by device and inode
// (mount points included: a lookup of the mount point yields the mounted
// root). It needs read permission on every directory above.
func DirPath(dirfd int) (string, error) {
	cur, err := unix.FcntlInt(uintptr(dirfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	var names []string
	total := 0
	for {
		var st unix.Stat_t
		if err := unix.Fstat(cur, &st); err != nil {
			unix.Close(cur)
			return "", err
		}
		parent, err := openat(cur, "..", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
		unix.Close(cur)
		if err != nil {
			return "", err
		}
		var pst unix.Stat_t
		if err := unix.Fstat(parent, &pst); err != nil {
			unix.Close(parent)
			return "", err
		}
		if pst.Dev == st.Dev && pst.Ino == st.Ino {
			unix.Close(parent)
			break // the root
		}
		name, err := nameIn(parent, &st)
		if err != nil {
			unix.Close(parent)
			return "", err
		}
		names = append(names, name)
		if total += len(name) + 1; total > maxLongPath {
			unix.Close(parent)
			return "", unix.ENAMETOOLONG
		}
		cur = parent
	}
	if len(names) == 0 {
		return "/", nil
	}
	var b strings.Builder
	for i := len(names) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(names[i])
	}
	return b.String(), nil
}

// nameIn finds the entry of directory dir (open for reading) that is the
// file st.
func nameIn(dir int, st *unix.Stat_t) (string, error) {
	d, err := unix.FcntlInt(uintptr(dir), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(d), "")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return "", err
	}
	for _, n := range names {
		var s unix.Stat_t
		if unix.Fstatat(dir, n, &s, unix.AT_SYMLINK_NOFOLLOW) == nil && s.Dev == st.Dev && s.Ino == st.Ino {
			return n, nil
		}
	}
	return "", errors.New("directory not found in its parent")
}

// LinkPath reads the magic link name of task t ("cwd", "fd/3") and, when
// the path is longer than the kernel will print (ENAMETOOLONG) and names a
// directory, builds it with DirPath.
func (t *Task) LinkPath(name string) (string, error) {
	s, err := t.Readlink(name)
	if err == nil || !errors.Is(err, unix.ENAMETOOLONG) {
		return s, err
	}
	fd, oerr := openat(t.dir, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if oerr != nil {
		return "", err
	}
	defer unix.Close(fd)
	return DirPath(fd)
}

// IsMapped reports whether addr lies in a mapping of task t
// (/proc/PID/maps): an address the kernel can read although exectrail
// cannot (a memfd_secret page, [vvar]) is mapped; a bad pointer is not.
func (t *Task) IsMapped(addr uint64) bool {
	b, err := t.ReadFile("maps")
	if err != nil {
		return true // unknown: assume the worst
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		dash := bytes.IndexByte(line, '-')
		sp := bytes.IndexByte(line, ' ')
		if dash < 0 || sp < dash {
			continue
		}
		lo, err1 := strconv.ParseUint(string(line[:dash]), 16, 64)
		hi, err2 := strconv.ParseUint(string(line[dash+1:sp]), 16, 64)
		if err1 == nil && err2 == nil && addr >= lo && addr < hi {
			return true
		}
	}
	return false
}

// UnescapeMount undoes the octal escapes (\040 for a space…) of a path in
// a mountinfo line.
func UnescapeMount(s string) string { return unescapeMount(s) }

// Identity returns the identity of the file a link of the task's directory
// leads to ("exe").
func (t *Task) Identity(name string) (FileIdentity, error) {
	id, _, err := IdentityOf(t.dir, name, 0)
	return id, err
}
