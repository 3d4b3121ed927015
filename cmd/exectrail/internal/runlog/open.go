package runlog

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/report"
)

// Open opens the log name ("-": standard input) and returns a reader of
// its records, decompressed when the content is gzip (by its magic
// number, whatever the name says), and the name to use in messages.
func Open(name string) (io.ReadCloser, string, error) {
	var f *os.File
	display := name
	if name == "-" {
		f, display = os.Stdin, "standard input"
	} else {
		var err error
		if f, err = os.Open(name); err != nil {
			return nil, display, err
		}
	}
	br := bufio.NewReaderSize(f, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, display, fmt.Errorf("%s: gzip: %w", display, err)
		}
		return &gzLog{zr: zr, f: f, name: display}, display, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{br, f}, display, nil
}

type gzLog struct {
	zr   *gzip.Reader
	f    *os.File
	name string
}

func (g *gzLog) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("gzip: %w", err)
	}
	return n, err
}

func (g *gzLog) Close() error {
	g.zr.Close()
	return g.f.Close()
}

// Trouble explains in one line why a log gave no usable records, or
// returns "" when it did.
func Trouble(l *report.Log, err error) string {
	if err == nil {
		return ""
	}
	if l == nil || (l.ReadErr != nil && l.Records == 0) {
		if l != nil && l.ReadErr != nil {
			return "cannot read it: " + l.ReadErr.Error()
		}
		return err.Error()
	}
	if l.Lines == 0 {
		return "empty: no records"
	}
	return fmt.Sprintf("no records in %d lines: not an exectrail JSON log (exectrail run -o FILE --format json)", l.Lines)
}
