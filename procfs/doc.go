// Package procfs reads everything exectrail learns about a tracee: /proc
// files (status, cgroup, mountinfo, cwd, root, fds), the tracee's memory
// (the exec path and argv), and the resolution of an exec's pathname to the
// absolute, canonical executable the kernel will run.
//
// Every function takes the proc root (normally "/proc") or an already
// opened task, so tests can point the parsers at fixture trees. Parsers are
// written for hostile input: task names with spaces and parentheses,
// missing or truncated lines, non-UTF-8 bytes. They return errors, never
// panic, and are fuzzed.
//
// This package must not write anything or keep state across calls: pids
// are reused, so every answer is read fresh from the task it was asked for.
package procfs
