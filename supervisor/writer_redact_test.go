package supervisor

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/exectrail/exectrail/supervisor/record"
	"github.com/exectrail/exectrail/supervisor/redact"
)

const testToken = "ghp_0123456789abcdefghijABCDEFGHIJ012345"

func newRedactor(t testing.TB, environ ...string) *redact.Redactor {
	t.Helper()
	rd, err := redact.New(redact.Options{Key: []byte("0123456789abcdef"), Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

// The Writer masks a copy: the record it was given (which the policy and
// the ptrace backend still use) keeps its values; the line written, in
// either format, and what observers see are masked.
func TestWriterRedacts(t *testing.T) {
	rd := newRedactor(t, "DEPLOY_TOKEN=hunter2hunter2")
	for _, f := range []Format{FormatJSON, FormatText} {
		var buf bytes.Buffer
		w := newTestWriter(&buf, f)
		w.SetRedactor(rd)
		var seen []*record.Record
		w.AddObserver(func(r *record.Record) { seen = append(seen, r) })
		r := &record.Record{Event: record.EventExec, PID: 1, Path: []byte("/tmp/hunter2hunter2/x"), Executable: "/tmp/hunter2hunter2/x",
			Argv: [][]byte{[]byte("x"), []byte("--token"), []byte("abc"), []byte("\xff" + testToken)}, Cwd: "/tmp/hunter2hunter2",
			ErrorDetail: "refused: /tmp/hunter2hunter2/x"}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, s := range []string{"hunter2hunter2", testToken, "abc", "6162630a"} {
			if strings.Contains(out, s) {
				t.Errorf("format %v: %q in %s", f, s, out)
			}
		}
		if string(r.Argv[3]) != "\xff"+testToken || r.Executable != "/tmp/hunter2hunter2/x" {
			t.Errorf("the record passed in was changed: %q", r.Argv)
		}
		if len(seen) != 1 || strings.Contains(string(seen[0].Argv[3]), testToken) || seen[0].Seq != 1 {
			t.Errorf("the observer saw %+v", seen)
		}
		if f == FormatJSON {
			m := decode(t, buf.Bytes())
			want := []any{"path", "executable", "argv[2]", "argv[3]", "cwd", "error_detail"}
			if got, _ := m["redacted"].([]any); !slices.Equal(got, want) {
				t.Errorf("redacted %v, want %v", got, want)
			}
			if _, ok := m["argv_hex"]; !ok {
				t.Errorf("argv_hex missing: %s", out)
			}
		}
	}
	w := NewWriter(io.Discard, FormatJSON)
	if w.RedactionMode() != "off" {
		t.Error("a Writer without a Redactor says redaction is on")
	}
	w.SetRedactor(rd)
	if w.RedactionMode() != "on" {
		t.Error("RedactionMode is not on")
	}
}

// The environment is diffed against the process's own last exec, else its
// parent's, when that is smaller; exit records forget a process.
func TestWriterEnvDiff(t *testing.T) {
	var buf bytes.Buffer
	w := newTestWriter(&buf, FormatJSON)
	w.SetRedactor(newRedactor(t))
	base := [][]byte{[]byte("PATH=/usr/bin:/bin"), []byte("HOME=/root"), []byte("LANG=C.UTF-8"), []byte("API_TOKEN=v4lue-of-it"), []byte("LONG=" + strings.Repeat("x", 100))}
	write := func(r *record.Record) map[string]any {
		t.Helper()
		buf.Reset()
		r.Event, r.HasEnv = record.EventExec, true
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		return decode(t, buf.Bytes())
	}
	m := write(&record.Record{PID: 10, PPID: 1, Env: base})
	if env, _ := m["env"].([]any); len(env) != 5 || env[3] != "API_TOKEN="+string(newRedactor(t).Mask([]byte("v4lue-of-it"))) {
		t.Errorf("first record: %v", m)
	}
	child := append(slices.Clone(base[1:]), []byte("NEW=1"))
	m = write(&record.Record{PID: 11, PPID: 10, Env: child})
	if m["env_base"] != jsonNumber(1) || !equalAny(m["env_set"], "NEW=1") || !equalAny(m["env_unset"], "PATH") || m["env"] != nil {
		t.Errorf("child: %v", m)
	}
	m = write(&record.Record{PID: 11, PPID: 10, Env: child})
	if m["env_base"] != jsonNumber(2) || m["env_set"] != nil || m["env_unset"] != nil {
		t.Errorf("exec again, same environment: %v", m)
	}
	// Nothing in common: the whole environment is smaller.
	m = write(&record.Record{PID: 12, PPID: 10, Env: [][]byte{[]byte("A=1")}})
	if !equalAny(m["env"], "A=1") || m["env_base"] != nil {
		t.Errorf("unrelated: %v", m)
	}
	// Not a set of names: written whole.
	m = write(&record.Record{PID: 13, PPID: 10, Env: append(slices.Clone(base), []byte("HOME=/again"))})
	if _, ok := m["env"]; !ok {
		t.Errorf("duplicate names: %v", m)
	}
	buf.Reset()
	if err := w.Write(&record.Record{Event: record.EventExit, PID: 10}); err != nil {
		t.Fatal(err)
	}
	m = write(&record.Record{PID: 14, PPID: 10, Env: base})
	if _, ok := m["env"]; !ok {
		t.Errorf("after the parent's exit: %v", m)
	}
	// Not UTF-8: a hex sibling, as for argv.
	m = write(&record.Record{PID: 15, PPID: 99, Env: [][]byte{[]byte("X=\xff")}})
	if !equalAny(m["env_hex"], "583dff") {
		t.Errorf("non-UTF-8: %v", m)
	}
}

func equalAny(v any, want ...string) bool {
	l, ok := v.([]any)
	if !ok || len(l) != len(want) {
		return false
	}
	for i := range l {
		if l[i] != want[i] {
			return false
		}
	}
	return true
}

// BenchmarkWriteJSONRedacted is BenchmarkWriteJSON with redaction on: the
// difference is what redaction adds to each exec record.
func BenchmarkWriteJSONRedacted(b *testing.B) {
	w := NewWriter(io.Discard, FormatJSON)
	w.SetRedactor(newRedactor(b, "GITHUB_TOKEN="+testToken, "DB_PASSWORD=hunter2hunter2"))
	benchWrite(b, w, benchExec)
}

func jsonNumber(n int) any { return json.Number(strconv.Itoa(n)) }
