package main

// exectrail run's redaction flags (--no-redact, --redact, --redact-env,
// --redact-key) and --env. The masking itself is package redact; the
// Writer applies it to every record (supervisor/writer_redact.go) and the
// session recorder to the cast (package session).

import (
	"errors"
	"os"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/supervisor/redact"
	"github.com/spf13/pflag"
)

type redactFlags struct {
	off      bool
	patterns []string
	envNames []string
	keyFile  string
	env      bool
}

func (f *redactFlags) define(fs *pflag.FlagSet) {
	fs.BoolVar(&f.off, "no-redact", false, "write argv, paths, the environment and the session as they are, secrets included")
	fs.StringArrayVar(&f.patterns, "redact", nil, "also mask what matches REGEX (Go syntax; repeatable)")
	fs.StringArrayVar(&f.envNames, "redact-env", nil, "also mask the value of environment variable NAME wherever it appears (repeatable)")
	fs.StringVar(&f.keyFile, "redact-key", "", "key FILE for the hash in [REDACTED:…] markers, so that they correlate across runs (default: a random key per run)")
	fs.BoolVar(&f.env, "env", false, "record each exec's environment (env, or env_base/env_set/env_unset), masked like argv")
}

// options builds the Redactor; nil with --no-redact.
func (f *redactFlags) options() (*redact.Redactor, error) {
	if f.off {
		if len(f.patterns) > 0 || len(f.envNames) > 0 || f.keyFile != "" {
			return nil, errors.New("--no-redact conflicts with --redact, --redact-env and --redact-key")
		}
		return nil, nil
	}
	o := redact.Options{Environ: os.Environ(), EnvNames: f.envNames, Patterns: f.patterns}
	if f.keyFile != "" {
		key, err := redact.ReadKey(f.keyFile)
		if err != nil {
			return nil, err
		}
		o.Key = key
	}
	for _, n := range f.envNames {
		if _, set := os.LookupEnv(n); !set && n != "" {
			cli.Warnf("--redact-env %s: not set; nothing to mask", n)
		}
	}
	return redact.New(o)
}

// startOptions are what the start record lists of these flags (the
// record itself says whether redaction was on; its strings are masked
// like any other).
func (f *redactFlags) startOptions() []string {
	var o []string
	if f.off {
		o = append(o, "--no-redact")
	}
	for _, p := range f.patterns {
		o = append(o, "--redact="+p)
	}
	for _, n := range f.envNames {
		o = append(o, "--redact-env="+n)
	}
	if f.keyFile != "" {
		o = append(o, "--redact-key="+f.keyFile)
	}
	if f.env {
		o = append(o, "--env")
	}
	return o
}
