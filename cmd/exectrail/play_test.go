package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// play waits between output events as recorded, divided by the speed,
// with pauses cut to the idle limit (the file's, unless given).
func TestPlaySchedule(t *testing.T) {
	cast := `{"version": 2, "width": 80, "height": 24, "idle_time_limit": 2}
[1.0, "o", "a"]
[1.0, "m", "exec /bin/true"]
[1.5, "o", "b"]
[11.5, "o", "c"]
[11.75, "i", "x"]
[12.0, "o", "d"]
`
	for _, tc := range []struct {
		speed float64
		limit time.Duration
		want  time.Duration // when the last event is due
	}{
		{1, 0, 1*time.Second + 500*time.Millisecond + 2*time.Second + 500*time.Millisecond},
		{2, 0, 2 * time.Second},
		{1, 250 * time.Millisecond, time.Second},
	} {
		var out bytes.Buffer
		var last time.Duration
		// The fake wait lets no time pass and notes when each output
		// is due: the last one is the total.
		err := play(strings.NewReader(cast), &out, playOptions{speed: tc.speed, idleLimit: tc.limit, wait: func(at time.Duration) { last = at }})
		if err != nil {
			t.Fatal(err)
		}
		if out.String() != "abcd" {
			t.Errorf("played %q", out.String())
		}
		if last != tc.want {
			t.Errorf("speed %v, limit %v: last output due at %v, want %v", tc.speed, tc.limit, last, tc.want)
		}
	}
}
