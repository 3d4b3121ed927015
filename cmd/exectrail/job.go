package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/session"
	"github.com/exectrail/exectrail/procfs"
	"github.com/exectrail/exectrail/supervisor"
	"golang.org/x/sys/unix"
)

// job is one `exectrail run`: the root process and everything under it.
type job struct {
	opt    *options
	pid    int // the root: the child stage, then COMMAND
	pidfd  int
	self   int
	writer *supervisor.Writer
	// setupFailed: exectrail could not serve the job it started; the
	// job was stopped and the status is 125 whatever the job's.
	setupFailed bool
	start       time.Time
	rec         *session.Session // --record; nil without

	// sock is exectrail's end of the child stage's socket, on which it
	// says why its exec of COMMAND failed ('X' and the error).
	sock int
}

func run(opt *options) int {
	ignored, blocked := initialSignals()
	j := &job{opt: opt, self: os.Getpid(), pidfd: -1}
	// This goroutine writes records too (the start and end records) and
	// errors: like the backends' threads, its thread must not be
	// stopped by SIGTTOU (stty tostop) while the job owns the terminal.
	// The child stage sets its own mask before exec.
	supervisor.LockWriterThread()

	// Thread ids from the kernel are in exectrail's pid namespace; /proc
	// must be that namespace's, or every record would describe some other
	// process.
	if s, err := os.Readlink("/proc/self"); err != nil || s != strconv.Itoa(j.self) {
		startErrorf("/proc does not belong to exectrail's pid namespace (/proc/self is %q, pid %d); mount a matching procfs (for example unshare --mount-proc)", s, j.self)
		return cli.ExitSetup
	}

	// Orphaned descendants come back to us, so that none is ever left
	// behind unserved and unnoticed.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		startErrorf("becoming a child subreaper: %v", err)
		return cli.ExitSetup
	}

	var sigPipe [2]int
	if err := unix.Pipe2(sigPipe[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		cli.Errorf("pipe: %v", err)
		return cli.ExitSetup
	}
	for _, sig := range forwarded {
		if ignored&(1<<(sig-1)) != 0 {
			// Inherited as ignored: stay deaf to it, like the command.
			ignoreSignal(sig)
			continue
		}
		if err := catchSignal(sigPipe[1], sig); err != nil {
			cli.Errorf("%v", err)
			return cli.ExitSetup
		}
	}
	sigs := make(chan forwardedSignal, 16)
	go readSignals(sigPipe[0], sigs)

	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		cli.Errorf("socketpair: %v", err)
		return cli.ExitSetup
	}
	// The child's end must survive its exec of the child stage; nothing
	// else in this process forks, so clearing CLOEXEC here is race-free.
	if _, err := unix.FcntlInt(uintptr(sp[1]), unix.F_SETFD, 0); err != nil {
		cli.Errorf("fcntl: %v", err)
		return cli.ExitSetup
	}
	ca := childArgs{mode: opt.backend, sockFD: sp[1], nnp: os.Geteuid() != 0, ignored: ignored, blocked: blocked,
		dropPtrace: opt.dropPtrace, user: opt.user, argv: opt.argv}
	attr := &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{PidFD: &j.pidfd},
	}
	// --record: the job's 0, 1, 2 become a pty or pipes.
	if j.rec, err = session.Prepare(opt.record, session.Config{Argv: opt.argv, Redactor: opt.redactor,
		KillGrace: opt.killGrace, Warn: sessionWarn}, attr); err != nil {
		cli.Errorf("%v", err)
		return cli.ExitSetup
	}
	start := time.Now()
	j.start = start
	pid, err := syscall.ForkExec("/proc/self/exe", append([]string{os.Args[0]}, ca.encode()...), attr)
	unix.Close(sp[1])
	j.rec.Started(pid, err)
	if err != nil {
		startErrorf("starting the child stage: %v", err)
		return cli.ExitSetup
	}
	j.pid = pid

	// --record: records on the terminal it made raw get \r\n, and
	// every exec record becomes a marker in the cast.
	j.writer = supervisor.NewWriter(j.rec.Output(opt.outFD), opt.format)
	j.writer.SetRedactor(opt.redactor) // redact.go
	if opt.foldMisses {
		j.writer.FoldPathMisses()
	}
	j.rec.Observe(j.writer)
	opt.report.attach(j.writer) // --report (report.go)
	opt.otlp.attach(j.writer)   // --otlp (otlp.go)
	h := supervisor.NewHandler("/proc")
	h.Policy = opt.policy
	h.ReadTimeout = opt.readTimeout
	h.Env = opt.env // --env
	kind, listener, err := receiveFromChild(sp[0])
	if err == nil && kind == 'T' && opt.backend == backendAuto {
		// auto asks to be traced first. When the child stage cannot be
		// traced (it is traced already: exectrail under exectrail
		// --backend ptrace, gdb, strace; or ptrace is refused here) it
		// falls back to notify, saying what that gives up. Decided before
		// the start record, which names the backend.
		if perr := probeTrace(pid); perr != nil {
			_, _ = unix.Write(sp[0], []byte{'N'})
			kind, listener, err = receiveFromChild(sp[0])
			if err == nil && kind == 'L' {
				cli.Warnf("cannot trace the job (%v): using --backend notify, whose exec records are predictions and whose trapped calls can fail with EINTR under signals (see README \"The default backend\")", perr)
			}
		}
	}
	// The start record (trail.go) is seq 1: nothing of the job has been
	// served yet.
	if serr := j.writeStart(kind); serr != nil {
		cli.Errorf("writing the start record: %v; stopping the command", serr)
		j.setupFailed = true
		_ = unix.PidfdSendSignal(j.pidfd, unix.SIGKILL, nil, 0)
		if kind == 'L' {
			unix.Close(listener)
		}
		err = serr
	}
	// The backend the child stage asked for, or none when it failed or
	// the job was stopped before it could be served.
	var b supervisor.Backend = supervisor.Unserved{}
	switch {
	case err != nil:
	case kind == 'L':
		b = supervisor.NewNotifyLoop(listener, j.writer, h, opt.log)
	case kind == 'T':
		b = supervisor.NewTracer(j.writer, h, opt.log)
	}
	reaped := make(chan supervisor.Reaped, 64)
	failed := make(chan error, 1)
	attached := make(chan error, 1)
	go func() {
		b.Serve(supervisor.Job{Root: pid, Start: start,
			Attached: func(err error) { attached <- err },
			Reaped:   func(c supervisor.Reaped) { reaped <- c },
			Failed:   func(err error) { failed <- err },
		})
		close(reaped)
	}()
	if aerr := <-attached; aerr != nil {
		startErrorf("%v", aerr)
		j.setupFailed = true
		err = aerr
	}
	if kind == 'T' {
		// The child stage waits to be told whether it is traced before
		// it loads its filter.
		if err != nil {
			_, _ = unix.Write(sp[0], []byte{'E'})
		} else {
			_, _ = unix.Write(sp[0], []byte{'G'})
		}
	}
	j.sock = sp[0]
	defer unix.Close(sp[0])
	return j.wait(reaped, failed, sigs)
}

