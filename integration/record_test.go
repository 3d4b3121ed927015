package integration

// exectrail run --record FILE: the terminal and every exec on one timeline,
// in asciicast v2 (issue 8). Sessions are driven through a pty, as a
// person would type them; every wait is bounded and waits for output.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// recStty returns `stty -a` of the terminal named tty.
func recStty(t *testing.T, tty string) string {
	t.Helper()
	fd, err := unix.Open(tty, unix.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), tty)
	defer f.Close()
	cmd := exec.Command("stty", "-a")
	cmd.Stdin = f
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("stty -a: %v\n%s", err, out)
	}
	return string(out)
}

func recReadRecords(t *testing.T, file string) *Run {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return &Run{Records: parseRecords(t, data)}
}

// The session of the issue: cd /bin, ./ls, echo hi, a resize, exit.
func TestRecordPTYSession(t *testing.T) {
	t.Parallel()
	before := time.Now().Unix()
	s := startRecording(t)
	typeKeys(t, s.master, "cd /bin\r")
	s.screen.waitFor(t, shellPrompt)
	typeKeys(t, s.master, "./ls\r")
	s.screen.waitFor(t, shellPrompt)
	typeKeys(t, s.master, "echo hi\r")
	s.screen.waitFor(t, "\nhi\r\n") // the output, not the echoed command
	s.screen.waitFor(t, shellPrompt)
	if err := pty.Setsize(s.master, &pty.Winsize{Rows: 33, Cols: 101}); err != nil {
		t.Fatal(err)
	}
	// SIGWINCH reaches exectrail asynchronously: type only once it has
	// resized the session's pty, as a person would.
	inner := innerTTY(t, s)
	waitUntil(t, "the session's pty to take the new size", func() bool {
		fd, err := unix.Open(inner, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			return false
		}
		defer unix.Close(fd)
		ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		return err == nil && ws.Row == 33 && ws.Col == 101
	})
	typeKeys(t, s.master, "stty size\r")
	s.screen.waitFor(t, "33 101")
	s.screen.waitFor(t, shellPrompt)
	// Ctrl-C reaches the foreground job of the recorded shell.
	typeKeys(t, s.master, "sleep 1000\r")
	recs := waitRecords(t, s.out, "the exec of sleep", func(r []Record) bool {
		return len((&Run{Records: r}).ExecsOf("/usr/bin/sleep")) > 0
	})
	killLater(t, recs, "/usr/bin/sleep")
	typeKeys(t, s.master, "\x03")
	s.screen.waitFor(t, shellPrompt)
	typeKeys(t, s.master, "echo status=$?\r")
	s.screen.waitFor(t, "status=130")
	s.screen.waitFor(t, shellPrompt)
	ws, screen := s.exit(t)
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("exectrail: status %v, want exit 0 (bash's)", ws)
	}
	noPanic(t, screen)

	c := parseCast(t, s.cast)
	h := c.Header
	if h["width"] != 80.0 || h["height"] != 24.0 {
		t.Errorf("header size %vx%v, want 80x24", h["width"], h["height"])
	}
	if ts := c.timestamp(); ts < before-1 || ts > time.Now().Unix() {
		t.Errorf("header timestamp %d is not the start of the session (%d)", ts, before)
	}
	if h["command"] != "bash --norc --noprofile -i" {
		t.Errorf("header command %q", h["command"])
	}
	env, _ := h["env"].(map[string]any)
	if env["TERM"] != "dumb" || env["SHELL"] != "/bin/bash" {
		t.Errorf("header env %v, want TERM=dumb and SHELL=/bin/bash", h["env"])
	}

	// The output events are exactly what the terminal showed.
	if got := c.output(); got != string([]rune(screen)) {
		t.Errorf("output events differ from the terminal:\nterminal: %q\ncast:     %q", screen, got)
	}
	if c.count("i") != 0 {
		t.Errorf("input recorded without --record-input: %q", c.join("i"))
	}

	// The resize, before the output that shows it.
	out := ""
	resized := false
	for _, ev := range c.Events {
		if ev.Type == "r" {
			if ev.Data != "101x33" {
				t.Errorf("resize event %q, want 101x33", ev.Data)
			}
			if strings.Contains(out, "33 101") {
				t.Errorf("resize event after stty showed the new size")
			}
			resized = true
		}
		if ev.Type == "o" {
			out += ev.Data
		}
	}
	if !resized {
		t.Errorf("no resize event:\n%v", c.Events)
	}

	// The marker of ./ls sits between the echo of the command and the
	// listing.
	all := recReadRecords(t, s.out)
	lsRecs := all.ExecsOf("/usr/bin/ls")
	if len(lsRecs) != 1 {
		t.Fatalf("want one exec of /usr/bin/ls:\n%s", dump(all.Records))
	}
	wantExec(t, lsRecs[0], "./ls", "/usr/bin/ls", "/usr/bin")
	out = ""
	found := false
	for i, ev := range c.Events {
		if ev.Type == "m" && ev.Data == "exec /usr/bin/ls" {
			found = true
			if !strings.HasSuffix(out, "./ls\r\n") {
				t.Errorf("the output before the ls marker does not end with the echoed command:\n%q", out[max(0, len(out)-200):])
			}
			after := ""
			for _, ev := range c.Events[i+1:] {
				if ev.Type == "o" {
					after += ev.Data
				}
			}
			listing, _, _ := strings.Cut(after, shellPrompt)
			if !strings.Contains(listing, "bash") || !strings.Contains(listing, "sleep") {
				t.Errorf("the output after the ls marker is not the listing of /usr/bin:\n%q", listing)
			}
			recTime, err := time.Parse(time.RFC3339Nano, lsRecs[0].Time)
			if err != nil {
				t.Fatal(err)
			}
			want := float64(recTime.Sub(time.Unix(c.timestamp(), 0))) / float64(time.Second)
			if math.Abs(ev.Time-want) > 0.001 {
				t.Errorf("ls marker at %.6f; the record's time relative to the header timestamp is %.6f", ev.Time, want)
			}
		}
		if ev.Type == "o" {
			out += ev.Data
		}
	}
	if !found {
		t.Fatalf("no marker \"exec /usr/bin/ls\":\n%v", c.Events)
	}
	// One marker per exec record, in seq order.
	var markers []string
	for _, ev := range c.Events {
		if ev.Type == "m" {
			markers = append(markers, ev.Data)
		}
	}
	execs := all.Execs()
	if len(markers) != len(execs) {
		t.Fatalf("%d markers for %d exec records:\n%q\n%s", len(markers), len(execs), markers, dump(execs))
	}
	for i, r := range execs {
		if !strings.HasPrefix(markers[i], "exec "+r.Executable) {
			t.Errorf("marker %d is %q, want exec %s…", i, markers[i], r.Executable)
		}
	}
}

