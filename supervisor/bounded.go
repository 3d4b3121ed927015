package supervisor

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor/record"
)

// DefaultReadTimeout bounds the building of one exec record: the reads of
// the caller's memory and of /proc, and the path resolution. A hostile job
// can make any of them block for ever — a path in a userfaultfd page that
// nobody serves blocks process_vm_readv (and /proc/PID/mem) in the
// kernel, a FUSE file whose server never answers blocks the open — and the
// kernel offers no way to cancel such a read from outside except killing
// the reading thread's whole process.
const DefaultReadTimeout = 2 * time.Second

// maxStalled is how many stalled reads may be pending at once (each holds
// a thread of exectrail in the kernel until the job's memory answers or
// the job ends). Past it, every exec is refused without being read: the
// job only harms itself.
const maxStalled = 64

// stallGuard counts the reads given up while still stuck in the kernel.
type stallGuard struct{ n atomic.Int32 }

func (g *stallGuard) full() bool { return g.n.Load() >= maxStalled }

// stalledRecord is the exec record of call c whose record could not be
// built within timeout (or not tried, when too many reads are stuck
// already). Only the thread id and, when it can be had without reading
// anything of the job, the process id are known.
func (h *Handler) stalledRecord(c *Call, timeout time.Duration, full bool) *record.Record {
	pid := c.TID
	if tgid, err := h.tgidOf(c.TID); err == nil {
		pid = tgid
	}
	why := fmt.Sprintf("reading the call (the caller's memory, /proc, the path) did not finish within %v: its memory or files block (a userfaultfd page nobody serves, a FUSE server that does not answer)", timeout)
	if full {
		why = fmt.Sprintf("%d earlier reads of this job's memory are still blocked or being waited for", maxStalled)
	}
	return &record.Record{Event: record.EventExec, PID: pid, TID: c.TID, Syscall: c.Sys.Kind.String(), ABI: abiOf(c),
		PathUnknown: true, PPIDUnknown: true, Argv: [][]byte{}, ArgvTruncated: true,
		Error: "EAGAIN", ErrorDetail: "refused: " + why + "; call refused with EAGAIN", Action: record.ActionDeny,
		ReadError: why}
}

// recordWorker builds exec records off the ptrace thread, which must stay
// free to serve the rest of the job: it waits for a record at most the
// timeout, and a worker that does not answer in time is abandoned (it
// finishes, or stays blocked, on its own) and replaced.
type recordWorker struct {
	jobs chan *recordJob
	done chan recordResult
}

type recordJob struct {
	t *procfs.Task
	c Call
	// state: 0 while the record is built, then 1 (the worker finished
	// first) or 2 (the caller gave up first).
	state atomic.Int32
}

type recordResult struct {
	r   *record.Record
	err error
}

// boundedWorkers runs ExecRecord under a timeout for one caller thread.
type boundedWorkers struct {
	mu    sync.Mutex
	w     *recordWorker
	timer *time.Timer
}

// errStalled is the error of a call whose record could not be built in
// time (or was not tried: too many reads are stuck); the refusal record to
// write goes with it.
type errStalled struct{}

func (errStalled) Error() string { return "reading the call stalled" }

func (w *recordWorker) run(h *Handler) {
	for j := range w.jobs {
		r, err := h.ExecRecord(j.t, &j.c)
		j.t.Close()
		if !j.state.CompareAndSwap(0, 1) {
			// Given up on while it was stuck: nobody waits for it.
			h.stalls.n.Add(-1)
			return
		}
		w.done <- recordResult{r, err}
	}
}

func (h *Handler) readTimeout() time.Duration {
	if h.ReadTimeout > 0 {
		return h.ReadTimeout
	}
	return DefaultReadTimeout
}

// isStalled reports whether err is errStalled.
func isStalled(err error) bool { _, ok := err.(errStalled); return ok }

// handOver is how long the ptrace thread waits for a record itself before
// it parks the call and goes on serving the rest of the job (issue #12:
// one stalled read must not hold the whole job up to the read timeout).
const handOver = 20 * time.Millisecond

// PendingRecord is an exec record still being built after handOver: the
// caller stays stopped, the tracer serves the others, and the result (or
// the give-up at Deadline) comes later.
type PendingRecord struct {
	h        *Handler
	j        *recordJob
	done     chan recordResult // the abandoned worker's own result channel
	c        Call
	Deadline time.Time
}

// ExecRecordOrPark builds the exec record of c off the calling thread (the
// ptrace thread, which must stay free to serve the rest of the job). It
// takes ownership of t. It waits at most handOver; a record not built by
// then is returned as a PendingRecord (its worker is taken off the shared
// slot, so the next call gets a fresh one), which the caller gives up at
// its Deadline. parked is how many of the caller's PendingRecords are
// still outstanding: each holds a worker that may be stuck in the kernel,
// so they count against maxStalled with the reads already given up — a
// job with many threads that all stall at once gets refusals, not one
// thread of exectrail each. A call refused that way, or not built in
// time, comes back as a refusal record with errStalled: the caller must
// refuse the call with EAGAIN.
func (h *Handler) ExecRecordOrPark(t *procfs.Task, c *Call, parked int) (*record.Record, *PendingRecord, error) {
	if int(h.stalls.n.Load())+parked >= maxStalled {
		t.Close()
		return h.stalledRecord(c, h.readTimeout(), true), nil, errStalled{}
	}
	return h.runOrPark(&recordJob{t: t, c: *c})
}

func (h *Handler) runOrPark(j *recordJob) (*record.Record, *PendingRecord, error) {
	timeout := h.readTimeout()
	start := time.Now()
	b := &h.bounded
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.w == nil {
		b.w = &recordWorker{jobs: make(chan *recordJob), done: make(chan recordResult, 1)}
		go b.w.run(h)
	}
	b.w.jobs <- j
	wait := min(handOver, timeout)
	if b.timer == nil {
		b.timer = time.NewTimer(wait)
	} else {
		b.timer.Reset(wait)
	}
	select {
	case res := <-b.w.done:
		b.timer.Stop()
		return res.r, nil, res.err
	case <-b.timer.C:
		p := &PendingRecord{h: h, j: j, done: b.w.done, c: j.c, Deadline: start.Add(timeout)}
		close(b.w.jobs) // the worker ends after this job
		b.w = nil
		return nil, p, nil
	}
}

// Result returns the channel the record arrives on once built.
func (p *PendingRecord) Result() <-chan recordResult { return p.done }

// GiveUp abandons the record at its deadline (or because its caller died):
// true when it was still being built (its worker is counted as stalled
// until it finishes); false when it finished meanwhile and its result is
// on Result().
func (p *PendingRecord) GiveUp() bool {
	if !p.j.state.CompareAndSwap(0, 2) {
		return false
	}
	p.h.stalls.n.Add(1)
	return true
}

// StalledRecord is the refusal record of a call given up at its deadline.
func (p *PendingRecord) StalledRecord() *record.Record {
	return p.h.stalledRecord(&p.c, p.h.readTimeout(), false)
}

// Unpack returns a record result's parts.
func (r recordResult) Unpack() (*record.Record, error) { return r.r, r.err }
