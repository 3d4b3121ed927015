package supervisor

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/exectrail/exectrail/supervisor/record"
)

const (
	testCtr = "4f2a9c1d6e8b3a7f0c5d2e1b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918073625"
	testPod = "0b2c6a1e-8f3d-4c5b-9a7e-1d2f3a4b5c6d"
)

var testTime = time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.FixedZone("X", 3600))

func newTestWriter(out io.Writer, f Format) *Writer {
	w := NewWriter(out, f)
	w.now = func() time.Time { return testTime }
	return w
}

// decode parses one JSON line into a map, failing on anything else.
func decode(t testing.TB, line []byte) map[string]any {
	t.Helper()
	if !json.Valid(line) {
		t.Fatalf("not valid JSON: %q", line)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %q: %v", line, err)
	}
	return m
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func ptr[T any](v T) *T { return &v }

func lines(t testing.TB, b []byte) [][]byte {
	t.Helper()
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("output does not end with a newline: %q", b)
	}
	ls := bytes.SplitAfter(b, []byte("\n"))
	return ls[:len(ls)-1] // after the last newline: empty
}

func TestWriteJSONFields(t *testing.T) {
	for _, c := range []struct {
		name string
		rec  record.Record
		want map[string]any // exact: every key, every value (as JSON decodes it)
	}{
		{
			name: "exec, every field",
			rec: record.Record{
				Event: record.EventExec, PID: 10, PPID: 9, TID: 11,
				Path: []byte("./ls"), Executable: "/usr/bin/ls",
				Argv: [][]byte{[]byte("ls"), []byte("-l"), []byte("")}, ArgvTruncated: true,
				Cwd: "/usr/bin", Interpreter: "/usr/bin/dash", UID: 1000, HasUID: true,
				CgroupID: 1234, Cgroup: "/system.slice/x.scope", ABI: "i386", Syscall: "execveat",
				Error: "EPERM", ErrorDetail: "denied by --deny", Action: "deny", Verified: ptr(false),
				CgroupV1: "/docker/" + testCtr, CgroupV1Controllers: "name=systemd",
				ContainerID: testCtr, ContainerRuntime: "docker", PodUID: testPod,
				PidNS: 4026532281, MntNS: 4026532279,
			},
			want: map[string]any{
				record.FieldSeq: "1", record.FieldTime: "2025-03-04T04:06:07.890123456Z", record.FieldEvent: "exec",
				record.FieldPID: "10", record.FieldPPID: "9", record.FieldTID: "11", record.FieldPath: "./ls",
				record.FieldExecutable: "/usr/bin/ls", record.FieldArgv: []any{"ls", "-l", ""}, record.FieldArgvTruncated: true,
				record.FieldCwd: "/usr/bin", record.FieldInterpreter: "/usr/bin/dash", record.FieldUID: "1000",
				record.FieldCgroupID: "1234", record.FieldCgroup: "/system.slice/x.scope", record.FieldABI: "i386",
				record.FieldSyscall: "execveat", record.FieldError: "EPERM", record.FieldErrorDetail: "denied by --deny",
				record.FieldAction: "deny", record.FieldVerified: false,
				record.FieldCgroupV1: "/docker/" + testCtr, record.FieldCgroupV1Controllers: "name=systemd",
				record.FieldContainerID: testCtr, record.FieldContainerRuntime: "docker", record.FieldPodUID: testPod,
				record.FieldPidNS: "4026532281", record.FieldMntNS: "4026532279",
			},
		},
		{
			name: "exec, minimal",
			rec:  record.Record{Event: record.EventExec, PID: 10, TID: 10, Syscall: "execve"},
			want: map[string]any{
				record.FieldSeq: "1", record.FieldTime: "2025-03-04T04:06:07.890123456Z", record.FieldEvent: "exec",
				record.FieldPID: "10", record.FieldPPID: "0", record.FieldPath: "", record.FieldArgv: []any{},
			},
		},
		{
			name: "fork",
			rec: record.Record{Event: record.EventFork, PID: 10, TID: 12, ChildPID: 13, Kind: "clone3", ABI: "i386",
				Cgroup: "/x", CgroupID: 5, ContainerID: testCtr, PodUID: testPod, PidNS: 1, MntNS: 2},
			want: map[string]any{
				record.FieldSeq: "1", record.FieldTime: "2025-03-04T04:06:07.890123456Z", record.FieldEvent: "fork",
				record.FieldPID: "10", record.FieldTID: "12", record.FieldChildPID: "13", record.FieldKind: "clone3", record.FieldABI: "i386",
			},
		},
		{
			name: "exit by signal",
			rec:  record.Record{Event: record.EventExit, PID: 10, Signal: "SIGKILL", DurationMS: ptr(12.5)},
			want: map[string]any{
				record.FieldSeq: "1", record.FieldTime: "2025-03-04T04:06:07.890123456Z", record.FieldEvent: "exit",
				record.FieldPID: "10", record.FieldSignal: "SIGKILL", record.FieldDurationMS: "12.5",
			},
		},
		{
			name: "exit code zero",
			rec:  record.Record{Event: record.EventExit, PID: 10, ExitCode: ptr(0), Verified: ptr(true)},
			want: map[string]any{
				record.FieldSeq: "1", record.FieldTime: "2025-03-04T04:06:07.890123456Z", record.FieldEvent: "exit",
				record.FieldPID: "10", record.FieldExitCode: "0", record.FieldVerified: true,
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := newTestWriter(&buf, FormatJSON)
			r := c.rec
			if err := w.Write(&r); err != nil {
				t.Fatal(err)
			}
			ls := lines(t, buf.Bytes())
			if len(ls) != 1 {
				t.Fatalf("%d lines: %q", len(ls), buf.Bytes())
			}
			m := decode(t, ls[0])
			if !slices.Equal(keys(m), keys(c.want)) {
				t.Fatalf("fields %v, want %v\n%s", keys(m), keys(c.want), ls[0])
			}
			for k, v := range c.want {
				got := fmt.Sprint(m[k])
				if got != fmt.Sprint(v) {
					t.Errorf("%s = %s, want %v", k, got, v)
				}
			}
			if _, err := time.Parse(time.RFC3339Nano, m[record.FieldTime].(string)); err != nil {
				t.Errorf("time: %v", err)
			}
			if r.Seq != 1 || w.seq != 1 {
				t.Errorf("record seq %d, writer seq %d", r.Seq, w.seq)
			}
		})
	}
}

