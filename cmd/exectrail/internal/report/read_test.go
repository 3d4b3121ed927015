package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// logBuilder writes synthetic record lines the way the writer does (seq
// first), with times in milliseconds from t0.
type logBuilder struct {
	b   strings.Builder
	seq int
}

func (lb *logBuilder) rec(ms float64, event string, pid int, extra string) *logBuilder {
	lb.seq++
	tm := t0.Add(time.Duration(ms * float64(time.Millisecond))).Format("2006-01-02T15:04:05.000000000Z07:00")
	if extra != "" {
		extra = "," + extra
	}
	fmt.Fprintf(&lb.b, `{"seq":%d,"time":%q,"event":%q,"pid":%d%s}`+"\n", lb.seq, tm, event, pid, extra)
	return lb
}

func (lb *logBuilder) exec(ms float64, pid, ppid int, exe string, argv ...string) *logBuilder {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return lb.rec(ms, "exec", pid, fmt.Sprintf(`"ppid":%d,"path":%q,"executable":%q,"argv":[%s],"cwd":"/w"`, ppid, exe, exe, strings.Join(q, ",")))
}

func (lb *logBuilder) String() string { return lb.b.String() }

func mustRead(t *testing.T, s string) *Log {
	t.Helper()
	l, err := Read(strings.NewReader(s))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return l
}

func byPID(l *Log) map[int]*Process {
	m := map[int]*Process{}
	for _, p := range l.Processes {
		m[p.PID] = p
	}
	return m
}

// A ptrace log: forks name their children, every process exits.
func TestReadPtraceLog(t *testing.T) {
	lb := &logBuilder{}
	lb.rec(0, "start", 1, `"version":"t","backend":"ptrace","run_id":"r1"`).
		exec(0, 100, 1, "/usr/bin/make", "make", "-j2").
		rec(1, "fork", 100, `"child_pid":101,"kind":"clone","verified":true`).
		exec(2, 101, 100, "/usr/bin/cc", "cc", "-c", "a.c").
		rec(3, "fork", 100, `"child_pid":102,"kind":"vfork"`).
		rec(4, "exec", 102, `"ppid":100,"path":"/nope","argv":["/nope"],"error":"ENOENT","verified":false`).
		rec(5, "exit", 102, `"exit_code":127,"duration_ms":2`).
		rec(20, "exit", 101, `"exit_code":0,"duration_ms":19`).
		rec(21, "fork", 100, `"child_pid":103,"kind":"clone"`).
		exec(22, 103, 100, "/usr/bin/env", "env", "cc").
		exec(23, 103, 100, "/usr/bin/cc", "cc").
		rec(30, "exit", 103, `"signal":"SIGSEGV","duration_ms":9`).
		rec(31, "exit", 100, `"exit_code":2,"duration_ms":31`).
		rec(32, "end", 1, `"exit_code":2,"exit_status":2,"counts":{"start":1,"exec":5,"fork":3,"exit":4}`)
	l := mustRead(t, lb.String())
	if l.Backend != "ptrace" || l.Records != 12 || len(l.Processes) != 4 || len(l.Roots) != 1 {
		t.Fatalf("backend %q, %d records, %d processes, %d roots", l.Backend, l.Records, len(l.Processes), len(l.Roots))
	}
	p := byPID(l)
	if l.Root() != p[100] || len(p[100].Children) != 3 || p[101].Parent != p[100] || p[103].Parent != p[100] {
		t.Errorf("tree wrong: root %v children %d", l.Root().PID, len(p[100].Children))
	}
	if p[102].Exe != "" || p[102].ForkOf != "/usr/bin/make" || p[102].Failed != 1 || p[102].Attempts[0].Error != "ENOENT" || p[102].ExitCode != 127 {
		t.Errorf("failed child: %+v", p[102])
	}
	if p[103].Exe != "/usr/bin/cc" || fmt.Sprint(p[103].Prev) != "[/usr/bin/env]" || p[103].Signal != "SIGSEGV" || p[103].Execs != 2 {
		t.Errorf("exec chain: %+v", p[103])
	}
	if d, ok := p[101].Duration(); !ok || d != 19 {
		t.Errorf("duration %v %v", d, ok)
	}
	if l.ExecAttempts != 5 || l.FailedExecs != 1 || l.NonZeroExits != 3 || l.Signalled != 1 || l.ForksWithoutChild != 0 {
		t.Errorf("counts: %d attempts, %d failed, %d non-zero, %d signalled", l.ExecAttempts, l.FailedExecs, l.NonZeroExits, l.Signalled)
	}
	cc := l.Exes[0]
	if cc.Exe != "/usr/bin/cc" || cc.Execs != 2 || cc.Procs != 2 || cc.TimeMS != 28 || cc.Failed != 1 {
		t.Errorf("top exe %+v", cc)
	}
	if notes := l.Notes(); len(notes) != 0 {
		t.Errorf("notes on a complete ptrace log: %q", notes)
	}
}

