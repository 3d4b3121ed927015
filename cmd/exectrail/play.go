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
	fs.Usage = func() {}
	speed := fs.Float64("speed", 1, "play N times as fast")
	idle := fs.String("idle-limit", "", "shorten every pause longer than this to this (seconds, or a duration such as 1.5s); default: the file's idle_time_limit, if any")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printHelp(playUsage, fs)
			return 0
		}
		errorf("play: %v", err)
		return exitSetup
	}
	if fs.NArg() != 1 {
		errorf("play: want one FILE (usage: exectrail play [--speed N] [--idle-limit SECONDS] FILE)")
		return exitSetup
	}
	if !(*speed > 0) || *speed > 1e9 {
		errorf("play: --speed must be a positive number, not %v", *speed)
		return exitSetup
	}
	var limit time.Duration
	if *idle != "" {
		d, err := parseSeconds(*idle)
		if err != nil || d <= 0 {
			errorf("play: --idle-limit %q: want a positive number of seconds or a duration (2, 0.5, 1.5s)", *idle)
			return exitSetup
		}
		limit = d
	}
	name := fs.Arg(0)
	in := io.Reader(os.Stdin)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			errorf("play: %v", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	if err := play(in, supervisor.FDWriter(1), *speed, limit, sleepUntil(time.Now())); err != nil {
		errorf("play: %s: %v", name, err)
		return 1
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

// play writes the output events of a cast to out at their times, divided
// by speed, with pauses longer than limit (when not zero; else the file's
// idle_time_limit) cut to limit. Other events are skipped. wait(at)
// returns when an event due at offset at from the start of the playing
// may be written.
func play(in io.Reader, out io.Writer, speed float64, limit time.Duration, wait func(at time.Duration)) error {
	r, err := cast.NewReader(in)
	if err != nil {
		return err
	}
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
