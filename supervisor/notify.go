package supervisor

import (
	"errors"
	"fmt"
	"os"

	"github.com/exectrail/exectrail/filter"
	"github.com/exectrail/exectrail/procfs"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// NotifyLoop serves a seccomp user-notification listener: for every held
// exec or fork it writes the record and then lets the call continue.
type NotifyLoop struct {
	fd      int
	w       *Writer
	h       *Handler
	log     zerolog.Logger
	stopR   int
	stopW   int
	pending seccompNotif
}

// NewNotifyLoop takes ownership of the listener fd.
func NewNotifyLoop(listener int, w *Writer, h *Handler, log zerolog.Logger) (*NotifyLoop, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	return &NotifyLoop{fd: listener, w: w, h: h, log: log, stopR: p[0], stopW: p[1]}, nil
}

// Stop makes Run return after the notification it is handling, if any.
// Pending notifications are then left unanswered; closing the listener
// (which Run does on return) fails them with ENOSYS.
func (l *NotifyLoop) Stop() {
	_, _ = unix.Write(l.stopW, []byte{0})
}

// Run serves notifications until every task under the filter has exited
// (POLLHUP), Stop is called, or the output fails. It closes the listener
// when it returns.
func (l *NotifyLoop) Run() error {
	LockWriterThread()
	defer unix.Close(l.fd)
	defer unix.Close(l.stopR)
	pfd := []unix.PollFd{
		{Fd: int32(l.fd), Events: unix.POLLIN},
		{Fd: int32(l.stopR), Events: unix.POLLIN},
	}
	for {
		pfd[0].Revents, pfd[1].Revents = 0, 0
		if _, err := unix.Poll(pfd, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return os.NewSyscallError("poll", err)
		}
		if pfd[1].Revents != 0 {
			return nil
		}
		re := pfd[0].Revents
		if re&unix.POLLIN == 0 {
			if re&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				return nil
			}
			continue
		}
		n := &l.pending
		switch e := notifRecv(l.fd, n); e {
		case 0:
			l.w.calls.received.Add(1)
		case unix.EINTR, unix.ENOENT:
			// Interrupted, or the task went away before we got it.
			continue
		default:
			return fmt.Errorf("receiving seccomp notification: %w", os.NewSyscallError("ioctl", e))
		}
		if err := l.handle(n); err != nil {
			return err
		}
	}
}

func (l *NotifyLoop) respond(id uint64, errno unix.Errno) {
	l.w.calls.answered.Add(1)
	if errno != 0 {
		l.w.calls.refused.Add(1)
	}
	r := seccompNotifResp{ID: id}
	if errno == 0 {
		r.Flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
	} else {
		r.Error = -int32(errno)
	}
	for {
		switch e := notifSend(l.fd, &r); e {
		case unix.EINTR:
			continue
		case 0, unix.ENOENT:
			// ENOENT: the task died or was interrupted meanwhile.
			return
		default:
			l.log.Warn().Err(e).Uint64("id", id).Msg("answering seccomp notification")
			return
		}
	}
}

func (l *NotifyLoop) handle(n *seccompNotif) error {
	c := Call{TID: int(n.PID), Sys: filter.Decode(n.Data.Arch, n.Data.Nr), Args: n.Data.Args}
	if c.Sys.Kind == filter.KindUnknown {
		// The filter traps nothing else; refuse what cannot be decoded
		// rather than let it through blind.
		l.log.Warn().Uint32("arch", n.Data.Arch).Int32("nr", n.Data.Nr).Msg("refusing an unexpected trapped syscall")
		l.w.calls.unrecorded.Add(1)
		l.respond(n.ID, unix.ENOSYS)
		return nil
	}
	if c.TID == 0 {
		// The task is in a pid namespace we cannot see into. It cannot be
		// resolved; record what we know and let it go.
		r := &Record{Event: EventExec, Error: "ESRCH", ErrorDetail: "task not visible in the supervisor's pid namespace"}
		if !c.Sys.Kind.IsExec() {
			r = &Record{Event: EventFork, Kind: c.Sys.Kind.String()}
		}
		return l.emit(n.ID, r)
	}
	var r *Record
	var err error
	if c.Sys.Kind.IsExec() {
		var t *procfs.Task
		if t, err = procfs.OpenTask(l.h.Resolver.ProcRoot, c.TID); err == nil {
			r, err = l.h.ExecRecord(t, &c)
			t.Close()
		}
	} else {
		r, err = l.h.ForkRecord(&c)
	}
	if errors.Is(err, ErrNotExec) {
		l.w.calls.unrecorded.Add(1)
		l.respond(n.ID, 0)
		return nil
	}
	// Everything read above is only trusted if the task is still the one
	// that made the call (ids are reused; KERNEL-FACTS 17): alive and held
	// all along, so its id, its /proc directory and its pidfd were its own.
	if !notifIDValid(l.fd, n.ID) {
		l.w.calls.gone.Add(1)
		return nil // gone: nothing ran
	}
	if err != nil {
		// Alive but not inspectable (exectrail out of fds or memory —
		// which a job can provoke with prlimit): refuse the call rather
		// than let it run unrecorded.
		l.log.Debug().Err(err).Int("tid", c.TID).Msg("reading task")
		return l.refuse(n.ID, unreadableRecord(&c, err), unix.EAGAIN)
	}
	if c.Sys.Kind.IsExec() && l.h.Refuse(r) {
		return l.refuse(n.ID, r, unix.EPERM)
	}
	return l.emit(n.ID, r)
}

// unreadableRecord is the record of a call whose task could not be
// inspected: the thread id stands in for the unknown process id.
func unreadableRecord(c *Call, err error) *Record {
	r := &Record{Event: EventExec, PID: c.TID, TID: c.TID, Syscall: c.Sys.Kind.String(),
		PathUnknown: true, PPIDUnknown: true,
		ReadError: "cannot inspect the task: " + err.Error() + "; call refused with EAGAIN", Error: "EAGAIN"}
	if !c.Sys.Kind.IsExec() {
		r = &Record{Event: EventFork, PID: c.TID, TID: c.TID, Kind: c.Sys.Kind.String(), ReadError: r.ReadError, Error: "EAGAIN"}
	}
	return r
}

// refuse writes r and fails the call with errno.
func (l *NotifyLoop) refuse(id uint64, r *Record, errno unix.Errno) error {
	if err := l.w.Write(r); err != nil {
		l.respond(id, unix.EIO)
		return err
	}
	l.w.calls.recorded.Add(1)
	l.respond(id, errno)
	return nil
}

// emit writes r and only then lets the call continue. When the output
// fails the call is refused (fail closed) and the error ends the loop.
func (l *NotifyLoop) emit(id uint64, r *Record) error {
	if err := l.w.Write(r); err != nil {
		l.respond(id, unix.EIO)
		return err
	}
	l.w.calls.recorded.Add(1)
	l.respond(id, 0)
	return nil
}
