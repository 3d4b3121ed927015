package integration

import (
	"os"
	"testing"
)

// The classic example from the README: a relative exec after cd.
func TestClassicRelativeExecAfterCd(t *testing.T) {
	r := runTrail(t, Opts{}, "sh", "-c", "cd /bin && ./ls >/dev/null")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %s", r.ExitCode, r.Stderr)
	}
	execs := r.Execs()
	if len(execs) != 2 {
		t.Fatalf("want 2 exec records (sh, ls), got %d:\n%s", len(execs), dump(r.Records))
	}
	sh, ls := execs[0], execs[1]
	if sh.Argv[0] != "sh" || sh.Error != "" {
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
	if ls.UID == nil || *ls.UID != os.Getuid() {
		t.Errorf("uid %v, want %d", ls.UID, os.Getuid())
	}
	if ls.Cgroup == "" {
		t.Errorf("cgroup missing:\n%s", dump([]Record{ls}))
	}
	if len(r.Events("fork")) == 0 {
		t.Errorf("the shell forked for ls, but there is no fork record:\n%s", dump(r.Records))
	}
}
