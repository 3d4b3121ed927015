package main

// exectrail run --record FILE: the session's terminal and every exec on one
// timeline, in asciicast v2 (package cast).
//
// Two modes, chosen by whether stdin is a terminal:
//
//	               | pty mode (stdin is a terminal)        | pipe mode (it is not)
//	---------------+---------------------------------------+------------------------------------
//	job's 0, 1, 2  | the slave of a new pty; the job is a   | 0 untouched; 1 and 2 pipes (one
//	               | session of its own (setsid) with the   | pipe when they were the same file,
//	               | pty as controlling terminal            | as 2>&1 makes them)
//	relayed        | stdin -> master, master -> stdout,     | each pipe -> the fd it replaces,
//	               | byte for byte                          | byte for byte
//	real terminal  | raw while the session runs; restored   | untouched
//	               | on every way out                       |
//	events         | o, r, m, and i with --record-input     | o, m
//	signals        | SIGWINCH resizes the pty ("r");        | as without --record
//	               | SIGTERM and SIGHUP hang the session up |
//	               | (see endSession); the rest forwarded   |
//
// Each exec record becomes an "m" event through the Writer's observer,
// called under the Writer's lock while the exec is held: the observer first
// relays whatever output is already waiting (everything the job wrote
// before the exec), then writes the marker with the record's own time. So
// in the file a program's marker comes after all output written before it
// was started and before any output of its own.
//
// Output is read by one goroutine in chunks of a fixed buffer and each
// chunk is written out and to the cast before the next read: memory does
// not grow with the output, and a job that outruns its terminal is slowed
// by the terminal, as it would be without exectrail, not by the recording.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cast"
	"github.com/exectrail/exectrail/supervisor"
	"github.com/exectrail/exectrail/supervisor/record"
	"github.com/exectrail/exectrail/supervisor/redact"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
)

// recordFlags are the run flags of recording.
type recordFlags struct {
	file  string
	input bool
}

func (f *recordFlags) define(fs *pflag.FlagSet) {
	fs.StringVar(&f.file, "record", "", "record the session to FILE (asciicast v2: what the terminal showed, resizes, and a marker for every exec)")
	fs.BoolVar(&f.input, "record-input", false, "with --record, record what is typed too (passwords included); off by default")
}

// recordOptions is the validated form of the recording flags.
type recordOptions struct {
	path  string
	fd    int // the cast file
	input bool
}

// options opens the cast file; nil without --record.
func (f *recordFlags) options() (*recordOptions, error) {
	if f.file == "" {
		if f.input {
			return nil, errors.New("--record-input needs --record FILE")
		}
		return nil, nil
	}
	if f.file == "-" {
		return nil, errors.New("--record needs a file name (stdout is the session's)")
	}
	// 0600: a session shows whatever the terminal showed.
	fd, err := unix.Open(f.file, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--record: %w", &os.PathError{Op: "open", Path: f.file, Err: err})
	}
	return &recordOptions{path: f.file, fd: fd, input: f.input}, nil
}

const (
	relayChunk = 32 << 10
	// markDrainMax bounds what the observer relays before a marker, while
	// the exec is held: more than a pty or a pipe can hold.
	markDrainMax = 256 << 10
	// finishWait bounds the wait for the job's output to end once every
	// process of the job is gone (it then ends at once, unless a process
	// outside the job holds the pty or a pipe).
	finishWait = 5 * time.Second
)

// recorder is one recorded session.
type recorder struct {
	opt       *recordOptions
	killGrace time.Duration
	cast      *cast.Writer
	tty       bool      // pty mode
	master    int       // pty mode: exectrail's end of the pty
	childEnds []int     // the job's ends, closed once it has them
	files     []uintptr // the job's fds 0, 1, 2

	// Output relay. outMu is held while reading a source and writing what
	// was read, so that chunks reach the cast in the order they were read.
	outMu   sync.Mutex
	srcs    []*relaySource
	buf     []byte
	outWake [2]int
	outDone chan struct{}

	inWake  [2]int // pty mode: stops the input relay
	running bool   // the relays were started

	// The real terminal (pty mode).
	termMu  sync.Mutex
	saved   *unix.Termios // its settings before raw mode
	rawOn   atomic.Bool
	size    unix.Winsize
	ending  bool // SIGTERM or SIGHUP: the session is being hung up
	rootFD  int  // pidfd of COMMAND, for the hang-up; -1 when closed
	killer  *time.Timer
	sigs    chan os.Signal
	sigDone chan struct{}

	castErr  atomic.Pointer[error]
	finished bool

	// Secrets masked in the "o" and "i" events (nil with --no-redact):
	// a Stream each, outRed under outMu, inRed under inMu.
	outRed, inRed *redact.Stream
	inMu          sync.Mutex
}

