package report

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/exectrail/exectrail/supervisor/record"
)

// rawRecord is one decoded line: the fields a report uses, with the others
// checked for JSON syntax and skipped. Byte slices point into the line or
// into buf and are valid until the next decode into the same rawRecord.
//
// A field whose value is null counts as absent, as a later duplicate key
// overrides an earlier one: the same as encoding/json into a map.
type rawRecord struct {
	seq         int64
	hasSeq      bool
	time        []byte
	event       []byte
	pid         int64
	hasPID      bool
	ppid        int64
	hasPPID     bool
	childPID    int64
	hasChildPID bool

	path        []byte
	executable  []byte
	cwd         []byte
	interpreter []byte
	argv        [][]byte
	hasArgv     bool
	argvTrunc   bool

	errName   []byte
	errDetail []byte
	action    []byte
	kind      []byte
	signal    []byte

	exitCode    int64
	hasExitCode bool
	durationMS  float64
	hasDuration bool
	verified    bool
	hasVerified bool

	// buf holds unescaped strings. It is sized to the line before
	// decoding: JSON unescaping never lengthens a string, so it never
	// grows and earlier slices into it stay valid.
	buf []byte
}

func (r *rawRecord) reset(n int) {
	argv, buf := r.argv[:0], r.buf[:0]
	if cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	*r = rawRecord{argv: argv, buf: buf}
}

// maxDepth bounds the nesting of values in fields a report skips (the
// same bound as encoding/json).
const maxDepth = 10000

// decodeError says where and why a line is not a record.
type decodeError struct {
	off int
	msg string
}

func (e *decodeError) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }

// decoder is a strict JSON decoder specialised for flat exectrail records:
// it accepts exactly the JSON texts that are one object (RFC 8259, with
// invalid UTF-8 tolerated inside strings as encoding/json does) and
// rejects the rest.
type decoder struct {
	b []byte
	i int
	r *rawRecord
}

// decodeRecord decodes one line (without its newline) into r.
func decodeRecord(line []byte, r *rawRecord) error {
	r.reset(len(line))
	d := decoder{b: line, r: r}
	d.ws()
	if !d.eat('{') {
		return d.errf("not a JSON object")
	}
	d.ws()
	if !d.eat('}') {
		for {
			d.ws()
			key, err := d.str(true)
			if err != nil {
				return err
			}
			d.ws()
			if !d.eat(':') {
				return d.errf("want : after a key")
			}
			d.ws()
			if err := d.field(key); err != nil {
				return err
			}
			d.ws()
			if d.eat(',') {
				continue
			}
			if d.eat('}') {
				break
			}
			if d.i >= len(d.b) {
				return d.errf("unexpected end of line")
			}
			return d.errf("want , or } after a value")
		}
	}
	d.ws()
	if d.i != len(d.b) {
		return d.errf("data after the object")
	}
	return nil
}

