package report

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	"github.com/exectrail/exectrail/supervisor/record"
)

// Trace layout. The whole job is one trace process; every process of the
// job is one thread track of it (tid = its pid), sorted depth first so
// that children sit under their parent, and named with its depth. Each
// process is a complete slice ("X") from its start to its exit, named by
// its program, with pid, ppid, argv, cwd, exit and duration in its args;
// a flow arrow runs from the parent's slice to the child's. Failed and
// refused execs are instant events on the process's track.
//
// A process without an exit record (most of them with the notify
// backend) has no known end: its slice ends at the last record of it or
// of its descendants that have no exit record either, the latest time
// it is known to have been alive, and its args say so. That keeps every
// slice inside its parent's, except for an orphan that outlived its
// parent, which is marked "outlived_parent".

// traceTidBase is above any pid (pid_max is at most 2^22): tracks of
// processes whose pid was reused are numbered from here.
const traceTidBase = 1 << 22

// traceSpan is when a process's slice starts and ends, in nanoseconds,
// and whether the end is its exit.
func (p *Process) traceSpan() (start, end int64, endKnown bool) {
	start = p.Start
	if p.Exited {
		end, endKnown = p.End, true
	} else {
		end = p.LastSeen
	}
	if end < start {
		end = start
	}
	return start, end, endKnown
}

// WriteTrace writes the Chrome Trace Event JSON timeline (the JSON object
// format, one event a line).
func (l *Log) WriteTrace(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	t := traceWriter{w: bw, first: l.First}
	jobPID := 1
	if root := l.Root(); root != nil {
		jobPID = root.PID
	}
	t.pid = jobPID

	b := t.b[:0]
	b = append(b, `{"displayTimeUnit":"ms","otherData":{"generator":"exectrail report","backend":`...)
	b = record.AppendJSONString(b, l.Backend)
	b = append(b, `,"records":`...)
	b = strconv.AppendInt(b, int64(l.Records), 10)
	b = append(b, `,"processes":`...)
	b = strconv.AppendInt(b, int64(len(l.Processes)), 10)
	b = append(b, `,"start":`...)
	b = record.AppendJSONString(b, clock(l.First))
	if notes := l.Notes(); len(notes) > 0 {
		b = append(b, `,"notes":[`...)
		for i, n := range notes {
			if i > 0 {
				b = append(b, ',')
			}
			b = record.AppendJSONString(b, n)
		}
		b = append(b, ']')
	}
	b = append(b, "},\n\"traceEvents\":[\n"...)
	t.b = b
	t.flush()

	// The job.
	name := "exectrail job"
	if root := l.Root(); root != nil {
		name += ": " + cut(argvText(root), 100)
	}
	t.begin("M", "process_name", "", 0, false)
	t.b = append(t.b, `,"args":{"name":`...)
	t.b = record.AppendJSONString(t.b, name)
	t.b = append(t.b, "}}"...)
	t.flush()

	tids := make(map[int]bool, len(l.Processes))
	tid := make([]int, len(l.Processes))
	next := traceTidBase
	allExits := l.HasAllExits()
	sort := 0
	flow := 0
	walk(l.Roots, nil, func(p *Process, depth int, _ []bool) bool {
		id := p.PID
		if tids[id] || id <= 0 || id >= traceTidBase {
			id = next
			next++
		}
		tids[id] = true
		tid[p.index] = id
		t.tid = id

		// Track name and order.
		t.begin("M", "thread_name", "", 0, false)
		t.b = append(t.b, `,"args":{"name":`...)
		t.b = record.AppendJSONString(t.b, strings.Repeat("· ", min(depth, 64))+p.Name()+" "+strconv.Itoa(p.PID))
		t.b = append(t.b, "}}"...)
		t.flush()
		t.begin("M", "thread_sort_index", "", 0, false)
		t.b = append(t.b, `,"args":{"sort_index":`...)
		t.b = strconv.AppendInt(t.b, int64(sort), 10)
		t.b = append(t.b, "}}"...)
		t.flush()
		sort++

		// The process's slice.
		start, end, endKnown := p.traceSpan()
		t.begin("X", p.Name(), "process", start, true)
		t.b = append(t.b, `,"dur":`...)
		t.b = appendMicros(t.b, end-start)
		t.b = append(t.b, `,"args":{"pid":`...)
		t.b = strconv.AppendInt(t.b, int64(p.PID), 10)
		if p.PPID > 0 {
			t.b = append(t.b, `,"ppid":`...)
			t.b = strconv.AppendInt(t.b, int64(p.PPID), 10)
		}
		t.str("process", label(p))
		if p.Exe != "" {
			t.str("executable", p.Exe)
		}
		if len(p.Prev) > 0 {
			t.b = append(t.b, `,"earlier_executables":[`...)
			for i, e := range p.Prev {
				if i > 0 {
					t.b = append(t.b, ',')
				}
				t.b = record.AppendJSONString(t.b, e)
			}
			t.b = append(t.b, ']')
		}
		if p.argv != "" {
			t.b = append(t.b, `,"argv":[`...)
			for i, a := range p.Argv() {
				if i > 0 {
					t.b = append(t.b, ',')
				}
				t.b = record.AppendJSONString(t.b, a)
			}
			t.b = append(t.b, ']')
			if p.ArgvElided {
				t.b = append(t.b, `,"argv_elided":true`...)
			}
		}
		if p.Cwd != "" {
			t.str("cwd", p.Cwd)
		}
		if p.Kind != "" {
			t.str("created_by", p.Kind)
		}
		switch x := exitText(p, allExits); {
		case p.Exited:
			t.str("exit", exitWord(p, allExits))
		case x == "running":
			t.str("exit", "none yet: no exit record (still running when the log ended?); the slice ends at the last record of it or its descendants")
		default:
			t.str("exit", "unknown: no exit record (the notify backend records exits only for COMMAND and orphans); the slice ends at the last record of it or its descendants")
		}
		if d, ok := p.Duration(); ok {
			t.b = append(t.b, `,"duration_ms":`...)
			t.b = strconv.AppendFloat(t.b, d, 'f', -1, 64)
		}
		if !endKnown {
			t.b = append(t.b, `,"end_known":false`...)
		}
		if p.Failed > 0 {
			t.b = append(t.b, `,"failed_execs":`...)
			t.b = strconv.AppendInt(t.b, int64(p.Failed), 10)
		}
		if p.Denied > 0 {
			t.b = append(t.b, `,"denied_execs":`...)
			t.b = strconv.AppendInt(t.b, int64(p.Denied), 10)
		}
		if q := p.Parent; q != nil {
			if _, qend, _ := q.traceSpan(); end > qend {
				t.b = append(t.b, `,"outlived_parent":true`...)
			}
		}
		t.b = append(t.b, "}}"...)
		t.flush()

		// A flow arrow from the parent's track to this one.
		if q := p.Parent; q != nil {
			flow++
			t.tid = tid[q.index]
			t.begin("s", "fork", "fork", start, true)
			t.b = append(t.b, `,"id":`...)
			t.b = strconv.AppendInt(t.b, int64(flow), 10)
			t.b = append(t.b, '}')
			t.flush()
			t.tid = id
			t.begin("f", "fork", "fork", start, true)
			t.b = append(t.b, `,"bp":"e","id":`...)
			t.b = strconv.AppendInt(t.b, int64(flow), 10)
			t.b = append(t.b, '}')
			t.flush()
		}

		for _, a := range p.Attempts {
			cat, name := "exec-failed", a.Error+" "+a.Target()
			if a.Denied {
				cat, name = "exec-denied", "denied "+a.Target()
			}
			t.begin("i", name, cat, a.Time, true)
			t.b = append(t.b, `,"s":"t","args":{`...)
			t.b = append(t.b, `"line":`...)
			t.b = strconv.AppendInt(t.b, int64(a.Line), 10)
			t.str("path", a.Path)
			if a.Executable != "" {
				t.str("executable", a.Executable)
			}
			if a.Error != "" {
				t.str("error", a.Error)
			}
			if a.Detail != "" {
				t.str("error_detail", a.Detail)
			}
			t.b = append(t.b, "}}"...)
			t.flush()
		}
		return true
	})
	t.b = append(t.b[:0], "\n]}\n"...)
	t.flushRaw()
	if t.err != nil {
		return t.err
	}
	return bw.Flush()
}

