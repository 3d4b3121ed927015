package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeSyntheticLog writes n records shaped like a parallel build under
// the ptrace backend: make forks sh -c, which forks cc, which forks cc1;
// every process execs and exits; one compile in 50 fails, one exec in 20
// is a failed PATH lookup. With notify set, forks name no child and only
// the root exits, as the notify backend writes them.
func writeSyntheticLog(w io.Writer, n int, notify bool) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	seq := 0
	now := t0
	emit := func(event string, pid int, extra string) {
		seq++
		now = now.Add(17 * time.Microsecond)
		fmt.Fprintf(bw, `{"seq":%d,"time":"%s","event":"%s","pid":%d%s}`+"\n", seq, now.Format("2006-01-02T15:04:05.000000000Z07:00"), event, pid, extra)
	}
	exec := func(pid, ppid int, exe, argv, errName string) {
		extra := fmt.Sprintf(`,"ppid":%d,"path":"%s","executable":"%s","argv":[%s],"cwd":"/src/build","uid":1000,"cgroup_id":4242,"cgroup":"/user.slice/build.scope"`, ppid, exe, exe, argv)
		if errName != "" {
			extra += `,"error":"` + errName + `","error_detail":"resolve: no such file or directory"`
		}
		if !notify {
			extra += fmt.Sprintf(`,"verified":%v`, errName == "")
		}
		emit("exec", pid, extra)
	}
	fork := func(parent, child int) {
		if notify {
			emit("fork", parent, `,"kind":"vfork"`)
		} else {
			emit("fork", parent, fmt.Sprintf(`,"child_pid":%d,"kind":"vfork"`, child))
		}
	}
	exit := func(pid, code int) {
		if !notify {
			emit("exit", pid, fmt.Sprintf(`,"exit_code":%d,"duration_ms":%.3f`, code, 1.5))
		}
	}
	root := 1000
	exec(root, 999, "/usr/bin/make", `"make","-j8"`, "")
	pid := root
	const perJob = 12 // records per compile, at most
	for i := 0; seq < n-1-perJob; i++ {
		sh, cc, cc1 := pid+1, pid+2, pid+3
		pid += 3
		src := fmt.Sprintf("src/module%d/file%d.c", i%97, i)
		fork(root, sh)
		exec(sh, root, "/usr/bin/dash", fmt.Sprintf(`"sh","-c","cc -O2 -c %s -o %s.o"`, src, src), "")
		fork(sh, cc)
		if i%20 == 0 {
			exec(cc, sh, "/usr/local/bin/cc", `"cc"`, "ENOENT")
		}
		exec(cc, sh, "/usr/bin/x86_64-linux-gnu-gcc-14", fmt.Sprintf(`"cc","-O2","-c","%s","-o","%s.o","-Iinclude","-Wall"`, src, src), "")
		fork(cc, cc1)
		exec(cc1, cc, "/usr/libexec/gcc/x86_64-linux-gnu/14/cc1", fmt.Sprintf(`"cc1","-quiet","%s","-O2","-Wall"`, src), "")
		code := 0
		if i%50 == 0 {
			code = 1
		}
		exit(cc1, code)
		exit(cc, code)
		exit(sh, code)
	}
	for seq < n-1 {
		emit("fork", root, `,"kind":"clone"`) // a fork that never shows a child
	}
	emit("exit", root, `,"exit_code":2,"duration_ms":16000.5`)
	return bw.Flush()
}

// syntheticLog returns the path of a generated log of n records, made
// once per test binary run.
func syntheticLog(tb testing.TB, n int, notify bool) string {
	tb.Helper()
	name := filepath.Join(os.TempDir(), fmt.Sprintf("exectrail-report-bench-%d-%v.jsonl", n, notify))
	if st, err := os.Stat(name); err == nil && st.Size() > 0 && time.Since(st.ModTime()) < time.Hour {
		return name
	}
	f, err := os.Create(name + ".tmp")
	if err != nil {
		tb.Fatal(err)
	}
	if err := writeSyntheticLog(f, n, notify); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(name+".tmp", name); err != nil {
		tb.Fatal(err)
	}
	return name
}

// BenchmarkReport reads a 1,000,000-record log and writes every report
// from it, as `exectrail report` does, and reports the live heap the
// model keeps and the process's peak RSS.
//
//	go test ./cmd/exectrail/internal/report -run '^$' -bench Report -benchtime 3x
func BenchmarkReport(b *testing.B) {
	for _, style := range []string{"ptrace", "notify"} {
		b.Run(style, func(b *testing.B) {
			name := syntheticLog(b, 1_000_000, style == "notify")
			st, _ := os.Stat(name)
			b.SetBytes(st.Size())
			b.ReportAllocs()
			var live uint64
			for b.Loop() {
				f, err := os.Open(name)
				if err != nil {
					b.Fatal(err)
				}
				l, err := Read(f)
				f.Close()
				if err != nil || l.Records != 1_000_000 {
					b.Fatalf("%v, %d records", err, l.Records)
				}
				for _, w := range []func(io.Writer) error{
					func(w io.Writer) error { return l.WriteTree(w, TreeOptions{Width: 120}) },
					func(w io.Writer) error { return l.WriteSummary(w, SummaryOptions{}) },
					func(w io.Writer) error { return l.WriteMarkdown(w, MarkdownOptions{}) },
					l.WriteTrace,
				} {
					if err := w(io.Discard); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				live = max(live, ms.HeapAlloc)
				runtime.KeepAlive(l)
			}
			b.ReportMetric(float64(live)/(1<<20), "live-MB")
			var ru syscall.Rusage
			if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
				b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MB")
			}
		})
	}
}

// Memory follows processes, not records: 300,000 records about one
// process (a PATH search that never ends) keep almost nothing.
func TestMemoryFollowsProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriter(pw)
		fmt.Fprintf(bw, `{"seq":1,"time":"2026-11-27T09:00:00.000000000Z","event":"exec","pid":100,"ppid":1,"path":"/bin/sh","executable":"/bin/sh","argv":["sh"]}`+"\n")
		arg := strings.Repeat("x", 200)
		for i := 2; i <= 300_000; i++ {
			fmt.Fprintf(bw, `{"seq":%d,"time":"2026-11-27T09:00:00.000000000Z","event":"exec","pid":100,"ppid":1,"path":"/nope/%d","argv":["%s%d"],"error":"ENOENT","error_detail":"no such file %d"}`+"\n", i, i, arg, i, i)
		}
		bw.Flush()
		pw.Close()
	}()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	l, err := Read(pr)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if l.Records != 300_000 || len(l.Processes) != 1 || l.FailedExecs != 299_999 {
		t.Fatalf("%d records, %d processes, %d failed", l.Records, len(l.Processes), l.FailedExecs)
	}
	// The log is ~80 MB; the model must stay small.
	t.Logf("heap grew %d KiB", grown>>10)
	if grown > 8<<20 {
		t.Errorf("the model of one process holds %d MiB after 300,000 records", grown>>20)
	}
	runtime.KeepAlive(l)
}
