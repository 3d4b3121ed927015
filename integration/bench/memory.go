package main

// The memory phase: does the supervisor's memory stay flat over a long exec
// storm, that is, is per-process state released when a process exits?
//
// For each backend it runs `exectrail run --backend B -o /dev/null --
// spawner N COUNTER PROGRAM`, where spawner (C) vfork+execs PROGRAM N times,
// one at a time, and PROGRAM is tiny (static, libc-free, exits at once) or,
// when that cannot be built, /bin/true. The spawner stores the number of
// completed iterations in a shared mapping of COUNTER, which the harness
// maps too: following the progress costs the spawner no syscall. Every 250
// ms the harness reads VmRSS and VmHWM of the exectrail process from
// /proc/PID/status; the 100% sample is taken once all N children have been
// reaped, while the spawner holds on (see spawnerC) and the supervisor
// still runs.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Memory is one backend's memory-flatness run.
type Memory struct {
	Config         string       `json:"config"`
	Program        string       `json:"program"` // what the spawner execs: tiny or /bin/true
	Execs          int          `json:"execs"`
	Seconds        float64      `json:"seconds"`
	ExecsPerSecond float64      `json:"execs_per_second"`
	Checkpoints    []Checkpoint `json:"checkpoints"`
	PeakRSSKiB     int          `json:"peak_rss_kib"` // the highest VmHWM read
	Flat           bool         `json:"flat"`
}

// Checkpoint is the first sample at or past Percent of the execs (100: the
// one taken once the last child was reaped). HWMKiB is the highest VmHWM read so far: the
// kernel's can read lower after memory was returned to it.
type Checkpoint struct {
	Percent int     `json:"percent"`
	Execs   int     `json:"execs"`
	Seconds float64 `json:"seconds"`
	RSSKiB  int     `json:"rss_kib"`
	HWMKiB  int     `json:"hwm_kib"`
}

var memoryPercents = []int{1, 10, 50, 100}

const (
	memorySampleEvery = 250 * time.Millisecond
	memoryPollEvery   = 10 * time.Millisecond // the counter: an atomic load
	memoryStall       = 60 * time.Second      // no progress for this long: kill the run
)

// flat reports whether VmHWM at 100% is within 10% or 2 MiB, whichever is
// larger, of VmHWM at 10%.
func flat(hwm10, hwm100 int) bool {
	return hwm100-hwm10 <= max(hwm10/10, 2048)
}

// runMemory runs the memory phase for each of cfg.MemoryConfigs, appending
// to res.Memory, or to res.Skipped what could not run.
func runMemory(cfg Config, et, dir string, res *Results) {
	backends := strings.Split(cfg.MemoryConfigs, ",")
	if cfg.MemoryConfigs == "" {
		backends = []string{"notify", "ptrace"}
	}
	skip := func(msg string) {
		fmt.Fprintln(cfg.Log, "bench: skipping", msg)
		res.Skipped = append(res.Skipped, msg)
	}
	if err := cc(dir, "spawner", spawnerC, "-Wall"); err != nil {
		skip(fmt.Sprintf("memory: cannot build the spawner: %v", err))
		return
	}
	prog := filepath.Join(dir, "tiny")
	if err := cc(dir, "tiny", tinyC, "-static", "-nostdlib", "-nostartfiles", "-fno-stack-protector"); err != nil {
		prog = "/bin/true"
		fmt.Fprintf(cfg.Log, "bench: memory: cannot build tiny (%v); the spawner execs /bin/true instead\n", err)
	}
	for _, b := range backends {
		if b != "notify" && b != "ptrace" {
			skip(fmt.Sprintf("memory/%s: not an exectrail backend (notify, ptrace)", b))
			continue
		}
		fmt.Fprintf(cfg.Log, "== memory under %s: %d × vfork+exec of %s\n", b, cfg.MemoryExecs, filepath.Base(prog))
		m, err := memoryRun(cfg.Log, et, b, dir, prog, cfg.MemoryExecs)
		if err != nil {
			skip(fmt.Sprintf("memory/%s: %v", b, err))
			continue
		}
		res.Memory = append(res.Memory, m)
	}
}

