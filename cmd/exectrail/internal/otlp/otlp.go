package otlp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sys/unix"

	"github.com/exectrail/exectrail/supervisor/record"
)

// Defaults for Options.
const (
	DefaultQueue   = 65536           // records waiting for export
	DefaultTimeout = 5 * time.Second // the final flush, and each export's retries
)

// Options configure an Exporter.
type Options struct {
	// Endpoint is the Collector's OTLP/HTTP base URL
	// (http://127.0.0.1:4318): logs go to Endpoint/v1/logs, spans to
	// Endpoint/v1/traces. The OTEL_EXPORTER_OTLP_* environment variables
	// (headers, timeout, certificates, compression) are honoured as the
	// SDK defines them; Endpoint wins over their endpoint.
	Endpoint string
	Version  string   // exectrail's version (service.version)
	Backend  string   // the backend in use
	Command  []string // COMMAND and its arguments
	RunID    string   // the run's id; empty: a random one
	// QueueSize bounds the records waiting for export; 0: DefaultQueue.
	QueueSize int
	// Timeout bounds the final flush (and the retries of each export);
	// 0: DefaultTimeout.
	Timeout time.Duration
	// Environ is read for the CI job's attributes; nil: os.Environ().
	Environ []string
	// OnError hears export errors (the Collector is down, say); they
	// never reach the job. nil: ignored.
	OnError func(error)
}

// Stats say what was exported when the Exporter closed.
type Stats struct {
	Records, Exported uint64 // log records: one per record written
	Spans, SpansDone  uint64 // spans started, and exported
}

// NotExported is the number of records the Collector did not get.
func (s Stats) NotExported() uint64 { return s.Records - s.Exported }

// Exporter sends records to a Collector. Observe is its only method used
// while the job runs.
type Exporter struct {
	opt Options

	mu     sync.RWMutex // Observe against Close
	closed bool
	queue  chan item
	done   chan struct{}
	// deadline bounds Flush and Close together: set by the first.
	deadline time.Time

	observed atomic.Uint64

	lp     *sdklog.LoggerProvider
	tp     *sdktrace.TracerProvider
	logs   *countLogs
	spans  *countSpans
	logger log.Logger
	tracer trace.Tracer

	// The drain goroutine's own state.
	root    trace.Span
	rootCtx context.Context
	procs   map[int]*proc
	started uint64 // spans started, root included
	body    []byte
}

// item is a queued record, or a request to say when everything before
// it was handled.
type item struct {
	rec     record.Record
	handled chan struct{}
}

// proc is the span of one process the drain goroutine knows.
type proc struct {
	span trace.Span
	ctx  context.Context
}

// Start sets up the exporters and returns an Exporter whose Observe is
// ready for Writer.AddObserver. It makes no connection yet: a Collector
// that is down shows in the counts at Close, not here.
func Start(opt Options) (*Exporter, error) {
	if opt.Endpoint == "" {
		return nil, errors.New("no endpoint")
	}
	base := strings.TrimRight(opt.Endpoint, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("endpoint %q: want an http:// or https:// URL", opt.Endpoint)
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = DefaultQueue
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.RunID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		opt.RunID = hex.EncodeToString(b[:])
	}
	if opt.Environ == nil {
		opt.Environ = os.Environ()
	}
	cmd := make([]string, len(opt.Command))
	for i, a := range opt.Command {
		cmd[i] = utf8Str(a)
	}
	opt.Command = cmd
	if opt.OnError != nil {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(opt.OnError))
	} else {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	}
	ctx := context.Background()
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(resourceAttrs(opt)...),
		resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME
	)
	if err != nil {
		return nil, fmt.Errorf("otlp: resource: %w", err)
	}
	logExp, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(base+"/v1/logs"),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: true, InitialInterval: 200 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: opt.Timeout}))
	if err != nil {
		return nil, fmt.Errorf("otlp: logs: %w", err)
	}
	spanExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(base+"/v1/traces"),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: 200 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: opt.Timeout}))
	if err != nil {
		return nil, fmt.Errorf("otlp: traces: %w", err)
	}
	e := &Exporter{
		opt:   opt,
		queue: make(chan item, opt.QueueSize),
		done:  make(chan struct{}),
		logs:  &countLogs{Exporter: logExp},
		spans: &countSpans{SpanExporter: spanExp},
		procs: make(map[int]*proc),
	}
	e.lp = sdklog.NewLoggerProvider(sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(e.logs,
			sdklog.WithMaxQueueSize(opt.QueueSize), sdklog.WithExportTimeout(opt.Timeout))))
	e.tp = sdktrace.NewTracerProvider(sdktrace.WithResource(res),
		sdktrace.WithBatcher(e.spans, sdktrace.WithMaxQueueSize(opt.QueueSize), sdktrace.WithExportTimeout(opt.Timeout)))
	e.logger = e.lp.Logger("exectrail")
	e.tracer = e.tp.Tracer("exectrail")
	name := "exectrail run"
	if len(opt.Command) > 0 {
		name += " " + path.Base(opt.Command[0])
	}
	e.rootCtx, e.root = e.tracer.Start(ctx, name, trace.WithAttributes(
		attribute.StringSlice("exectrail.command", opt.Command)))
	e.started = 1
	go e.drain()
	return e, nil
}

