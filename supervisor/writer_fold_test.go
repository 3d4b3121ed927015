package supervisor

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/exectrail/exectrail/supervisor/record"
)

func foldExec(pid int, path, errno string, argv ...string) record.Record {
	r := record.Record{Event: record.EventExec, PID: pid, PPID: 1, Path: []byte(path), Error: errno}
	if errno == "" {
		r.Executable = path
	}
	for _, a := range argv {
		r.Argv = append(r.Argv, []byte(a))
	}
	return r
}

// lineSummary reduces text lines to "seq pid exe-or-path note" for
// comparison.
var lineRE = regexp.MustCompile(`^\s*(\d+) \S+ (\w+)\s+(\d+) `)

func foldSummary(t *testing.T, out []byte) []string {
	t.Helper()
	var got []string
	for _, l := range lines(t, out) {
		m := lineRE.FindSubmatch(l)
		if m == nil {
			t.Fatalf("line %q", l)
		}
		s := fmt.Sprintf("%s %s %s", m[1], m[2], m[3])
		if i := bytes.Index(l, []byte("[path ")); i >= 0 {
			s += " miss"
		}
		if i := bytes.Index(l, []byte("  (")); i >= 0 && bytes.Contains(l, []byte("PATH miss")) {
			s += " " + strings.TrimSpace(string(l[bytes.LastIndex(l, []byte("  (")):]))
		}
		got = append(got, s)
	}
	return got
}

func TestWriteTextFoldsPathMisses(t *testing.T) {
	miss := func(pid int, dir string) record.Record { return foldExec(pid, dir+"/cc", "ENOENT", "cc", "-c", "x.c") }
	hit := func(pid int) record.Record { return foldExec(pid, "/usr/bin/cc", "", "cc", "-c", "x.c") }
	for _, tc := range []struct {
		name string
		recs []record.Record
		want []string // foldSummary of the output
	}{
		{"folded", []record.Record{miss(5, "/usr/local/sbin"), miss(5, "/usr/local/bin"), miss(5, "/usr/sbin"), hit(5)},
			[]string{"4 exec 5 (3 PATH misses)"}},
		{"one", []record.Record{miss(5, "/usr/local/bin"), hit(5)},
			[]string{"2 exec 5 (1 PATH miss)"}},
		{"another process in between: nothing is folded, order kept",
			[]record.Record{miss(5, "/a"), {Event: record.EventFork, PID: 6, Kind: "vfork"}, miss(5, "/b"), hit(5)},
			[]string{"1 exec 5 miss", "2 fork 6", "4 exec 5 (1 PATH miss)"}},
		{"no exec at the end: the misses are printed at the next record",
			[]record.Record{miss(5, "/a"), miss(5, "/b"), {Event: record.EventExit, PID: 5, ExitCode: ptr(127)}},
			[]string{"1 exec 5 miss", "2 exec 5 miss", "3 exit 5"}},
		{"another name", []record.Record{miss(5, "/a"), foldExec(5, "/usr/bin/gcc", "", "cc", "-c", "x.c")},
			[]string{"1 exec 5 miss", "2 exec 5"}},
		{"other argv", []record.Record{miss(5, "/a"), foldExec(5, "/usr/bin/cc", "", "cc")},
			[]string{"1 exec 5 miss", "2 exec 5"}},
		{"another process's exec", []record.Record{miss(5, "/a"), hit(6)},
			[]string{"1 exec 5 miss", "2 exec 6"}},
		{"EACCES is not a miss", []record.Record{foldExec(5, "/a/cc", "EACCES", "cc", "-c", "x.c"), hit(5)},
			[]string{"1 exec 5 miss", "2 exec 5"}},
		{"a refused exec is not folded into", []record.Record{miss(5, "/a"), func() record.Record { r := hit(5); r.Action, r.Error = "deny", "EPERM"; return r }()},
			[]string{"1 exec 5 miss", "2 exec 5"}},
		{"two runs", []record.Record{miss(5, "/a"), hit(5), miss(5, "/a"), miss(5, "/b"), hit(5)},
			[]string{"2 exec 5 (1 PATH miss)", "5 exec 5 (2 PATH misses)"}},
		{"held at the end: Flush prints them", []record.Record{miss(5, "/a"), miss(5, "/b")},
			[]string{"1 exec 5 miss", "2 exec 5 miss"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := newTestWriter(&buf, FormatText)
			w.FoldPathMisses()
			for i := range tc.recs {
				if err := w.Write(&tc.recs[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			got := foldSummary(t, buf.Bytes())
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s\noutput:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"), buf.Bytes())
			}
		})
	}

	// Without FoldPathMisses (exectrail run -v), and in JSON, every
	// attempt is a line of its own.
	recs := []record.Record{miss(5, "/a"), miss(5, "/b"), hit(5)}
	for _, f := range []Format{FormatText, FormatJSON} {
		var buf bytes.Buffer
		w := newTestWriter(&buf, f)
		if f == FormatJSON {
			w.FoldPathMisses() // ignored
		}
		for i := range recs {
			r := recs[i]
			if err := w.Write(&r); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(lines(t, buf.Bytes())); n != 3 {
			t.Errorf("format %v: %d lines, want 3:\n%s", f, n, buf.Bytes())
		}
	}
}