func TestWriteKeepsTime(t *testing.T) {
	var buf bytes.Buffer
	w := newTestWriter(&buf, FormatJSON)
	at := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	if err := w.Write(&record.Record{Event: record.EventFork, PID: 1, Time: at}); err != nil {
		t.Fatal(err)
	}
	if got := decode(t, buf.Bytes())[record.FieldTime]; got != "2001-02-03T04:05:06.000000007Z" {
		t.Errorf("time = %v", got)
	}
}

func TestWriteSeqConcurrent(t *testing.T) {
	var buf bytes.Buffer // only touched under the Writer's lock
	w := newTestWriter(&buf, FormatJSON)
	const writers, each = 8, 400
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := &record.Record{Event: record.EventExec, PID: g, PPID: i, Argv: [][]byte{[]byte("x")}}
				if err := w.Write(r); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	ls := lines(t, buf.Bytes())
	if len(ls) != writers*each || w.seq != writers*each {
		t.Fatalf("%d lines, Seq %d, want %d", len(ls), w.seq, writers*each)
	}
	next := map[string]int{} // per writer, records stay in order
	for i, l := range ls {
		m := decode(t, l)
		if got := m[record.FieldSeq].(json.Number).String(); got != fmt.Sprint(i+1) {
			t.Fatalf("line %d has seq %s", i+1, got)
		}
		g := m[record.FieldPID].(json.Number).String()
		if ppid := m[record.FieldPPID].(json.Number).String(); ppid != fmt.Sprint(next[g]) {
			t.Fatalf("writer %s: record %s out of order, want %d", g, ppid, next[g])
		}
		next[g]++
	}
}

