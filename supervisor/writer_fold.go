package supervisor

import (
	"bytes"
	"fmt"
	"path"

	"github.com/exectrail/exectrail/supervisor/record"
)

// pathFold folds, in the text format, a run of PATH misses into the exec
// they lead to. A PATH search (execvp, a shell) tries each directory in
// turn: every miss is a failed exec record (ENOENT, or ENOTDIR) by the same
// process with the same argv and a path of the same base name. When the
// run ends in a successful exec of that name, its line says
// "(N PATH misses)" instead of N lines of misses before it. The misses are
// held until the next record decides: it either continues the run, ends
// it with the exec (folded), or is anything else, which prints the held
// lines first, as they were. Output order and seq order stay one.
//
// Only the text format folds (the one people read live), and only when
// asked (exectrail run without -v): JSON keeps every attempt.
type pathFold struct {
	pid   int
	key   string
	lines [][]byte
}

// FoldPathMisses turns on the folding of PATH misses (text format only;
// JSON writers ignore it). Call it before the first Write.
func (w *Writer) FoldPathMisses() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.format == FormatText {
		w.fold = &pathFold{}
	}
}

// Flush writes the text lines held by FoldPathMisses. Call it when no more
// records come.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil || w.fold == nil {
		// (After a failed write, already reported, nothing more can be.)
		return nil
	}
	return w.writeHeld(nil)
}

// pathMiss reports whether r is an exec that failed for want of the file
// at a path with a directory (a PATH probe), with its run key.
func pathMiss(r *record.Record) (string, bool) {
	if r.Event != record.EventExec || (r.Error != "ENOENT" && r.Error != "ENOTDIR") || r.Action != "" || r.PathUnknown ||
		!bytes.Contains(r.Path, []byte("/")) {
		return "", false
	}
	return foldKey(r), true
}

// foldKey is what a run's records share: the base name and the argv.
func foldKey(r *record.Record) string {
	var b []byte
	b = append(b, path.Base(string(r.Path))...)
	for _, a := range r.Argv {
		b = append(b, 0)
		b = append(b, a...)
	}
	if r.ArgvTruncated {
		b = append(b, 0, 1)
	}
	return string(b)
}

// continues reports whether r continues the held run: another miss of
// it, or the exec it leads to.
func (f *pathFold) continues(r *record.Record) bool {
	return len(f.lines) > 0 && r.PID == f.pid && r.Event == record.EventExec && !r.PathUnknown && foldKey(r) == f.key &&
		(r.Error == "" && r.Action == "" || isMiss(r))
}

func isMiss(r *record.Record) bool { _, miss := pathMiss(r); return miss }

// take is given the text line of r, which continues the held run or
// follows none (writeHeld has written what it does not continue), and
// returns what to write for r: nothing while r is held, the line with its
// note when r ends a run, else the line.
func (f *pathFold) take(r *record.Record, line []byte) []byte {
	if key, miss := pathMiss(r); miss {
		if len(f.lines) == 0 {
			f.pid, f.key = r.PID, key
		}
		f.lines = append(f.lines, bytes.Clone(line))
		return nil
	}
	if n := len(f.lines); n > 0 {
		f.lines = f.lines[:0]
		note := fmt.Sprintf("  (%d PATH misses)\n", n)
		if n == 1 {
			note = "  (1 PATH miss)\n"
		}
		return append(line[:len(line)-1], note...)
	}
	return line
}

// writeHeld writes the held lines, one write and one link of the chain
// each, unless r continues their run.
func (w *Writer) writeHeld(r *record.Record) error {
	f := w.fold
	if len(f.lines) == 0 || (r != nil && f.continues(r)) {
		return nil
	}
	for _, l := range f.lines {
		if err := writeAll(w.out, l); err != nil {
			w.err = fmt.Errorf("%w: %w", ErrOutput, err)
			return w.err
		}
		if w.trail != nil {
			w.trail.chain.Add(l) // trail.go: the chain is over the lines as written
		}
	}
	f.lines = f.lines[:0]
	return nil
}
