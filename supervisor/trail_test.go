package supervisor

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/exectrail/exectrail/supervisor/chain"
	"github.com/exectrail/exectrail/supervisor/record"
)

const testRunID = "0123456789abcdef0123456789abcdef"

func testKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	return ed25519.NewKeyFromSeed(seed)
}

// writeTrail writes a small run: start, exec, fork, denied exec, exit, end.
func writeTrail(t *testing.T, f Format, key ed25519.PrivateKey) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := newTestWriter(&buf, f)
	w.SetTrail(testRunID, key)
	code := 3
	for _, r := range []*record.Record{
		{Event: record.EventStart, PID: 1, Start: &record.StartInfo{Version: "v9", Backend: "notify", Argv: [][]byte{[]byte("sh"), []byte("-c"), []byte("\xff")},
			Cwd: "/src", Host: "h", Kernel: "6.18", UID: 1000, Policy: []string{"deny /usr/bin/curl"}, Options: []string{"--format=json"}}},
		{Event: record.EventExec, PID: 2, PPID: 1, Path: []byte("/bin/sh"), Executable: "/usr/bin/dash", Argv: [][]byte{[]byte("sh")}},
		{Event: record.EventFork, PID: 2, Kind: "vfork"},
		{Event: record.EventExec, PID: 3, PPID: 2, Path: []byte("curl"), Executable: "/usr/bin/curl", Argv: [][]byte{[]byte("curl")}, Action: record.ActionDeny, Error: "EPERM"},
		{Event: record.EventExit, PID: 2, ExitCode: &code},
	} {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.calls.received.Add(3)
	w.calls.answered.Add(3)
	w.calls.recorded.Add(3)
	w.calls.refused.Add(1)
	end := &record.Record{Event: record.EventEnd, PID: 1, ExitCode: &code, End: &record.EndInfo{ExitStatus: 3}}
	if err := w.Write(end); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&record.Record{Event: record.EventExit, PID: 9}); !errors.Is(err, ErrEnded) {
		t.Errorf("a Write after the end record: %v, want ErrEnded", err)
	}
	return buf.Bytes()
}

func TestTrailJSON(t *testing.T) {
	out := writeTrail(t, FormatJSON, nil)
	ls := lines(t, out)
	if len(ls) != 6 {
		t.Fatalf("%d lines, want 6:\n%s", len(ls), out)
	}
	var ch chain.Chain
	for i, l := range ls {
		m := decode(t, l)
		if m[record.FieldRunID] != testRunID {
			t.Errorf("line %d: run_id %v", i+1, m[record.FieldRunID])
		}
		if m[record.FieldPrev] != ch.PrevHex() {
			t.Errorf("line %d: prev %v, want %s", i+1, m[record.FieldPrev], ch.PrevHex())
		}
		if i == len(ls)-1 && m[record.FieldChain] != ch.Hex() {
			t.Errorf("end: chain %v, want %s", m[record.FieldChain], ch.Hex())
		}
		ch.Add(l)
	}
	start := decode(t, ls[0])
	want := map[string]any{
		record.FieldSeq: "1", record.FieldTime: "2025-03-04T04:06:07.890123456Z", record.FieldEvent: "start", record.FieldPID: "1",
		record.FieldVersion: "v9", record.FieldBackend: "notify", record.FieldArgv: []any{"sh", "-c", "\ufffd"}, record.FieldArgvHex: []any{"7368", "2d63", "ff"},
		record.FieldCwd: "/src", record.FieldHost: "h", record.FieldKernel: "6.18", record.FieldUID: "1000",
		record.FieldPolicy: []any{"deny /usr/bin/curl"}, record.FieldOptions: []any{"--format=json"},
		record.FieldRunID: testRunID, record.FieldPrev: "0000000000000000",
	}
	checkFields(t, "start", start, want)
	end := decode(t, ls[5])
	want = map[string]any{
		record.FieldSeq: "6", record.FieldTime: "2025-03-04T04:06:07.890123456Z", record.FieldEvent: "end", record.FieldPID: "1",
		record.FieldExitCode: "3", record.FieldExitStatus: "3",
		record.FieldCounts: map[string]any{"start": "1", "exec": "2", "fork": "1", "exit": "1"},
		record.FieldDenied: "1", record.FieldCallsReceived: "3", record.FieldCallsAnswered: "3", record.FieldCallsGone: "0",
		record.FieldCallsRecorded: "3", record.FieldCallsUnrecorded: "0", record.FieldCallsRefused: "1",
		record.FieldRecordsAtEvents: "0", record.FieldRecordsUnwritten: "0",
		record.FieldRunID: testRunID, record.FieldPrev: end[record.FieldPrev], record.FieldChain: end[record.FieldChain],
	}
	checkFields(t, "end", end, want)
	// The counts are written in a fixed order.
	if !bytes.Contains(ls[5], []byte(`"counts":{"start":1,"exec":2,"fork":1,"exit":1}`)) {
		t.Errorf("counts not in order start, exec, fork, exit: %s", ls[5])
	}
}

func checkFields(t *testing.T, what string, m, want map[string]any) {
	t.Helper()
	if !slices.Equal(keys(m), keys(want)) {
		t.Fatalf("%s: fields %v, want %v", what, keys(m), keys(want))
	}
	for k, v := range want {
		if got := fmt.Sprint(m[k]); got != fmt.Sprint(v) {
			t.Errorf("%s: %s = %s, want %v", what, k, got, v)
		}
	}
}

