package cast

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/exectrail/exectrail/supervisor/record"
)

// Event types.
const (
	Output = "o"
	Input  = "i"
	Resize = "r"
	Marker = "m"
)

// Header is the first line of an asciicast v2 file.
type Header struct {
	Version int `json:"version"`
	Width   int `json:"width"`
	Height  int `json:"height"`
	// Timestamp is the Unix time, in whole seconds, that event times
	// count from.
	Timestamp     int64             `json:"timestamp,omitempty"`
	Duration      float64           `json:"duration,omitempty"`
	IdleTimeLimit float64           `json:"idle_time_limit,omitempty"`
	Command       string            `json:"command,omitempty"`
	Title         string            `json:"title,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
}

// Event is one event line.
type Event struct {
	Time float64 // seconds since Header.Timestamp
	Type string
	Data string
}

// Writer writes a cast. It is safe for concurrent use; events are written
// in the order of the calls, each with one Write to the output.
type Writer struct {
	mu     sync.Mutex
	out    io.Writer
	origin time.Time
	last   int64 // µs of the last event written
	buf    []byte
	carry  [2]carry // incomplete UTF-8 at the end of the last o and i data
	err    error
}

type carry struct {
	b [utf8.UTFMax]byte
	n int
}

// NewWriter writes h (version 2 is filled in) and returns a Writer whose
// event times count from h.Timestamp.
func NewWriter(out io.Writer, h Header) (*Writer, error) {
	h.Version = 2
	if h.Width <= 0 || h.Height <= 0 {
		return nil, fmt.Errorf("cast header: size %dx%d", h.Width, h.Height)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b) // one line, ending in \n
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		return nil, fmt.Errorf("cast header: %w", err)
	}
	w := &Writer{out: out, origin: time.Unix(h.Timestamp, 0)}
	if err := w.write(b.Bytes()); err != nil {
		return nil, w.err
	}
	return w, nil
}

// Origin returns the time event times count from.
func (w *Writer) Origin() time.Time { return w.origin }

// Output records bytes the terminal showed at time t.
func (w *Writer) Output(t time.Time, p []byte) error { return w.text(t, Output, 0, p) }

// Input records bytes typed at time t.
func (w *Writer) Input(t time.Time, p []byte) error { return w.text(t, Input, 1, p) }

// Resize records a new terminal size.
func (w *Writer) Resize(t time.Time, cols, rows int) error {
	return w.Event(t, Resize, strconv.Itoa(cols)+"x"+strconv.Itoa(rows))
}

// Mark records a marker.
func (w *Writer) Mark(t time.Time, label string) error { return w.Event(t, Marker, label) }

// Event writes one event with data as it is (invalid UTF-8 becomes U+FFFD).
func (w *Writer) Event(t time.Time, typ, data string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	return w.event(t, typ, data)
}

// Close writes what is left of incomplete UTF-8 sequences (as U+FFFD).
// Every later call returns ErrClosed without writing, so the caller may
// close the output. Close does not close it.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	for i, typ := range []string{Output, Input} {
		c := &w.carry[i]
		if c.n > 0 {
			data := string(c.b[:c.n])
			c.n = 0
			if err := w.event(w.origin.Add(time.Duration(w.last)*time.Microsecond), typ, data); err != nil {
				return err
			}
		}
	}
	w.err = ErrClosed
	return nil
}

// ErrClosed is returned by a Writer after Close.
var ErrClosed = errors.New("cast closed")

// text writes p as one event of stream i, keeping an incomplete UTF-8
// sequence at its end for the next call.
func (w *Writer) text(t time.Time, typ string, i int, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	c := &w.carry[i]
	if c.n > 0 {
		// Rare: a sequence was cut at the end of the last read.
		p = append(c.b[:c.n:c.n], p...)
		c.n = 0
	}
	if k := incompleteTail(p); k > 0 {
		c.n = copy(c.b[:], p[len(p)-k:])
		p = p[:len(p)-k]
	}
	if len(p) == 0 {
		return nil
	}
	return w.eventBytes(t, typ, p)
}

// incompleteTail returns the length of a UTF-8 sequence cut short at the
// end of p (0 when p ends on a boundary or in bytes that can never start a
// valid sequence).
func incompleteTail(p []byte) int {
	for k := 1; k < utf8.UTFMax && k <= len(p); k++ {
		b := p[len(p)-k]
		if b < utf8.RuneSelf {
			return 0
		}
		if utf8.RuneStart(b) {
			if !utf8.FullRune(p[len(p)-k:]) {
				return k
			}
			return 0
		}
	}
	return 0
}

func (w *Writer) event(t time.Time, typ, data string) error {
	return w.eventBytes(t, typ, []byte(data))
}

// eventBytes writes [time, typ, data] with one Write. w.mu is held.
func (w *Writer) eventBytes(t time.Time, typ string, data []byte) error {
	us := t.Sub(w.origin).Microseconds()
	if us < w.last {
		us = w.last
	}
	w.last = us
	buf := append(w.buf[:0], '[')
	buf = strconv.AppendInt(buf, us/1e6, 10)
	buf = append(buf, '.')
	var tmp [8]byte
	frac := strconv.AppendInt(tmp[:0], us%1e6+1e6, 10) // 1dddddd
	buf = append(buf, frac[1:]...)
	buf = append(buf, ", "...)
	buf = record.AppendJSONString(buf, typ)
	buf = append(buf, ", "...)
	buf = record.AppendJSONString(buf, data)
	buf = append(buf, "]\n"...)
	w.buf = buf
	return w.write(buf)
}

func (w *Writer) write(b []byte) error {
	for len(b) > 0 {
		n, err := w.out.Write(b)
		if err == nil && n == 0 {
			err = io.ErrShortWrite
		}
		if err != nil {
			w.err = fmt.Errorf("writing cast: %w", err)
			return w.err
		}
		b = b[n:]
	}
	return nil
}

// ErrFormat is returned for a file that is not asciicast v2.
var ErrFormat = errors.New("not an asciicast v2 file")
