package procfs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// DirPath builds paths longer than PATH_MAX, which readlink cannot print.
func TestDirPathDeep(t *testing.T) {
	top, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(top, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("d", 200)
	want := top
	for i := 0; i < 25; i++ {
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		fd = next
		want += "/" + name
	}
	defer unix.Close(fd)
	if _, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil {
		t.Fatalf("readlink of a %d-byte path worked: the test needs a longer one", len(want))
	}
	got, err := DirPath(fd)
	if err != nil || got != want {
		t.Fatalf("DirPath = %q, %v; want %q", got, err, want)
	}
	root, _ := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	defer unix.Close(root)
	if got, err := DirPath(root); err != nil || got != "/" {
		t.Fatalf("DirPath(/) = %q, %v", got, err)
	}
}
