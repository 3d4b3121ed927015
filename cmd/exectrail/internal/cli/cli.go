package cli

// This file is the command line's voice: how exectrail speaks about
// itself, and the statuses it exits with. The rules:
//
//   - Results go to standard output: reports, diffs, policies, --help,
//     version. Nothing else does, so a result can be piped. (Under run,
//     standard output is the job's: run --report goes to standard error,
//     after a "── exectrail report ──" rule.)
//
//   - Everything exectrail says about itself goes to standard error as
//     whole lines (one write each), in one form:
//
//     exectrail: [COMMAND: ][LEVEL: ]MESSAGE
//
//     COMMAND names the subcommand whose own usage or input the line is
//     about (exectrail report: the log it reads, its flags). The messages
//     of a job under exectrail run name no command, except run's flag
//     errors ("exectrail: run: unknown flag: --bogus").
//
//     LEVEL is absent for an error, or one of:
//
//     warning: something failed, exectrail goes on, the status does not
//     change (a copy of the records, a recording, a step summary);
//     note: worth knowing, nothing failed (what a report could not know,
//     what an export reached);
//     debug: a diagnostic, only with run -v.
//
//     MESSAGE is lower case, without a final period, in the form of a Go
//     error chain ("--policy: FILE: line 3: ..."). It may end with a hint
//     in parentheses that says what to do next ("(exectrail --help lists
//     them)", "(run 'exectrail doctor' for details)").
//
//   - An error is one line, said once, then exectrail exits with a status
//     below. A failure that has been said already (by the child stage, or
//     by the supervisor for the child stage) travels as a [SaidError]:
//     whoever gets it exits without a second line.
//
//   - The supervisor's diagnostics (zerolog, [Logger]) use the same form
//     and level words; pflag's own output is never shown (its errors come
//     back and are said as errors).
//
// Exit statuses, all in this file:
//
//	status  commands                meaning
//	0       all                     done; diff: no change; verify: the log holds;
//	                                doctor: a backend works
//	1       report, play, verify,   the input cannot be read or does not hold,
//	        policy learn, keygen    or the result cannot be written
//	1       doctor                  no backend works here
//	1, 2    diff                    as diff(1): something new appeared; trouble
//	125     all but diff            exectrail itself failed: bad usage, or the
//	                                job cannot be set up or served
//	126     run                     COMMAND was found but cannot be executed
//	127     run                     COMMAND was not found
//	128+N   run                     COMMAND was killed by signal N (exectrail
//	                                dies of the same signal where it can)
//	other   run                     COMMAND's own exit status
import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
)

// Exit statuses (see the table above).
const (
	ExitOK       = 0
	ExitFailed   = 1   // report, play, verify, policy learn, keygen, doctor
	ExitSetup    = 125 // exectrail itself failed
	ExitNotExec  = 126 // run: COMMAND found, cannot be executed
	ExitNotFound = 127 // run: COMMAND not found
	ExitSignal   = 128 // run: plus the number of COMMAND's fatal signal

	DiffSame    = 0 // diff: nothing new
	DiffChanged = 1 // diff: something new (or, with --fail-on-removed, gone)
	DiffTrouble = 2 // diff: bad usage or an unreadable log
)

// Prog is the name every line starts with.
const Prog = "exectrail"

// Level is the word that says what kind of line it is; "" for an error.
type Level string

// The levels.
const (
	LevelError   Level = ""
	LevelWarning Level = "warning"
	LevelNote    Level = "note"
	LevelDebug   Level = "debug"
)

// Voice speaks for one subcommand (Cmd, "" for exectrail itself and the
// job of exectrail run). The zero Voice writes to os.Stdout and
// os.Stderr.
type Voice struct {
	Cmd            string
	Stdout, Stderr io.Writer
}

// For returns the voice of subcommand cmd.
func For(cmd string) Voice { return Voice{Cmd: cmd} }

func (v Voice) stderr() io.Writer {
	if v.Stderr == nil {
		return os.Stderr
	}
	return v.Stderr
}

func (v Voice) stdout() io.Writer {
	if v.Stdout == nil {
		return os.Stdout
	}
	return v.Stdout
}

// Line is one line of the voice, newline included, for a writer that must
// see it whole (a terminal in raw mode wants \r\n).
func (v Voice) Line(l Level, format string, args ...any) string {
	s := Prog + ": "
	if v.Cmd != "" {
		s += v.Cmd + ": "
	}
	if l != LevelError {
		s += string(l) + ": "
	}
	return s + fmt.Sprintf(format, args...) + "\n"
}

func (v Voice) say(l Level, format string, args ...any) {
	_, _ = io.WriteString(v.stderr(), v.Line(l, format, args...))
}

// Errorf says an error (the caller then exits with its status).
func (v Voice) Errorf(format string, args ...any) { v.say(LevelError, format, args...) }

// Warnf says a warning.
func (v Voice) Warnf(format string, args ...any) { v.say(LevelWarning, format, args...) }

// Notef says a note.
func (v Voice) Notef(format string, args ...any) { v.say(LevelNote, format, args...) }

// Errorf, Warnf and Notef speak for exectrail itself (no command).
func Errorf(format string, args ...any) { Voice{}.Errorf(format, args...) }

// Warnf says a warning of exectrail itself.
func Warnf(format string, args ...any) { Voice{}.Warnf(format, args...) }

// Notef says a note of exectrail itself.
func Notef(format string, args ...any) { Voice{}.Notef(format, args...) }

// Parse parses a subcommand's flags. It returns done when the command
// ends there, with its status: --help (usage, then the flags, on
// standard output; 0) or a bad flag (one error line; status bad). pflag
// itself prints nothing.
func (v Voice) Parse(fs *pflag.FlagSet, args []string, usage string, bad int) (status int, done bool) {
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, pflag.ErrHelp):
		v.Help(fs, usage)
		return ExitOK, true
	}
	v.Errorf("%v", err)
	return bad, true
}

// Help writes usage and then fs's flags to standard output.
func (v Voice) Help(fs *pflag.FlagSet, usage string) {
	out := v.stdout()
	_, _ = io.WriteString(out, usage)
	fs.SetOutput(out)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// SaidError is a failure that has been said already: whoever gets it
// exits with its status and says nothing more.
type SaidError struct {
	Err error // what happened, for a log or a test; not said again
}

func (e *SaidError) Error() string { return e.Err.Error() }
func (e *SaidError) Unwrap() error { return e.Err }

// Said reports whether err, or an error it wraps, is a SaidError.
func Said(err error) bool {
	var s *SaidError
	return errors.As(err, &s)
}

// Logger is the supervisor's diagnostics logger, in the voice: lines
// "exectrail: warning: MESSAGE key=value..." on w, and with verbose the
// debug lines too.
func Logger(w io.Writer, verbose bool) zerolog.Logger {
	level := zerolog.WarnLevel
	if verbose {
		level = zerolog.DebugLevel
	}
	return zerolog.New(zerolog.ConsoleWriter{
		Out:          w,
		NoColor:      true,
		PartsExclude: []string{zerolog.TimestampFieldName},
		FormatLevel: func(i any) string {
			s, _ := i.(string)
			if s == zerolog.LevelWarnValue {
				s = string(LevelWarning)
			}
			return Prog + ": " + s + ":"
		},
	}).Level(level)
}