// On a pty too, each marker follows exactly the output written before its
// exec, however far behind the relay of the output is.
func TestRecordMarkerOrderPTY(t *testing.T) {
	t.Parallel()
	s := startRecording(t)
	typeKeys(t, s.master, "for i in $(seq 200); do echo line$i; /bin/true; done; echo done$((1+1))\r")
	s.screen.waitFor(t, "done2")
	s.screen.waitFor(t, shellPrompt)
	s.exit(t)
	_, k := markersAfterLines(t, parseCast(t, s.cast), "\r\n")
	if k != 200 {
		t.Errorf("%d markers of true, want 200", k)
	}
}

// markersAfterLines checks the cast of a loop that echoes lineN and runs
// /usr/bin/true: the Nth marker "exec /usr/bin/true" comes right after
// the output "lineN" eol. It returns the output and the number of markers.
func markersAfterLines(t *testing.T, c *asciicast, eol string) (output string, markers int) {
	t.Helper()
	sofar, k := "", 0
	for _, ev := range c.Events {
		switch {
		case ev.Type == "o":
			sofar += ev.Data
		case ev.Type == "m" && ev.Data == "exec /usr/bin/true":
			k++
			if want := fmt.Sprintf("line%d%s", k, eol); !strings.HasSuffix(sofar, want) {
				t.Fatalf("marker %d of true: the output before it ends %q, want …%q", k, sofar[max(0, len(sofar)-20):], want)
			}
		}
	}
	return sofar, k
}

