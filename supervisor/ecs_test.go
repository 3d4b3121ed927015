package supervisor

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exectrail/exectrail/supervisor/record"
)

// ecsFields is every ECS field the ecs format may write, with its type
// as the ECS 8.11 field reference defines it (ecs_flat.yml), and whether
// ECS says it holds an array of values. Every field of every document
// outside "exectrail" must be one of these, with a value of that type.
var ecsFields = map[string]struct {
	typ   string
	array bool
}{
	"@timestamp":                 {"date", false},
	"ecs.version":                {"keyword", false},
	"event.kind":                 {"keyword", false},
	"event.category":             {"keyword", true},
	"event.type":                 {"keyword", true},
	"event.action":               {"keyword", false},
	"event.outcome":              {"keyword", false},
	"event.sequence":             {"long", false},
	"event.duration":             {"long", false},
	"event.reason":               {"keyword", false},
	"process.pid":                {"long", false},
	"process.entity_id":          {"keyword", false},
	"process.start":              {"date", false},
	"process.end":                {"date", false},
	"process.executable":         {"keyword", false},
	"process.name":               {"keyword", false},
	"process.args":               {"keyword", true},
	"process.args_count":         {"long", false},
	"process.command_line":       {"wildcard", false},
	"process.working_directory":  {"keyword", false},
	"process.exit_code":          {"long", false},
	"process.thread.id":          {"long", false},
	"process.parent.pid":         {"long", false},
	"process.parent.entity_id":   {"keyword", false},
	"user.id":                    {"keyword", false},
	"container.id":               {"keyword", false},
	"container.runtime":          {"keyword", false},
	"orchestrator.type":          {"keyword", false},
	"orchestrator.resource.type": {"keyword", false},
	"orchestrator.resource.id":   {"keyword", false},
	"host.name":                  {"keyword", false},
	"host.hostname":              {"keyword", false},
	"host.architecture":          {"keyword", false},
	"host.os.type":               {"keyword", false},
	"host.os.kernel":             {"keyword", false},
}

// ECS's allowed values for the categorization fields (ECS 8.11,
// "ECS Categorization Fields"). The process category expects the types
// access, change, end, info and start; a refused exec adds "denied"
// (README: --format ecs).
var (
	ecsKinds    = []string{"alert", "asset", "enrichment", "event", "metric", "state", "pipeline_error", "signal"}
	ecsTypes    = []string{"access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied", "end", "error", "group", "indicator", "info", "installation", "protocol", "start", "user"}
	ecsOutcomes = []string{"failure", "success", "unknown"}
)

// checkECS checks one document against ecsFields and returns it, with
// its "exectrail" object, flattened.
func checkECS(t *testing.T, line []byte) (flat map[string]any, native map[string]any) {
	t.Helper()
	doc := decode(t, line)
	flat = map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			name := prefix + k
			if name == "exectrail" {
				native, _ = v.(map[string]any)
				continue
			}
			if sub, ok := v.(map[string]any); ok {
				walk(name+".", sub)
				continue
			}
			flat[name] = v
		}
	}
	walk("", doc)
	if native == nil {
		t.Fatalf("no exectrail object in %s", line)
	}
	for name, v := range flat {
		def, ok := ecsFields[name]
		if !ok {
			t.Errorf("%s is not an ECS field (or not in the table): %s", name, line)
			continue
		}
		vals := []any{v}
		if arr, isArr := v.([]any); isArr {
			if !def.array {
				t.Errorf("%s: an array, ECS wants one value", name)
			}
			vals = arr
		} else if def.array {
			t.Errorf("%s: one value, ECS wants an array", name)
		}
		for _, x := range vals {
			switch def.typ {
			case "keyword", "wildcard":
				if _, ok := x.(string); !ok {
					t.Errorf("%s = %v: want a string", name, x)
				}
			case "long":
				n, ok := x.(json.Number)
				if _, err := n.Int64(); !ok || err != nil {
					t.Errorf("%s = %v: want an integer", name, x)
				}
			case "date":
				s, _ := x.(string)
				if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
					t.Errorf("%s = %v: want an RFC 3339 date: %v", name, x, err)
				}
			}
		}
	}
	if k, _ := flat["event.kind"].(string); !slices.Contains(ecsKinds, k) {
		t.Errorf("event.kind %q not allowed", k)
	}
	if c, _ := flat["event.category"].([]any); len(c) != 1 || c[0] != "process" {
		t.Errorf("event.category = %v", flat["event.category"])
	}
	types, _ := flat["event.type"].([]any)
	if len(types) == 0 {
		t.Errorf("no event.type")
	}
	for _, ty := range types {
		if s, _ := ty.(string); !slices.Contains(ecsTypes, s) {
			t.Errorf("event.type %q not allowed", ty)
		}
	}
	if o, ok := flat["event.outcome"]; ok && !slices.Contains(ecsOutcomes, o.(string)) {
		t.Errorf("event.outcome %q not allowed", o)
	}
	return flat, native
}

