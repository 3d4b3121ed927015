package procfs

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// needPidfdInfo skips (failing under CI) when the kernel has no
// PIDFD_GET_INFO; the status fallback is tested on its own below.
func needPidfdInfo(t *testing.T) {
	t.Helper()
	if _, err := IdentOf(os.Getpid()); err == ErrNoPidfdInfo {
		if os.Getenv("CI") == "true" {
			t.Fatal("PIDFD_GET_INFO (Linux 6.13) is missing under CI")
		}
		t.Skip("kernel lacks PIDFD_GET_INFO (Linux 6.13)")
	}
}

// startAs starts sleep with the given credential (nil: the test's own).
func startAs(t *testing.T, cred *syscall.Credential) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if cred != nil {
		if os.Geteuid() != 0 {
			t.Skip("needs root to start a process as another user")
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// The pidfd answer and the status answer agree, field by field, for a
// process of the test's own user and one of another user with
// supplementary groups.
func TestIdentMatchesStatus(t *testing.T) {
	needPidfdInfo(t)
	for _, tc := range []struct {
		name string
		cred *syscall.Credential
	}{
		{"self user", nil},
		{"other user", &syscall.Credential{Uid: 4242, Gid: 4343, Groups: []uint32{7, 4444}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := startAs(t, tc.cred)
			pid := cmd.Process.Pid
			task, err := OpenTask("/proc", pid)
			if err != nil {
				t.Fatal(err)
			}
			defer task.Close()
			fromStatus, err := task.statusIdent()
			if err != nil {
				t.Fatal(err)
			}
			got, err := task.Ident()
			if err != nil {
				t.Fatal(err)
			}
			if got.Tgid != pid || got.PPid != os.Getpid() {
				t.Errorf("tgid %d ppid %d, want %d and %d", got.Tgid, got.PPid, pid, os.Getpid())
			}
			if got.Tgid != fromStatus.Tgid || got.PPid != fromStatus.PPid || got.RUID != fromStatus.RUID ||
				got.EUID != fromStatus.EUID || got.EGID != fromStatus.EGID {
				t.Errorf("pidfd ident %+v, status says %+v", got, fromStatus)
			}
			if tc.cred != nil && (got.RUID != 4242 || got.EUID != 4242 || got.EGID != 4343) {
				t.Errorf("ids %+v, want uid 4242 gid 4343", got)
			}
			if got.Groups != nil {
				t.Errorf("groups %v read although no check needed them", got.Groups)
			}
			// The lazy groups are the status ones.
			c := got.Cred(task)
			if g := c.groups(); !equalInts(g, fromStatus.Groups) {
				t.Errorf("lazy groups %v, status %v", g, fromStatus.Groups)
			}
		})
	}
}

// A thread's pidfd reports its process as tgid.
func TestIdentOfThread(t *testing.T) {
	needPidfdInfo(t)
	done := make(chan struct{})
	tids := make(chan int)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		<-done
	}()
	tid := <-tids
	defer close(done)
	id, err := IdentOf(tid)
	if err != nil {
		t.Fatal(err)
	}
	if tid != os.Getpid() && id.Tgid != os.Getpid() {
		t.Errorf("thread %d: tgid %d, want %d", tid, id.Tgid, os.Getpid())
	}
	if id.PPid != os.Getppid() {
		t.Errorf("thread %d: ppid %d, want %d", tid, id.PPid, os.Getppid())
	}
}

// The cgroup id from the pidfd is the inode of the cgroup's directory,
// which is what cgroup_id has always meant.
func TestIdentCgroupID(t *testing.T) {
	needPidfdInfo(t)
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	mnt := Cgroup2Mount(mi)
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ParseCgroup(b)
	if err != nil {
		t.Fatal(err)
	}
	path, ok := UnifiedPath(lines)
	if mnt == "" || !ok || strings.HasPrefix(path, "/..") {
		t.Skip("no cgroup2 mount, or the test's cgroup is outside it")
	}
	var st unix.Stat_t
	if err := unix.Stat(mnt+path, &st); err != nil {
		t.Fatal(err)
	}
	id, err := IdentOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if id.CgroupID != st.Ino {
		t.Errorf("cgroup id %d, inode of %s is %d", id.CgroupID, mnt+path, st.Ino)
	}
}

// A task that is gone is an error, not a zero ident.
func TestIdentOfGone(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadIdent("/proc", cmd.Process.Pid); err == nil {
		t.Errorf("ident of reaped process %d: no error", cmd.Process.Pid)
	}
}

// mayExec reads the groups only when the answer depends on them.
func TestMayExecLazyGroups(t *testing.T) {
	loads := 0
	st := &unix.Stat_t{Uid: 10, Gid: 20}
	for _, tc := range []struct {
		mode   uint32
		groups []int
		want   bool
		loaded bool
	}{
		{0o750, []int{20}, true, true},  // group decides, member
		{0o750, []int{21}, false, true}, // group decides, not a member
		{0o755, nil, true, false},       // group and other agree
		{0o700, nil, false, false},
		{0o705, []int{20}, false, true}, // member: group bits, not other
	} {
		st.Mode = unix.S_IFREG | tc.mode
		c := Cred{EUID: 30, EGID: 40}
		before := loads
		c.loadGroups = func() []int { loads++; return tc.groups }
		if got := mayExec(st, &c); got != tc.want {
			t.Errorf("mode %o groups %v: %v, want %v", tc.mode, tc.groups, got, tc.want)
		}
		if (loads > before) != tc.loaded {
			t.Errorf("mode %o: groups loaded %v, want %v", tc.mode, loads > before, tc.loaded)
		}
	}
}