// TestTrailSigned checks the signature of an end record in both formats:
// Ed25519 over chain.SignedMessage(the line without its sig).
func TestTrailSigned(t *testing.T) {
	key := testKey(t)
	pub := key.Public().(ed25519.PublicKey)
	for _, c := range []struct {
		f      Format
		sigSep string // what precedes the signature
		tail   string // what follows it
	}{
		{FormatJSON, `,"sig":"`, "\"}\n"},
		{FormatText, "  sig=", "\n"},
	} {
		out := writeTrail(t, c.f, key)
		ls := lines(t, out)
		end := string(ls[len(ls)-1])
		i := strings.LastIndex(end, c.sigSep)
		if i < 0 || !strings.HasSuffix(end, c.tail) {
			t.Fatalf("format %d: no signature at the end of %q", c.f, end)
		}
		sig, err := hex.DecodeString(end[i+len(c.sigSep) : len(end)-len(c.tail)])
		if err != nil || len(sig) != ed25519.SignatureSize {
			t.Fatalf("format %d: signature %q: %v", c.f, end[i:], err)
		}
		unsigned := end[:i] + strings.TrimPrefix(c.tail, `"`)
		if c.f == FormatJSON {
			unsigned = end[:i] + "}\n"
		}
		if !ed25519.Verify(pub, chain.SignedMessage([]byte(unsigned)), sig) {
			t.Errorf("format %d: the signature does not verify over %q", c.f, unsigned)
		}
		if !strings.Contains(end, chain.KeyID(pub)) {
			t.Errorf("format %d: the end record does not name the key %s: %q", c.f, chain.KeyID(pub), end)
		}
		// Another key's signature must not verify.
		other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
		if ed25519.Verify(other.Public().(ed25519.PublicKey), chain.SignedMessage([]byte(unsigned)), sig) {
			t.Errorf("format %d: verifies with another key", c.f)
		}
	}
}

// TestTrailText checks the text start and end lines, and that their chain
// covers the text lines as written.
func TestTrailText(t *testing.T) {
	out := writeTrail(t, FormatText, nil)
	ls := lines(t, out)
	for _, l := range ls {
		checkTextLine(t, l)
	}
	start, end := string(ls[0]), string(ls[len(ls)-1])
	for _, want := range []string{"start", "exectrail v9", "notify", "run " + testRunID, `sh -c "\xff"`, "(cwd /src)", "host h", "kernel 6.18", "[deny /usr/bin/curl]"} {
		if !strings.Contains(start, want) {
			t.Errorf("start line %q lacks %q", start, want)
		}
	}
	var ch chain.Chain
	for _, l := range ls[:len(ls)-1] {
		ch.Add(l)
	}
	for _, want := range []string{"end", "exit 3", "exit_status=3", "start=1 exec=2 fork=1 exit=1", "denied=1", "calls_received=3", "chain=" + ch.Hex()} {
		if !strings.Contains(end, want) {
			t.Errorf("end line %q lacks %q", end, want)
		}
	}
}

// TestTrailUnwritten: a record that could not be written is counted, and
// takes no seq number and no place in the chain.
func TestTrailUnwritten(t *testing.T) {
	fw := &failingWriter{}
	w := newTestWriter(fw, FormatJSON)
	w.SetTrail(testRunID, nil)
	if err := w.Write(&record.Record{Event: record.EventStart, PID: 1, Start: &record.StartInfo{}}); err != nil {
		t.Fatal(err)
	}
	fw.fail = true
	for range 2 {
		if err := w.Write(&record.Record{Event: record.EventExec, PID: 2}); !errors.Is(err, ErrOutput) {
			t.Fatalf("write: %v, want ErrOutput", err)
		}
	}
	if w.trail.unwritten != 2 || w.seq != 1 || w.trail.counts[record.EventExec] != 0 {
		t.Errorf("unwritten %d, seq %d, exec count %d; want 2, 1, 0", w.trail.unwritten, w.seq, w.trail.counts[record.EventExec])
	}
}

type failingWriter struct {
	bytes.Buffer
	fail bool
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.fail {
		return 0, io.ErrClosedPipe
	}
	return f.Buffer.Write(p)
}

// BenchmarkWriteJSONTrail is BenchmarkWriteJSON with the trail: prev
// and the chain on every record, with run_id (as exectrail run writes)
// and without (what run_id on every record costs).
func BenchmarkWriteJSONTrail(b *testing.B) {
	for _, c := range []struct{ name, runID string }{{"run_id", testRunID}, {"no_run_id", ""}} {
		b.Run(c.name, func(b *testing.B) {
			var n countingWriter
			w := NewWriter(&n, FormatJSON)
			w.SetTrail(c.runID, nil)
			benchWrite(b, w, benchExec)
			b.ReportMetric(float64(n)/float64(b.N), "bytes/record")
		})
	}
}

type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// BenchmarkChainAdd is the chain's share of a record: one SHA-256 over the
// previous value and a line of the size BenchmarkWriteJSON writes.
func BenchmarkChainAdd(b *testing.B) {
	for _, n := range []int{300, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			line := bytes.Repeat([]byte("x"), n)
			var c chain.Chain
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				c.Add(line)
			}
		})
	}
}
