package doctor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exectrail/exectrail/procfs"
	"golang.org/x/sys/unix"
)

// Status is the outcome of one check.
type Status string

const (
	OK   Status = "ok"   // ✓: works, or nothing to worry about
	Fail Status = "fail" // ✗: does not work, or limits what exectrail can do
	Info Status = "info" // ·: a fact about the machine
)

// Check is one line of the report.
type Check struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
}

// Backend says whether a backend works here, and why not.
type Backend struct {
	Works bool   `json:"works"`
	Why   string `json:"why,omitempty"`
}

// Report is what `exectrail doctor` prints.
type Report struct {
	Checks []Check `json:"checks"`
	Notify Backend `json:"notify"`
	Ptrace Backend `json:"ptrace"`
	// Auto is the backend `--backend auto` would pick ("" when it would
	// fail): ptrace when it works, else notify (not with a policy).
	Auto    string `json:"auto"`
	AutoWhy string `json:"auto_why"`
	// OK: at least one backend works (doctor's exit status 0).
	OK bool `json:"ok"`
}

func (r *Report) add(id string, s Status, format string, args ...any) {
	r.Checks = append(r.Checks, Check{ID: id, Status: s, Detail: fmt.Sprintf(format, args...)})
}

// probeTimeout bounds each probe child.
const probeTimeout = 10 * time.Second

// Run performs every check. self is the exectrail executable to start the
// probe children from (/proc/self/exe). It must run on the goroutine that
// is locked to the main thread: the ptrace probe traces from it.
func Run(self string) *Report {
	runtime.LockOSThread()
	r := &Report{}
	st := readStatus("/proc/self/status")

	checkKernel(r)
	nr, nerr := runNotifyProbe(self)
	checkSeccomp(r, st, nr, nerr)
	checkPtrace(r, st, runTraceProbe(self))
	checkTracer(r, st)
	checkPidfd(r)
	checkPrivileges(r, st)
	checkCgroup(r)
	procOK := checkProc(r, st)
	checkContainer(r, st)
	checkBinfmt(r, self)
	if !procOK {
		// run refuses to start whichever backend would work.
		for _, b := range []*Backend{&r.Notify, &r.Ptrace} {
			if b.Works {
				b.Works, b.Why = false, "run refuses to start: /proc is not exectrail's pid namespace's (see proc)"
			}
		}
	}

	switch {
	case r.Ptrace.Works:
		r.Auto, r.AutoWhy = "ptrace", "ptrace works (auto takes it first: invisible to the job, and it says what ran)"
	case !procOK:
		r.AutoWhy = "run refuses to start: /proc is not exectrail's pid namespace's"
	case r.Notify.Works:
		r.Auto, r.AutoWhy = "notify", "ptrace does not work here: auto falls back to notify (predicted exec records, EINTR under signals)"
	default:
		r.AutoWhy = "neither backend works"
	}
	r.OK = r.Notify.Works || r.Ptrace.Works
	return r
}

// status is the part of /proc/self/status doctor uses.
type status map[string]string

func readStatus(path string) status {
	st := status{}
	data, err := os.ReadFile(path)
	if err != nil {
		return st
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			st[k] = strings.TrimSpace(v)
		}
	}
	return st
}

// hasCap reports whether capability bit is in the CapEff mask.
func (st status) hasCap(bit uint) bool {
	v, err := strconv.ParseUint(st["CapEff"], 16, 64)
	return err == nil && v&(1<<bit) != 0
}

const (
	capSysPtrace = 19
	capSysAdmin  = 21
)

func kernelRelease() (string, int, int) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown", 0, 0
	}
	rel := unix.ByteSliceToString(u.Release[:])
	var major, minor int
	fmt.Sscanf(rel, "%d.%d", &major, &minor)
	return rel, major, minor
}

func atLeast(major, minor, wantMajor, wantMinor int) bool {
	return major > wantMajor || major == wantMajor && minor >= wantMinor
}

func checkKernel(r *Report) {
	rel, major, minor := kernelRelease()
	if atLeast(major, minor, 5, 19) {
		r.add("kernel", OK, "Linux %s %s (5.19 or newer: WAIT_KILLABLE_RECV)", rel, runtime.GOARCH)
		return
	}
	r.add("kernel", Fail, "Linux %s %s: the notify backend needs 5.19 (WAIT_KILLABLE_RECV)", rel, runtime.GOARCH)
}

