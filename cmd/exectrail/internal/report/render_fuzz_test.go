package report

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Argv that fills the kept bytes exactly at the end of an argument, with
// more arguments after it, once cut a slice at -1 (a panic in `exectrail
// report` and in run --report). Every length around the limit: the kept
// argv is a prefix of the whole, at most maxArgvBytes, and elided exactly
// when something was left out.
func TestReadArgvAtTheLimit(t *testing.T) {
	for n := maxArgvBytes - 12; n <= maxArgvBytes+2; n++ {
		for _, last := range []string{"b", ""} {
			argv := []string{"true", strings.Repeat("a", n), last}
			lb := &logBuilder{}
			lb.exec(0, 100, 1, "/bin/true", argv...)
			l := mustRead(t, lb.String())
			p := l.Processes[0]
			whole := strings.Join(argv, "\x00")
			if len(p.argv) > maxArgvBytes || !strings.HasPrefix(whole, p.argv) {
				t.Fatalf("n=%d last=%q: kept %d bytes, not a prefix of at most %d", n, last, len(p.argv), maxArgvBytes)
			}
			if p.ArgvElided != (p.argv != whole) {
				t.Errorf("n=%d last=%q: elided %v, kept %d of %d bytes", n, last, p.ArgvElided, len(p.argv), len(whole))
			}
			renderAll(t, l)
		}
	}
}

// renderAll writes every output the report has, with and without limits.
func renderAll(t *testing.T, l *Log) {
	t.Helper()
	for _, w := range []int{0, 1, 20, 80} {
		for _, tree := range []TreeOptions{{Width: w}, {Width: w, Depth: 1, MaxLines: 2, Filter: "t*"}, {Width: w, Filter: "/bin/*"}} {
			if err := l.WriteTree(io.Discard, tree); err != nil {
				t.Fatal(err)
			}
			if err := l.WriteMarkdown(io.Discard, MarkdownOptions{Top: 2, Tree: tree}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.WriteSummary(io.Discard, SummaryOptions{Width: w, Top: 3}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.WriteTrace(io.Discard); err != nil {
		t.Fatal(err)
	}
	_ = l.Headline()
	_ = l.Notes()
}

// FuzzReport runs the whole read-and-render path of `exectrail report` on
// any input: it never panics. Seeds: the recorded logs in testdata and
// argv at the kept limit; found crashers are kept in testdata/fuzz.
func FuzzReport(f *testing.F) {
	logs, _ := filepath.Glob("testdata/*.jsonl")
	for _, name := range logs {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	lb := &logBuilder{}
	lb.exec(0, 100, 1, "/bin/true", "true", strings.Repeat("a", maxArgvBytes-5), "b")
	lb.exec(1, 101, 100, "/bin/sh", "sh", strings.Repeat("é", maxArgvBytes/2), "\xff")
	lb.rec(2, "fork", 100, `"kind":"vfork","child_pid":101`)
	lb.rec(3, "exit", 101, `"exit_code":1,"duration_ms":2`)
	lb.rec(4, "exec", 102, `"ppid":100,"path":"x","error":"ENOENT","argv":["x"]`)
	f.Add([]byte(lb.String()))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Read(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		renderAll(t, l)
	})
}
