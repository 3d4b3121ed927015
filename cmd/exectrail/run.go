package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/session"
	"github.com/exectrail/exectrail/supervisor"
	"github.com/exectrail/exectrail/supervisor/redact"
	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
)

type runFlags struct {
	fs          *pflag.FlagSet
	output      string
	format      string
	backend     string
	deny        []string
	allow       []string
	policyFiles []string
	orphans     string
	killGrace   time.Duration
	readTimeout time.Duration
	verbose     bool
	report      string           // --report (report.go)
	otlp        string           // --otlp (otlp.go)
	user        string           // --user (user.go)
	extras      reportExtraFlags // --report-file, --step-summary, --baseline (summary.go)

	// --record, --record-input (package session)
	rec session.Flags
	// --sign-key (trail.go)
	trail trailFlags
	// --no-redact, --redact, --redact-env, --redact-key, --env (redact.go)
	red redactFlags
}

func newRunFlags() *runFlags {
	f := &runFlags{fs: pflag.NewFlagSet("run", pflag.ContinueOnError)}
	fs := f.fs
	fs.SetInterspersed(false)
	fs.StringVarP(&f.output, "output", "o", "", "where records go: a file, or - for stdout (default stderr)")
	fs.StringVar(&f.format, "format", "", "json or text (default: text on a terminal, json otherwise)")
	fs.StringVar(&f.backend, "backend", "auto", "auto, notify or ptrace")
	fs.StringArrayVar(&f.deny, "deny", nil, "refuse executables matching GLOB (repeatable)")
	fs.StringArrayVar(&f.allow, "allow", nil, "allow only executables matching GLOB (repeatable)")
	fs.StringArrayVar(&f.policyFiles, "policy", nil, "read allow/deny patterns from FILE, one \"allow GLOB\" or \"deny GLOB\" a line (repeatable)")
	fs.StringVar(&f.orphans, "orphans", "kill", "what happens to processes still running when COMMAND exits: kill (SIGTERM, then SIGKILL after --kill-grace) or wait (keep recording until they exit)")
	fs.DurationVar(&f.killGrace, "kill-grace", 2*time.Second, "with --orphans=kill, how long leftover processes get between SIGTERM and SIGKILL")
	fs.DurationVar(&f.readTimeout, "read-timeout", supervisor.DefaultReadTimeout, "refuse an exec whose memory or files cannot be read within this time")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log supervisor diagnostics to stderr, and show each PATH miss in text (not folded)")
	fs.StringVar(&f.report, "report", "", "when the job ends, print a report of its records to stderr: tree, summary or markdown (--report alone: summary; write --report=KIND)")
	fs.Lookup("report").NoOptDefVal = "summary"
	fs.StringVar(&f.otlp, "otlp", "", "also send every record to the OpenTelemetry Collector at URL (OTLP/HTTP, e.g. http://127.0.0.1:4318): log records, and a trace with a span per process")
	fs.StringVar(&f.user, "user", "", "as root: run COMMAND as USER[:GROUP] (a name or a number), out of the job's reach (see README Security)")
	f.extras.define(fs) // --report-file, --step-summary, --baseline (summary.go)
	f.rec.Define(fs)    // --record, --record-input (package session)
	f.trail.define(fs)  // --sign-key (trail.go)
	f.red.define(fs)    // --no-redact, --redact, --redact-env, --redact-key, --env (redact.go)
	return f
}

// backendName is --backend: which supervisor serves the job (README
// "Backends"). The child stage gets it too; after validation, auto with a
// policy has become ptrace.
type backendName string

// The backends.
const (
	backendAuto   backendName = "auto"   // ptrace, or notify where the job cannot be traced
	backendNotify backendName = "notify" // SECCOMP_RET_USER_NOTIF
	backendPtrace backendName = "ptrace" // SECCOMP_RET_TRACE and a ptrace supervisor
)

// orphanPolicy is --orphans: what happens to the processes still running
// when COMMAND exits (README "Lifetime").
type orphanPolicy string

// The policies.
const (
	orphansKill orphanPolicy = "kill" // SIGTERM, then SIGKILL after --kill-grace
	orphansWait orphanPolicy = "wait" // keep recording until they exit
)

// sessionWarn is package session's warning hook: the voice's warning
// line, written to w (which knows when the terminal is raw).
func sessionWarn(w io.Writer, msg string) {
	cli.Voice{Stderr: w}.Warnf("%s", msg)
}

// parseBackend reads a --backend value.
func parseBackend(s string) (backendName, error) {
	switch b := backendName(s); b {
	case backendAuto, backendNotify, backendPtrace:
		return b, nil
	}
	return "", fmt.Errorf("unknown --backend %q (want auto, notify or ptrace)", s)
}

// options is the validated form of the run flags.
type options struct {
	policy    *supervisor.Policy
	backend   backendName
	outFD     int
	format    supervisor.Format
	orphans   orphanPolicy
	killGrace time.Duration
	argv      []string
	log       zerolog.Logger
	report    *runReport // --report (report.go); nil without
	otlp      *runOTLP   // --otlp (otlp.go); nil without
	// user and dropPtrace: --user, and whether the job loses
	// CAP_SYS_PTRACE (user.go).
	user       *jobUser
	dropPtrace bool

	// foldMisses: text folds PATH misses into the exec they lead to
	// (not with -v).
	foldMisses bool

	// --record (package session); nil without
	record *session.Options
	// run id, --sign-key (trail.go)
	trail *trailOptions

	// readTimeout bounds the reading of one call (supervisor/bounded.go).
	readTimeout time.Duration
	// redact.go: nil with --no-redact; env: --env
	redactor *redact.Redactor
	env      bool
}