func TestWriteNonUTF8(t *testing.T) {
	rec := record.Record{
		Event: record.EventExec, PID: 1,
		Path:        []byte("./\xff\xfebin"),
		Executable:  "/tmp/\x80x",
		Argv:        [][]byte{[]byte("ok"), []byte("\xc3"), []byte("a\x00b\xff"), []byte("é")},
		Cwd:         "/tmp/\xed\xa0\x80", // a UTF-16 surrogate, not valid UTF-8
		Interpreter: "/bin/\xf5sh",
		Cgroup:      "/a/\xfe",
		CgroupV1:    "/docker/\xff",
		// the kernel allows only [A-Za-z0-9_.-] in a v1 hierarchy's
		// name=, but the rule holds for every string from /proc
		CgroupV1Controllers: "name=\xfe",
	}
	var buf bytes.Buffer
	w := newTestWriter(&buf, FormatJSON)
	if err := w.Write(&rec); err != nil {
		t.Fatal(err)
	}
	m := decode(t, buf.Bytes())
	for _, c := range []struct {
		field, hexField string
		want            []byte
	}{
		{record.FieldPath, record.FieldPathHex, rec.Path},
		{record.FieldExecutable, record.FieldExecutableHex, []byte(rec.Executable)},
		{record.FieldCwd, record.FieldCwdHex, []byte(rec.Cwd)},
		{record.FieldInterpreter, record.FieldInterpreterHex, []byte(rec.Interpreter)},
		{record.FieldCgroup, record.FieldCgroupHex, []byte(rec.Cgroup)},
		{record.FieldCgroupV1, record.FieldCgroupV1Hex, []byte(rec.CgroupV1)},
		{record.FieldCgroupV1Controllers, record.FieldCgroupV1ControllersHex, []byte(rec.CgroupV1Controllers)},
	} {
		h, ok := m[c.hexField].(string)
		if !ok {
			t.Errorf("no %s in %s", c.hexField, buf.Bytes())
			continue
		}
		if b, err := hex.DecodeString(h); err != nil || !bytes.Equal(b, c.want) {
			t.Errorf("%s = %q, decodes to %q, want %q", c.hexField, h, b, c.want)
		}
		if s, _ := m[c.field].(string); !utf8.ValidString(s) || s == "" {
			t.Errorf("%s = %q", c.field, s)
		}
	}
	hx, ok := m[record.FieldArgvHex].([]any)
	if !ok || len(hx) != len(rec.Argv) {
		t.Fatalf("argv_hex = %v", m[record.FieldArgvHex])
	}
	for i, h := range hx {
		if b, err := hex.DecodeString(h.(string)); err != nil || !bytes.Equal(b, rec.Argv[i]) {
			t.Errorf("argv_hex[%d] = %q, want %x", i, h, rec.Argv[i])
		}
	}
	if argv := m[record.FieldArgv].([]any); len(argv) != len(rec.Argv) || argv[0] != "ok" || argv[3] != "é" {
		t.Errorf("argv = %q", argv)
	}
}

