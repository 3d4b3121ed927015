package procfs

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	hex64b    = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
	podUScore = "0b2c6a1e_8f3d_4c5b_9a7e_1d2f3a4b5c6d" // podUID as the systemd driver spells it
	staticPod = "8b4ec5a1d8c71f1d2cb3a2ef4e7b9c1e"     // a static pod's UID: a hash
)

// hybridV1 is the v1 part of /proc/PID/cgroup on a hybrid host for a
// process whose v1 cgroups are all p.
func hybridV1(p string) string {
	return "12:pids:" + p + "\n11:memory:" + p + "\n4:cpu,cpuacct:" + p + "\n1:name=systemd:" + p + "\n"
}

// TestCgroupAttribution runs real-world /proc/PID/cgroup contents through
// the parser and the attribution.
func TestCgroupAttribution(t *testing.T) {
	for _, c := range []struct {
		name string
		data string
		v2   string // a v2-only file: data is "0::V2\n", want.V2Path V2
		want CgroupInfo
	}{
		// v2, systemd cgroup driver
		{
			name: "v2, docker, systemd driver",
			v2:   "/system.slice/docker-" + hex64 + ".scope",
			want: CgroupInfo{Container: Container{ID: hex64, Runtime: RuntimeDocker}},
		},
		{
			name: "v2, kubepods burstable, containerd",
			v2:   "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUScore + ".slice/cri-containerd-" + hex64 + ".scope",
			want: CgroupInfo{Container: Container{ID: hex64, Runtime: RuntimeContainerd, PodUID: podUID}},
		},
		{
			name: "v2, kubepods besteffort, cri-o",
			v2:   "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podUScore + ".slice/crio-" + hex64 + ".scope",
			want: CgroupInfo{Container: Container{ID: hex64, Runtime: RuntimeCRIO, PodUID: podUID}},
		},
		{
			name: "v2, kubepods guaranteed (no qos slice), cri-o",
			v2:   "/kubepods.slice/kubepods-pod" + podUScore + ".slice/crio-" + hex64 + ".scope",
			want: CgroupInfo{Container: Container{ID: hex64, Runtime: RuntimeCRIO, PodUID: podUID}},
		},
		{
			name: "v2, cri-o's conmon: the pod, but no container",
			v2:   "/kubepods.slice/kubepods-pod" + podUScore + ".slice/crio-conmon-" + hex64 + ".scope",
			want: CgroupInfo{Container: Container{PodUID: podUID}},
		},
		{
			name: "v2, static pod (hash uid), containerd",
			v2:   "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + staticPod + ".slice/cri-containerd-" + hex64b + ".scope",
			want: CgroupInfo{Container: Container{ID: hex64b, Runtime: RuntimeContainerd, PodUID: staticPod}},
		},
		{
			name: "v2, kind node (kubelet cgroup root /kubelet)",
			v2:   "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + podUScore + ".slice/cri-containerd-" + hex64 + ".scope",
			want: CgroupInfo{Container: Container{ID: hex64, Runtime: RuntimeContainerd, PodUID: podUID}},
		},
		{
			name: "v2, kubepods, dockershim",
			v2:   "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podUScore + ".slice/docker-" + hex64 + ".scope",
			want: CgroupInfo{Container: Container{ID: hex64, Runtime: RuntimeDocker, PodUID: podUID}},
		},
		{
			name: "v2, podman, systemd",
			v2:   "/machine.slice/libpod-" + hex64 + ".scope",
			want: CgroupInfo{Container: Container{ID: hex64, Runtime: RuntimePodman}},
		},
		{
			name: "v2, podman, container sub-cgroup",
			v2:   "/machine.slice/libpod-" + hex64 + ".scope/container",
			want: CgroupInfo{Container: Container{ID: hex64, Runtime: RuntimePodman}},
		},
		{
			name: "v2, rootless podman",
			v2:   "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + hex64 + ".scope",
			want: CgroupInfo{Container: Container{ID: hex64, Runtime: RuntimePodman}},
		},
		{
			name: "v2, podman's conmon is not the container",
			v2:   "/machine.slice/libpod-conmon-" + hex64 + ".scope",
			want: CgroupInfo{},
		},
		// v2, cgroupfs driver
		{
			name: "v2, docker, cgroupfs driver",
			v2:   "/docker/" + hex64,
			want: CgroupInfo{Container: Container{ID: hex64, Runtime: RuntimeDocker}},
		},
		{
			name: "v2, kubepods cgroupfs driver",
			v2:   "/kubepods/besteffort/pod" + podUID + "/" + hex64,
			want: CgroupInfo{Container: Container{ID: hex64, PodUID: podUID}},
		},
		{
			name: "v2, kubepods cgroupfs driver, guaranteed",
			v2:   "/kubepods/pod" + podUID + "/" + hex64,
			want: CgroupInfo{Container: Container{ID: hex64, PodUID: podUID}},
		},
		{
			name: "v2, kubepods cgroupfs driver, cri-o",
			v2:   "/kubepods/burstable/pod" + podUID + "/crio-" + hex64,
			want: CgroupInfo{Container: Container{ID: hex64, Runtime: RuntimeCRIO, PodUID: podUID}},
		},
		{
			name: "v2, kubepods cgroupfs driver, the pod cgroup itself",
			v2:   "/kubepods/burstable/pod" + podUID,
			want: CgroupInfo{Container: Container{PodUID: podUID}},
		},
		{
			name: "v2, docker in docker: the inner container",
			v2:   "/docker/" + hex64 + "/docker/" + hex64b,
			want: CgroupInfo{Container: Container{ID: hex64b, Runtime: RuntimeDocker}},
		},
		// cgroup namespaces
		{
			name: "inside a container's cgroup namespace",
			v2:   "/",
			want: CgroupInfo{},
		},
		{
			name: "another container's process, seen from a cgroup namespace",
			v2:   "/../docker-" + hex64b + ".scope",
			want: CgroupInfo{Container: Container{ID: hex64b, Runtime: RuntimeDocker}},
		},
		{
			name: "outside the cgroup namespace, unnamed",
			v2:   "/../..",
			want: CgroupInfo{},
		},
		// not containers
		{
			name: "systemd service",
			v2:   "/system.slice/docker.service",
			want: CgroupInfo{},
		},
		{
			name: "user session",
			v2:   "/user.slice/user-1000.slice/session-2.scope",
			want: CgroupInfo{},
		},
		{
			name: "this machine: a sandbox id in a v1 line is not a container",
			data: "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/8866a20cbf1096f11e5ebc09698c846a\n0::/\n",
			want: CgroupInfo{V2Path: "/", HasV2: true},
		},
		{
			name: "id too short",
			v2:   "/system.slice/docker-" + hex64[:63] + ".scope",
			want: CgroupInfo{},
		},
		{
			name: "upper-case id",
			v2:   "/docker/" + strings.ToUpper(hex64),
			want: CgroupInfo{},
		},
		{
			name: "bare id under an unknown parent",
			v2:   "/custom/" + hex64,
			want: CgroupInfo{},
		},
		{
			name: "pod<uid> without a kubepods ancestor",
			v2:   "/pods/pod" + podUID + "/" + hex64,
			want: CgroupInfo{},
		},
		{
			name: "pod slice without kubepods",
			v2:   "/kubelet.slice/foo-pod" + podUScore + ".slice",
			want: CgroupInfo{},
		},
		{
			name: "pod uid of the wrong shape",
			v2:   "/kubepods.slice/kubepods-pod" + podUScore[:35] + ".slice",
			want: CgroupInfo{},
		},
		{
			name: "suffix after the id",
			v2:   "/system.slice/docker-" + hex64 + ".scopex",
			want: CgroupInfo{},
		},
		// v1 and hybrid
		{
			name: "v1 only, docker cgroupfs driver",
			data: hybridV1("/docker/" + hex64),
			want: CgroupInfo{V1Path: "/docker/" + hex64, V1Controllers: "name=systemd", Container: Container{ID: hex64, Runtime: RuntimeDocker}},
		},
		{
			name: "v1 only, kubepods systemd driver, containerd",
			data: hybridV1("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUScore + ".slice/cri-containerd-" + hex64 + ".scope"),
			want: CgroupInfo{V1Path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUScore + ".slice/cri-containerd-" + hex64 + ".scope",
				V1Controllers: "name=systemd", Container: Container{ID: hex64, Runtime: RuntimeContainerd, PodUID: podUID}},
		},
		{
			name: "v1 only, kubepods cgroupfs driver",
			data: hybridV1("/kubepods/besteffort/pod" + podUID + "/" + hex64),
			want: CgroupInfo{V1Path: "/kubepods/besteffort/pod" + podUID + "/" + hex64, V1Controllers: "name=systemd",
				Container: Container{ID: hex64, PodUID: podUID}},
		},
		{
			name: "hybrid, v2 is / and the container is only in v1 lines",
			data: hybridV1("/docker/"+hex64) + "0::/\n",
			want: CgroupInfo{V2Path: "/", HasV2: true, V1Path: "/docker/" + hex64, V1Controllers: "name=systemd",
				Container: Container{ID: hex64, Runtime: RuntimeDocker}},
		},
		{
			name: "hybrid, v2 is a service and the container is in v1 lines",
			data: hybridV1("/docker/"+hex64) + "0::/system.slice/containerd.service\n",
			want: CgroupInfo{V2Path: "/system.slice/containerd.service", HasV2: true, V1Path: "/docker/" + hex64, V1Controllers: "name=systemd",
				Container: Container{ID: hex64, Runtime: RuntimeDocker}},
		},
		{
			name: "hybrid, systemd driver: v2 names the container, no v1 path recorded",
			data: hybridV1("/system.slice/docker-"+hex64+".scope") + "0::/system.slice/docker-" + hex64 + ".scope\n",
			want: CgroupInfo{V2Path: "/system.slice/docker-" + hex64 + ".scope", HasV2: true, Container: Container{ID: hex64, Runtime: RuntimeDocker}},
		},
		{
			name: "hybrid, only one controller names it: that line, and which",
			data: "9:name=systemd:/\n4:memory:/docker/" + hex64 + "\n0::/\n",
			want: CgroupInfo{V2Path: "/", HasV2: true, V1Path: "/docker/" + hex64, V1Controllers: "memory",
				Container: Container{ID: hex64, Runtime: RuntimeDocker}},
		},
		{
			name: "hybrid, name=systemd preferred over an earlier line",
			data: "4:memory:/docker/" + hex64b + "\n1:name=systemd:/docker/" + hex64 + "\n0::/\n",
			want: CgroupInfo{V2Path: "/", HasV2: true, V1Path: "/docker/" + hex64, V1Controllers: "name=systemd",
				Container: Container{ID: hex64, Runtime: RuntimeDocker}},
		},
		{
			name: "empty",
			data: "",
			want: CgroupInfo{},
		},
	} {
		if c.v2 != "" {
			c.data, c.want.V2Path, c.want.HasV2 = "0::"+c.v2+"\n", c.v2, true
		}
		t.Run(c.name, func(t *testing.T) {
			lines, err := ParseCgroup([]byte(c.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := CgroupAttribution(lines); got != c.want {
				t.Errorf("CgroupAttribution =\n  %+v\nwant\n  %+v", got, c.want)
			}
		})
	}
}

func TestNormalisePodUID(t *testing.T) {
	for in, want := range map[string]string{
		podUID:                                 podUID,
		podUScore:                              podUID,
		staticPod:                              staticPod,
		"0b2c6a1e_8f3d-4c5b_9a7e-1d2f3a4b5c6d": podUID, // mixed: still one UID
	} {
		if got, ok := normalisePodUID(in); !ok || got != want {
			t.Errorf("normalisePodUID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{
		"", "x", podUID[:35], podUID + "0", strings.ToUpper(podUID), staticPod[:31], staticPod + "0",
		"0b2c6a1e.8f3d-4c5b-9a7e-1d2f3a4b5c6d", "0b2c6a1e-8f3d-4c5b-9a7e_1d2f3a4b5c6-", "0b2c6a1e8-f3d-4c5b-9a7e-1d2f3a4b5c6d",
	} {
		if got, ok := normalisePodUID(in); ok {
			t.Errorf("normalisePodUID(%q) = %q, accepted", in, got)
		}
	}
}

func TestParseNSLink(t *testing.T) {
	for _, c := range []struct {
		link string
		typ  string
		ino  uint64
	}{
		{"pid:[4026531836]", "pid", 4026531836},
		{"mnt:[4026531832]", "mnt", 4026531832},
		{"pid_for_children:[4026532281]", "pid_for_children", 4026532281},
		{"x:[18446744073709551615]", "x", 1<<64 - 1},
	} {
		typ, ino, err := ParseNSLink(c.link)
		if err != nil || typ != c.typ || ino != c.ino {
			t.Errorf("ParseNSLink(%q) = %q, %d, %v", c.link, typ, ino, err)
		}
	}
	for _, link := range []string{
		"", "pid", "pid:", "pid:[", "pid:[]", "pid:[x]", "pid:[12", "pid:12]", ":[12]", "pid:[0]",
		"pid:[+12]", "pid:[-12]", "pid:[ 12]", "pid:[12 ]", "pid:[18446744073709551616]", "pid:[12]x", "/proc/1/ns/pid",
	} {
		if typ, ino, err := ParseNSLink(link); err == nil {
			t.Errorf("ParseNSLink(%q) = %q, %d, accepted", link, typ, ino)
		}
	}
}

// TestNamespaceInodeSelf checks the answer against the kernel: the
// namespace's inode is what stat(2) of the link's target shows.
func TestNamespaceInodeSelf(t *testing.T) {
	task, err := OpenTask("/proc", os.Getpid())
	if err != nil {
		t.Skip(err)
	}
	defer task.Close()
	for _, ns := range []string{"pid", "mnt"} {
		ino, err := NamespaceInode(task, ns)
		if err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Stat("/proc/self/ns/"+ns, &st); err != nil {
			t.Fatal(err)
		}
		if st.Ino != ino {
			t.Errorf("ns/%s: inode %d, stat says %d", ns, ino, st.Ino)
		}
	}
	if _, err := NamespaceInode(task, "nosuch"); err == nil {
		t.Error("NamespaceInode(nosuch) succeeded")
	}
}

// TestNamespaceInodeFixture reads links of a fixture proc tree, including
// one whose type does not match its name.
func TestNamespaceInodeFixture(t *testing.T) {
	root := t.TempDir()
	must0(os.MkdirAll(root+"/77/ns", 0o755))
	must0(os.Symlink("pid:[4026532281]", root+"/77/ns/pid"))
	must0(os.Symlink("net:[4026531840]", root+"/77/ns/mnt"))
	task := openTask(t, root, 77)
	if ino, err := NamespaceInode(task, "pid"); err != nil || ino != 4026532281 {
		t.Errorf("pid: %d, %v", ino, err)
	}
	if ino, err := NamespaceInode(task, "mnt"); err == nil {
		t.Errorf("mnt link of type net accepted: %d", ino)
	}
}

func FuzzCgroupAttribution(f *testing.F) {
	f.Add([]byte("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUScore + ".slice/cri-containerd-" + hex64 + ".scope\n"))
	f.Add([]byte(hybridV1("/docker/"+hex64) + "0::/\n"))
	f.Add([]byte("0::/kubepods/besteffort/pod" + podUID + "/" + hex64 + "\n"))
	f.Add([]byte("0::/machine.slice/libpod-" + hex64 + ".scope/container\n1:name=systemd:/../kubepods/pod" + staticPod + "\n"))
	f.Add([]byte("0::/../docker/" + hex64 + "/docker/" + hex64b + "\n4:memory:/crio-" + hex64 + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseCgroup(data)
		if err != nil {
			return
		}
		info := CgroupAttribution(lines)
		u, hasV2 := UnifiedPath(lines)
		if info.HasV2 != hasV2 || info.V2Path != u {
			t.Fatalf("v2 path %q, %v; UnifiedPath says %q, %v", info.V2Path, info.HasV2, u, hasV2)
		}
		checkContainer(t, info.Container)
		switch {
		case info.V1Path != "" || info.V1Controllers != "":
			if !info.Found() {
				t.Fatalf("v1 path %q recorded although it names nothing", info.V1Path)
			}
			if hasV2 && ContainerFromPath(u).Found() {
				t.Fatalf("v1 path %q recorded although the v2 path %q names a container", info.V1Path, u)
			}
			if ContainerFromPath(info.V1Path) != info.Container {
				t.Fatalf("container %+v is not what v1 path %q names", info.Container, info.V1Path)
			}
			if !bytes.Contains(data, []byte(info.V1Controllers+":"+info.V1Path)) {
				t.Fatalf("v1 line %q:%q not in input", info.V1Controllers, info.V1Path)
			}
		case info.Found():
			if !hasV2 || ContainerFromPath(u) != info.Container {
				t.Fatalf("container %+v is not what v2 path %q names", info.Container, u)
			}
		}
		for _, l := range lines {
			checkContainer(t, ContainerFromPath(l.Path))
		}
	})
}

// checkContainer checks the invariants of any Container: the fields have
// their documented shapes.
func checkContainer(t *testing.T, c Container) {
	t.Helper()
	if c.ID != "" && !isHexID(c.ID, 64) {
		t.Fatalf("container id %q", c.ID)
	}
	switch c.Runtime {
	case "", RuntimeDocker, RuntimeContainerd, RuntimeCRIO, RuntimePodman:
	default:
		t.Fatalf("runtime %q", c.Runtime)
	}
	if c.Runtime != "" && c.ID == "" {
		t.Fatalf("runtime %q without an id", c.Runtime)
	}
	if c.PodUID != "" {
		if u, ok := normalisePodUID(c.PodUID); !ok || u != c.PodUID || strings.Contains(c.PodUID, "_") {
			t.Fatalf("pod uid %q", c.PodUID)
		}
	}
}

func FuzzContainerFromPath(f *testing.F) {
	f.Add("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUScore + ".slice/cri-containerd-" + hex64 + ".scope")
	f.Add("/kubepods/burstable/pod" + podUID + "/" + hex64)
	f.Add("/docker/" + hex64)
	f.Add("/kubelet.slice/kubelet-kubepods-pod" + staticPod + ".slice/crio-" + hex64b)
	f.Fuzz(func(t *testing.T, path string) {
		c := ContainerFromPath(path)
		checkContainer(t, c)
		if c.ID != "" && !strings.Contains(path, c.ID) {
			t.Fatalf("id %q not in %q", c.ID, path)
		}
		if c.PodUID != "" && !strings.Contains(strings.ReplaceAll(path, "_", "-"), c.PodUID) {
			t.Fatalf("pod uid %q not in %q", c.PodUID, path)
		}
		// A cgroup namespace's "/../.." in front changes nothing.
		if strings.HasPrefix(path, "/") {
			if got := ContainerFromPath("/../.." + path); got != c {
				t.Fatalf("prefix /../.. changed %+v to %+v for %q", c, got, path)
			}
		}
	})
}

func FuzzParseNSLink(f *testing.F) {
	f.Add("pid:[4026531836]")
	f.Add("mnt:[0]")
	f.Add("a:[b]:[1]")
	f.Fuzz(func(t *testing.T, link string) {
		typ, ino, err := ParseNSLink(link)
		if err != nil {
			return
		}
		if ino == 0 || typ == "" || !strings.HasPrefix(link, typ+":[") || !strings.HasSuffix(link, strconv.FormatUint(ino, 10)+"]") {
			t.Fatalf("ParseNSLink(%q) = %q, %d", link, typ, ino)
		}
	})
}

// BenchmarkCgroupAttribution is the per-exec parsing cost on a hybrid host
// whose v2 line names nothing (every v1 line is then tried).
func BenchmarkCgroupAttribution(b *testing.B) {
	data := []byte("9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n" +
		"4:memory:/process_api/8866a20cbf1096f11e5ebc09698c846a\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n")
	b.ReportAllocs()
	for b.Loop() {
		lines, err := ParseCgroup(data)
		if err != nil {
			b.Fatal(err)
		}
		_ = CgroupAttribution(lines)
	}
}
