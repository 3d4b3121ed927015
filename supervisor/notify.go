package supervisor

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exectrail/exectrail/filter"
	"github.com/exectrail/exectrail/supervisor/record"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// NotifyLoop is the seccomp user-notification Backend: for every held
// exec or fork it writes the record and then lets the call continue. It
// writes exit records only for the processes exectrail reaps itself
// (COMMAND, with its duration, and orphans): the others are not its
// children, and their ends are not seen.
//
// One server goroutine, on a thread of its own, receives and answers the
// notifications one at a time. Building a record reads the job's memory
// and files, which a hostile job can make block for ever (bounded.go), so
// a call is watched by a timer armed while it is read: when the read
// takes longer than slowCall the server is detached — it finishes that
// call and ends — and a new one serves the rest of the job; when it takes
// longer than the handler's ReadTimeout the call is given up — a record
// says why and the call is refused with EAGAIN — and the stuck server,
// should its read ever return, finds its call taken and ends without
// touching anything. A reaper goroutine reaps and writes exit records.
type NotifyLoop struct {
	fd    int
	w     *Writer
	h     *Handler
	log   zerolog.Logger
	job   Job
	stopR int
	stopW int

	// fdMu is held (read) by whoever answers a call, and (write) by Serve
	// before it closes the listener.
	fdMu   sync.RWMutex
	closed bool // guarded by fdMu
	// done receives one value when the server that is not detached
	// ends: the listener hung up, or stop was called.
	done     chan struct{}
	detached atomic.Int32 // detached servers still reading
	failOnce sync.Once
	failed   atomic.Bool // a record could not be written
}

// slowCall is how long one call may be read before the server serving it
// is replaced (and the rest of the job served by another).
const slowCall = 50 * time.Millisecond

// notifyServer is one server goroutine and the call it is handling.
type notifyServer struct {
	pending seccompNotif
	timer   *time.Timer // fires slowCall after begin, unless stopped

	// Guarded by mu.
	mu        sync.Mutex
	busy      bool   // reading a call
	seq       uint64 // of that call, counting from 1
	detached  bool   // another server has taken over; end after this call
	abandoned bool   // the call was given up: do not touch it
	id        uint64
	call      Call
}

// errAbandoned ends a server whose call was given up.
var errAbandoned = errors.New("call given up")

// errDetached ends a server that another one has replaced.
var errDetached = errors.New("server replaced")

func (s *notifyServer) begin(id uint64, c Call) {
	s.mu.Lock()
	s.busy, s.id, s.call = true, id, c
	s.seq++
	s.mu.Unlock()
	s.timer.Reset(slowCall)
}

func (s *notifyServer) isDetached() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.detached
}

// claim ends the reading phase of the call: true when the server still
// owns the call and may answer it.
func (s *notifyServer) claim() bool {
	s.timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy = false
	return !s.abandoned
}

// NewNotifyLoop returns the Backend that serves the job through
// listener, its seccomp listener fd, which it takes ownership of.
func NewNotifyLoop(listener int, w *Writer, h *Handler, log zerolog.Logger) *NotifyLoop {
	return &NotifyLoop{fd: listener, w: w, h: h, log: log, stopR: -1, stopW: -1, done: make(chan struct{}, 1)}
}

// Name is "notify".
func (l *NotifyLoop) Name() string { return "notify" }

// Serve serves notifications until every task under the filter has exited
// (POLLHUP), exectrail has no child left, or a record cannot be written;
// then it closes the listener (every call still pending, and every later
// one, fails with ENOSYS) and reaps until no child is left.
func (l *NotifyLoop) Serve(j Job) {
	l.job = j
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		// Nothing of the job may run unserved: its calls fail with ENOSYS
		// once the listener is closed, and it is killed.
		unix.Close(l.fd)
		_ = unix.Kill(j.Root, unix.SIGKILL) // not reaped yet: still ours
		j.Attached(os.NewSyscallError("pipe2", err))
		reapOnly(j)
		return
	}
	l.stopR, l.stopW = p[0], p[1]
	j.Attached(nil)
	l.startServer()
	reaped := make(chan struct{})
	go func() {
		LockWriterThread()
		reap(l.onDeath)
		close(reaped)
	}()
	select {
	case <-l.done:
	case <-reaped:
		// No child left: nothing more can make a call.
		l.stop()
		<-l.done
	}
	l.fdMu.Lock()
	unix.Close(l.fd)
	unix.Close(l.stopR)
	l.closed = true
	l.fdMu.Unlock()
	<-reaped
	unix.Close(l.stopW)
}

