package procfs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func writeFixture(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func status(pid, ppid string) string {
	return "Name:\tx\nTgid:\t" + pid + "\nPid:\t" + pid + "\nPPid:\t" + ppid + "\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
}

func TestChildrenAndParent(t *testing.T) {
	root := t.TempDir()
	writeFixture(t, root, map[string]string{
		"10/status":           status("10", "1"),
		"10/task/10/children": "11 12 ",
		"10/task/13/children": "14\n",
		"11/status":           status("11", "10"),
		"20/status":           status("20", "1"),
		"20/task/20/children": "",
		"20/task/21/.keep":    "", // no children file: fall back to a scan
		"30/status":           status("30", "20"),
		"31/status":           status("31", "20"),
		"notapid/status":      status("32", "20"),
	})
	if got := Children(root, 10); !slices.Equal(got, []int{11, 12, 14}) {
		t.Errorf("Children(10) = %v, want [11 12 14] from the threads' children files", got)
	}
	got := Children(root, 20)
	slices.Sort(got)
	if !slices.Equal(got, []int{30, 31}) {
		t.Errorf("Children(20) = %v, want [30 31] from scanning parents", got)
	}
	if p, err := Parent(root, 11); err != nil || p != 10 {
		t.Errorf("Parent(11) = %d, %v; want 10", p, err)
	}
	if _, err := Parent(root, 99); err == nil {
		t.Error("Parent of a missing process must fail")
	}
	if got := Children(root, 99); got != nil {
		t.Errorf("Children of a missing process = %v, want none", got)
	}
	// The real kernel: the test process is its children's parent.
	if p, err := Parent("/proc", os.Getpid()); err != nil || p != os.Getppid() {
		t.Errorf("Parent(self) = %d, %v; want %d", p, err, os.Getppid())
	}
}