// startProbe starts a probe child with doctor's stdin and stderr (not
// /dev/null: a root filesystem may have none, and Go's runtime insists on
// fds 0–2), stdout, and extra as fds 3….
func startProbe(self, mode string, stdout int, extra []uintptr, sys *syscall.SysProcAttr) (int, int, error) {
	pidfd := -1
	if sys == nil {
		sys = &syscall.SysProcAttr{}
	}
	sys.PidFD = &pidfd
	files := append([]uintptr{0, uintptr(stdout), 2}, extra...)
	pid, err := syscall.ForkExec(self, []string{"exectrail", ProbeArg, mode}, &syscall.ProcAttr{
		Env: []string{"PATH=/usr/bin:/bin"}, Files: files, Sys: sys,
	})
	return pid, pidfd, err
}

// killAfter kills the probe child if it has not finished in time. stop
// cancels that and closes the pidfd, never while the kill is using it.
func killAfter(pidfd int) (stop func()) {
	var mu sync.Mutex
	closed := false
	t := time.AfterFunc(probeTimeout, func() {
		mu.Lock()
		defer mu.Unlock()
		if !closed {
			_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		}
	})
	return func() {
		t.Stop()
		mu.Lock()
		defer mu.Unlock()
		closed = true
		unix.Close(pidfd)
	}
}

func wait(pid int) (unix.WaitStatus, error) {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		return ws, err
	}
}

// runJSONProbe runs a probe child that reports one JSON object.
func runJSONProbe(self, mode string, sys *syscall.SysProcAttr, v any) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	pid, pidfd, err := startProbe(self, mode, p[1], nil, sys)
	unix.Close(p[1])
	if err != nil {
		unix.Close(p[0])
		return fmt.Errorf("starting the probe: %w", err)
	}
	stop := killAfter(pidfd)
	rd := os.NewFile(uintptr(p[0]), "probe") // owns p[0] now
	out, _ := io.ReadAll(io.LimitReader(rd, 1<<16))
	rd.Close()
	ws, err := wait(pid)
	stop()
	if err != nil {
		return err
	}
	if ws.Signaled() {
		return fmt.Errorf("the probe died of %v", ws.Signal())
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("the probe said %q (status %d)", bytes.TrimSpace(out), ws.ExitStatus())
	}
	return nil
}

func runNotifyProbe(self string) (notifyResult, error) {
	var nr notifyResult
	err := runJSONProbe(self, "notify", nil, &nr)
	return nr, err
}

// seccompContext describes the seccomp filters exectrail already runs
// under, for a reason that may be theirs.
func seccompContext(st status, what string) string {
	n := st["Seccomp_filters"]
	if st["Seccomp"] == "2" && n != "" && n != "0" {
		return fmt.Sprintf("exectrail already runs under %s seccomp filter(s) (Seccomp_filters in /proc/self/status): a container runtime's profile or a sandbox may refuse %s", n, what)
	}
	return "no seccomp filter runs around exectrail; an LSM (AppArmor, SELinux) may refuse " + what
}

