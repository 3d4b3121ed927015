package verify

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/report"
	"github.com/exectrail/exectrail/supervisor/chain"
	"github.com/exectrail/exectrail/supervisor/record"
)

// MaxLine is the longest line read (as exectrail report reads them).
const MaxLine = 64 << 20

// maxLine is MaxLine, lowered by tests.
var maxLine = MaxLine

// Options tune Verify.
type Options struct {
	// Key checks the end record's signature; nil leaves it unchecked.
	Key ed25519.PublicKey
}

// Problem kinds: how a log breaks.
const (
	NotARecord    = "not a record"
	Truncated     = "truncated"
	Missing       = "missing"
	Reordered     = "reordered"
	Edited        = "edited"
	Foreign       = "foreign record"
	NoStart       = "no start record"
	NoEnd         = "no end record"
	ForgedAppend  = "forged append"
	CountsDiffer  = "counts differ"
	NotSigned     = "not signed"
	WrongKey      = "wrong key"
	BadSignature  = "bad signature"
	ReadFailed    = "read error"
	EmptyLog      = "empty"
	SecondStart   = "second start record"
	chainHexBytes = 2 * chain.Size
)

// Problem is the first thing that breaks a log.
type Problem struct {
	Line   int   // 1-based line; 0 for the log as a whole
	Seq    int64 // the line's seq, when it has one
	Kind   string
	Detail string
}

func (p *Problem) Error() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d", p.Line)
		if p.Seq > 0 {
			fmt.Fprintf(&b, " (seq %d)", p.Seq)
		}
		b.WriteString(": ")
	}
	b.WriteString(p.Kind)
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	return b.String()
}

// Result is what Verify found.
type Result struct {
	Format string // json or text
	Lines  int
	// Counts are the records by kind, the end record left out.
	Counts map[string]uint64
	Signed bool   // the end record carries a signature
	KeyID  string // the end record's key_id
	// SigChecked: the signature was checked with Options.Key, and holds.
	SigChecked bool
	Problem    *Problem
}

// OK reports whether the log holds.
func (r *Result) OK() bool { return r.Problem == nil }

// Line is the one line exectrail verify prints.
func (r *Result) Line() string {
	if r.Problem != nil {
		return "fail: " + r.Problem.Error()
	}
	var parts []string
	for _, k := range []string{record.EventExec, record.EventFork, record.EventExit} {
		parts = append(parts, plural(r.Counts[k], k))
	}
	var other uint64
	for k, n := range r.Counts {
		switch k {
		case record.EventStart, record.EventExec, record.EventFork, record.EventExit:
		default:
			other += n
		}
	}
	if other > 0 {
		parts = append(parts, fmt.Sprintf("%d other", other))
	}
	s := "ok: " + strings.Join(parts, ", ") + "; chain intact"
	if r.Format == "text" {
		s += " (text log: checked as a whole, not line by line)"
	}
	switch {
	case r.SigChecked:
		s += "; signed by " + r.KeyID
	case r.Signed:
		s += "; signed by " + r.KeyID + " (not checked: no --key)"
	default:
		s += "; not signed"
	}
	return s
}

