package session

// The session's observer of records: a marker for every exec record.

import (
	"unicode/utf8"

	"github.com/exectrail/exectrail/supervisor"
	"github.com/exectrail/exectrail/supervisor/record"
)

// Observe makes every exec record w writes a marker in the cast. Call it
// before the first Write.
func (s *Session) Observe(w *supervisor.Writer) {
	if s != nil {
		w.AddObserver(s.onRecord)
	}
}

// onRecord runs under the Writer's lock, the exec held.
func (s *Session) onRecord(rec *record.Record) {
	if rec.Event != record.EventExec {
		return
	}
	s.outMu.Lock()
	defer s.outMu.Unlock()
	// Everything the job wrote before this exec goes before its marker.
	budget := markDrainMax
	for _, src := range s.srcs {
		for budget > 0 && !src.eof {
			n := s.readOnce(src, rec.Time)
			if n <= 0 {
				break
			}
			budget -= n
		}
	}
	s.castWrote(s.cast.Mark(rec.Time, markerLabel(rec)))
}

// markerLabel is the data of an exec's marker: "exec EXECUTABLE ARGS…",
// with the error or the refusal, at most markerMax bytes.
func markerLabel(rec *record.Record) string {
	const markerMax = 256
	b := []byte("exec ")
	exe := rec.Executable
	if exe == "" {
		exe = string(rec.Path)
	}
	b = appendShellWord(b, []byte(exe))
	if len(rec.Argv) > 1 {
		for _, a := range rec.Argv[1:] {
			if len(b) > markerMax {
				break
			}
			b = append(b, ' ')
			b = appendShellWord(b, a)
		}
	}
	switch {
	case rec.Action == "deny":
		b = append(b, " [denied]"...)
	case rec.Error != "":
		b = append(b, " ["+rec.Error+"]"...)
	}
	if len(b) > markerMax {
		cut := markerMax
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		b = append(b[:cut], "…"...)
	}
	return string(b)
}
