package supervisor

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/exectrail/exectrail/filter"
	"github.com/exectrail/exectrail/supervisor/record"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// TraceOptions are the ptrace options of every tracee: seccomp stops for
// the trapped calls, exec and fork events, syscall-exit stops told apart
// from signals, and the job killed if the tracer dies (fail closed).
const TraceOptions = unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_TRACEEXEC |
	unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACECLONE |
	unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_EXITKILL

// Tracer is the ptrace Backend. It runs the whole job from one locked OS
// thread: it attaches to the root, handles every stop, writes the records
// (exec records verified at PTRACE_EVENT_EXEC, fork records with the
// child's pid, exit records of every process) and reaps every child.
type Tracer struct {
	w   *Writer
	h   *Handler
	log zerolog.Logger
	job Job

	threads map[int]*tracee
	procs   map[int]time.Time // process id -> start
	// held are new tracees whose first stop came before their parent's
	// fork event: they stay stopped until the fork record is written. The
	// value is the parent process read at that stop, so that they are
	// let go should the parent die before its event.
	held        map[int]int
	firstSeen   map[int]time.Time
	deadForkers []deadForker
	// pending counts the live threads with a fork in progress (forkKind
	// set): each can still report one fork event. A held child beyond
	// that count has lost its event (its forker died in the call, as a
	// thread killed by another thread's exec does) and is let go.
	pending int
	// lostForks are, per process, its threads that died (or were
	// replaced by an exec) in a fork: the best guess at who forked a
	// held child whose event never came.
	lostForks map[int][]deadForker
	// ancestry of every traced process, for the policy's "within"
	// rules: inherited at the fork, extended at each exec. Kept only
	// when the policy has such rules (and, for a process that died in a
	// fork, until its child is adopted).
	ancestry map[int]*Ancestry
	// failed is set when the output failed: every tracee is killed then,
	// and from then on every tracee that stops is killed.
	failed error

	// parked: execs whose records are still being built after the
	// hand-over (see park).
	parked    map[int]*parkedCall
	parkDone  chan parkResult
	waitEvent chan struct{}
}

// tracee is what the tracer knows of one thread.
type tracee struct {
	tgid int
	// attached: the first stop of an auto-attached tracee has been seen.
	attached bool
	// pendingExec is the record prepared at an exec's seccomp stop,
	// waiting for PTRACE_EVENT_EXEC (success) or the syscall-exit stop
	// (failure).
	pendingExec *record.Record
	// forkKind is the process-creating call seen at its seccomp stop,
	// until its fork event or (the call failed) its syscall-exit stop;
	// empty for clone of a thread, which the filter does not trap.
	forkKind string
	forkABI  string
	// forkRecorded: this process's fork record is written (by its
	// parent's event, or by adopt when the event was lost).
	forkRecorded bool
}

// setForkKind sets or (kind "") clears th's fork in progress, keeping
// tr.pending.
func (tr *Tracer) setForkKind(th *tracee, kind string) {
	switch {
	case th.forkKind == "" && kind != "":
		tr.pending++
	case th.forkKind != "" && kind == "":
		tr.pending--
	}
	th.forkKind = kind
}

// NewTracer returns a tracer that writes through w.
func NewTracer(w *Writer, h *Handler, log zerolog.Logger) *Tracer {
	return &Tracer{w: w, h: h, log: log,
		threads: map[int]*tracee{}, procs: map[int]time.Time{}, held: map[int]int{}, firstSeen: map[int]time.Time{},
		lostForks: map[int][]deadForker{}, ancestry: map[int]*Ancestry{}}
}

// Name is "ptrace".
func (tr *Tracer) Name() string { return "ptrace" }

// Serve attaches to the job's root (which must not have loaded its filter
// yet: it waits for the go-ahead that follows Attached(nil)) and traces
// until no child and no tracee is left. When it cannot attach it only
// reaps.
func (tr *Tracer) Serve(j Job) {
	LockWriterThread()
	tr.job = j
	if err := ptraceSeize(j.Root, TraceOptions); err != nil {
		j.Attached(fmt.Errorf("attaching to the job with ptrace: %w (is the job already traced, by exectrail --backend ptrace, gdb or strace?)", os.NewSyscallError("ptrace", err)))
		reapOnly(j) // the root exits when told it is not traced
		return
	}
	tr.threads[j.Root] = &tracee{tgid: j.Root, attached: true}
	tr.procs[j.Root] = j.Start
	j.Attached(nil)
	reapOr(func(pid int, ws unix.WaitStatus) {
		switch {
		case ws.Exited() || ws.Signaled():
			tr.onDeath(pid, ws)
			j.Reaped(Reaped{pid, ws})
		case ws.Stopped():
			if err := tr.onStop(pid, ws); err != nil && tr.failed == nil {
				tr.fail(err)
			}
		}
	}, func() bool { return len(tr.parked) > 0 }, func() {
		if err := tr.waitParked(); err != nil && tr.failed == nil {
			tr.fail(err)
		}
	})
}

