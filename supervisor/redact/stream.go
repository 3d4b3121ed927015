package redact

// MaxHold bounds what a Stream holds back: past it, the held bytes are
// judged as they are (a secret longer than this, cut by the end of a
// chunk, is masked only up to the cut).
const MaxHold = 64 << 10

// Stream masks secrets in a byte stream that arrives in chunks, such as a
// terminal session's output: a secret cut between two chunks is still
// found. Bytes that could be the start of a secret (a prefix of a token,
// an Authorization header whose line has not ended, the first bytes of a
// secret value) are held back until a later chunk or Flush decides. A
// Stream is not safe for concurrent use.
type Stream struct {
	r     *Redactor
	buf   []byte // held bytes, then the new chunk
	out   []byte
	spans []span
	prot  []span
}

// NewStream returns a Stream.
func (r *Redactor) NewStream() *Stream { return &Stream{r: r} }

// Write takes the next chunk and returns what may be written now, masked.
// The result is valid until the next call.
func (s *Stream) Write(p []byte) []byte {
	s.buf = append(s.buf, p...)
	return s.emit(false)
}

// Flush returns everything held, masked: the stream has ended (or is cut
// here). The result is valid until the next call.
func (s *Stream) Flush() []byte { return s.emit(true) }

// Held is the number of bytes held back.
func (s *Stream) Held() int { return len(s.buf) }

func (s *Stream) emit(final bool) []byte {
	spans, prot, hold := s.r.scan(s.buf, final, s.spans[:0], s.prot[:0])
	if !final && len(s.buf)-hold > MaxHold {
		spans, prot, hold = s.r.scan(s.buf, true, spans[:0], prot[:0])
	}
	if final {
		hold = len(s.buf)
	}
	// A secret found whole may still reach into the held part: hold it
	// back whole.
	for changed := true; changed; {
		changed = false
		for _, sp := range spans {
			if sp.start < hold && sp.end > hold {
				hold = sp.start
				changed = true
			}
		}
	}
	keep := spans[:0]
	for _, sp := range spans {
		if sp.end <= hold {
			keep = append(keep, sp)
		}
	}
	s.spans, s.prot = keep, prot
	s.out = s.r.apply(s.out[:0], s.buf[:hold], keep, prot)
	n := copy(s.buf, s.buf[hold:])
	s.buf = s.buf[:n]
	return s.out
}