// stop makes the server return after the notification it is handling,
// if any. Pending notifications are then left unanswered; closing the
// listener (which Serve does next) fails them with ENOSYS.
func (l *NotifyLoop) stop() {
	_, _ = unix.Write(l.stopW, []byte{0})
}

// fail stops the service for good on err, a record that could not be
// written: no record is written any more, the servers end (and with
// them the listener), and the job's owner is told.
func (l *NotifyLoop) fail(err error) {
	l.failOnce.Do(func() {
		l.failed.Store(true)
		l.job.Failed(err)
		l.stop()
	})
}

// onDeath writes the exit record of a child of exectrail that has ended
// (COMMAND with its duration, or an orphan) and reports it.
func (l *NotifyLoop) onDeath(pid int, ws unix.WaitStatus) {
	var start time.Time
	if pid == l.job.Root {
		start = l.job.Start
	}
	if r := exitRecord(pid, ws, start); r != nil && !l.failed.Load() {
		if err := l.w.Write(r); err != nil {
			l.fail(err)
		}
	}
	l.job.Reaped(Reaped{pid, ws})
}

func (l *NotifyLoop) startServer() {
	s := &notifyServer{}
	s.timer = time.AfterFunc(time.Hour, func() { l.slow(s) })
	s.timer.Stop()
	go func() {
		LockWriterThread()
		err := l.serve(s)
		switch err {
		case errAbandoned:
			l.h.stalls.n.Add(-1)
		case errDetached:
		default:
			if err != nil {
				l.fail(err)
			}
			if !s.isDetached() {
				select {
				case l.done <- struct{}{}:
				default:
				}
			}
		}
	}()
}

// slow runs when s has been reading one call for slowCall: another server
// takes over, and s is given until the handler's ReadTimeout to finish.
func (l *NotifyLoop) slow(s *notifyServer) {
	s.mu.Lock()
	seq, ok := s.seq, s.busy && !s.detached
	if ok && l.detached.Load() < maxStalled {
		s.detached = true
	} else {
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		return
	}
	l.detached.Add(1)
	l.startServer()
	time.AfterFunc(l.h.readTimeout()-slowCall, func() { l.giveUp(s, seq) })
}

// giveUp refuses the call seq of s if s is still reading it.
func (l *NotifyLoop) giveUp(s *notifyServer, seq uint64) {
	s.mu.Lock()
	stuck := s.busy && s.seq == seq && !s.abandoned
	if stuck {
		s.abandoned = true
	}
	id, c := s.id, s.call
	s.mu.Unlock()
	if !stuck {
		return
	}
	l.detached.Add(-1)
	l.h.stalls.n.Add(1)
	l.log.Warn().Int("tid", c.TID).Msg("a trapped call could not be read in time; refusing it")
	l.fdMu.RLock()
	defer l.fdMu.RUnlock()
	if l.closed || !notifIDValid(l.fd, id) {
		l.w.calls.gone.Add(1)
		return
	}
	r := forCall(&c, l.h.stalledRecord(&c, l.h.readTimeout(), false))
	if err := l.refuse(id, r, unix.EAGAIN); err != nil {
		l.fail(err)
	}
}

