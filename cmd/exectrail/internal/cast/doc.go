// Package cast writes and reads asciicast v2 files: a terminal session as
// one JSON header line followed by one JSON array per event,
// [time, type, data], with time in seconds since the header's timestamp.
//
// exectrail writes "o" (output), "i" (input, only when asked), "r"
// (resize, "COLSxROWS") and "m" (marker) events; a marker stands for one
// exec record and its data is a short label ("exec /usr/bin/git status").
//
// The writer keeps a session's file well formed whatever the job prints:
// output is cut into events on UTF-8 boundaries (an incomplete sequence at
// the end of a read waits for the next read), bytes that are not UTF-8
// become U+FFFD as asciinema does, every event is one write(2) of a reused
// buffer so memory does not grow with the output, and event times never
// go backwards.
//
// It must not import package supervisor or anything that needs cgo: the
// report command reads cast files wherever they are copied, and its
// package keeps to the standard library (and package record, whose JSON
// string quoting it shares). It must not buffer events across
// calls: what was written survives exectrail being killed.
package cast
