package main

// The child stage: the hidden first act of the job.
//
// `exectrail run` re-executes its own binary (/proc/self/exe) with
// childStageArg as argv[1]. That process becomes the job's root: it installs
// the seccomp filter on itself and then execs COMMAND, so COMMAND's exec is
// the first trapped call. The handshake:
//
//	step | supervisor (exectrail run)              | child stage
//	-----+-----------------------------------------+------------------------------------------
//	 1   | socketpair; the child's end is the one  |
//	     | fd without CLOEXEC; start the child      |
//	 2   | close the child's end; wait on recvmsg   | find COMMAND on PATH (exit 127 / 126)
//	 3   |                                          | notify (or auto after "N" in 5'): no_new_
//	     |                                          | privs unless root; load the notify filter
//	     |                                          | (NEW_LISTENER|TSYNC|WAIT_KILLABLE_RECV);
//	     |                                          | send "L" with the listener fd (SCM_RIGHTS)
//	 3'  |                                          | ptrace or auto: send "T" and wait for an
//	     |                                          | answer
//	 4'  | on "T": PTRACE_SEIZE the child from the  |
//	     | tracer thread; answer "G" (or, failing:  |
//	     | "N" for auto, else "E" and report why)   |
//	 5'  |                                          | on "G": load the trace filter (TSYNC);
//	     |                                          | on "N" (auto): step 3; on anything else
//	     |                                          | exit 125
//	 6   | serve the listener, or trace; EOF        | close the socket, restore inherited
//	     | instead of a message means the child     | signal dispositions and mask;
//	     | exited: report its status                | execve(COMMAND) — held until the
//	     |                                          | supervisor has written its record
//
// Nothing else is passed: the environment, the other inherited fds and the
// process group reach COMMAND untouched.

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/filter"
	"golang.org/x/sys/unix"
)

const childStageArg = "__exectrail_child"

// childArgs is what the supervisor tells the child stage.
type childArgs struct {
	mode    backendName
	sockFD  int
	nnp     bool
	ignored uint64
	blocked uint64
	// dropPtrace: take CAP_SYS_PTRACE away from the job, bounding set
	// included (root with a policy or --user; see README Security).
	dropPtrace bool
	// user: run COMMAND as this user (--user); nil keeps exectrail's.
	user *jobUser
	argv []string
}

// jobUser is the identity --user gives the job.
type jobUser struct {
	uid, gid int
	groups   []int
}

func (u *jobUser) encode() string {
	if u == nil {
		return "-"
	}
	s := strconv.Itoa(u.uid) + ":" + strconv.Itoa(u.gid) + ":"
	for i, g := range u.groups {
		if i > 0 {
			s += ","
		}
		s += strconv.Itoa(g)
	}
	return s
}

func decodeJobUser(s string) (*jobUser, error) {
	if s == "-" {
		return nil, nil
	}
	f := strings.SplitN(s, ":", 3)
	if len(f) != 3 {
		return nil, errors.New("bad user argument")
	}
	u := &jobUser{}
	var err error
	if u.uid, err = strconv.Atoi(f[0]); err != nil {
		return nil, err
	}
	if u.gid, err = strconv.Atoi(f[1]); err != nil {
		return nil, err
	}
	if f[2] != "" {
		for _, g := range strings.Split(f[2], ",") {
			n, err := strconv.Atoi(g)
			if err != nil {
				return nil, err
			}
			u.groups = append(u.groups, n)
		}
	}
	return u, nil
}

func (a childArgs) encode() []string {
	nnp := "0"
	if a.nnp {
		nnp = "1"
	}
	drop := "0"
	if a.dropPtrace {
		drop = "1"
	}
	return append([]string{childStageArg, string(a.mode),
		strconv.Itoa(a.sockFD), nnp,
		strconv.FormatUint(a.ignored, 16), strconv.FormatUint(a.blocked, 16),
		drop, a.user.encode(), "--"}, a.argv...)
}

func decodeChildArgs(args []string) (childArgs, error) {
	var a childArgs
	if len(args) < 9 || args[7] != "--" {
		return a, errors.New("bad child stage arguments")
	}
	a.mode, args = backendName(args[0]), args[1:]
	var err error
	if a.sockFD, err = strconv.Atoi(args[0]); err != nil {
		return a, err
	}
	a.nnp = args[1] == "1"
	if a.ignored, err = strconv.ParseUint(args[2], 16, 64); err != nil {
		return a, err
	}
	if a.blocked, err = strconv.ParseUint(args[3], 16, 64); err != nil {
		return a, err
	}
	a.dropPtrace = args[4] == "1"
	if a.user, err = decodeJobUser(args[5]); err != nil {
		return a, err
	}
	a.argv = args[7:]
	return a, nil
}

