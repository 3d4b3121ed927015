// Package integration holds the end-to-end tests: they build bin/exectrail
// once, run it on real programs (shell, C helpers compiled at test time, Go
// programs) and check the records field by field.
//
// The tests need Linux with seccomp user notification (5.19+ for
// WAIT_KILLABLE_RECV), gcc, and for some of them root. Where a requirement
// is missing a test skips and says why — except under CI (CI=true), where a
// skip is a failure: every test must run there.
//
// No test here loads a seccomp filter into the test process itself; every
// filter lives in an exectrail child.
package integration
