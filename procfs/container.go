package procfs

import (
	"fmt"
	"strconv"
	"strings"
)

// The kernel knows no containers, only cgroups and namespaces. Every
// container runtime puts each container in one cgroup whose path names it,
// and the kubelet puts each pod in one cgroup whose path names the pod.
// This file reads those names back out of cgroup paths, and namespace
// inode numbers out of /proc/PID/ns links.
//
// Path shapes recognised (KERNEL-FACTS 30), <id> being 64 lowercase hex
// digits:
//
//	docker, cgroupfs driver      /docker/<id>
//	docker, systemd driver       /system.slice/docker-<id>.scope
//	containerd (CRI), systemd    …/cri-containerd-<id>.scope
//	cri-o, systemd / cgroupfs    …/crio-<id>.scope, …/crio-<id>
//	podman, systemd / cgroupfs   …/libpod-<id>.scope[/container], …/libpod-<id>
//	kubelet, systemd driver      …/kubepods-<qos>-pod<uid_with_underscores>.slice/…
//	kubelet, cgroupfs driver     /kubepods/<qos>/pod<uid>/<id> (the runtime is not named)
//
// Anywhere in the path: a prefix (a cgroup namespace's "/..", kind's
// "/kubelet.slice") does not matter, and the last container component
// wins (docker in docker names the inner container).

// Container is what a cgroup path says about the container and the
// Kubernetes pod a process runs in. Each field is empty when the path does
// not say. All three are ASCII by construction.
type Container struct {
	// ID is the container id: 64 lowercase hex digits.
	ID string
	// Runtime is "docker", "containerd", "cri-o" or "podman"; empty when
	// only the id is known (the kubelet's cgroupfs driver names no
	// runtime).
	Runtime string
	// PodUID is the pod's UID with dashes (the systemd driver's
	// underscores undone): a UUID, or 32 hex digits for a static pod.
	PodUID string
}

// Found reports whether the path named a container or a pod.
func (c Container) Found() bool { return c.ID != "" || c.PodUID != "" }

// Container runtimes as recorded.
const (
	RuntimeDocker     = "docker"
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	RuntimePodman     = "podman"
)

// scopePrefixes maps the prefix of a runtime's cgroup name
// (<prefix><id>[.scope]) to the runtime.
var scopePrefixes = []struct{ prefix, runtime string }{
	{"docker-", RuntimeDocker},
	{"cri-containerd-", RuntimeContainerd},
	{"crio-", RuntimeCRIO},
	{"libpod-", RuntimePodman},
}

// ContainerFromPath reads a container id, its runtime and a pod UID out of
// one cgroup path (v1 or v2). Unknown shapes give an empty Container.
func ContainerFromPath(path string) Container {
	var c Container
	kubepods := false // a "kubepods" component came before (cgroupfs driver)
	underPod := false // the previous component was a cgroupfs pod
	prev := ""
	// Walk the components without allocating: this runs for every exec.
	for rest, more := path, true; more; {
		var comp string
		comp, rest, more = strings.Cut(rest, "/")
		parent, wasUnderPod := prev, underPod
		prev, underPod = comp, false
		if id, rt, ok := scopeID(comp); ok {
			c.ID, c.Runtime = id, rt
			continue
		}
		if isHexID(comp, 64) {
			switch {
			case parent == "docker":
				c.ID, c.Runtime = comp, RuntimeDocker
			case wasUnderPod:
				c.ID, c.Runtime = comp, ""
			}
			continue
		}
		if uid, ok := podSlice(comp); ok {
			c.PodUID = uid
			continue
		}
		if kubepods {
			if rest, ok := strings.CutPrefix(comp, "pod"); ok {
				if uid, ok := normalisePodUID(rest); ok {
					c.PodUID = uid
					underPod = true
					continue
				}
			}
		}
		if comp == "kubepods" {
			kubepods = true
		}
	}
	return c
}

// scopeID recognises "<runtime prefix><64 hex>" with an optional ".scope".
func scopeID(comp string) (id, runtime string, ok bool) {
	name := strings.TrimSuffix(comp, ".scope")
	for _, p := range scopePrefixes {
		if rest, ok := strings.CutPrefix(name, p.prefix); ok && isHexID(rest, 64) {
			return rest, p.runtime, true
		}
	}
	return "", "", false
}

