package main

// exectrail play FILE: replay a recorded session in the terminal.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cast"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/supervisor"
	"github.com/spf13/pflag"
)

const playUsage = `usage: exectrail play [flags] FILE

Replays a session recorded with exectrail run --record FILE (or any
asciicast v2 file) on the terminal, at the speed it was recorded. A FILE
of - is standard input.

flags:
`

func playMain(args []string) int {
	fs := pflag.NewFlagSet("play", pflag.ContinueOnError)
	o := playOptions{}
	fs.Float64Var(&o.speed, "speed", 1, "play N times as fast")
	idle := fs.String("idle-limit", "", "shorten every pause longer than this to this (seconds, or a duration such as 1.5s); default: the file's idle_time_limit, if any")
	say := cli.For("play")
	if status, done := say.Parse(fs, args, playUsage, cli.ExitSetup); done {
		return status
	}
	if fs.NArg() != 1 {
		say.Errorf("want one FILE (usage: exectrail play [--speed N] [--idle-limit SECONDS] FILE)")
		return cli.ExitSetup
	}
	if !(o.speed > 0) || o.speed > 1e9 {
		say.Errorf("--speed must be a positive number, not %v", o.speed)
		return cli.ExitSetup
	}
	if *idle != "" {
		d, err := parseSeconds(*idle)
		if err != nil || d <= 0 {
			say.Errorf("--idle-limit %q: want a positive number of seconds or a duration (2, 0.5, 1.5s)", *idle)
			return cli.ExitSetup
		}
		o.idleLimit = d
	}
	name := fs.Arg(0)
	in := io.Reader(os.Stdin)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			say.Errorf("%v", err)
			return cli.ExitFailed
		}
		defer f.Close()
		in = f
	}
	o.wait = sleepUntil(time.Now())
	if err := play(in, supervisor.FDWriter(1), o); err != nil {
		say.Errorf("%s: %v", name, err)
		return cli.ExitFailed
	}
	return 0
}

// parseSeconds reads "2", "0.5" (seconds) or a Go duration ("1.5s").
func parseSeconds(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		if f > 1e9 || f != f {
			return 0, errors.New("out of range")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

// sleepUntil returns a function that sleeps until d after start.
func sleepUntil(start time.Time) func(d time.Duration) {
	return func(d time.Duration) {
		if left := d - time.Since(start); left > 0 {
			time.Sleep(left)
		}
	}
}

// playOptions is how exectrail play plays.
type playOptions struct {
	speed     float64       // play this many times as fast
	idleLimit time.Duration // cut longer pauses to this; 0: the file's idle_time_limit, if any
	// wait(at) returns when an event due at offset at from the start of
	// the playing may be written (sleepUntil, or a test's clock).
	wait func(at time.Duration)
}

// play writes the output events of a cast to out at their times, divided
// by o.speed, with pauses longer than the idle limit cut to it. Other
// events are skipped.
func play(in io.Reader, out io.Writer, o playOptions) error {
	r, err := cast.NewReader(in)
	if err != nil {
		return err
	}
	speed, limit, wait := o.speed, o.idleLimit, o.wait
	if limit == 0 && r.Header.IdleTimeLimit > 0 {
		limit = time.Duration(r.Header.IdleTimeLimit * float64(time.Second))
	}
	var prev, at time.Duration // file time of the last output; its time on screen
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if ev.Type != cast.Output {
			continue
		}
		t := time.Duration(ev.Time * float64(time.Second))
		gap := max(t-prev, 0)
		prev = t
		if limit > 0 && gap > limit {
			gap = limit
		}
		at += time.Duration(float64(gap) / speed)
		wait(at)
		if _, err := io.WriteString(out, ev.Data); err != nil {
			return fmt.Errorf("writing: %w", err)
		}
	}
}