func TestWriteValidUTF8HasNoHex(t *testing.T) {
	rec := record.Record{
		Event: record.EventExec, PID: 1,
		Path:        []byte("./日本\x00\n\t\"\\\x1b\x7f"),
		Executable:  "/usr/bin/ü",
		Argv:        [][]byte{[]byte("\u2028\u0085"), []byte(""), []byte("{\"a\":1}")},
		Cwd:         "/tmp/ spaces ",
		Interpreter: "/bin/sh",
		Cgroup:      "/x",
		CgroupV1:    "/docker/ü",
		// valid UTF-8 controllers: no hex sibling
		CgroupV1Controllers: "name=systemd",
	}
	var buf bytes.Buffer
	if err := newTestWriter(&buf, FormatJSON).Write(&rec); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 {
		t.Fatalf("%d newlines in %q", n, buf.Bytes())
	}
	m := decode(t, buf.Bytes())
	for _, k := range keys(m) {
		if strings.HasSuffix(k, "_hex") {
			t.Errorf("%s present for valid UTF-8", k)
		}
	}
	if m[record.FieldPath] != string(rec.Path) || m[record.FieldExecutable] != rec.Executable || m[record.FieldCwd] != rec.Cwd {
		t.Errorf("strings altered: %q", buf.Bytes())
	}
	argv := m[record.FieldArgv].([]any)
	for i := range rec.Argv {
		if argv[i] != string(rec.Argv[i]) {
			t.Errorf("argv[%d] = %q, want %q", i, argv[i], rec.Argv[i])
		}
	}
}

// failWriter accepts limit bytes, then fails every write.
type failWriter struct {
	limit, written, calls int
}

var errDiskFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	f.calls++
	if f.written+len(p) > f.limit {
		n := f.limit - f.written
		f.written = f.limit
		return n, errDiskFull
	}
	f.written += len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	for _, f := range []Format{FormatJSON, FormatText} {
		t.Run(fmt.Sprint(f), func(t *testing.T) {
			fw := &failWriter{limit: 1 << 20}
			w := newTestWriter(fw, f)
			for range 3 {
				if err := w.Write(&record.Record{Event: record.EventFork, PID: 1, Kind: "fork"}); err != nil {
					t.Fatal(err)
				}
			}
			fw.limit = fw.written + 10 // the next record is cut short
			r := &record.Record{Event: record.EventFork, PID: 1, Kind: "fork"}
			err := w.Write(r)
			if !errors.Is(err, ErrOutput) || !errors.Is(err, errDiskFull) {
				t.Fatalf("error %v, want ErrOutput wrapping the cause", err)
			}
			if w.seq != 3 {
				t.Errorf("Seq = %d after a failed write, want 3", w.seq)
			}
			calls := fw.calls
			fw.limit = 1 << 30 // even if the output recovers
			for range 2 {
				if err := w.Write(&record.Record{Event: record.EventFork, PID: 1}); !errors.Is(err, ErrOutput) {
					t.Fatalf("later write: %v", err)
				}
			}
			if fw.calls != calls {
				t.Errorf("output written to after a failure")
			}
			if w.seq != 3 {
				t.Errorf("Seq = %d, want 3", w.seq)
			}
		})
	}
}

type zeroWriter struct{}

func (zeroWriter) Write(p []byte) (int, error) { return 0, nil }

// byteWriter takes one byte per call.
type byteWriter struct{ bytes.Buffer }

func (b *byteWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return b.Buffer.Write(p[:1])
}

func TestWriteShortWrites(t *testing.T) {
	w := newTestWriter(zeroWriter{}, FormatJSON)
	if err := w.Write(&record.Record{Event: record.EventFork, PID: 1}); !errors.Is(err, io.ErrShortWrite) || !errors.Is(err, ErrOutput) {
		t.Errorf("zero-byte writes: %v", err)
	}
	var bw byteWriter
	w = newTestWriter(&bw, FormatJSON)
	if err := w.Write(&record.Record{Event: record.EventFork, PID: 1, Kind: "vfork"}); err != nil {
		t.Fatal(err)
	}
	if m := decode(t, bw.Bytes()); m[record.FieldKind] != "vfork" {
		t.Errorf("record %s", bw.Bytes())
	}
}

