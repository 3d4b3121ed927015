// Package runlog reads exectrail record logs for the commands that compare
// or learn from runs (exectrail diff, exectrail policy learn): it opens a
// log (a file, "-" for standard input, gzip-compressed or not), normalises
// version-bearing paths (--normalize REGEX=REPLACEMENT), and walks the
// execs of a log as programs and edges — which program started which —
// with the chain of ancestors of each.
//
// It reads through cmd/exectrail/internal/report, the one reader of the JSON-lines
// format, and so tolerates what that reader tolerates: lines that are not
// records, a truncated last line, record kinds it does not know (a log's
// start and end records among them). It must not import package
// supervisor (cgo) and keeps no record, only one small entry per process.
package runlog
