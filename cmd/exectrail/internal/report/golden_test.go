package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// The fixtures (testdata/*.jsonl) are logs of real runs of small jobs,
// made by testdata/regen.sh with both backends and kept as they were.
// Their reports are compared with testdata/golden/NAME.{tree,summary,md,
// trace.json}, in which pids and times are masked: a fixture made again
// (new pids, new timing) changes a golden file only where the job's
// structure changed. The exact numbers are checked on synthetic logs in
// read_test.go.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, name := range files {
		base := strings.TrimSuffix(filepath.Base(name), ".jsonl")
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		l := mustRead(t, string(data))
		m := newMasker(l)
		for _, out := range []struct {
			ext   string
			write func(*bytes.Buffer) error
		}{
			{"tree", func(b *bytes.Buffer) error { return l.WriteTree(b, TreeOptions{Width: 120}) }},
			{"summary", func(b *bytes.Buffer) error { return l.WriteSummary(b, SummaryOptions{Width: 120}) }},
			{"md", func(b *bytes.Buffer) error { return l.WriteMarkdown(b, MarkdownOptions{}) }},
			{"trace.json", func(b *bytes.Buffer) error { return l.WriteTrace(b) }},
		} {
			t.Run(base+"."+out.ext, func(t *testing.T) {
				var b bytes.Buffer
				if err := out.write(&b); err != nil {
					t.Fatal(err)
				}
				got := m.mask(b.String())
				golden := filepath.Join("testdata", "golden", base+"."+out.ext)
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./cmd/exectrail/internal/report -update)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from its golden file (run go test ./cmd/exectrail/internal/report -update and review the diff):\n%s", golden, diffLines(string(want), got))
				}
			})
		}
	}
}

// masker replaces pids with P01, P02, … in order of appearance (as wide
// as the pid), and the digits of times and durations with #.
type masker struct {
	pids map[string]string
}

func newMasker(l *Log) *masker {
	m := &masker{pids: map[string]string{}}
	add := func(pid int) {
		if pid <= 0 {
			return
		}
		k := strconv.Itoa(pid)
		if _, ok := m.pids[k]; !ok {
			// As wide as the pid, so that columns stay aligned.
			n := strconv.Itoa(len(m.pids) + 1)
			if pad := len(k) - 1 - len(n); pad > 0 {
				n = strings.Repeat("0", pad) + n
			}
			m.pids[k] = "P" + n
		}
	}
	for _, p := range l.Processes {
		add(p.PPID)
		add(p.PID)
	}
	return m
}

var (
	maskTraceTime = regexp.MustCompile(`"(ts|dur|duration_ms)":[0-9.]+`)
	maskClock     = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC`)
	maskDuration  = regexp.MustCompile(`\b\d+(\.\d+)?(ms|s)\b|\b\d+m\d\ds\b|\b\d+h\d\dm\b`)
	maskNumber    = regexp.MustCompile(`\b\d{2,}\b`)
)

func (m *masker) mask(s string) string {
	hash := func(t string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return '#'
			}
			return r
		}, t)
	}
	s = maskTraceTime.ReplaceAllString(s, `"$1":"#"`)
	s = maskClock.ReplaceAllStringFunc(s, hash)
	s = maskDuration.ReplaceAllStringFunc(s, hash)
	return maskNumber.ReplaceAllStringFunc(s, func(n string) string {
		if p, ok := m.pids[n]; ok {
			return p
		}
		return n
	})
}

// diffLines shows the lines that differ, with line numbers.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := max(len(w), len(g))
	shown := 0
	for i := 0; i < n && shown < 20; i++ {
		var x, y string
		if i < len(w) {
			x = w[i]
		}
		if i < len(g) {
			y = g[i]
		}
		if x != y {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + x + "\n  got  " + y + "\n")
			shown++
		}
	}
	return b.String()
}