type memSample struct {
	t              time.Duration
	execs          int
	rssKiB, hwmKiB int
}

func memoryRun(log io.Writer, et, backend, dir, prog string, n int) (Memory, error) {
	m := Memory{Config: backend, Program: "tiny"}
	if prog == "/bin/true" {
		m.Program = prog
	}
	counter := filepath.Join(dir, "counter")
	if err := os.WriteFile(counter, make([]byte, 16), 0o644); err != nil {
		return m, err
	}
	f, err := os.OpenFile(counter, os.O_RDWR, 0)
	if err != nil {
		return m, err
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, 16, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	f.Close()
	if err != nil {
		return m, fmt.Errorf("mmap %s: %v", counter, err)
	}
	defer syscall.Munmap(mem)
	done := (*uint64)(unsafe.Pointer(&mem[0]))    // written by the spawner
	release := (*uint64)(unsafe.Pointer(&mem[8])) // written here: the spawner may exit

	cmd := exec.Command(et, "run", "--backend", backend, "-o", "/dev/null", "--",
		filepath.Join(dir, "spawner"), strconv.Itoa(n), counter, prog)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return m, err
	}
	pid := cmd.Process.Pid
	waitc := make(chan error, 1)
	go func() { waitc <- cmd.Wait() }()
	exited := false
	stop := func() { // the job as well: exectrail leaves it in the group
		if !exited {
			syscall.Kill(-pid, syscall.SIGKILL)
			<-waitc
			exited = true
		}
	}
	defer stop()
	fail := func(err error) (Memory, error) {
		stop()
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[len(msg)-300:]
		}
		if msg != "" {
			err = fmt.Errorf("%v: %s", err, msg)
		}
		return m, err
	}

	status := fmt.Sprintf("/proc/%d/status", pid)
	var samples []memSample
	var elapsed time.Duration
	lastSample := time.Duration(-memorySampleEvery)
	progress, progressAt := 0, time.Duration(0)
	nextLog := 1 // percent: progress lines at 1%, then every 10%
	tick := time.NewTicker(memoryPollEvery)
	defer tick.Stop()
	for {
		now := time.Since(start)
		execs := int(atomic.LoadUint64(done))
		if execs >= n || now-lastSample >= memorySampleEvery {
			s := memSample{t: now, execs: execs}
			s.rssKiB, s.hwmKiB = vmRSSHWM(status)
			if s.hwmKiB > 0 { // 0: exited, a zombie
				if len(samples) > 0 { // VmHWM can read lower after memory was returned
					s.hwmKiB = max(s.hwmKiB, samples[len(samples)-1].hwmKiB)
				}
				samples = append(samples, s)
			}
			lastSample = now
			if s.hwmKiB > 0 && (execs*100 >= n*nextLog || execs >= n) {
				fmt.Fprintf(log, "  %3d%%: %d execs at %.1f s, RSS %.1f MiB, VmHWM %.1f MiB\n",
					execs*100/n, execs, now.Seconds(), mib(s.rssKiB), mib(s.hwmKiB))
				nextLog = execs*100/n/10*10 + 10
			}
			if execs >= n {
				if s.hwmKiB == 0 {
					return fail(errors.New("exectrail exited before its last sample"))
				}
				elapsed = now
				atomic.StoreUint64(release, 1)
				break
			}
		}
		if execs != progress {
			progress, progressAt = execs, now
		} else if now-progressAt > memoryStall {
			return fail(fmt.Errorf("no progress for %v at %d of %d execs; killed", memoryStall, execs, n))
		}
		select {
		case err := <-waitc:
			exited = true
			if err == nil {
				err = errors.New("exited 0")
			}
			return fail(fmt.Errorf("%v before %d execs (at %d)", err, n, int(atomic.LoadUint64(done))))
		case <-tick.C:
		}
	}
	select {
	case err := <-waitc:
		exited = true
		if err != nil {
			return fail(err)
		}
	case <-time.After(memoryStall):
		return fail(fmt.Errorf("did not exit within %v of its last exec", memoryStall))
	}

	m.Execs = n
	m.Seconds = r3(elapsed.Seconds())
	m.ExecsPerSecond = r3(float64(n) / elapsed.Seconds())
	last := samples[len(samples)-1]
	for _, p := range memoryPercents {
		i := slices.IndexFunc(samples, func(s memSample) bool { return s.execs*100 >= n*p })
		s := samples[i] // found: the last sample is at n
		m.Checkpoints = append(m.Checkpoints, Checkpoint{Percent: p, Execs: s.execs, Seconds: r3(s.t.Seconds()), RSSKiB: s.rssKiB, HWMKiB: s.hwmKiB})
	}
	m.PeakRSSKiB = last.hwmKiB
	m.Flat = flat(m.checkpoint(10).HWMKiB, m.checkpoint(100).HWMKiB)
	return m, nil
}

