package integration

// The harness's terminals: an interactive shell on a pty (startOnPTY,
// termScreen, typeKeys), and a session recorded with --record
// (recordSession) and its asciicast file (parseCast).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// shellPrompt is the shells' PS1: it appears in no command the tests type.
const shellPrompt = "ttyprompt-5c1e> "

// termScreen collects what the terminal shows and waits for strings in it.
type termScreen struct {
	mu      sync.Mutex
	buf     []byte
	off     int // everything before off has been matched
	eof     bool
	changed chan struct{}
}

// waitForAny waits, bounded by waitTimeout, until one of wants appears
// after the previous match, consumes the screen up to the end of the first
// one and returns it.
func (s *termScreen) waitForAny(t *testing.T, wants ...string) string {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		first, end := "", -1
		for _, w := range wants {
			if i := bytes.Index(s.buf[s.off:], []byte(w)); i >= 0 && (end < 0 || i < end-len(first)) {
				first, end = w, i+len(w)
			}
		}
		if end >= 0 {
			s.off += end
		}
		eof, seen := s.eof, string(s.buf[s.off:])
		s.mu.Unlock()
		if end >= 0 {
			return first
		}
		if eof {
			t.Fatalf("terminal closed before any of %q appeared; unmatched output:\n%q", wants, seen)
		}
		select {
		case <-s.changed:
		case <-timer.C:
			t.Fatalf("none of %q appeared on the terminal within %v; unmatched output:\n%q", wants, waitTimeout, seen)
		}
	}
}

// shown returns everything the terminal has shown, and whether it has
// closed.
func (s *termScreen) shown() (all string, eof bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.buf), s.eof
}

// quiet checks that exectrail wrote nothing of its own to the terminal:
// neither a Go crash nor an "exectrail:" message.
func (s *termScreen) quiet(t *testing.T) {
	t.Helper()
	all, _ := s.shown()
	noPanic(t, all)
	if strings.Contains(all, "exectrail:") {
		t.Errorf("exectrail wrote to the terminal:\n%q", all)
	}
}

// waitFor waits, bounded by waitTimeout, until want appears after the
// previous match, and consumes the screen up to its end.
func (s *termScreen) waitFor(t *testing.T, want string) {
	t.Helper()
	s.waitForAny(t, want)
}

func newTermScreen(master *os.File) *termScreen {
	s := &termScreen{changed: make(chan struct{}, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			s.mu.Lock()
			s.buf = append(s.buf, b[:n]...)
			if err != nil {
				s.eof = true
			}
			s.mu.Unlock()
			select {
			case s.changed <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

// typeKeys writes keystrokes to the terminal.
func typeKeys(t *testing.T, master *os.File, keys string) {
	t.Helper()
	if _, err := master.WriteString(keys); err != nil {
		t.Fatalf("typing %q: %v", keys, err)
	}
}

// shellEnv is the environment of the interactive shells.
func shellEnv(extra ...string) []string {
	return append([]string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=/tmp",
		"TERM=dumb",
		"PS1=" + shellPrompt,
		"HISTFILE=/dev/null",
		"INPUTRC=/dev/null",
		"LC_ALL=C",
	}, extra...)
}

func requireBash(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		skipf(t, "needs bash")
	}
}

// startOnPTY starts cmd on a new pty of rows×cols, kills it and closes the
// master when the test ends, and returns the master with a screen that
// collects everything the pty shows.
func startOnPTY(t *testing.T, cmd *exec.Cmd, rows, cols uint16) (*os.File, *termScreen) {
	t.Helper()
	master, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		master.Close()
	})
	return master, newTermScreen(master)
}

// asciicast is a parsed cast file.
type asciicast struct {
	Header map[string]any
	Events []castEvent
}

// output is the concatenated data of the "o" events.
func (c *asciicast) output() string { return c.join("o") }

func (c *asciicast) join(typ string) string {
	var b strings.Builder
	for _, ev := range c.Events {
		if ev.Type == typ {
			b.WriteString(ev.Data)
		}
	}
	return b.String()
}

