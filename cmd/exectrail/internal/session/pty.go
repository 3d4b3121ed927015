package session

// Opening a pseudo-terminal: the raw ioctls, one small function each.

import (
	"fmt"
	"os"
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
