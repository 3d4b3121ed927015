package runlog

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const rec = `{"seq":%d,"time":"2026-12-04T10:00:00.000000000Z","event":"exec","pid":%d,"ppid":%d,"path":"%s","executable":"%s","argv":["x"]%s}`

func TestNormalizer(t *testing.T) {
	var n Normalizer
	for _, s := range []string{`/go-1\.[0-9]+=/go-X`, `/tmp/go-build[0-9]+=/tmp/go-build*`} {
		if err := n.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.Apply("/usr/lib/go-1.22/bin/go"); got != "/usr/lib/go-X/bin/go" {
		t.Errorf("Apply = %q", got)
	}
	if got, ch := n.ApplyGlob("/tmp/go-build123/b00[1]/m.test"); got != `/tmp/go-build*/b00\[1]/m.test` || !ch {
		t.Errorf("ApplyGlob = %q %v", got, ch)
	}
	if got, ch := n.ApplyGlob("/usr/bin/a*b"); got != `/usr/bin/a\*b` || ch {
		t.Errorf("ApplyGlob of an untouched path = %q %v", got, ch)
	}
	for _, bad := range []string{"noequals", "=x", "([=x"} {
		if err := n.Add(bad); err == nil {
			t.Errorf("Add(%q) accepted", bad)
		}
	}
}

func TestEscapeGlob(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/ls":        "/usr/bin/ls",
		"/a b/#c":            `/a b/\#c`,
		"/x \\[y]?*":         `/x \\\[y]\?\*`,
		"/bad\uFFFDbyte":     "/bad?byte",
		"/nl\nx":             "/nl?x",
		"/trailing ":         "/trailing?",
		"/memfd:x (deleted)": "/memfd:x (deleted)",
	} {
		if got := EscapeGlob(in); got != want {
			t.Errorf("EscapeGlob(%q) = %q, want %q", in, got, want)
		}
	}
}

// Scan: PATH-search misses are dropped, real failures kept, the parent
// program of an exec is the process's previous program or its nearest
// ancestor's, and unknown record kinds are ignored.
func TestScan(t *testing.T) {
	lines := []string{
		`{"seq":1,"time":"2026-12-04T10:00:00.000000000Z","event":"start","prev":""}`,
		fmtRec(1, 10, 1, "/bin/sh", "/usr/bin/dash", ""),
		fmtRec(2, 11, 10, "/usr/local/bin/make", "", `,"error":"ENOENT"`),
		fmtRec(3, 11, 10, "/usr/bin/make", "/usr/bin/make", ""),
		fmtRec(4, 12, 11, "/usr/local/bin/nothere", "", `,"error":"ENOENT"`),
		fmtRec(5, 12, 11, "/usr/bin/env", "/usr/bin/env", ""),
		fmtRec(6, 12, 11, "/usr/bin/cc", "/usr/bin/gcc", ""),
		fmtRec(7, 13, 12, "/usr/bin/curl", "/usr/bin/curl", `,"error":"EPERM","action":"deny"`),
		`{"seq":9,"time":"2026-12-04T10:00:00.000000000Z","event":"end","prev":"x"}`,
	}
	var got []string
	_, _, err := Scan(strings.NewReader(strings.Join(lines, "\n")+"\n"), nil, func(*Exec) bool { return true }, func(e *Exec) {
		s := e.Parent.String() + " > " + e.Program.String()
		if e.Error != "" {
			s += " " + e.Error
		}
		var anc []string
		for _, f := range e.Ancestors {
			anc = append(anc, f.Program.String())
		}
		got = append(got, s+" ["+strings.Join(anc, ",")+"]")
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		" > /usr/bin/dash []",
		"/usr/bin/dash > /usr/bin/make [/usr/bin/dash]",
		"/usr/bin/make > /usr/local/bin/nothere ENOENT [/usr/bin/dash,/usr/bin/make]",
		"/usr/bin/make > /usr/bin/env [/usr/bin/dash,/usr/bin/make]",
		"/usr/bin/env > /usr/bin/gcc [/usr/bin/dash,/usr/bin/make,/usr/bin/env]",
		"/usr/bin/gcc > /usr/bin/curl EPERM [/usr/bin/dash,/usr/bin/make,/usr/bin/gcc]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Scan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func fmtRec(seq, pid, ppid int, path, exe, extra string) string {
	return fmt.Sprintf(rec, seq, pid, ppid, path, exe, extra)
}

func TestOpenGzip(t *testing.T) {
	dir := t.TempDir()
	plain := fmtRec(1, 10, 1, "/bin/true", "/usr/bin/true", "") + "\n"
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, plain)
	zw.Close()
	// Named .jsonl: the content decides.
	p := filepath.Join(dir, "log.jsonl")
	os.WriteFile(p, b.Bytes(), 0o644)
	r, _, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(got) != plain {
		t.Errorf("gzip log read as %q, %v", got, err)
	}
	os.WriteFile(p, b.Bytes()[:b.Len()/2], 0o644)
	r, _, err = Open(p)
	if err == nil {
		_, err = io.ReadAll(r)
		r.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("a cut gzip log: %v, want a gzip error", err)
	}
}
