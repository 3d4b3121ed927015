package procfs

import (
	"bytes"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// mountinfo of this project's hybrid host (Linux 6.18), trimmed.
const hybridMountinfo = `22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
23 22 0:5 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const pureV2Mountinfo = `24 1 0:22 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
25 24 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`

func TestCgroup2Mount(t *testing.T) {
	for _, c := range []struct {
		name, data, want string
	}{
		{"hybrid", hybridMountinfo, "/sys/fs/cgroup/unified"},
		{"pure v2", pureV2Mountinfo, "/sys/fs/cgroup"},
		{"v1 only", "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n", ""},
		{"none", "22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n", ""},
		{"empty", "", ""},
		{"escaped space", `41 31 0:38 / /mnt/my\040cgroup rw - cgroup2 cgroup2 rw` + "\n", "/mnt/my cgroup"},
		{"escaped tab newline backslash", `41 31 0:38 / /mnt/a\011b\012c\134d rw - cgroup2 none rw` + "\n", "/mnt/a\tb\nc\\d"},
		{"escape at the end", `41 31 0:38 / /mnt/x\040 rw - cgroup2 none rw` + "\n", "/mnt/x "},
		{"not an escape", `41 31 0:38 / /mnt/x\04 rw - cgroup2 none rw` + "\n", `/mnt/x\04`},
		{"not octal", `41 31 0:38 / /mnt/x\089 rw - cgroup2 none rw` + "\n", `/mnt/x\089`},
		{
			"sub-tree bind mount ignored",
			"50 31 0:38 /user.slice /mnt/sub rw,relatime - cgroup2 cgroup2 rw\n",
			"",
		},
		{
			"sub-tree bind mount before the root mount",
			"50 31 0:38 /user.slice /mnt/sub rw,relatime - cgroup2 cgroup2 rw\n" + pureV2Mountinfo,
			"/sys/fs/cgroup",
		},
		{
			"several optional fields",
			"30 25 0:26 / /sys/fs/cgroup rw shared:4 master:1 propagate_from:2 unbindable - cgroup2 cgroup2 rw\n",
			"/sys/fs/cgroup",
		},
		{"no optional fields separator", "30 25 0:26 / /sys/fs/cgroup rw cgroup2 cgroup2 rw\n", ""},
		{"too few fields", "30 25 / - cgroup2 cgroup2 rw\n", ""},
		{"source named cgroup2 but another type", "30 25 0:26 / /x rw - tmpfs cgroup2 rw\n", ""},
		{"no trailing newline", "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw", "/sys/fs/cgroup"},
		{"first root mount wins", pureV2Mountinfo + hybridMountinfo, "/sys/fs/cgroup"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Cgroup2Mount([]byte(c.data)); got != c.want {
				t.Errorf("Cgroup2Mount = %q, want %q", got, c.want)
			}
		})
	}
}

// TestCgroup2MountSelf checks the answer on this host against the kernel:
// the mount point must be a cgroup2 file system.
func TestCgroup2MountSelf(t *testing.T) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skip(err)
	}
	m := Cgroup2Mount(b)
	if m == "" {
		t.Skip("no cgroup2 mount on this host")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(m, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Errorf("%s: f_type %#x, want cgroup2 (%#x)", m, st.Type, unix.CGROUP2_SUPER_MAGIC)
	}
}

func FuzzCgroup2Mount(f *testing.F) {
	f.Add([]byte(hybridMountinfo))
	f.Add([]byte(pureV2Mountinfo))
	f.Add([]byte(`41 31 0:38 / /mnt/a\040b\ rw - cgroup2 cgroup2 rw` + "\n"))
	f.Add([]byte("50 31 0:38 /sub /mnt/sub rw - cgroup2 cgroup2 rw\n - cgroup2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got := Cgroup2Mount(data)
		if got == "" {
			return
		}
		// got must be the unescaped mount point of the first line that
		// mounts a cgroup2 root.
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			pre, post, ok := bytes.Cut(line, []byte(" - "))
			if !ok {
				continue
			}
			pf, f := bytes.Fields(post), bytes.Fields(pre)
			if len(pf) == 0 || string(pf[0]) != "cgroup2" || len(f) < 5 || string(f[3]) != "/" {
				continue
			}
			if want := unescapeMount(string(f[4])); got != want {
				t.Fatalf("Cgroup2Mount = %q, first cgroup2 root mount is %q", got, want)
			}
			if len(got) > len(f[4]) {
				t.Fatalf("unescaping grew %q to %q", f[4], got)
			}
			return
		}
		t.Fatalf("Cgroup2Mount = %q, but no line mounts a cgroup2 root", got)
	})
}