// write writes r. When that fails the job is stopped before the caller
// can resume anything: every tracee is killed, and the error reported.
func (tr *Tracer) write(r *record.Record) error {
	err := tr.w.Write(r)
	if err != nil && tr.failed == nil {
		tr.fail(err)
	}
	return err
}

// fail stops the job for good: every tracee gets SIGKILL now (a tracee
// is never reaped behind the tracer's back, so its id is still its own),
// and every one that stops later is killed rather than resumed.
func (tr *Tracer) fail(err error) {
	tr.failed = err
	for tid := range tr.threads {
		_ = unix.Kill(tid, unix.SIGKILL)
	}
	tr.job.Failed(err)
}

func (tr *Tracer) resume(tid int, sig syscall.Signal) {
	if tr.failed != nil {
		_ = unix.Kill(tid, unix.SIGKILL)
	}
	if err := unix.PtraceCont(tid, int(sig)); err != nil && err != unix.ESRCH {
		tr.log.Debug().Err(err).Int("tid", tid).Msg("PTRACE_CONT")
	}
}

func (tr *Tracer) onStop(tid int, ws unix.WaitStatus) error {
	sig := ws.StopSignal()
	// The ptrace event is in bits 16-23 of the status. (WaitStatus's
	// TrapCause reports it only for SIGTRAP stops, but a SEIZE group-stop
	// is PTRACE_EVENT_STOP with the stopping signal.)
	event := int(ws>>16) & 0xff
	th := tr.threads[tid]
	if th == nil {
		// A new tracee whose parent's fork event has not arrived yet.
		th = &tracee{tgid: -1}
		tr.threads[tid] = th
	}
	if !th.attached && event == unix.PTRACE_EVENT_STOP {
		th.attached = true
		if th.tgid == -1 {
			tr.firstSeen[tid] = time.Now()
			tgid, ppid := tr.h.idsOf(tid)
			if tgid > 0 && tgid != tid {
				// A thread: no records, nothing to hold.
				th.tgid = tgid
				tr.resume(tid, 0)
				return nil
			}
			if _, alive := tr.procs[ppid]; alive {
				// Its parent's fork event is still to come: hold it, so that
				// nothing it does is recorded before its fork record —
				// unless no fork is in progress any more to report it.
				tr.held[tid] = ppid
				return tr.settle()
			}
			// Its parent died in its fork event stop and is gone already
			// (a SIGKILL can drop the event). The parent is inferred: the
			// most recent traced process that died with a fork pending.
			// With several such deaths at once the pairing is a best
			// guess; the child itself is never lost or left stopped.
			if n := len(tr.deadForkers); n > 0 {
				p := tr.deadForkers[n-1]
				tr.deadForkers = tr.deadForkers[:n-1]
				err := tr.adopt(tid, p.pid, p.kind, 0)
				delete(tr.ancestry, p.pid)
				return err
			}
			// Its parent is exiting and not yet reaped: wait for it.
			tr.held[tid] = -2
			return nil
		}
		tr.resume(tid, 0)
		return nil
	}
	switch {
	case sig == unix.SIGTRAP && event == unix.PTRACE_EVENT_SECCOMP:
		return tr.onSeccomp(tid, th)
	case sig == unix.SIGTRAP && event == unix.PTRACE_EVENT_EXEC:
		return tr.onExec(tid)
	case sig == unix.SIGTRAP && (event == unix.PTRACE_EVENT_FORK || event == unix.PTRACE_EVENT_VFORK || event == unix.PTRACE_EVENT_CLONE):
		return tr.onFork(tid, th, event)
	case sig == unix.SIGTRAP|0x80:
		return tr.onSyscallExit(tid, th)
	case event == unix.PTRACE_EVENT_STOP:
		// Group-stop (SIGSTOP, Ctrl-Z): stay stopped, but let SIGCONT
		// wake it, as without a tracer (KERNEL-FACTS 26).
		if sig == unix.SIGSTOP || sig == unix.SIGTSTP || sig == unix.SIGTTIN || sig == unix.SIGTTOU {
			if err := ptraceListen(tid); err != nil && err != unix.ESRCH {
				tr.log.Debug().Err(err).Int("tid", tid).Msg("PTRACE_LISTEN")
			}
			return nil
		}
		tr.resume(tid, 0)
	case event == 0:
		// Signal-delivery stop: deliver it.
		tr.resume(tid, sig)
	default:
		tr.resume(tid, 0)
	}
	return nil
}