// checkTextLine fails when b is not exactly one line of printable text.
func checkTextLine(t testing.TB, b []byte) {
	t.Helper()
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("not a line: %q", b)
	}
	body := b[:len(b)-1]
	for _, c := range body {
		if c < ' ' || c == 0x7f {
			t.Fatalf("control byte %#x in %q", c, b)
		}
	}
	if !utf8.Valid(body) {
		t.Fatalf("invalid UTF-8 in %q", b)
	}
	for _, r := range string(body) {
		if r >= 0x80 && r < 0xa0 || r == '\u2028' || r == '\u2029' {
			t.Fatalf("C1 control or line separator %U in %q", r, b)
		}
	}
}

func TestWriteText(t *testing.T) {
	hostile := [][]byte{
		[]byte("plain"), []byte("new\nline"), []byte("\x1b[31mred\x1b[0m"), []byte("cr\rlf"),
		[]byte("nul\x00"), []byte("\xff\xfe"), []byte("\xc2\x9b2J"), []byte("ls\u2028"), []byte(""),
		[]byte("tab\there"), []byte("del\x7f"), []byte("quote\"'\\"),
	}
	recs := []record.Record{
		{
			Event: record.EventExec, PID: 42, PPID: 41, Path: []byte("./x\ny"), Executable: "/tmp/x\ny\x1b",
			Argv: hostile, ArgvTruncated: true, Cwd: "/tmp/\x1b]0;title\x07", Interpreter: "/bin/\u009bsh",
			Error: "ENOENT", ErrorDetail: "open \x1b[2J\n: no such file", Action: "deny", ABI: "i386",
		},
		{Event: record.EventExec, PID: 42, Path: []byte("/usr/bin/ls"), Executable: "/usr/bin/ls", Argv: [][]byte{[]byte("ls")},
			ContainerID: testCtr, ContainerRuntime: "containerd", PodUID: testPod},
		{Event: record.EventFork, PID: 42, Kind: "clone", ChildPID: 43},
		{Event: record.EventExit, PID: 43, ExitCode: ptr(3), DurationMS: ptr(1.25)},
		{Event: record.EventExit, PID: 44, Signal: "SIGKILL"},
	}
	var buf bytes.Buffer
	w := newTestWriter(&buf, FormatText)
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	ls := lines(t, buf.Bytes())
	if len(ls) != len(recs) {
		t.Fatalf("%d lines for %d records:\n%s", len(ls), len(recs), buf.Bytes())
	}
	for _, l := range ls {
		checkTextLine(t, l)
	}
	first := string(ls[0])
	for _, want := range []string{`"new\nline"`, `"\x1b[31mred\x1b[0m"`, `"\xff\xfe"`, `""`, "plain", "ENOENT", "DENY", "[i386]", " …"} {
		if !strings.Contains(first, want) {
			t.Errorf("line 1 lacks %q:\n%s", want, first)
		}
	}
	if !strings.HasPrefix(first, "     1 ") || !strings.HasPrefix(string(ls[4]), "     5 ") {
		t.Errorf("seq not at the start of the lines:\n%s", buf.Bytes())
	}
	if !strings.Contains(string(ls[2]), "clone -> 43") || !strings.Contains(string(ls[3]), "exit 3 after 1.2ms") ||
		!strings.Contains(string(ls[4]), "killed by SIGKILL") {
		t.Errorf("fork/exit lines:\n%s", buf.Bytes())
	}
	if !strings.Contains(string(ls[1]), "[containerd 4f2a9c1d6e8b pod "+testPod+"]") {
		t.Errorf("container not shown: %s", ls[1])
	}
	if strings.Contains(first, "pod") || strings.Contains(first, "container") {
		t.Errorf("container shown for a record without one: %s", first)
	}
	if strings.Contains(string(ls[1]), "[path") {
		t.Errorf("path shown although it equals the executable: %s", ls[1])
	}
}

