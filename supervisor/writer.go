package supervisor

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/exectrail/exectrail/supervisor/record"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// Format is the output format of records.
type Format int

const (
	FormatJSON Format = iota
	FormatText
	FormatECS // Elastic Common Schema documents (ecs.go)
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
	json   zerolog.Logger
	ecs    *ecsEncoder // FormatECS only
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
	w.json = zerolog.New(&w.buf)
	if format == FormatECS {
		w.ecs = newECSEncoder(&w.buf)
	}
	return w
}

// SetClock replaces time.Now (tests).
func (w *Writer) SetClock(now func() time.Time) { w.now = now }

// Seq returns the number of records written so far.
func (w *Writer) Seq() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq
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
		w.buf.b = appendText(w.buf.b, out)
		if w.fold != nil { // writer_fold.go
			if err := w.writeHeld(out); err != nil {
				w.unwritten()
				return err
			}
			w.buf.b = w.fold.take(out, w.buf.b)
		}
	case FormatECS:
		w.ecs.encode(out)
	default:
		w.appendJSON(out)
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

const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func (w *Writer) appendJSON(r *record.Record) { appendJSON(w.json, r) }

// AppendJSON appends r's JSON line (with its newline) to dst, exactly as a
// JSON Writer writes it.
func AppendJSON(dst []byte, r *record.Record) []byte {
	lb := lineBuffer{b: dst}
	appendJSON(zerolog.New(&lb), r)
	return lb.b
}

