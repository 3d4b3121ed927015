package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Container attribution (issue 5). The kernel knows no containers: a
// runtime puts each container in a cgroup whose path names it. These tests
// make cgroups named as docker and the kubelet + containerd name theirs,
// run a job whose shell moves itself into each and then execs, and check
// that each exec record names the cgroup the process was in at that exec.

// TestCgroupContainerAttribution: a docker scope, then a kubepods pod with
// a cri-containerd scope, under the cgroup2 mount.
func TestCgroupContainerAttribution(t *testing.T) {
	requireRoot(t)
	mnt := cgroup2MountOf(t)
	self := ownCgroup(t, "")
	dockerID, ctrID, pod := randHex(t, 32), randHex(t, 32), randUUID(t)
	docker := "/system.slice/docker-" + dockerID + ".scope"
	kube := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
		strings.ReplaceAll(pod, "-", "_") + ".slice/cri-containerd-" + ctrID + ".scope"
	makeCgroup(t, mnt, self, docker, dockerID)
	makeCgroup(t, mnt, self, kube, ctrID, strings.ReplaceAll(pod, "-", "_"))
	probeMove(t, mnt, self, docker)
	probeMove(t, mnt, self, kube)

	r, trues := trueThenMove(t, procsFile(mnt, docker), procsFile(mnt, kube), procsFile(mnt, self))
	pidns, mntns := ownNamespace(t, "pid"), ownNamespace(t, "mnt")
	for _, rec := range append([]Record{r.Execs()[0]}, trues...) {
		if rec.PidNS != pidns || rec.MntNS != mntns {
			t.Errorf("pidns %d mntns %d, want the test's own %d %d:\n%s", rec.PidNS, rec.MntNS, pidns, mntns, dump([]Record{rec}))
		}
	}

	// The command itself and the first true ran where the test runs.
	for _, rec := range []Record{r.Execs()[0], trues[0]} {
		wantCgroup(t, rec, mnt, self)
		for _, f := range []string{"container_id", "container_runtime", "pod_uid", "cgroup_v1", "cgroup_v1_controllers"} {
			if rec.Has(f) {
				t.Errorf("%s before the move:\n%s", f, dump([]Record{rec}))
			}
		}
	}

	wantCgroup(t, trues[1], mnt, docker)
	if trues[1].ContainerID != dockerID || trues[1].ContainerRuntime != "docker" || trues[1].Has("pod_uid") || trues[1].Has("cgroup_v1") {
		t.Errorf("in the docker scope: want container_id %s, container_runtime docker, no pod_uid, no cgroup_v1:\n%s",
			dockerID, dump(trues[1:2]))
	}

	wantCgroup(t, trues[2], mnt, kube)
	if trues[2].ContainerID != ctrID || trues[2].ContainerRuntime != "containerd" || trues[2].PodUID != pod || trues[2].Has("cgroup_v1") {
		t.Errorf("in the pod's cri-containerd scope: want container_id %s, container_runtime containerd, pod_uid %s, no cgroup_v1:\n%s",
			ctrID, pod, dump(trues[2:3]))
	}
}

// TestCgroupV1HybridContainer: on a hybrid host the container may be named
// only in a v1 hierarchy while the v2 line is the test's own ("/" here).
// The record keeps the v2 path and id in cgroup/cgroup_id, and adds the
// v1 path and its hierarchy. The named hierarchy name=systemd is used: it
// has no controllers, so moving a process there changes nothing else.
func TestCgroupV1HybridContainer(t *testing.T) {
	requireRoot(t)
	v1 := cgroupV1MountOf(t, "name=systemd")
	mnt := cgroup2MountOf(t)
	self2 := ownCgroup(t, "")
	self1 := ownCgroup(t, "name=systemd")
	id := randHex(t, 32)
	docker := "/docker/" + id
	makeCgroup(t, v1, self1, docker, id)
	probeMove(t, v1, self1, docker)

	_, trues := trueThenMove(t, procsFile(v1, docker), procsFile(v1, self1))
	wantCgroup(t, trues[0], mnt, self2)
	if trues[0].Has("container_id") || trues[0].Has("cgroup_v1") {
		t.Errorf("container fields before the move:\n%s", dump(trues[:1]))
	}
	wantCgroup(t, trues[1], mnt, self2)
	if trues[1].CgroupV1 != docker || trues[1].CgroupV1Controllers != "name=systemd" ||
		trues[1].ContainerID != id || trues[1].ContainerRuntime != "docker" || trues[1].Has("pod_uid") {
		t.Errorf("want cgroup_v1 %s from name=systemd, container_id %s, container_runtime docker:\n%s", docker, id, dump(trues[1:]))
	}
}

// wantCgroup checks that rec was in the v2 cgroup path: its cgroup field,
// and its cgroup_id equal to the inode of the cgroup's directory.
func wantCgroup(t *testing.T, rec Record, mnt, path string) {
	t.Helper()
	fi, err := os.Stat(filepath.Join(mnt, path))
	if err != nil {
		t.Fatal(err)
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	if rec.Cgroup != path || rec.CgroupID != ino {
		t.Errorf("cgroup %q cgroup_id %d, want %q and the inode of %s, %d:\n%s",
			rec.Cgroup, rec.CgroupID, path, filepath.Join(mnt, path), ino, dump([]Record{rec}))
	}
}

func cgroupV1MountOf(t *testing.T, hierarchy string) string {
	t.Helper()
	m := mountinfoFind(t, "cgroup", hierarchy)
	if m == "" {
		skipf(t, "no cgroup v1 hierarchy %s mounted (not a hybrid host)", hierarchy)
	}
	return m
}

// ownNamespace is the inode number of the test's own namespace, from the
// link /proc/self/ns/NAME ("pid:[4026531836]").
func ownNamespace(t *testing.T, name string) uint64 {
	t.Helper()
	link, err := os.Readlink("/proc/self/ns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, name+":["), "]"), 10, 64)
	if err != nil {
		t.Fatalf("ns link %q: %v", link, err)
	}
	return n
}

func randUUID(t *testing.T) string {
	h := randHex(t, 16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// trueThenMove runs a job whose shell, for each of procs in turn, runs
// /usr/bin/true and then moves itself into that cgroup.procs file. It
// wants exit 0 (the shell could move itself) and one exec record of true
// per move, and returns the run and those records.
func trueThenMove(t *testing.T, procs ...string) (*Run, []Record) {
	t.Helper()
	script := "set -e"
	for _, p := range procs {
		script += "; /usr/bin/true; echo $$ > " + p
	}
	r := runTrail(t, Opts{}, "sh", "-c", script)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d: the shell could not move itself\nstderr: %s\n%s", r.ExitCode, r.Stderr, dump(r.Records))
	}
	trues := r.ExecsOf("/usr/bin/true")
	if len(trues) != len(procs) {
		t.Fatalf("%d exec records of /usr/bin/true, want %d:\n%s", len(trues), len(procs), dump(r.Records))
	}
	return r, trues
}
