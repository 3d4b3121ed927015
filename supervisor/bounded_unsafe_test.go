package supervisor

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/exectrail/exectrail/filter"
	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor/record"
)

// execCall is an execve of /usr/bin/true by this process itself: what
// ExecRecord reads is in the test's own memory.
func execCall(testing.TB) (Call, func()) {
	path := []byte("/usr/bin/true\x00")
	arg := []byte("true\x00")
	argv := []uintptr{uintptr(unsafe.Pointer(&arg[0])), uintptr(unsafe.Pointer(&path[0])), 0}
	c := Call{TID: os.Getpid(), Sys: filter.Decode(filter.AuditArchX86_64, 59)}
	c.Args[0] = uint64(uintptr(unsafe.Pointer(&path[0])))
	c.Args[1] = uint64(uintptr(unsafe.Pointer(&argv[0])))
	return c, func() { runtime.KeepAlive(path); runtime.KeepAlive(arg); runtime.KeepAlive(argv) }
}

// The exec record built on the calling thread (as notify does) against
// through the bounded worker (as the ptrace thread does): the difference
// is the cost of the hand-off.
func BenchmarkExecRecord(b *testing.B) {
	h := NewHandler("/proc")
	c, keep := execCall(b)
	defer keep()
	for _, bounded := range []bool{false, true} {
		name := "inline"
		if bounded {
			name = "bounded"
		}
		b.Run(name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for i := 0; i < b.N; i++ {
				t, err := procfs.OpenTask("/proc", c.TID)
				if err != nil {
					b.Fatal(err)
				}
				var r *record.Record
				if bounded {
					var p *PendingRecord
					r, p, err = h.ExecRecordOrPark(t, &c, 0)
					if p != nil {
						r, err = (<-p.Result()).Unpack()
					}
				} else {
					r, err = h.ExecRecord(t, &c)
					t.Close()
				}
				if err != nil || r.Executable != "/usr/bin/true" {
					b.Fatalf("%v %+v", err, r)
				}
			}
		})
	}
}

// Parked calls count against maxStalled: with that many outstanding, the
// next exec is refused without reading anything of the caller (a job of
// many threads that all stall must not get one exectrail thread each);
// one fewer, and it is read and built as usual.
func TestExecRecordOrParkCountsParked(t *testing.T) {
	h := NewHandler("/proc")
	c, keep := execCall(t)
	defer keep()
	for _, parked := range []int{maxStalled - 1, maxStalled, maxStalled + 5} {
		task, err := procfs.OpenTask("/proc", c.TID)
		if err != nil {
			t.Fatal(err)
		}
		r, p, err := h.ExecRecordOrPark(task, &c, parked)
		if p != nil {
			r, err = (<-p.Result()).Unpack()
		}
		if parked < maxStalled {
			if err != nil || r.Executable != "/usr/bin/true" || r.Action != "" {
				t.Errorf("parked=%d: %v %+v, want the record of /usr/bin/true", parked, err, r)
			}
			continue
		}
		if !isStalled(err) || p != nil || r.Error != "EAGAIN" || r.Action != record.ActionDeny || !r.PathUnknown ||
			!strings.Contains(r.ReadError, "still blocked or being waited for") {
			t.Errorf("parked=%d: %v %v %+v, want a refusal made without reading", parked, err, p, r)
		}
	}
}
