// Package cli is the voice of the exectrail command: the one form of every
// error, warning, note and diagnostic line it writes, the parsing of a
// subcommand's flags (--help, a bad flag), and every exit status, written
// down at the top of cli.go.
//
// Every subcommand, and every package under cmd/exectrail that speaks to
// the user, says what it says through a Voice and exits with a status
// from here; none writes "exectrail: ..." by hand.
//
// It must not import package supervisor or anything that needs cgo
// (exectrail verify reads logs wherever they are copied to), nor hold
// state: a Voice is a value.
package cli