func checkSeccomp(r *Report, st status, nr notifyResult, err error) {
	if err != nil {
		r.add("seccomp", Fail, "the probe child failed: %v", err)
		r.Notify.Why = "the probe failed: " + err.Error()
		return
	}
	switch nr.Filter {
	case "":
		r.add("seccomp", OK, "a throwaway child loaded a seccomp filter%s", nnpNote(nr.NNP))
	case "EACCES":
		r.add("seccomp", Fail, "loading a filter: EACCES: neither no_new_privs nor CAP_SYS_ADMIN")
	default:
		r.add("seccomp", Fail, "loading a filter in a throwaway child: %s: %s", nr.Filter, seccompContext(st, "seccomp"))
	}
	if nr.Filter != "" {
		r.Notify.Why = "seccomp filters cannot be loaded (" + nr.Filter + ")"
		r.add("user_notif", Fail, "not tried: no filter can be loaded")
		r.add("wait_killable_recv", Fail, "not tried: no filter can be loaded")
		r.add("listener", Info, "not tried: no filter can be loaded")
		return
	}
	switch {
	case nr.Listener == "":
		r.add("listener", OK, "no seccomp listener supervises exectrail: a new one can be installed")
	case nr.Listener == "EBUSY":
		r.add("listener", Fail, "a seccomp listener already supervises exectrail (EBUSY): exectrail under exectrail, or a container runtime's seccomp agent; only one listener per process tree, so --backend notify fails and auto uses ptrace")
	}
	switch {
	case nr.Listener == "":
		r.add("wait_killable_recv", OK, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV accepted (Linux 5.19): a signal cannot turn one exec into two notifications")
	case nr.Listener == "EINVAL" && nr.NoKillable == "":
		r.add("wait_killable_recv", Fail, "the kernel refuses SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19): the notify backend cannot be used")
	default:
		r.add("wait_killable_recv", Info, "not known: the listener filter did not load (%s)", nr.Listener)
	}
	notifOK := nr.Notif == ""
	switch {
	case nr.Listener == "EBUSY":
		r.add("user_notif", Fail, "installing a listener in a throwaway child: EBUSY: another listener is there (see listener)")
	case nr.Listener != "" && nr.NoKillable != "":
		r.add("user_notif", Fail, "installing a listener in a throwaway child: %s: %s", nr.Listener, seccompContext(st, "a listener"))
	case notifOK && nr.Listener == "":
		r.add("user_notif", OK, "a throwaway child installed a listener with run's flags and received and answered one notification")
	case notifOK:
		r.add("user_notif", OK, "a listener without WAIT_KILLABLE_RECV received and answered one notification")
	default:
		r.add("user_notif", Fail, "a listener was installed but the notification round trip failed: %s", nr.NotifDetail)
	}
	switch nr.SyncWakeUp {
	case "":
		r.add("sync_wake_up", Info, "SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP accepted (Linux 6.6); exectrail does not need it")
	case "-":
	default:
		r.add("sync_wake_up", Info, "SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP refused (%s; Linux 6.6); exectrail does not need it", nr.SyncWakeUp)
	}
	switch {
	case nr.Listener == "" && notifOK:
		r.Notify.Works = true
	case nr.Listener == "EBUSY":
		r.Notify.Why = "a seccomp listener already supervises exectrail (EBUSY)"
	case nr.Listener == "EINVAL" && nr.NoKillable == "":
		r.Notify.Why = "the kernel refuses WAIT_KILLABLE_RECV (Linux 5.19)"
	case nr.Listener != "":
		r.Notify.Why = "the listener filter does not load (" + nr.Listener + ")"
	default:
		r.Notify.Why = "the notification round trip failed: " + nr.NotifDetail
	}
}

func nnpNote(nnp bool) string {
	if nnp {
		return " (with no_new_privs, as run will)"
	}
	return " (without no_new_privs, as run will)"
}

// runTraceProbe starts the trace probe child, seizes it and follows it
// to its exit. It returns an error saying what did not work.
func runTraceProbe(self string) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	var out [2]int
	if err := unix.Pipe2(out[:], unix.O_CLOEXEC); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return err
	}
	pid, pidfd, err := startProbe(self, "trace", out[1], []uintptr{uintptr(p[0])}, nil)
	unix.Close(p[0])
	unix.Close(out[1])
	said := os.NewFile(uintptr(out[0]), "probe") // owns out[0] now
	defer said.Close()
	if err != nil {
		unix.Close(p[1])
		return fmt.Errorf("starting the probe: %w", err)
	}
	stop := killAfter(pidfd)
	defer stop()
	serr := ptraceSeize(pid, unix.PTRACE_O_TRACESECCOMP|unix.PTRACE_O_EXITKILL)
	if serr != nil {
		// Say why before the child goes: is it traced by someone else?
		tracer := readStatus(fmt.Sprintf("/proc/%d/status", pid))["TracerPid"]
		unix.Close(p[1])
		_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		_, _ = wait(pid)
		if tracer != "" && tracer != "0" {
			return &seizeError{err: serr, tracer: tracer}
		}
		return &seizeError{err: serr}
	}
	_, _ = unix.Write(p[1], []byte{'G'})
	unix.Close(p[1])
	sawStop := false
	for {
		ws, err := wait(pid)
		if err != nil {
			return fmt.Errorf("waiting for the probe: %w", err)
		}
		switch {
		case ws.Exited():
			msg, _ := io.ReadAll(io.LimitReader(said, 4096))
			reason := strings.TrimSpace(string(msg))
			switch ws.ExitStatus() {
			case traceOK:
				if !sawStop {
					return fmt.Errorf("the probe's getppid ran without a seccomp stop")
				}
				return nil
			case traceNoLoad:
				return fmt.Errorf("loading the SECCOMP_RET_TRACE filter: %s", reason)
			case traceNoStop:
				return fmt.Errorf("the trapped getppid failed (%s) although traced", reason)
			}
			return fmt.Errorf("the probe exited %d", ws.ExitStatus())
		case ws.Signaled():
			return fmt.Errorf("the probe died of %v (timed out after %v?)", ws.Signal(), probeTimeout)
		case ws.Stopped():
			sig := 0
			if ws.StopSignal() == unix.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_SECCOMP {
				sawStop = true
			} else if ws.TrapCause() <= 0 && ws.StopSignal() != unix.SIGTRAP {
				sig = int(ws.StopSignal()) // a signal-delivery stop: deliver it
			}
			if err := unix.PtraceCont(pid, sig); err != nil && err != unix.ESRCH {
				return fmt.Errorf("PTRACE_CONT: %w", err)
			}
		}
	}
}

