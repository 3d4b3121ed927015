package supervisor

import (
	"bytes"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exectrail/exectrail/supervisor/record"
)

// wideRecords are records of every kind with every field their kind
// writes, and with the strings made of what JSON has to escape: invalid
// UTF-8, surrogates, control bytes, DEL, quotes, U+2028, a literal
// U+FFFD, and a huge argv.
func wideRecords(rng *rand.Rand) []*record.Record {
	odd := []string{"", "plain", "sp ace", `q"b\s`, "\x00\x01\x1f\x7f", "\b\f\n\r\t", "\xff", "\xc3(", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "é😀", "a\u2028b\u2029", "\ufffd", "\xc2\x9b[2J", "\x1b]0;x\x07", strings.Repeat("ab\xfe", 50)}
	pick := func() string {
		if rng.IntN(3) == 0 {
			b := make([]byte, rng.IntN(40))
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			return string(b)
		}
		return odd[rng.IntN(len(odd))]
	}
	picks := func(n int) [][]byte {
		v := make([][]byte, n)
		for i := range v {
			v[i] = []byte(pick())
		}
		return v
	}
	strs := func(n int) []string {
		v := make([]string, n)
		for i := range v {
			v[i] = pick()
		}
		return v
	}
	yes, no := true, false
	code, neg := 3, -1
	dur, tiny, huge := 12.345, 1e-7, 3e21
	start := time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.FixedZone("x", 3600))
	var out []*record.Record
	for i := range 200 {
		t := start.Add(time.Duration(i) * time.Millisecond)
		exec := &record.Record{
			Seq: uint64(i + 1), Time: t, Event: record.EventExec, PID: 100 + i, PPID: 99, TID: 101 + i,
			Path: []byte(pick()), Executable: pick(), Argv: picks(rng.IntN(6)), ArgvTruncated: i%2 == 0,
			Cwd: pick(), Interpreter: pick(), UID: i, HasUID: i%3 != 0, CgroupID: uint64(i) << 40, Cgroup: pick(),
			ABI: "i386", Syscall: []string{"execve", "execveat", ""}[i%3], Error: "EPERM", ErrorDetail: pick(),
			ReadError: pick(), Action: record.ActionDeny, Verified: []*bool{nil, &yes, &no}[i%3],
			CgroupV1: pick(), CgroupV1Controllers: pick(), ContainerID: "4f2a9c1d6e8b", ContainerRuntime: "docker",
			PodUID: "0b2c-11", PidNS: 4026531836, MntNS: 4026531840, RunID: "9f0e", Prev: [8]byte{1, 2, 3, 0xff}, HasPrev: i%2 == 1,
			HasFile: i%2 == 0, FileDev: uint64(i)<<32 | 0x0803, FileIno: 1 << 62, MntID: 29,
			MountPoint: pick(), MountRoot: pick(), MountSource: pick(), SameFile: []*bool{nil, &yes, &no}[(i+1)%3],
			OuterPath: pick(), InterpreterSameFile: []*bool{nil, &yes, &no}[(i+2)%3],
			Env: picks(rng.IntN(4)), HasEnv: i%4 != 0, EnvTruncated: i%5 == 0, Redacted: strs(rng.IntN(3)),
			InterpreterChain: strs(rng.IntN(3)),
		}
		if i%7 == 0 {
			exec.EnvBase, exec.EnvSet, exec.EnvUnset = 3, picks(rng.IntN(3)), picks(rng.IntN(3))
		}
		if i%11 == 0 {
			exec.PathUnknown, exec.PPIDUnknown, exec.Argv, exec.Env = true, true, nil, nil
		}
		out = append(out, exec,
			&record.Record{Seq: uint64(i), Time: t, Event: record.EventFork, PID: 7, TID: 8 + i%2, ChildPID: i, Kind: "clone3", ABI: "x32", Error: pick()},
			&record.Record{Seq: uint64(i), Time: t, Event: record.EventExit, PID: 7, ExitCode: []*int{nil, &code, &neg}[i%3],
				Signal: []string{"", "SIGKILL"}[i%2], DurationMS: []*float64{nil, &dur, &tiny, &huge}[i%4]},
			&record.Record{Seq: 1, Time: t, Event: record.EventStart, PID: 1, RunID: pick(), HasPrev: true, Redacted: strs(2),
				Start: &record.StartInfo{Version: pick(), Backend: "ptrace", Argv: picks(3), Cwd: pick(), Host: pick(), Kernel: "6.18",
					UID: 1000, Policy: strs(rng.IntN(3)), Options: strs(rng.IntN(3)), Redaction: "on"}},
			&record.Record{Seq: math.MaxUint64, Time: t, Event: record.EventEnd, PID: 1, ExitCode: &code, DurationMS: &dur,
				End: &record.EndInfo{ExitStatus: 3, Counts: []record.KindCount{{Kind: "start", N: 1}, {Kind: pick(), N: 2}}, Denied: 4,
					Calls:     record.CallCounts{Received: 1, Answered: 2, Gone: 3, Recorded: 4, Unrecorded: 5, Refused: 6, AtEvents: 7},
					Unwritten: 8, Chain: "abcd", KeyID: pick(), OTLP: []*record.ExportCounts{nil, {Exported: 5, NotExported: 6}}[i%2]}},
			&record.Record{Seq: 9, Time: t, Event: pick(), PID: -1},
		)
	}
	big := make([][]byte, 100000)
	for i := range big {
		big[i] = []byte(odd[i%len(odd)])
	}
	out = append(out, &record.Record{Seq: 1, Time: start, Event: record.EventExec, Argv: big, Path: bytes.Repeat([]byte("\xff/"), 1<<16)},
		&record.Record{}, &record.Record{Event: record.EventEnd}, &record.Record{Event: record.EventStart})
	return out
}

