package supervisor

import (
	"os"

	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor/record"
)

// The namespaces of a traced task, as exec records give them (pidns,
// mntns), and exectrail's own, against which a task's mount namespace is
// told foreign: there a path names whatever file the job likes
// (identity.go), and the policy decides on files, not names (enforce.go).

// selfNS is the inode of exectrail's own namespace ns (0 when unknown).
func selfNS(procRoot, ns string) uint64 {
	link, err := os.Readlink(procRoot + "/self/ns/" + ns)
	if err != nil {
		return 0
	}
	_, ino, err := procfs.ParseNSLink(link)
	if err != nil {
		return 0
	}
	return ino
}

// fillNamespaces records the inode numbers of the task's pid and mount
// namespaces, read from its ns/ links through the task's handle.
func (h *Handler) fillNamespaces(t *procfs.Task, r *record.Record) {
	if ino, err := procfs.NamespaceInode(t, "pid"); err == nil {
		r.PidNS = ino
	}
	if ino, err := procfs.NamespaceInode(t, "mnt"); err == nil {
		r.MntNS = ino
	}
}

// foreignNS reports whether r's process is in another mount namespace
// than exectrail (false when its namespace is unknown).
func (h *Handler) foreignNS(r *record.Record) bool {
	return r.MntNS != 0 && h.selfMntNS != 0 && r.MntNS != h.selfMntNS
}