type seizeError struct {
	err    error
	tracer string
}

func (e *seizeError) Error() string { return "PTRACE_SEIZE: " + errName(e.err) }

func yamaScope() string {
	b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func checkPtrace(r *Report, st status, err error) {
	scope := yamaScope()
	yama := "no Yama"
	if scope != "" {
		yama = "Yama ptrace_scope " + scope
	}
	if err == nil {
		r.add("ptrace", OK, "a throwaway child was seized (PTRACE_SEIZE) and its SECCOMP_RET_TRACE stop taken (%s)", yama)
		r.Ptrace.Works = true
		return
	}
	why := err.Error()
	if se, ok := err.(*seizeError); ok {
		switch {
		case se.tracer != "":
			why = fmt.Sprintf("%s: the throwaway child is already traced by PID %s%s: a tracer that follows forks (exectrail --backend ptrace, strace -f, gdb) traces exectrail's children, and a process has one tracer", why, se.tracer, comm(se.tracer))
		case scope == "3":
			why += ": Yama ptrace_scope 3 forbids ptrace entirely"
		case scope == "2" && !st.hasCap(capSysPtrace):
			why += ": Yama ptrace_scope 2 allows ptrace only with CAP_SYS_PTRACE"
		case se.err == unix.EPERM:
			why += ": " + seccompContext(st, "ptrace")
		}
	}
	r.add("ptrace", Fail, "%s (%s)", why, yama)
	r.Ptrace.Why = why
}

func comm(pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/comm")
	if err != nil {
		return ""
	}
	return " (" + strings.TrimSpace(string(b)) + ")"
}

func checkTracer(r *Report, st status) {
	t := st["TracerPid"]
	if t == "" || t == "0" {
		r.add("tracer", OK, "exectrail itself is not traced")
		return
	}
	r.add("tracer", Fail, "exectrail itself is traced by PID %s%s: a tracer that follows forks takes the job's processes too, and then --backend ptrace cannot attach", t, comm(t))
}

func checkPidfd(r *Report) {
	if err := procfs.ProbePidfdInfo(); err != nil {
		r.add("pidfd_get_info", Fail, "%v: ids are read from /proc/PID/status instead (slower; needs Linux 6.13)", err)
	} else {
		r.add("pidfd_get_info", OK, "pidfd_open(PIDFD_THREAD) + PIDFD_GET_INFO work (Linux 6.13): ids come without reading /proc/PID/status")
	}
	// PIDFD_THREAD proper: a pidfd for a thread that is not the leader.
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // a thread of its own, never the main one
		defer runtime.UnlockOSThread()
		if unix.Gettid() == unix.Getpid() {
			res <- fmt.Errorf("could not get a non-leader thread")
			return
		}
		fd, err := unix.PidfdOpen(unix.Gettid(), unix.O_EXCL) // PIDFD_THREAD
		if err == nil {
			unix.Close(fd)
		}
		res <- err
	}()
	if err := <-res; err != nil {
		r.add("pidfd_thread", Fail, "pidfd_open(PIDFD_THREAD) for a non-leader thread: %s (Linux 6.9)", errName(err))
	} else {
		r.add("pidfd_thread", OK, "pidfd_open(PIDFD_THREAD) opens a non-leader thread (Linux 6.9)")
	}
}

