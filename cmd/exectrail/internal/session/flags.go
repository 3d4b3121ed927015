package session

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/exectrail/exectrail/supervisor/redact"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
)

// Flags are the run flags of recording: --record and --record-input.
type Flags struct {
	File  string
	Input bool
}

// Define adds the flags to fs.
func (f *Flags) Define(fs *pflag.FlagSet) {
	fs.StringVar(&f.File, "record", "", "record the session to FILE (asciicast v2: what the terminal showed, resizes, and a marker for every exec)")
	fs.BoolVar(&f.Input, "record-input", false, "with --record, record what is typed too (passwords included); off by default")
}

// Options is the validated form of the flags, with the cast file open.
type Options struct {
	path  string
	fd    int // the cast file
	input bool
}

// Open checks the flags and opens the cast file; nil without --record.
func (f *Flags) Open() (*Options, error) {
	if f.File == "" {
		if f.Input {
			return nil, errors.New("--record-input needs --record FILE")
		}
		return nil, nil
	}
	if f.File == "-" {
		return nil, errors.New("--record needs a file name (stdout is the session's)")
	}
	// 0600: a session shows whatever the terminal showed.
	fd, err := unix.Open(f.File, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--record: %w", &os.PathError{Op: "open", Path: f.File, Err: err})
	}
	return &Options{path: f.File, fd: fd, input: f.Input}, nil
}

// Config is what the session needs of the rest of the run.
type Config struct {
	Argv      []string         // COMMAND and its arguments, for the header
	Redactor  *redact.Redactor // masks secrets in the cast; nil with --no-redact
	KillGrace time.Duration    // how long a hung-up COMMAND has before SIGKILL
	// Warn prints msg as one of exectrail's warnings to w (exectrail's
	// stderr, writing \r\n line ends while the terminal is raw).
	Warn func(w io.Writer, msg string)
}