// A notify log: no child pids, exits for the root only; the tree comes
// from ppids and unknowns stay unknown.
func TestReadNotifyLog(t *testing.T) {
	lb := &logBuilder{}
	lb.exec(0, 100, 1, "/usr/bin/dash", "sh", "-c", "x").
		rec(1, "fork", 100, `"kind":"vfork"`).
		exec(2, 101, 100, "/usr/bin/ls", "ls").
		rec(3, "fork", 100, `"kind":"clone"`). // a subshell that never execs
		rec(4, "fork", 100, `"kind":"clone"`).
		exec(5, 103, 102, "/usr/bin/sleep", "sleep", "1"). // child of the subshell
		rec(50, "exit", 100, `"exit_code":0,"duration_ms":52.5`)
	l := mustRead(t, lb.String())
	if l.Backend != "notify" || l.ForksWithoutChild != 3 {
		t.Fatalf("backend %q, forks without child %d", l.Backend, l.ForksWithoutChild)
	}
	p := byPID(l)
	if p[101].Parent != p[100] || !p[102].Placeholder || p[103].Parent != p[102] || len(l.Roots) != 2 {
		t.Errorf("tree: 101's parent %v, 102 placeholder %v, roots %d", p[101].Parent, p[102].Placeholder, len(l.Roots))
	}
	if _, ok := p[101].Duration(); ok || exitText(p[101], l.HasAllExits()) != "?" {
		t.Errorf("notify child has a known duration or exit")
	}
	if d, ok := p[100].Duration(); !ok || d != 52.5 {
		t.Errorf("root duration %v %v", d, ok)
	}
	// A placeholder's span ends where its descendants were last seen.
	if p[102].LastSeen != p[103].Start {
		t.Errorf("placeholder last seen %d, want %d", p[102].LastSeen, p[103].Start)
	}
	var out bytes.Buffer
	if err := l.WriteTree(&out, TreeOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+2 forks that did not exec", "(not in the log)", "have no exit record", "3 fork records name no child"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("tree lacks %q:\n%s", want, out.String())
		}
	}
}

// A pid reused after an exit, or with another parent, is another
// process; a process reparented to exectrail is the same one.
func TestReadPIDReuse(t *testing.T) {
	lb := &logBuilder{}
	lb.exec(0, 100, 1, "/bin/sh", "sh").
		exec(1, 200, 100, "/bin/a", "a").
		rec(2, "exit", 200, `"exit_code":0`).
		exec(3, 200, 100, "/bin/b", "b"). // reused after its exit
		exec(4, 300, 100, "/bin/c", "c").
		exec(5, 300, 200, "/bin/d", "d"). // reused: another parent, no exit seen
		exec(6, 400, 100, "/bin/e", "e").
		exec(7, 400, 1, "/bin/f", "f") // reparented to exectrail: same process
	l := mustRead(t, lb.String())
	if len(l.Processes) != 6 {
		for _, p := range l.Processes {
			t.Logf("%d %s", p.PID, p.Exe)
		}
		t.Fatalf("%d processes, want 6", len(l.Processes))
	}
	if !l.Processes[3].PIDReused || l.Processes[1].PIDReused {
		t.Errorf("PIDReused wrong")
	}
	if e := l.Processes[5]; e.Exe != "/bin/f" || fmt.Sprint(e.Prev) != "[/bin/e]" {
		t.Errorf("reparented process: %+v", e)
	}
	var out bytes.Buffer
	if err := l.WriteTrace(&out); err != nil {
		t.Fatal(err)
	}
	checkTrace(t, out.Bytes())
}