func appendJSON(l zerolog.Logger, r *record.Record) {
	e := l.Log().
		Uint64(record.FieldSeq, r.Seq).
		Str(record.FieldTime, r.Time.UTC().Format(timeLayout)).
		Str(record.FieldEvent, r.Event).
		Int(record.FieldPID, r.PID)
	switch r.Event {
	case record.EventExec:
		if !r.PPIDUnknown {
			e = e.Int(record.FieldPPID, r.PPID)
		}
		if r.TID != 0 && r.TID != r.PID {
			e = e.Int(record.FieldTID, r.TID)
		}
		if !r.PathUnknown {
			e = e.Str(record.FieldPath, string(r.Path))
			if !utf8.Valid(r.Path) {
				e = e.Str(record.FieldPathHex, hex.EncodeToString(r.Path))
			}
		}
		if r.Executable != "" {
			e = strField(e, record.FieldExecutable, record.FieldExecutableHex, r.Executable)
		}
		e = byteStrs(e, record.FieldArgv, record.FieldArgvHex, r.Argv)
		if r.ArgvTruncated {
			e = e.Bool(record.FieldArgvTruncated, true)
		}
		if r.Cwd != "" {
			e = strField(e, record.FieldCwd, record.FieldCwdHex, r.Cwd)
		}
		if r.Interpreter != "" {
			e = strField(e, record.FieldInterpreter, record.FieldInterpreterHex, r.Interpreter)
		}
		if len(r.InterpreterChain) > 0 {
			e = e.Strs(record.FieldInterpreterChain, r.InterpreterChain)
			valid := true
			for _, s := range r.InterpreterChain {
				valid = valid && utf8.ValidString(s)
			}
			if !valid {
				hx := make([]string, len(r.InterpreterChain))
				for i, s := range r.InterpreterChain {
					hx[i] = hex.EncodeToString([]byte(s))
				}
				e = e.Strs(record.FieldInterpreterChainHex, hx)
			}
		}
		if r.HasUID {
			e = e.Int(record.FieldUID, r.UID)
		}
		if r.CgroupID != 0 {
			e = e.Uint64(record.FieldCgroupID, r.CgroupID)
		}
		if r.Cgroup != "" {
			e = strField(e, record.FieldCgroup, record.FieldCgroupHex, r.Cgroup)
		}
		if r.CgroupV1 != "" {
			e = strField(e, record.FieldCgroupV1, record.FieldCgroupV1Hex, r.CgroupV1)
		}
		if r.CgroupV1Controllers != "" {
			e = strField(e, record.FieldCgroupV1Controllers, record.FieldCgroupV1ControllersHex, r.CgroupV1Controllers)
		}
		// Container ids, runtimes and pod UIDs are ASCII by construction
		// (procfs.Container): no hex siblings.
		if r.ContainerID != "" {
			e = e.Str(record.FieldContainerID, r.ContainerID)
		}
		if r.ContainerRuntime != "" {
			e = e.Str(record.FieldContainerRuntime, r.ContainerRuntime)
		}
		if r.PodUID != "" {
			e = e.Str(record.FieldPodUID, r.PodUID)
		}
		if r.PidNS != 0 {
			e = e.Uint64(record.FieldPidNS, r.PidNS)
		}
		if r.MntNS != 0 {
			e = e.Uint64(record.FieldMntNS, r.MntNS)
		}
		if r.HasFile {
			e = e.Str(record.FieldDev, fmt.Sprintf("%d:%d", unix.Major(r.FileDev), unix.Minor(r.FileDev))).
				Uint64(record.FieldIno, r.FileIno).Uint64(record.FieldMntID, r.MntID)
		}
		if r.MountPoint != "" {
			e = strField(e, record.FieldMountPoint, record.FieldMountPointHex, r.MountPoint)
		}
		if r.MountRoot != "" {
			e = strField(e, record.FieldMountRoot, record.FieldMountRootHex, r.MountRoot)
		}
		if r.MountSource != "" {
			e = strField(e, record.FieldMountSource, record.FieldMountSourceHex, r.MountSource)
		}
		if r.SameFile != nil {
			e = e.Bool(record.FieldSameFile, *r.SameFile)
		}
		if r.OuterPath != "" {
			e = strField(e, record.FieldOuterPath, record.FieldOuterPathHex, r.OuterPath)
		}
		if r.InterpreterSameFile != nil {
			e = e.Bool(record.FieldInterpreterSameFile, *r.InterpreterSameFile)
		}
		if r.Syscall != "" && r.Syscall != "execve" {
			e = e.Str(record.FieldSyscall, r.Syscall)
		}
		if r.ABI != "" {
			e = e.Str(record.FieldABI, r.ABI)
		}
	case record.EventFork:
		if r.ChildPID != 0 {
			e = e.Int(record.FieldChildPID, r.ChildPID)
		}
		e = e.Str(record.FieldKind, r.Kind)
		if r.TID != 0 && r.TID != r.PID {
			e = e.Int(record.FieldTID, r.TID)
		}
		if r.ABI != "" {
			e = e.Str(record.FieldABI, r.ABI)
		}
	case record.EventExit:
		if r.ExitCode != nil {
			e = e.Int(record.FieldExitCode, *r.ExitCode)
		}
		if r.Signal != "" {
			e = e.Str(record.FieldSignal, r.Signal)
		}
		if r.DurationMS != nil {
			e = e.Float64(record.FieldDurationMS, *r.DurationMS)
		}
	case record.EventStart:
		e = appendStartJSON(e, r.Start) // trail.go
	case record.EventEnd:
		e = appendEndJSON(e, r)
	}
	e = appendRedactedFields(e, r) // writer_redact.go
	if r.Error != "" {
		e = e.Str(record.FieldError, r.Error)
	}
	if r.ErrorDetail != "" {
		e = e.Str(record.FieldErrorDetail, r.ErrorDetail)
	}
	if r.ReadError != "" {
		e = e.Str(record.FieldReadError, r.ReadError)
	}
	if r.Action != "" {
		e = e.Str(record.FieldAction, r.Action)
	}
	if r.Verified != nil {
		e = e.Bool(record.FieldVerified, *r.Verified)
	}
	e = appendTrailJSON(e, r) // trail.go: run_id, prev, chain
	e.Send()
}

func strField(e *zerolog.Event, key, hexKey, v string) *zerolog.Event {
	e = e.Str(key, v)
	if !utf8.ValidString(v) {
		e = e.Str(hexKey, hex.EncodeToString([]byte(v)))
	}
	return e
}

