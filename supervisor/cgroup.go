package supervisor

import (
	"os"
	"strings"
	"sync"
	"time"

	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// The cgroup fields of exec records (cgroup_id, cgroup, cgroup_v1, and
// the container and pod they name), and the cache that spares reading
// /proc/PID/cgroup on cgroup-v2-only hosts.

// fillCgroup fills the cgroup and container fields of an exec record.
// id is the task's cgroup v2 id from PIDFD_GET_INFO, 0 when unknown.
//
// When id names a cgroup whose file is cached (cgroup-v2-only hosts, see
// cgroupCache), nothing is read: id and its path belong together by
// construction. Otherwise /proc/PID/cgroup is read, and the id recorded is
// the one of the cgroup that file names — the inode of its directory
// under the cgroup2 mount — not id, which was read earlier: a process
// moved between the two reads must not get one cgroup's path with
// another's id, and only such a verified pair is cached. For a path
// outside exectrail's cgroup namespace ("/.."), which has no directory
// under the mount, id is recorded if a second PIDFD_GET_INFO, after the
// file, still gives it. Nothing about the process is cached: it can be
// moved to another cgroup at any time.
func (h *Handler) fillCgroup(t *procfs.Task, r *record.Record, id uint64) {
	if info, ok := h.cgroups.get(id, h.Resolver.ProcRoot); ok {
		setCgroup(r, info)
		r.CgroupID = id
		return
	}
	b, err := t.ReadFile("cgroup")
	if err != nil {
		return
	}
	lines, err := procfs.ParseCgroup(b)
	if err != nil {
		return
	}
	info := procfs.CgroupAttribution(lines)
	setCgroup(r, info)
	if !info.HasV2 {
		return
	}
	if sid, ok := h.cgroupID(info.V2Path); ok {
		r.CgroupID = sid
		if id != 0 && len(lines) == 1 {
			h.cgroups.put(sid, info)
		}
		return
	}
	if id != 0 && strings.HasPrefix(info.V2Path, "/..") {
		if again, err := procfs.IdentOf(t.TID); err == nil && again.CgroupID == id {
			r.CgroupID = id
		}
	}
}

func setCgroup(r *record.Record, info procfs.CgroupInfo) {
	r.CgroupV1, r.CgroupV1Controllers = info.V1Path, info.V1Controllers
	r.ContainerID, r.ContainerRuntime, r.PodUID = info.ID, info.Runtime, info.PodUID
	if info.HasV2 {
		r.Cgroup = info.V2Path
	}
}

// cgroupCache maps cgroup v2 ids to what /proc/PID/cgroup says of them,
// on hosts with no cgroup v1 hierarchy. There the file is a single line,
// "0::" and the cgroup's path relative to exectrail's cgroup namespace:
// fixed for the life of the cgroup, because cgroup v2 directories cannot
// be renamed, and ids are never reused while the machine is up. So a
// process whose cgroup id (PIDFD_GET_INFO) is known needs no read of its
// cgroup file: first-touching /proc/PID/cgroup of a fresh process is one
// of the dearest reads of an exec record. Entries are only made from a
// path read from the file and the id of that path's directory (stat), so
// a process moved between the two reads cannot pair one cgroup's id with
// another's path. A v1 hierarchy mounted while exectrail runs would add
// lines; /proc/self/cgroup is checked for that every cgroupRecheck, and
// the cache is dropped when one appears.
type cgroupCache struct {
	mu      sync.Mutex
	m       map[uint64]procfs.CgroupInfo
	checked time.Time
	v1Free  bool
}

const (
	cgroupRecheck  = 100 * time.Millisecond
	cgroupCacheMax = 4096 // distinct cgroups; past this the cache starts over
)

func (c *cgroupCache) get(id uint64, procRoot string) (procfs.CgroupInfo, bool) {
	if id == 0 {
		return procfs.CgroupInfo{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= cgroupRecheck {
		c.checked = now
		c.v1Free = false
		if b, err := os.ReadFile(procRoot + "/self/cgroup"); err == nil {
			lines, err := procfs.ParseCgroup(b)
			c.v1Free = err == nil && len(lines) == 1 && lines[0].Hierarchy == 0 && lines[0].Controllers == ""
		}
		if !c.v1Free {
			c.m = nil
		}
	}
	info, ok := c.m[id]
	return info, ok && c.v1Free
}

func (c *cgroupCache) put(id uint64, info procfs.CgroupInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.v1Free {
		return
	}
	if c.m == nil || len(c.m) >= cgroupCacheMax {
		c.m = make(map[uint64]procfs.CgroupInfo)
	}
	c.m[id] = info
}

// cgroupID is the cgroup v2 id of path: the inode of its directory under
// the cgroup2 mount. A path outside exectrail's cgroup namespace ("/..")
// is not under the mount, and has no id exectrail can see.
func (h *Handler) cgroupID(path string) (uint64, bool) {
	if h.Cgroup2Mount == "" || !strings.HasPrefix(path, "/") ||
		strings.Contains(path, "/../") || strings.HasSuffix(path, "/..") {
		return 0, false
	}
	var st unix.Stat_t
	if err := unix.Stat(h.Cgroup2Mount+path, &st); err != nil {
		return 0, false
	}
	return st.Ino, true
}
