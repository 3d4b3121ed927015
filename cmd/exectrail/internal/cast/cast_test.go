package cast

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

var origin = time.Unix(1_700_000_000, 0)

func at(d time.Duration) time.Time { return origin.Add(d) }

func newTestWriter(t *testing.T, buf *bytes.Buffer) *Writer {
	t.Helper()
	w, err := NewWriter(buf, Header{Width: 80, Height: 24, Timestamp: origin.Unix(), Command: "bash", Env: map[string]string{"TERM": "xterm", "SHELL": "/bin/bash"}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func readAll(t *testing.T, data []byte) (Header, []Event) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var evs []Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return r.Header, evs
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
}

func TestWriteRead(t *testing.T) {
	var buf bytes.Buffer
	w := newTestWriter(t, &buf)
	steps := []error{
		w.Output(at(1500*time.Millisecond), []byte("hello \x1b[1mworld\x1b[0m\r\n")),
		w.Mark(at(1500*time.Millisecond+7*time.Microsecond), "exec /usr/bin/ls -l"),
		w.Input(at(2*time.Second), []byte("ls\r")),
		w.Resize(at(3*time.Second), 101, 33),
		w.Output(at(4*time.Second+123456789), []byte(`"quoted" \ back`+"\t\b\f\x00\x7f")),
		w.Close(),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	var hdr map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &hdr); err != nil {
		t.Fatal(err)
	}
	if hdr["version"] != 2.0 || hdr["width"] != 80.0 || hdr["height"] != 24.0 || hdr["timestamp"] != 1.7e9 {
		t.Errorf("header %v", hdr)
	}
	want := []string{
		`[1.500000, "o", "hello \u001b[1mworld\u001b[0m\r\n"]`,
		`[1.500007, "m", "exec /usr/bin/ls -l"]`,
		`[2.000000, "i", "ls\r"]`,
		`[3.000000, "r", "101x33"]`,
		`[4.123456, "o", "\"quoted\" \\ back\t\b\f\u0000\u007f"]`,
	}
	if got := lines[1:]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	h, evs := readAll(t, buf.Bytes())
	if h.Env["TERM"] != "xterm" || h.Command != "bash" || h.Timestamp != origin.Unix() {
		t.Errorf("header read back: %+v", h)
	}
	if len(evs) != 5 || evs[0].Data != "hello \x1b[1mworld\x1b[0m\r\n" || evs[4].Data != `"quoted" \ back`+"\t\b\f\x00\x7f" || evs[1].Time != 1.500007 {
		t.Errorf("events read back: %+v", evs)
	}
	if evs[3].Type != Resize || evs[3].Data != "101x33" {
		t.Errorf("resize read back as %+v", evs[3])
	}
}

// Times never go backwards: an event stamped before the last one written
// takes its time.
func TestTimesMonotonic(t *testing.T) {
	var buf bytes.Buffer
	w := newTestWriter(t, &buf)
	_ = w.Output(at(2*time.Second), []byte("a"))
	_ = w.Mark(at(time.Second), "exec /bin/true")
	_ = w.Output(at(-time.Hour), []byte("b"))
	_, evs := readAll(t, buf.Bytes())
	for _, ev := range evs {
		if ev.Time != 2 {
			t.Errorf("event %q at %v, want 2 (not before the previous event)", ev.Data, ev.Time)
		}
	}
}

// Output cut in the middle of a UTF-8 sequence is written whole in the
// next event; bytes that are not UTF-8 become U+FFFD, one per byte.
func TestUTF8Boundaries(t *testing.T) {
	var buf bytes.Buffer
	w := newTestWriter(t, &buf)
	smile := []byte("😀") // f0 9f 98 80
	_ = w.Output(at(1), append([]byte("a"), smile[:1]...))
	_ = w.Output(at(2), smile[1:3])
	_ = w.Input(at(3), []byte("é"[:1])) // the input stream has its own carry
	_ = w.Output(at(4), append(smile[3:], "b\xff\xfe"...))
	_ = w.Input(at(5), []byte("é"[1:]))
	_ = w.Output(at(6), []byte("c\xe2\x82")) // cut short, never completed
	_ = w.Close()
	_, evs := readAll(t, buf.Bytes())
	var out, in strings.Builder
	for _, ev := range evs {
		if ev.Type == Output {
			out.WriteString(ev.Data)
		} else {
			in.WriteString(ev.Data)
		}
	}
	if got, want := out.String(), "a😀b\ufffd\ufffdc\ufffd\ufffd"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if in.String() != "é" {
		t.Errorf("input %q, want é", in.String())
	}
	for _, ev := range evs {
		if ev.Data == "" {
			t.Errorf("empty event written: %v", ev)
		}
	}
}

// Any cutting of a byte stream into reads gives the same text as the
// whole stream, as Go converts it (one U+FFFD per invalid byte).
func FuzzChunking(f *testing.F) {
	f.Add([]byte("héllo 😀 wörld"), []byte{1, 2, 3})
	f.Add([]byte("\xf0\x9f\x98\x80\xf0\x9f\x98"), []byte{5, 1})
	f.Add([]byte("\xe2\x82\xac\xed\xa0\x80\xc0\xaf"), []byte{0, 2, 1, 1})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		var buf bytes.Buffer
		w := newTestWriter(t, &buf)
		rest := data
		for _, c := range cuts {
			n := min(int(c)%8, len(rest))
			if err := w.Output(at(time.Second), rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Output(at(time.Second), rest); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		_, evs := readAll(t, buf.Bytes())
		var got strings.Builder
		for _, ev := range evs {
			got.WriteString(ev.Data)
		}
		if want := string([]rune(string(data))); got.String() != want {
			t.Fatalf("chunked %q: got %q, want %q", data, got.String(), want)
		}
	})
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

// After a write error every call fails with it.
func TestWriteError(t *testing.T) {
	w, err := NewWriter(&failWriter{n: 1}, Header{Width: 1, Height: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Output(at(0), []byte("x")); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got %v, want disk full", err)
	}
	if err := w.Mark(at(0), "m"); err == nil {
		t.Fatal("write after an error succeeded")
	}
	closed := newTestWriter(t, &bytes.Buffer{})
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	if err := closed.Output(at(0), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Close: %v, want ErrClosed", err)
	}
	if _, err := NewWriter(&failWriter{}, Header{Width: 1, Height: 1}); err == nil {
		t.Fatal("header write error not reported")
	}
	if _, err := NewWriter(io.Discard, Header{}); err == nil {
		t.Fatal("a header without a size was accepted")
	}
}

// Concurrent writers produce whole lines.
func TestConcurrent(t *testing.T) {
	var buf bytes.Buffer
	w := newTestWriter(t, &buf)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				if i%2 == 0 {
					_ = w.Output(time.Now(), []byte(strings.Repeat("x", j)))
				} else {
					_ = w.Mark(time.Now(), "exec /bin/true")
				}
			}
		}()
	}
	wg.Wait()
	_, evs := readAll(t, buf.Bytes())
	if len(evs) != 8*200-4 { // Output of "" writes nothing
		t.Fatalf("%d events, want %d", len(evs), 8*200-4)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Time < evs[i-1].Time {
			t.Fatalf("event %d goes back in time: %v after %v", i, evs[i].Time, evs[i-1].Time)
		}
	}
}

func TestReaderRejects(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty"},
		{"v1", `{"version": 1, "width": 80, "height": 24, "stdout": []}` + "\n", "version 1"},
		{"not json", "hello\n", "not an asciicast"},
		{"no size", `{"version": 2}` + "\n", "size 0x0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tc.in))
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrFormat mentioning %q", err, tc.want)
			}
		})
	}
	r, err := NewReader(strings.NewReader("{\"version\": 2, \"width\": 2, \"height\": 1}\n[0.5, \"o\", \"a\"]\n\n[1, \"o\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := r.Next(); err != nil || ev.Data != "a" {
		t.Fatalf("first event: %v %v", ev, err)
	}
	if _, err := r.Next(); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("bad event: got %v, want an error naming line 4", err)
	}
}
