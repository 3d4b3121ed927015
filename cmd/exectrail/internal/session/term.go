package session

// The real terminal in pty mode: raw while the session runs and restored
// on every way out, its size passed on to the pty, exectrail's own job
// control (SIGTSTP, SIGCONT), and records written to it with \r\n.

import (
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/exectrail/exectrail/supervisor"
	"golang.org/x/sys/unix"
)

// Output returns where records written to fd go: on the terminal that is
// raw for the session, lines end in \r\n so that they still start at the
// left margin.
func (s *Session) Output(fd int) io.Writer {
	if s == nil || !s.tty || !sameTerminal(fd, 0) {
		return supervisor.FDWriter(fd)
	}
	return &crlfWriter{fd: fd, raw: &s.rawOn}
}

// enterRaw puts the real terminal in raw mode, unless the session is
// being hung up. From the background this stops exectrail until it is in
// the foreground.
func (s *Session) enterRaw() {
	s.termMu.Lock()
	defer s.termMu.Unlock()
	if s.ending || s.finished {
		return
	}
	if err := setTermios(0, makeRaw(*s.saved), true); err != nil {
		s.warn("--record: " + err.Error())
		return
	}
	s.rawOn.Store(true)
}

// restore gives the real terminal its settings back. It never stops
// exectrail, even from the background. termMu is held.
func (s *Session) restore() {
	if s.saved == nil || !s.rawOn.Load() {
		return
	}
	_ = setTermios(0, s.saved, false)
	s.rawOn.Store(false)
}

// jobControl handles SIGTSTP (terminal back, then stop) and SIGCONT (raw
// again, size again) for exectrail itself.
func (s *Session) jobControl() {
	defer close(s.sigDone)
	for sig := range s.sigs {
		switch sig {
		case unix.SIGTSTP:
			s.termMu.Lock()
			s.restore()
			s.termMu.Unlock()
			_ = unix.Kill(os.Getpid(), unix.SIGSTOP)
		case unix.SIGCONT:
			if inForeground(0) {
				s.enterRaw()
				s.syncSize()
			}
		}
	}
}

// syncSize gives the pty the real terminal's size and records a change.
func (s *Session) syncSize() {
	ws, err := getWinsize(0)
	if err != nil || ws.Col == 0 || ws.Row == 0 {
		return
	}
	s.termMu.Lock()
	changed := ws.Col != s.size.Col || ws.Row != s.size.Row
	s.size = ws
	s.termMu.Unlock()
	if !changed {
		return
	}
	// Recorded first, so that it comes before any output drawn for the
	// new size; the kernel then sends SIGWINCH to the pty's foreground
	// process group.
	s.castWrote(s.cast.Resize(time.Now(), int(ws.Col), int(ws.Row)))
	_ = setWinsize(s.master, ws)
}

// crlfWriter writes to the terminal the session has made raw: with output
// processing off, \n alone would not return the cursor to the left
// margin.
type crlfWriter struct {
	fd  int
	raw *atomic.Bool
	buf []byte
}

func (w *crlfWriter) Write(p []byte) (int, error) {
	if !w.raw.Load() {
		return supervisor.FDWriter(w.fd).Write(p)
	}
	w.buf = w.buf[:0]
	for _, c := range p {
		if c == '\n' {
			w.buf = append(w.buf, '\r')
		}
		w.buf = append(w.buf, c)
	}
	b := w.buf
	for len(b) > 0 {
		n, err := supervisor.FDWriter(w.fd).Write(b)
		if err != nil {
			return 0, err
		}
		b = b[n:]
	}
	return len(p), nil
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
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
		supervisor.BlockSIGTTOU(!stopOnTTOU)
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