func (tr *Tracer) onSeccomp(tid int, th *tracee) error {
	calls := &tr.w.calls // the end record's counts (trail.go)
	calls.received.Add(1)
	var info ptraceSyscallInfo
	err := ptraceGetSyscallInfo(tid, &info)
	if err == unix.ESRCH {
		// Killed in the stop (by another thread's exec, say): it will
		// not run the call.
		calls.gone.Add(1)
		return nil
	}
	if err != nil || info.Op != unix.PTRACE_SYSCALL_INFO_SECCOMP {
		// What the call is cannot be told: refuse it, as notify does.
		tr.log.Warn().Err(err).Int("tid", tid).Uint8("op", info.Op).Msg("refusing a trapped syscall that cannot be read")
		tr.refuseUnrecorded(tid, unix.ENOSYS)
		return nil
	}
	c := Call{TID: tid, Sys: filter.Decode(info.Arch, int32(info.U[0]))}
	copy(c.Args[:], info.U[1:7])
	if c.Sys.Kind == filter.KindClone && c.Args[0]&unix.CLONE_UNTRACED != 0 {
		// The child would not be attached to us, and another process of
		// the job could trace it and wave its execs through: clear the
		// flag, or the call must not run.
		if !clearCloneUntraced(tid, c.Sys.ABI) {
			_ = unix.Kill(tid, unix.SIGKILL)
			calls.gone.Add(1)
			return nil
		}
		if c.Args[0]&unix.CLONE_THREAD != 0 {
			// A thread, trapped only for that flag: attached as every
			// thread is, and no record.
			tr.letGo(tid)
			return nil
		}
	}
	switch {
	case c.Sys.Kind.IsExec():
		t, err := tr.h.openTask(tid)
		if err != nil {
			// Recorded at its exec event, if it gets there.
			tr.letGo(tid)
			return nil
		}
		r, p, err := tr.h.ExecRecordOrPark(t, &c, len(tr.parked))
		if p != nil {
			// Not built within the hand-over: the caller stays stopped
			// while the tracer serves the rest of the job (issue #12).
			tr.park(tid, p, func(r *record.Record, err error) error { return tr.execEntry(tid, th, r, err) },
				func() error { return tr.execEntry(tid, th, p.StalledRecord(), errStalled{}) })
			return nil
		}
		return tr.execEntry(tid, th, r, err)
	case c.Sys.Kind != filter.KindUnknown:
		tr.setForkKind(th, c.Sys.Kind.String())
		th.forkABI = abiOf(&c)
		// To the syscall-exit stop if the call fails (success stops at
		// its fork event first, whose PTRACE_CONT cancels it): a failed
		// fork must not stay pending, nor name a later thread's clone.
		tr.toSyscallExit(tid)
	default:
		// Trapped by some filter (the job's own SECCOMP_RET_TRACE, say)
		// but none of ours: refuse it with ENOSYS, as notify does, and
		// as the kernel does to a RET_TRACE call with no tracer.
		tr.log.Warn().Uint32("arch", info.Arch).Int32("nr", int32(info.U[0])).Int("tid", tid).Msg("refusing an unexpected trapped syscall")
		tr.refuseUnrecorded(tid, unix.ENOSYS)
	}
	return nil
}

