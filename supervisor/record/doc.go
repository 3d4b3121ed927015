// Package record is the exec record itself: the Record type, the field
// names of its JSON lines (the contract of SPEC.md, written down once, in
// fields.go), and the small helpers every writer and reader of records
// shares.
//
// The supervisor fills Records and writes them; the log readers under
// cmd/exectrail/internal (report, verify, runlog, cast) and the tests read
// records back by these names.
//
// It must import nothing outside the standard library, and it must not
// know about backends, /proc, seccomp or zerolog: it is what a record is,
// not how one is made or where it goes.
package record
