package session

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cast"
	"github.com/exectrail/exectrail/supervisor"
	"github.com/exectrail/exectrail/supervisor/redact"
	"golang.org/x/sys/unix"
)

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

// Session is one recorded session.
type Session struct {
	opt       *Options
	cfg       Config
	cast      *cast.Writer
	tty       bool      // pty mode
	master    int       // pty mode: exectrail's end of the pty
	childEnds []int     // the job's ends, closed once it has them
	files     []uintptr // the job's fds 0, 1, 2

	// Output relay (relay.go). outMu is held while reading a source and
	// writing what was read, so that chunks reach the cast in the order
	// they were read.
	outMu   sync.Mutex
	srcs    []*relaySource
	buf     []byte
	outWake [2]int
	outDone chan struct{}

	inWake  [2]int // pty mode: stops the input relay
	running bool   // the relays were started

	// The real terminal (pty mode; term.go, hangup.go).
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

// Prepare prepares the session: the pty or the pipes, the cast header.
// It sets attr.Files (and, for a pty, the new session) for the job. With
// opt nil (no --record) it returns nil, and attr is left as it is.
func Prepare(opt *Options, cfg Config, attr *syscall.ProcAttr) (*Session, error) {
	if opt == nil {
		return nil, nil
	}
	s := &Session{opt: opt, cfg: cfg, master: -1, rootFD: -1,
		outWake: [2]int{-1, -1}, inWake: [2]int{-1, -1},
		outDone: make(chan struct{}), sigDone: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			s.closeAll()
		}
	}()
	hdr := s.header()
	var err error
	if isTerminal(0) {
		err = s.preparePTY(attr)
	} else {
		err = s.preparePipes()
	}
	if err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	hdr.Width, hdr.Height = int(s.size.Col), int(s.size.Row)
	if err := unix.Pipe2(s.outWake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("--record: %w", os.NewSyscallError("pipe2", err))
	}
	cw, err := cast.NewWriter(supervisor.FDWriter(s.opt.fd), hdr)
	if err != nil {
		return nil, fmt.Errorf("--record %s: %w", s.opt.path, err)
	}
	s.cast = cw
	s.buf = make([]byte, relayChunk)
	attr.Files = s.files
	ok = true
	return s, nil
}

// header is the cast header but for the size: the command line and the
// terminal's environment, secrets masked.
func (s *Session) header() cast.Header {
	argv := s.cfg.Argv
	hdr := cast.Header{Timestamp: time.Now().Unix(), Env: map[string]string{}}
	for _, k := range []string{"TERM", "SHELL"} {
		if v, set := os.LookupEnv(k); set {
			hdr.Env[k] = v
		}
	}
	if rd := s.cfg.Redactor; rd != nil {
		raw := make([][]byte, len(argv))
		for i, a := range argv {
			raw[i] = []byte(a)
		}
		masked, _ := rd.Argv(raw)
		argv = make([]string, len(masked))
		for i, a := range masked {
			argv[i] = string(a)
		}
		for k, v := range hdr.Env {
			hdr.Env[k], _ = rd.String(v)
		}
		s.outRed, s.inRed = rd.NewStream(), rd.NewStream()
	}
	hdr.Command = shellJoin(argv)
	return hdr
}

// Started is called once the job was started (or failed to start, err):
// the job's ends are closed here, and the relays begin.
func (s *Session) Started(pid int, err error) {
	if s == nil {
		return
	}
	for _, fd := range s.childEnds {
		unix.Close(fd)
	}
	s.childEnds = nil
	if err != nil {
		s.Finish()
		return
	}
	if fd, err := unix.PidfdOpen(pid, 0); err == nil {
		s.rootFD = fd
	}
	if s.tty {
		// Continued after a stop: raw mode again, and the size may
		// have changed meanwhile. Stopped by SIGTSTP: give the terminal
		// back first.
		s.sigs = make(chan os.Signal, 4)
		signal.Notify(s.sigs, unix.SIGCONT, unix.SIGTSTP)
		go s.jobControl()
		s.enterRaw()
		go s.relayInput()
	}
	s.running = true
	go s.relayOutput()
}

// Finish ends the recording once the job is gone: the rest of the output
// is relayed, the cast completed, and the terminal restored. It is to be
// called on every way out of the run after Prepare succeeded, before
// exectrail exits or dies of COMMAND's signal.
func (s *Session) Finish() {
	if s == nil || s.finished {
		return
	}
	if s.inWake[1] >= 0 {
		_, _ = unix.Write(s.inWake[1], []byte{0})
	}
	if s.running {
		select {
		case <-s.outDone:
		case <-time.After(finishWait):
			_, _ = unix.Write(s.outWake[1], []byte{0})
			select {
			case <-s.outDone:
			case <-time.After(time.Second):
				// Stuck writing to exectrail's own output: give
				// up on it.
			}
		}
	}
	if s.sigs != nil {
		signal.Stop(s.sigs)
		close(s.sigs)
		<-s.sigDone
	}
	s.termMu.Lock()
	s.finished = true
	s.restore()
	if s.killer != nil {
		s.killer.Stop()
	}
	if s.rootFD >= 0 {
		unix.Close(s.rootFD)
		s.rootFD = -1
	}
	s.termMu.Unlock()
	// Not under outMu: a relay stuck writing exectrail's own output
	// holds it. After Close the cast writer writes nothing more.
	s.flushRedaction()
	s.castWrote(s.cast.Close())
	if err := unix.Close(s.opt.fd); err != nil {
		s.castWrote(fmt.Errorf("closing: %w", err))
	}
	if p := s.castErr.Load(); p != nil {
		s.warn(fmt.Sprintf("--record %s: the recording is incomplete: %v", s.opt.path, *p))
	}
}

// castWrote notes the first error writing the cast, and says so at once:
// the session goes on, unrecorded.
func (s *Session) castWrote(err error) {
	if err == nil || errors.Is(err, cast.ErrClosed) || !s.castErr.CompareAndSwap(nil, &err) {
		return
	}
	s.warn(fmt.Sprintf("--record %s: %v; the session goes on without being recorded", s.opt.path, err))
}

// warn prints a warning on exectrail's stderr, with \r\n line ends while
// the terminal is raw.
func (s *Session) warn(msg string) {
	if s.cfg.Warn != nil {
		s.cfg.Warn(&crlfWriter{fd: 2, raw: &s.rawOn}, msg)
	}
}

// closeAll releases what Prepare opened when it fails.
func (s *Session) closeAll() {
	for _, fd := range s.childEnds {
		unix.Close(fd)
	}
	for _, src := range s.srcs {
		if src.fd >= 0 {
			unix.Close(src.fd)
		}
	}
	if len(s.srcs) == 0 && s.master >= 0 {
		unix.Close(s.master)
	}
	for _, fd := range []int{s.inWake[0], s.inWake[1], s.outWake[0], s.outWake[1], s.opt.fd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}
