package supervisor

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor/record"
)

// cgroupFixture is a fake proc root holding one task with the given
// cgroup file and ns links, and a fake cgroup2 mount with the given
// directories.
func cgroupFixture(t *testing.T, cgroup string, ns map[string]string, dirs ...string) (*Handler, *procfs.Task) {
	t.Helper()
	proc, mnt := t.TempDir(), t.TempDir()
	const pid = 4242
	pdir := filepath.Join(proc, strconv.Itoa(pid))
	if err := os.MkdirAll(pdir+"/ns", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pdir+"/cgroup", []byte(cgroup), 0o444); err != nil {
		t.Fatal(err)
	}
	for name, target := range ns {
		if err := os.Symlink(target, pdir+"/ns/"+name); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(mnt+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	task, err := procfs.OpenTask(proc, pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close() })
	return &Handler{Cgroup2Mount: mnt}, task
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestFillCgroup(t *testing.T) {
	docker := "/system.slice/docker-" + testCtr + ".scope"
	kube := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
		strings.ReplaceAll(testPod, "-", "_") + ".slice/cri-containerd-" + testCtr + ".scope"
	for _, c := range []struct {
		name    string
		cgroup  string
		dirs    []string
		idOf    string        // the directory whose inode is the cgroup_id; "" for none
		want    record.Record // the cgroup fields only
		noMount bool
	}{
		{
			name: "docker scope", cgroup: "0::" + docker + "\n", dirs: []string{docker}, idOf: docker,
			want: record.Record{Cgroup: docker, ContainerID: testCtr, ContainerRuntime: "docker"},
		},
		{
			name: "kubepods pod, containerd", cgroup: "0::" + kube + "\n", dirs: []string{kube}, idOf: kube,
			want: record.Record{Cgroup: kube, ContainerID: testCtr, ContainerRuntime: "containerd", PodUID: testPod},
		},
		{
			name: "root", cgroup: "0::/\n", idOf: "/",
			want: record.Record{Cgroup: "/"},
		},
		{
			name: "hybrid: the container only in a v1 line", cgroup: "4:memory:/\n1:name=systemd:/docker/" + testCtr + "\n0::/\n", idOf: "/",
			want: record.Record{Cgroup: "/", CgroupV1: "/docker/" + testCtr, CgroupV1Controllers: "name=systemd",
				ContainerID: testCtr, ContainerRuntime: "docker"},
		},
		{
			name: "v1 only: no cgroup, no id", cgroup: "1:name=systemd:/docker/" + testCtr + "\n",
			want: record.Record{CgroupV1: "/docker/" + testCtr, CgroupV1Controllers: "name=systemd", ContainerID: testCtr, ContainerRuntime: "docker"},
		},
		{
			name: "cgroup gone: path, no id", cgroup: "0::" + docker + "\n",
			want: record.Record{Cgroup: docker, ContainerID: testCtr, ContainerRuntime: "docker"},
		},
		{
			name: "no cgroup2 mount: path, no id", cgroup: "0::" + docker + "\n", dirs: []string{docker}, noMount: true,
			want: record.Record{Cgroup: docker, ContainerID: testCtr, ContainerRuntime: "docker"},
		},
		{
			// "/.." leads out of the mount: the directory there (the
			// fixture's parent) must not be taken for the cgroup.
			name: "outside the cgroup namespace: no id", cgroup: "0::/..\n",
			want: record.Record{Cgroup: "/.."},
		},
		{
			name: "outside, with a container", cgroup: "0::/../docker/" + testCtr + "\n", dirs: []string{"/docker/" + testCtr},
			want: record.Record{Cgroup: "/../docker/" + testCtr, ContainerID: testCtr, ContainerRuntime: "docker"},
		},
		{
			name: "unparsable file: nothing", cgroup: "garbage\n0::/\n",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, task := cgroupFixture(t, c.cgroup, nil, c.dirs...)
			mnt := h.Cgroup2Mount
			if c.noMount {
				h.Cgroup2Mount = ""
			}
			want := c.want
			if c.idOf != "" {
				want.CgroupID = inode(t, mnt+c.idOf)
			}
			var r record.Record
			h.fillCgroup(task, &r, 0)
			if r.Cgroup != want.Cgroup || r.CgroupID != want.CgroupID || r.CgroupV1 != want.CgroupV1 ||
				r.CgroupV1Controllers != want.CgroupV1Controllers || r.ContainerID != want.ContainerID ||
				r.ContainerRuntime != want.ContainerRuntime || r.PodUID != want.PodUID {
				t.Errorf("fillCgroup =\n  %+v\nwant\n  %+v", r, want)
			}
		})
	}
}

func TestFillNamespaces(t *testing.T) {
	h, task := cgroupFixture(t, "0::/\n", map[string]string{"pid": "pid:[4026532281]", "mnt": "mnt:[4026532279]"})
	var r record.Record
	h.fillNamespaces(task, &r)
	if r.PidNS != 4026532281 || r.MntNS != 4026532279 {
		t.Errorf("pidns %d mntns %d", r.PidNS, r.MntNS)
	}
	h, task = cgroupFixture(t, "0::/\n", map[string]string{"pid": "garbage"})
	r = record.Record{}
	h.fillNamespaces(task, &r)
	if r.PidNS != 0 || r.MntNS != 0 {
		t.Errorf("unreadable links gave pidns %d mntns %d", r.PidNS, r.MntNS)
	}
}

// TestFillSelf reads this process's own cgroup and namespaces through a
// Handler set up as exectrail sets it up, and checks them against the
// kernel.
func TestFillSelf(t *testing.T) {
	h := NewHandler("/proc")
	task, err := procfs.OpenTask("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	var r record.Record
	h.fillCgroup(task, &r, 0)
	h.fillNamespaces(task, &r)
	if r.PidNS != inode(t, "/proc/self/ns/pid") || r.MntNS != inode(t, "/proc/self/ns/mnt") {
		t.Errorf("pidns %d mntns %d, want the inodes of /proc/self/ns/{pid,mnt}", r.PidNS, r.MntNS)
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("\n0::")) && !bytes.HasPrefix(b, []byte("0::")) {
		if r.Cgroup != "" || r.CgroupID != 0 {
			t.Errorf("no v2 line, but cgroup %q id %d", r.Cgroup, r.CgroupID)
		}
		return
	}
	if !bytes.Contains(b, []byte("0::"+r.Cgroup+"\n")) {
		t.Errorf("cgroup %q is not the 0:: line of\n%s", r.Cgroup, b)
	}
	if h.Cgroup2Mount != "" && !strings.Contains(r.Cgroup, "..") {
		if want := inode(t, h.Cgroup2Mount+r.Cgroup); r.CgroupID != want {
			t.Errorf("cgroup_id %d, want the inode of %s: %d", r.CgroupID, h.Cgroup2Mount+r.Cgroup, want)
		}
	}
}

// TestCgroupFollowsMoves moves a process between two fresh cgroups and
// fills its record after each move: the path and id must be the new ones
// every time, whether they come from the file or, on a host with no cgroup
// v1 hierarchy, from the cache of ids.
func TestCgroupFollowsMoves(t *testing.T) {
	h := NewHandler("/proc")
	if h.Cgroup2Mount == "" || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root and a cgroup2 mount under CI")
		}
		t.Skip("needs root and a cgroup2 mount")
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := procfs.ParseCgroup(self)
	if err != nil {
		t.Fatal(err)
	}
	base, ok := procfs.UnifiedPath(lines)
	if !ok || strings.Contains(base, "..") {
		t.Fatalf("the test's cgroup v2 path %q is not under the mount", base)
	}
	// Fresh cgroups under the test's own.
	parent := filepath.Join(h.Cgroup2Mount, base)
	var a, b string
	for _, d := range []*string{&a, &b} {
		dir, err := os.MkdirTemp(parent, "exectrail-test-")
		if err != nil {
			t.Fatalf("creating a cgroup: %v", err)
		}
		*d = dir
		t.Cleanup(func() { os.Remove(dir) })
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := strconv.Itoa(cmd.Process.Pid)
	move := func(dir string) {
		if err := os.WriteFile(dir+"/cgroup.procs", []byte(pid), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, dir := range []string{a, b, a, b} {
		move(dir)
		task, err := procfs.OpenTask("/proc", cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		id, err := task.Ident()
		if err != nil {
			t.Fatal(err)
		}
		// The second round moves the process after its id was read, as
		// a move racing an exec record would: the record must pair the
		// path it read with that path's id, not the stale one.
		if i >= 2 {
			other := a
			if dir == a {
				other = b
			}
			move(other)
			dir = other
		}
		var r record.Record
		h.fillCgroup(task, &r, id.CgroupID)
		task.Close()
		want := strings.TrimPrefix(dir, h.Cgroup2Mount)
		if r.Cgroup != want || r.CgroupID != inode(t, dir) {
			t.Errorf("move %d: cgroup %q id %d, want %q and %d", i, r.Cgroup, r.CgroupID, want, inode(t, dir))
		}
		for cid, info := range h.cgroups.m {
			if inode(t, h.Cgroup2Mount+info.V2Path) != cid {
				t.Errorf("move %d: the cache pairs id %d with %q", i, cid, info.V2Path)
			}
		}
	}
}

// TestCgroupCache runs the cache of ids on a fake proc root and a fake
// cgroup2 mount whose directories stand for cgroups (their inodes are the
// ids): used only while exectrail's own cgroup file shows no v1
// hierarchy, filled only with a path and the id of that very path,
// dropped when a v1 hierarchy appears.
func TestCgroupCache(t *testing.T) {
	h, task := cgroupFixture(t, "0::/a\n", nil, "/a", "/b", "/c")
	proc := task.ProcRoot
	h.Resolver.ProcRoot = proc
	idA, idB, idC := inode(t, h.Cgroup2Mount+"/a"), inode(t, h.Cgroup2Mount+"/b"), inode(t, h.Cgroup2Mount+"/c")
	if err := os.MkdirAll(proc+"/self", 0o755); err != nil {
		t.Fatal(err)
	}
	setSelf := func(s string) {
		if err := os.WriteFile(proc+"/self/cgroup", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		h.cgroups.checked = time.Time{} // recheck now
	}
	setTask := func(s string) {
		if err := os.WriteFile(proc+"/4242/cgroup", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fill := func(id uint64) (string, uint64) {
		var r record.Record
		h.fillCgroup(task, &r, id)
		return r.Cgroup, r.CgroupID
	}
	setSelf("0::/\n")
	if p, id := fill(idA); p != "/a" || id != idA {
		t.Fatalf("first fill: %q %d", p, id)
	}
	setTask("0::/b\n")
	if p, id := fill(idA); p != "/a" || id != idA {
		t.Errorf("id of /a again: %q %d, want the cached /a", p, id)
	}
	if p, id := fill(idB); p != "/b" || id != idB {
		t.Errorf("id of /b: %q %d, want /b from the file", p, id)
	}
	// The process moved to /c after its id (that of /a) was read: the
	// file's path wins, with its own id, and the cache gets /c under /c's
	// id only.
	setTask("0::/c\n")
	h.cgroups.m = nil
	if p, id := fill(idA); p != "/c" || id != idC {
		t.Errorf("moved between the reads: %q %d, want /c and %d", p, id, idC)
	}
	if info, ok := h.cgroups.m[idA]; ok {
		t.Errorf("the cache pairs /a's id with %q", info.V2Path)
	}
	if info := h.cgroups.m[idC]; info.V2Path != "/c" {
		t.Errorf("the cache has %q for /c's id", info.V2Path)
	}
	if p, id := fill(0); p != "/c" || id != idC {
		t.Errorf("unknown id: %q %d, want /c from the file", p, id)
	}
	// A v1 hierarchy appears: the file is read again for every id.
	setTask("0::/b\n")
	setSelf("1:name=x:/\n0::/\n")
	if p, _ := fill(idC); p != "/b" {
		t.Errorf("after a v1 hierarchy appeared: %q, want /b from the file", p)
	}
	// A task file with v1 lines is never cached.
	setSelf("0::/\n")
	setTask("1:name=x:/docker/" + testCtr + "\n0::/a\n")
	h.cgroups.m = nil
	fill(idA)
	if len(h.cgroups.m) != 0 {
		t.Errorf("a cgroup file with v1 lines was cached: %v", h.cgroups.m)
	}
}
