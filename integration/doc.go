// Package integration holds the end-to-end tests: they build bin/exectrail
// once, run it on real programs (shell, C helpers compiled at test time, Go
// programs) and check the records field by field.
//
// The tests need Linux with seccomp user notification (5.19+ for
// WAIT_KILLABLE_RECV), gcc, and for some of them root. Where a requirement
// is missing a test skips and says why — except under CI (CI=true), where a
// skip is a failure: every test must run there.
//
// The suite runs once per backend (EXECTRAIL_BACKEND=notify, then ptrace:
// the Makefile's integration target); a test runs with the backend under
// test (the harness's backend) unless it names one itself, so one test
// covers both backends, and a backend's own behaviour is an assertion
// that depends on backend, not a copy of the test.
//
// What tests share lives in the harness, without file prefixes:
// harness_test.go (the binary, runTrail and the records' invariants, C
// helpers, processes, cgroups, programs and files) and
// harness_tty_test.go (terminals and --record sessions). A helper used by
// one test file stays in that file.
//
// No test here loads a seccomp filter into the test process itself; every
// filter lives in an exectrail child.
package integration