// execEntry finishes an exec's seccomp stop once its record is built (or
// given up: errStalled): refuse it, or let it run to its exec event.
func (tr *Tracer) execEntry(tid int, th *tracee, r *record.Record, err error) error {
	if isStalled(err) {
		// The record could not be built in time: the call is refused
		// and the rest of the job goes on being served.
		return tr.refuseAtEntry(tid, r, unix.EAGAIN)
	}
	if errors.Is(err, ErrNotExec) || err != nil {
		tr.letGo(tid)
		return nil
	}
	// First check, at entry: a refused exec never starts. What the
	// kernel loads is checked again at the exec event (CheckLoaded).
	if errno := tr.h.CheckCall(r, tr.ancestry[th.tgid], true); errno != 0 {
		return tr.refuseAtEntry(tid, r, errno)
	}
	th.pendingExec = r
	// Resume to the syscall-exit stop: reached only if the exec
	// fails; success stops at PTRACE_EVENT_EXEC first.
	tr.toSyscallExit(tid)
	return nil
}

// refuseAtEntry writes r, the record of the exec call at whose seccomp
// stop tid is, and refuses the call with errno: it never starts, so
// nothing is verified.
func (tr *Tracer) refuseAtEntry(tid int, r *record.Record, errno unix.Errno) error {
	f := false
	r.Verified = &f
	err := tr.written(true, tr.write(r), true)
	skipSyscall(tid, errno)
	tr.resume(tid, 0)
	return err
}

// refuseUnrecorded refuses the call at whose seccomp stop tid is with
// errno, without a record.
func (tr *Tracer) refuseUnrecorded(tid int, errno unix.Errno) {
	tr.w.calls.unrecorded.Add(1)
	tr.answered(true)
	skipSyscall(tid, errno)
	tr.resume(tid, 0)
}

// letGo lets the call at whose seccomp stop tid is go on without a
// record of its own.
func (tr *Tracer) letGo(tid int) {
	tr.w.calls.unrecorded.Add(1)
	tr.answered(false)
	tr.resume(tid, 0)
}

// toSyscallExit resumes tid, at a seccomp stop, to the call's
// syscall-exit stop.
func (tr *Tracer) toSyscallExit(tid int) {
	if tr.failed != nil {
		_ = unix.Kill(tid, unix.SIGKILL)
	}
	if err := unix.PtraceSyscall(tid, 0); err != nil && err != unix.ESRCH {
		tr.log.Debug().Err(err).Int("tid", tid).Msg("PTRACE_SYSCALL")
	}
}

// answered counts a trapped call's outcome (refused: by exectrail) for
// the end record (trail.go).
func (tr *Tracer) answered(refused bool) {
	tr.w.calls.answered.Add(1)
	if refused {
		tr.w.calls.refused.Add(1)
	}
}

// written counts the outcome of a record just written: held, the record
// of a trapped call held until now (refused: by exectrail), or else one
// written at an event with no call held. It returns err.
func (tr *Tracer) written(held bool, err error, refused bool) error {
	switch {
	case held:
		tr.answered(refused || err != nil)
		if err == nil {
			tr.w.calls.recorded.Add(1)
		}
	case err == nil:
		tr.w.calls.atEvents.Add(1)
	}
	return err
}

func (tr *Tracer) onSyscallExit(tid int, th *tracee) error {
	r := th.pendingExec
	th.pendingExec = nil
	if r == nil {
		// A fork that failed: nothing more will come of it. (ptrace
		// records the forks that happened.)
		if th.forkKind != "" {
			tr.w.calls.unrecorded.Add(1)
			tr.answered(false)
		}
		tr.setForkKind(th, "")
		err := tr.settle()
		tr.resume(tid, 0)
		return err
	}
	var info ptraceSyscallInfo
	if err := ptraceGetSyscallInfo(tid, &info); err == nil && info.Op == unix.PTRACE_SYSCALL_INFO_EXIT {
		rval := int64(info.U[0])
		isErr := uint8(info.U[1]) != 0
		if isErr && rval < 0 {
			e := errnoName(unix.Errno(-rval))
			if r.Error != e {
				r.Error, r.ErrorDetail = e, ""
			}
		}
	}
	f := false
	r.Verified = &f
	err := tr.written(true, tr.write(r), false)
	tr.resume(tid, 0)
	return err
}