// podSlice recognises the systemd driver's pod slice,
// "kubepods[-<qos>]-pod<uid_with_underscores>.slice", also under a prefix
// ("kubelet-kubepods-besteffort-pod….slice" in kind).
func podSlice(comp string) (string, bool) {
	name, ok := strings.CutSuffix(comp, ".slice")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(name, "-pod")
	if i < 0 {
		return "", false
	}
	// "kubepods" must be one of the dash-separated words before "-pod".
	kube := false
	for rest, more := name[:i], true; more && !kube; {
		var w string
		w, rest, more = strings.Cut(rest, "-")
		kube = w == "kubepods"
	}
	if !kube {
		return "", false
	}
	return normalisePodUID(name[i+len("-pod"):])
}

// normalisePodUID accepts a pod UID as a cgroup name spells it — a UUID
// with "-" (cgroupfs driver) or "_" (systemd driver, where "-" means
// nesting) between its groups, or 32 hex digits (a static pod's UID is a
// hash) — and returns it with dashes.
func normalisePodUID(s string) (string, bool) {
	if isHexID(s, 32) {
		return s, true
	}
	if len(s) != 36 {
		return "", false
	}
	var b [36]byte
	copy(b[:], s)
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' && c != '_' {
				return "", false
			}
			b[i] = '-'
		default:
			if !isLowerHex(c) {
				return "", false
			}
		}
	}
	return string(b[:]), true
}

func isHexID(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

func isLowerHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

// CgroupInfo is what exectrail records about a process's cgroups.
type CgroupInfo struct {
	// V2Path is the cgroup v2 path (the "0::" line); HasV2 says whether
	// there was one.
	V2Path string
	HasV2  bool
	// V1Path and V1Controllers are set only when the container or pod was
	// named by a v1 line and not by the v2 path (a hybrid host whose v2
	// line is "/", or a v1-only host): the path, and the controllers field
	// of its line ("name=systemd", "cpu,cpuacct", …) saying which
	// hierarchy it came from.
	V1Path        string
	V1Controllers string
	Container
}

// CgroupAttribution picks the cgroup paths to record from the lines of
// /proc/PID/cgroup and what they name. The v2 path is always taken; when
// it names no container or pod, the v1 lines are tried — name=systemd
// first, then the others in file order — and the first that names one is
// recorded beside it.
func CgroupAttribution(lines []CgroupLine) CgroupInfo {
	var info CgroupInfo
	info.V2Path, info.HasV2 = UnifiedPath(lines)
	if info.HasV2 {
		if info.Container = ContainerFromPath(info.V2Path); info.Found() {
			return info
		}
	}
	try := func(l CgroupLine) bool {
		if l.Hierarchy == 0 && l.Controllers == "" {
			return false // the v2 line
		}
		c := ContainerFromPath(l.Path)
		if !c.Found() {
			return false
		}
		info.V1Path, info.V1Controllers, info.Container = l.Path, l.Controllers, c
		return true
	}
	for _, l := range lines {
		if l.Controllers == "name=systemd" && try(l) {
			return info
		}
	}
	for _, l := range lines {
		if l.Controllers != "name=systemd" && try(l) {
			return info
		}
	}
	return info
}

// ParseNSLink parses the target of a /proc/PID/ns/* link, "pid:[4026531836]",
// into the namespace type and its inode number.
func ParseNSLink(link string) (typ string, ino uint64, err error) {
	typ, rest, ok := strings.Cut(link, ":[")
	if !ok || typ == "" || !strings.HasSuffix(rest, "]") {
		return "", 0, fmt.Errorf("parse namespace link %q: not TYPE:[INODE]", link)
	}
	digits := rest[:len(rest)-1]
	if digits == "" || digits[0] < '0' || digits[0] > '9' {
		return "", 0, fmt.Errorf("parse namespace link %q: bad inode", link)
	}
	ino, err = strconv.ParseUint(digits, 10, 64)
	if err != nil || ino == 0 {
		return "", 0, fmt.Errorf("parse namespace link %q: bad inode", link)
	}
	return typ, ino, nil
}

// NamespaceInode returns the inode number of the task's namespace of kind
// ns ("pid", "mnt", "cgroup", …), read from its ns/<ns> link. Inode numbers
// of namespaces are the same whichever namespace the reader is in (nsfs
// has a single superblock), so they compare across containers.
func NamespaceInode(t *Task, ns string) (uint64, error) {
	link, err := t.Readlink("ns/" + ns)
	if err != nil {
		return 0, err
	}
	typ, ino, err := ParseNSLink(link)
	if err != nil {
		return 0, err
	}
	if typ != ns {
		return 0, fmt.Errorf("namespace link ns/%s is of type %q", ns, typ)
	}
	return ino, nil
}
