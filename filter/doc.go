// Package filter builds and loads the seccomp program that exectrail puts in
// front of a job.
//
// Building and loading are separate steps. Build turns a Spec into classic
// BPF (using libseccomp to generate it) and is pure: tests run the result in
// a BPF interpreter against synthetic seccomp_data without touching the
// kernel. Load installs a built program on the calling thread (and, with
// TSYNC, every thread of the process) with a raw seccomp(2) call, because
// libseccomp 2.5 cannot set SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV.
//
// The program traps execve, execveat, fork, vfork and clone without
// CLONE_THREAD on x86_64, i386 (int $0x80) and x32, and answers clone3 with
// ENOSYS so that libc falls back to clone, whose flags BPF can see: thread
// creation is never trapped. Any other architecture is killed.
//
// This package must not be used to load a filter into a test process: tests
// load filters only in helper processes.
package filter
