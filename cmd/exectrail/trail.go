package main

// The start and end records of every run, and --sign-key (supervisor
// trail.go writes them; exectrail verify checks them).

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/signkey"
	"github.com/exectrail/exectrail/supervisor"
	"github.com/exectrail/exectrail/supervisor/record"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
)

type trailFlags struct {
	signKey string
}

func (f *trailFlags) define(fs *pflag.FlagSet) {
	fs.StringVar(&f.signKey, "sign-key", "", "sign the log's end record with the Ed25519 private key in FILE (PEM; exectrail keygen writes one); exectrail verify --key checks it")
}

// trailOptions is the validated form: the run id, the key, and what the
// start record says of the options.
type trailOptions struct {
	runID   string
	key     ed25519.PrivateKey
	options []string
}

// options reads the key and makes the run id; f is every run flag.
func (tf *trailFlags) options(f *runFlags) (*trailOptions, error) {
	t := &trailOptions{}
	if tf.signKey != "" {
		k, err := signkey.LoadPrivate(tf.signKey)
		if err != nil {
			return nil, fmt.Errorf("--sign-key: %w", err)
		}
		t.key = k
	}
	id, err := supervisor.NewRunID()
	if err != nil {
		return nil, err
	}
	t.runID = id
	// The options that change what is recorded (the policy is listed
	// apart; writeStart adds the format).
	t.options = []string{"--backend=" + f.backend, "--orphans=" + f.orphans}
	if f.orphans == "kill" {
		t.options = append(t.options, "--kill-grace="+f.killGrace.String())
	}
	if t.key != nil {
		t.options = append(t.options, "--sign-key")
	}
	t.options = append(t.options, f.red.startOptions()...) // redact.go
	return t, nil
}

// writeStart writes the start record, seq 1, before the job can make a
// call: kind is the child stage's message ('L' notify, 'T' ptrace, 0
// when it failed before either).
func (j *job) writeStart(kind byte) error {
	t := j.opt.trail
	j.writer.SetTrail(t.runID, t.key)
	format := "--format=" + j.opt.format.String()
	s := &record.StartInfo{Version: buildVersion(), UID: os.Getuid(), Options: append([]string{format}, t.options...)}
	switch kind {
	case 'L':
		s.Backend = "notify"
	case 'T':
		s.Backend = "ptrace"
	}
	for _, a := range j.opt.argv {
		s.Argv = append(s.Argv, []byte(a))
	}
	s.Cwd, _ = os.Getwd()
	s.Host, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		s.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	s.Policy = j.opt.policy.Rules()
	s.Redaction = j.writer.RedactionMode() // redact.go
	return j.writer.Write(&record.Record{Event: record.EventStart, PID: j.self, Time: j.start, Start: s})
}

// writeEnd writes the end record once everything else is written. failed:
// exectrail itself failed (its status is 125 whatever the command's).
func (j *job) writeEnd(root unix.WaitStatus, rootDone, failed bool) error {
	r := &record.Record{Event: record.EventEnd, PID: j.self, End: &record.EndInfo{ExitStatus: cli.ExitSetup}}
	d := float64(time.Since(j.start).Microseconds()) / 1000
	r.DurationMS = &d
	if rootDone {
		switch {
		case root.Exited():
			code := root.ExitStatus()
			r.ExitCode = &code
			r.End.ExitStatus = code
		case root.Signaled():
			r.Signal = supervisor.SignalName(root.Signal())
			r.End.ExitStatus = cli.ExitSignal + int(root.Signal())
		}
	}
	if failed || !rootDone {
		r.End.ExitStatus = cli.ExitSetup
	}
	r.End.OTLP = j.opt.otlp.flush() // --otlp (otlp.go): what the Collector took so far
	err := j.writer.Write(r)
	if err != nil && errors.Is(err, supervisor.ErrOutput) && failed {
		return nil // said already
	}
	return err
}