func childMain(args []string) int {
	runtime.LockOSThread()
	a, err := decodeChildArgs(args)
	if err != nil {
		cli.Errorf("internal: %v", err)
		return cli.ExitSetup
	}
	ensureStdFDs()
	var path string
	var code int
	if a.user == nil {
		if path, code, err = lookPath(a.argv[0]); err != nil {
			unix.Close(a.sockFD)
			cli.Errorf("%v", err)
			return code
		}
	}
	if a.dropPtrace {
		// Before the filter: nothing of the job ever holds it.
		if err := dropCapSysPtrace(); err != nil {
			unix.Close(a.sockFD)
			cli.Errorf("%v", err)
			return cli.ExitSetup
		}
	}
	if err := setupFilter(a); err != nil {
		unix.Close(a.sockFD)
		if !cli.Said(err) {
			startErrorf("%v", err)
		}
		return cli.ExitSetup
	}
	// The socket stays open until the exec (CLOEXEC): should it fail, the
	// supervisor says why — or, when it was exectrail that refused the
	// exec because its output failed, says that alone (one error line).
	if _, err := unix.FcntlInt(uintptr(a.sockFD), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		unix.Close(a.sockFD)
		a.sockFD = -1
	}
	if a.user != nil {
		// After the filter, which root loads without no_new_privs; the
		// command is then looked up as the user who will run it.
		if err := switchUser(a.user); err != nil {
			cli.Errorf("%v", err)
			return cli.ExitSetup
		}
		if path, code, err = lookPath(a.argv[0]); err != nil {
			cli.Errorf("%v", err)
			return code
		}
	}

	restoreSignalsForExec(a.ignored, a.blocked)
	err = unix.Exec(path, a.argv, os.Environ())
	if err == unix.ENOEXEC {
		// As execvp does: a file with no recognised format is a shell
		// script.
		err = unix.Exec("/bin/sh", append([]string{"sh", path}, a.argv[1:]...), os.Environ())
	}
	msg := fmt.Sprintf("%s: %v", a.argv[0], err)
	if a.sockFD < 0 || unix.Sendmsg(a.sockFD, append([]byte{'X'}, msg...), nil, nil, 0) != nil {
		cli.Errorf("%s", msg)
	}
	if err == unix.ENOENT {
		return cli.ExitNotFound
	}
	return cli.ExitNotExec
}

// ensureStdFDs opens /dev/null on any of fds 0–2 that is closed, so that
// the command never gets one of its own files as stdin, stdout or stderr.
func ensureStdFDs() {
	for fd := 0; fd <= 2; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == unix.EBADF {
			flags := unix.O_RDWR
			nfd, err := unix.Open("/dev/null", flags, 0)
			if err == nil && nfd != fd {
				unix.Dup2(nfd, fd)
				unix.Close(nfd)
			}
		}
	}
}

// setupFilter installs the filter for the chosen backend and hands the
// supervisor what it needs (steps 3 to 5' of the handshake). auto asks
// to be traced first (README "The default backend": ptrace is the one
// backend that is invisible to the job and says what ran); when the
// supervisor cannot attach it answers "N" and the child stage installs
// the notify filter instead.
func setupFilter(a childArgs) error {
	if a.mode == backendNotify {
		return sendListener(a, false)
	}
	if _, err := unix.Write(a.sockFD, []byte{'T'}); err != nil {
		return fmt.Errorf("asking the supervisor to trace: %w", err)
	}
	var b [1]byte
	for {
		n, err := unix.Read(a.sockFD, b[:])
		if err == unix.EINTR {
			continue
		}
		if err == nil && n == 1 && b[0] == 'N' && a.mode == backendAuto {
			// auto: ptrace is not available; fall back to notify.
			return sendListener(a, true)
		}
		if err != nil || n != 1 || b[0] != 'G' {
			// The supervisor could not attach and says why itself.
			return &cli.SaidError{Err: errors.New("the supervisor did not attach")}
		}
		break
	}
	_, err := installFilter(filter.Trace, a.nnp)
	return err
}

// sendListener installs the notify filter and sends its listener to the
// supervisor. fallback: auto, after ptrace failed.
func sendListener(a childArgs, fallback bool) error {
	listener, err := installFilter(filter.Notify, a.nnp)
	if err != nil {
		if errors.Is(err, filter.ErrListenerBusy) {
			if fallback {
				return errors.New("cannot trace the job (ptrace failed) nor install a seccomp listener (this process is already supervised by one: exectrail under exectrail, or a container's seccomp agent)")
			}
			return errors.New("cannot install a seccomp listener: this process is already supervised by one (exectrail under exectrail, or a container's seccomp agent); use --backend ptrace or auto")
		}
		return err
	}
	defer unix.Close(listener)
	if err := unix.Sendmsg(a.sockFD, []byte{'L'}, unix.UnixRights(listener), nil, 0); err != nil {
		return fmt.Errorf("handing the seccomp listener to the supervisor: %w", err)
	}
	return nil
}

