package procfs

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestParseCgroup(t *testing.T) {
	for _, c := range []struct {
		name    string
		data    string
		lines   int
		unified string
		hasV2   bool
		// a v1 line to look for: hierarchy, controllers, path
		v1 *CgroupLine
	}{
		{
			name: "hybrid, like this machine",
			data: "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n" +
				"4:memory:/process_api/8866a20cbf1096f11e5ebc09698c846a\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n",
			lines: 10, unified: "/", hasV2: true,
			v1: &CgroupLine{4, "memory", "/process_api/8866a20cbf1096f11e5ebc09698c846a"},
		},
		{
			name: "v1 only, docker",
			data: "12:pids:/docker/" + hex64 + "\n11:cpu,cpuacct:/docker/" + hex64 + "\n" +
				"2:net_cls,net_prio:/docker/" + hex64 + "\n1:name=systemd:/docker/" + hex64 + "\n",
			lines: 4,
			v1:    &CgroupLine{11, "cpu,cpuacct", "/docker/" + hex64},
		},
		{
			name:  "v2 only, systemd docker scope",
			data:  "0::/system.slice/docker-" + hex64 + ".scope\n",
			lines: 1, unified: "/system.slice/docker-" + hex64 + ".scope", hasV2: true,
		},
		{
			name: "v2, kubepods systemd driver, containerd",
			data: "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
				strings.ReplaceAll(podUID, "-", "_") + ".slice/cri-containerd-" + hex64 + ".scope\n",
			lines: 1, hasV2: true,
			unified: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
				strings.ReplaceAll(podUID, "-", "_") + ".slice/cri-containerd-" + hex64 + ".scope",
		},
		{
			name:  "v2, kubepods cgroupfs driver",
			data:  "0::/kubepods/besteffort/pod" + podUID + "/" + hex64 + "\n",
			lines: 1, unified: "/kubepods/besteffort/pod" + podUID + "/" + hex64, hasV2: true,
		},
		{
			name:  "v2, cri-o",
			data:  "0::/kubepods.slice/kubepods-pod" + strings.ReplaceAll(podUID, "-", "_") + ".slice/crio-" + hex64 + ".scope\n",
			lines: 1, unified: "/kubepods.slice/kubepods-pod" + strings.ReplaceAll(podUID, "-", "_") + ".slice/crio-" + hex64 + ".scope", hasV2: true,
		},
		{
			name:  "v2, podman",
			data:  "0::/machine.slice/libpod-" + hex64 + ".scope/container\n",
			lines: 1, unified: "/machine.slice/libpod-" + hex64 + ".scope/container", hasV2: true,
		},
		{
			name:  "hybrid, container only in a v1 line",
			data:  "3:memory:/docker/" + hex64 + "\n1:name=systemd:/docker/" + hex64 + "\n0::/\n",
			lines: 3, unified: "/", hasV2: true,
			v1: &CgroupLine{3, "memory", "/docker/" + hex64},
		},
		{
			name:  "path with colons",
			data:  "0::/a:b/c::d:\n5:cpu:/x:y\n",
			lines: 2, unified: "/a:b/c::d:", hasV2: true,
			v1: &CgroupLine{5, "cpu", "/x:y"},
		},
		{
			name:  "path with spaces and non-UTF-8",
			data:  "0::/my group/\xff\xfe\n",
			lines: 1, unified: "/my group/\xff\xfe", hasV2: true,
		},
		{name: "cgroup namespace root", data: "0::/\n", lines: 1, unified: "/", hasV2: true},
		{name: "outside the cgroup namespace", data: "0::/../..\n", lines: 1, unified: "/../..", hasV2: true},
		{name: "outside, with a tail", data: "0::/../../system.slice/x.service\n", lines: 1, unified: "/../../system.slice/x.service", hasV2: true},
		{name: "empty v2 path", data: "0::\n", lines: 1, unified: "", hasV2: true},
		{name: "no trailing newline", data: "0::/a", lines: 1, unified: "/a", hasV2: true},
		{name: "blank lines", data: "\n\n0::/a\n\n", lines: 1, unified: "/a", hasV2: true},
		{name: "empty", data: "", lines: 0},
		{name: "named v1 hierarchy without controllers", data: "1:name=foo:/x\n", lines: 1,
			v1: &CgroupLine{1, "name=foo", "/x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines, err := ParseCgroup([]byte(c.data))
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != c.lines {
				t.Fatalf("%d lines, want %d: %+v", len(lines), c.lines, lines)
			}
			u, ok := UnifiedPath(lines)
			if ok != c.hasV2 || u != c.unified {
				t.Errorf("UnifiedPath = %q, %v; want %q, %v", u, ok, c.unified, c.hasV2)
			}
			if c.v1 != nil {
				found := false
				for _, l := range lines {
					if l == *c.v1 {
						found = true
					}
				}
				if !found {
					t.Errorf("no line %+v in %+v", *c.v1, lines)
				}
			}
		})
	}
}