// asciinema's own player reads the cast and reproduces the output.
func TestRecordAsciinemaCat(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("asciinema"); err != nil {
		skipf(t, "needs asciinema (apt-get install asciinema)")
	}
	s := startRecording(t)
	// UTF-8, escape sequences, a line long enough to wrap.
	typeKeys(t, s.master, "printf '\\033[1mbold\\033[0m h\\303\\251llo \\342\\202\\254 %s\\n' $(seq 1 40)\r")
	s.screen.waitFor(t, "h\u00e9llo \u20ac 40")
	s.screen.waitFor(t, shellPrompt)
	typeKeys(t, s.master, "cd /bin && ./ls -d /\r")
	s.screen.waitFor(t, "\n/\r\n")
	s.screen.waitFor(t, shellPrompt)
	s.exit(t)
	c := parseCast(t, s.cast)
	want := c.output()

	// asciinema cat reads /dev/tty: give it a terminal.
	cmd := exec.Command("asciinema", "cat", s.cast)
	cmd.Env = append(os.Environ(), "ASCIINEMA_CONFIG_HOME="+t.TempDir())
	_, screen := startOnPTY(t, cmd, 24, 80)
	ws := waitCmd(t, cmd)
	got := (&recordSession{screen: screen, cmd: cmd}).drain(t)
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Fatalf("asciinema cat: %v\n%s", ws, got)
	}
	if got != want {
		t.Errorf("asciinema cat does not reproduce the recorded output:\nasciinema: %q\nrecorded:  %q", got, want)
	}
}

// SIGTERM or SIGHUP to exectrail mid-session ends it, and the terminal
// gets back exactly the settings it had (the session had made it raw).
// SIGTSTP gives the terminal back too, and SIGCONT makes it raw again.
func TestRecordTerminalRestored(t *testing.T) {
	for _, sig := range []syscall.Signal{unix.SIGTERM, unix.SIGHUP} {
		t.Run(unix.SignalName(sig), func(t *testing.T) {
			t.Parallel()
			requireBash(t)
			s := openRecording(t)
			name := s.tty
			before := recStty(t, name)
			s.start(t)
			raw := recStty(t, name)
			if raw == before || !strings.Contains(raw, "-icanon") {
				t.Fatalf("the terminal is not raw during the session:\n%s", raw)
			}
			typeKeys(t, s.master, "echo one$((1+1))\r")
			s.screen.waitFor(t, "one2")
			s.screen.waitFor(t, shellPrompt)

			if sig == unix.SIGTERM {
				// Stopped: the terminal is the shell's again.
				if err := s.cmd.Process.Signal(unix.SIGTSTP); err != nil {
					t.Fatal(err)
				}
				waitUntil(t, "exectrail to stop after SIGTSTP", func() bool { return procState(s.cmd.Process.Pid) == "T" })
				if got := recStty(t, name); got != before {
					t.Errorf("terminal while exectrail is stopped:\n%s\nwant:\n%s", got, before)
				}
				if err := s.cmd.Process.Signal(unix.SIGCONT); err != nil {
					t.Fatal(err)
				}
				waitUntil(t, "raw mode again after SIGCONT", func() bool { return recStty(t, name) == raw })
				typeKeys(t, s.master, "echo two$((1+1))\r")
				s.screen.waitFor(t, "two2")
				s.screen.waitFor(t, shellPrompt)
			}

			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			ws, screen := s.wait(t)
			noPanic(t, screen)
			if !ws.Signaled() && !ws.Exited() {
				t.Errorf("exectrail: status %v", ws)
			}
			if after := recStty(t, name); after != before {
				t.Errorf("terminal not restored after %v:\nbefore:\n%s\nafter:\n%s", sig, before, after)
			}
			c := parseCast(t, s.cast)
			if !strings.Contains(c.output(), "one2") {
				t.Errorf("the cast lacks the session's output: %q", c.output())
			}
		})
	}
}