func checkPrivileges(r *Report, st status) {
	nnp, _ := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	euid := os.Geteuid()
	switch {
	case nnp == 1:
		r.add("no_new_privs", Fail, "no_new_privs is already set on exectrail (inherited: docker --security-opt no-new-privileges, systemd NoNewPrivileges=, a sandbox): setuid and file-capability programs in the job will not gain privileges")
	case euid != 0:
		r.add("no_new_privs", Fail, "not root (uid %d): the kernel requires no_new_privs for the filter, so setuid programs in the job (sudo, su) run without gaining privileges", euid)
	case !st.hasCap(capSysAdmin):
		r.add("no_new_privs", Fail, "root without CAP_SYS_ADMIN (a container): the filter needs no_new_privs, so setuid programs in the job will not gain privileges")
	default:
		r.add("no_new_privs", OK, "not set, and root with CAP_SYS_ADMIN: the filter loads without it, setuid programs in the job behave as without exectrail")
	}
}

// mount is one line of mountinfo, the fields doctor uses.
type mount struct {
	root, point, fstype, superOpts string
}

func mounts() []mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, af := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(af) < 3 {
			continue
		}
		out = append(out, mount{root: pf[3], point: pf[4], fstype: af[0], superOpts: af[2]})
	}
	return out
}

func checkCgroup(r *Report) {
	var v1, v2 []string
	for _, m := range mounts() {
		switch m.fstype {
		case "cgroup":
			v1 = append(v1, m.point)
		case "cgroup2":
			v2 = append(v2, m.point)
		}
	}
	info, _ := os.ReadFile("/proc/self/mountinfo")
	unified := procfs.Cgroup2Mount(info)
	own := ""
	if data, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		if lines, err := procfs.ParseCgroup(data); err == nil {
			if p, ok := procfs.UnifiedPath(lines); ok {
				own = ", exectrail's cgroup " + p
			}
		}
	}
	switch {
	case unified != "" && len(v1) == 0:
		r.add("cgroup", OK, "cgroup v2 only, mounted at %s%s", unified, own)
	case unified != "":
		r.add("cgroup", OK, "hybrid: cgroup v2 at %s and %d cgroup v1 hierarchies%s (a container's path may show only in a v1 line: records carry cgroup_v1)", unified, len(v1), own)
	case len(v2) > 0:
		r.add("cgroup", Fail, "cgroup2 is mounted only below its root (%s): records carry no cgroup_id", strings.Join(v2, ", "))
	case len(v1) > 0:
		r.add("cgroup", Fail, "cgroup v1 only (%d hierarchies): records carry cgroup paths but no cgroup_id", len(v1))
	default:
		r.add("cgroup", Fail, "no cgroup filesystem mounted: records carry no cgroup_id (the paths still come from /proc/PID/cgroup)")
	}
}

// checkProc reports on /proc; false when run would refuse to start.
func checkProc(r *Report, st status) bool {
	self, err := os.Readlink("/proc/self")
	if err != nil || self != strconv.Itoa(os.Getpid()) {
		r.add("proc", Fail, "/proc does not belong to exectrail's pid namespace (/proc/self is %q, pid %d): run refuses to start; mount a matching procfs (unshare --mount-proc)", self, os.Getpid())
		return false
	}
	var procMount *mount
	for _, m := range mounts() {
		if m.point == "/proc" && m.fstype == "proc" {
			m := m
			procMount = &m // the last one is on top
		}
	}
	if procMount == nil {
		r.add("proc", Fail, "no proc filesystem mounted on /proc")
		return true // /proc/self worked: some procfs is there
	}
	hidepid := ""
	for _, o := range strings.Split(procMount.superOpts, ",") {
		if v, ok := strings.CutPrefix(o, "hidepid="); ok && v != "0" && v != "off" {
			hidepid = o
		}
	}
	switch {
	case hidepid == "":
		r.add("proc", OK, "/proc is this pid namespace's, mounted without hidepid")
	case os.Geteuid() == 0 && st.hasCap(capSysPtrace):
		r.add("proc", OK, "/proc is mounted with %s, but exectrail runs as root with CAP_SYS_PTRACE and sees every process", hidepid)
	default:
		r.add("proc", Fail, "/proc is mounted with %s and exectrail is not privileged: processes of other users are hidden from it, so a job process that changes uid (setuid programs, su) cannot be read", hidepid)
	}
	return true
}