func runMain(args []string) int {
	f := newRunFlags()
	say := cli.For("run")
	if status, done := say.Parse(f.fs, args, usage, cli.ExitSetup); done {
		return status
	}
	opt, err := f.validate()
	if err != nil {
		say.Errorf("%v", err)
		return cli.ExitSetup
	}
	return run(opt)
}

func (f *runFlags) validate() (*options, error) {
	argv := f.fs.Args()
	if len(argv) == 0 {
		return nil, errors.New("no command given (usage: exectrail run [flags] -- COMMAND [ARG...])")
	}
	opt := &options{orphans: orphanPolicy(f.orphans), killGrace: f.killGrace, argv: argv, readTimeout: f.readTimeout}
	var err error
	if opt.backend, err = parseBackend(f.backend); err != nil {
		return nil, err
	}
	pol, err := f.buildPolicy()
	if err != nil {
		return nil, err
	}
	opt.policy = pol
	if !pol.Empty() {
		switch opt.backend {
		case backendAuto:
			// Enforcement needs the post-exec check only ptrace has.
			opt.backend = backendPtrace
		case backendNotify:
			if pol.HasWithin() {
				return nil, errors.New("\"within\" rules need the ptrace backend, which follows every fork (use --backend ptrace or auto)")
			}
			cli.Warnf("--backend notify enforces the policy only when an exec is requested; a hostile program can race that check (the kernel re-reads the path after it). Use --backend ptrace or auto for enforcement that cannot be raced")
		}
	}
	if err := f.jobIdentity(opt); err != nil { // user.go
		return nil, err
	}
	switch opt.orphans {
	case orphansKill, orphansWait:
	default:
		return nil, fmt.Errorf("unknown --orphans %q (want kill or wait)", f.orphans)
	}
	if f.readTimeout <= 0 {
		return nil, fmt.Errorf("--read-timeout %v: must be positive", f.readTimeout)
	}
	if f.killGrace < 0 {
		return nil, errors.New("--kill-grace must not be negative")
	}
	opt.foldMisses = !f.verbose
	opt.log = cli.Logger(os.Stderr, f.verbose)

	var format supervisor.Format
	if f.format != "" {
		ff, err := supervisor.ParseFormat(f.format)
		if err != nil {
			return nil, fmt.Errorf("--format: %w", err)
		}
		format = ff
	}
	if opt.redactor, err = f.red.options(); err != nil { // redact.go
		return nil, err
	}
	opt.env = f.red.env
	kind, err := parseReportKind(f.report)
	if err != nil {
		return nil, err
	}
	extras, kind, err := f.extras.options(kind) // summary.go
	if err != nil {
		return nil, err
	}
	rep, err := newRunReport(kind, extras) // --report (report.go)
	if err != nil {
		return nil, err
	}
	opt.report = rep
	if opt.record, err = f.rec.Open(); err != nil { // --record (package session)
		return nil, err
	}
	if opt.trail, err = f.trail.options(f); err != nil { // --sign-key (trail.go)
		return nil, err
	}
	fd, err := openOutput(f.output)
	if err != nil {
		return nil, err
	}
	opt.outFD = fd
	if f.format == "" {
		format = supervisor.FormatJSON
		if isTerminal(opt.outFD) {
			format = supervisor.FormatText
		}
	}
	opt.format = format
	if opt.otlp, err = newRunOTLP(f.otlp, opt); err != nil { // --otlp (otlp.go)
		return nil, err
	}
	return opt, nil
}

// buildPolicy collects --deny, --allow and --policy into one policy.
func (f *runFlags) buildPolicy() (*supervisor.Policy, error) {
	pol := &supervisor.Policy{}
	for _, g := range f.deny {
		if err := pol.Add(false, g, "--deny"); err != nil {
			return nil, fmt.Errorf("--deny: %w", err)
		}
	}
	for _, g := range f.allow {
		if err := pol.Add(true, g, "--allow"); err != nil {
			return nil, fmt.Errorf("--allow: %w", err)
		}
	}
	for _, name := range f.policyFiles {
		file, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("--policy: %w", err)
		}
		err = pol.ReadPolicy(file, name)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("--policy %w", err)
		}
	}
	return pol, nil
}

// openOutput opens the record output. The standard streams and names of
// already open fds (/dev/stderr, /dev/fd/N, /proc/self/fd/N) share the
// open file description rather than reopening the file, so records and the
// command's own output do not overwrite each other.
func openOutput(path string) (int, error) {
	std := -1
	switch {
	case path == "":
		std = 2
	case path == "-" || path == "/dev/stdout":
		std = 1
	case path == "/dev/stderr":
		std = 2
	case path == "/dev/stdin":
		std = 0
	case strings.HasPrefix(path, "/dev/fd/"), strings.HasPrefix(path, "/proc/self/fd/"):
		n, err := strconv.Atoi(path[strings.LastIndexByte(path, '/')+1:])
		if err == nil {
			std = n
		}
	}
	if std >= 0 {
		if initiallyClosed(std) {
			return -1, fmt.Errorf("opening output: fd %d is closed; give -o FILE", std)
		}
		fd, err := unix.FcntlInt(uintptr(std), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return -1, fmt.Errorf("opening output: fd %d: %w", std, err)
		}
		if std > 2 {
			// An fd given to exectrail for its records is not the job's:
			// the job must not get it and write records of its own.
			if _, err := unix.FcntlInt(uintptr(std), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
				return -1, fmt.Errorf("opening output: fd %d: %w", std, err)
			}
		}
		return fd, nil
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return -1, fmt.Errorf("opening output: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	return fd, nil
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// forwarded are the signals that exectrail passes on to COMMAND when they
// are sent to exectrail alone.
var forwarded = []syscall.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGALRM, unix.SIGWINCH,
}
