package supervisor

import (
	"fmt"
	"syscall"
	"time"

	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// Backend is one way of holding a job's process syscalls until their
// records are written: the seccomp notifier (NotifyLoop) or ptrace
// (Tracer). Whoever runs the job (cmd/exectrail's job.go) makes the one
// the child stage asked for, calls Serve once, and learns from it only
// what every backend reports through Job: that it serves the job (or
// could not start to), each child of exectrail that ended, and the one
// error that stopped it.
//
// What a backend does while it serves is its own: how many threads
// receive calls or build records, which calls it holds and how. What
// every backend must do is fixed here:
//
//   - a record is written before the call it describes goes on (see the
//     package comment);
//   - it reaps every child of exectrail — COMMAND, the orphans exectrail
//     gets as a subreaper and, under ptrace, every tracee — with the one
//     reaper (reap), and writes the exit records it promises (the README's
//     table of backends) with the one builder (exitRecord);
//   - when a record cannot be written, whatever the record (exec, fork,
//     exit), it fails closed: what it holds is killed or refused before it
//     can run on, no record is written after that, and the error goes to
//     Job.Failed — once, as soon as it happens — so that the caller stops
//     the rest of the job.
type Backend interface {
	// Name is the backend's --backend name ("notify", "ptrace"); ""
	// for Unserved.
	Name() string
	// Serve serves the job from the moment its root is started until
	// exectrail has no child left. It calls j.Attached first, and
	// returns after the last j.Reaped.
	Serve(j Job)
}

// Job is the job a Backend serves, and how it reports. The callbacks may
// be called from any goroutine; Reaped is called from one goroutine at a
// time, in reaping order. None of them may block for long: the backend
// waits for them, and with it the job.
type Job struct {
	// Root is the job's first process (the child stage, then COMMAND),
	// a child of exectrail, started at Start.
	Root  int
	Start time.Time
	// Attached is called once, before anything else: nil when the
	// backend serves the job, or why it cannot. Then the backend has
	// made sure that nothing of the job runs unrecorded (the notifier
	// closes its listener and kills the root; the tracer never attached,
	// and the child stage, which waits for the go-ahead, must not be
	// given it), and it only reaps: Reaped is still called, no record is
	// written, and Failed is not called.
	Attached func(error)
	// Reaped is called for every child of exectrail reaped, after its
	// exit record (if the backend writes one) has been written.
	Reaped func(Reaped)
	// Failed is called at most once, with the first error that stopped
	// the backend from serving the job (a record that could not be
	// written): what the backend held is killed by then, and the caller
	// must stop the rest of the job. The backend goes on reaping.
	Failed func(error)
}

// Reaped is a process or thread that has ended, as wait4 reported it.
type Reaped struct {
	PID    int
	Status unix.WaitStatus
}

// reap waits for every child of exectrail — stops and deaths alike, with
// __WALL (threads and tracees included) — and hands each to fn, until
// none is left. It is the one wait4 loop of exectrail.
func reap(fn func(pid int, ws unix.WaitStatus)) { reapOr(fn, nil, nil) }

// reapOr is reap for a waiter that must also wake for something else
// (the tracer's parked calls): while busy() is true it does not block in
// wait4 but calls idle() whenever no child has anything to report, and
// idle returns when one may have (or its own work is done).
func reapOr(fn func(pid int, ws unix.WaitStatus), busy func() bool, idle func()) {
	for {
		var ws unix.WaitStatus
		flags := unix.WALL
		if busy != nil && busy() {
			flags |= unix.WNOHANG
		}
		pid, err := unix.Wait4(-1, &ws, flags, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return // ECHILD: nothing left
		}
		if pid == 0 {
			idle()
			continue
		}
		fn(pid, ws)
	}
}

// reapOnly reaps every child of exectrail, reporting each to j.Reaped and
// writing nothing: what a backend does once it cannot serve the job.
func reapOnly(j Job) {
	reap(func(pid int, ws unix.WaitStatus) { j.Reaped(Reaped{pid, ws}) })
}

// Unserved is the Backend of a job that no backend serves: the child
// stage failed before it installed a filter, or exectrail stopped the job
// before it could serve it (its start record could not be written). It
// only reaps, and writes nothing.
type Unserved struct{}

// Name is "": no backend.
func (Unserved) Name() string { return "" }

// Serve reaps until exectrail has no child left.
func (Unserved) Serve(j Job) {
	j.Attached(nil)
	reapOnly(j)
}

// exitRecord is the exit record of pid, ended with status ws; nil when ws
// is not an end (a stop). start, when not zero, is when the process
// started: the record then says how long it ran.
func exitRecord(pid int, ws unix.WaitStatus, start time.Time) *record.Record {
	r := &record.Record{Event: record.EventExit, PID: pid}
	switch {
	case ws.Exited():
		code := ws.ExitStatus()
		r.ExitCode = &code
	case ws.Signaled():
		r.Signal = SignalName(ws.Signal())
	default:
		return nil
	}
	if !start.IsZero() {
		d := float64(time.Since(start).Microseconds()) / 1000
		r.DurationMS = &d
	}
	return r
}

// forkRecord is the record of a fork by thread tid of process pid (tid 0
// or pid: the leader, and no tid field): kind
// is the call (or, for a fork seen only at its ptrace event, the event's
// kind), child the new process when known (0 otherwise) and abi the
// call's ABI field (abiOf).
func forkRecord(pid, tid int, kind, abi string, child int) *record.Record {
	return &record.Record{Event: record.EventFork, PID: pid, TID: tid, Kind: kind, ABI: abi, ChildPID: child}
}

// abiOf is the abi field of a record of call sys: empty for the native
// x86_64 calls, the ABI's name for the others (i386, x32).
func abiOf(c *Call) string {
	if c.Sys.ABI != "x86_64" {
		return c.Sys.ABI
	}
	return ""
}

// SignalName is the name of sig as records give it ("SIGKILL"), or
// "SIGn" for a signal without one (real-time signals).
func SignalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("SIG%d", int(sig))
}
