package integration

// The harness's cgroups: the cgroup2 mount, the test's own cgroup, and
// cgroups made (and removed) for one test under it.

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func cgroup2MountOf(t *testing.T) string {
	t.Helper()
	m := mountinfoFind(t, "cgroup2", "")
	if m == "" {
		skipf(t, "no cgroup2 mount in /proc/self/mountinfo")
	}
	return m
}

// makeCgroup creates the cgroup path under mnt, with the parents that do
// not exist yet, and removes what it created when the test ends, innermost
// first. A component holding one of the test's own random tokens is the
// test's alone and must be removed; other parents it created
// (system.slice, kubepods.slice) may meanwhile be used by a concurrent
// run, so failing to remove them is only logged. Processes still in the
// test's cgroups at the end (there should be none: exectrail has reaped
// the whole job) are moved back to self first.
func makeCgroup(t *testing.T, mnt, self, path string, tokens ...string) {
	t.Helper()
	var created []string
	dir := mnt
	for _, c := range strings.Split(strings.Trim(path, "/"), "/") {
		dir = filepath.Join(dir, c)
		err := os.Mkdir(dir, 0o755)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			removeCgroups(t, mnt, self, created, tokens)
			t.Fatalf("creating cgroup %s: %v", dir, err)
		}
		created = append(created, dir)
	}
	t.Cleanup(func() { removeCgroups(t, mnt, self, created, tokens) })
}

// ownCgroup returns the test's own cgroup path in the hierarchy whose
// controllers field is controllers ("" for v2). A path outside the
// test's cgroup namespace cannot be written to: skip.
func ownCgroup(t *testing.T, controllers string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		_, rest, _ := strings.Cut(line, ":")
		ctl, path, ok := strings.Cut(rest, ":")
		if !ok || ctl != controllers {
			continue
		}
		if strings.Contains(path, "..") {
			skipf(t, "the test's cgroup %q is outside its cgroup namespace", path)
		}
		return path
	}
	skipf(t, "the test is in no cgroup of hierarchy %q:\n%s", controllers, b)
	return ""
}

// probeMove moves a helper process into cgroup and back before the job
// does the same, so that a host that refuses it fails with the reason:
// cgroup v2 allows no processes in a non-root cgroup with controllers
// enabled in its cgroup.subtree_control (EBUSY), nor in a threaded or
// invalid one (EOPNOTSUPP); v1 has no such rule.
func probeMove(t *testing.T, mnt, self, cgroup string) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	pid := []byte(strconv.Itoa(cmd.Process.Pid))
	if err := os.WriteFile(procsFile(mnt, cgroup), pid, 0); err != nil {
		dir := filepath.Join(mnt, cgroup)
		typ, _ := os.ReadFile(filepath.Join(dir, "cgroup.type"))
		sub, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
		t.Fatalf("moving a process into %s: %v (cgroup.type %q, cgroup.subtree_control %q)",
			dir, err, strings.TrimSpace(string(typ)), strings.TrimSpace(string(sub)))
	}
	if err := os.WriteFile(procsFile(mnt, self), pid, 0); err != nil {
		t.Fatalf("moving the helper back to %s: %v", filepath.Join(mnt, self), err)
	}
}

func procsFile(mnt, cgroup string) string {
	return filepath.Join(mnt, cgroup, "cgroup.procs")
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// mountinfoFind returns the mount point of the first mount of a
// hierarchy's root ("/") whose file system type is fstype and whose super
// options include opt ("" for any).
func mountinfoFind(t *testing.T, fstype, opt string) string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		// id parent major:minor root mountpoint … - fstype source superopts
		fields, after := strings.Fields(pre), strings.Fields(post)
		if len(after) < 3 || after[0] != fstype || len(fields) < 5 || fields[3] != "/" {
			continue
		}
		if opt != "" && !strings.Contains(","+after[2]+",", ","+opt+",") {
			continue
		}
		if strings.Contains(fields[4], `\`) {
			skipf(t, "%s mount point %q has escaped characters", fstype, fields[4])
		}
		return fields[4]
	}
	return ""
}

func removeCgroups(t *testing.T, mnt, self string, created, tokens []string) {
	for i := len(created) - 1; i >= 0; i-- {
		dir := created[i]
		own := false
		for _, tok := range tokens {
			own = own || strings.Contains(filepath.Base(dir), tok)
		}
		if own {
			if b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
				for _, pid := range strings.Fields(string(b)) {
					t.Errorf("process %s still in %s at the end of the test; moving it out", pid, dir)
					_ = os.WriteFile(procsFile(mnt, self), []byte(pid), 0)
				}
			}
		}
		err := os.Remove(dir)
		// A process that has just exited can keep its cgroup busy
		// until the kernel has released it.
		for deadline := time.Now().Add(2 * time.Second); errors.Is(err, syscall.EBUSY) && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			err = os.Remove(dir)
		}
		switch {
		case err == nil:
		case own:
			t.Errorf("removing cgroup %s: %v", dir, err)
		default:
			t.Logf("leaving shared parent cgroup %s: %v", dir, err)
		}
	}
}