func (d *decoder) errf(format string, args ...any) error {
	return &decodeError{off: d.i, msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *decoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// null consumes a null literal if one is next.
func (d *decoder) null() (bool, error) {
	if d.peek() != 'n' {
		return false, nil
	}
	return true, d.literal("null")
}

func (d *decoder) literal(lit string) error {
	if len(d.b)-d.i < len(lit) || string(d.b[d.i:d.i+len(lit)]) != lit {
		return d.errf("invalid literal")
	}
	d.i += len(lit)
	return nil
}

// field decodes the value of key into the record, or skips it.
func (d *decoder) field(key []byte) error {
	r := d.r
	var err error
	switch string(key) {
	case record.FieldSeq:
		r.seq, r.hasSeq, err = d.intField(key)
	case record.FieldPID:
		r.pid, r.hasPID, err = d.intField(key)
	case record.FieldPPID:
		r.ppid, r.hasPPID, err = d.intField(key)
	case record.FieldChildPID:
		r.childPID, r.hasChildPID, err = d.intField(key)
	case record.FieldExitCode:
		r.exitCode, r.hasExitCode, err = d.intField(key)
	case record.FieldDurationMS:
		r.durationMS, r.hasDuration, err = d.floatField(key)
	case record.FieldTime:
		r.time, err = d.strField(key)
	case record.FieldEvent:
		r.event, err = d.strField(key)
	case record.FieldPath:
		r.path, err = d.strField(key)
	case record.FieldExecutable:
		r.executable, err = d.strField(key)
	case record.FieldCwd:
		r.cwd, err = d.strField(key)
	case record.FieldInterpreter:
		r.interpreter, err = d.strField(key)
	case record.FieldError:
		r.errName, err = d.strField(key)
	case record.FieldErrorDetail:
		r.errDetail, err = d.strField(key)
	case record.FieldAction:
		r.action, err = d.strField(key)
	case record.FieldKind:
		r.kind, err = d.strField(key)
	case record.FieldSignal:
		r.signal, err = d.strField(key)
	case record.FieldVerified:
		r.verified, r.hasVerified, err = d.boolField(key)
	case record.FieldArgvTruncated:
		r.argvTrunc, _, err = d.boolField(key)
	case record.FieldArgv:
		err = d.argvField(key)
	default:
		err = d.skip(0)
	}
	return err
}

func (d *decoder) intField(key []byte) (int64, bool, error) {
	if isNull, err := d.null(); isNull || err != nil {
		return 0, false, err
	}
	start := d.i
	isInt, err := d.number()
	if err != nil {
		return 0, false, err
	}
	if !isInt {
		return 0, false, d.errf("%s: want an integer", key)
	}
	v, ok := parseInt(d.b[start:d.i])
	if !ok {
		return 0, false, d.errf("%s: integer out of range", key)
	}
	return v, true, nil
}

func (d *decoder) floatField(key []byte) (float64, bool, error) {
	if isNull, err := d.null(); isNull || err != nil {
		return 0, false, err
	}
	start := d.i
	if _, err := d.number(); err != nil {
		return 0, false, err
	}
	v, err := strconv.ParseFloat(string(d.b[start:d.i]), 64)
	if err != nil {
		return 0, false, d.errf("%s: number out of range", key)
	}
	return v, true, nil
}

func (d *decoder) boolField(key []byte) (bool, bool, error) {
	switch d.peek() {
	case 't':
		return true, true, d.literal("true")
	case 'f':
		return false, true, d.literal("false")
	case 'n':
		return false, false, d.literal("null")
	}
	return false, false, d.errf("%s: want true or false", key)
}

func (d *decoder) strField(key []byte) ([]byte, error) {
	if isNull, err := d.null(); isNull || err != nil {
		return nil, err
	}
	if d.peek() != '"' {
		return nil, d.errf("%s: want a string", key)
	}
	return d.str(true)
}

// argvField decodes an array of strings; a null element is "", as
// encoding/json decodes it into a []string.
func (d *decoder) argvField(key []byte) error {
	r := d.r
	r.argv, r.hasArgv = r.argv[:0], false
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	if !d.eat('[') {
		return d.errf("%s: want an array of strings", key)
	}
	r.hasArgv = true
	d.ws()
	if d.eat(']') {
		return nil
	}
	for {
		d.ws()
		var s []byte
		switch d.peek() {
		case '"':
			var err error
			if s, err = d.str(true); err != nil {
				return err
			}
		case 'n':
			if err := d.literal("null"); err != nil {
				return err
			}
		default:
			return d.errf("%s: want an array of strings", key)
		}
		r.argv = append(r.argv, s)
		d.ws()
		if d.eat(',') {
			continue
		}
		if d.eat(']') {
			return nil
		}
		return d.errf("%s: want , or ] in an array", key)
	}
}

// number consumes a JSON number and says whether it is an integer (no
// fraction, no exponent).
func (d *decoder) number() (bool, error) {
	b, i := d.b, d.i
	isInt := true
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		d.i = i
		return false, d.errf("invalid number")
	}
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			d.i = i
			return false, d.errf("invalid number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			d.i = i
			return false, d.errf("invalid number")
		}
	}
	d.i = i
	return isInt, nil
}