func (c *asciicast) count(typ string) int {
	n := 0
	for _, ev := range c.Events {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// timestamp is the header's timestamp.
func (c *asciicast) timestamp() int64 { return int64(c.Header["timestamp"].(float64)) }

// castEvent is one cast event.
type castEvent struct {
	Time float64
	Type string
	Data string
}

// parseCast reads a cast line by line with encoding/json and checks
// what asciicast v2 requires: a header object with version 2, a positive
// integer width and height and an integer timestamp; then events
// [time, type, data] with a number, a known type and a string, in time
// order. Every line must be complete: a truncated last line fails.
func parseCast(t *testing.T, file string) *asciicast {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &asciicast{}
	r := bufio.NewReaderSize(f, 1<<20)
	prev := 0.0
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil {
			t.Fatalf("cast line %d is not complete: %v %q", n, err, line)
		}
		if n == 1 {
			if err := json.Unmarshal(line, &c.Header); err != nil {
				t.Fatalf("cast header is not a JSON object: %v\n%s", err, line)
			}
			for _, k := range []string{"version", "width", "height", "timestamp"} {
				v, ok := c.Header[k].(float64)
				if !ok || v != math.Trunc(v) || v <= 0 {
					t.Fatalf("cast header: %s is %v, want a positive integer\n%s", k, c.Header[k], line)
				}
			}
			if c.Header["version"] != 2.0 {
				t.Fatalf("cast header: version %v, want 2", c.Header["version"])
			}
			continue
		}
		var ev []any
		if err := json.Unmarshal(line, &ev); err != nil || len(ev) != 3 {
			t.Fatalf("cast line %d is not an event [time, type, data]: %v\n%s", n, err, line)
		}
		tm, ok1 := ev[0].(float64)
		typ, ok2 := ev[1].(string)
		data, ok3 := ev[2].(string)
		if !ok1 || !ok2 || !ok3 || !strings.Contains("oirm", typ) || len(typ) != 1 {
			t.Fatalf("cast line %d: want [number, \"o|i|r|m\", string]: %s", n, line)
		}
		if tm < prev {
			t.Fatalf("cast line %d goes back in time: %v after %v", n, tm, prev)
		}
		prev = tm
		c.Events = append(c.Events, castEvent{tm, typ, data})
	}
	if c.Header == nil {
		t.Fatal("cast file is empty")
	}
	return c
}

// recordSession is exectrail run --record on a pty, as a person uses it.
type recordSession struct {
	cmd    *exec.Cmd
	master *os.File
	screen *termScreen
	tty    string // the outer terminal's name
	cast   string
	out    string // the records
}

// start runs exectrail on the outer terminal, as its session leader and
// only user, and waits for the shell's first prompt.
func (s *recordSession) start(t *testing.T, flags ...string) {
	t.Helper()
	args := append([]string{"run", "--backend", backend, "-o", s.out, "--format", "json", "--record", s.cast}, flags...)
	args = append(args, "--", "bash", "--norc", "--noprofile", "-i")
	s.cmd = exec.Command(exectrail, args...)
	s.cmd.Env = shellEnv("SHELL=/bin/bash")
	s.cmd.Dir = "/"
	fd, err := unix.Open(s.tty, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	slave := os.NewFile(uintptr(fd), s.tty)
	s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr = slave, slave, slave
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = s.cmd.Start()
	// Only exectrail holds the terminal now: the screen ends when it
	// exits.
	slave.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.cmd.Process.Kill() })
	s.screen = newTermScreen(s.master)
	s.screen.waitFor(t, shellPrompt)
}

// exit types exit to the session's shell and waits (wait).
func (s *recordSession) exit(t *testing.T) (syscall.WaitStatus, string) {
	t.Helper()
	typeKeys(t, s.master, "exit\r")
	return s.wait(t)
}

// wait waits for exectrail to exit and for the terminal to show all it
// wrote, and returns the status and everything the terminal showed.
func (s *recordSession) wait(t *testing.T) (syscall.WaitStatus, string) {
	t.Helper()
	ws := waitCmd(t, s.cmd)
	return ws, s.drain(t)
}

// drain waits for the screen to close and returns all it showed.
func (s *recordSession) drain(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		if all, eof := s.screen.shown(); eof {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal did not close within %v", waitTimeout)
		}
		select {
		case <-s.screen.changed:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startRecording starts `exectrail run --record CAST [flags] -- bash -i` on a
// new outer terminal of 80x24 and waits for the first prompt.
func startRecording(t *testing.T, flags ...string) *recordSession {
	t.Helper()
	s := openRecording(t)
	s.start(t, flags...)
	return s
}

// openRecording opens the outer terminal, 80x24, for a session not yet started.
func openRecording(t *testing.T) *recordSession {
	t.Helper()
	requireBash(t)
	dir := t.TempDir()
	s := &recordSession{cast: filepath.Join(dir, "session.cast"), out: filepath.Join(dir, "records")}
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	slave.Close() // reopened by name: the master keeps the terminal alive
	s.master, s.tty = master, slave.Name()
	t.Cleanup(func() { master.Close() })
	if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	return s
}

// innerTTY names the session's own terminal, the pty exectrail made:
// the shell's stdin.
func innerTTY(t *testing.T, s *recordSession) string {
	t.Helper()
	recs := waitRecords(t, s.out, "the exec of bash", func(r []Record) bool { return len(r) > 0 })
	name, err := os.Readlink("/proc/" + strconv.Itoa(recs[0].PID) + "/fd/0")
	if err != nil || !strings.HasPrefix(name, "/dev/pts/") || name == s.tty {
		t.Fatalf("the shell's stdin is %q (%v), want exectrail's pty", name, err)
	}
	return name
}

// termiosOf reads the settings of the terminal named tty, without
// keeping it open (an open slave would keep the session's pty alive).
func termiosOf(tty string) (*unix.Termios, error) {
	fd, err := unix.Open(tty, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return unix.IoctlGetTermios(fd, unix.TCGETS)
}