func TestReadRobust(t *testing.T) {
	good := &logBuilder{}
	good.exec(0, 100, 1, "/bin/sh", "sh").exec(1, 101, 100, "/bin/ls", "ls").exec(2, 102, 100, "/bin/cat", "cat")
	lines := strings.SplitAfter(good.String(), "\n")
	log := strings.Join([]string{
		"\n",                              // 1: blank
		lines[0],                          // 2
		"sh: 1: oops: not found\n",        // 3: the job's own stderr
		"partial output" + lines[1],       // 4: interleaved
		"{\"seq\":3,\"time\"\n",           // 5: a record cut by other output
		"\x00\xff garbage\n",              // 6
		`{"seq":9,"event":"exec"}` + "\n", // 7: no pid
		`{"seq":9,"time":"later","event":"exec","pid":1}` + "\n", // 8: bad time
		"   \r\n",                               // 9: blank
		strings.TrimSuffix(lines[2], "\n")[:40], // 10: truncated last line
	}, "")
	l := mustRead(t, log)
	if l.Records != 2 || l.Malformed != 5 || l.Interleaved != 1 || !l.TruncatedLast || l.Lines != 10 {
		t.Fatalf("records %d malformed %d interleaved %d truncated %v lines %d", l.Records, l.Malformed, l.Interleaved, l.TruncatedLast, l.Lines)
	}
	var got []int
	for _, n := range l.MalformedLines {
		got = append(got, n.Line)
	}
	if fmt.Sprint(got) != "[3 5 6 7 8]" || fmt.Sprint(l.InterleavedLines) != "[4]" {
		t.Errorf("malformed lines %v, interleaved %v", got, l.InterleavedLines)
	}
	notes := strings.Join(l.Notes(), "\n")
	for _, want := range []string{"5 lines are not records", "line 3 (", "last line is incomplete", "other output before the record"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}

	// A complete last record without its newline is a record.
	l = mustRead(t, strings.TrimSuffix(good.String(), "\n"))
	if l.Records != 3 || l.TruncatedLast {
		t.Errorf("unterminated complete line: %d records, truncated %v", l.Records, l.TruncatedLast)
	}
}

func TestReadSeq(t *testing.T) {
	lb := &logBuilder{}
	lb.exec(0, 100, 1, "/bin/sh", "sh")
	lb.seq = 4 // 2..4 missing
	lb.exec(1, 101, 100, "/bin/ls", "ls")
	lb.seq = 1 // goes backwards
	lb.exec(2, 102, 100, "/bin/ls", "ls")
	l := mustRead(t, lb.String())
	if l.SeqMissing != 3 || fmt.Sprint(l.SeqGaps) != "[{2 4}]" || l.SeqBackwards != 1 {
		t.Errorf("missing %d gaps %v backwards %d", l.SeqMissing, l.SeqGaps, l.SeqBackwards)
	}
	notes := strings.Join(l.Notes(), "\n")
	if !strings.Contains(notes, "3 records are missing from the log (seq 2–4)") || !strings.Contains(notes, "going backwards") {
		t.Errorf("notes: %s", notes)
	}
}