// relaySource is one stream of the job's output.
type relaySource struct {
	fd     int // read end, non-blocking
	dst    int // exectrail's fd it is relayed to
	pipe   bool
	eof    bool
	dstBad bool // writing dst failed: the rest is only recorded
}

// newRecorder prepares the session: the pty or the pipes, the cast header.
// It sets attr.Files (and, for a pty, the new session) for the job.
func newRecorder(opt *options, attr *syscall.ProcAttr) (*recorder, error) {
	r := &recorder{opt: opt.record, killGrace: opt.killGrace, master: -1, rootFD: -1,
		outWake: [2]int{-1, -1}, inWake: [2]int{-1, -1},
		outDone: make(chan struct{}), sigDone: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			r.closeAll()
		}
	}()
	hdr := cast.Header{Timestamp: time.Now().Unix(), Command: shellJoin(opt.argv), Env: map[string]string{}}
	for _, k := range []string{"TERM", "SHELL"} {
		if v, set := os.LookupEnv(k); set {
			hdr.Env[k] = v
		}
	}
	if rd := opt.redactor; rd != nil {
		argv := make([][]byte, len(opt.argv))
		for i, a := range opt.argv {
			argv[i] = []byte(a)
		}
		masked, _ := rd.Argv(argv)
		words := make([]string, len(masked))
		for i, a := range masked {
			words[i] = string(a)
		}
		hdr.Command = shellJoin(words)
		for k, v := range hdr.Env {
			hdr.Env[k], _ = rd.String(v)
		}
		r.outRed, r.inRed = rd.NewStream(), rd.NewStream()
	}
	if isTerminal(0) {
		r.tty = true
		saved, err := getTermios(0)
		if err != nil {
			return nil, fmt.Errorf("--record: %w", err)
		}
		r.saved = saved
		ws, _ := getWinsize(0)
		if ws.Col == 0 || ws.Row == 0 {
			ws.Col, ws.Row = 80, 24
		}
		r.size = ws
		master, slave, err := openPTY()
		if err != nil {
			return nil, fmt.Errorf("--record: %w", err)
		}
		r.master = master
		r.childEnds = append(r.childEnds, slave)
		// The session starts with the settings of the real terminal,
		// as script(1) does: erase character, UTF-8 input, and so on.
		if err := unix.IoctlSetTermios(slave, unix.TCSETS, saved); err != nil {
			return nil, fmt.Errorf("--record: %w", os.NewSyscallError("tcsetattr", err))
		}
		if err := setWinsize(master, ws); err != nil {
			return nil, fmt.Errorf("--record: %w", err)
		}
		r.files = []uintptr{uintptr(slave), uintptr(slave), uintptr(slave)}
		if attr.Sys == nil {
			attr.Sys = &syscall.SysProcAttr{}
		}
		// COMMAND leads a session of its own whose controlling
		// terminal is the pty: job control, Ctrl-C and window sizes
		// all happen there.
		attr.Sys.Setsid = true
		attr.Sys.Setctty = true
		attr.Sys.Ctty = 0
		r.srcs = []*relaySource{{fd: master, dst: 1}}
		if err := unix.Pipe2(r.inWake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			return nil, fmt.Errorf("--record: %w", os.NewSyscallError("pipe2", err))
		}
	} else {
		ws := unix.Winsize{Col: 80, Row: 24}
		for _, fd := range []int{1, 2} {
			if w, err := getWinsize(fd); err == nil && w.Col > 0 && w.Row > 0 {
				ws = w
				break
			}
		}
		r.size = ws
		r.files = []uintptr{0, 1, 2}
		dsts := []int{1, 2}
		if sameFile(1, 2) {
			// One pipe keeps the order of what the job writes to both.
			dsts = []int{1}
		}
		for _, dst := range dsts {
			var p [2]int
			if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
				return nil, fmt.Errorf("--record: %w", os.NewSyscallError("pipe2", err))
			}
			r.childEnds = append(r.childEnds, p[1])
			r.srcs = append(r.srcs, &relaySource{fd: p[0], dst: dst, pipe: true})
			if err := unix.SetNonblock(p[0], true); err != nil {
				return nil, fmt.Errorf("--record: %w", os.NewSyscallError("fcntl", err))
			}
			if len(dsts) == 1 {
				r.files[1], r.files[2] = uintptr(p[1]), uintptr(p[1])
			} else {
				r.files[dst] = uintptr(p[1])
			}
		}
		// --record-input has nothing to record: stdin goes to the job
		// untouched.
	}
	hdr.Width, hdr.Height = int(r.size.Col), int(r.size.Row)
	if err := unix.Pipe2(r.outWake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("--record: %w", os.NewSyscallError("pipe2", err))
	}
	cw, err := cast.NewWriter(supervisor.FDWriter(r.opt.fd), hdr)
	if err != nil {
		return nil, fmt.Errorf("--record %s: %w", r.opt.path, err)
	}
	r.cast = cw
	r.buf = make([]byte, relayChunk)
	attr.Files = r.files
	ok = true
	return r, nil
}

