package supervisor

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// Format is the output format of records.
type Format int

const (
	FormatJSON Format = iota
	FormatText
	FormatECS // Elastic Common Schema documents (record.ECS)
)

// String is the format's --format name.
func (f Format) String() string {
	switch f {
	case FormatText:
		return "text"
	case FormatECS:
		return "ecs"
	}
	return "json"
}

// ParseFormat parses a --format value.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "json":
		return FormatJSON, nil
	case "text":
		return FormatText, nil
	case "ecs":
		return FormatECS, nil
	}
	return 0, fmt.Errorf("unknown format %q (want json, text or ecs)", s)
}

// Writer numbers records and writes each one, whole, with a single write
// to its output before returning. It is safe for concurrent use; seq
// numbers follow output order.
type Writer struct {
	mu     sync.Mutex
	out    io.Writer
	format Format
	seq    uint64
	now    func() time.Time
	buf    lineBuffer
	ecs    *record.ECS // FormatECS only
	err    error
	// Called with every record written (AddObserver, writer_observer.go).
	observers []func(*record.Record)
	// The run id, chain and counts (SetTrail, trail.go); nil without.
	trail *trailState
	// The backends' counts of trapped calls, for the end record.
	calls callCounters
	// Redaction and the environment diff (writer_redact.go).
	red redactState
	// fold, when set, folds PATH misses in text (writer_fold.go).
	fold *pathFold
}

// NewWriter returns a Writer that writes to out. out should not buffer:
// FDWriter is the usual choice.
func NewWriter(out io.Writer, format Format) *Writer {
	w := &Writer{out: out, format: format, now: time.Now}
	if format == FormatECS {
		w.ecs = record.NewECS(ecsHost())
	}
	return w
}

// ErrOutput wraps a failure to write the record output.
var ErrOutput = errors.New("writing records")

// Write assigns r its seq number (and time, if unset) and writes it. After
// a write error every later Write fails with the same error and the seq
// number is not consumed: no gap is ever visible in what was written.
func (w *Writer) Write(r *record.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		w.unwritten()
		return w.err
	}
	if err := w.stamp(r); err != nil { // trail.go
		return err
	}
	r.Seq = w.seq + 1
	if r.Time.IsZero() {
		r.Time = w.now()
	}
	// Secrets are masked and the environment diffed on a copy, before
	// anything is encoded (writer_redact.go).
	out := w.prepare(r)
	w.buf.b = w.buf.b[:0]
	switch w.format {
	case FormatText:
		w.buf.b = record.AppendText(w.buf.b, out)
		if w.fold != nil { // writer_fold.go
			if err := w.writeHeld(out); err != nil {
				w.unwritten()
				return err
			}
			w.buf.b = w.fold.take(out, w.buf.b)
		}
	case FormatECS:
		w.buf.b = w.ecs.Append(w.buf.b, out)
	default:
		w.buf.b = record.AppendJSON(w.buf.b, out)
	}
	w.buf.b = w.seal(r, w.buf.b) // trail.go: signs an end record
	if err := writeAll(w.out, w.buf.b); err != nil {
		w.err = fmt.Errorf("%w: %w", ErrOutput, err)
		w.unwritten()
		return w.err
	}
	w.seq = r.Seq
	w.chained(r, w.buf.b) // trail.go
	for _, f := range w.observers {
		f(out)
	}
	return nil
}

type lineBuffer struct{ b []byte }

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	return len(p), nil
}

func writeAll(out io.Writer, b []byte) error {
	for len(b) > 0 {
		n, err := out.Write(b)
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}

// FDWriter writes straight to a file descriptor with write(2): no
// buffering, no SIGPIPE death through the os package, EINTR retried.
type FDWriter int

func (fd FDWriter) Write(p []byte) (int, error) {
	for {
		n, err := unix.Write(int(fd), p)
		if err == unix.EINTR || err == unix.EAGAIN {
			if err == unix.EAGAIN {
				waitWritable(int(fd))
			}
			continue
		}
		if err != nil {
			return max(n, 0), err
		}
		return n, nil
	}
}

func waitWritable(fd int) {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	_, _ = unix.Poll(pfd, -1)
}

// LockWriterThread locks the calling goroutine to its OS thread and blocks
// SIGTTOU there. Records may go to the terminal while an interactive shell
// in the job owns it; with `stty tostop` such a write from a background
// process group would stop exectrail — and with it every held exec. A
// thread that blocks SIGTTOU is allowed to write. Only this thread's mask
// changes, so the command does not inherit anything.
func LockWriterThread() {
	runtime.LockOSThread()
	BlockSIGTTOU(true)
}

// BlockSIGTTOU blocks SIGTTOU on the calling thread, or unblocks it
// (block false). Only that thread's mask changes: call it on a goroutine
// locked to its thread (exectrail run --record does, to set the terminal's
// modes).
func BlockSIGTTOU(block bool) {
	var set unix.Sigset_t
	sig := uint(unix.SIGTTOU) - 1
	set.Val[sig/64] |= 1 << (sig % 64)
	how := unix.SIG_BLOCK
	if !block {
		how = unix.SIG_UNBLOCK
	}
	_ = unix.PthreadSigmask(how, &set, nil)
}
