package supervisor

// SetObserver sets f to be called with every record right after it was
// written, under the Writer's lock: f sees records in seq order, with the
// time they were written with, and an exec's record before its program
// runs. f must not call the Writer. A failed write calls nothing.
// exectrail run --record uses it to put each exec on the session's
// timeline.
func (w *Writer) SetObserver(f func(*Record)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.observe = f
}