func TestParseCgroupErrors(t *testing.T) {
	for _, data := range []string{
		"garbage\n",
		"0:/\n",
		"x::/\n",
		"::/\n",
		"-1::/\n",
		" 0::/\n",
		"99999999999999999999999::/\n",
		"0::/\ngarbage\n",
		"\x00\n",
	} {
		if lines, err := ParseCgroup([]byte(data)); err == nil {
			t.Errorf("ParseCgroup(%q) = %+v, want an error", data, lines)
		}
	}
}

func TestUnifiedPathFirstV2Line(t *testing.T) {
	lines := []CgroupLine{{1, "cpu", "/v1"}, {0, "", "/first"}, {0, "", "/second"}}
	if u, ok := UnifiedPath(lines); !ok || u != "/first" {
		t.Errorf("UnifiedPath = %q, %v", u, ok)
	}
	if u, ok := UnifiedPath([]CgroupLine{{0, "cpu", "/x"}}); ok {
		t.Errorf("hierarchy 0 with controllers taken as v2: %q", u)
	}
	if _, ok := UnifiedPath(nil); ok {
		t.Error("UnifiedPath(nil) found a path")
	}
}

func TestParseCgroupSelf(t *testing.T) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Skip(err)
	}
	lines, err := ParseCgroup(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if want := bytes.Count(bytes.TrimRight(b, "\n"), []byte{'\n'}) + 1; len(lines) != want {
		t.Errorf("%d lines, want %d", len(lines), want)
	}
	if u, ok := UnifiedPath(lines); ok && !bytes.Contains(b, []byte("0::"+u+"\n")) {
		t.Errorf("UnifiedPath %q is not a 0:: line of\n%s", u, b)
	}
}

func FuzzParseCgroup(f *testing.F) {
	f.Add([]byte("9:name=systemd:/\n4:memory:/process_api/x\n0::/\n"))
	f.Add([]byte("0::/system.slice/docker-" + hex64 + ".scope\n"))
	f.Add([]byte("0::/a:b::c\n1:cpu,cpuacct:/../..\n"))
	f.Add([]byte("+1::/\n01:x:y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseCgroup(data)
		if err != nil {
			return
		}
		var raw [][]byte
		for _, l := range bytes.Split(data, []byte{'\n'}) {
			if len(l) > 0 {
				raw = append(raw, l)
			}
		}
		if len(lines) != len(raw) {
			t.Fatalf("%d lines from %d non-empty lines", len(lines), len(raw))
		}
		for i, l := range lines {
			if l.Hierarchy < 0 || strings.Contains(l.Controllers, ":") || strings.Contains(l.Path, "\n") {
				t.Fatalf("line %d: %+v", i, l)
			}
			h, rest, _ := bytes.Cut(raw[i], []byte{':'})
			if n, err := strconv.Atoi(string(h)); err != nil || n != l.Hierarchy {
				t.Fatalf("line %q: hierarchy %d", raw[i], l.Hierarchy)
			}
			if string(rest) != l.Controllers+":"+l.Path {
				t.Fatalf("line %q: controllers %q path %q", raw[i], l.Controllers, l.Path)
			}
		}
		if u, ok := UnifiedPath(lines); ok && !bytes.Contains(data, []byte(":"+u)) {
			t.Fatalf("UnifiedPath %q not in input", u)
		}
	})
}
