package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type traceEvent struct {
	Ph   string         `json:"ph"`
	Name *string        `json:"name"`
	Cat  string         `json:"cat"`
	PID  *int           `json:"pid"`
	TID  *int           `json:"tid"`
	TS   *float64       `json:"ts"`
	Dur  *float64       `json:"dur"`
	ID   int            `json:"id"`
	BP   string         `json:"bp"`
	S    string         `json:"s"`
	Args map[string]any `json:"args"`
}

type traceShape struct {
	slices, roots, outlived, instants int
}

// checkTrace parses a trace and checks what a viewer relies on and what
// the report promises: every event is well formed; each process is one
// slice on a track of its own; each child is joined to its parent by a
// fork flow whose ends lie in both slices; every child's slice nests in
// its parent's unless it is marked outlived_parent (and then it really
// ends later); tracks are sorted parents first.
func checkTrace(t *testing.T, data []byte) traceShape {
	t.Helper()
	var doc struct {
		DisplayTimeUnit string         `json:"displayTimeUnit"`
		OtherData       map[string]any `json:"otherData"`
		TraceEvents     []traceEvent   `json:"traceEvents"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("trace is not the JSON object format: %v", err)
	}
	if doc.DisplayTimeUnit != "ms" || doc.OtherData["generator"] != "exectrail report" {
		t.Errorf("trace header: %q %v", doc.DisplayTimeUnit, doc.OtherData)
	}
	type slice struct {
		start, end float64
		args       map[string]any
	}
	slices := map[int]*slice{}
	sorts := map[int]float64{}
	flowFrom, flowTo := map[int]traceEvent{}, map[int]traceEvent{}
	var sh traceShape
	jobPID := -1
	for i, e := range doc.TraceEvents {
		if e.Name == nil || e.PID == nil || e.TID == nil {
			t.Fatalf("event %d lacks name, pid or tid: %+v", i, e)
		}
		if jobPID == -1 {
			jobPID = *e.PID
		} else if *e.PID != jobPID {
			t.Errorf("event %d: pid %d, want the job's %d on every event", i, *e.PID, jobPID)
		}
		if e.Ph != "M" && (e.TS == nil || *e.TS < 0) {
			t.Fatalf("event %d (%s) has no ts or a negative one", i, e.Ph)
		}
		switch e.Ph {
		case "M":
			switch *e.Name {
			case "process_name", "thread_name":
				if s, _ := e.Args["name"].(string); s == "" {
					t.Errorf("event %d: %s without a name", i, *e.Name)
				}
			case "thread_sort_index":
				sorts[*e.TID] = e.Args["sort_index"].(float64)
			default:
				t.Errorf("event %d: unknown metadata %q", i, *e.Name)
			}
		case "X":
			if e.Dur == nil || *e.Dur < 0 {
				t.Fatalf("event %d: slice without a duration", i)
			}
			if slices[*e.TID] != nil {
				t.Fatalf("track %d has two process slices", *e.TID)
			}
			if e.Cat != "process" || *e.Name == "" {
				t.Errorf("event %d: slice cat %q name %q", i, e.Cat, *e.Name)
			}
			slices[*e.TID] = &slice{start: *e.TS, end: *e.TS + *e.Dur, args: e.Args}
			sh.slices++
		case "s":
			flowFrom[e.ID] = e
		case "f":
			if e.BP != "e" {
				t.Errorf("event %d: flow end without bp e", i)
			}
			flowTo[e.ID] = e
		case "i":
			if e.S != "t" || (e.Cat != "exec-failed" && e.Cat != "exec-denied") {
				t.Errorf("event %d: instant scope %q cat %q", i, e.S, e.Cat)
			}
			sh.instants++
		default:
			t.Errorf("event %d: unexpected phase %q", i, e.Ph)
		}
	}
	const eps = 0.0015 // µs: ts and dur are rounded to ns separately
	in := func(s *slice, ts float64) bool { return ts >= s.start-eps && ts <= s.end+eps }
	children := map[int]bool{}
	for id, from := range flowFrom {
		to, ok := flowTo[id]
		if !ok {
			t.Fatalf("flow %d has no end", id)
		}
		parent, child := slices[*from.TID], slices[*to.TID]
		if parent == nil || child == nil {
			t.Fatalf("flow %d joins tracks without slices (%d -> %d)", id, *from.TID, *to.TID)
		}
		children[*to.TID] = true
		if !in(parent, *from.TS) || !in(child, *to.TS) {
			t.Errorf("flow %d at %v/%v is outside its slices [%v,%v] [%v,%v]", id, *from.TS, *to.TS, parent.start, parent.end, child.start, child.end)
		}
		if sorts[*to.TID] <= sorts[*from.TID] {
			t.Errorf("track %d sorts before its parent's %d", *to.TID, *from.TID)
		}
		if pp, ok := child.args["ppid"].(float64); !ok || pp != parent.args["pid"].(float64) {
			t.Errorf("child %v has ppid %v, flow from %v", child.args["pid"], child.args["ppid"], parent.args["pid"])
		}
		outlived, _ := child.args["outlived_parent"].(bool)
		if child.start < parent.start-eps {
			t.Errorf("process %v starts at %v, before its parent %v (%v)", child.args["pid"], child.start, parent.args["pid"], parent.start)
		}
		switch {
		case outlived:
			sh.outlived++
			if child.end <= parent.end {
				t.Errorf("process %v is marked outlived_parent but ends at %v, its parent at %v", child.args["pid"], child.end, parent.end)
			}
		case child.end > parent.end+eps:
			t.Errorf("process %v [%v,%v] does not nest in its parent %v [%v,%v]", child.args["pid"], child.start, child.end, parent.args["pid"], parent.start, parent.end)
		}
	}
	if len(flowTo) != len(flowFrom) {
		t.Errorf("%d flow starts, %d ends", len(flowFrom), len(flowTo))
	}
	for tid := range slices {
		if _, ok := sorts[tid]; !ok {
			t.Errorf("track %d has no sort index", tid)
		}
		if !children[tid] {
			sh.roots++
		}
	}
	return sh
}

// The trace of every fixture nests, with exactly the orphans marked.
func TestTraceNests(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			l := mustRead(t, string(data))
			var out bytes.Buffer
			if err := l.WriteTrace(&out); err != nil {
				t.Fatal(err)
			}
			sh := checkTrace(t, out.Bytes())
			if sh.slices != len(l.Processes) || sh.roots != len(l.Roots) {
				t.Errorf("%d slices, %d roots; the log has %d processes, %d roots", sh.slices, sh.roots, len(l.Processes), len(l.Roots))
			}
			if sh.instants != l.FailedExecs+l.DeniedExecs {
				t.Errorf("%d instants for %d failed and denied execs", sh.instants, l.FailedExecs+l.DeniedExecs)
			}
			// Only the orphan job leaves a process behind its parent.
			if want := strings.HasPrefix(filepath.Base(name), "orphan-"); (sh.outlived > 0) != want {
				t.Errorf("%d processes outlived their parent", sh.outlived)
			}
		})
	}
}