// dropCapSysPtrace removes CAP_SYS_PTRACE from the calling thread — the
// one that execs COMMAND — for good: from its bounding set (so no setuid
// program or file capability gives it back), and from its inheritable,
// ambient, permitted and effective sets. Without it, a root job cannot
// ptrace exectrail, read or write its memory or take its fds
// (exectrail is not dumpable).
func dropCapSysPtrace() error {
	if err := unix.Prctl(unix.PR_CAPBSET_DROP, unix.CAP_SYS_PTRACE, 0, 0, 0); err != nil {
		return fmt.Errorf("dropping CAP_SYS_PTRACE from the bounding set: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_LOWER, unix.CAP_SYS_PTRACE, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("dropping CAP_SYS_PTRACE from the ambient set: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	bit := uint32(1) << (unix.CAP_SYS_PTRACE % 32)
	i := unix.CAP_SYS_PTRACE / 32
	data[i].Effective &^= bit
	data[i].Permitted &^= bit
	data[i].Inheritable &^= bit
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("dropping CAP_SYS_PTRACE: capset: %w", err)
	}
	return nil
}

// switchUser makes the process u: groups, then gid, then uid (every
// thread; the real, effective and saved ids alike).
func switchUser(u *jobUser) error {
	groups := u.groups
	if groups == nil {
		groups = []int{}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("--user: setgroups: %w", err)
	}
	if err := unix.Setresgid(u.gid, u.gid, u.gid); err != nil {
		return fmt.Errorf("--user: setting gid %d: %w", u.gid, err)
	}
	if err := unix.Setresuid(u.uid, u.uid, u.uid); err != nil {
		return fmt.Errorf("--user: setting uid %d: %w", u.uid, err)
	}
	return nil
}

// installFilter loads the filter on every thread. Root loads it without
// no_new_privs so that setuid programs keep working in the job; otherwise
// no_new_privs is required by the kernel.
func installFilter(action filter.Action, nnp bool) (int, error) {
	prog, err := filter.Build(action)
	if err != nil {
		return -1, fmt.Errorf("installing seccomp filter: %w", err)
	}
	if nnp {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return -1, fmt.Errorf("setting no_new_privs: %w", err)
		}
	}
	fd, err := filter.Load(prog)
	if !nnp && errors.Is(err, unix.EACCES) {
		// Root without CAP_SYS_ADMIN (a container): the kernel insists
		// on no_new_privs.
		cli.Warnf("no CAP_SYS_ADMIN: running the command with no_new_privs (setuid programs will not gain privileges)")
		if perr := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); perr == nil {
			fd, err = filter.Load(prog)
		}
	}
	if errors.Is(err, filter.ErrListenerBusy) {
		return -1, err
	}
	if err != nil {
		return -1, fmt.Errorf("installing seccomp filter: %w", err)
	}
	return fd, nil
}

// lookPath finds a command as a POSIX shell does: a name with a slash is
// used as is; otherwise each PATH entry is tried and the first executable
// regular file wins. It returns the exit status a shell would use when it
// fails.
func lookPath(name string) (string, int, error) {
	if name == "" {
		return "", cli.ExitNotFound, errors.New("empty command name")
	}
	if strings.Contains(name, "/") {
		code, err := checkExecutable(name)
		if err != nil {
			return "", code, fmt.Errorf("%s: %w", name, err)
		}
		return name, 0, nil
	}
	pathEnv, ok := os.LookupEnv("PATH")
	if !ok {
		pathEnv = "/usr/local/bin:/usr/bin:/bin"
	}
	var denied error
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		code, err := checkExecutable(p)
		if err == nil {
			return p, 0, nil
		}
		if code == cli.ExitNotExec && denied == nil {
			denied = fmt.Errorf("%s: %w", p, err)
		}
	}
	if denied != nil {
		return "", cli.ExitNotExec, denied
	}
	return "", cli.ExitNotFound, fmt.Errorf("%s: command not found", name)
}

func checkExecutable(p string) (int, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		if err == unix.ENOENT || err == unix.ENOTDIR {
			return cli.ExitNotFound, errors.New("no such file or directory")
		}
		return cli.ExitNotExec, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return cli.ExitNotExec, errors.New("is a directory")
	}
	if err := unix.Faccessat(unix.AT_FDCWD, p, unix.X_OK, unix.AT_EACCESS); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return cli.ExitNotExec, errors.New("permission denied")
	}
	return 0, nil
}