func TestWriteECS(t *testing.T) {
	t0 := testTime
	recs := []*record.Record{
		// COMMAND's exec (pid 10, parent 1), a fork that names its child
		// (ptrace), the child's exec through a relative path, a refused
		// exec, a failed one with non-UTF-8 argv, the child's exit, then
		// a new process that reuses the child's pid.
		{Time: t0, Event: record.EventExec, PID: 10, PPID: 1, Path: []byte("/bin/sh"), Executable: "/usr/bin/dash",
			Argv: [][]byte{[]byte("sh"), []byte("-c"), []byte("cd /bin && ./ls")}, Cwd: "/src", UID: 1000, HasUID: true,
			ContainerID: testCtr, ContainerRuntime: "containerd", PodUID: testPod, Verified: ptr(true)},
		{Time: t0.Add(time.Millisecond), Event: record.EventFork, PID: 10, ChildPID: 11, Kind: "clone"},
		{Time: t0.Add(2 * time.Millisecond), Event: record.EventExec, PID: 11, PPID: 10, TID: 12, Path: []byte("./ls"), Executable: "/usr/bin/ls",
			Argv: [][]byte{[]byte("./ls"), []byte("a b")}, Cwd: "/usr/bin", UID: 1000, HasUID: true},
		{Time: t0.Add(3 * time.Millisecond), Event: record.EventExec, PID: 11, PPID: 10, Path: []byte("/usr/bin/curl"), Executable: "/usr/bin/curl",
			Argv: [][]byte{[]byte("curl")}, Cwd: "/usr/bin", Error: "EPERM", Action: record.ActionDeny},
		{Time: t0.Add(4 * time.Millisecond), Event: record.EventExec, PID: 11, PPID: 10, Path: []byte("nope"),
			Argv: [][]byte{[]byte("nope"), []byte("\xff")}, Cwd: "/usr/bin", Error: "ENOENT"},
		{Time: t0.Add(5 * time.Millisecond), Event: record.EventExit, PID: 11, ExitCode: ptr(0), DurationMS: ptr(4.0)},
		{Time: t0.Add(6 * time.Millisecond), Event: record.EventExec, PID: 11, PPID: 10, Path: []byte("/usr/bin/true"), Executable: "/usr/bin/true",
			Argv: [][]byte{[]byte("true")}, Cwd: "/"},
		{Time: t0.Add(7 * time.Millisecond), Event: record.EventExit, PID: 10, Signal: "SIGKILL"},
		{Time: t0.Add(8 * time.Millisecond), Event: "end"},
	}
	var buf bytes.Buffer
	w := newTestWriter(&buf, FormatECS)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	ls := lines(t, buf.Bytes())
	if len(ls) != len(recs) {
		t.Fatalf("%d documents for %d records", len(ls), len(recs))
	}
	docs := make([]map[string]any, len(ls))
	for i, l := range ls {
		flat, native := checkECS(t, l)
		docs[i] = flat
		// Nothing is lost: the exectrail object is the JSON record.
		want := decode(t, record.AppendJSON(nil, recs[i]))
		if got, _ := json.Marshal(native); string(got) != string(mustMarshal(t, want)) {
			t.Errorf("record %d: exectrail object\n got %s\nwant %s", i+1, got, mustMarshal(t, want))
		}
		if s := flat["event.sequence"].(json.Number).String(); s != native["seq"].(json.Number).String() {
			t.Errorf("event.sequence %s, seq %s", s, native["seq"])
		}
	}
	str := func(i int, f string) string { s, _ := docs[i][f].(string); return s }
	num := func(i int, f string) string { n, _ := docs[i][f].(json.Number); return n.String() }
	types := func(i int) string {
		var s []string
		for _, x := range docs[i]["event.type"].([]any) {
			s = append(s, x.(string))
		}
		return strings.Join(s, ",")
	}
	checks := []struct {
		doc        int
		field, got string
		want       string
	}{
		{0, "@timestamp", str(0, "@timestamp"), "2025-03-04T04:06:07.890123456Z"},
		{0, "event.type", types(0), "start"},
		{0, "event.outcome", str(0, "event.outcome"), "success"},
		{0, "process.executable", str(0, "process.executable"), "/usr/bin/dash"},
		{0, "process.name", str(0, "process.name"), "dash"},
		{0, "process.command_line", str(0, "process.command_line"), `sh -c "cd /bin && ./ls"`},
		{0, "process.args_count", num(0, "process.args_count"), "3"},
		{0, "process.working_directory", str(0, "process.working_directory"), "/src"},
		{0, "process.parent.pid", num(0, "process.parent.pid"), "1"},
		{0, "user.id", str(0, "user.id"), "1000"},
		{0, "container.id", str(0, "container.id"), testCtr},
		{0, "container.runtime", str(0, "container.runtime"), "containerd"},
		{0, "orchestrator.resource.id", str(0, "orchestrator.resource.id"), testPod},
		{0, "orchestrator.resource.type", str(0, "orchestrator.resource.type"), "pod"},
		{1, "event.type", types(1), "info"},
		{1, "event.action", str(1, "event.action"), "fork"},
		{2, "process.thread.id", num(2, "process.thread.id"), "12"},
		{2, "process.start", str(2, "process.start"), "2025-03-04T04:06:07.891123456Z"},
		{2, "process.parent.entity_id", str(2, "process.parent.entity_id"), str(0, "process.entity_id")},
		{3, "event.type", types(3), "start,denied"},
		{3, "event.outcome", str(3, "event.outcome"), "failure"},
		{4, "event.outcome", str(4, "event.outcome"), "failure"},
		{4, "event.reason", str(4, "event.reason"), "ENOENT"},
		{5, "event.type", types(5), "end"},
		{5, "process.exit_code", num(5, "process.exit_code"), "0"},
		{5, "process.executable", str(5, "process.executable"), "/usr/bin/ls"},
		{5, "process.entity_id", str(5, "process.entity_id"), str(2, "process.entity_id")},
		{5, "process.end", str(5, "process.end"), "2025-03-04T04:06:07.895123456Z"},
		{5, "event.duration", num(5, "event.duration"), "4000000"},
		{7, "event.outcome", str(7, "event.outcome"), "failure"},
		{7, "process.entity_id", str(7, "process.entity_id"), str(0, "process.entity_id")},
		{8, "event.type", types(8), "info"},
		{8, "event.action", str(8, "event.action"), "end"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("document %d: %s = %q, want %q", c.doc+1, c.field, c.got, c.want)
		}
	}
	// Same process, same id; a reused pid is a new process.
	if a, b := str(2, "process.entity_id"), str(3, "process.entity_id"); a != b || a == "" {
		t.Errorf("one process, two entity ids: %q %q", a, b)
	}
	if a, b := str(2, "process.entity_id"), str(6, "process.entity_id"); a == b {
		t.Errorf("pid reused after its exit kept entity id %q", a)
	}
	if a, b := str(0, "process.entity_id"), str(2, "process.entity_id"); a == b {
		t.Errorf("parent and child share entity id %q", a)
	}
	for _, f := range []string{"host.os.kernel", "host.architecture", "ecs.version"} {
		if str(0, f) == "" {
			t.Errorf("%s is empty", f)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Entity ids are unique across runs: each Writer has its own run part.
func TestECSEntityPerRun(t *testing.T) {
	id := func() string {
		var buf bytes.Buffer
		w := newTestWriter(&buf, FormatECS)
		if err := w.Write(&record.Record{Event: record.EventFork, PID: 5, Kind: "fork"}); err != nil {
			t.Fatal(err)
		}
		flat, _ := checkECS(t, lines(t, buf.Bytes())[0])
		return flat["process.entity_id"].(string)
	}
	if a, b := id(), id(); a == b {
		t.Errorf("two runs, one entity id %q", a)
	}
}

func FuzzWriterECS(f *testing.F) {
	f.Add([]byte("./ls"), []byte("ls"), []byte("-l"), "/usr/bin", "/usr/bin/ls", "")
	f.Add([]byte("\xff"), []byte("\x00\n"), []byte("\xc3("), "/tmp/\x80", "\xed\xa0\x80", "\x1b")
	f.Fuzz(func(t *testing.T, path, a0, a1 []byte, cwd, exe, interp string) {
		var buf bytes.Buffer
		w := newTestWriter(&buf, FormatECS)
		r := fuzzRecord(path, a0, a1, cwd, exe, interp)
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		out := buf.Bytes()
		if bytes.IndexByte(out, '\n') != len(out)-1 {
			t.Fatalf("not one line: %q", out)
		}
		_, native := checkECS(t, out)
		// The exectrail object keeps the bytes (hex siblings) as the JSON
		// format does.
		want := decode(t, record.AppendJSON(nil, r))
		if string(mustMarshal(t, native)) != string(mustMarshal(t, want)) {
			t.Fatalf("exectrail object differs from the JSON record")
		}
	})
}

func BenchmarkWriteECS(b *testing.B) {
	w := NewWriter(io.Discard, FormatECS)
	benchWrite(b, w, benchExec)
}