func TestParseFormat(t *testing.T) {
	for s, want := range map[string]Format{"json": FormatJSON, "text": FormatText, "ecs": FormatECS} {
		if f, err := ParseFormat(s); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %v, %v", s, f, err)
		}
	}
	for _, s := range []string{"", "JSON", "yaml"} {
		if _, err := ParseFormat(s); err == nil {
			t.Errorf("ParseFormat(%q) accepted", s)
		}
	}
}

func fuzzRecord(path, a0, a1 []byte, cwd, exe, interp string) *record.Record {
	return &record.Record{
		Event: record.EventExec, PID: 7, PPID: 6, Path: path, Argv: [][]byte{a0, a1},
		Cwd: cwd, Executable: exe, Interpreter: interp, Cgroup: interp, ErrorDetail: cwd, Error: "ENOENT",
		CgroupV1: exe, CgroupV1Controllers: cwd,
	}
}

func checkString(t *testing.T, m map[string]any, field, hexField string, want []byte) {
	t.Helper()
	s, _ := m[field].(string)
	h, hasHex := m[hexField].(string)
	if utf8.Valid(want) {
		if s != string(want) || hasHex {
			t.Fatalf("%s = %q (hex %v), want %q", field, s, hasHex, want)
		}
		return
	}
	if !hasHex {
		t.Fatalf("no %s for %q", hexField, want)
	}
	if b, err := hex.DecodeString(h); err != nil || !bytes.Equal(b, want) {
		t.Fatalf("%s = %q, want %x", hexField, h, want)
	}
}

func FuzzWriterJSON(f *testing.F) {
	f.Add([]byte("./ls"), []byte("ls"), []byte("-l"), "/usr/bin", "/usr/bin/ls", "")
	f.Add([]byte("\xff"), []byte("\x00\n"), []byte("\xc3("), "/tmp/\x80", "\xed\xa0\x80", "\x1b")
	f.Add([]byte(""), []byte(""), []byte("\u2028\"\\"), "", "", "/bin/\xf5")
	f.Fuzz(func(t *testing.T, path, a0, a1 []byte, cwd, exe, interp string) {
		var buf bytes.Buffer
		w := newTestWriter(&buf, FormatJSON)
		if err := w.Write(fuzzRecord(path, a0, a1, cwd, exe, interp)); err != nil {
			t.Fatal(err)
		}
		out := buf.Bytes()
		if bytes.IndexByte(out, '\n') != len(out)-1 {
			t.Fatalf("not one line: %q", out)
		}
		m := decode(t, out)
		checkString(t, m, record.FieldPath, record.FieldPathHex, path)
		if cwd != "" {
			checkString(t, m, record.FieldCwd, record.FieldCwdHex, []byte(cwd))
		}
		if exe != "" {
			checkString(t, m, record.FieldExecutable, record.FieldExecutableHex, []byte(exe))
			checkString(t, m, record.FieldCgroupV1, record.FieldCgroupV1Hex, []byte(exe))
		}
		if cwd != "" {
			checkString(t, m, record.FieldCgroupV1Controllers, record.FieldCgroupV1ControllersHex, []byte(cwd))
		}
		if interp != "" {
			checkString(t, m, record.FieldInterpreter, record.FieldInterpreterHex, []byte(interp))
			checkString(t, m, record.FieldCgroup, record.FieldCgroupHex, []byte(interp))
		}
		argv, _ := m[record.FieldArgv].([]any)
		if len(argv) != 2 {
			t.Fatalf("argv = %v", m[record.FieldArgv])
		}
		hx, hasHex := m[record.FieldArgvHex].([]any)
		if utf8.Valid(a0) && utf8.Valid(a1) {
			if hasHex || argv[0] != string(a0) || argv[1] != string(a1) {
				t.Fatalf("argv %q (hex %v), want %q %q", argv, hasHex, a0, a1)
			}
		} else {
			if !hasHex || len(hx) != 2 {
				t.Fatalf("argv_hex = %v", m[record.FieldArgvHex])
			}
			for i, want := range [][]byte{a0, a1} {
				if b, err := hex.DecodeString(hx[i].(string)); err != nil || !bytes.Equal(b, want) {
					t.Fatalf("argv_hex[%d] = %q, want %x", i, hx[i], want)
				}
			}
		}
	})
}