// probeTrace tells whether the child stage pid (waiting for its answer,
// its filter not loaded yet) can be traced: it attaches from a thread of
// its own, stops the child, and detaches again. Whether the wait shows
// the stop or the child's death, the event is left for the backend's
// reaper (WNOWAIT).
func probeTrace(pid int) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // ptrace calls from one thread; dies with it
		if err := unix.PtraceSeize(pid); err != nil {
			done <- os.NewSyscallError("ptrace", err)
			return
		}
		if err := unix.PtraceInterrupt(pid); err != nil {
			done <- nil // attached: that is the answer
			return
		}
		var si unix.Siginfo
		for {
			err := unix.Waitid(unix.P_PID, pid, &si, unix.WSTOPPED|unix.WEXITED|unix.WALL|unix.WNOWAIT, nil)
			if err != unix.EINTR {
				break
			}
		}
		_ = unix.PtraceDetach(pid)
		done <- nil
	}()
	return <-done
}

// receiveFromChild reads the child stage's message: "L" with the seccomp
// listener fd, or "T" asking to be traced. EOF means the child stage
// exited without either.
func receiveFromChild(sock int) (byte, int, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, -1, err
		}
		if n == 0 {
			return 0, -1, errors.New("child stage exited")
		}
		if buf[0] == 'T' {
			return 'T', -1, nil
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return 0, -1, errors.New("no listener in the child stage's message")
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			return 0, -1, errors.New("no listener in the child stage's message")
		}
		return 'L', fds[0], nil
	}
}

