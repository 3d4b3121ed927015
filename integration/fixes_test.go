package integration

// Regressions of bugs found by review (issue 13), each where no topic file
// fits better.

import (
	"testing"
)

// A path through a magic link the job may not follow: /proc/1/root is
// pid 1's root, and following it needs ptrace access to pid 1, which
// nobody lacks. The kernel fails the exec with EACCES at that component,
// and the record must say so (a shadowed err in the component walk once
// let it go on with fd -1 and predict EBADF).
func TestUnprivilegedMagicLinkDenied(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	const p = "/proc/1/root/usr/bin/true"
	r := runTrail(t, Opts{Cred: nobody, Timeout: waitTimeout}, "sh", "-c", "exec "+p+" 2>/dev/null")
	noPanic(t, r.Stderr)
	if r.ExitCode == 0 {
		t.Fatalf("exit 0: the exec of %s as nobody must fail; records:\n%s", p, dump(r.Records))
	}
	var found bool
	for _, e := range r.Execs() {
		if len(e.Argv) == 0 || e.Argv[0] != p {
			continue
		}
		found = true
		if e.Error != "EACCES" {
			t.Errorf("error %q, want EACCES (the kernel's answer at /proc/1/root):\n%s", e.Error, dump([]Record{e}))
		}
	}
	if !found {
		t.Fatalf("no exec record of %s:\n%s", p, dump(r.Records))
	}
}