func (m *Memory) checkpoint(percent int) Checkpoint {
	for _, c := range m.Checkpoints {
		if c.Percent == percent {
			return c
		}
	}
	return Checkpoint{}
}

func mib(kib int) float64 { return float64(kib) / 1024 }

// vmRSSHWM reads VmRSS and VmHWM (KiB) from a /proc/PID/status; 0 for
// what is not there (the process is gone, or a zombie).
func vmRSSHWM(status string) (rss, hwm int) {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.Atoi(f[0])
		if k == "VmRSS" {
			rss = n
		} else {
			hwm = n
		}
	}
	return rss, hwm
}

// tinyC exits 0 at once: static, no libc, no dynamic loader, so that an
// exec costs the kernel and the supervisor and next to nothing else.
const tinyC = `void _start(void) {
#if defined(__x86_64__)
	__asm__ volatile("syscall" : : "a"(231), "D"(0) : "rcx", "r11", "memory"); /* exit_group(0) */
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = 94, x0 __asm__("x0") = 0; /* exit_group(0) */
	__asm__ volatile("svc #0" : : "r"(x8), "r"(x0) : "memory");
#else
#error "tiny: no exit_group for this architecture"
#endif
	for (;;)
		;
}
`

// spawnerC: spawner N COUNTER PROGRAM. N times: vfork, execve PROGRAM in the
// child (no arguments, empty environment; _exit(127) if execve fails),
// waitpid in the parent; a child that does not exit 0 ends the run with
// status 1. COUNTER is 16 bytes, mapped shared: after each iteration the
// spawner stores the number done in the first 8; when all are done it
// waits, at most 10 s, for the harness to store nonzero in the other 8 (it
// has taken its last sample) before it exits.
const spawnerC = `#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: spawner N COUNTER PROGRAM\n");
		return 2;
	}
	long n = atol(argv[1]);
	int fd = open(argv[2], O_RDWR);
	if (fd < 0) { perror(argv[2]); return 1; }
	uint64_t *c = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED) { perror("mmap"); return 1; }
	close(fd);
	char *args[] = {argv[3], NULL}, *env[] = {NULL};
	for (long i = 0; i < n; i++) {
		pid_t pid = vfork();
		if (pid < 0) { perror("vfork"); return 1; }
		if (pid == 0) {
			execve(argv[3], args, env);
			_exit(127);
		}
		int st;
		if (waitpid(pid, &st, 0) < 0) { perror("waitpid"); return 1; }
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "spawner: %s, iteration %ld: wait status %#x\n", argv[3], i + 1, st);
			return 1;
		}
		__atomic_store_n(&c[0], (uint64_t)(i + 1), __ATOMIC_RELEASE);
	}
	for (int i = 0; i < 10000 && !__atomic_load_n(&c[1], __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	return 0;
}
`
