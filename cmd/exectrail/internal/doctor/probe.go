package doctor

// The child side of the probes. Each runs in a process of its own,
// started by Run with ProbeArg and a mode, and reports on stdout as one
// JSON object (notify, binfmt) or by its exit status (trace).

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"golang.org/x/sys/unix"
)

// ProbeArg is argv[1] of a probe child; main dispatches it to ProbeMain
// first thing.
const ProbeArg = "__exectrail_doctor_probe"

// notifyFlags are the flags `exectrail run` loads its notify filter with
// (filter.LoadFlags): a probe with fewer would pass where run fails.
const notifyFlags = unix.SECCOMP_FILTER_FLAG_NEW_LISTENER |
	unix.SECCOMP_FILTER_FLAG_TSYNC |
	unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH |
	unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV

// probeMagic is what the probe supervisor answers the trapped getppid
// with: a value getppid cannot return natively in the child.
const probeMagic = 0x7e57ab1e

// trapGetppid is a filter that gives getppid (native x86_64 only) the
// action and lets everything else run.
func trapGetppid(action uint32) []unix.SockFilter {
	return []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4}, // seccomp_data.arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 3, K: unix.AUDIT_ARCH_X86_64},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_GETPPID},
		{Code: unix.BPF_RET | unix.BPF_K, K: action},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
}

var allowAll = []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}

// notifyResult is what the notify probe found. Errors are errno names, ""
// for success; a step that did not run is "-".
type notifyResult struct {
	NNP         bool   `json:"nnp"`          // it had to set no_new_privs
	Filter      string `json:"filter"`       // a plain filter (no listener)
	Listener    string `json:"listener"`     // the notify filter with run's flags
	NoKillable  string `json:"no_killable"`  // when Listener is EINVAL: the same without WAIT_KILLABLE_RECV
	SyncWakeUp  string `json:"sync_wake_up"` // SECCOMP_IOCTL_NOTIF_SET_FLAGS
	Notif       string `json:"notif"`        // the round trip: "" when the answer arrived
	NotifDetail string `json:"notif_detail"`
}

// binfmtResult is what the binfmt probe found, in a new user and mount
// namespace.
type binfmtResult struct {
	Fsopen string `json:"fsopen"`
	Create string `json:"create"`
}

func errName(err error) string {
	if err == nil {
		return ""
	}
	var en unix.Errno
	if errors.As(err, &en) {
		if n := unix.ErrnoName(en); n != "" {
			return n
		}
	}
	return err.Error()
}

// ProbeMain runs one probe; args are what follows ProbeArg.
func ProbeMain(args []string) int {
	runtime.LockOSThread()
	if len(args) != 1 {
		cli.Errorf("internal: bad doctor probe arguments")
		return 2
	}
	switch args[0] {
	case "notify":
		return emit(probeNotify())
	case "trace":
		return probeTrace()
	case "binfmt":
		return emit(probeBinfmt())
	}
	cli.Errorf("internal: unknown doctor probe %s", args[0])
	return 2
}

func emit(v any) int {
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		return 2
	}
	return 0
}

// loadFilter loads prog as `exectrail run`'s child stage would: root
// without no_new_privs, falling back to it on EACCES (root without
// CAP_SYS_ADMIN); anyone else with it.
func loadFilter(flags uintptr, prog []unix.SockFilter, nnp *bool) (int, error) {
	if !*nnp && os.Geteuid() != 0 {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return -1, err
		}
		*nnp = true
	}
	fd, err := seccompFilter(flags, prog)
	if err == unix.EACCES && !*nnp {
		if perr := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); perr != nil {
			return -1, err
		}
		*nnp = true
		fd, err = seccompFilter(flags, prog)
	}
	return fd, err
}

