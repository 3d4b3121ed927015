package diff

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/runlog"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestOutputGolden pins the text and markdown renderings of a result with
// every section.
func TestOutputGolden(t *testing.T) {
	sh := runlog.Program{Executable: "/usr/bin/dash"}
	cc := runlog.Program{Executable: "/usr/bin/cc"}
	curl := runlog.Program{Executable: "/usr/bin/curl"}
	script := runlog.Program{Executable: "/work/x.sh", Interpreter: "/usr/bin/dash"}
	ex := &Example{PID: 42, Line: 7, Argv: []string{"curl", "-s", "https://example.com/a b"},
		Ancestors: []runlog.Frame{{PID: 40, Program: sh, Argv: []string{"sh", "-c", "make <x>"}}, {PID: 41, Program: script, Argv: []string{"x.sh"}}}}
	r := &Result{
		Base:         LogInfo{Name: "base.jsonl"},
		New:          LogInfo{Name: "new.jsonl"},
		NewPrograms:  []ProgramCount{{curl, 1, ex}, {script, 2, nil}},
		GonePrograms: []ProgramCount{{Program: cc, Count: 3}},
		NewEdges:     []EdgeCount{{Edge{sh, curl}, 1, ex}, {Edge{runlog.Program{}, script}, 1, nil}},
		GoneEdges:    []EdgeCount{{Edge: Edge{sh, cc}, Count: 3}},
		NewFailed:    []FailureCount{{Failure{curl, "ENOENT"}, 1, ex}},
		NewDenied:    []FailureCount{{Failure{curl, "EPERM"}, 2, nil}},
		CountFactor:  2,
		MoreOften:    []CountChange{{sh, 1, 5}},
		LessOften:    []CountChange{{cc, 9, 1}},
	}
	for _, c := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"all.txt", func(b *bytes.Buffer) error { return r.WriteText(b) }},
		{"all.md", func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
		{"same.txt", func(b *bytes.Buffer) error { return (&Result{Base: r.Base, New: r.New}).WriteText(b) }},
		{"same.md", func(b *bytes.Buffer) error { return (&Result{Base: r.Base, New: r.New}).WriteMarkdown(b) }},
	} {
		var b bytes.Buffer
		if err := c.write(&b); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", c.name+".golden")
		if *update {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, b.Bytes(), want)
		}
	}
}
