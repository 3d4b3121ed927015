package integration

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests of --otlp run a real OpenTelemetry Collector (otlp receiver,
// file exporter), built from integration/otelcol — a module of its own,
// so the product's go.mod does not take the Collector's dependencies —
// once per content of that directory, and cached under the user's cache
// directory (a fresh clone on the same machine reuses it).

// collectorBinary returns the cached Collector, building it first when
// needed. Concurrent test binaries serialise on a lock file.
func collectorBinary(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot, "integration", "otelcol")
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "exectrail")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "otelcol-"+hex.EncodeToString(h.Sum(nil))[:16])
	lock, err := os.OpenFile(bin+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	t.Logf("building the test Collector into %s (once per machine)", bin)
	start := time.Now()
	tmp := bin + ".tmp"
	cmd := exec.Command("go", "build", "-trimpath", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the Collector: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the Collector in %v", time.Since(start).Round(time.Second))
	return bin
}

// collector is one running Collector writing what it receives to files.
type collector struct {
	URL          string
	logs, traces string
	cmd          *exec.Cmd
	done         chan error
}

// startCollector starts a Collector on a free loopback port and returns
// once it says it is ready.
func startCollector(t *testing.T) *collector {
	t.Helper()
	bin := collectorBinary(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := &collector{URL: "http://" + addr, logs: filepath.Join(dir, "logs.json"), traces: filepath.Join(dir, "traces.json"), done: make(chan error, 1)}
	cfg := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
exporters:
  file/logs:
    path: %s
  file/traces:
    path: %s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [file/logs]
    traces:
      receivers: [otlp]
      exporters: [file/traces]
`, addr, c.logs, c.traces)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(bin, "--config", "file:"+cfgPath)
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	var log bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		said := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !said && strings.Contains(sc.Text(), "Everything is ready") {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
		c.done <- c.cmd.Wait()
	}()
	t.Cleanup(func() { c.stop(t, syscall.SIGKILL) })
	select {
	case ok := <-ready:
		if !ok {
			<-c.done
			t.Fatalf("the Collector exited before it was ready:\n%s", log.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("the Collector was not ready within a minute:\n%s", log.String())
	}
	return c
}

// stop ends the Collector (SIGTERM: it flushes its files first) and
// waits for it.
func (c *collector) stop(t *testing.T, sig syscall.Signal) {
	if c.cmd.ProcessState != nil || c.done == nil {
		return
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	c.done = nil
}

// otlpValue is an OTLP/JSON AnyValue.
type otlpValue struct {
	StringValue *string `json:"stringValue"`
	IntValue    *string `json:"intValue"` // int64 as a string in OTLP/JSON
	BoolValue   *bool   `json:"boolValue"`
	ArrayValue  *struct {
		Values []otlpValue `json:"values"`
	} `json:"arrayValue"`
}

func (v otlpValue) String() string {
	switch {
	case v.StringValue != nil:
		return *v.StringValue
	case v.IntValue != nil:
		return *v.IntValue
	case v.BoolValue != nil:
		return strconv.FormatBool(*v.BoolValue)
	case v.ArrayValue != nil:
		var s []string
		for _, e := range v.ArrayValue.Values {
			s = append(s, e.String())
		}
		return "[" + strings.Join(s, " ") + "]"
	}
	return ""
}

type otlpAttrs []struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

func (a otlpAttrs) get(k string) (string, bool) {
	for _, kv := range a {
		if kv.Key == k {
			return kv.Value.String(), true
		}
	}
	return "", false
}

type otlpResource struct {
	Attributes otlpAttrs `json:"attributes"`
}

type otlpLogRecord struct {
	SeverityText string    `json:"severityText"`
	Body         otlpValue `json:"body"`
	Attributes   otlpAttrs `json:"attributes"`
	TraceID      string    `json:"traceId"`
	SpanID       string    `json:"spanId"`
	Resource     otlpResource
}

type otlpSpan struct {
	TraceID      string    `json:"traceId"`
	SpanID       string    `json:"spanId"`
	ParentSpanID string    `json:"parentSpanId"`
	Name         string    `json:"name"`
	Attributes   otlpAttrs `json:"attributes"`
	Events       []struct {
		Name       string    `json:"name"`
		Attributes otlpAttrs `json:"attributes"`
	} `json:"events"`
	Status struct {
		Code int `json:"code"`
	} `json:"status"`
}

// readCollected parses the file exporter's output: one OTLP/JSON export
// request a line.
func readCollected(t *testing.T, c *collector) (logs []otlpLogRecord, spans []otlpSpan) {
	t.Helper()
	each := func(file string, f func([]byte)) {
		data, err := os.ReadFile(file)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		for sc.Scan() {
			f(sc.Bytes())
		}
	}
	each(c.logs, func(line []byte) {
		var req struct {
			ResourceLogs []struct {
				Resource  otlpResource `json:"resource"`
				ScopeLogs []struct {
					LogRecords []otlpLogRecord `json:"logRecords"`
				} `json:"scopeLogs"`
			} `json:"resourceLogs"`
		}
		if err := json.Unmarshal(line, &req); err != nil {
			t.Fatalf("the Collector's logs: %v\n%s", err, line)
		}
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					lr.Resource = rl.Resource
					logs = append(logs, lr)
				}
			}
		}
	})
	each(c.traces, func(line []byte) {
		var req struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []otlpSpan `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		}
		if err := json.Unmarshal(line, &req); err != nil {
			t.Fatalf("the Collector's traces: %v\n%s", err, line)
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
		}
	})
	return logs, spans
}

