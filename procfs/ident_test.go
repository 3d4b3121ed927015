package procfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// needPidfdInfo skips (failing under CI) when the kernel has no
// PIDFD_GET_INFO.
func needPidfdInfo(t *testing.T) {
	t.Helper()
	if !pidfdInfoAvailable() {
		if os.Getenv("CI") == "true" {
			t.Fatal("PIDFD_GET_INFO (Linux 6.13) is missing under CI")
		}
		t.Skip("kernel lacks PIDFD_GET_INFO (Linux 6.13)")
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root")
		}
		t.Skip("needs root")
	}
}

// startSleep starts sleep, through setpriv when args are given.
func startSleep(t *testing.T, setpriv ...string) *exec.Cmd {
	t.Helper()
	argv := []string{"sleep", "60"}
	if len(setpriv) > 0 {
		needRoot(t)
		argv = append(append([]string{"setpriv"}, setpriv...), argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// setpriv execs sleep in the same process: wait for that, so that the
	// ids read are sleep's.
	for i := 0; i < 2000; i++ {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/comm"); err == nil && string(b) == "sleep\n" {
			return cmd
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%v did not become sleep", argv)
	return nil
}

// The pidfd answer and the status answer agree, field by field, for a
// process of the test's own user and for one whose real, effective and
// filesystem ids all differ (setpriv sets real and effective ids apart;
// the filesystem ids follow the effective ones).
func TestIdentMatchesStatus(t *testing.T) {
	needPidfdInfo(t)
	for _, tc := range []struct {
		name          string
		setpriv       []string
		ruid, fsuid   int
		fsgid, groups int
	}{
		{"self user", nil, -1, -1, -1, -1},
		{"ids apart", []string{"--ruid=4241", "--euid=4242", "--rgid=4341", "--egid=4343", "--groups=7,4444"}, 4241, 4242, 4343, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := startSleep(t, tc.setpriv...)
			pid := cmd.Process.Pid
			task := openTask(t, "/proc", pid)
			st, err := task.Status()
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
			if got.Tgid != st.Tgid || got.PPid != st.PPid || got.RUID != st.Uid[0] ||
				got.FSUID != st.Uid[3] || got.FSGID != st.Gid[3] {
				t.Errorf("pidfd ident %+v, status says uid %v gid %v", got, st.Uid, st.Gid)
			}
			if tc.ruid >= 0 && (got.RUID != tc.ruid || got.FSUID != tc.fsuid || got.FSGID != tc.fsgid) {
				t.Errorf("ruid %d fsuid %d fsgid %d, want %d %d %d", got.RUID, got.FSUID, got.FSGID, tc.ruid, tc.fsuid, tc.fsgid)
			}
			if got.Groups != nil {
				t.Errorf("groups %v read although no check needed them", got.Groups)
			}
			// The lazy groups are the status ones.
			c := got.Cred(task)
			g, ok := c.groups()
			if !ok || !slices.Equal(g, st.Groups) || (tc.groups >= 0 && len(g) != tc.groups) {
				t.Errorf("lazy groups %v (ok %v), status %v", g, ok, st.Groups)
			}
		})
	}
}

// Without PIDFD_GET_INFO, Ident reads status, groups included.
func TestIdentStatusFallback(t *testing.T) {
	cmd := startSleep(t)
	task := openTask(t, "/proc", cmd.Process.Pid)
	pidfdInfoAvailable()
	saved := pidfdAvailable
	pidfdAvailable = false
	defer func() { pidfdAvailable = saved }()
	if _, err := IdentOf(cmd.Process.Pid); err != ErrNoPidfdInfo {
		t.Errorf("IdentOf with the probe failed: %v, want ErrNoPidfdInfo", err)
	}
	got, err := task.Ident()
	if err != nil {
		t.Fatal(err)
	}
	st, _ := task.Status()
	if got.Tgid != cmd.Process.Pid || got.PPid != os.Getpid() || got.RUID != st.Uid[0] ||
		got.FSUID != st.Uid[3] || got.Groups == nil || got.CgroupID != 0 {
		t.Errorf("status ident %+v, status %+v", got, st)
	}
	if got, err := ReadIdent("/proc", cmd.Process.Pid); err != nil || got.Tgid != cmd.Process.Pid {
		t.Errorf("ReadIdent = %+v, %v", got, err)
	}
}

// A task that is gone fails for that task only: the pidfd path stays on.
func TestIdentOfGone(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadIdent("/proc", cmd.Process.Pid); err == nil {
		t.Errorf("ident of reaped process %d: no error", cmd.Process.Pid)
	}
	if _, err := IdentOf(cmd.Process.Pid); err == nil || err == ErrNoPidfdInfo {
		t.Errorf("IdentOf reaped process: %v, want a per-task error", err)
	}
	if pidfdInfoAvailable() {
		if _, err := IdentOf(os.Getpid()); err != nil {
			t.Errorf("after a failure for a gone task, IdentOf(self): %v", err)
		}
	}
}

// lockedThread returns the id of a thread of the test process that stays
// alive until the test ends (it may be the main thread).
func lockedThread(t *testing.T) int {
	done := make(chan struct{})
	tids := make(chan int)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		<-done
	}()
	t.Cleanup(func() { close(done) })
	return <-tids
}

// A thread's pidfd reports its process as tgid.
func TestIdentOfThread(t *testing.T) {
	needPidfdInfo(t)
	tid := lockedThread(t)
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
// which is what cgroup_id has always meant: checked on a fresh cgroup (an
// id other than the root's 1).
func TestIdentCgroupID(t *testing.T) {
	needPidfdInfo(t)
	needRoot(t)
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
		t.Fatalf("no cgroup2 mount (%q), or the test's cgroup %q is outside it", mnt, path)
	}
	dir, err := os.MkdirTemp(filepath.Join(mnt, path), "exectrail-ident-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(dir)
	cmd := startSleep(t)
	if err := os.WriteFile(dir+"/cgroup.procs", []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	id, err := IdentOf(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if id.CgroupID != st.Ino || st.Ino == 1 {
		t.Errorf("cgroup id %d, inode of %s is %d", id.CgroupID, dir, st.Ino)
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
		c := Cred{UID: 30, GID: 40}
		before := loads
		c.loadGroups = func() ([]int, error) { loads++; return tc.groups, nil }
		if got := mayExec(st, &c); got != tc.want {
			t.Errorf("mode %o groups %v: %v, want %v", tc.mode, tc.groups, got, tc.want)
		}
		if (loads > before) != tc.loaded {
			t.Errorf("mode %o: groups loaded %v, want %v", tc.mode, loads > before, tc.loaded)
		}
	}
}

// Groups that are needed but cannot be read predict nothing: the check
// passes rather than guess EACCES.
func TestMayExecGroupsUnreadable(t *testing.T) {
	st := &unix.Stat_t{Uid: 10, Gid: 20, Mode: unix.S_IFREG | 0o750}
	c := Cred{UID: 30, GID: 40, loadGroups: func() ([]int, error) { return nil, unix.EMFILE }}
	if !mayExec(st, &c) {
		t.Errorf("unreadable groups: predicted a failure")
	}
	if c.Groups != nil {
		t.Errorf("unreadable groups remembered as %v", c.Groups)
	}
}

// TgidOf knows a leader without a pidfd, a thread through one, and fails
// for a task that is gone.
func TestTgidOf(t *testing.T) {
	if got, err := TgidOf("/proc", os.Getpid()); err != nil || got != os.Getpid() {
		t.Errorf("TgidOf(self) = %d, %v; want %d", got, err, os.Getpid())
	}
	tid := lockedThread(t)
	if tid != os.Getpid() {
		if got, err := TgidOf("/proc", tid); err != nil || got != os.Getpid() {
			t.Errorf("TgidOf(thread %d) = %d, %v; want %d", tid, got, err, os.Getpid())
		}
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if got, err := TgidOf("/proc", cmd.Process.Pid); err == nil {
		t.Errorf("TgidOf(reaped %d) = %d, no error", cmd.Process.Pid, got)
	}
}