// Observe queues a copy of r for export. It never blocks: when the queue
// is full the record is left out of the export (and counted as not
// exported). It is safe for concurrent use and after Close.
func (e *Exporter) Observe(r *record.Record) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return
	}
	e.observed.Add(1)
	select {
	case e.queue <- item{rec: clone(r)}:
	default:
	}
}

// clone copies r deeply enough that the caller may reuse its buffers.
func clone(r *record.Record) record.Record {
	c := *r
	c.Path = bytes.Clone(r.Path)
	if r.Argv != nil {
		n := 0
		for _, a := range r.Argv {
			n += len(a)
		}
		buf := make([]byte, 0, n)
		c.Argv = make([][]byte, len(r.Argv))
		for i, a := range r.Argv {
			buf = append(buf, a...)
			c.Argv[i] = buf[len(buf)-len(a) : len(buf) : len(buf)]
		}
	}
	if r.ExitCode != nil {
		v := *r.ExitCode
		c.ExitCode = &v
	}
	if r.DurationMS != nil {
		v := *r.DurationMS
		c.DurationMS = &v
	}
	if r.Verified != nil {
		v := *r.Verified
		c.Verified = &v
	}
	return c
}

// Flush exports the log records of everything observed so far and says
// how many reached the Collector: for the end record, which is then
// exported by Close. Flush and Close together take at most the Timeout.
// Flush must not be called concurrently with Close.
func (e *Exporter) Flush() Stats {
	e.mu.RLock()
	closed := e.closed
	handled := make(chan struct{})
	if !closed {
		e.queue <- item{handled: handled} // the drain never blocks: this waits only for it
	}
	e.mu.RUnlock()
	if closed {
		return e.stats()
	}
	<-handled
	ctx, cancel := context.WithDeadline(context.Background(), e.until())
	defer cancel()
	_ = e.lp.ForceFlush(ctx)
	return e.stats()
}

func (e *Exporter) until() time.Time {
	if e.deadline.IsZero() {
		e.deadline = time.Now().Add(e.opt.Timeout)
	}
	return e.deadline
}

func (e *Exporter) stats() Stats {
	return Stats{
		Records:  e.observed.Load(),
		Exported: min(e.logs.ok.Load(), e.observed.Load()),
	}
}

// Close stops taking records, exports what is queued, ends the spans of
// processes whose exit it did not see (now), and flushes, all within the
// Timeout (counted from Flush when it was called). What did not reach
// the Collector by then is counted.
func (e *Exporter) Close() Stats {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.queue)
	}
	e.mu.Unlock()
	<-e.done
	now := time.Now()
	for _, p := range e.procs {
		p.span.End(trace.WithTimestamp(now))
	}
	e.root.End(trace.WithTimestamp(now))
	ctx, cancel := context.WithDeadline(context.Background(), e.until())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = e.lp.Shutdown(ctx) }()
	go func() { defer wg.Done(); _ = e.tp.Shutdown(ctx) }()
	wg.Wait()
	return Stats{
		Records:   e.observed.Load(),
		Exported:  min(e.logs.ok.Load(), e.observed.Load()),
		Spans:     e.started,
		SpansDone: min(e.spans.ok.Load(), e.started),
	}
}