// otlpSecret is a value the job has in a secret-named variable.
const otlpSecret = "s3cr3t-otlp-value-0f9e8d7c6b5a"

var otlpCountsRe = regexp.MustCompile(`exectrail: note: otlp: (\d+) of (\d+) records exported \((\d+) not\), (\d+) of (\d+) spans`)

func otlpCounts(t *testing.T, stderr string) (exported, records, notExported, spansDone, spans int) {
	t.Helper()
	m := otlpCountsRe.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no otlp counts on stderr:\n%s", stderr)
	}
	n := make([]int, 5)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return n[0], n[1], n[2], n[3], n[4]
}

// TestOTLPExport runs a job with --otlp against a real Collector and
// checks what it received: one log record per local record, with the
// record as its body and the process attributes; one span per process,
// each under its parent process's span, all in one trace.
func TestOTLPExport(t *testing.T) {
	c := startCollector(t)
	env := append(os.Environ(), "GITHUB_ACTIONS=true", "GITHUB_RUN_ID=4242", "GITHUB_REPOSITORY=acme/widget",
		"GITHUB_SERVER_URL=https://github.example", "GITHUB_REF=refs/pull/17/merge", "GITHUB_SHA=0123abcd",
		"GITHUB_STEP_SUMMARY=",     // no step summary from this test
		"DEPLOY_TOKEN="+otlpSecret) // a secret the job passes on: masked in what is exported too
	r := runTrail(t, Opts{Flags: []string{"--otlp", c.URL}, Env: env},
		"sh", "-c", `cd /bin && ./ls >/dev/null; /bin/true "$DEPLOY_TOKEN"; exit 0`)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", r.ExitCode, r.Stderr)
	}
	if r.Start == nil || r.End == nil {
		t.Fatalf("no start or end record")
	}
	all := append(append([]Record{*r.Start}, r.Records...), *r.End)
	exported, records, notExported, spansDone, spans := otlpCounts(t, r.Stderr)
	if records != len(all) || exported != records || notExported != 0 || spansDone != spans || spans == 0 {
		t.Errorf("counts: %d of %d exported (%d not), %d of %d spans; %d local records", exported, records, notExported, spansDone, spans, len(all))
	}
	// The end record says what was exported before it.
	if e, n := r.End.Raw["otlp_exported"], r.End.Raw["otlp_not_exported"]; e != float64(len(all)-1) || n != float64(0) {
		t.Errorf("end record: otlp_exported %v otlp_not_exported %v, want %d and 0", e, n, len(all)-1)
	}
	c.stop(t, syscall.SIGTERM) // flushes the files
	logs, sp := readCollected(t, c)
	for _, f := range []string{c.logs, c.traces} {
		if b, _ := os.ReadFile(f); bytes.Contains(b, []byte(otlpSecret)) || bytes.Contains(b, []byte(hex.EncodeToString([]byte(otlpSecret)))) {
			t.Errorf("the secret reached the Collector (%s)", filepath.Base(f))
		}
	}

	// Logs: the local records, one each, in a body that is the record.
	if len(logs) != len(all) {
		t.Fatalf("%d log records at the Collector, %d local records", len(logs), len(all))
	}
	bySeq := map[int]otlpLogRecord{}
	for _, lr := range logs {
		seq, _ := lr.Attributes.get("exectrail.seq")
		n, _ := strconv.Atoi(seq)
		bySeq[n] = lr
	}
	spanOf := map[int]otlpSpan{} // pid -> its process span
	for _, s := range sp {
		if pid, ok := s.Attributes.get("process.pid"); ok {
			n, _ := strconv.Atoi(pid)
			spanOf[n] = s
		}
	}
	for _, rec := range all {
		lr, ok := bySeq[rec.Seq]
		if !ok {
			t.Errorf("record %d not at the Collector", rec.Seq)
			continue
		}
		var body map[string]any
		if lr.Body.StringValue == nil || json.Unmarshal([]byte(*lr.Body.StringValue), &body) != nil || !jsonEqual(body, rec.Raw) {
			t.Errorf("record %d: body %s, want the record %s", rec.Seq, lr.Body.String(), dump([]Record{rec}))
		}
		pid, _ := lr.Attributes.get("process.pid")
		ev, _ := lr.Attributes.get("exectrail.event")
		if pid != strconv.Itoa(rec.PID) || ev != rec.Event {
			t.Errorf("record %d: process.pid %q exectrail.event %q", rec.Seq, pid, ev)
		}
		if rec.Event == "exec" {
			exe, _ := lr.Attributes.get("process.executable.path")
			args, _ := lr.Attributes.get("process.command_args")
			cwd, _ := lr.Attributes.get("process.working_directory")
			ppid, _ := lr.Attributes.get("process.parent_pid")
			if exe != rec.Executable || args != "["+strings.Join(rec.Argv, " ")+"]" || cwd != rec.Cwd || ppid != strconv.Itoa(rec.PPID) {
				t.Errorf("record %d: attributes %v, want %s", rec.Seq, lr.Attributes, dump([]Record{rec}))
			}
			if want := map[bool]string{true: "INFO", false: "WARN"}[rec.Error == ""]; lr.SeverityText != want {
				t.Errorf("record %d: severity %q, want %q", rec.Seq, lr.SeverityText, want)
			}
		}
		// Each log record belongs to its process's span.
		if s, ok := spanOf[rec.PID]; ok && (lr.SpanID != s.SpanID || lr.TraceID != s.TraceID) {
			t.Errorf("record %d: span %s/%s, its process's span is %s/%s", rec.Seq, lr.TraceID, lr.SpanID, s.TraceID, s.SpanID)
		}
	}
	res := logs[0].Resource.Attributes
	for k, want := range map[string]string{
		"service.name": "exectrail", "cicd.pipeline.run.id": "4242", "vcs.change.id": "17",
		"vcs.repository.url.full": "https://github.example/acme/widget", "vcs.ref.head.revision": "0123abcd",
		"exectrail.backend": backend,
	} {
		if got, _ := res.get(k); got != want {
			t.Errorf("resource %s = %q, want %q", k, got, want)
		}
	}
	if id, _ := res.get("exectrail.run.id"); id == "" {
		t.Errorf("resource has no exectrail.run.id")
	}

	// Traces: one, a root for the run, a span per process, children
	// under their parents.
	if len(sp) != spans {
		t.Errorf("%d spans at the Collector, exectrail started %d", len(sp), spans)
	}
	var root otlpSpan
	for _, s := range sp {
		if s.TraceID != sp[0].TraceID {
			t.Errorf("span %q in trace %s, others in %s", s.Name, s.TraceID, sp[0].TraceID)
		}
		if s.ParentSpanID == "" {
			if root.SpanID != "" {
				t.Errorf("two root spans: %q and %q", root.Name, s.Name)
			}
			root = s
		}
	}
	if root.Name != "exectrail run sh" {
		t.Errorf("root span %q, want %q", root.Name, "exectrail run sh")
	}
	execs := r.Execs()
	shPID := execs[0].PID
	sh, ok := spanOf[shPID]
	if !ok || sh.ParentSpanID != root.SpanID || sh.Name != "dash" {
		t.Errorf("sh's span %+v: want %q under the root", sh, "dash")
	}
	for _, name := range []string{"/usr/bin/ls", "/usr/bin/true"} {
		recs := r.ExecsOf(name)
		if len(recs) != 1 {
			t.Fatalf("want one exec of %s:\n%s", name, dump(r.Records))
		}
		s, ok := spanOf[recs[0].PID]
		if !ok || s.ParentSpanID != sh.SpanID || s.Name != filepath.Base(name) {
			t.Errorf("%s's span %+v: want %q under sh's span %s", name, s, filepath.Base(name), sh.SpanID)
		}
		hasExec := slices.ContainsFunc(s.Events, func(e struct {
			Name       string    `json:"name"`
			Attributes otlpAttrs `json:"attributes"`
		}) bool {
			exe, _ := e.Attributes.get("process.executable.path")
			return e.Name == "exec" && exe == name
		})
		if !hasExec {
			t.Errorf("%s's span has no exec event: %+v", name, s.Events)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestOTLPCollectorDown stops the Collector in the middle of a job: the
// job goes on unaffected, the local log is whole, and exectrail says how
// many records the Collector did not get.
func TestOTLPCollectorDown(t *testing.T) {
	c := startCollector(t)
	dir := t.TempDir()
	ready, resume := filepath.Join(dir, "ready"), filepath.Join(dir, "resume")
	for _, f := range []string{ready, resume} {
		if err := syscall.Mkfifo(f, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const before, after = 10, 20
	script := fmt.Sprintf(`for i in $(seq %d); do /bin/true; done; echo ready > %s; read x < %s; for i in $(seq %d); do /bin/true; done; exit 0`,
		before, ready, resume, after)
	done := make(chan *Run, 1)
	go func() {
		var r *Run // nil if runTrail failed the test
		defer func() { done <- r }()
		r = runTrail(t, Opts{Flags: []string{"--otlp", c.URL}, Timeout: time.Minute}, "sh", "-c", script)
	}()
	// The job says when its first execs are done (and so recorded).
	said := make(chan string, 1)
	go func() { b, _ := os.ReadFile(ready); said <- string(b) }()
	select {
	case s := <-said:
		if s != "ready\n" {
			t.Fatalf("the job said %q", s)
		}
	case r := <-done:
		if r != nil {
			t.Fatalf("the job ended before it was ready: exit %d\n%s", r.ExitCode, r.Stderr)
		}
		t.FailNow()
	}
	c.stop(t, syscall.SIGKILL)
	if err := os.WriteFile(resume, []byte("go\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r == nil {
		t.FailNow()
	}
	if r.ExitCode != 0 {
		t.Fatalf("the job failed with the Collector down: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	if n := len(r.ExecsOf("/usr/bin/true")); n != before+after {
		t.Errorf("%d execs of true in the local log, want %d", n, before+after)
	}
	if r.Start == nil || r.End == nil {
		t.Fatalf("no start or end record: the local log is not whole")
	}
	total := len(r.Records) + 2
	exported, records, notExported, _, _ := otlpCounts(t, r.Stderr)
	if records != total || exported+notExported != records || notExported < after {
		t.Errorf("counts: %d of %d exported (%d not); %d local records, at least %d after the Collector died", exported, records, notExported, total, after)
	}
	if e, n := r.End.Raw["otlp_exported"].(float64), r.End.Raw["otlp_not_exported"].(float64); int(e+n) != total-1 || n < after {
		t.Errorf("end record: otlp_exported %v otlp_not_exported %v; %d records before it", e, n, total-1)
	}
}