// record.AppendJSON writes, byte for byte, what the zerolog encoder it
// replaced wrote.
func TestAppendJSONMatchesZerolog(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i, r := range wideRecords(rng) {
		want := zerologAppendJSON([]byte("x"), r)
		got := record.AppendJSON([]byte("x"), r)
		if !bytes.Equal(got, want) {
			n := 0
			for n < len(got) && n < len(want) && got[n] == want[n] {
				n++
			}
			t.Fatalf("record %d differs at byte %d:\nzerolog %q\nappend  %q", i, n, want[max(0, n-40):min(len(want), n+40)], got[max(0, n-40):min(len(got), n+40)])
		}
	}
}

func FuzzAppendJSONMatchesZerolog(f *testing.F) {
	f.Add([]byte("./ls"), []byte("ls"), "/usr/bin", "/usr/bin/ls", 1.5)
	f.Add([]byte("\xff\x7f"), []byte("\xed\xa0\x80\u2028"), "\x00\b\f", "\ufffd\"\\", 1e-9)
	f.Fuzz(func(t *testing.T, path, arg []byte, cwd, exe string, dur float64) {
		rs := []*record.Record{
			{Event: record.EventExec, Path: path, Argv: [][]byte{arg, path}, Cwd: cwd, Executable: exe, Interpreter: cwd,
				InterpreterChain: []string{exe}, Env: [][]byte{arg}, HasEnv: true, Redacted: []string{cwd}, Error: exe},
			{Event: record.EventExit, DurationMS: &dur, Signal: exe},
			{Event: exe, PID: len(path)},
		}
		for _, r := range rs {
			if want, got := zerologAppendJSON(nil, r), record.AppendJSON(nil, r); !bytes.Equal(got, want) {
				t.Fatalf("zerolog %q\nappend  %q", want, got)
			}
		}
	})
}

// BenchmarkEncodeJSON is the encoding of BenchmarkWriteJSON's record
// alone, by the zerolog encoder that was and by record.AppendJSON, in one
// process so that both see the same machine.
func BenchmarkEncodeJSON(b *testing.B) {
	r := benchExec()
	r.Seq, r.Time = 42, time.Now()
	for _, c := range []struct {
		name string
		enc  func([]byte, *record.Record) []byte
	}{{"zerolog", zerologAppendJSON}, {"append", record.AppendJSON}} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				buf = c.enc(buf[:0], &r)
			}
		})
	}
}

// record.ECS writes, byte for byte, what the zerolog ECS encoder it
// replaced wrote, entity ids included (the run's random part aside), over
// a run of records whose pids fork, exec, exit and are reused.
func TestECSMatchesZerolog(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	recs := wideRecords(rng)
	now := time.Unix(1700000000, 0)
	code := 0
	for i := range 50 {
		pid := 500 + i%7
		recs = append(recs,
			&record.Record{Event: record.EventFork, Time: now, PID: 1, ChildPID: pid, Kind: "fork"},
			&record.Record{Event: record.EventExec, Time: now.Add(time.Millisecond), PID: pid, PPID: 1, Path: []byte("/bin/x"),
				Executable: "/bin/x", Argv: [][]byte{[]byte("x"), []byte("a b")}, HasUID: true, PodUID: "p-1", ContainerID: "c"},
			&record.Record{Event: record.EventExec, PID: pid + 1, PPID: pid, PPIDUnknown: i%2 == 0, Error: "ENOENT", Executable: "/bin/y"},
		)
		if i%3 != 0 {
			recs = append(recs, &record.Record{Event: record.EventExit, Time: now.Add(2 * time.Millisecond), PID: pid, ExitCode: &code})
		}
	}
	var old lineBuffer
	zl := newZerologECS(&old)
	ne := record.NewECS(ecsHost())
	runID := regexp.MustCompile(`"exectrail:([0-9a-f]{16}):`)
	newRun := ""
	for i, r := range recs {
		old.b = old.b[:0]
		zl.encode(r)
		got := ne.Append([]byte("x"), r)
		if m := runID.FindSubmatch(got); m != nil && newRun == "" {
			newRun = string(m[1])
		}
		want := append([]byte("x"), bytes.ReplaceAll(old.b, []byte("exectrail:"+zl.run+":"), []byte("exectrail:"+newRun+":"))...)
		if !bytes.Equal(got, want) {
			n := 0
			for n < len(got) && n < len(want) && got[n] == want[n] {
				n++
			}
			t.Fatalf("record %d differs at byte %d:\nzerolog %q\nappend  %q", i, n, want[max(0, n-60):min(len(want), n+60)], got[max(0, n-60):min(len(got), n+60)])
		}
	}
	if newRun == "" {
		t.Fatal("no entity id in any document")
	}
}