func (e *Exporter) drain() {
	defer close(e.done)
	for it := range e.queue {
		if it.handled != nil {
			close(it.handled)
			continue
		}
		e.handle(&it.rec)
	}
}

// handle turns one record into a log record, and into the spans of the
// processes it concerns.
func (e *Exporter) handle(r *record.Record) {
	var ea []attribute.KeyValue
	if r.Event == record.EventExec {
		ea = execAttrs(r)
	}
	ctx := e.trace(r, ea)
	var lr log.Record
	lr.SetTimestamp(r.Time)
	lr.SetObservedTimestamp(time.Now())
	lr.SetEventName("exectrail." + r.Event)
	sev, text := severity(r)
	lr.SetSeverity(sev)
	lr.SetSeverityText(text)
	e.body = record.AppendJSON(e.body[:0], r)
	lr.SetBody(attribute.StringValue(string(bytes.TrimSuffix(e.body, []byte("\n")))))
	lr.AddAttributes(logAttrs(r, ea)...)
	e.logger.Emit(ctx, lr)
}

// severity: INFO for what went as asked, WARN for a failed exec, fork or
// a process that failed or was killed, ERROR for an exec exectrail
// refused.
func severity(r *record.Record) (log.Severity, string) {
	switch {
	case r.Action == record.ActionDeny:
		return log.SeverityError, "ERROR"
	case r.Error != "":
		return log.SeverityWarn, "WARN"
	case r.Event == record.EventExit && (r.Signal != "" || (r.ExitCode != nil && *r.ExitCode != 0)):
		return log.SeverityWarn, "WARN"
	}
	return log.SeverityInfo, "INFO"
}

// trace updates the spans for r and returns the context its log record
// belongs to (the span of its process).
func (e *Exporter) trace(r *record.Record, ea []attribute.KeyValue) context.Context {
	switch r.Event {
	case record.EventFork:
		p := e.proc(r.PID, 0, r.Time)
		p.span.AddEvent("fork", trace.WithTimestamp(r.Time), trace.WithAttributes(
			attribute.String("exectrail.fork.kind", r.Kind), attribute.Int("exectrail.fork.child_pid", r.ChildPID)))
		if r.ChildPID != 0 && r.Error == "" {
			if old := e.procs[r.ChildPID]; old != nil {
				// A process exectrail saw no exit of had this pid.
				old.span.End(trace.WithTimestamp(r.Time))
			}
			e.procs[r.ChildPID] = e.startProc(p.ctx, r.ChildPID, r.PID, r.Time)
		}
		return p.ctx
	case record.EventExec:
		ppid := r.PPID
		if r.PPIDUnknown {
			ppid = 0
		}
		p := e.proc(r.PID, ppid, r.Time)
		p.span.AddEvent("exec", trace.WithTimestamp(r.Time), trace.WithAttributes(ea...))
		if r.Error == "" && r.Action == "" && r.Executable != "" {
			p.span.SetName(path.Base(utf8Str(r.Executable)))
			p.span.SetAttributes(ea...)
		}
		return p.ctx
	case record.EventExit:
		start := r.Time
		if r.DurationMS != nil {
			start = r.Time.Add(-time.Duration(*r.DurationMS * float64(time.Millisecond)))
		}
		p := e.proc(r.PID, 0, start)
		switch {
		case r.ExitCode != nil:
			p.span.SetAttributes(semconv.ProcessExitCode(*r.ExitCode))
			if *r.ExitCode != 0 {
				p.span.SetStatus(codes.Error, fmt.Sprintf("exit status %d", *r.ExitCode))
			}
		case r.Signal != "":
			p.span.SetAttributes(attribute.String("exectrail.signal", r.Signal))
			p.span.SetStatus(codes.Error, "killed by "+r.Signal)
		}
		p.span.End(trace.WithTimestamp(r.Time))
		delete(e.procs, r.PID)
		return p.ctx
	}
	// The run's own records: on the root span.
	return e.rootCtx
}