type forwardedSignal struct {
	sig  syscall.Signal
	code int32
}

const siKernel = 0x80 // SI_KERNEL

func readSignals(fd int, out chan<- forwardedSignal) {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	var b [8]byte
	for {
		n, err := unix.Read(fd, b[:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			if _, err := unix.Poll(pfd, -1); err != nil && err != unix.EINTR {
				cli.Warnf("waiting for signals to forward: %v; no more are forwarded", os.NewSyscallError("poll", err))
				return
			}
			continue
		}
		if err != nil || n != 8 {
			// The handlers write 8 bytes at once (atomic in a pipe): any
			// other outcome — EOF, an error — will not get better by
			// trying again.
			if err == nil {
				err = fmt.Errorf("read %d bytes, want 8", n)
			}
			cli.Warnf("reading signals to forward: %v; no more are forwarded", err)
			return
		}
		sig := int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
		code := int32(uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24)
		out <- forwardedSignal{syscall.Signal(sig), code}
	}
}

// wait runs the job to its end and returns exectrail's exit status (or
// dies of the command's signal).
func (j *job) wait(reaped <-chan supervisor.Reaped, failed <-chan error, sigs <-chan forwardedSignal) int {
	var (
		rootStatus unix.WaitStatus
		rootDone   bool
		fatal      error
		// stopRequested: a termination signal came after COMMAND died
		// but before it was reaped.
		stopRequested bool
		killAt        time.Time
		sentTerm      = map[int]bool{}
		tick          <-chan time.Time
		ticker        *time.Ticker
		handled       bool
	)
	startOrphanPhase := func() {
		if ticker != nil {
			return
		}
		ticker = time.NewTicker(50 * time.Millisecond)
		tick = ticker.C
		killAt = time.Now().Add(j.opt.killGrace)
	}
	signalLeftovers := func() {
		kill := fatal != nil || time.Now().After(killAt)
		for _, pid := range procfs.Children("/proc", j.self) {
			if kill {
				signalChild(j.self, pid, unix.SIGKILL)
			} else if !sentTerm[pid] {
				sentTerm[pid] = true
				signalChild(j.self, pid, unix.SIGTERM, unix.SIGCONT)
			}
		}
	}
	// stop ends the job on exectrail's own failure (the output, say):
	// one error line, the job killed, status 125.
	stop := func(err error) {
		if fatal != nil {
			return
		}
		fatal = err
		cli.Errorf("%v; stopping the command", err)
		if j.pidfd >= 0 {
			_ = unix.PidfdSendSignal(j.pidfd, unix.SIGKILL, nil, 0)
		}
		startOrphanPhase()
		signalLeftovers()
	}
	for {
		select {
		case c, ok := <-reaped:
			if !ok {
				goto done
			}
			if c.PID == j.pid {
				rootStatus, rootDone = c.Status, true
				unix.Close(j.pidfd)
				j.pidfd = -1
				if j.opt.orphans == orphansKill || fatal != nil || stopRequested {
					startOrphanPhase()
					signalLeftovers()
				}
			}
		case s := <-sigs:
			if s.code, handled = j.rec.Signal(s.sig, s.code); handled {
				continue // --record: SIGWINCH resized the pty
			}
			if s.code == siKernel && !(s.sig == unix.SIGHUP && isSessionLeader()) {
				// Sent by the terminal to the whole process group:
				// the command has it already. (A hang-up goes to the
				// session leader alone: when that is exectrail, it is
				// passed on.)
				continue
			}
			if j.pidfd >= 0 {
				err := unix.PidfdSendSignal(j.pidfd, s.sig, nil, 0)
				if err == unix.ESRCH && isTermination(s.sig) {
					// COMMAND died and has not been reaped yet: the
					// request to stop applies to what it leaves.
					stopRequested = true
				}
				continue
			}
			if rootDone && isTermination(s.sig) {
				// COMMAND is gone and leftovers are being waited for
				// (--orphans=wait): being told to stop means stop them.
				startOrphanPhase()
				signalLeftovers()
			}
		case err := <-failed:
			stop(err)
		case <-tick:
			signalLeftovers()
		}
	}
done:
	if ticker != nil {
		ticker.Stop()
	}
	// The backend has returned: an error it met at the very end is here.
	select {
	case err := <-failed:
		if fatal == nil {
			fatal = err
			cli.Errorf("%v", err)
		}
	default:
	}
	// The end record (trail.go): every other record is written by now.
	if err := j.writeEnd(rootStatus, rootDone, fatal != nil || j.setupFailed); err != nil {
		cli.Errorf("writing the end record: %v", err)
		if fatal == nil {
			fatal = err
		}
	}
	// Text lines held back by the folding of PATH misses.
	if err := j.writer.Flush(); err != nil && fatal == nil {
		fatal = err
		cli.Errorf("%v", err)
	}
	// --record: the rest of the output, then the terminal restored,
	// before exectrail exits or dies of COMMAND's signal.
	j.rec.Finish()
	if fatal == nil {
		j.printExecError()
	}
	j.opt.report.print() // --report (report.go): every record is written by now
	j.opt.otlp.finish()  // --otlp (otlp.go): the export flushed, and its counts
	if fatal != nil || !rootDone || j.setupFailed {
		return cli.ExitSetup
	}
	switch {
	case rootStatus.Exited():
		return rootStatus.ExitStatus()
	case rootStatus.Signaled():
		sig := rootStatus.Signal()
		dieOfSignal(sig)
		return cli.ExitSignal + int(sig)
	}
	return cli.ExitSetup
}

// printExecError prints why the child stage's exec of COMMAND failed, if
// it did. (Not when exectrail's output failed: then it was exectrail that
// refused the exec, and the output error is the one line to print.)
func (j *job) printExecError() {
	buf := make([]byte, 4096)
	for {
		n, _, _, _, err := unix.Recvmsg(j.sock, buf, nil, unix.MSG_DONTWAIT)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		if buf[0] == 'X' {
			cli.Errorf("%s", buf[1:n])
			return
		}
	}
}

// signalChild sends sigs to pid through a pidfd, after checking that pid is
// still a child of self: between listing and signalling, the child may
// have been reaped and its pid reused by a process outside the job.
func signalChild(self, pid int, sigs ...syscall.Signal) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if p, err := procfs.Parent("/proc", pid); err != nil || p != self {
		return
	}
	for _, sig := range sigs {
		_ = unix.PidfdSendSignal(fd, sig, nil, 0)
	}
}

func isSessionLeader() bool {
	sid, err := unix.Getsid(0)
	return err == nil && sid == os.Getpid()
}

func isTermination(sig syscall.Signal) bool {
	return sig == unix.SIGTERM || sig == unix.SIGINT || sig == unix.SIGHUP || sig == unix.SIGQUIT
}