// serve receives and handles notifications until the listener hangs up,
// stop is called, the output fails or its call is taken over.
func (l *NotifyLoop) serve(s *notifyServer) error {
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
		n := &s.pending
		switch e := notifRecv(l.fd, n); e {
		case 0:
			l.w.calls.received.Add(1)
		case unix.EINTR, unix.ENOENT:
			// Interrupted, or the task went away before we got it.
			continue
		default:
			return fmt.Errorf("receiving seccomp notification: %w", os.NewSyscallError("ioctl", e))
		}
		err := l.handle(s, n)
		if err == errAbandoned {
			return err
		}
		if s.isDetached() {
			l.detached.Add(-1)
			if err == nil {
				err = errDetached
			}
			return err
		}
		if err != nil {
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

func (l *NotifyLoop) handle(s *notifyServer, n *seccompNotif) error {
	c := Call{TID: int(n.PID), Sys: filter.Decode(n.Data.Arch, n.Data.Nr), Args: n.Data.Args}
	s.begin(n.ID, c)
	r, err := l.read(&c)
	if !s.claim() {
		return errAbandoned
	}
	l.fdMu.RLock()
	defer l.fdMu.RUnlock()
	if l.closed {
		return nil
	}
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
		if !c.Sys.Kind.IsExec() {
			return l.emit(n.ID, forkRecord(0, 0, c.Sys.Kind.String(), "", 0))
		}
		return l.emit(n.ID, &record.Record{Event: record.EventExec, Error: "ESRCH", ErrorDetail: "task not visible in the supervisor's pid namespace"})
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
	if isStalled(err) {
		return l.refuse(n.ID, r, unix.EAGAIN)
	}
	if err != nil {
		// Alive but not inspectable (exectrail out of fds or memory —
		// which a job can provoke with prlimit): refuse the call rather
		// than let it run unrecorded.
		l.log.Debug().Err(err).Int("tid", c.TID).Msg("reading task")
		return l.refuse(n.ID, unreadableRecord(&c, err), unix.EAGAIN)
	}
	if c.Sys.Kind.IsExec() {
		// Nothing checks the exec after it: this is the last word.
		if errno := l.h.CheckCall(r, nil, false); errno != 0 {
			return l.refuse(n.ID, r, errno)
		}
	}
	return l.emit(n.ID, r)
}

// read builds the record of call c: everything handle does that reads
// the job and so may block.
func (l *NotifyLoop) read(c *Call) (*record.Record, error) {
	switch {
	case c.Sys.Kind == filter.KindUnknown || c.TID == 0:
		return nil, nil
	case !c.Sys.Kind.IsExec():
		return l.h.ForkRecord(c)
	case l.h.stalls.full():
		return l.h.stalledRecord(c, l.h.readTimeout(), true), errStalled{}
	}
	t, err := l.h.openTask(c.TID)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	return l.h.ExecRecord(t, c)
}

// unreadableRecord is the record of a call whose task could not be
// inspected: the thread id stands in for the unknown process id.
func unreadableRecord(c *Call, err error) *record.Record {
	return forCall(c, &record.Record{Event: record.EventExec, PID: c.TID, TID: c.TID, Syscall: c.Sys.Kind.String(),
		PathUnknown: true, PPIDUnknown: true,
		ReadError: "cannot inspect the task: " + err.Error() + "; call refused with EAGAIN", Error: "EAGAIN"})
}

// forCall is r, the record of a call c that is refused without being
// read, for an exec; for a fork, the fork record that says the same
// (process, thread, ABI and errors).
func forCall(c *Call, r *record.Record) *record.Record {
	if c.Sys.Kind.IsExec() {
		return r
	}
	f := forkRecord(r.PID, c.TID, c.Sys.Kind.String(), r.ABI, 0)
	f.Error, f.ErrorDetail, f.ReadError = r.Error, r.ErrorDetail, r.ReadError
	return f
}

// refuse writes r and fails the call with errno.
func (l *NotifyLoop) refuse(id uint64, r *record.Record, errno unix.Errno) error {
	if err := l.w.Write(r); err != nil {
		killHeld(r)
		l.respond(id, unix.EIO)
		return err
	}
	l.w.calls.recorded.Add(1)
	l.respond(id, errno)
	return nil
}

// emit writes r and only then lets the call continue. When the output
// fails the caller is killed before its call returns (fail closed: not
// even an error message of its own), and the error ends the loop.
func (l *NotifyLoop) emit(id uint64, r *record.Record) error {
	if err := l.w.Write(r); err != nil {
		killHeld(r)
		l.respond(id, unix.EIO)
		return err
	}
	l.w.calls.recorded.Add(1)
	l.respond(id, 0)
	return nil
}

// killHeld SIGKILLs the process whose call r records while the call is
// still held: the task cannot have gone away meanwhile unless killed, so
// its ids are still its own.
func killHeld(r *record.Record) {
	switch {
	case r.TID <= 0:
	case r.PID > 0:
		_ = unix.Tgkill(r.PID, r.TID, unix.SIGKILL)
	default:
		_ = unix.Kill(r.TID, unix.SIGKILL)
	}
}
