// Package procfs reads everything exectrail learns about a tracee: /proc
// files (status, cgroup, mountinfo, cwd, root, fds), its ids through a
// pidfd (PIDFD_GET_INFO), the tracee's memory (the exec path and argv), and
// the resolution of an exec's pathname to the absolute, canonical
// executable the kernel will run.
//
// Every function takes the proc root (normally "/proc") or an already
// opened task, so tests can point the parsers at fixture trees. Parsers are
// written for hostile input: task names with spaces and parentheses,
// missing or truncated lines, non-UTF-8 bytes. They return errors, never
// panic, and are fuzzed.
//
// This package must not write anything or keep state about a task across
// calls: pids are reused, so every answer is read fresh from the task it
// was asked for. The one thing remembered is about the kernel, not a task:
// whether PIDFD_GET_INFO works, probed once on exectrail's own thread.
package procfs