// started is called once the job was started (or failed to start, err):
// the job's ends are closed here, and the relays begin.
func (r *recorder) started(pid int, err error) {
	if r == nil {
		return
	}
	for _, fd := range r.childEnds {
		unix.Close(fd)
	}
	r.childEnds = nil
	if err != nil {
		r.finish()
		return
	}
	if fd, err := unix.PidfdOpen(pid, 0); err == nil {
		r.rootFD = fd
	}
	if r.tty {
		// Continued after a stop: raw mode again, and the size may
		// have changed meanwhile. Stopped by SIGTSTP: give the terminal
		// back first.
		r.sigs = make(chan os.Signal, 4)
		signal.Notify(r.sigs, unix.SIGCONT, unix.SIGTSTP)
		go r.jobControl()
		r.enterRaw()
		go r.relayInput()
	}
	r.running = true
	go r.relayOutput()
}

// observe makes every exec record a marker.
func (r *recorder) observe(w *supervisor.Writer) {
	if r != nil {
		w.AddObserver(r.onRecord)
	}
}

// sink returns where records written to fd go: on the terminal that is
// raw for the session, lines end in \r\n so that they still start at the
// left margin.
func (r *recorder) sink(fd int) io.Writer {
	if r == nil || !r.tty || !sameTerminal(fd, 0) {
		return supervisor.FDWriter(fd)
	}
	return &crlfWriter{fd: fd, raw: &r.rawOn}
}

// onRecord runs under the Writer's lock, the exec held.
func (r *recorder) onRecord(rec *record.Record) {
	if rec.Event != record.EventExec {
		return
	}
	r.outMu.Lock()
	defer r.outMu.Unlock()
	// Everything the job wrote before this exec goes before its marker.
	budget := markDrainMax
	for _, s := range r.srcs {
		for budget > 0 && !s.eof {
			n := r.readOnce(s, rec.Time)
			if n <= 0 {
				break
			}
			budget -= n
		}
	}
	r.castWrote(r.cast.Mark(rec.Time, markerLabel(rec)))
}

// readOnce reads one chunk of s, relays it and records it at time t (now
// when zero). It returns the bytes read, 0 when none was waiting, -1 at
// the end. outMu is held.
func (r *recorder) readOnce(s *relaySource, t time.Time) int {
	var n int
	var err error
	for {
		n, err = unix.Read(s.fd, r.buf)
		if err != unix.EINTR {
			break
		}
	}
	if err == unix.EAGAIN {
		return 0
	}
	if n <= 0 {
		// EOF, or EIO: a pty whose slave no process has open.
		s.eof = true
		return -1
	}
	if t.IsZero() {
		t = time.Now()
	}
	p := r.buf[:n]
	if !s.dstBad {
		if _, werr := supervisor.FDWriter(s.dst).Write(p); werr != nil {
			s.dstBad = true
			if s.pipe && werr == unix.EPIPE {
				// Nobody reads what the job writes: let the job find
				// out as it would without exectrail (SIGPIPE).
				unix.Close(s.fd)
				s.fd = -1
				s.eof = true
			}
		}
	}
	r.castOutput(t, p)
	return n
}

