package supervisor

import "io"

// SetCopy makes w write every record a second time, to out, as one JSON
// line whatever w's format, right after the record is on the output (so
// with the same seq and in the same order). exectrail run --report keeps
// such a copy to summarise the job when it ends.
//
// The copy is not part of the record contract: an error writing it does
// not fail Write, refuse an exec or stop the job; it stops the copy and
// CopyErr returns it. Call SetCopy before the first Write.
func (w *Writer) SetCopy(out io.Writer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.copy = out
}

// CopyErr returns the error that stopped the copy, if any.
func (w *Writer) CopyErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.copyErr
}

// writeCopy writes r to the copy. It runs under w.mu after r was written
// from w.buf, which it may reuse.
func (w *Writer) writeCopy(r *Record) {
	if w.copy == nil || w.copyErr != nil {
		return
	}
	if w.format != FormatJSON {
		w.buf.b = w.buf.b[:0]
		w.appendJSON(r)
	}
	if err := writeAll(w.copy, w.buf.b); err != nil {
		w.copyErr = err
	}
}