type traceWriter struct {
	w     *bufio.Writer
	b     []byte
	first int64
	pid   int
	tid   int
	n     int // events written
	err   error
}

// begin starts an event: {"ph":…,"name":…,"cat":…,"pid":…,"tid":…[,"ts":…]
func (t *traceWriter) begin(ph, name, cat string, ts int64, hasTS bool) {
	b := t.b[:0]
	if t.n > 0 {
		b = append(b, ",\n"...)
	}
	t.n++
	b = append(b, `{"ph":"`...)
	b = append(b, ph...)
	b = append(b, `","name":`...)
	b = record.AppendJSONString(b, name)
	if cat != "" {
		b = append(b, `,"cat":"`...)
		b = append(b, cat...)
		b = append(b, '"')
	}
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(t.pid), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendInt(b, int64(t.tid), 10)
	if hasTS {
		b = append(b, `,"ts":`...)
		b = appendMicros(b, ts-t.first)
	}
	t.b = b
}

func (t *traceWriter) str(key, v string) {
	t.b = append(t.b, ',', '"')
	t.b = append(t.b, key...)
	t.b = append(t.b, '"', ':')
	t.b = record.AppendJSONString(t.b, v)
}

func (t *traceWriter) flush() {
	t.flushRaw()
	t.b = t.b[:0]
}

func (t *traceWriter) flushRaw() {
	if t.err == nil {
		_, t.err = t.w.Write(t.b)
	}
}

// appendMicros appends nanoseconds as microseconds with three decimals.
func appendMicros(b []byte, ns int64) []byte {
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	b = strconv.AppendInt(b, ns/1000, 10)
	frac := ns % 1000
	if frac != 0 {
		b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	}
	return b
}
