package supervisor

import (
	"bytes"
	"os"
	"strconv"
	"strings"

	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// The identity of the file an exec runs, for a process in another mount
// namespace (see foreignNS, namespace.go).
//
// A process in another mount namespace than exectrail sees other files
// at the same paths: `unshare -rm` and a bind mount over /usr/bin/true, or
// pivot_root into a directory of its own, make "/usr/bin/true" name any
// file the job likes — and /proc/PID/exe then prints that same name. So
// for such a process the record carries the file's identity (device,
// inode, the mount it came through) and says whether exectrail's own view
// of the path is the same file (same_file), and the policy decides on the
// file, not the name (Policy.CheckFiles).

// fillIdentity writes the identity fields of r, the exec record of task t,
// from r.ExeID and r.InterpID, when t is in another mount namespace.
func (h *Handler) fillIdentity(t *procfs.Task, r *record.Record) {
	file, interp := procfs.FileIdentity(r.ExeID), procfs.FileIdentity(r.InterpID)
	r.HasFile, r.SameFile, r.InterpreterSameFile, r.OuterPath = false, nil, nil, ""
	r.MountPoint, r.MountRoot, r.MountSource = "", "", ""
	if !h.foreignNS(r) || r.Executable == "" || !file.Known() {
		return
	}
	r.HasFile, r.FileDev, r.FileIno, r.MntID = true, file.Dev, file.Ino, file.MntID
	same := sameFile(r.Executable, file)
	r.SameFile = &same
	if r.Interpreter != "" && interp.Known() {
		s := sameFile(r.Interpreter, interp)
		r.InterpreterSameFile = &s
	}
	mi, err := t.ReadFile("mountinfo")
	if err != nil {
		return
	}
	m, ok := findMount(mi, file.MntID)
	if !ok {
		return
	}
	r.MountPoint, r.MountRoot, r.MountSource = m.point, m.root, m.source
	if !same {
		r.OuterPath = h.outerPath(m, r.Executable, file)
	}
}

// sameFile reports whether path, in exectrail's own view, is the file f.
func sameFile(path string, f procfs.FileIdentity) bool {
	var st unix.Stat_t
	return unix.Stat(path, &st) == nil && st.Dev == f.Dev && st.Ino == f.Ino
}

// mount is one line of a mountinfo file.
type mount struct {
	id                  uint64
	dev                 string // major:minor
	root, point, source string
}

func parseMount(line []byte) (mount, bool) {
	pre, post, ok := bytes.Cut(line, []byte(" - "))
	if !ok {
		return mount{}, false
	}
	f, pf := bytes.Fields(pre), bytes.Fields(post)
	if len(f) < 5 || len(pf) < 2 {
		return mount{}, false
	}
	id, err := strconv.ParseUint(string(f[0]), 10, 64)
	if err != nil {
		return mount{}, false
	}
	return mount{id: id, dev: string(f[2]), root: procfs.UnescapeMount(string(f[3])),
		point: procfs.UnescapeMount(string(f[4])), source: procfs.UnescapeMount(string(pf[1]))}, true
}

func findMount(mountinfo []byte, id uint64) (mount, bool) {
	for _, line := range bytes.Split(mountinfo, []byte{'\n'}) {
		if m, ok := parseMount(line); ok && m.id == id {
			return m, true
		}
	}
	return mount{}, false
}

// outerPath is the path, in exectrail's own view, of the file f that the
// job reaches as executable through its mount m: the file's path inside
// its filesystem (m's root plus the rest of executable below m's mount
// point), under a mount of the same filesystem in exectrail's namespace
// whose root contains it — and only if that path is f. "" when exectrail
// has no such path (a tmpfs mounted in the job's namespace alone).
func (h *Handler) outerPath(m mount, executable string, f procfs.FileIdentity) string {
	rel, ok := strings.CutPrefix(executable, m.point)
	if !ok || (rel != "" && !strings.HasPrefix(rel, "/") && m.point != "/") {
		return ""
	}
	if m.point == "/" {
		rel = executable
	}
	inFS := strings.TrimSuffix(m.root, "/") + rel
	if inFS == "" {
		inFS = "/"
	}
	mi, err := os.ReadFile(h.Resolver.ProcRoot + "/self/mountinfo")
	if err != nil {
		return ""
	}
	for _, line := range bytes.Split(mi, []byte{'\n'}) {
		o, ok := parseMount(line)
		if !ok || o.dev != m.dev {
			continue
		}
		below, ok := strings.CutPrefix(inFS, strings.TrimSuffix(o.root, "/"))
		if !ok || (below != "" && !strings.HasPrefix(below, "/")) {
			continue
		}
		p := strings.TrimSuffix(o.point, "/") + below
		if p == "" {
			p = "/"
		}
		if sameFile(p, f) {
			return p
		}
	}
	return ""
}