// appendText renders r as one aligned line for people:
//
//	3 09:28:08.123 exec   4242 <4241  /usr/bin/ls  ./ls -l  (cwd /usr/bin)
func appendText(b []byte, r *record.Record) []byte {
	b = fmt.Appendf(b, "%6d %s %-5s %7d ", r.Seq, r.Time.Local().Format("15:04:05.000"), r.Event, r.PID)
	switch r.Event {
	case record.EventExec:
		b = fmt.Appendf(b, "<%-7d ", r.PPID)
		exe := r.Executable
		if exe == "" {
			exe = "?"
		}
		b = appendPrintable(b, exe)
		b = append(b, "  "...)
		for i, a := range r.Argv {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendWord(b, a)
		}
		if r.ArgvTruncated {
			b = append(b, " …"...)
		}
		if r.Cwd != "" {
			b = append(b, "  (cwd "...)
			b = appendPrintable(b, r.Cwd)
			b = append(b, ')')
		}
		if r.Interpreter != "" {
			b = append(b, " [interp "...)
			b = appendPrintable(b, r.Interpreter)
			for _, s := range r.InterpreterChain {
				b = append(b, " via "...)
				b = appendPrintable(b, s)
			}
			b = append(b, ']')
		}
		if string(r.Path) != r.Executable {
			b = append(b, " [path "...)
			b = appendWord(b, r.Path)
			b = append(b, ']')
		}
		if r.ABI != "" {
			b = append(b, " ["+r.ABI+"]"...)
		}
		b = appendContainer(b, r)
	case record.EventFork:
		b = append(b, r.Kind...)
		if r.ChildPID != 0 {
			b = append(b, " -> "...)
			b = strconv.AppendInt(b, int64(r.ChildPID), 10)
		}
	case record.EventExit:
		if r.ExitCode != nil {
			b = fmt.Appendf(b, "exit %d", *r.ExitCode)
		}
		if r.Signal != "" {
			b = append(b, "killed by "+r.Signal...)
		}
		if r.DurationMS != nil {
			b = fmt.Appendf(b, " after %.1fms", *r.DurationMS)
		}
	case record.EventStart:
		b = appendStartText(b, r) // trail.go
	case record.EventEnd:
		b = appendEndText(b, r)
	}
	if r.Action != "" {
		b = append(b, "  "+strings.ToUpper(r.Action)...)
	}
	if r.Error != "" {
		b = append(b, "  ! "+r.Error...)
		if r.ErrorDetail != "" {
			b = append(b, " ("...)
			b = appendPrintable(b, r.ErrorDetail)
			b = append(b, ')')
		}
	}
	return append(b, '\n')
}

// appendContainer writes " [docker 4f2a9c1d6e8b pod 0b2c…]": the runtime,
// the container id shortened as docker ps shows it, and the pod UID.
func appendContainer(b []byte, r *record.Record) []byte {
	if r.ContainerID == "" && r.PodUID == "" {
		return b
	}
	var words []string
	if r.ContainerID != "" {
		if r.ContainerRuntime != "" {
			words = append(words, r.ContainerRuntime)
		} else {
			words = append(words, "container")
		}
		id := r.ContainerID
		if len(id) > 12 {
			id = id[:12]
		}
		words = append(words, id)
	}
	if r.PodUID != "" {
		words = append(words, "pod", r.PodUID)
	}
	b = append(b, " ["...)
	b = appendPrintable(b, strings.Join(words, " "))
	return append(b, ']')
}

// appendWord writes an argument so that a person can tell where it starts
// and ends: bare when it is plain, otherwise Go-quoted (which also shows
// invalid UTF-8, control bytes and non-printing runes as escapes).
func appendWord(b []byte, w []byte) []byte {
	plain := len(w) > 0 && printable(string(w))
	for _, c := range w {
		if c == ' ' || c == '"' || c == '\'' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return append(b, w...)
	}
	return strconv.AppendQuote(b, string(w))
}

// appendPrintable writes s as it is when it is printable, otherwise with
// Go escapes for what is not (the quotes left off).
func appendPrintable(b []byte, s string) []byte {
	if printable(s) {
		return append(b, s...)
	}
	q := strconv.Quote(s)
	return append(b, q[1:len(q)-1]...)
}

// printable reports whether s is valid UTF-8 made only of runes that print
// (strconv.IsPrint): no C0 or C1 control (U+009B is CSI to a terminal), no
// DEL, no line or paragraph separator.
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			// RuneError: invalid UTF-8 (a literal U+FFFD is quoted
			// too, harmlessly).
			return false
		}
	}
	return true
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