// initPidNS is the inode of the initial pid namespace (PROC_PID_INIT_INO).
const initPidNS = 0xEFFFFFFC

func checkContainer(r *Report, st status) {
	var what []string
	if data, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		if lines, err := procfs.ParseCgroup(data); err == nil {
			c := procfs.CgroupAttribution(lines)
			switch {
			case c.ID != "" && c.Runtime != "":
				what = append(what, fmt.Sprintf("%s container %s (from the cgroup path)", c.Runtime, short(c.ID)))
			case c.ID != "":
				what = append(what, fmt.Sprintf("container %s (from the cgroup path)", short(c.ID)))
			}
			if c.PodUID != "" {
				what = append(what, "Kubernetes pod "+c.PodUID)
			}
		}
	}
	if _, err := os.Stat("/.dockerenv"); err == nil {
		what = append(what, "docker (/.dockerenv)")
	}
	if _, err := os.Stat("/run/.containerenv"); err == nil {
		what = append(what, "podman (/run/.containerenv)")
	}
	if c := os.Getenv("container"); c != "" {
		what = append(what, c+" ($container)")
	}
	where := "no container detected"
	if len(what) > 0 {
		where = "in a container: " + strings.Join(what, ", ")
	}
	ns := "pid namespace unknown"
	if link, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		if _, ino, err := procfs.ParseNSLink(link); err == nil {
			depth := len(strings.Fields(st["NSpid"]))
			switch {
			case ino == initPidNS:
				ns = fmt.Sprintf("the initial pid namespace (%d)", ino)
			case depth > 1:
				ns = fmt.Sprintf("pid namespace %d, %d below the initial one", ino, depth-1)
			default:
				ns = fmt.Sprintf("pid namespace %d", ino)
			}
		}
	}
	r.add("container", Info, "%s; %s", where, ns)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func checkBinfmt(r *Report, self string) {
	var br binfmtResult
	sys := &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
	}
	if err := runJSONProbe(self, "binfmt", sys, &br); err != nil {
		r.add("binfmt_misc", Info, "could not make a user namespace to try (%v): a job without one cannot either", err)
		return
	}
	switch {
	case br.Fsopen == "" && br.Create == "":
		r.add("binfmt_misc", Info, "per user namespace (Linux 6.7): a job can mount its own binfmt_misc in a user namespace and register interpreters exectrail does not see; notify may then predict the wrong interpreter, ptrace records what the kernel loaded")
	default:
		e := br.Fsopen
		if e == "" {
			e = br.Create
		}
		r.add("binfmt_misc", Info, "not mountable in a user namespace (%s; per-namespace since Linux 6.7): a job cannot register interpreters of its own", e)
	}
}

// Symbols for the text report.
func (s Status) Symbol() string {
	switch s {
	case OK:
		return "✓"
	case Fail:
		return "✗"
	}
	return "·"
}

// WriteText writes one line per check, then the verdict.
func (r *Report) WriteText(w io.Writer) {
	for _, c := range r.Checks {
		fmt.Fprintf(w, "%s %-19s %s\n", c.Status.Symbol(), c.ID, c.Detail)
	}
	backend := func(name string, b Backend) {
		if b.Works {
			fmt.Fprintf(w, "✓ %-19s works\n", "backend "+name)
		} else {
			fmt.Fprintf(w, "✗ %-19s does not work: %s\n", "backend "+name, b.Why)
		}
	}
	backend("notify", r.Notify)
	backend("ptrace", r.Ptrace)
	if r.Auto != "" {
		fmt.Fprintf(w, "--backend auto would pick %s: %s (with --deny, --allow or --policy: ptrace)\n", r.Auto, r.AutoWhy)
	} else {
		fmt.Fprintf(w, "--backend auto would fail: %s\n", r.AutoWhy)
	}
}
