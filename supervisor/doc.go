// Package supervisor turns trapped process syscalls into records.
//
// It holds the one record type (Record) and the one writer (Writer) that
// every backend uses, the exec handler that reads a held exec's path and
// argv and resolves them (through package procfs), and the backend loops:
// the seccomp user-notification loop lives here; the ptrace loop will sit
// beside it and share the same handler and writer.
//
// The rule this package exists to keep: a record is written to the output,
// completely, before the syscall it describes is allowed to continue. Seq
// numbers are assigned at the moment of writing, under one lock, so they
// are contiguous and in output order.
//
// It must not load seccomp filters, fork, or exec anything.
package supervisor
