package procfs

import (
	"os"
	"strconv"
	"strings"
)

// Parent returns the parent process of pid, read from its status file.
func Parent(procRoot string, pid int) (int, error) {
	t, err := OpenTask(procRoot, pid)
	if err != nil {
		return -1, err
	}
	defer t.Close()
	st, err := t.Status()
	if err != nil {
		return -1, err
	}
	return st.PPid, nil
}

// Children lists the children of process pid from the children files of
// its threads (procRoot/PID/task/TID/children: a child belongs to the
// thread that forked it), or, where the kernel lacks those files
// (CONFIG_PROC_CHILDREN), by reading the parent of every process.
func Children(procRoot string, pid int) []int {
	base := procRoot + "/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(base + "/" + t.Name() + "/children")
		if err != nil {
			return scanChildren(procRoot, pid)
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

func scanChildren(procRoot string, pid int) []int {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := Parent(procRoot, c); err == nil && p == pid {
			out = append(out, c)
		}
	}
	return out
}
