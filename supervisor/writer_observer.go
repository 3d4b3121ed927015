package supervisor

import "github.com/exectrail/exectrail/supervisor/record"

// AddObserver adds f, to be called with every record right after it was
// written, under the Writer's lock: f sees records in seq order, with the
// time they were written with, and an exec's record before its program
// runs. f must not call the Writer, and it cannot fail a Write. A failed
// write calls nothing. exectrail run --record puts each exec on the
// session's timeline this way, and --report keeps a JSON copy (AppendJSON)
// to summarise the job. Call it before the first Write.
func (w *Writer) AddObserver(f func(*record.Record)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.observers = append(w.observers, f)
}
