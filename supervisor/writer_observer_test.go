package supervisor

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/exectrail/exectrail/supervisor/record"
)

// The observer sees every written record, in seq order, with the time it
// was written with; a failed write is not observed.
func TestWriterObserver(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(observerTestWriter(out.Write), FormatJSON)
	clock := time.Unix(1_700_000_000, 5)
	w.now = func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	var seen []record.Record
	w.AddObserver(func(r *record.Record) { seen = append(seen, *r) })
	for _, ev := range []string{record.EventExec, record.EventFork, record.EventExit} {
		if err := w.Write(&record.Record{Event: ev, PID: 7}); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("observed %d records, want 3", len(seen))
	}
	for i, r := range seen {
		if r.Seq != uint64(i+1) || r.Time.IsZero() {
			t.Errorf("observed record %d: seq %d time %v", i, r.Seq, r.Time)
		}
	}
	if !bytes.Contains(out.Bytes(), []byte(seen[0].Time.UTC().Format(record.TimeLayout))) {
		t.Errorf("the observed time %v is not the written one:\n%s", seen[0].Time, out.String())
	}

	failing := NewWriter(observerTestWriter(func([]byte) (int, error) { return 0, errors.New("full") }), FormatJSON)
	called := false
	failing.AddObserver(func(*record.Record) { called = true })
	if err := failing.Write(&record.Record{Event: record.EventExec}); err == nil || called {
		t.Errorf("failed write: err %v, observer called %v", err, called)
	}
}

// Concurrent writers: the observer is called under the lock, so it sees
// seq 1, 2, 3… in order.
func TestWriterObserverOrder(t *testing.T) {
	w := NewWriter(observerTestWriter(func(p []byte) (int, error) { return len(p), nil }), FormatJSON)
	var last uint64
	var bad bool
	w.AddObserver(func(r *record.Record) {
		bad = bad || r.Seq != last+1
		last = r.Seq
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_ = w.Write(&record.Record{Event: record.EventFork})
			}
		}()
	}
	wg.Wait()
	if bad || last != 800 {
		t.Errorf("observer saw seq out of order (last %d)", last)
	}
}

// observerTestWriter adapts a function to io.Writer.
type observerTestWriter func([]byte) (int, error)

func (f observerTestWriter) Write(p []byte) (int, error) { return f(p) }
