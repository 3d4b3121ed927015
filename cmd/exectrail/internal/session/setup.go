package session

// Setting up the job's 0, 1, 2: a new pty (stdin is a terminal) or pipes
// (it is not).

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// relaySource is one stream of the job's output.
type relaySource struct {
	fd     int // read end, non-blocking
	dst    int // exectrail's fd it is relayed to
	pipe   bool
	eof    bool
	dstBad bool // writing dst failed: the rest is only recorded
}

// preparePTY opens the session's pty with the real terminal's settings
// and size, and makes COMMAND the leader of a session of its own with
// the pty as its controlling terminal.
func (s *Session) preparePTY(attr *syscall.ProcAttr) error {
	s.tty = true
	saved, err := getTermios(0)
	if err != nil {
		return err
	}
	s.saved = saved
	ws, _ := getWinsize(0)
	if ws.Col == 0 || ws.Row == 0 {
		ws.Col, ws.Row = 80, 24
	}
	s.size = ws
	master, slave, err := openPTY()
	if err != nil {
		return err
	}
	s.master = master
	s.childEnds = append(s.childEnds, slave)
	// The session starts with the settings of the real terminal, as
	// script(1) does: erase character, UTF-8 input, and so on.
	if err := unix.IoctlSetTermios(slave, unix.TCSETS, saved); err != nil {
		return os.NewSyscallError("tcsetattr", err)
	}
	if err := setWinsize(master, ws); err != nil {
		return err
	}
	s.files = []uintptr{uintptr(slave), uintptr(slave), uintptr(slave)}
	if attr.Sys == nil {
		attr.Sys = &syscall.SysProcAttr{}
	}
	// COMMAND leads a session of its own whose controlling terminal is
	// the pty: job control, Ctrl-C and window sizes all happen there.
	attr.Sys.Setsid = true
	attr.Sys.Setctty = true
	attr.Sys.Ctty = 0
	s.srcs = []*relaySource{{fd: master, dst: 1}}
	if err := unix.Pipe2(s.inWake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return os.NewSyscallError("pipe2", err)
	}
	return nil
}

// preparePipes makes the job's stdout and stderr pipes to exectrail (one
// pipe when they are the same file); stdin goes to the job untouched, so
// --record-input has nothing to record.
func (s *Session) preparePipes() error {
	ws := unix.Winsize{Col: 80, Row: 24}
	for _, fd := range []int{1, 2} {
		if w, err := getWinsize(fd); err == nil && w.Col > 0 && w.Row > 0 {
			ws = w
			break
		}
	}
	s.size = ws
	s.files = []uintptr{0, 1, 2}
	dsts := []int{1, 2}
	if sameFile(1, 2) {
		// One pipe keeps the order of what the job writes to both.
		dsts = []int{1}
	}
	for _, dst := range dsts {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			return os.NewSyscallError("pipe2", err)
		}
		s.childEnds = append(s.childEnds, p[1])
		s.srcs = append(s.srcs, &relaySource{fd: p[0], dst: dst, pipe: true})
		if err := unix.SetNonblock(p[0], true); err != nil {
			return os.NewSyscallError("fcntl", err)
		}
		if len(dsts) == 1 {
			s.files[1], s.files[2] = uintptr(p[1]), uintptr(p[1])
		} else {
			s.files[dst] = uintptr(p[1])
		}
	}
	return nil
}
