package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/exectrail/exectrail/supervisor/record"
)

func TestDecodeRecord(t *testing.T) {
	line := `{"seq":3,"time":"2026-11-27T09:41:18.201471709Z","event":"exec","pid":6641,"ppid":6635,"path":"./ls","executable":"/usr/bin/ls","argv":["./ls","a\"b","\u00e9\ud83d\ude00",null],"cwd":"/usr/bin","uid":0,"cgroup_id":1,"cgroup":"/","extra":{"nested":[1,2.5e3,true,null,{"x":"y"}]},"verified":true}`
	var r rawRecord
	if err := decodeRecord([]byte(line), &r); err != nil {
		t.Fatal(err)
	}
	if r.seq != 3 || !r.hasSeq || r.pid != 6641 || r.ppid != 6635 || string(r.event) != "exec" || string(r.executable) != "/usr/bin/ls" || !r.verified || !r.hasVerified {
		t.Errorf("decoded %+v", r)
	}
	var argv []string
	for _, a := range r.argv {
		argv = append(argv, string(a))
	}
	if want := []string{"./ls", `a"b`, "é😀", ""}; fmt.Sprint(argv) != fmt.Sprint(want) {
		t.Errorf("argv %q, want %q", argv, want)
	}

	exit := `{"seq":4,"time":"t","event":"exit","pid":1,"exit_code":-1,"duration_ms":1.5e2}`
	if err := decodeRecord([]byte(exit), &r); err != nil {
		t.Fatal(err)
	}
	if r.exitCode != -1 || r.durationMS != 150 || !r.hasDuration || len(r.argv) != 0 {
		t.Errorf("exit decoded %+v", r)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, line := range []string{
		``,
		`[]`,
		`"seq"`,
		`{`,
		`{"seq":1`,
		`{"seq":1,}`,
		`{"seq":01}`,
		`{"seq":1.5}`,
		`{"seq":1e2}`,
		`{"seq":99999999999999999999}`,
		`{"pid":"12"}`,
		`{"event":1}`,
		`{"argv":"ls"}`,
		`{"argv":[1]}`,
		`{"verified":"yes"}`,
		`{"x":tru}`,
		`{"x":"a\qb"}`,
		`{"x":"a` + "\x01" + `b"}`,
		`{"x":"\u12"}`,
		`{"a":1} {"b":2}`,
		`{"a":1}x`,
		`{"seq":1,"time":"2026-11-27T09:41:18.2`,
		`{'a':1}`,
		`{"a" 1}`,
		`{"duration_ms":1e999}`,
		strings.Repeat("[", 20000),
		`{"x":` + strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2) + `}`,
	} {
		var r rawRecord
		if err := decodeRecord([]byte(line), &r); err == nil {
			t.Errorf("accepted %.80q", line)
		}
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]int64{
		"2026-11-27T09:41:18.201471709Z":      1795772478201471709,
		"2026-11-27T10:41:18.201471709+01:00": 1795772478201471709,
		"2026-11-27T09:41:18Z":                1795772478000000000,
	} {
		got, ok := parseTime([]byte(in))
		if !ok || got != want {
			t.Errorf("parseTime(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "yesterday", "2026-13-27T09:41:18.201471709Z", "2026-11-27T25:41:18.201471709Z"} {
		if _, ok := parseTime([]byte(in)); ok {
			t.Errorf("parseTime(%q) accepted", in)
		}
	}
}

// FuzzDecodeRecord checks the decoder against encoding/json: it accepts
// exactly the lines that are one valid JSON object whose known fields
// have the right types, and reads the same values from them.
func FuzzDecodeRecord(f *testing.F) {
	for _, s := range []string{
		`{"seq":1,"time":"2026-11-27T09:41:18.199650424Z","event":"exec","pid":6635,"ppid":6630,"path":"/usr/bin/sh","executable":"/usr/bin/dash","argv":["sh","-c","cd /bin && ./ls"],"cwd":"/work/main","uid":0,"cgroup_id":1,"cgroup":"/"}`,
		`{"seq":2,"time":"2026-11-27T09:41:18.201116954Z","event":"fork","pid":6635,"kind":"vfork","child_pid":7}`,
		`{"seq":11,"time":"2026-11-27T10:16:05.931458418Z","event":"exit","pid":21107,"exit_code":3,"duration_ms":61.2}`,
		`{"event":"exit","signal":"SIGKILL","pid":-0,"duration_ms":-0.0e+1}`,
		`{"path":"\ud800\udc00\ud800x\\\/\b\f\n\r\t\u0000","argv":[null,"\u00ff"],"x":{"y":[{}]}}`,
		`{"a":1,"a":null,"pid":null}`,
		"{\"path\":\"\xff\xfe\"}",
		` { "seq" : 1 } `,
		`{"seq":1}{"seq":2}`,
		`{"verified":true,"argv_truncated":false,"error":"ENOENT","action":"deny"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var r rawRecord
		err := decodeRecord(line, &r)
		want, wantOK := decodeStd(line)
		if (err == nil) != wantOK {
			t.Fatalf("decodeRecord(%q) error %v; encoding/json accepts: %v", line, err, wantOK)
		}
		if err != nil {
			return
		}
		got := map[string]any{}
		num := func(k string, ok bool, v int64) {
			if ok {
				got[k] = v
			}
		}
		num(record.FieldSeq, r.hasSeq, r.seq)
		num(record.FieldPID, r.hasPID, r.pid)
		num(record.FieldPPID, r.hasPPID, r.ppid)
		num(record.FieldChildPID, r.hasChildPID, r.childPID)
		num(record.FieldExitCode, r.hasExitCode, r.exitCode)
		if r.hasDuration {
			got[record.FieldDurationMS] = r.durationMS
		}
		for k, v := range map[string][]byte{record.FieldTime: r.time, record.FieldEvent: r.event, record.FieldPath: r.path, record.FieldExecutable: r.executable,
			record.FieldCwd: r.cwd, record.FieldInterpreter: r.interpreter, record.FieldError: r.errName, record.FieldErrorDetail: r.errDetail,
			record.FieldAction: r.action, record.FieldKind: r.kind, record.FieldSignal: r.signal} {
			if v != nil {
				got[k] = text(v)
			}
		}
		if r.hasVerified {
			got[record.FieldVerified] = r.verified
		}
		if r.hasArgv {
			argv := []string{}
			for _, a := range r.argv {
				argv = append(argv, text(a))
			}
			got[record.FieldArgv] = argv
		}
		if g, w := fmt.Sprintf("%#v", sortedMap(got)), fmt.Sprintf("%#v", sortedMap(want)); g != w {
			t.Fatalf("decodeRecord(%q):\n got %s\nwant %s", line, g, w)
		}
	})
}

// decodeStd decodes line with encoding/json into the fields a report
// reads, typed as decodeRecord types them; ok is false when line is not
// one JSON object or a known field has the wrong type.
func decodeStd(line []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	if _, err := dec.Token(); err == nil {
		return nil, false // more after the object
	}
	if !json.Valid(line) {
		return nil, false
	}
	out := map[string]any{}
	for k, v := range m {
		if v == nil {
			continue
		}
		switch k {
		case record.FieldSeq, record.FieldPID, record.FieldPPID, record.FieldChildPID, record.FieldExitCode:
			n, ok := v.(json.Number)
			if !ok || strings.ContainsAny(n.String(), ".eE") {
				return nil, false
			}
			i, err := n.Int64()
			if err != nil {
				return nil, false
			}
			out[k] = i
		case record.FieldDurationMS:
			n, ok := v.(json.Number)
			if !ok {
				return nil, false
			}
			x, err := n.Float64()
			if err != nil || math.IsInf(x, 0) {
				return nil, false
			}
			out[k] = x
		case record.FieldTime, record.FieldEvent, record.FieldPath, record.FieldExecutable, record.FieldCwd, record.FieldInterpreter, record.FieldError, record.FieldErrorDetail, record.FieldAction, record.FieldKind, record.FieldSignal:
			s, ok := v.(string)
			if !ok {
				return nil, false
			}
			out[k] = s
		case record.FieldVerified:
			b, ok := v.(bool)
			if !ok {
				return nil, false
			}
			out[k] = b
		case record.FieldArgvTruncated:
			if _, ok := v.(bool); !ok {
				return nil, false
			}
		case record.FieldArgv:
			a, ok := v.([]any)
			if !ok {
				return nil, false
			}
			argv := []string{}
			for _, e := range a {
				switch e := e.(type) {
				case nil:
					argv = append(argv, "")
				case string:
					argv = append(argv, e)
				default:
					return nil, false
				}
			}
			out[k] = argv
		}
	}
	return out, true
}

type kv struct {
	K string
	V any
}

func sortedMap(m map[string]any) []kv {
	var out []kv
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].K < out[i].K {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
