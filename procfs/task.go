package procfs

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Task is one thread of a tracee, pinned by an O_PATH handle on its /proc
// directory. Files read through the handle belong to that thread even if
// its id is reused later: a reused id gets a new /proc directory. Callers
// still confirm liveness (SECCOMP_IOCTL_NOTIF_ID_VALID) before trusting
// what they read, because the handle of a dead thread reads as ESRCH/ENOENT.
type Task struct {
	ProcRoot string
	TID      int
	dir      int
}

// OpenTask opens procRoot/tid.
func OpenTask(procRoot string, tid int) (*Task, error) {
	path := procRoot + "/" + strconv.Itoa(tid)
	fd, err := openat(unix.AT_FDCWD, path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &Task{ProcRoot: procRoot, TID: tid, dir: fd}, nil
}

// Close releases the handle.
func (t *Task) Close() error {
	if t.dir < 0 {
		return nil
	}
	err := unix.Close(t.dir)
	t.dir = -1
	return err
}

// maxProcFile bounds reads of small /proc files.
const maxProcFile = 1 << 20

// ReadFile reads a file under the task's directory ("status", "cgroup").
func (t *Task) ReadFile(name string) ([]byte, error) {
	return t.ReadFileMax(name, maxProcFile)
}

// ReadFileMax is ReadFile for files of up to max bytes ("cmdline").
func (t *Task) ReadFileMax(name string, max int) ([]byte, error) {
	fd, err := openat(t.dir, name, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: t.name(name), Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 2048)
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= max {
				return buf, &os.PathError{Op: "read", Path: t.name(name), Err: errors.New("file too large")}
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return buf, &os.PathError{Op: "read", Path: t.name(name), Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// Readlink reads a link under the task's directory ("cwd", "root", "exe",
// "fd/3").
func (t *Task) Readlink(name string) (string, error) {
	s, err := readlinkat(t.dir, name)
	if err != nil {
		return "", &os.PathError{Op: "readlink", Path: t.name(name), Err: err}
	}
	return s, nil
}

// Status reads and parses the task's status file.
func (t *Task) Status() (Status, error) {
	b, err := t.ReadFile("status")
	if err != nil {
		return Status{}, err
	}
	return ParseStatus(b)
}

func (t *Task) name(n string) string {
	return t.ProcRoot + "/" + strconv.Itoa(t.TID) + "/" + n
}

func openat(dir int, path string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dir, path, flags, 0)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

func readlinkat(dir int, path string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dir, path, buf)
		if err == unix.EINTR {
			size /= 2
			continue
		}
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
		if size > 1<<16 {
			return "", unix.ENAMETOOLONG
		}
	}
}