func (tr *Tracer) onExec(pid int) error {
	msg, _ := unix.PtraceGetEventMsg(pid)
	former := int(msg)
	var r *record.Record
	if th := tr.threads[former]; th != nil {
		r = th.pendingExec
		th.pendingExec = nil
		if former != pid {
			// A non-leader thread exec'd: it now has the leader's id.
			// The old leader is gone without a death report: a fork it
			// was in is lost.
			if old := tr.threads[pid]; old != nil && old.forkKind != "" {
				tr.w.calls.gone.Add(1)
				tr.lostForks[pid] = append(tr.lostForks[pid], deadForker{pid, old.forkKind})
				tr.setForkKind(old, "")
			}
			delete(tr.threads, former)
			th.tgid = pid
			tr.threads[pid] = th
		}
	}
	if err := tr.settle(); err != nil {
		return err
	}
	if former != pid && r != nil {
		r.TID = former
	}
	held := r != nil // the exec's call, held since its seccomp stop
	t, err := tr.h.openTask(pid)
	if err != nil {
		// The new program cannot be inspected (exectrail out of fds, say):
		// it must not run unrecorded. Kill it before its first
		// instruction and say so.
		_ = unix.Kill(pid, unix.SIGKILL)
		rec := &record.Record{Event: record.EventExec, PID: pid, Error: "EAGAIN", PathUnknown: true, PPIDUnknown: true,
			ReadError: "cannot inspect the process after exec: " + err.Error() + "; killed"}
		if r != nil {
			rec = r
			rec.Error, rec.ReadError = "EAGAIN", "cannot inspect the process after exec: "+err.Error()+"; killed"
		}
		return tr.written(held, tr.write(rec), true)
	}
	r = tr.h.VerifyExec(t, pid, r)
	t.Close()
	return tr.afterVerify(pid, held, r)
}

// afterVerify finishes an exec event once what ran is known: the check of
// what the kernel loaded, the record, and the new program let go.
func (tr *Tracer) afterVerify(pid int, held bool, r *record.Record) error {
	if !tr.h.CheckLoaded(r, tr.ancestry[pid]) {
		// Refused on what the kernel loaded, before its first
		// instruction.
		_ = unix.Kill(pid, unix.SIGKILL)
		return tr.written(held, tr.write(r), true)
	}
	if r.Verified != nil && *r.Verified && tr.h.Policy.HasWithin() {
		// Each program a process runs counts for it and for the
		// children it forks from now on.
		tr.ancestry[pid] = tr.h.Policy.ExtendExec(tr.ancestry[pid], r)
	}
	if _, ok := tr.procs[pid]; !ok {
		tr.procs[pid] = time.Now()
	}
	err := tr.written(held, tr.write(r), false)
	tr.resume(pid, 0)
	return err
}

func (tr *Tracer) onFork(tid int, th *tracee, event int) error {
	msg, err := unix.PtraceGetEventMsg(tid)
	if err != nil {
		tr.resume(tid, 0)
		return nil
	}
	child := int(msg)
	kind := th.forkKind
	tr.setForkKind(th, "")
	trapped := kind != "" // the fork call was held since its seccomp stop
	ct := tr.threads[child]
	if ct == nil {
		ct = &tracee{}
		tr.threads[child] = ct
	}
	var werr error
	if tr.isThread(child, kind, event) {
		ct.tgid = th.tgid
	} else if ct.forkRecorded {
		// Adopted already: its first stop came when no fork seemed to
		// be in progress. One fork record per child.
		ct.tgid = child
		if trapped {
			// Its record was written at adoption (records_at_events).
			tr.w.calls.unrecorded.Add(1)
			tr.answered(false)
		}
	} else {
		if kind == "" {
			kind = map[int]string{unix.PTRACE_EVENT_FORK: "fork", unix.PTRACE_EVENT_VFORK: "vfork", unix.PTRACE_EVENT_CLONE: "clone"}[event]
		}
		ct.tgid = child
		tr.inherit(child, th.tgid)
		tr.procs[child] = time.Now()
		if t0, ok := tr.firstSeen[child]; ok {
			tr.procs[child] = t0
			delete(tr.firstSeen, child)
		}
		r := forkRecord(th.tgid, tid, kind, th.forkABI, child)
		ct.forkRecorded = true
		werr = tr.written(trapped, tr.write(r), false)
	}
	if _, ok := tr.held[child]; ok {
		delete(tr.held, child)
		tr.resume(child, 0)
	}
	if err := tr.settle(); werr == nil {
		werr = err
	}
	tr.resume(tid, 0)
	return werr
}

