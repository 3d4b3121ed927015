package integration

import (
	"os"
	"testing"
)

// The classic example from the README: a relative exec after cd.
func TestClassicRelativeExecAfterCd(t *testing.T) {
	runClassic(t, Opts{}, os.Getuid())
}

// The classic example, run by an unprivileged user.
func TestUnprivilegedClassic(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	runClassic(t, Opts{Cred: nobody, Timeout: waitTimeout}, 65534)
}

// runClassic runs the classic example, sh -c "cd /bin && ./ls", with o
// and checks its records field by field: two execs, sh's own and ls's,
// both of uid; ls resolved to /usr/bin/ls, with argv [./ls], cwd
// /usr/bin, sh as its parent, a cgroup, neither error nor interpreter;
// and the shell's fork.
func runClassic(t *testing.T, o Opts, uid int) {
	t.Helper()
	r := runTrail(t, o, "sh", "-c", "cd /bin && ./ls >/dev/null")
	noPanic(t, r.Stderr)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %s", r.ExitCode, r.Stderr)
	}
	execs := r.Execs()
	if len(execs) != 2 {
		t.Fatalf("want 2 exec records (sh, ls), got %d:\n%s", len(execs), dump(r.Records))
	}
	sh, ls := execs[0], execs[1]
	if len(sh.Argv) == 0 || sh.Argv[0] != "sh" || sh.Error != "" {
		t.Errorf("first exec should be the command itself:\n%s", dump([]Record{sh}))
	}
	wantExec(t, ls, "./ls", "/usr/bin/ls", "/usr/bin")
	if len(ls.Argv) != 1 || ls.Argv[0] != "./ls" {
		t.Errorf("argv %q, want [./ls]", ls.Argv)
	}
	if ls.Error != "" || ls.Has("error") || ls.Has("interpreter") {
		t.Errorf("successful ELF exec must carry neither error nor interpreter:\n%s", dump([]Record{ls}))
	}
	if ls.PPID != sh.PID {
		t.Errorf("ls ppid %d, want sh's pid %d", ls.PPID, sh.PID)
	}
	for _, e := range execs {
		if e.UID == nil || *e.UID != uid {
			t.Errorf("uid %v, want %d:\n%s", e.UID, uid, dump([]Record{e}))
		}
	}
	if ls.Cgroup == "" {
		t.Errorf("cgroup missing:\n%s", dump([]Record{ls}))
	}
	if len(r.Events("fork")) == 0 {
		t.Errorf("the shell forked for ls, but there is no fork record:\n%s", dump(r.Records))
	}
}