func plural(n uint64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// line is what is kept of each line for the second pass.
type line struct {
	seq    int64
	hasSeq bool
	event  string
	bad    string // why it is not a record
	cut    bool   // no newline: the last line, cut off
	prevOK bool
	runID  string
}

// endRecord is what the end record says.
type endRecord struct {
	line       int
	raw        []byte // the line as written, newline included
	counts     map[string]uint64
	hasCounts  bool
	nums       map[string]uint64
	chain      string
	keyID      string
	sig        string
	chainAtEnd string // the chain over the lines before it
}

type verifier struct {
	opt     Options
	res     *Result
	text    bool
	lines   []line
	intern  map[string]string
	ch      chain.Chain
	end     *endRecord
	readErr error
}

// Verify reads a whole log and checks it.
func Verify(rd io.Reader, opt Options) *Result {
	v := &verifier{opt: opt, res: &Result{Format: "json", Counts: map[string]uint64{}}, intern: map[string]string{}}
	v.read(rd)
	v.res.Lines = len(v.lines)
	v.res.Problem = v.check()
	return v.res
}

func (v *verifier) read(rd io.Reader) {
	v.readErr = report.EachLine(rd, 64<<10, maxLine, func(b []byte, tooLong bool) {
		if tooLong {
			v.lines = append(v.lines, line{bad: fmt.Sprintf("longer than %d bytes", maxLine)})
		} else {
			v.line(b)
		}
	})
}

func (v *verifier) str(s string) string {
	if x, ok := v.intern[s]; ok {
		return x
	}
	if len(v.intern) < 1024 {
		v.intern[s] = s
	}
	return s
}

// line takes one line, its newline (if any) still on.
func (v *verifier) line(b []byte) {
	if len(v.lines) == 0 {
		v.text = len(bytes.TrimLeft(b, " \t")) > 0 && bytes.TrimLeft(b, " \t")[0] != '{'
		if v.text {
			v.res.Format = "text"
		}
	}
	ln := line{cut: b[len(b)-1] != '\n'}
	prev := v.ch.PrevHex()
	chainBefore := v.ch.Hex()
	if v.text {
		v.textLine(b, &ln)
	} else {
		v.jsonLine(b, &ln, prev)
	}
	if v.end != nil && v.end.line == len(v.lines)+1 {
		v.end.chainAtEnd = chainBefore // this line is the end record
	}
	v.ch.Add(b)
	v.lines = append(v.lines, ln)
}

type jsonRecord struct {
	Seq    *json.Number `json:"seq"`
	Event  *string      `json:"event"`
	RunID  string       `json:"run_id"`
	Prev   *string      `json:"prev"`
	Action string       `json:"action"`
}

type jsonEnd struct {
	Counts map[string]uint64 `json:"counts"`
	Chain  string            `json:"chain"`
	KeyID  string            `json:"key_id"`
	Sig    string            `json:"sig"`
}

var endNums = []string{record.FieldDenied, record.FieldCallsReceived, record.FieldCallsAnswered, record.FieldCallsGone,
	record.FieldCallsRecorded, record.FieldCallsUnrecorded, record.FieldCallsRefused, record.FieldRecordsAtEvents, record.FieldRecordsUnwritten}

func (v *verifier) jsonLine(b []byte, ln *line, prev string) {
	body := bytes.TrimRight(b, "\n")
	if t := bytes.TrimLeft(body, " \t"); len(t) == 0 || t[0] != '{' {
		ln.bad = "not a JSON object"
		return
	}
	var r jsonRecord
	if err := json.Unmarshal(body, &r); err != nil {
		ln.bad = "not JSON: " + err.Error()
		return
	}
	if r.Seq == nil || r.Event == nil {
		ln.bad = "no seq or event"
		return
	}
	seq, err := strconv.ParseInt(r.Seq.String(), 10, 64)
	if err != nil || seq < 1 {
		ln.bad = fmt.Sprintf("seq %s is not a positive integer", r.Seq.String())
		return
	}
	ln.seq, ln.hasSeq = seq, true
	ln.event = v.str(*r.Event)
	ln.runID = v.str(r.RunID)
	ln.prevOK = r.Prev != nil && *r.Prev == prev
	if ln.event == record.EventEnd {
		if v.end != nil {
			return // a second one: after the end, which check() reports
		}
		var e jsonEnd
		var nums map[string]json.RawMessage
		_ = json.Unmarshal(body, &e)
		_ = json.Unmarshal(body, &nums)
		v.end = &endRecord{line: len(v.lines) + 1, raw: append([]byte(nil), b...), counts: e.Counts, hasCounts: e.Counts != nil,
			nums: map[string]uint64{}, chain: e.Chain, keyID: e.KeyID, sig: e.Sig}
		for _, k := range endNums {
			if raw, ok := nums[k]; ok {
				if n, err := strconv.ParseUint(string(raw), 10, 64); err == nil {
					v.end.nums[k] = n
				}
			}
		}
		return
	}
	if v.end == nil {
		v.res.Counts[ln.event]++
		if r.Action == record.ActionDeny {
			v.res.Counts["\x00denied"]++
		}
	}
}

// textLine reads a --format text line: "   SEQ HH:MM:SS.mmm EVENT PID …".
func (v *verifier) textLine(b []byte, ln *line) {
	f := bytes.Fields(b)
	if len(f) < 4 {
		ln.bad = "not a record line (want seq, time, event, pid)"
		return
	}
	seq, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil || seq < 1 {
		ln.bad = fmt.Sprintf("%q is not a seq number", f[0])
		return
	}
	if _, err := strconv.Atoi(string(f[3])); err != nil {
		ln.bad = fmt.Sprintf("%q is not a pid", f[3])
		return
	}
	ln.seq, ln.hasSeq, ln.event, ln.prevOK = seq, true, v.str(string(f[2])), true
	if ln.event == record.EventEnd {
		if v.end != nil {
			return
		}
		e := &endRecord{line: len(v.lines) + 1, raw: append([]byte(nil), b...), counts: map[string]uint64{}, nums: map[string]uint64{}}
		// exit_status=N, then the counts by kind up to denied=N, then
		// the call counts and the rest; words of other names (added by
		// other features, otlp_exported say) are not counts.
		inCounts := false
		for _, w := range f[4:] {
			k, val, ok := bytes.Cut(w, []byte("="))
			if !ok {
				continue
			}
			switch key := string(k); key {
			case record.FieldChain:
				e.chain = string(val)
			case record.FieldKeyID:
				e.keyID = string(val)
			case record.FieldSig:
				e.sig = string(val)
			case record.FieldExitStatus:
				inCounts = true
			default:
				n, err := strconv.ParseUint(string(val), 10, 64)
				switch {
				case isEndNum(key):
					inCounts = false
					if err == nil {
						e.nums[key] = n
					}
				case inCounts && err == nil:
					e.counts[key] = n
					e.hasCounts = true
				}
			}
		}
		v.end = e
		return
	}
	if v.end == nil {
		v.res.Counts[ln.event]++
		if bytes.HasSuffix(bytes.TrimRight(b, "\n"), []byte("  DENY")) || bytes.Contains(b, []byte("  DENY  ! ")) {
			v.res.Counts["\x00denied"]++
		}
	}
}

func isEndNum(k string) bool {
	for _, n := range endNums {
		if n == k {
			return true
		}
	}
	return false
}

// check is the second pass: the first line that breaks the log.
func (v *verifier) check() *Problem {
	denied := v.res.Counts["\x00denied"]
	delete(v.res.Counts, "\x00denied")
	if len(v.lines) == 0 {
		if v.readErr != nil {
			return &Problem{Kind: ReadFailed, Detail: v.readErr.Error()}
		}
		return &Problem{Kind: EmptyLog, Detail: "the log has no lines"}
	}
	startRun := v.lines[0].runID
	endAt := -1
	for i := range v.lines {
		ln := &v.lines[i]
		n := i + 1
		if ln.cut {
			return &Problem{Line: n, Seq: ln.seq, Kind: Truncated, Detail: fmt.Sprintf("the log ends inside line %d (no newline): truncated after line %d", n, n-1)}
		}
		if ln.bad != "" {
			return &Problem{Line: n, Kind: NotARecord, Detail: ln.bad}
		}
		if endAt >= 0 {
			return &Problem{Line: n, Seq: ln.seq, Kind: ForgedAppend, Detail: fmt.Sprintf("a %s record after the end record (line %d)", ln.event, endAt+1)}
		}
		if want := int64(n); ln.seq != want {
			return v.seqProblem(i, want)
		}
		if !ln.prevOK {
			if i == 0 {
				if ln.event != record.EventStart {
					return v.noStart(ln)
				}
				return &Problem{Line: 1, Seq: 1, Kind: Edited, Detail: "the start record's prev is not the empty chain's"}
			}
			return &Problem{Line: n, Seq: ln.seq, Kind: Edited, Detail: fmt.Sprintf("line %d (seq %d) is not the line that was written: this line's prev does not match the chain up to it", n-1, v.lines[i-1].seq)}
		}
		if i == 0 && ln.event != record.EventStart {
			return v.noStart(ln)
		}
		if i > 0 && ln.event == record.EventStart {
			return &Problem{Line: n, Seq: ln.seq, Kind: SecondStart, Detail: "only line 1 may be a start record"}
		}
		if !v.text && ln.runID != startRun {
			return &Problem{Line: n, Seq: ln.seq, Kind: Foreign, Detail: fmt.Sprintf("run_id %q is not the start record's %q", ln.runID, startRun)}
		}
		if ln.event == record.EventEnd {
			endAt = i
		}
	}
	if endAt < 0 {
		if v.readErr != nil {
			return &Problem{Kind: ReadFailed, Detail: v.readErr.Error()}
		}
		last := v.lines[len(v.lines)-1]
		return &Problem{Line: len(v.lines), Seq: last.seq, Kind: NoEnd,
			Detail: fmt.Sprintf("the log ends after line %d, a %s record: truncated after line %d, or its end record was removed", len(v.lines), last.event, len(v.lines))}
	}
	return v.checkEnd(denied)
}

func (v *verifier) noStart(ln *line) *Problem {
	d := fmt.Sprintf("line 1 is a %s record", ln.event)
	if !ln.prevOK && ln.runID == "" {
		d += " without run_id or prev: a log written before exectrail had start records, or one whose start record was removed"
	}
	return &Problem{Line: 1, Seq: ln.seq, Kind: NoStart, Detail: d}
}

// seqProblem explains why line i does not have seq want: records missing
// (want is nowhere after), reordered (it comes later), or a seq repeated.
func (v *verifier) seqProblem(i int, want int64) *Problem {
	ln := v.lines[i]
	n := i + 1
	if ln.seq < want {
		return &Problem{Line: n, Seq: ln.seq, Kind: Reordered, Detail: fmt.Sprintf("seq %d comes after seq %d: reordered or repeated", ln.seq, v.lines[i-1].seq)}
	}
	for j := i + 1; j < len(v.lines); j++ {
		if v.lines[j].hasSeq && v.lines[j].seq == want {
			return &Problem{Line: n, Seq: ln.seq, Kind: Reordered, Detail: fmt.Sprintf("seq %d should be here, but comes later, at line %d", want, j+1)}
		}
	}
	what := fmt.Sprintf("seq %d is", want)
	if ln.seq-want > 1 {
		what = fmt.Sprintf("seq %d to %d are", want, ln.seq-1)
	}
	after := "before it"
	if i > 0 {
		after = fmt.Sprintf("between line %d and line %d", i, n)
	}
	return &Problem{Line: n, Seq: ln.seq, Kind: Missing, Detail: fmt.Sprintf("%s not in the log (%s)", what, after)}
}

func (v *verifier) checkEnd(denied uint64) *Problem {
	e := v.end
	p := func(kind, format string, args ...any) *Problem {
		return &Problem{Line: e.line, Seq: int64(e.line), Kind: kind, Detail: fmt.Sprintf(format, args...)}
	}
	if len(e.chain) != chainHexBytes {
		return p(Edited, "the end record has no chain hash")
	}
	if e.chain != e.chainAtEnd {
		if v.text {
			return p(Edited, "the chain over lines 1 to %d does not match the end record's: a line was changed, or lines were inserted or removed without a gap in seq (text lines carry no per-line hash, so which cannot be told)", e.line-1)
		}
		return p(Edited, "the end record's chain does not match the lines before it")
	}
	if !e.hasCounts {
		return p(CountsDiffer, "the end record has no counts")
	}
	for k, n := range e.counts {
		if v.res.Counts[k] != n {
			return p(CountsDiffer, "the end record counts %s, the log has %d", plural(n, k+" record"), v.res.Counts[k])
		}
	}
	for k, n := range v.res.Counts {
		if _, ok := e.counts[k]; !ok && n > 0 {
			return p(CountsDiffer, "the log has %s, the end record counts none", plural(n, k+" record"))
		}
	}
	nums := e.nums
	for _, k := range endNums {
		if _, ok := nums[k]; !ok {
			return p(CountsDiffer, "the end record has no %s", k)
		}
	}
	if nums[record.FieldDenied] != denied {
		return p(CountsDiffer, "the end record counts %d denied, the log has %d", nums[record.FieldDenied], denied)
	}
	recv, ans, gone := nums[record.FieldCallsReceived], nums[record.FieldCallsAnswered], nums[record.FieldCallsGone]
	rec, unrec, atEv, unw := nums[record.FieldCallsRecorded], nums[record.FieldCallsUnrecorded], nums[record.FieldRecordsAtEvents], nums[record.FieldRecordsUnwritten]
	switch {
	case recv != ans+gone:
		return p(CountsDiffer, "calls_received %d is not calls_answered %d + calls_gone %d", recv, ans, gone)
	case ans != rec+unrec+unw:
		return p(CountsDiffer, "calls_answered %d is not calls_recorded %d + calls_unrecorded %d + records_unwritten %d", ans, rec, unrec, unw)
	case rec+atEv != v.res.Counts[record.EventExec]+v.res.Counts[record.EventFork]:
		return p(CountsDiffer, "calls_recorded %d + records_at_events %d is not the %d exec and fork records", rec, atEv, v.res.Counts[record.EventExec]+v.res.Counts[record.EventFork])
	case unw != 0:
		return p(CountsDiffer, "%d records could not be written", unw)
	}
	v.res.KeyID = e.keyID
	v.res.Signed = e.sig != ""
	if v.opt.Key == nil {
		return nil
	}
	if !v.res.Signed {
		return p(NotSigned, "the end record carries no signature")
	}
	if id := chain.KeyID(v.opt.Key); e.keyID != id {
		return p(WrongKey, "signed by key %s, and --key is key %s", e.keyID, id)
	}
	msg, sig, err := v.unsigned(e)
	if err != nil {
		return p(BadSignature, "%v", err)
	}
	if !ed25519.Verify(v.opt.Key, chain.SignedMessage(msg), sig) {
		return p(BadSignature, "the signature of key %s does not verify: the end record was changed after it was signed", e.keyID)
	}
	v.res.SigChecked = true
	return nil
}

// unsigned splits the end line into what was signed and the signature.
func (v *verifier) unsigned(e *endRecord) ([]byte, []byte, error) {
	b := e.raw
	sep, tail := []byte(`,"`+record.FieldSig+`":"`), []byte("\"}\n")
	if v.text {
		sep, tail = []byte("  "+record.FieldSig+"="), []byte("\n")
	}
	i := bytes.LastIndex(b, sep)
	if i < 0 || !bytes.HasSuffix(b, tail) || i+len(sep) > len(b)-len(tail) {
		return nil, nil, errors.New("the signature is not where exectrail writes it (the last field)")
	}
	sigHex := string(b[i+len(sep) : len(b)-len(tail)])
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != ed25519.SignatureSize || hex.EncodeToString(sig) != sigHex {
		// Lower-case only, as written: any other spelling of the same
		// bytes is a change to the log.
		return nil, nil, errors.New("the signature is not 64 bytes of lower-case hex")
	}
	msg := append([]byte(nil), b[:i]...)
	if v.text {
		msg = append(msg, '\n')
	} else {
		msg = append(msg, "}\n"...)
	}
	return msg, sig, nil
}
