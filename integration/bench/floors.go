package main

// The floors: the least a supervisor of each kind can cost on this
// machine, as two bare C programs built at bench time, so that #15's cost
// targets can be judged against what the kernel mechanism itself costs
// here.
//
//	floor-notify OUT -- COMMAND...
//	floor-ptrace OUT -- COMMAND...
//
// Both load exectrail's filter shape (filterC: execve, execveat, fork,
// vfork and clone without CLONE_THREAD trapped, clone3 refused with ENOSYS
// so that libc falls back to clone; other architectures than the native
// one are let through), run COMMAND under it and, for every exec, read
// only the path, the argv and the cwd (readlink /proc/PID/cwd), write one
// line "exec PID CWD PATH ARGV..." to OUT with one write(2), and let the
// call go on. No resolution, no ids, no namespaces, no cgroup, no
// verification, no fork records: what is left is the mechanism's own
// cost. They exit with COMMAND's status once COMMAND has exited (notify)
// or once every traced process has (ptrace).
//
// floor-notify takes the seccomp user-notification fd from the child over
// a socketpair (SCM_RIGHTS) and answers every notification with
// SECCOMP_USER_NOTIF_FLAG_CONTINUE, after NOTIF_ID_VALID for an exec (the
// read memory belongs to the caller). floor-ptrace uses SECCOMP_RET_TRACE
// with PTRACE_TRACEME and the fork, vfork, clone and exec events (as
// exectrail does, it follows every process and thread), reads the call at
// the seccomp stop with PTRACE_GET_SYSCALL_INFO, and passes every signal
// on except SIGSTOP (the first stop of each new tracee) and SIGTRAP (the
// benchmark's workloads send neither), so it is no model of job control.

const filterC = `
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <errno.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define FLOOR_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FLOOR_ARCH AUDIT_ARCH_AARCH64
#else
#error "floor: no audit arch for this architecture"
#endif
#ifndef __NR_fork
#define __NR_fork __NR_execve
#endif
#ifndef __NR_vfork
#define __NR_vfork __NR_execve
#endif

static struct sock_filter filter_insns[] = {
	/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FLOOR_ARCH, 0, 11),
	/* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 7, 0),
	/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 6, 0),
	/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fork, 5, 0),
	/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_vfork, 4, 0),
	/* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 4, 0),
	/* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4),
	/* 9 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
	/* 10 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 2, 0),
	/* 11 */ BPF_STMT(BPF_RET | BPF_K, FLOOR_ACTION),
	/* 12 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	/* 13 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};
static struct sock_fprog filter_prog = {sizeof filter_insns / sizeof filter_insns[0], filter_insns};
`

// floorCommonC reads the exec's strings and writes its line.
const floorCommonC = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static int out_fd;
static char line[1 << 16];

/* readstr appends the NUL-terminated string at addr in pid to line at *n,
 * reading up to each page end, and returns 0, or -1 if nothing could be
 * read. */
static int readstr(pid_t pid, uint64_t addr, size_t *n) {
	while (*n < sizeof line - 2) {
		size_t chunk = 4096 - (addr & 4095), room = sizeof line - 2 - *n;
		if (chunk > room)
			chunk = room;
		struct iovec l = {line + *n, chunk}, r = {(void *)addr, chunk};
		ssize_t got = process_vm_readv(pid, &l, 1, &r, 1, 0);
		if (got <= 0)
			return -1;
		char *z = memchr(line + *n, 0, got);
		if (z) {
			*n = z - line;
			return 0;
		}
		*n += got;
		addr += got;
	}
	return 0;
}

static size_t line_len;

/* record_pending builds the line "exec PID CWD PATH ARGV...\n" of an exec
 * of path, argv (addresses in pid); flush_pending writes it. */
static void record_pending(pid_t pid, uint64_t path, uint64_t argv) {
	size_t n = (size_t)snprintf(line, sizeof line, "exec %d ", pid);
	char link[64];
	snprintf(link, sizeof link, "/proc/%d/cwd", pid);
	ssize_t c = readlink(link, line + n, sizeof line / 4);
	if (c > 0)
		n += c;
	line[n++] = ' ';
	readstr(pid, path, &n);
	uint64_t ptrs[64];
	for (int done = 0; !done && n < sizeof line - 2;) {
		size_t want = 4096 - (argv & 4095);
		if (want > sizeof ptrs)
			want = sizeof ptrs;
		struct iovec l = {ptrs, want}, r = {(void *)argv, want};
		ssize_t got = process_vm_readv(pid, &l, 1, &r, 1, 0);
		if (got < 8)
			break;
		for (size_t i = 0; i < (size_t)got / 8; i++) {
			if (!ptrs[i]) {
				done = 1;
				break;
			}
			line[n++] = ' ';
			if (readstr(pid, ptrs[i], &n) < 0 || n >= sizeof line - 2) {
				done = 1;
				break;
			}
		}
		argv += got / 8 * 8;
	}
	line[n++] = '\n';
	line_len = n;
}

