package main

/*
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

// What exectrail itself inherited, captured by a constructor before the Go
// runtime installs its own handlers (which would hide an inherited
// SIG_IGN for most signals; KERNEL-FACTS 32).
static unsigned long long initial_ignored, initial_blocked;
static int initial_closed; // bit N: fd N (0-2) was closed at startup

__attribute__((constructor)) static void exectrail_capture_signals(void) {
	struct sigaction sa;
	sigset_t set;
	// The Go runtime opens /dev/null on closed standard fds before main;
	// remember which were closed, so records never go there unseen.
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
			initial_closed |= 1 << fd;
	for (int s = 1; s <= 64; s++) {
		if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			initial_ignored |= 1ULL << (s - 1);
	}
	if (sigprocmask(SIG_SETMASK, NULL, &set) == 0) {
		for (int s = 1; s <= 64; s++)
			if (sigismember(&set, s) == 1)
				initial_blocked |= 1ULL << (s - 1);
	}
}

static unsigned long long exectrail_initial_ignored(void) { return initial_ignored; }
static unsigned long long exectrail_initial_blocked(void) { return initial_blocked; }
static int exectrail_initial_closed(void) { return initial_closed; }

// Forwarded signals are caught by this handler, which needs siginfo to tell
// a signal the terminal sent to the whole process group (si_code
// SI_KERNEL: the job got it too) from one sent to exectrail alone.
static int forward_fd = -1;

struct fwd_msg { int sig; int code; };

static void exectrail_on_signal(int sig, siginfo_t *si, void *uc) {
	int saved = errno;
	struct fwd_msg m = { sig, si ? si->si_code : 0 };
	ssize_t r = write(forward_fd, &m, sizeof m);
	(void)r;
	errno = saved;
}

static int exectrail_catch(int fd, int sig) {
	struct sigaction sa;
	forward_fd = fd;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = exectrail_on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

static int exectrail_ignore(int sig) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	return sigaction(sig, &sa, NULL);
}

// Restore, on the calling thread, the dispositions and mask a command
// should start with: ignored signals stay ignored across exec, everything
// else reverts to default there.
static void exectrail_restore_for_exec(unsigned long long ignored, unsigned long long blocked) {
	sigset_t set;
	sigemptyset(&set);
	for (int s = 1; s <= 64; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		if (ignored & (1ULL << (s - 1)))
			exectrail_ignore(s);
		if (blocked & (1ULL << (s - 1)))
			sigaddset(&set, s);
	}
	pthread_sigmask(SIG_SETMASK, &set, NULL);
}

// Die of sig the way the command did: default action, unblocked, no core
// file of our own.
static void exectrail_die_of(int sig) {
	struct sigaction sa;
	struct rlimit rl = {0, 0};
	sigset_t set;
	setrlimit(RLIMIT_CORE, &rl);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigaction(sig, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}
*/
import "C"

import (
	"fmt"
	"syscall"
)

// initialSignals returns the signals exectrail inherited as ignored and as
// blocked, as bit masks (bit N-1 for signal N).
func initialSignals() (ignored, blocked uint64) {
	return uint64(C.exectrail_initial_ignored()), uint64(C.exectrail_initial_blocked())
}

// initiallyClosed reports whether standard fd (0–2) was closed when
// exectrail started.
func initiallyClosed(fd int) bool {
	return fd >= 0 && fd <= 2 && int(C.exectrail_initial_closed())&(1<<fd) != 0
}

func catchSignal(fd int, sig syscall.Signal) error {
	if r, err := C.exectrail_catch(C.int(fd), C.int(sig)); r != 0 {
		return fmt.Errorf("sigaction %v: %w", sig, err)
	}
	return nil
}

func ignoreSignal(sig syscall.Signal) {
	C.exectrail_ignore(C.int(sig))
}

func restoreSignalsForExec(ignored, blocked uint64) {
	C.exectrail_restore_for_exec(C.ulonglong(ignored), C.ulonglong(blocked))
}

// dieOfSignal re-raises sig on exectrail so that a calling shell sees the
// command's death by signal. It returns only if sig did not kill us.
func dieOfSignal(sig syscall.Signal) {
	C.exectrail_die_of(C.int(sig))
}