func TestReadLongLine(t *testing.T) {
	defer func(n int) { maxLine = n }(maxLine)
	maxLine = 1 << 20
	lb := &logBuilder{}
	lb.exec(0, 100, 1, "/bin/sh", "sh", strings.Repeat("x", 3<<20))
	lb.exec(1, 101, 100, "/bin/ls", "ls", strings.Repeat("y", 512<<10))
	lb.exec(2, 102, 100, "/bin/ls", "ls")
	l := mustRead(t, lb.String())
	if l.TooLong != 1 || l.Records != 2 || l.Malformed != 1 {
		t.Fatalf("too long %d, records %d, malformed %d", l.TooLong, l.Records, l.Malformed)
	}
	// Long argv is kept only up to maxArgvBytes.
	p := l.Processes[0]
	if !p.ArgvElided || len(p.argv) > maxArgvBytes {
		t.Errorf("argv kept: %d bytes, elided %v", len(p.argv), p.ArgvElided)
	}
}

func TestReadNothing(t *testing.T) {
	for name, in := range map[string]string{
		"empty":   "",
		"blank":   "\n\n  \n",
		"text":    "     1 09:41:18.199 exec    6635 <6630    /usr/bin/dash  sh -c x\n",
		"garbage": "hello\nworld\n",
		"partial": `{"seq":1,"time":"2026-11-27T09:41:18.199650424Z","ev`,
	} {
		l, err := Read(strings.NewReader(in))
		if !errors.Is(err, ErrNoRecords) || l == nil {
			t.Errorf("%s: err %v", name, err)
		}
	}
	// A read error after some records is reported, not fatal.
	lb := &logBuilder{}
	lb.exec(0, 100, 1, "/bin/sh", "sh")
	r := io.MultiReader(strings.NewReader(lb.String()), iotest.ErrReader(errors.New("disk on fire")))
	l, err := Read(r)
	if err != nil || l.ReadErr == nil || l.Records != 1 {
		t.Errorf("err %v, ReadErr %v, records %d", err, l.ReadErr, l.Records)
	}
	// Nothing but a read error.
	if _, err := Read(iotest.ErrReader(errors.New("EIO"))); !errors.Is(err, ErrNoRecords) || !strings.Contains(err.Error(), "EIO") {
		t.Errorf("err %v", err)
	}
}

// Byte-at-a-time reads (a pipe, a log still being written) give the same
// result as one read.
func TestReadSmallReads(t *testing.T) {
	lb := &logBuilder{}
	lb.exec(0, 100, 1, "/bin/sh", "sh").rec(1, "fork", 100, `"child_pid":101,"kind":"fork"`).exec(2, 101, 100, "/bin/ls", "ls", "-l")
	a := mustRead(t, lb.String())
	b, err := Read(iotest.OneByteReader(strings.NewReader(lb.String())))
	if err != nil {
		t.Fatal(err)
	}
	var x, y bytes.Buffer
	a.WriteTree(&x, TreeOptions{})
	b.WriteTree(&y, TreeOptions{})
	if x.String() != y.String() {
		t.Errorf("one-byte reads differ:\n%s\n%s", x.String(), y.String())
	}
}

