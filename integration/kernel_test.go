package integration

import (
	"bufio"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// Kernel features. The suite runs on this machine's kernel and, through
// `make test-kernels`, on older ones (README, Kernels). A test that
// depends on a kernel feature says which one; where exectrail has a
// fallback, the test checks the fallback's records on an older kernel —
// the same as with the feature, except for fields the README says are
// absent there.

// TestCgroupIDOutsideNamespace: exectrail runs in a cgroup namespace
// whose root is cgroup A, and the job is moved to A's sibling B, outside
// that namespace, before it execs. The exec record's cgroup is "/../B"
// (relative to exectrail's namespace, as /proc/PID/cgroup says). Its
// cgroup_id, which no directory under exectrail's cgroup2 mount gives,
// is B's id from PIDFD_GET_INFO (Linux 6.13); on older kernels it is
// absent, everything else the same.
func TestCgroupIDOutsideNamespace(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		skipf(t, "needs unshare (util-linux)")
	}
	mnt := cgroup2MountOf(t)
	self := ownCgroup(t, "")
	tok := randHex(t, 8)
	a, b := path.Join(self, "exectrail-ns-"+tok+"-a"), path.Join(self, "exectrail-ns-"+tok+"-b")
	makeCgroup(t, mnt, self, a, tok)
	makeCgroup(t, mnt, self, b, tok)
	probeMove(t, mnt, self, a)
	probeMove(t, mnt, self, b)

	// The outer shell moves itself into A; unshare -C makes A the root of
	// a new cgroup namespace for exectrail. The job says its pid and waits
	// until the test has moved it into B (a process inside the namespace
	// may not move itself out of it).
	out := filepath.Join(t.TempDir(), "records.jsonl")
	cmd := exec.Command("sh", "-c",
		`echo $$ > "$1" && exec unshare -C "$2" run -o "$3" --format json --backend "$4" -- sh -c 'echo $$; read x; exec /usr/bin/true'`,
		"sh", procsFile(mnt, a), exectrail, out, backend)
	stdin, stdout, stderr := startPipes(t, cmd)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("reading the job's pid: %v; stderr: %s", err, stderr.String())
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid, err := strconv.Atoi(line[:len(line)-1])
	if err != nil {
		t.Fatalf("job said %q, want its pid", line)
	}
	if err := os.WriteFile(procsFile(mnt, b), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatalf("moving the job to %s: %v", b, err)
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exectrail: %v; stderr: %s", err, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := parseRecords(t, data)
	var job, tru []Record
	for _, r := range recs {
		if r.Event == "exec" && r.PID == pid {
			if r.Executable == "/usr/bin/true" {
				tru = append(tru, r)
			} else {
				job = append(job, r)
			}
		}
	}
	if len(job) != 1 || len(tru) != 1 {
		t.Fatalf("want one exec record of the job's sh and one of /usr/bin/true by pid %d:\n%s", pid, dump(recs))
	}
	if job[0].Cgroup != "/" {
		t.Errorf("the job's exec: cgroup %q, want / (the root of exectrail's cgroup namespace):\n%s", job[0].Cgroup, dump(job))
	}
	wantExec(t, tru[0], "/usr/bin/true", "/usr/bin/true", "")
	if want := "/../" + path.Base(b); tru[0].Cgroup != want {
		t.Errorf("exec after the move: cgroup %q, want %q:\n%s", tru[0].Cgroup, want, dump(tru))
	}
	fi, err := os.Stat(filepath.Join(mnt, b))
	if err != nil {
		t.Fatal(err)
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	if kernelHas(t, 6, 13, "PIDFD_GET_INFO") {
		if tru[0].CgroupID != ino {
			t.Errorf("exec after the move: cgroup_id %d, want %d (the id of %s, from PIDFD_GET_INFO):\n%s", tru[0].CgroupID, ino, b, dump(tru))
		}
	} else if tru[0].Has("cgroup_id") {
		t.Errorf("exec after the move: cgroup_id %d, want none (nothing names the cgroup's id without PIDFD_GET_INFO):\n%s", tru[0].CgroupID, dump(tru))
	}
	for _, f := range []string{"container_id", "container_runtime", "pod_uid", "error"} {
		if tru[0].Has(f) {
			t.Errorf("exec after the move has %s:\n%s", f, dump(tru))
		}
	}
}