// Typed input is recorded only with --record-input: a password read with
// echo off is nowhere in the file without it.
func TestRecordInput(t *testing.T) {
	for _, withInput := range []bool{false, true} {
		t.Run(fmt.Sprintf("record-input=%v", withInput), func(t *testing.T) {
			t.Parallel()
			var flags []string
			if withInput {
				flags = append(flags, "--record-input")
			}
			s := startRecording(t, flags...)
			typeKeys(t, s.master, "read -rs PW; echo len=${#PW}\r")
			// Wait until bash reads with echo off (-echo, and icanon,
			// unlike readline) before typing the secret.
			inner := innerTTY(t, s)
			waitUntil(t, "read -s to turn echo off", func() bool {
				st, err := termiosOf(inner)
				return err == nil && st.Lflag&unix.ECHO == 0 && st.Lflag&unix.ICANON != 0
			})
			typeKeys(t, s.master, "hunter2\r")
			s.screen.waitFor(t, "len=7")
			s.screen.waitFor(t, shellPrompt)
			s.exit(t)
			data, err := os.ReadFile(s.cast)
			if err != nil {
				t.Fatal(err)
			}
			c := parseCast(t, s.cast)
			if withInput {
				in := c.join("i")
				if !strings.Contains(in, "hunter2\r") || !strings.Contains(in, "exit\r") {
					t.Errorf("input events %q lack what was typed", in)
				}
			} else {
				if n := c.count("i"); n != 0 {
					t.Errorf("%d input events without --record-input: %q", n, c.join("i"))
				}
				if bytes.Contains(data, []byte("hunter2")) {
					t.Errorf("the secret typed with echo off is in the cast file")
				}
			}
		})
	}
}