func TestTreeOptions(t *testing.T) {
	lb := &logBuilder{}
	lb.exec(0, 100, 1, "/usr/bin/make", "make").
		exec(1, 101, 100, "/bin/sh", "sh", "-c", "cc a.c").
		exec(2, 102, 101, "/usr/bin/cc", "cc", "-O2", "-o", "a", "a.c", "-Wall", "-Wextra", "-pedantic").
		exec(3, 103, 102, "/usr/lib/gcc/cc1", "cc1", "a.c").
		exec(4, 104, 100, "/bin/sh", "sh", "-c", "ld").
		exec(5, 105, 104, "/usr/bin/ld", "ld", "-o", "a")
	l := mustRead(t, lb.String())
	tree := func(o TreeOptions) string {
		o.NoNotes = true
		var b bytes.Buffer
		if err := l.WriteTree(&b, o); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	all := tree(TreeOptions{})
	if strings.Count(all, "\n") != 7 || !strings.Contains(all, "│     └─ /usr/lib/gcc/cc1  cc1 a.c") {
		t.Errorf("full tree:\n%s", all)
	}
	d2 := tree(TreeOptions{Depth: 2})
	if strings.Contains(d2, "cc1") || !strings.Contains(d2, "… 2 more processes below") || !strings.Contains(d2, "… 1 more process below") {
		t.Errorf("depth 2:\n%s", d2)
	}
	f := tree(TreeOptions{Filter: "ld"})
	if !strings.Contains(f, "└─ /bin/sh  sh -c ld") || !strings.Contains(f, "   └─ /usr/bin/ld") || !strings.Contains(f, "make") || strings.Contains(f, "cc") {
		t.Errorf("filter ld:\n%s", f)
	}
	if f := tree(TreeOptions{Filter: "/usr/lib/*/cc1"}); !strings.Contains(f, "cc1") || strings.Contains(f, "ld") {
		t.Errorf("filter by path:\n%s", f)
	}
	m := tree(TreeOptions{MaxLines: 2})
	if !strings.Contains(m, "… 4 more processes not shown") {
		t.Errorf("max lines:\n%s", m)
	}
	w := tree(TreeOptions{Width: 50})
	for _, line := range strings.Split(strings.TrimSpace(w), "\n") {
		if n := runeLen(line); n > 50 {
			t.Errorf("line of %d columns at width 50: %q", n, line)
		}
	}
	if !strings.Contains(w, "/usr/bin/cc  cc -O2") || !strings.Contains(w, "…") {
		t.Errorf("width 50 should cut argv, not the executable:\n%s", w)
	}
	if err := CheckFilter("[x"); err == nil {
		t.Error("CheckFilter accepted [x")
	}
}

// A deep fork chain renders without recursion and without a quadratic
// indent.
func TestTreeDeep(t *testing.T) {
	lb := &logBuilder{}
	lb.exec(0, 100, 1, "/bin/sh", "sh")
	for i := 1; i < 5000; i++ {
		lb.exec(float64(i), 100+i, 100+i-1, "/bin/sh", "sh")
	}
	l := mustRead(t, lb.String())
	var b bytes.Buffer
	if err := l.WriteTree(&b, TreeOptions{NoNotes: true}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n"); n != 5001 || !strings.Contains(b.String(), "[4999] ") || b.Len() > 5001*120 {
		t.Errorf("%d lines, %d bytes", n, b.Len())
	}
	var tr bytes.Buffer
	if err := l.WriteTrace(&tr); err != nil {
		t.Fatal(err)
	}
	checkTrace(t, tr.Bytes())
}

func TestFormatMS(t *testing.T) {
	for ms, want := range map[float64]string{0.04: "0.0ms", 2.66: "2.7ms", 61.2: "61.2ms", 612.4: "612ms", 2345: "2.35s", 63000: "1m03s", 7500e3: "2h05m"} {
		if got := formatMS(ms); got != want {
			t.Errorf("formatMS(%v) = %q, want %q", ms, got, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"ls": "ls", "": "''", "a b": "'a b'", "it's": `'it'\''s'`, "a\nb": `"a\nb"`, "/usr/bin/x-y_z.1": "/usr/bin/x-y_z.1"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// Program names and arguments come from the traced job: nothing in them
// may reach a terminal or a markdown page as a control sequence.
func TestHostileStrings(t *testing.T) {
	lb := &logBuilder{}
	lb.rec(0, "exec", 100, `"ppid":1,"path":"/bin/sh","executable":"/tmp/\u001b]0;pwned\u0007x","argv":["a\nb","\u001b[2J","|`+"`"+`<b>*x*</b>"],"cwd":"/"`).
		rec(1, "exec", 101, `"ppid":100,"path":"\u009b31m","argv":["x"],"error":"ENOENT"`).
		rec(2, "exit", 100, `"exit_code":0`)
	l := mustRead(t, lb.String())
	for _, w := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return l.WriteTree(b, TreeOptions{}) },
		func(b *bytes.Buffer) error { return l.WriteSummary(b, SummaryOptions{}) },
		func(b *bytes.Buffer) error { return l.WriteMarkdown(b, MarkdownOptions{}) },
	} {
		var b bytes.Buffer
		if err := w(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, r := range out {
			if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("control character %U in the output:\n%s", r, out)
			}
		}
		if !strings.Contains(out, `\x1b]0;pwned\ax`) {
			t.Errorf("the executable is not shown escaped:\n%s", out)
		}
	}
	var b bytes.Buffer
	if err := l.WriteMarkdown(&b, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	// Outside the fenced tree (where markdown is not read), no HTML.
	md := b.String()
	if i, j := strings.Index(md, "```text"), strings.LastIndex(md, "```"); i >= 0 && j > i {
		md = md[:i] + md[j:]
	}
	if strings.Contains(md, "<b>") {
		t.Errorf("markdown lets HTML through:\n%s", md)
	}
}

// Start and end records: the run's, not the job's. The summary names the
// run and compares the end record's totals with the log; a log without
// them (older, or cut) is read as before and says so.
func TestReadTrail(t *testing.T) {
	job := func(lb *logBuilder) *logBuilder {
		return lb.exec(1, 100, 1, "/usr/bin/sh", "sh").
			rec(2, "fork", 100, `"kind":"vfork"`).
			exec(3, 101, 100, "/usr/bin/ls", "ls").
			rec(9, "exit", 100, `"exit_code":0,"duration_ms":8`)
	}
	start := `"version":"v1","backend":"notify","run_id":"abc","host":"h","kernel":"6.18","argv":["sh"]`
	for _, c := range []struct {
		name    string
		log     string
		note    string // a trail note wanted; "" none
		summary []string
	}{
		{"complete", job((&logBuilder{}).rec(0, "start", 1, start)).
			rec(10, "end", 1, `"exit_code":0,"exit_status":0,"duration_ms":10,"counts":{"start":1,"exec":2,"fork":1,"exit":1},"key_id":"k1","sig":"00"`).String(), "",
			[]string{"Run: abc, exectrail v1, notify backend, host h, kernel 6.18",
				"End: exit 0 after 10.0ms exectrail exit status 0; its totals (2 execs, 1 fork, 1 exit) are the log's; signed by k1"}},
		{"totals differ", job((&logBuilder{}).rec(0, "start", 1, start)).
			rec(10, "end", 1, `"exit_code":0,"exit_status":0,"counts":{"start":1,"exec":3,"fork":1,"exit":1}`).String(),
			"The end record's totals are not the log's: its totals (3 execs, 1 fork, 1 exit) are not the log's (2, 1, 1).",
			[]string{"End: exit 0 exectrail exit status 0; its totals (3 execs, 1 fork, 1 exit) are not the log's (2, 1, 1)"}},
		{"no end", job((&logBuilder{}).rec(0, "start", 1, start)).String(), "The log has no end record", []string{"Run: abc"}},
		{"older log", job(&logBuilder{}).String(), "The log has no start or end record", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := mustRead(t, c.log)
			if l.Records != 4 || l.Execs != 2 || l.SeqMissing != 0 || l.SeqBackwards != 0 || l.OtherEvents != 0 || l.Backend != "notify" {
				t.Errorf("%d records, %d execs, seq missing %d backwards %d, %d other, backend %q", l.Records, l.Execs, l.SeqMissing, l.SeqBackwards, l.OtherEvents, l.Backend)
			}
			if l.First != t0.Add(time.Millisecond).UnixNano() {
				t.Errorf("the log's first time is not its first job record's (the start record is the run's)")
			}
			var trail []string
			for _, n := range l.Notes() {
				if strings.HasPrefix(n, "The log has no") || strings.HasPrefix(n, "The end record's") {
					trail = append(trail, n)
				}
			}
			switch {
			case c.note == "" && len(trail) > 0:
				t.Errorf("notes %q", trail)
			case c.note != "" && (len(trail) != 1 || !strings.HasPrefix(trail[0], c.note)):
				t.Errorf("notes %q, want one starting %q", trail, c.note)
			}
			var b bytes.Buffer
			if err := l.WriteSummary(&b, SummaryOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, want := range c.summary {
				if !strings.Contains(b.String(), want) {
					t.Errorf("summary lacks %q:\n%s", want, b.String())
				}
			}
		})
	}
}
