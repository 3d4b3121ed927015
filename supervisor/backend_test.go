package supervisor

import (
	"testing"
	"time"

	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// The one exit-record builder: exit code or signal name, and a duration
// only when the start is known; nothing for a stop.
func TestExitRecord(t *testing.T) {
	exited := unix.WaitStatus(3 << 8)        // exit(3)
	killed := unix.WaitStatus(9)             // SIGKILL
	rt := unix.WaitStatus(40)                // a real-time signal
	stopped := unix.WaitStatus(19<<8 | 0x7f) // stopped by SIGSTOP
	if r := exitRecord(7, exited, time.Time{}); r == nil || r.Event != record.EventExit || r.PID != 7 ||
		r.ExitCode == nil || *r.ExitCode != 3 || r.Signal != "" || r.DurationMS != nil {
		t.Errorf("exit(3), start unknown: %+v", r)
	}
	if r := exitRecord(7, killed, time.Now().Add(-time.Second)); r == nil || r.ExitCode != nil || r.Signal != "SIGKILL" ||
		r.DurationMS == nil || *r.DurationMS < 1000 {
		t.Errorf("SIGKILL after a second: %+v", r)
	}
	if r := exitRecord(7, rt, time.Time{}); r == nil || r.Signal != "SIG40" {
		t.Errorf("signal 40: %+v, want SIG40", r)
	}
	if r := exitRecord(7, stopped, time.Time{}); r != nil {
		t.Errorf("a stop made an exit record: %+v", r)
	}
}