// Without a terminal there is no pty: stdin reaches the job untouched,
// stdout and stderr stay apart (or together, as 2>&1 makes them), the
// output is still recorded and the job behaves as it does unrecorded.
func TestRecordNoTTY(t *testing.T) {
	t.Parallel()
	script := "cat; echo out; echo err >&2; cd /bin && ./ls -d /; echo end; exit 3"
	run := func(record bool, sameFile bool) (cast, stdout, stderr string, ws syscall.WaitStatus) {
		dir := t.TempDir()
		cast = filepath.Join(dir, "session.cast")
		args := []string{"run", "--backend", backend, "-o", filepath.Join(dir, "records")}
		if record {
			args = append(args, "--record", cast)
		}
		args = append(args, "--", "sh", "-c", script)
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, exectrail, args...)
		cmd.Stdin = strings.NewReader("from stdin\n")
		var o, e bytes.Buffer
		var both *os.File
		if sameFile {
			f, err := os.Create(filepath.Join(dir, "both"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			both = f
			cmd.Stdout, cmd.Stderr = f, f
		} else {
			cmd.Stdout, cmd.Stderr = &o, &e
		}
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("exectrail: %v\n%s", err, e.String())
		}
		if both != nil {
			b, err := os.ReadFile(both.Name())
			if err != nil {
				t.Fatal(err)
			}
			o.Write(b)
		}
		return cast, o.String(), e.String(), cmd.ProcessState.Sys().(syscall.WaitStatus)
	}

	_, plainOut, plainErr, plainWS := run(false, false)
	castFile, out, errOut, ws := run(true, false)
	if out != plainOut || errOut != plainErr || ws != plainWS {
		t.Errorf("recorded: stdout %q stderr %q status %v; unrecorded: %q %q %v", out, errOut, ws, plainOut, plainErr, plainWS)
	}
	if out != "from stdin\nout\n/\nend\n" || errOut != "err\n" || ws.ExitStatus() != 3 {
		t.Errorf("stdout %q stderr %q status %v", out, errOut, ws)
	}
	c := parseCast(t, castFile)
	if c.Header["width"] != 80.0 || c.Header["height"] != 24.0 {
		t.Errorf("header size %vx%v, want 80x24 without a terminal", c.Header["width"], c.Header["height"])
	}
	if n := c.count("r") + c.count("i"); n != 0 {
		t.Errorf("resize or input events without a terminal: %v", c.Events)
	}
	got := c.output()
	if strings.ReplaceAll(got, "err\n", "") != out || strings.Count(got, "err\n") != 1 {
		t.Errorf("recorded output %q; the job wrote %q and %q", got, out, errOut)
	}
	// The marker of ls: after the output written before it, before its
	// own.
	stdoutSoFar := ""
	found := false
	for _, ev := range c.Events {
		switch {
		case ev.Type == "m" && ev.Data == "exec /usr/bin/ls -d /":
			found = true
			if stdoutSoFar != "from stdin\nout\n" {
				t.Errorf("before the ls marker the stdout events are %q, want %q", stdoutSoFar, "from stdin\nout\n")
			}
		case ev.Type == "o":
			stdoutSoFar += strings.ReplaceAll(ev.Data, "err\n", "")
		}
	}
	if !found {
		t.Errorf("no marker \"exec /usr/bin/ls -d /\": %v", c.Events)
	}

	// Many execs between lines of output: each marker follows exactly
	// the output written before its exec, however far behind the relay
	// of the output is.
	dir := t.TempDir()
	castFile = filepath.Join(dir, "loop.cast")
	stdout, stderr, ws := runRaw(t, "run", "--backend", backend, "-o", filepath.Join(dir, "records"), "--record", castFile, "--",
		"sh", "-c", "i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo line$i; /bin/true; done")
	if ws.ExitStatus() != 0 || stderr != "" {
		t.Fatalf("loop: status %v stderr %q", ws, stderr)
	}
	sofar, k := markersAfterLines(t, parseCast(t, castFile), "\n")
	if k != 300 || sofar != stdout {
		t.Errorf("%d markers of true, want 300; output recorded %d bytes, written %d", k, len(sofar), len(stdout))
	}

	// 2>&1: one stream, in the order written.
	_, plainBoth, _, _ := run(false, true)
	castFile, both, _, _ := run(true, true)
	if want := "from stdin\nout\nerr\n/\nend\n"; both != want || plainBoth != want {
		t.Errorf("2>&1: recorded %q, unrecorded %q, want %q", both, plainBoth, want)
	}
	if got := parseCast(t, castFile).output(); got != both {
		t.Errorf("2>&1: recorded output %q, want %q", got, both)
	}
}

// When nobody reads exectrail's output any more, the job gets SIGPIPE as
// it would unrecorded (and exectrail dies of it, as it reports any
// COMMAND's death by signal).
func TestRecordNoTTYBrokenPipe(t *testing.T) {
	t.Parallel()
	run := func(flags ...string) syscall.WaitStatus {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		args := append([]string{"run", "--backend", backend, "-o", filepath.Join(t.TempDir(), "records")}, flags...)
		cmd := exec.CommandContext(ctx, exectrail, append(args, "--", "yes")...)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(stdout, make([]byte, 2)); err != nil {
			t.Fatal(err)
		}
		stdout.Close()
		_ = cmd.Wait()
		if ctx.Err() != nil {
			t.Fatalf("exectrail %q went on after its stdout was closed", flags)
		}
		return cmd.ProcessState.Sys().(syscall.WaitStatus)
	}
	plain := run()
	recorded := run("--record", filepath.Join(t.TempDir(), "yes.cast"))
	if !recorded.Signaled() || recorded.Signal() != unix.SIGPIPE || recorded != plain {
		t.Errorf("recorded: %v; unrecorded: %v; want death by SIGPIPE for both", recorded, plain)
	}
}

