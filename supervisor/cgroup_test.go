package supervisor

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/exectrail/exectrail/procfs"
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
		idOf    string // the directory whose inode is the cgroup_id; "" for none
		want    Record // the cgroup fields only
		noMount bool
	}{
		{
			name: "docker scope", cgroup: "0::" + docker + "\n", dirs: []string{docker}, idOf: docker,
			want: Record{Cgroup: docker, ContainerID: testCtr, ContainerRuntime: "docker"},
		},
		{
			name: "kubepods pod, containerd", cgroup: "0::" + kube + "\n", dirs: []string{kube}, idOf: kube,
			want: Record{Cgroup: kube, ContainerID: testCtr, ContainerRuntime: "containerd", PodUID: testPod},
		},
		{
			name: "root", cgroup: "0::/\n", idOf: "/",
			want: Record{Cgroup: "/"},
		},
		{
			name: "hybrid: the container only in a v1 line", cgroup: "4:memory:/\n1:name=systemd:/docker/" + testCtr + "\n0::/\n", idOf: "/",
			want: Record{Cgroup: "/", CgroupV1: "/docker/" + testCtr, CgroupV1Controllers: "name=systemd",
				ContainerID: testCtr, ContainerRuntime: "docker"},
		},
		{
			name: "v1 only: no cgroup, no id", cgroup: "1:name=systemd:/docker/" + testCtr + "\n",
			want: Record{CgroupV1: "/docker/" + testCtr, CgroupV1Controllers: "name=systemd", ContainerID: testCtr, ContainerRuntime: "docker"},
		},
		{
			name: "cgroup gone: path, no id", cgroup: "0::" + docker + "\n",
			want: Record{Cgroup: docker, ContainerID: testCtr, ContainerRuntime: "docker"},
		},
		{
			name: "no cgroup2 mount: path, no id", cgroup: "0::" + docker + "\n", dirs: []string{docker}, noMount: true,
			want: Record{Cgroup: docker, ContainerID: testCtr, ContainerRuntime: "docker"},
		},
		{
			// "/.." leads out of the mount: the directory there (the
			// fixture's parent) must not be taken for the cgroup.
			name: "outside the cgroup namespace: no id", cgroup: "0::/..\n",
			want: Record{Cgroup: "/.."},
		},
		{
			name: "outside, with a container", cgroup: "0::/../docker/" + testCtr + "\n", dirs: []string{"/docker/" + testCtr},
			want: Record{Cgroup: "/../docker/" + testCtr, ContainerID: testCtr, ContainerRuntime: "docker"},
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
			var r Record
			h.fillCgroup(task, &r)
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
	var r Record
	h.fillNamespaces(task, &r)
	if r.PidNS != 4026532281 || r.MntNS != 4026532279 {
		t.Errorf("pidns %d mntns %d", r.PidNS, r.MntNS)
	}
	h, task = cgroupFixture(t, "0::/\n", map[string]string{"pid": "garbage"})
	r = Record{}
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
	var r Record
	h.fillCgroup(task, &r)
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
