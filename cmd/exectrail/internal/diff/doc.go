// Package diff compares two exectrail record logs by what ran, not by
// pids or times: programs that appear or are gone, new edges (parent
// program → child program) with the chain of ancestors that makes them
// understandable, new failed and refused execs, and counts that changed
// by more than a factor. It writes the result as text, markdown (for a CI
// step summary) or JSON.
//
// It reads logs through package runlog (and so cmd/exectrail/internal/report) and
// keeps per log one entry per distinct program, edge and failure, plus
// one example, with its ancestors, of each new thing: memory follows the
// variety of a job, not its length. It must not import package
// supervisor (cgo).
package diff