static void flush_pending(void) {
	if (write(out_fd, line, line_len) < 0) {
		perror("floor: write");
		exit(125);
	}
}

/* floor_start checks the arguments (OUT -- COMMAND...), opens OUT and
 * returns 0, or the status to exit with. */
static int floor_start(int argc, char **argv, const char *name) {
	if (argc < 4 || strcmp(argv[2], "--")) {
		fprintf(stderr, "usage: %s OUT -- COMMAND...\n", name);
		return 2;
	}
	out_fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out_fd < 0) {
		perror(argv[1]);
		return 125;
	}
	return 0;
}
`

const floorNotifyC = `#define FLOOR_ACTION SECCOMP_RET_USER_NOTIF
` + floorCommonC + filterC + `
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
	int rc = floor_start(argc, argv, "floor-notify");
	if (rc)
		return rc;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		return 125;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 125;
	}
	if (child == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
			perror("prctl");
			_exit(125);
		}
		int fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &filter_prog);
		if (fd < 0) {
			perror("seccomp");
			_exit(125);
		}
		char cbuf[CMSG_SPACE(sizeof(int))] = {0};
		char b = 0;
		struct iovec io = {&b, 1};
		struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof fd);
		if (sendmsg(sv[1], &m, 0) < 0) {
			perror("sendmsg");
			_exit(125);
		}
		close(fd);
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		_exit(127);
	}
	close(sv[1]);
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	char b;
	struct iovec io = {&b, 1};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	if (recvmsg(sv[0], &m, 0) != 1 || !CMSG_FIRSTHDR(&m)) {
		fprintf(stderr, "floor-notify: no listener from the child\n");
		return 125;
	}
	int lfd;
	memcpy(&lfd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof lfd);
	close(sv[0]);
	int pfd = syscall(__NR_pidfd_open, child, 0);
	if (pfd < 0) {
		perror("pidfd_open");
		return 125;
	}
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	struct pollfd p[2] = {{lfd, POLLIN, 0}, {pfd, POLLIN, 0}};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 125;
		}
		if (p[0].revents & POLLIN) {
			memset(&req, 0, sizeof req);
			if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
				if (errno == EINTR || errno == ENOENT)
					continue;
				perror("NOTIF_RECV");
				return 125;
			}
			int nr = req.data.nr;
			if (nr == __NR_execve || nr == __NR_execveat) {
				int at = nr == __NR_execveat;
				uint64_t path = req.data.args[at], av = req.data.args[at + 1];
				/* read, then check the id: the memory was the caller's */
				record_pending(req.pid, path, av);
				if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) == 0)
					flush_pending();
			}
			memset(&resp, 0, sizeof resp);
			resp.id = req.id;
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
			if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT) {
				perror("NOTIF_SEND");
				return 125;
			}
		} else if (p[0].revents & (POLLHUP | POLLERR)) {
			p[0].fd = -1; /* no process left under the filter */
		}
		if (p[1].revents & POLLIN) {
			int st;
			if (waitpid(child, &st, 0) < 0) {
				perror("waitpid");
				return 125;
			}
			if (WIFSIGNALED(st))
				return 128 + WTERMSIG(st);
			return WEXITSTATUS(st);
		}
	}
}
`

const floorPtraceC = `#define FLOOR_ACTION SECCOMP_RET_TRACE
` + floorCommonC + filterC + `
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
	int rc = floor_start(argc, argv, "floor-ptrace");
	if (rc)
		return rc;
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 125;
	}
	if (child == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0 || raise(SIGSTOP) < 0) {
			perror("ptrace");
			_exit(125);
		}
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter_prog) < 0) {
			perror("seccomp");
			_exit(125);
		}
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		_exit(127);
	}
	int st, status = 125;
	if (waitpid(child, &st, 0) < 0 || !WIFSTOPPED(st)) {
		fprintf(stderr, "floor-ptrace: the child did not stop\n");
		return 125;
	}
	long opts = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
		    PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
	if (ptrace(PTRACE_SETOPTIONS, child, 0, opts) < 0 || ptrace(PTRACE_CONT, child, 0, 0) < 0) {
		perror("ptrace");
		return 125;
	}
	struct __ptrace_syscall_info info;
	for (;;) {
		pid_t pid = waitpid(-1, &st, __WALL);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				return status;
			perror("waitpid");
			return 125;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (pid == child)
				status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st), event = st >> 16, inject = 0;
		if (event == PTRACE_EVENT_SECCOMP) {
			if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info) > 0 &&
			    info.op == PTRACE_SYSCALL_INFO_SECCOMP &&
			    (info.seccomp.nr == __NR_execve || info.seccomp.nr == __NR_execveat)) {
				int at = info.seccomp.nr == __NR_execveat;
				record_pending(pid, info.seccomp.args[at], info.seccomp.args[at + 1]);
				flush_pending();
			}
		} else if (event == 0 && sig != SIGSTOP && sig != SIGTRAP) {
			inject = sig;
		}
		ptrace(PTRACE_CONT, pid, 0, inject); /* ESRCH: it died meanwhile */
	}
}
`
