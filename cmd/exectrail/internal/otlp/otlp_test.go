package otlp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/exectrail/exectrail/supervisor/record"
)

// sink is an OTLP/HTTP endpoint that takes everything (an empty
// protobuf response is a valid one) and counts the requests.
func sink(t testing.TB) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func execRecord(seq uint64, pid int) *record.Record {
	return &record.Record{
		Seq: seq, Time: time.Now(), Event: record.EventExec, PID: pid, PPID: pid - 1,
		Path: []byte("/usr/bin/gcc"), Executable: "/usr/bin/x86_64-linux-gnu-gcc-12",
		Argv: [][]byte{[]byte("gcc"), []byte("-O2"), []byte("-c"), []byte("-o"), []byte("main.o"), []byte("main.c")},
		Cwd:  "/home/user/src/project", UID: 1000, HasUID: true,
	}
}

// Everything observed is exported, and Observe after Close is ignored.
func TestExportCounts(t *testing.T) {
	s, reqs := sink(t)
	e, err := Start(Options{Endpoint: s.URL, Command: []string{"make"}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for i := range n {
		e.Observe(execRecord(uint64(i+1), 1000+i%50))
	}
	if st := e.Flush(); st.Records != n || st.Exported != n {
		t.Errorf("Flush: %+v, want %d of %d", st, n, n)
	}
	e.Observe(&record.Record{Seq: n + 1, Time: time.Now(), Event: record.EventExit, PID: 1000, ExitCode: new(int)})
	st := e.Close()
	e.Observe(execRecord(n+2, 1)) // after Close: not counted, no panic
	if st.Records != n+1 || st.Exported != n+1 || st.NotExported() != 0 || st.Spans != 51 || st.SpansDone != 51 {
		t.Errorf("Close: %+v, want %d records and 51 spans, all exported", st, n+1)
	}
	if reqs.Load() == 0 {
		t.Errorf("the sink got no request")
	}
}

// The export's cost per record: Observe on the writer's thread, and the
// work of the goroutines behind it (log record, spans, batching,
// encoding, the HTTP request to a loopback sink — the sink's own work
// included), measured to the end of Close. cpu-ns/op is the process's
// CPU time (rusage) per record, steadier here than wall time.
func BenchmarkExport(b *testing.B) {
	s, _ := sink(b)
	recs := make([]*record.Record, 64)
	for i := range recs {
		recs[i] = execRecord(uint64(i+1), 1000+i)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	e, err := Start(Options{Endpoint: s.URL, Command: []string{"make"}, QueueSize: b.N + 1})
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		e.Observe(recs[i%len(recs)])
	}
	st := e.Close()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if st.NotExported() != 0 {
		b.Fatalf("%d not exported", st.NotExported())
	}
}

// Observe alone, with the queue not drained meanwhile: what a traced
// call's writer pays.
func BenchmarkObserve(b *testing.B) {
	e := &Exporter{queue: make(chan item, b.N)}
	r := execRecord(1, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e.Observe(r)
	}
}

func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// The standard environment variables reach the requests: headers for
// authentication (OTEL_EXPORTER_OTLP_HEADERS) on both signals.
func TestEnvHeaders(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cret,x-tenant=ci")
	var got atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("Authorization") == "Bearer s3cret" && r.Header.Get("X-Tenant") == "ci" &&
			(r.URL.Path == "/v1/logs" || r.URL.Path == "/v1/traces") {
			got.Add(1)
		} else {
			t.Errorf("request %s without the headers: %v", r.URL.Path, r.Header)
		}
	}))
	defer s.Close()
	e, err := Start(Options{Endpoint: s.URL, Command: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	e.Observe(execRecord(1, 10))
	if st := e.Close(); st.NotExported() != 0 || st.SpansDone != st.Spans {
		t.Errorf("%+v", st)
	}
	if got.Load() < 2 {
		t.Errorf("%d requests with the headers, want one per signal at least", got.Load())
	}
}

func TestBadEndpoint(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:4318", "ftp://x"} {
		if _, err := Start(Options{Endpoint: u}); err == nil {
			t.Errorf("Start(%q) accepted", u)
		}
	}
}

// A job's bytes need not be UTF-8, and OTLP strings must be: a record
// with such an argv, path or cwd is still exported (the body keeps the
// bytes losslessly in its *_hex fields), and does not sink its batch.
func TestNonUTF8Exported(t *testing.T) {
	s, _ := sink(t)
	e, err := Start(Options{Endpoint: s.URL, Command: []string{"\xff"}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := execRecord(1, 10)
	r.Path, r.Executable, r.Cwd = []byte("/tmp/\xff"), "/tmp/\xff", "/tmp/\xfe"
	r.Argv = [][]byte{[]byte("\xff\xfe"), []byte("ok")}
	e.Observe(r)
	e.Observe(execRecord(2, 11))
	if st := e.Close(); st.NotExported() != 0 || st.SpansDone != st.Spans {
		t.Errorf("%+v: want everything exported", st)
	}
}