// 100 MB of output, recorded whole, without exectrail's memory growing
// with it.
func TestRecordLargeOutput(t *testing.T) {
	t.Parallel()
	const size = 100_000_000
	dir := t.TempDir()
	castFile := filepath.Join(dir, "big.cast")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The job waits on stdin after its output, so that exectrail's peak
	// memory can be read while it is still running.
	cmd := exec.CommandContext(ctx, exectrail, "run", "--backend", backend, "-o", filepath.Join(dir, "records"), "--record", castFile, "--",
		"sh", "-c", "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c "+strconv.Itoa(size)+"; cat >/dev/null")
	start := time.Now()
	stdin, stdout, stderr := startPipes(t, cmd)
	n, err := io.CopyN(io.Discard, stdout, size)
	if err != nil {
		t.Fatalf("read %d bytes of the job's output: %v\n%s", n, err, stderr.String())
	}
	elapsed := time.Since(start)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	if rest, _ := io.ReadAll(stdout); len(rest) != 0 {
		t.Errorf("%d bytes of output past the %d written", len(rest), size)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exectrail: %v\n%s", err, stderr.String())
	}
	var hwm int
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			hwm, _ = strconv.Atoi(f[1])
		}
	}
	if hwm == 0 || hwm > 64<<10 {
		t.Errorf("exectrail's peak memory (VmHWM) is %d kB, want under 64 MB", hwm)
	}
	t.Logf("100 MB relayed and recorded in %v; exectrail VmHWM %d kB", elapsed, hwm)

	// The cast holds every byte, in events of bounded size.
	c := parseCast(t, castFile)
	total, biggest := 0, 0
	for _, ev := range c.Events {
		if ev.Type == "o" {
			total += len(ev.Data)
			biggest = max(biggest, len(ev.Data))
		}
	}
	if total != size {
		t.Errorf("the cast holds %d bytes of output, want %d", total, size)
	}
	if biggest > 1<<20 {
		t.Errorf("an output event of %d bytes", biggest)
	}
}

// exectrail play replays the output at the recorded pace, sped up and with
// long pauses cut.
func TestRecordPlay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "s.cast")
	cast := `{"version": 2, "width": 80, "height": 24, "timestamp": 1700000000}
[0.1, "o", "a\u001b[1m"]
[0.5, "o", "b\r\n"]
[0.55, "m", "exec /usr/bin/true"]
[0.6, "r", "100x30"]
[0.7, "i", "typed"]
[100.5, "o", "c"]
`
	if err := os.WriteFile(file, []byte(cast), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, stderr, ws := runRaw(t, "play", "--speed", "2", "--idle-limit", "0.3", file)
	elapsed := time.Since(start)
	if ws.ExitStatus() != 0 || out != "a\x1b[1mb\r\nc" || stderr != "" {
		t.Fatalf("play: status %v stdout %q stderr %q", ws, out, stderr)
	}
	// 0.1 + 0.3 (0.4 cut to 0.3) + 0.3 (100 cut to 0.3), halved.
	if elapsed < 350*time.Millisecond {
		t.Errorf("play took %v, want at least 0.35s", elapsed)
	}

	for _, bad := range [][]string{
		{"play", filepath.Join(dir, "missing.cast")},
		{"play", "/etc/hostname"},
		{"play", "--speed", "0", file},
		{"play"},
	} {
		_, stderr, ws := runRaw(t, bad...)
		if ws.ExitStatus() == 0 {
			t.Errorf("%q: exit 0", bad)
		}
		oneErrorLine(t, strings.Join(bad, " "), stderr)
	}
	_, stderr, ws = runRaw(t, "run", "--record-input", "--", "true")
	if ws.ExitStatus() != 125 {
		t.Errorf("--record-input without --record: status %v", ws)
	}
	oneErrorLine(t, "--record-input without --record", stderr)
}