// proc returns the span of the process now known by pid, starting one
// (at t, under ppid's span when there is one, else the run's) when there
// is none: under notify a fork record names no child, so a process's
// span starts at its first record.
func (e *Exporter) proc(pid, ppid int, t time.Time) *proc {
	if p := e.procs[pid]; p != nil {
		return p
	}
	parent := e.rootCtx
	if pp := e.procs[ppid]; ppid != 0 && pp != nil {
		parent = pp.ctx
	}
	p := e.startProc(parent, pid, ppid, t)
	e.procs[pid] = p
	return p
}

func (e *Exporter) startProc(parent context.Context, pid, ppid int, t time.Time) *proc {
	attrs := []attribute.KeyValue{semconv.ProcessPID(pid)}
	if ppid != 0 {
		attrs = append(attrs, semconv.ProcessParentPID(ppid))
	}
	ctx, span := e.tracer.Start(parent, "process", trace.WithTimestamp(t), trace.WithAttributes(attrs...))
	e.started++
	return &proc{span: span, ctx: ctx}
}

// utf8Str makes a string of the job's bytes fit OTLP, whose strings must
// be UTF-8 (one invalid string fails the whole batch's encoding): invalid
// bytes become U+FFFD. The log record's body keeps them losslessly (the
// JSON record's *_hex fields).
func utf8Str(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func execAttrs(r *record.Record) []attribute.KeyValue {
	args := make([]string, len(r.Argv))
	for i, a := range r.Argv {
		args[i] = utf8Str(string(a))
	}
	a := []attribute.KeyValue{
		semconv.ProcessCommandArgs(args...),
		attribute.String("exectrail.path", utf8Str(string(r.Path))),
	}
	if r.Executable != "" {
		exe := utf8Str(r.Executable)
		a = append(a, semconv.ProcessExecutablePath(exe), semconv.ProcessExecutableName(path.Base(exe)))
	}
	if r.Cwd != "" {
		a = append(a, semconv.ProcessWorkingDirectory(utf8Str(r.Cwd)))
	}
	if r.Error != "" {
		a = append(a, attribute.String("exectrail.error", r.Error))
	}
	if r.Action != "" {
		a = append(a, attribute.String("exectrail.action", r.Action))
	}
	return a
}

// logAttrs are a log record's attributes (ea: an exec record's
// execAttrs): the OpenTelemetry process
// semantic conventions where one fits, exectrail.* for the rest (the
// body has the whole record).
func logAttrs(r *record.Record, ea []attribute.KeyValue) []attribute.KeyValue {
	a := []attribute.KeyValue{
		attribute.String("exectrail.event", r.Event),
		attribute.Int64("exectrail.seq", int64(r.Seq)),
		semconv.ProcessPID(r.PID),
	}
	if r.TID != 0 && r.TID != r.PID {
		a = append(a, semconv.ThreadID(r.TID))
	}
	switch r.Event {
	case record.EventExec:
		if !r.PPIDUnknown {
			a = append(a, semconv.ProcessParentPID(r.PPID))
		}
		a = append(a, ea...)
		if r.Interpreter != "" {
			a = append(a, attribute.String("exectrail.interpreter", utf8Str(r.Interpreter)))
		}
		if r.HasUID {
			a = append(a, semconv.ProcessRealUserID(r.UID))
		}
		if r.ContainerID != "" {
			a = append(a, semconv.ContainerID(r.ContainerID))
		}
		if r.PodUID != "" {
			a = append(a, semconv.K8SPodUID(r.PodUID))
		}
		if r.Verified != nil {
			a = append(a, attribute.Bool("exectrail.verified", *r.Verified))
		}
		return a // execAttrs has error and action
	case record.EventFork:
		a = append(a, attribute.String("exectrail.fork.kind", r.Kind))
		if r.ChildPID != 0 {
			a = append(a, attribute.Int("exectrail.fork.child_pid", r.ChildPID))
		}
	case record.EventExit:
		if r.ExitCode != nil {
			a = append(a, semconv.ProcessExitCode(*r.ExitCode))
		}
		if r.Signal != "" {
			a = append(a, attribute.String("exectrail.signal", r.Signal))
		}
		if r.DurationMS != nil {
			a = append(a, attribute.Float64("exectrail.duration_ms", *r.DurationMS))
		}
	}
	if r.Error != "" {
		a = append(a, attribute.String("exectrail.error", r.Error))
	}
	if r.Action != "" {
		a = append(a, attribute.String("exectrail.action", r.Action))
	}
	return a
}

// resourceAttrs describe the run: exectrail, the host, and the CI job
// when the environment names one (GitHub Actions, GitLab CI).
func resourceAttrs(opt Options) []attribute.KeyValue {
	a := []attribute.KeyValue{
		semconv.ServiceName("exectrail"),
		semconv.ServiceVersion(opt.Version),
		semconv.OSTypeLinux,
		attribute.String("exectrail.run.id", opt.RunID),
		attribute.String("exectrail.backend", opt.Backend),
		attribute.StringSlice("exectrail.command", opt.Command),
		semconv.HostArchKey.String(runtime.GOARCH),
	}
	if h, err := os.Hostname(); err == nil {
		a = append(a, semconv.HostName(utf8Str(h)))
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		a = append(a, semconv.OSVersion(unix.ByteSliceToString(u.Release[:])))
	}
	env := map[string]string{}
	for _, kv := range opt.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	add := func(k attribute.Key, envName string) {
		if v := env[envName]; v != "" {
			a = append(a, k.String(utf8Str(v)))
		}
	}
	switch {
	case env["GITHUB_ACTIONS"] == "true":
		add(semconv.CICDPipelineNameKey, "GITHUB_WORKFLOW")
		add(semconv.CICDPipelineRunIDKey, "GITHUB_RUN_ID")
		add(semconv.CICDPipelineTaskNameKey, "GITHUB_JOB")
		add(semconv.VCSRefHeadRevisionKey, "GITHUB_SHA")
		add(semconv.VCSRefHeadNameKey, "GITHUB_REF_NAME")
		if s, r := env["GITHUB_SERVER_URL"], env["GITHUB_REPOSITORY"]; s != "" && r != "" {
			a = append(a, semconv.VCSRepositoryURLFull(utf8Str(s+"/"+r)))
		}
		// refs/pull/N/merge: the pull request the job runs for.
		if ref := env["GITHUB_REF"]; strings.HasPrefix(ref, "refs/pull/") {
			if n, _, ok := strings.Cut(strings.TrimPrefix(ref, "refs/pull/"), "/"); ok {
				a = append(a, semconv.VCSChangeID(utf8Str(n)))
			}
		}
	case env["GITLAB_CI"] == "true":
		add(semconv.CICDPipelineNameKey, "CI_PROJECT_PATH")
		add(semconv.CICDPipelineRunIDKey, "CI_PIPELINE_ID")
		add(semconv.CICDPipelineTaskNameKey, "CI_JOB_NAME")
		add(semconv.CICDPipelineTaskRunIDKey, "CI_JOB_ID")
		add(semconv.VCSRefHeadRevisionKey, "CI_COMMIT_SHA")
		add(semconv.VCSRefHeadNameKey, "CI_COMMIT_REF_NAME")
		add(semconv.VCSRepositoryURLFullKey, "CI_PROJECT_URL")
		add(semconv.VCSChangeIDKey, "CI_MERGE_REQUEST_IID")
	}
	return a
}

// countLogs and countSpans count what the Collector accepted.
type countLogs struct {
	sdklog.Exporter
	ok atomic.Uint64
}

func (c *countLogs) Export(ctx context.Context, recs []sdklog.Record) error {
	err := c.Exporter.Export(ctx, recs)
	if err == nil {
		c.ok.Add(uint64(len(recs)))
	}
	return err
}

type countSpans struct {
	sdktrace.SpanExporter
	ok atomic.Uint64
}

func (c *countSpans) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := c.SpanExporter.ExportSpans(ctx, spans)
	if err == nil {
		c.ok.Add(uint64(len(spans)))
	}
	return err
}
