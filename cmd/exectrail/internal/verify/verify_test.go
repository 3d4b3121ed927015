package verify

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/exectrail/exectrail/supervisor"
	"github.com/exectrail/exectrail/supervisor/chain"
	"github.com/exectrail/exectrail/supervisor/record"
)

var (
	key1 = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	key2 = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
)

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// makeLog writes a log through the supervisor's own Writer: start, five
// records of the job, end, with the calls counted as a notify run would.
func makeLog(t testing.TB, f supervisor.Format, key ed25519.PrivateKey, end ...func(*record.EndInfo)) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := supervisor.NewWriter(&buf, f)
	w.SetTrail("00112233445566778899aabbccddeeff", key)
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	code := 0
	for _, r := range []*record.Record{
		{Event: record.EventStart, PID: 1, Start: &record.StartInfo{Version: "t", Backend: "notify", Argv: [][]byte{[]byte("sh")}}},
		{Event: record.EventExec, PID: 2, PPID: 1, Path: []byte("/bin/sh"), Executable: "/usr/bin/dash", Argv: [][]byte{[]byte("sh"), []byte("-c"), []byte("make all")}},
		{Event: record.EventFork, PID: 2, Kind: "vfork"},
		{Event: record.EventExec, PID: 3, PPID: 2, Path: []byte("make"), Executable: "/usr/bin/make", Argv: [][]byte{[]byte("make"), []byte("all")}},
		{Event: record.EventExec, PID: 4, PPID: 3, Path: []byte("/usr/bin/curl"), Executable: "/usr/bin/curl", Argv: [][]byte{[]byte("curl")}, Action: record.ActionDeny, Error: "EPERM"},
		{Event: record.EventExit, PID: 2, ExitCode: &code},
	} {
		r.Time = at
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.AddCalls(record.CallCounts{Received: 4, Answered: 4, Recorded: 4, Refused: 1})
	e := &record.EndInfo{}
	for _, f := range end {
		f(e)
	}
	if err := w.Write(&record.Record{Event: record.EventEnd, Time: at, PID: 1, ExitCode: &code, End: e}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func splitLines(b []byte) [][]byte {
	ls := bytes.SplitAfter(b, []byte("\n"))
	return ls[:len(ls)-1]
}

func join(ls [][]byte) []byte { return bytes.Join(ls, nil) }

func verifyBytes(b []byte, k ed25519.PrivateKey) *Result {
	var opt Options
	if k != nil {
		opt.Key = pub(k)
	}
	return Verify(bytes.NewReader(b), opt)
}

func TestVerifyOK(t *testing.T) {
	for _, c := range []struct {
		f    supervisor.Format
		sign ed25519.PrivateKey
		key  ed25519.PrivateKey
		want string
	}{
		{supervisor.FormatJSON, nil, nil, "ok: 3 execs, 1 fork, 1 exit; chain intact; not signed"},
		{supervisor.FormatJSON, key1, key1, "ok: 3 execs, 1 fork, 1 exit; chain intact; signed by " + chain.KeyID(pub(key1))},
		{supervisor.FormatJSON, key1, nil, "ok: 3 execs, 1 fork, 1 exit; chain intact; signed by " + chain.KeyID(pub(key1)) + " (not checked: no --key)"},
		{supervisor.FormatText, key1, key1, "ok: 3 execs, 1 fork, 1 exit; chain intact (text log: checked as a whole, not line by line); signed by " + chain.KeyID(pub(key1))},
	} {
		log := makeLog(t, c.f, c.sign)
		res := verifyBytes(log, c.key)
		if res.Line() != c.want {
			t.Errorf("got  %q\nwant %q\n%s", res.Line(), c.want, log)
		}
	}
}

// TestVerifyMoreEndFields: fields other features add to the end record
// (--otlp's counts) are neither counts nor a problem, in either format.
func TestVerifyMoreEndFields(t *testing.T) {
	otlp := func(e *record.EndInfo) { e.OTLP = &record.ExportCounts{Exported: 6, NotExported: 1} }
	for _, f := range []supervisor.Format{supervisor.FormatJSON, supervisor.FormatText} {
		log := makeLog(t, f, key1, otlp)
		if !bytes.Contains(log, []byte("otlp_exported")) {
			t.Fatalf("no otlp counts in the end record:\n%s", log)
		}
		if res := verifyBytes(log, key1); !res.OK() {
			t.Errorf("format %v: %s\n%s", f, res.Line(), log)
		}
	}
}

// TestVerifyTampering edits a real log each way the issue names and
// checks that each is caught, named, and placed on the right line.
func TestVerifyTampering(t *testing.T) {
	type tc struct {
		name   string
		edit   func(ls [][]byte) [][]byte
		key    ed25519.PrivateKey // --key
		kind   string
		line   int
		detail string
	}
	swap := func(ls [][]byte, i, j int) [][]byte { ls[i], ls[j] = ls[j], ls[i]; return ls }
	del := func(ls [][]byte, i int) [][]byte { return append(ls[:i:i], ls[i+1:]...) }
	cases := []tc{
		{name: "delete a line", edit: func(ls [][]byte) [][]byte { return del(ls, 2) }, kind: Missing, line: 3, detail: "seq 3 is not in the log (between line 2 and line 3)"},
		{name: "delete the start", edit: func(ls [][]byte) [][]byte { return del(ls, 0) }, kind: Missing, line: 1, detail: "seq 1 is not in the log"},
		{name: "swap two lines", edit: func(ls [][]byte) [][]byte { return swap(ls, 2, 3) }, kind: Reordered, line: 3, detail: "seq 3 should be here, but comes later, at line 4"},
		{name: "change one byte in an argv", edit: func(ls [][]byte) [][]byte {
			ls[3] = bytes.Replace(ls[3], []byte(`"all"`), []byte(`"alL"`), 1)
			return ls
		}, kind: Edited, line: 5, detail: "line 4 (seq 4) is not the line that was written"},
		{name: "truncate inside a line", edit: func(ls [][]byte) [][]byte { ls[4] = ls[4][:20]; return ls[:5] }, kind: Truncated, line: 5, detail: "truncated after line 4"},
		{name: "truncate after a line", edit: func(ls [][]byte) [][]byte { return ls[:4] }, kind: NoEnd, line: 4, detail: "truncated after line 4, or its end record was removed"},
		{name: "strip the end record", edit: func(ls [][]byte) [][]byte { return ls[:len(ls)-1] }, kind: NoEnd, line: 6, detail: "the log ends after line 6, a exit record"},
		{name: "append a forged record", edit: func(ls [][]byte) [][]byte {
			forged := bytes.Replace(ls[1], []byte(`"seq":2`), []byte(`"seq":8`), 1)
			return append(ls, forged)
		}, kind: ForgedAppend, line: 8, detail: "a exec record after the end record (line 7)"},
		{name: "insert a forged record", edit: func(ls [][]byte) [][]byte {
			forged := append([]byte(nil), ls[3]...)
			return append(ls[:4:4], append([][]byte{forged}, ls[4:]...)...)
		}, kind: Reordered, line: 5, detail: "seq 4 comes after seq 4"},
		{name: "a counted record removed, renumbered", edit: func(ls [][]byte) [][]byte {
			// Remove seq 5 and renumber the rest as a careless forger would.
			ls = del(ls, 4)
			ls[4] = bytes.Replace(ls[4], []byte(`"seq":6`), []byte(`"seq":5`), 1)
			ls[5] = bytes.Replace(ls[5], []byte(`"seq":7`), []byte(`"seq":6`), 1)
			return ls
		}, kind: Edited, line: 5, detail: "line 4 (seq 4) is not the line that was written"},
		{name: "edit the end record's counts", edit: func(ls [][]byte) [][]byte {
			ls[6] = bytes.Replace(ls[6], []byte(`"exec":3`), []byte(`"exec":4`), 1)
			return ls
		}, kind: CountsDiffer, line: 7, detail: "the end record counts 4 exec records, the log has 3"},
		{name: "edit the end record's calls", edit: func(ls [][]byte) [][]byte {
			ls[6] = bytes.Replace(ls[6], []byte(`"calls_gone":0`), []byte(`"calls_gone":1`), 1)
			return ls
		}, kind: CountsDiffer, line: 7, detail: "calls_received 4 is not calls_answered 4 + calls_gone 1"},
		{name: "edit the end record's chain", edit: func(ls [][]byte) [][]byte {
			i := bytes.Index(ls[6], []byte(`"chain":"`)) + 9
			ls[6][i] ^= 1
			return ls
		}, kind: Edited, line: 7, detail: "the end record's chain does not match"},
		{name: "wrong key", key: key2, kind: WrongKey, line: 7, detail: "signed by key " + chain.KeyID(pub(key1)) + ", and --key is key " + chain.KeyID(pub(key2))},
		{name: "end record edited after signing", key: key1, edit: func(ls [][]byte) [][]byte {
			ls[6] = bytes.Replace(ls[6], []byte(`"exit_code":0`), []byte(`"exit_code":1`), 1)
			return ls
		}, kind: BadSignature, line: 7, detail: "does not verify"},
		{name: "signature in upper case", key: key1, edit: func(ls [][]byte) [][]byte {
			i := bytes.Index(ls[6], []byte(`"sig":"`)) + 7
			ls[6] = append(append(append([]byte(nil), ls[6][:i]...), bytes.ToUpper(ls[6][i:len(ls[6])-3])...), ls[6][len(ls[6])-3:]...)
			return ls
		}, kind: BadSignature, line: 7, detail: "lower-case"},
		{name: "garbage line", edit: func(ls [][]byte) [][]byte { ls[2] = []byte("make: *** error\n"); return ls }, kind: NotARecord, line: 3},
		{name: "a record of another run", edit: func(ls [][]byte) [][]byte {
			ls[2] = bytes.Replace(ls[2], []byte(`00112233`), []byte(`99112233`), 1)
			return ls
		}, kind: Foreign, line: 3, detail: `run_id "99112233445566778899aabbccddeeff" is not the start record's`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ls := splitLines(makeLog(t, supervisor.FormatJSON, key1))
			if c.edit != nil {
				ls = c.edit(ls)
			}
			res := verifyBytes(join(ls), c.key)
			p := res.Problem
			if p == nil {
				t.Fatalf("not caught: %s\n%s", res.Line(), join(ls))
			}
			if p.Kind != c.kind || p.Line != c.line || !strings.Contains(p.Detail, c.detail) {
				t.Errorf("got %s\nwant line %d: %s: …%s…", res.Line(), c.line, c.kind, c.detail)
			}
			if !strings.HasPrefix(res.Line(), "fail: line ") {
				t.Errorf("line %q", res.Line())
			}
		})
	}
	// Not signed, and --key given.
	res := verifyBytes(makeLog(t, supervisor.FormatJSON, nil), key1)
	if res.Problem == nil || res.Problem.Kind != NotSigned {
		t.Errorf("unsigned log with --key: %s", res.Line())
	}
	// A log from before start records.
	old := []byte(`{"seq":1,"time":"2026-01-01T00:00:00Z","event":"exec","pid":2,"ppid":1,"path":"/bin/true","argv":["true"]}` + "\n")
	res = verifyBytes(old, nil)
	if res.Problem == nil || res.Problem.Kind != NoStart || !strings.Contains(res.Problem.Detail, "before exectrail had start records") {
		t.Errorf("old log: %s", res.Line())
	}
	if res := verifyBytes(nil, nil); res.Problem == nil || res.Problem.Kind != EmptyLog {
		t.Errorf("empty log: %s", res.Line())
	}
}

// TestVerifyText: what verify can check of a text log. It finds missing,
// reordered and appended lines by seq, and an edit anywhere by the chain,
// but cannot say which line was edited.
func TestVerifyText(t *testing.T) {
	for _, c := range []struct {
		name   string
		edit   func(ls [][]byte) [][]byte
		kind   string
		line   int
		detail string
	}{
		{"delete a line", func(ls [][]byte) [][]byte { return append(ls[:2:2], ls[3:]...) }, Missing, 3, "seq 3 is not in the log"},
		{"swap two lines", func(ls [][]byte) [][]byte { ls[2], ls[3] = ls[3], ls[2]; return ls }, Reordered, 3, "comes later"},
		{"change one byte in an argv", func(ls [][]byte) [][]byte {
			ls[3] = bytes.Replace(ls[3], []byte("make all"), []byte("make alL"), 1)
			return ls
		}, Edited, 7, "the chain over lines 1 to 6 does not match"},
		{"strip the end", func(ls [][]byte) [][]byte { return ls[:6] }, NoEnd, 6, "end record was removed"},
		{"append", func(ls [][]byte) [][]byte {
			return append(ls, []byte("     8 03:04:05.000 exec       9 <2  /bin/x  x\n"))
		}, ForgedAppend, 8, ""},
		{"edit the end's counts", func(ls [][]byte) [][]byte {
			ls[6] = bytes.Replace(ls[6], []byte("fork=1"), []byte("fork=2"), 1)
			return ls
		}, CountsDiffer, 7, "2 fork records, the log has 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ls := c.edit(splitLines(makeLog(t, supervisor.FormatText, nil)))
			res := verifyBytes(join(ls), nil)
			p := res.Problem
			if p == nil || p.Kind != c.kind || p.Line != c.line || !strings.Contains(p.Detail, c.detail) {
				t.Errorf("got %s\nwant line %d: %s: …%s…\n%s", res.Line(), c.line, c.kind, c.detail, join(ls))
			}
		})
	}
}

