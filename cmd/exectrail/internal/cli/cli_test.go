package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestLine(t *testing.T) {
	for _, c := range []struct {
		v    Voice
		l    Level
		want string
	}{
		{Voice{}, LevelError, "exectrail: it broke\n"},
		{Voice{}, LevelWarning, "exectrail: warning: it broke\n"},
		{For("report"), LevelError, "exectrail: report: it broke\n"},
		{For("report"), LevelNote, "exectrail: report: note: it broke\n"},
		{For("policy learn"), LevelDebug, "exectrail: policy learn: debug: it broke\n"},
	} {
		if got := c.v.Line(c.l, "it %s", "broke"); got != c.want {
			t.Errorf("%+v %q: got %q, want %q", c.v, c.l, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		args           []string
		status         int
		done           bool
		stdout, stderr string
	}{
		{[]string{"--n", "3", "x"}, 0, false, "", ""},
		{[]string{"--help"}, 0, true, "usage: t\n      --n int   a number\n", ""},
		{[]string{"-h"}, 0, true, "usage: t\n      --n int   a number\n", ""},
		{[]string{"--bogus"}, 9, true, "", "exectrail: t: unknown flag: --bogus\n"},
		{[]string{"--n", "x"}, 9, true, "", "exectrail: t: invalid argument \"x\" for \"--n\" flag: must be an integer\n"},
	} {
		var out, errb bytes.Buffer
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		fs.Int("n", 0, "a number")
		v := Voice{Cmd: "t", Stdout: &out, Stderr: &errb}
		status, done := v.Parse(fs, c.args, "usage: t\n", 9)
		if status != c.status || done != c.done || out.String() != c.stdout || errb.String() != c.stderr {
			t.Errorf("%q: %d %v stdout %q stderr %q; want %d %v %q %q", c.args, status, done, out.String(), errb.String(), c.status, c.done, c.stdout, c.stderr)
		}
	}
}

func TestSaid(t *testing.T) {
	said := &SaidError{Err: errors.New("told")}
	if !Said(said) || !Said(fmt.Errorf("context: %w", said)) {
		t.Error("a SaidError, or one wrapped, is not Said")
	}
	if Said(errors.New("told")) || Said(nil) {
		t.Error("a plain error is Said")
	}
	if said.Error() != "told" || !errors.Is(said, said.Err) {
		t.Error("a SaidError hides its error")
	}
}

func TestLogger(t *testing.T) {
	var b bytes.Buffer
	l := Logger(&b, false)
	l.Debug().Msg("hidden")
	l.Warn().Int("tid", 7).Msg("refused")
	if got := strings.TrimSpace(b.String()); got != "exectrail: warning: refused tid=7" {
		t.Errorf("got %q", got)
	}
	b.Reset()
	l = Logger(&b, true)
	l.Debug().Msg("shown")
	if got := strings.TrimSpace(b.String()); got != "exectrail: debug: shown" {
		t.Errorf("verbose: got %q", got)
	}
}
