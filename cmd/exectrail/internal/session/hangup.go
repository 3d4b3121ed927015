package session

// Signals to exectrail in pty mode, and the hang-up of the session.

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Signal is called for every signal exectrail catches, before it is
// forwarded, with its si_code. It returns the code the signal is to be
// forwarded with, and whether it was dealt with here (then it is not
// forwarded). In pty mode the job shares no process group with
// exectrail, so nothing the terminal sent exectrail has reached it: the
// code becomes 0, as for a signal sent to exectrail alone.
func (s *Session) Signal(sig syscall.Signal, code int32) (int32, bool) {
	if s == nil || !s.tty {
		return code, false
	}
	switch sig {
	case unix.SIGWINCH:
		s.syncSize()
		return code, true
	case unix.SIGTERM, unix.SIGHUP:
		s.hangUp()
	}
	return 0, false
}

// hangUp answers SIGTERM or SIGHUP in pty mode: the terminal gets its
// settings back at once and input stops; the session is hung up as a
// terminal would be (SIGHUP and SIGCONT to COMMAND, the session leader;
// when it exits the kernel hangs up the pty's foreground job), so an
// interactive shell that ignores SIGTERM ends too. The signal itself is
// still forwarded. Output goes on being relayed and recorded until the
// job is gone; COMMAND is killed if it outlives the kill grace.
func (s *Session) hangUp() {
	s.termMu.Lock()
	defer s.termMu.Unlock()
	if s.ending {
		return
	}
	s.ending = true
	s.restore()
	_, _ = unix.Write(s.inWake[1], []byte{0})
	if s.rootFD >= 0 {
		_ = unix.PidfdSendSignal(s.rootFD, unix.SIGHUP, nil, 0)
		_ = unix.PidfdSendSignal(s.rootFD, unix.SIGCONT, nil, 0)
		s.killer = time.AfterFunc(s.cfg.KillGrace, func() {
			s.termMu.Lock()
			defer s.termMu.Unlock()
			if s.rootFD >= 0 {
				_ = unix.PidfdSendSignal(s.rootFD, unix.SIGKILL, nil, 0)
			}
		})
	}
}