// FuzzVerify: any input gets a verdict, never a panic; a verdict of ok
// means the log has the shape it claims.
func FuzzVerify(f *testing.F) {
	f.Add(makeLog(f, supervisor.FormatJSON, nil))
	f.Add(makeLog(f, supervisor.FormatText, key1))
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"seq":1,"event":"end","counts":{"x":18446744073709551615}}` + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, k := range []ed25519.PrivateKey{nil, key1} {
			res := verifyBytes(b, k)
			line := res.Line()
			if strings.Contains(line, "\n") {
				t.Fatalf("verdict over more than one line: %q", line)
			}
			if res.OK() && (res.Lines < 2 || !bytes.HasSuffix(b, []byte("\n"))) {
				t.Fatalf("ok on %d lines: %q", res.Lines, b)
			}
		}
	})
}

// FuzzVerifyTamper: with the key, any change to a signed log — one byte
// replaced, inserted or removed anywhere — is caught.
func FuzzVerifyTamper(f *testing.F) {
	logs := [][]byte{makeLog(f, supervisor.FormatJSON, key1), makeLog(f, supervisor.FormatText, key1)}
	f.Add(uint8(0), uint16(5), byte('x'), uint8(0))
	f.Add(uint8(1), uint16(200), byte(' '), uint8(1))
	f.Add(uint8(0), uint16(65535), byte('\n'), uint8(2))
	f.Fuzz(func(t *testing.T, which uint8, pos uint16, c byte, op uint8) {
		log := append([]byte(nil), logs[int(which)%len(logs)]...)
		i := int(pos) % (len(log) + 1)
		switch op % 3 {
		case 0: // replace
			if i == len(log) || log[i] == c {
				return
			}
			log[i] = c
		case 1: // insert
			log = append(log[:i], append([]byte{c}, log[i:]...)...)
		case 2: // remove
			if i == len(log) {
				return
			}
			log = append(log[:i], log[i+1:]...)
		}
		if res := verifyBytes(log, key1); res.OK() {
			t.Fatalf("a changed log verifies (op %d at %d, %q): %s\n%s", op%3, i, c, res.Line(), log)
		}
	})
}
