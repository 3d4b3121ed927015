package supervisor

// The trail of a run: the start record (seq 1), the end record (last), the
// run id and hash chain every record carries, the optional signature of
// the end record, and the counts of trapped calls the end record reports.
// The chain and signature bytes are defined in package chain, which the
// verifier shares.

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/exectrail/exectrail/supervisor/chain"
	"github.com/exectrail/exectrail/supervisor/record"
)

// callCounters are the live counts, written by the backend's thread and
// read when the end record is written.
type callCounters struct {
	received, answered, gone, recorded, unrecorded, refused, atEvents atomic.Uint64
}

func (c *callCounters) snapshot() record.CallCounts {
	return record.CallCounts{
		Received: c.received.Load(), Answered: c.answered.Load(), Gone: c.gone.Load(),
		Recorded: c.recorded.Load(), Unrecorded: c.unrecorded.Load(), Refused: c.refused.Load(),
		AtEvents: c.atEvents.Load(),
	}
}

// trailState is a Writer's trail; nil until SetTrail.
type trailState struct {
	runID     string
	chain     chain.Chain
	counts    map[string]uint64
	denied    uint64
	unwritten uint64
	ended     bool
	key       ed25519.PrivateKey
	keyID     string
}

// NewRunID returns a random run id: 16 bytes from the system's CSPRNG, in
// hex.
func NewRunID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("run id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// SetTrail makes every record carry runID and prev, and counts what is
// written for the end record. With key, the end record is signed. Call it
// before the first Write.
func (w *Writer) SetTrail(runID string, key ed25519.PrivateKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := &trailState{runID: runID, counts: map[string]uint64{}}
	if key != nil {
		t.key = key
		t.keyID = chain.KeyID(key.Public().(ed25519.PublicKey))
	}
	w.trail = t
}

// ErrEnded is returned by Write after the end record.
var ErrEnded = errors.New("writing records: the log has ended")

// stamp sets the trail fields of r before it is formatted.
func (w *Writer) stamp(r *record.Record) error {
	t := w.trail
	if t == nil {
		return nil
	}
	if t.ended {
		return ErrEnded
	}
	r.RunID = t.runID
	r.Prev, r.HasPrev = t.chain.Prev(), true
	if r.Event == record.EventEnd {
		if r.End == nil {
			r.End = &record.EndInfo{}
		}
		e := r.End
		e.Counts = e.Counts[:0]
		for _, k := range []string{record.EventStart, record.EventExec, record.EventFork, record.EventExit} {
			e.Counts = append(e.Counts, record.KindCount{Kind: k, N: t.counts[k]})
		}
		var other []string
		for k := range t.counts {
			switch k {
			case record.EventStart, record.EventExec, record.EventFork, record.EventExit:
			default:
				other = append(other, k)
			}
		}
		slices.Sort(other)
		for _, k := range other {
			e.Counts = append(e.Counts, record.KindCount{Kind: k, N: t.counts[k]})
		}
		e.Denied = t.denied
		e.Calls = w.calls.snapshot()
		e.Unwritten = t.unwritten
		e.Chain = t.chain.Hex()
		e.KeyID = t.keyID
	}
	return nil
}

// seal signs an end record's line, b, and returns it with the signature.
func (w *Writer) seal(r *record.Record, b []byte) []byte {
	t := w.trail
	if t == nil || t.key == nil || r.Event != record.EventEnd || len(b) == 0 {
		return b
	}
	sig := ed25519.Sign(t.key, chain.SignedMessage(b))
	nl := b[len(b)-1:]
	body := b[:len(b)-1]
	var out []byte
	switch w.format {
	case FormatText:
		out = append(append([]byte{}, body...), "  sig="...)
		out = hex.AppendEncode(out, sig)
	default:
		// body ends with the object's "}".
		out = append(append([]byte{}, body[:len(body)-1]...), `,"`+record.FieldSig+`":"`...)
		out = hex.AppendEncode(out, sig)
		out = append(out, `"}`...)
	}
	return append(out, nl...)
}

// chained extends the chain with line, as written, and counts r.
func (w *Writer) chained(r *record.Record, line []byte) {
	t := w.trail
	if t == nil {
		return
	}
	if len(line) > 0 { // nothing for a record held back (writer_fold.go)
		t.chain.Add(line)
	}
	t.counts[r.Event]++
	if r.Action == record.ActionDeny {
		t.denied++
	}
	if r.Event == record.EventEnd {
		t.ended = true
	}
}

// unwritten counts a record that could not be written.
func (w *Writer) unwritten() {
	if w.trail != nil {
		w.trail.unwritten++
	}
}

// Rules returns the policy's rules as start records list them: "allow
// GLOB" or "deny GLOB", in the order they are checked.
func (p *Policy) Rules() []string {
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(p.rules))
	for _, r := range p.rules {
		verb := "deny"
		if r.allow {
			verb = "allow"
		}
		out = append(out, verb+" "+r.pattern)
	}
	return out
}

// AddCalls adds to the counts of trapped calls the end record reports,
// for a backend outside this package (and tests); the backends here count
// their own.
func (w *Writer) AddCalls(c record.CallCounts) {
	w.calls.received.Add(c.Received)
	w.calls.answered.Add(c.Answered)
	w.calls.gone.Add(c.Gone)
	w.calls.recorded.Add(c.Recorded)
	w.calls.unrecorded.Add(c.Unrecorded)
	w.calls.refused.Add(c.Refused)
	w.calls.atEvents.Add(c.AtEvents)
}
