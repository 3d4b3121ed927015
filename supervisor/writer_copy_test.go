package supervisor

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/exectrail/exectrail/supervisor/record"
)

// A JSON copy kept by an observer (what run --report does) holds the
// same records as the output, as JSON whatever the output's format, and a
// failing copy never fails the output.
func TestWriterCopy(t *testing.T) {
	for _, f := range []Format{FormatJSON, FormatText} {
		var out, cp bytes.Buffer
		w := newTestWriter(&out, f)
		w.AddObserver(func(r *record.Record) { cp.Write(record.AppendJSON(nil, r)) })
		recs := []*record.Record{
			{Event: record.EventExec, PID: 10, PPID: 1, Path: []byte("./ls"), Executable: "/usr/bin/ls", Argv: [][]byte{[]byte("ls")}, Cwd: "/"},
			{Event: record.EventFork, PID: 10, ChildPID: 11, Kind: "clone"},
			{Event: record.EventExit, PID: 10, ExitCode: ptr(3)},
		}
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if f == FormatJSON && !bytes.Equal(out.Bytes(), cp.Bytes()) {
			t.Errorf("json: copy differs from output:\n%s\n%s", out.Bytes(), cp.Bytes())
		}
		ls := lines(t, cp.Bytes())
		if len(ls) != len(recs) {
			t.Fatalf("format %d: %d copy lines, want %d", f, len(ls), len(recs))
		}
		for i, line := range ls {
			m := decode(t, line)
			if fmt.Sprint(m[record.FieldSeq]) != fmt.Sprint(i+1) || m[record.FieldEvent] != recs[i].Event {
				t.Errorf("format %d: copy line %d is %s", f, i+1, line)
			}
		}
	}

	var out bytes.Buffer
	w := newTestWriter(&out, FormatJSON)
	var copyErr error
	w.AddObserver(func(r *record.Record) { _, copyErr = (&failWriter{}).Write(record.AppendJSON(nil, r)) })
	for range 2 {
		if err := w.Write(&record.Record{Event: record.EventFork, PID: 1, Kind: "fork"}); err != nil {
			t.Fatalf("a failing copy failed the output: %v", err)
		}
	}
	if copyErr == nil || w.seq != 2 || len(lines(t, out.Bytes())) != 2 {
		t.Errorf("copy error %v, seq %d, output %q", copyErr, w.seq, out.Bytes())
	}
}
