package integration

// exectrail run --report, and exectrail report on logs of real runs.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeLog writes records back as a JSON-lines log.
func writeLog(t *testing.T, recs []Record) string {
	t.Helper()
	var b bytes.Buffer
	for _, r := range recs {
		line, err := json.Marshal(r.Raw)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	name := filepath.Join(t.TempDir(), "log.jsonl")
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// run --report=summary prints the summary on stderr after the job, and
// changes neither the records nor the exit status.
func TestRunReportSummary(t *testing.T) {
	r := runTrail(t, Opts{Flags: []string{"--report=summary"}}, "sh", "-c", "ls / >/dev/null; /nonexistent-program 2>/dev/null; exit 3")
	if r.ExitCode != 3 {
		t.Fatalf("exit %d, want the command's 3\nstderr: %s", r.ExitCode, r.Stderr)
	}
	execs := r.Execs()
	if len(execs) != 3 || len(r.ExecsOf("/usr/bin/ls")) != 1 {
		t.Fatalf("want 3 exec records (sh, ls, the failed one):\n%s", dump(r.Records))
	}
	sh := execs[0]
	i := strings.Index(r.Stderr, reportRule)
	if i < 0 {
		t.Fatalf("no report on stderr:\n%s", r.Stderr)
	}
	summary := r.Stderr[i:]
	for _, want := range []string{
		fmt.Sprintf("Summary: 3 processes, 3 execs (1 failed, 0 denied), %d non-zero", map[string]int{"notify": 1, "ptrace": 2}[backend]),
		fmt.Sprintf("(%s backend)", backend),
		fmt.Sprintf("Command: sh -c 'ls / >/dev/null; /nonexistent-program 2>/dev/null; exit 3'  (pid %d, exit 3,", sh.PID),
		fmt.Sprintf("Log: %d records from ", len(r.Records)),
		"exec attempts  3: 2 ran, 1 failed, 0 denied",
		"/usr/bin/ls",
		fmt.Sprintf("%d  ENOENT  /nonexistent-program", execs[2].PID),
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
}

// exectrail report reads the log of a real run: the tree shows who
// started what, and the trace parses and nests.
func TestReportTreeAndTrace(t *testing.T) {
	r := runTrail(t, Opts{}, "sh", "-c", `sh -c "ls / >/dev/null; true"; cat /dev/null | cat; sleep 0.01`)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d\nstderr: %s", r.ExitCode, r.Stderr)
	}
	log := writeLog(t, r.Records)

	stdout, stderr, code := runCLI(t, "report", "--width", "0", log)
	if code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	inner := r.ExecsOf("/usr/bin/dash")
	ls := r.ExecsOf("/usr/bin/ls")
	if len(inner) != 2 || len(ls) != 1 {
		t.Fatalf("want two shells and ls:\n%s", dump(r.Records))
	}
	for _, want := range []string{
		fmt.Sprintf("%d ", inner[0].PID),
		"├─ /usr/bin/dash  sh -c 'ls / >/dev/null; true'",
		"│  └─ /usr/bin/ls  ls /",
		"└─ /usr/bin/sleep  sleep 0.01",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("tree lacks %q:\n%s", want, stdout)
		}
	}

	trace := filepath.Join(t.TempDir(), "trace.json")
	_, stderr, code = runCLI(t, "report", "--trace-out", trace, log)
	if code != 0 || !strings.Contains(stderr, "written to "+trace) {
		t.Fatalf("report --trace-out: exit %d\n%s", code, stderr)
	}
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	slices := checkNesting(t, data)
	for _, e := range r.Execs() {
		if _, ok := slices[e.PID]; !ok {
			t.Errorf("process %d (%s) has no slice in the trace", e.PID, e.Executable)
		}
	}
}

// checkNesting parses a Chrome trace and checks that every process slice
// lies inside its parent's (the parent is the start of the fork flow
// that ends at the child), unless it says it outlived its parent. It
// returns the slices by pid.
func checkNesting(t *testing.T, data []byte) map[int][2]float64 {
	t.Helper()
	var doc struct {
		TraceEvents []struct {
			Ph   string         `json:"ph"`
			Name string         `json:"name"`
			TID  int            `json:"tid"`
			TS   float64        `json:"ts"`
			Dur  float64        `json:"dur"`
			ID   int            `json:"id"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("the trace is not JSON: %v", err)
	}
	type span struct {
		start, end float64
		pid        int
		outlived   bool
	}
	byTID := map[int]span{}
	from, to := map[int]int{}, map[int]int{}
	for _, e := range doc.TraceEvents {
		switch e.Ph {
		case "X":
			pid, _ := e.Args["pid"].(float64)
			out, _ := e.Args["outlived_parent"].(bool)
			byTID[e.TID] = span{e.TS, e.TS + e.Dur, int(pid), out}
		case "s":
			from[e.ID] = e.TID
		case "f":
			to[e.ID] = e.TID
		}
	}
	if len(byTID) == 0 || len(from) == 0 {
		t.Fatalf("no slices or no fork flows in the trace:\n%s", data)
	}
	const eps = 0.002
	for id, ptid := range from {
		p, okp := byTID[ptid]
		c, okc := byTID[to[id]]
		if !okp || !okc {
			t.Fatalf("flow %d joins tracks without slices", id)
		}
		if c.start < p.start-eps || (!c.outlived && c.end > p.end+eps) {
			t.Errorf("process %d [%v, %v] is not inside its parent %d [%v, %v]", c.pid, c.start, c.end, p.pid, p.start, p.end)
		}
	}
	out := map[int][2]float64{}
	for _, s := range byTID {
		out[s.pid] = [2]float64{s.start, s.end}
	}
	return out
}

// With the records on stderr as text, --report keeps a JSON copy of its
// own and reports after the records.
func TestRunReportTextOutput(t *testing.T) {
	_, stderr, code := runCLI(t, "run", "--backend", backend, "--format", "text", "--report=tree", "--", "sh", "-c", "ls / >/dev/null")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	i := strings.Index(stderr, reportRule)
	if i < 0 || !strings.Contains(stderr[:i], "/usr/bin/ls") {
		t.Fatalf("want text records, then the report:\n%s", stderr)
	}
	if tree := stderr[i:]; !strings.Contains(tree, "└─ /usr/bin/ls  ls /") {
		t.Errorf("tree lacks ls:\n%s", tree)
	}
}

// exectrail report on a recording (run --record) lists its execs with
// their times: the answer to "what ran at 14:03".
func TestReportCastLists(t *testing.T) {
	t.Parallel()
	cast := filepath.Join(t.TempDir(), "session.cast")
	r := runTrail(t, Opts{Flags: []string{"--record", cast}, Env: []string{"PATH=/usr/bin"}}, "sh", "-c", "/usr/bin/true first; /usr/bin/env true")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %s", r.ExitCode, r.Stderr)
	}
	out, err := exec.Command(exectrail, "report", cast).CombinedOutput()
	if err != nil {
		t.Fatalf("exectrail report %s: %v\n%s", cast, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if !strings.HasPrefix(lines[0], "recording of ") || lines[len(lines)-1] != fmt.Sprintf("%d execs", len(lines)-2) {
		t.Fatalf("report of a cast: want a header line, one line per exec and a count:\n%s", out)
	}
	want := []string{"exec /usr/bin/dash -c", "exec /usr/bin/true first", "exec /usr/bin/env true", "exec /usr/bin/true"}
	got := lines[1 : len(lines)-1]
	if len(got) != len(want) {
		t.Fatalf("%d exec lines, want %d:\n%s", len(got), len(want), out)
	}
	var last float64
	for i, l := range got {
		var secs float64
		var clock string
		if _, err := fmt.Sscanf(l, "%fs %s", &secs, &clock); err != nil || secs < last {
			t.Errorf("line %q: want an offset in seconds, never decreasing, then a time", l)
		}
		last = secs
		if !strings.Contains(l, want[i]) {
			t.Errorf("line %q: want %q", l, want[i])
		}
		if len(r.Execs()) > i {
			if ts, err := time.Parse(time.RFC3339Nano, r.Execs()[i].Time); err == nil && !strings.Contains(l, ts.UTC().Format("15:04:05")) {
				t.Errorf("line %q: want the wall-clock time of exec record %d (%s)", l, i+1, ts.UTC().Format("15:04:05.000"))
			}
		}
	}
}
