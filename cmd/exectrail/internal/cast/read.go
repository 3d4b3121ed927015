package cast

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Reader reads a cast event by event; memory grows with the longest line,
// not with the file.
type Reader struct {
	Header Header
	r      *bufio.Reader
	line   int
}

// NewReader reads and checks the header.
func NewReader(r io.Reader) (*Reader, error) {
	cr := &Reader{r: bufio.NewReaderSize(r, 64<<10)}
	line, err := cr.next()
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%w: empty", ErrFormat)
		}
		return nil, err
	}
	var probe struct {
		Version json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return nil, fmt.Errorf("%w: line 1: %v", ErrFormat, err)
	}
	if string(probe.Version) != "2" {
		return nil, fmt.Errorf("%w: line 1: version %s, want 2", ErrFormat, orNone(probe.Version))
	}
	if err := json.Unmarshal(line, &cr.Header); err != nil {
		return nil, fmt.Errorf("%w: line 1: %v", ErrFormat, err)
	}
	if cr.Header.Width <= 0 || cr.Header.Height <= 0 {
		return nil, fmt.Errorf("%w: line 1: terminal size %dx%d", ErrFormat, cr.Header.Width, cr.Header.Height)
	}
	return cr, nil
}

func orNone(b []byte) string {
	if len(b) == 0 {
		return "missing"
	}
	return string(b)
}

// Next returns the next event, or io.EOF after the last one. Blank lines
// are skipped; a line that is not an event is an error naming its number.
func (r *Reader) Next() (Event, error) {
	for {
		line, err := r.next()
		if err != nil {
			return Event{}, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			return Event{}, fmt.Errorf("line %d: %w", r.line, err)
		}
		if len(raw) != 3 {
			return Event{}, fmt.Errorf("line %d: an event has 3 elements, not %d", r.line, len(raw))
		}
		var ev Event
		if err := json.Unmarshal(raw[0], &ev.Time); err != nil || ev.Time < 0 || math.IsNaN(ev.Time) {
			return Event{}, fmt.Errorf("line %d: bad time %s", r.line, raw[0])
		}
		if err := json.Unmarshal(raw[1], &ev.Type); err != nil {
			return Event{}, fmt.Errorf("line %d: bad event type %s", r.line, raw[1])
		}
		if err := json.Unmarshal(raw[2], &ev.Data); err != nil {
			return Event{}, fmt.Errorf("line %d: bad event data: %v", r.line, err)
		}
		return ev, nil
	}
}

func (r *Reader) next() ([]byte, error) {
	line, err := r.r.ReadBytes('\n')
	if len(line) > 0 {
		r.line++
		return line, nil
	}
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	return nil, err
}