// isThread tells whether the fork event's child is a thread: created
// with CLONE_THREAD, that is, in its creator's thread group. Only clone
// can make one (a PTRACE_EVENT_CLONE is also what a process clone with an
// exit signal other than SIGCHLD reports), and the filter never traps it:
// a clone seen at its seccomp stop (kind set) made a process. For an
// untrapped one the child's thread group says.
func (tr *Tracer) isThread(child int, kind string, event int) bool {
	if event != unix.PTRACE_EVENT_CLONE || kind != "" {
		return false
	}
	if tgid, _ := tr.h.idsOf(child); tgid > 0 {
		return tgid != child
	}
	return true // gone already, and untrapped: a thread
}

// settle lets go the held children that no fork in progress can report
// any more: each live thread with a fork in progress can release one by
// its event; children held beyond that have lost theirs (their forker
// died in the call: killed by another thread's exec, say). Their fork
// records are written with the best guess at the forking thread: a lost
// fork of the same process.
func (tr *Tracer) settle() error {
	var orphans []int
	for child, parent := range tr.held {
		if parent > 0 {
			orphans = append(orphans, child)
		}
	}
	if len(orphans) <= tr.pending {
		return nil
	}
	// The children of a process with lost forks first, then by pid.
	slices.SortFunc(orphans, func(a, b int) int {
		la, lb := len(tr.lostForks[tr.held[a]]) > 0, len(tr.lostForks[tr.held[b]]) > 0
		if la != lb {
			if la {
				return -1
			}
			return 1
		}
		return a - b
	})
	var err error
	for _, child := range orphans[:len(orphans)-tr.pending] {
		parent := tr.held[child]
		delete(tr.held, child)
		kind, tid := "", 0
		if lost := tr.lostForks[parent]; len(lost) > 0 {
			kind, tid = lost[0].kind, lost[0].pid
			tr.lostForks[parent] = lost[1:]
		}
		if e := tr.adopt(child, parent, kind, tid); err == nil {
			err = e
		}
	}
	return err
}

func (tr *Tracer) onDeath(tid int, ws unix.WaitStatus) {
	tr.unpark(tid)
	th := tr.threads[tid]
	delete(tr.threads, tid)
	delete(tr.held, tid)
	delete(tr.firstSeen, tid)
	if th != nil && th.pendingExec != nil {
		// Died with its exec held (killed, or another thread's exec
		// took it): the exec never ran.
		tr.w.calls.gone.Add(1)
	}
	if th != nil && th.forkKind != "" {
		tr.w.calls.gone.Add(1) // died in a fork
	}
	if th != nil && th.tgid != tid && th.tgid != -1 {
		// A thread. One that died in a fork (killed by another thread's
		// exec, say) never reports its event: a child it made is let go.
		if th.forkKind != "" {
			tr.lostForks[th.tgid] = append(tr.lostForks[th.tgid], deadForker{tid, th.forkKind})
			tr.setForkKind(th, "")
			_ = tr.settle() // a failed write has stopped the job
		}
		return
	}
	forkKind := ""
	if th != nil {
		forkKind = th.forkKind
		tr.setForkKind(th, "")
	}
	delete(tr.lostForks, tid)
	start, known := tr.procs[tid]
	if !known && th == nil {
		return
	}
	delete(tr.procs, tid)
	adopted := false
	for child, parent := range tr.held {
		if parent == tid {
			// Its parent died before reporting the fork: nothing more
			// will come to release it.
			delete(tr.held, child)
			_ = tr.adopt(child, tid, forkKind, 0)
			adopted = true
		}
	}
	if !adopted && forkKind != "" {
		for child, parent := range tr.held {
			if parent == -2 {
				delete(tr.held, child)
				_ = tr.adopt(child, tid, forkKind, 0)
				adopted = true
				break
			}
		}
	}
	if !adopted && forkKind != "" {
		// Its ancestry stays until the child is adopted.
		tr.deadForkers = append(tr.deadForkers, deadForker{tid, forkKind})
	} else {
		delete(tr.ancestry, tid)
	}
	if !known {
		start = time.Time{}
	}
	if tr.failed == nil {
		_ = tr.write(exitRecord(tid, ws, start)) // a failed write stops the job
	}
}

type deadForker struct {
	pid  int
	kind string
}

// inherit gives child the ancestry of parent, as it is at the fork.
func (tr *Tracer) inherit(child, parent int) {
	if a := tr.ancestry[parent]; a != nil {
		tr.ancestry[child] = a
	} else {
		delete(tr.ancestry, child)
	}
}