// probeNotify loads a plain filter, then a listener filter with run's
// flags that traps getppid, and serves one notification from another
// thread of its own: the trapped getppid must return probeMagic.
func probeNotify() notifyResult {
	r := notifyResult{Listener: "-", NoKillable: "-", SyncWakeUp: "-", Notif: "-"}
	if _, err := loadFilter(0, allowAll, &r.NNP); err != nil {
		r.Filter = errName(err)
		return r
	}
	listener, err := loadFilter(notifyFlags, trapGetppid(unix.SECCOMP_RET_USER_NOTIF), &r.NNP)
	r.Listener = errName(err)
	if err == unix.EINVAL {
		// Which flag? Without WAIT_KILLABLE_RECV (Linux 5.19).
		listener, err = seccompFilter(notifyFlags&^unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, trapGetppid(unix.SECCOMP_RET_USER_NOTIF))
		r.NoKillable = errName(err)
	}
	if err != nil {
		return r
	}
	r.SyncWakeUp = errName(notifSetFlags(listener, unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP))

	served := make(chan error, 1)
	go func() { served <- serveOne(listener) }()
	got, err := getppid()
	serr := <-served
	switch {
	case serr != nil:
		r.Notif, r.NotifDetail = errName(serr), serr.Error()
	case err != nil:
		r.Notif, r.NotifDetail = errName(err), "the trapped getppid failed: "+err.Error()
	case got != probeMagic:
		r.Notif, r.NotifDetail = "wrong answer", fmt.Sprintf("the trapped getppid returned %d, not the supervisor's answer", got)
	default:
		r.Notif = ""
	}
	return r
}

// serveOne receives one notification, within a bounded time, and answers
// it with probeMagic. On failure it closes the listener, which fails the
// waiting getppid with ENOSYS.
func serveOne(listener int) error {
	defer unix.Close(listener)
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("no notification arrived within 5s")
		}
		pfd := []unix.PollFd{{Fd: int32(listener), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("poll", err)
		}
		if n == 1 && pfd[0].Revents&unix.POLLIN != 0 {
			break
		}
		if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
			return errors.New("the listener hung up")
		}
	}
	var n seccompNotif
	if err := notifRecv(listener, &n); err != nil {
		return err
	}
	if n.Nr != unix.SYS_GETPPID {
		return fmt.Errorf("notified of syscall %d, not getppid", n.Nr)
	}
	return notifSend(listener, &seccompNotifResp{ID: n.ID, Val: probeMagic})
}

// Exit statuses of the trace probe.
const (
	traceOK      = 0
	traceNoStop  = 10 // getppid failed: no tracer took the TRACE stop (ENOSYS)
	traceNoLoad  = 11 // the filter did not load
	traceNoGo    = 12 // the parent did not say go
	traceBadArgs = 2
)

// probeTrace waits until the parent has seized it (a 'G' on fd 3), loads a
// SECCOMP_RET_TRACE filter for getppid and calls it: with a tracer that
// takes the stop, getppid works; without one it fails with ENOSYS.
func probeTrace() int {
	var b [1]byte
	for {
		n, err := unix.Read(3, b[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n != 1 || b[0] != 'G' {
			return traceNoGo
		}
		break
	}
	nnp := false
	if _, err := loadFilter(unix.SECCOMP_FILTER_FLAG_TSYNC, trapGetppid(unix.SECCOMP_RET_TRACE), &nnp); err != nil {
		fmt.Println(errName(err))
		return traceNoLoad
	}
	if _, err := getppid(); err != nil {
		fmt.Println(errName(err))
		return traceNoStop
	}
	return traceOK
}

// probeBinfmt runs in a new user and mount namespace (Run starts it so)
// and tries to create a binfmt_misc superblock there: possible since
// Linux 6.7, where binfmt_misc is per user namespace.
func probeBinfmt() binfmtResult {
	r := binfmtResult{Create: "-"}
	fd, err := unix.Fsopen("binfmt_misc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		r.Fsopen = errName(err)
		return r
	}
	defer unix.Close(fd)
	r.Create = errName(unix.FsconfigCreate(fd))
	return r
}