// castOutput records output, secrets masked. outMu is held.
func (r *recorder) castOutput(t time.Time, p []byte) {
	if r.outRed != nil {
		p = r.outRed.Write(p)
	}
	r.castWrote(r.cast.Output(t, p))
}

// castInput records input, secrets masked.
func (r *recorder) castInput(t time.Time, p []byte) {
	r.inMu.Lock()
	defer r.inMu.Unlock()
	if r.inRed != nil {
		p = r.inRed.Write(p)
	}
	r.castWrote(r.cast.Input(t, p))
}

// flushRedaction records what the masking streams still hold, at the
// end. Output held by a relay that is stuck writing exectrail's own
// output (it holds outMu) is dropped rather than waited for: the cast may
// miss its last bytes, but never shows a secret.
func (r *recorder) flushRedaction() {
	now := time.Now()
	if r.outRed != nil && r.outMu.TryLock() {
		r.castWrote(r.cast.Output(now, r.outRed.Flush()))
		r.outMu.Unlock()
	}
	if r.inRed != nil {
		r.inMu.Lock()
		r.castWrote(r.cast.Input(now, r.inRed.Flush()))
		r.inMu.Unlock()
	}
}

// relayOutput relays the job's output until every source has ended, or
// until told to stop (then it relays what is waiting and returns).
func (r *recorder) relayOutput() {
	defer close(r.outDone)
	pfds := make([]unix.PollFd, 0, len(r.srcs)+1)
	live := make([]*relaySource, 0, len(r.srcs))
	for {
		pfds, live = pfds[:0], live[:0]
		r.outMu.Lock()
		for _, s := range r.srcs {
			if !s.eof {
				pfds = append(pfds, unix.PollFd{Fd: int32(s.fd), Events: unix.POLLIN})
				live = append(live, s)
			}
		}
		r.outMu.Unlock()
		if len(live) == 0 {
			return
		}
		pfds = append(pfds, unix.PollFd{Fd: int32(r.outWake[0]), Events: unix.POLLIN})
		if _, err := unix.Poll(pfds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		stop := pfds[len(pfds)-1].Revents != 0
		r.outMu.Lock()
		for i, s := range live {
			if stop {
				// What is waiting, bounded: nothing new can come from
				// a job that is gone.
				for range markDrainMax / relayChunk {
					if r.readOnce(s, time.Time{}) <= 0 {
						break
					}
				}
			} else if pfds[i].Revents != 0 && !s.eof {
				r.readOnce(s, time.Time{})
			}
		}
		r.outMu.Unlock()
		if stop {
			return
		}
	}
}

// relayInput copies what is typed to the pty (and to the cast with
// --record-input) until the terminal or the session ends.
func (r *recorder) relayInput() {
	buf := make([]byte, 4096)
	pfds := []unix.PollFd{{Fd: 0, Events: unix.POLLIN}, {Fd: int32(r.inWake[0]), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(pfds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if pfds[1].Revents != 0 {
			return
		}
		if pfds[0].Revents == 0 {
			continue
		}
		n, err := unix.Read(0, buf)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if n <= 0 {
			return // the terminal hung up
		}
		if r.opt.input {
			r.castInput(time.Now(), buf[:n])
		}
		if !r.writeMaster(buf[:n], pfds[1:]) {
			return
		}
	}
}

// writeMaster writes p to the pty, waiting while its input queue is full
// (the job is not reading). It returns false when the session is over.
func (r *recorder) writeMaster(p []byte, wake []unix.PollFd) bool {
	for len(p) > 0 {
		n, err := unix.Write(r.master, p)
		switch {
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			pfds := []unix.PollFd{{Fd: int32(r.master), Events: unix.POLLOUT}, wake[0]}
			if _, err := unix.Poll(pfds, -1); err != nil && err != unix.EINTR {
				return false
			}
			if pfds[1].Revents != 0 {
				return false
			}
		case err != nil:
			return false
		default:
			p = p[n:]
		}
	}
	return true
}

// enterRaw puts the real terminal in raw mode, unless the session is
// being hung up. From the background this stops exectrail until it is in
// the foreground.
func (r *recorder) enterRaw() {
	r.termMu.Lock()
	defer r.termMu.Unlock()
	if r.ending || r.finished {
		return
	}
	if err := setTermios(0, makeRaw(*r.saved), true); err != nil {
		warnf("--record: %v", err)
		return
	}
	r.rawOn.Store(true)
}

// restore gives the real terminal its settings back. It never stops
// exectrail, even from the background.
func (r *recorder) restore() {
	if r.saved == nil || !r.rawOn.Load() {
		return
	}
	_ = setTermios(0, r.saved, false)
	r.rawOn.Store(false)
}

// jobControl handles SIGTSTP (terminal back, then stop) and SIGCONT (raw
// again, size again) for exectrail itself.
func (r *recorder) jobControl() {
	defer close(r.sigDone)
	for sig := range r.sigs {
		switch sig {
		case unix.SIGTSTP:
			r.termMu.Lock()
			r.restore()
			r.termMu.Unlock()
			_ = unix.Kill(os.Getpid(), unix.SIGSTOP)
		case unix.SIGCONT:
			if inForeground(0) {
				r.enterRaw()
				r.syncSize()
			}
		}
	}
}

// syncSize gives the pty the real terminal's size and records a change.
func (r *recorder) syncSize() {
	ws, err := getWinsize(0)
	if err != nil || ws.Col == 0 || ws.Row == 0 {
		return
	}
	r.termMu.Lock()
	changed := ws.Col != r.size.Col || ws.Row != r.size.Row
	r.size = ws
	r.termMu.Unlock()
	if !changed {
		return
	}
	// Recorded first, so that it comes before any output drawn for the
	// new size; the kernel then sends SIGWINCH to the pty's foreground
	// process group.
	r.castWrote(r.cast.Resize(time.Now(), int(ws.Col), int(ws.Row)))
	_ = setWinsize(r.master, ws)
}

// signal is called for every signal exectrail catches, before it is
// forwarded. It reports whether the signal was dealt with here. In pty
// mode the job shares no process group with exectrail, so nothing the
// terminal sent exectrail has reached it: the signal is marked as sent
// to exectrail alone.
func (r *recorder) onSignal(s forwardedSignal) (forwardedSignal, bool) {
	if r == nil || !r.tty {
		return s, false
	}
	switch s.sig {
	case unix.SIGWINCH:
		r.syncSize()
		return s, true
	case unix.SIGTERM, unix.SIGHUP:
		r.endSession()
	}
	s.code = 0
	return s, false
}

// endSession answers SIGTERM or SIGHUP in pty mode: the terminal gets its
// settings back at once and input stops; the session is hung up as a
// terminal would be (SIGHUP and SIGCONT to COMMAND, the session leader;
// when it exits the kernel hangs up the pty's foreground job), so an
// interactive shell that ignores SIGTERM ends too. The signal itself is
// still forwarded. Output goes on being relayed and recorded until the
// job is gone; COMMAND is killed if it outlives --kill-grace.
func (r *recorder) endSession() {
	r.termMu.Lock()
	defer r.termMu.Unlock()
	if r.ending {
		return
	}
	r.ending = true
	r.restore()
	_, _ = unix.Write(r.inWake[1], []byte{0})
	if r.rootFD >= 0 {
		_ = unix.PidfdSendSignal(r.rootFD, unix.SIGHUP, nil, 0)
		_ = unix.PidfdSendSignal(r.rootFD, unix.SIGCONT, nil, 0)
		r.killer = time.AfterFunc(r.killGrace, func() {
			r.termMu.Lock()
			defer r.termMu.Unlock()
			if r.rootFD >= 0 {
				_ = unix.PidfdSendSignal(r.rootFD, unix.SIGKILL, nil, 0)
			}
		})
	}
}

// finish ends the recording once the job is gone: the rest of the output
// is relayed, the cast completed, and the terminal restored. It is called
// on every way out of run after newRecorder succeeded, before exectrail
// exits or dies of COMMAND's signal.
func (r *recorder) finish() {
	if r == nil || r.finished {
		return
	}
	if r.inWake[1] >= 0 {
		_, _ = unix.Write(r.inWake[1], []byte{0})
	}
	if r.running {
		select {
		case <-r.outDone:
		case <-time.After(finishWait):
			_, _ = unix.Write(r.outWake[1], []byte{0})
			select {
			case <-r.outDone:
			case <-time.After(time.Second):
				// Stuck writing to exectrail's own output: give
				// up on it.
			}
		}
	}
	if r.sigs != nil {
		signal.Stop(r.sigs)
		close(r.sigs)
		<-r.sigDone
	}
	r.termMu.Lock()
	r.finished = true
	r.restore()
	if r.killer != nil {
		r.killer.Stop()
	}
	if r.rootFD >= 0 {
		unix.Close(r.rootFD)
		r.rootFD = -1
	}
	r.termMu.Unlock()
	// Not under outMu: a relay stuck writing exectrail's own output
	// holds it. After Close the cast writer writes nothing more.
	r.flushRedaction()
	r.castWrote(r.cast.Close())
	if err := unix.Close(r.opt.fd); err != nil {
		r.castWrote(fmt.Errorf("closing: %w", err))
	}
	if p := r.castErr.Load(); p != nil {
		warnf("--record %s: the recording is incomplete: %v", r.opt.path, *p)
	}
}

// castWrote notes the first error writing the cast, and says so at once:
// the session goes on, unrecorded.
func (r *recorder) castWrote(err error) {
	if err == nil || errors.Is(err, cast.ErrClosed) || !r.castErr.CompareAndSwap(nil, &err) {
		return
	}
	msg := fmt.Sprintf("exectrail: warning: --record %s: %v; the session goes on without being recorded\n", r.opt.path, err)
	if r.rawOn.Load() {
		msg = strings.ReplaceAll(msg, "\n", "\r\n")
	}
	_, _ = supervisor.FDWriter(2).Write([]byte(msg))
}

// closeAll releases what newRecorder opened when it fails.
func (r *recorder) closeAll() {
	for _, fd := range r.childEnds {
		unix.Close(fd)
	}
	for _, s := range r.srcs {
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
	}
	if len(r.srcs) == 0 && r.master >= 0 {
		unix.Close(r.master)
	}
	for _, fd := range []int{r.inWake[0], r.inWake[1], r.outWake[0], r.outWake[1], r.opt.fd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// crlfWriter writes records to the terminal the session has made raw:
// with output processing off, \n alone would not return the cursor to the
// left margin.
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

// markerLabel is the data of an exec's marker: "exec EXECUTABLE ARGS…",
// with the error or the refusal, at most markerMax bytes.
func markerLabel(rec *record.Record) string {
	const markerMax = 256
	b := []byte("exec ")
	exe := rec.Executable
	if exe == "" {
		exe = string(rec.Path)
	}
	b = appendShellWord(b, []byte(exe))
	if len(rec.Argv) > 1 {
		for _, a := range rec.Argv[1:] {
			if len(b) > markerMax {
				break
			}
			b = append(b, ' ')
			b = appendShellWord(b, a)
		}
	}
	switch {
	case rec.Action == "deny":
		b = append(b, " [denied]"...)
	case rec.Error != "":
		b = append(b, " ["+rec.Error+"]"...)
	}
	if len(b) > markerMax {
		cut := markerMax
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		b = append(b[:cut], "…"...)
	}
	return string(b)
}

// appendShellWord appends w as a shell would need it: bare when plain,
// otherwise single-quoted, with bytes that do not print as escapes.
func appendShellWord(b, w []byte) []byte {
	plain := len(w) > 0
	for _, c := range w {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_./=:,+@%^", c) >= 0) {
			plain = false
			break
		}
	}
	if plain {
		return append(b, w...)
	}
	if utf8.Valid(w) && printableString(string(w)) {
		return append(append(append(b, '\''), strings.ReplaceAll(string(w), "'", `'\''`)...), '\'')
	}
	// $'…' with escapes for what does not print (bash, zsh, ksh).
	q := strconv.Quote(string(w))
	q = strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
	return append(append(append(b, "$'"...), strings.ReplaceAll(q, "'", `\'`)...), '\'')
}

func printableString(s string) bool {
	for _, c := range s {
		if !strconv.IsPrint(c) {
			return false
		}
	}
	return true
}

// shellJoin is argv as one command line for the cast header.
func shellJoin(argv []string) string {
	var b []byte
	for i, a := range argv {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendShellWord(b, []byte(a))
	}
	return string(b)
}