func FuzzWriterText(f *testing.F) {
	f.Add([]byte("./ls"), []byte("ls"), []byte("-l"), "/usr/bin", "/usr/bin/ls", "")
	f.Add([]byte("\xff\n"), []byte("\x1b[2J"), []byte("\xc2\x9b"), "/tmp/\r", "\u2029", "\x7f")
	f.Fuzz(func(t *testing.T, path, a0, a1 []byte, cwd, exe, interp string) {
		var buf bytes.Buffer
		w := newTestWriter(&buf, FormatText)
		if err := w.Write(fuzzRecord(path, a0, a1, cwd, exe, interp)); err != nil {
			t.Fatal(err)
		}
		checkTextLine(t, buf.Bytes())
	})
}

func BenchmarkWriteJSON(b *testing.B) {
	w := NewWriter(io.Discard, FormatJSON)
	benchWrite(b, w, benchExec)
}

func BenchmarkWriteText(b *testing.B) {
	w := NewWriter(io.Discard, FormatText)
	benchWrite(b, w, func() record.Record {
		return record.Record{Event: record.EventExec, PID: 4242, PPID: 4241, Path: []byte("gcc"), Executable: "/usr/bin/gcc", Argv: benchArgv, Cwd: "/home/user/src"}
	})
}

// benchArgv and benchExec are the exec record the writer benchmarks
// write: a compiler call, as a build makes thousands of.
var benchArgv = [][]byte{[]byte("gcc"), []byte("-O2"), []byte("-c"), []byte("-o"), []byte("main.o"), []byte("main.c")}

func benchExec() record.Record {
	return record.Record{
		Event: record.EventExec, PID: 4242, PPID: 4241, Path: []byte("/usr/bin/gcc"), Executable: "/usr/bin/x86_64-linux-gnu-gcc-12",
		Argv: benchArgv, Cwd: "/home/user/src/project", UID: 1000, HasUID: true, CgroupID: 12345,
		Cgroup: "/user.slice/user-1000.slice/session-1.scope",
	}
}

// benchWrite writes a record made by rec with w, b.N times.
func benchWrite(b *testing.B, w *Writer, rec func() record.Record) {
	b.ReportAllocs()
	for b.Loop() {
		r := rec()
		if err := w.Write(&r); err != nil {
			b.Fatal(err)
		}
	}
}

func TestWriteTextContainer(t *testing.T) {
	for _, c := range []struct {
		rec  record.Record
		want string
	}{
		{record.Record{ContainerID: testCtr, ContainerRuntime: "docker"}, " [docker 4f2a9c1d6e8b]"},
		{record.Record{ContainerID: testCtr}, " [container 4f2a9c1d6e8b]"},
		{record.Record{PodUID: testPod}, " [pod " + testPod + "]"},
		{record.Record{ContainerID: testCtr, ContainerRuntime: "cri-o", PodUID: testPod}, " [cri-o 4f2a9c1d6e8b pod " + testPod + "]"},
		{record.Record{ContainerID: "short\x1b"}, ` [container short\x1b]`},
	} {
		var buf bytes.Buffer
		r := c.rec
		r.Event, r.PID, r.Executable, r.Path = record.EventExec, 1, "/bin/x", []byte("/bin/x")
		if err := newTestWriter(&buf, FormatText).Write(&r); err != nil {
			t.Fatal(err)
		}
		checkTextLine(t, buf.Bytes())
		if !strings.HasSuffix(buf.String(), c.want+"\n") {
			t.Errorf("%+v: %q, want it to end in %q", c.rec, buf.String(), c.want)
		}
	}
}
