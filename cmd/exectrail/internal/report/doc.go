// Package report reads an exectrail record log (JSON lines) and tells a
// person what the job did: the process tree, a summary (counts, top
// executables, longest processes, failed and denied execs), a Chrome Trace
// Event timeline for ui.perfetto.dev and chrome://tracing, and a markdown
// digest for CI step summaries.
//
// It is built for logs of every size and state: it streams the log line by
// line with its own decoder for the flat record objects, keeps one small
// entry per process (argv capped, executables and directories interned) so memory
// grows with the number of processes and not with the file, and reads a
// log that is still being written, truncated, or interleaved with other
// output. Lines that are not records are counted and named by line number;
// only a log with no record at all is an error.
//
// It must not invent what a log does not say. The notify backend records
// no child pid for forks and no exit for most processes: the tree is then
// built from the ppid of exec records, and unknown exits and durations are
// shown as unknown, never guessed.
//
// It must not import package supervisor or anything else that needs cgo
// (supervisor links libseccomp through package filter), nor anything
// outside the standard library but package record (supervisor/record,
// itself standard-library only), whose field names it reads: a report has
// to run anywhere a log can be copied to.
package report
