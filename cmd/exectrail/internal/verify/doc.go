// Package verify checks an exectrail log (exectrail verify): that every
// line is a record, seq runs 1, 2, 3… from the start record, the hash
// chain is intact, the end record is there, last, and its counts match
// the records, and — given the public key — that the end record's
// signature verifies. It names the first line that breaks any of that,
// and how.
//
// It reads JSON logs fully and text logs (--format text) as far as their
// form allows: seq, the event column, the start and end lines, the
// whole-log chain and the signature, but not which line an edit is in
// (text lines carry no prev).
//
// It must not import package supervisor or anything else that needs cgo:
// a log has to be verifiable anywhere it can be copied to. The checker
// uses only the standard library, package chain and package record (the
// field names it reads); the command is cmd/exectrail/verify.go.
package verify