// parseInt parses an integer already checked by number.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	var v uint64
	for _, c := range b {
		if v > (1<<63)/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(v), true // -(1<<63) wraps to itself: right
	}
	if v == 1<<63 {
		return 0, false
	}
	return int64(v), true
}

// str consumes a string. With keep it returns the unescaped bytes (a
// slice of the line when there is nothing to unescape); otherwise it only
// checks the syntax.
func (d *decoder) str(keep bool) ([]byte, error) {
	if !d.eat('"') {
		return nil, d.errf("want a string")
	}
	b := d.b
	start := d.i
	i := start
	for i < len(b) {
		c := b[i]
		if c == '"' {
			d.i = i + 1
			return b[start:i], nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			d.i = i
			return nil, d.errf("control character in a string")
		}
		i++
	}
	if i >= len(b) {
		d.i = i
		return nil, d.errf("unterminated string")
	}
	// Escapes: unescape into buf.
	r := d.r
	out := len(r.buf)
	if keep {
		r.buf = append(r.buf, b[start:i]...)
	}
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			d.i = i + 1
			if !keep {
				return nil, nil
			}
			return r.buf[out:len(r.buf):len(r.buf)], nil
		case c < 0x20:
			d.i = i
			return nil, d.errf("control character in a string")
		case c != '\\':
			if keep {
				r.buf = append(r.buf, c)
			}
			i++
			continue
		}
		// c == '\\'
		if i+1 >= len(b) {
			d.i = i
			return nil, d.errf("unterminated string")
		}
		var e byte
		switch b[i+1] {
		case '"', '\\', '/':
			e = b[i+1]
		case 'b':
			e = '\b'
		case 'f':
			e = '\f'
		case 'n':
			e = '\n'
		case 'r':
			e = '\r'
		case 't':
			e = '\t'
		case 'u':
			rn, ok := hex4(b, i+2)
			if !ok {
				d.i = i
				return nil, d.errf("invalid \\u escape")
			}
			i += 6
			if utf16.IsSurrogate(rn) {
				// A pair makes one rune; a lone half is U+FFFD, as in
				// encoding/json.
				if lo, ok := hex4(b, i+2); ok && i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
					if dec := utf16.DecodeRune(rn, lo); dec != utf8.RuneError {
						rn = dec
						i += 6
					} else {
						rn = utf8.RuneError
					}
				} else {
					rn = utf8.RuneError
				}
			}
			if keep {
				r.buf = utf8.AppendRune(r.buf, rn)
			}
			continue
		default:
			d.i = i
			return nil, d.errf("invalid escape in a string")
		}
		if keep {
			r.buf = append(r.buf, e)
		}
		i += 2
	}
	d.i = i
	return nil, d.errf("unterminated string")
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var v rune
	for _, c := range b[i : i+4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			v |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

var errTooDeep = errors.New("nested too deeply")

// skip consumes any JSON value.
func (d *decoder) skip(depth int) error {
	if depth > maxDepth {
		return &decodeError{off: d.i, msg: errTooDeep.Error()}
	}
	switch c := d.peek(); {
	case c == '"':
		_, err := d.str(false)
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := d.number()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '[':
		d.i++
		d.ws()
		if d.eat(']') {
			return nil
		}
		for {
			d.ws()
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.eat(',') {
				continue
			}
			if d.eat(']') {
				return nil
			}
			return d.errf("want , or ] in an array")
		}
	case c == '{':
		d.i++
		d.ws()
		if d.eat('}') {
			return nil
		}
		for {
			d.ws()
			if _, err := d.str(false); err != nil {
				return err
			}
			d.ws()
			if !d.eat(':') {
				return d.errf("want : after a key")
			}
			d.ws()
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.eat(',') {
				continue
			}
			if d.eat('}') {
				return nil
			}
			return d.errf("want , or } in an object")
		}
	case c == 0 && d.i >= len(d.b):
		return d.errf("unexpected end of line")
	}
	return d.errf("invalid value")
}

// text turns decoded bytes into a string the way encoding/json does:
// every byte that is not part of valid UTF-8 becomes U+FFFD.
func text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return string(out)
}
