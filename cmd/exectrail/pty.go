package main

// Pseudo-terminals and terminal modes for --record: the raw ioctls, one
// small function each.

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// tiocgptpeer is TIOCGPTPEER (Linux 4.13), _IO('T', 0x41); x/sys/unix
// does not name it.
const tiocgptpeer = 0x5441

// openPTY opens a new pseudo-terminal: the master non-blocking, both ends
// close-on-exec, neither becoming exectrail's controlling terminal.
func openPTY() (master, slave int, err error) {
	master, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("opening a pty: %w", &os.PathError{Op: "open", Path: "/dev/ptmx", Err: err})
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(master)
		return -1, -1, fmt.Errorf("opening a pty: unlockpt: %w", os.NewSyscallError("ioctl", err))
	}
	slave, err = ptyPeer(master)
	if err != nil {
		unix.Close(master)
		return -1, -1, err
	}
	return master, slave, nil
}

// ptyPeer opens the slave of master: through the master itself
// (TIOCGPTPEER, immune to a /dev/pts that is not this pty's), or by name.
func ptyPeer(master int) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), tiocgptpeer, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno == 0 {
		return int(r), nil
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return -1, fmt.Errorf("opening a pty: ptsname: %w", os.NewSyscallError("ioctl", err))
	}
	name := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	fd, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening a pty: %w", &os.PathError{Op: "open", Path: name, Err: err})
	}
	return fd, nil
}

func getTermios(fd int) (*unix.Termios, error) {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, os.NewSyscallError("tcgetattr", err)
	}
	return t, nil
}

// setTermios is tcsetattr(TCSADRAIN). With stopOnTTOU, a call from a
// background process group stops exectrail (SIGTTOU) until it is in the
// foreground, as a well-behaved terminal program does; otherwise SIGTTOU
// is blocked, so that restoring the terminal never stops exectrail. It
// runs on a thread of its own, which is thrown away afterwards, so that
// no other thread's signal mask changes.
func setTermios(fd int, t *unix.Termios, stopOnTTOU bool) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread exits with the goroutine.
		runtime.LockOSThread()
		var set unix.Sigset_t
		sig := uint(unix.SIGTTOU) - 1
		set.Val[sig/64] |= 1 << (sig % 64)
		how := unix.SIG_BLOCK
		if stopOnTTOU {
			how = unix.SIG_UNBLOCK
		}
		_ = unix.PthreadSigmask(how, &set, nil)
		for {
			err := unix.IoctlSetTermios(fd, unix.TCSETSW, t)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				err = os.NewSyscallError("tcsetattr", err)
			}
			errc <- err
			return
		}
	}()
	return <-errc
}

// makeRaw returns t in raw mode, as cfmakeraw(3) does.
func makeRaw(t unix.Termios) *unix.Termios {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return &t
}

func getWinsize(fd int) (unix.Winsize, error) {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return unix.Winsize{}, os.NewSyscallError("ioctl TIOCGWINSZ", err)
	}
	return *ws, nil
}

func setWinsize(fd int, ws unix.Winsize) error {
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &ws); err != nil {
		return os.NewSyscallError("ioctl TIOCSWINSZ", err)
	}
	return nil
}

// inForeground reports whether exectrail's process group owns the
// terminal on fd.
func inForeground(fd int) bool {
	pg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pg == unix.Getpgrp()
}

// sameTerminal reports whether fds a and b are the same terminal device.
func sameTerminal(a, b int) bool {
	var sa, sb unix.Stat_t
	if unix.Fstat(a, &sa) != nil || unix.Fstat(b, &sb) != nil {
		return false
	}
	return sa.Mode&unix.S_IFMT == unix.S_IFCHR && sb.Mode&unix.S_IFMT == unix.S_IFCHR && sa.Rdev == sb.Rdev
}

// sameFile reports whether fds a and b are the same file (as 2>&1 makes
// them).
func sameFile(a, b int) bool {
	var sa, sb unix.Stat_t
	if unix.Fstat(a, &sa) != nil || unix.Fstat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