// adopt writes the fork record of child, whose parent's fork event never
// came, and lets it run. tid, when known and not the parent's leader, is
// the thread that forked it.
func (tr *Tracer) adopt(child, parent int, kind string, tid int) error {
	if kind == "" {
		kind = "fork"
	}
	th := tr.threads[child]
	th.tgid = child
	th.forkRecorded = true
	start, ok := tr.firstSeen[child]
	if !ok {
		start = time.Now()
	}
	delete(tr.firstSeen, child)
	tr.procs[child] = start
	if parent > 0 {
		tr.inherit(child, parent)
	}
	var err error
	if parent > 0 {
		err = tr.written(false, tr.write(forkRecord(parent, tid, kind, "", child)), false)
	}
	tr.resume(child, 0)
	return err
}

// Parked calls (issue #12): an exec whose record is not built within the
// hand-over stays stopped while the tracer serves the rest of the job.
// The tracer then cannot block in wait4 (a finished record must wake it),
// so a waiter goroutine blocks in waitid(WNOWAIT) — any thread of the
// tracer's process may wait for its tracees — and says when an event is
// there; the tracer consumes events with wait4(WNOHANG) (reapOr). With
// nothing parked, the tracer blocks in wait4 itself, as before: the
// common path costs nothing more.
type parkedCall struct {
	p      *PendingRecord
	cancel chan struct{}
	// then finishes the stop with the work's result; stalled, when the
	// deadline came first.
	then    func(*record.Record, error) error
	stalled func() error
}

type parkResult struct {
	tid int
	k   *parkedCall
	res recordResult
}

func (tr *Tracer) park(tid int, p *PendingRecord, then func(*record.Record, error) error, stalled func() error) {
	if tr.parked == nil {
		tr.parked = map[int]*parkedCall{}
		tr.parkDone = make(chan parkResult)
	}
	k := &parkedCall{p: p, cancel: make(chan struct{}), then: then, stalled: stalled}
	tr.parked[tid] = k
	go func() {
		select {
		case res := <-p.Result():
			select {
			case tr.parkDone <- parkResult{tid, k, res}:
			case <-k.cancel:
			}
		case <-k.cancel:
		}
	}()
}

// startWaiter starts the waiter once.
func (tr *Tracer) startWaiter() {
	if tr.waitEvent != nil {
		return
	}
	tr.waitEvent = make(chan struct{})
	go func() {
		for {
			var si unix.Siginfo
			err := unix.Waitid(unix.P_ALL, 0, &si, unix.WEXITED|unix.WSTOPPED|unix.WALL|unix.WNOWAIT, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				close(tr.waitEvent)
				return
			}
			tr.waitEvent <- struct{}{}
		}
	}()
}

// waitParked blocks until an event may be there, a parked record is
// done, or a parked call's deadline has come.
func (tr *Tracer) waitParked() error {
	tr.startWaiter()
	var first time.Time
	for _, k := range tr.parked {
		if first.IsZero() || k.p.Deadline.Before(first) {
			first = k.p.Deadline
		}
	}
	timer := time.NewTimer(time.Until(first))
	defer timer.Stop()
	select {
	case <-tr.waitEvent:
		return nil
	case r := <-tr.parkDone:
		if tr.parked[r.tid] != r.k {
			return nil // given up, or its caller died
		}
		delete(tr.parked, r.tid)
		close(r.k.cancel)
		if tr.threads[r.tid] == nil {
			return nil
		}
		return r.k.then(r.res.Unpack())
	case <-timer.C:
		var err error
		now := time.Now()
		for tid, k := range tr.parked {
			if now.Before(k.p.Deadline) || !k.p.GiveUp() {
				continue // not yet; or finished just now: its result comes
			}
			delete(tr.parked, tid)
			close(k.cancel)
			if tr.threads[tid] != nil {
				if e := k.stalled(); err == nil {
					err = e
				}
			}
		}
		return err
	}
}

// unpark forgets a parked call whose caller died.
func (tr *Tracer) unpark(tid int) {
	k := tr.parked[tid]
	if k == nil {
		return
	}
	delete(tr.parked, tid)
	k.p.GiveUp()
	close(k.cancel)
	tr.w.calls.gone.Add(1)
}
