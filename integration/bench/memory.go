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
// /proc/PID/status and counts its open fds (/proc/PID/fd); the 100% sample
// is taken once all N children have been reaped, while the spawner holds on
// (see spawnerC) and the supervisor still runs.
//
// "Flat" (Memory.judge) means both of:
//   - the median VmRSS of the samples taken in the last 10% of the execs
//     (before the 100% sample) is at most max(5%, 1 MiB) above the median
//     VmRSS of the samples taken from 5% to 15% of the execs (a drop counts
//     as flat). VmRSS, not VmHWM: VmHWM is a running maximum, and growth
//     that stays below an early peak would not show in it;
//   - the open fds at 100% are at most 2 more than at 10%.
//
// A run too short to have a sample in both windows is not flat: its medians
// are unknown (null in the JSON) and FlatReason says why.
//
// Pids are reused: state that exectrail keeps per pid and fails to drop
// stops growing once the pids have wrapped, after about pid_max execs. The
// run records pid_max (Results.PidMax) so that the table can say how many
// pid cycles N execs cover.
//
// SIGINT and SIGTERM, while the phase runs, kill the run's process group
// (exectrail and the job it leaves in the group) and end Run with an
// interrupted error, after which Run removes its temporary directory and
// main exits 128+signal.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
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
	// The median VmRSS of the samples in the baseline window (from
	// BaselineFromExecs to BaselineToExecs execs: 5% to 15% of the run,
	// but ending within the first half pid cycle, before a leak bounded
	// by pid_max could have stopped growing), and of those in the last
	// 10% before the 100% sample, with how many samples each is of; nil
	// (null) when there is none.
	BaselineFromExecs int  `json:"baseline_from_execs"`
	BaselineToExecs   int  `json:"baseline_to_execs"`
	BaselineRSSKiB    *int `json:"baseline_rss_kib"`
	BaselineSamples   int  `json:"baseline_samples"`
	FinalRSSKiB       *int `json:"final_rss_kib"`
	FinalSamples      int  `json:"final_samples"`
	// Flat: the final median at most max(5%, 1 MiB) above the baseline
	// median, and fds at 100% at most fds at 10% + 2 (see judge). When
	// not, FlatReason says why.
	Flat       bool   `json:"flat"`
	FlatReason string `json:"flat_reason,omitempty"`
}

// Checkpoint is the first sample at or past Percent of the execs (100: the
// one taken once the last child was reaped). HWMKiB is the highest VmHWM
// read so far: the kernel's can read lower after memory was returned to
// it. FDs is the number of open fds of the exectrail process (-1: could not
// be read).
type Checkpoint struct {
	Percent int     `json:"percent"`
	Execs   int     `json:"execs"`
	Seconds float64 `json:"seconds"`
	RSSKiB  int     `json:"rss_kib"`
	HWMKiB  int     `json:"hwm_kib"`
	FDs     int     `json:"fds"`
}

var memoryPercents = []int{1, 10, 50, 100}

const (
	memorySampleEvery = 250 * time.Millisecond
	memoryPollEvery   = 10 * time.Millisecond // the counter: an atomic load
	memoryStall       = 60 * time.Second      // no progress for this long: kill the run
	memoryWaitDelay   = 2 * time.Second       // after exectrail exits, for whatever holds its stderr pipe

	// The windows of the flat verdict, in percent of the execs: the
	// baseline from 5% to 15%, the final one from 90% to the 100% sample
	// (excluded).
	baselineFrom, baselineTo, finalFrom = 5, 15, 90
	// Allowed growth: max(VmRSS baseline / flatRSSDiv, flatRSSMinKiB), and
	// flatFDs more fds at 100% than at 10%.
	flatRSSDiv, flatRSSMinKiB, flatFDs = 20, 1024, 2
)

// interrupted is the error of a memory run ended by SIGINT or SIGTERM.
type interrupted struct {
	backend       string
	sig           syscall.Signal
	execs, ofExec int // how far the run had got; 0, 0: between runs
}

func (e interrupted) Error() string {
	if e.ofExec == 0 {
		return fmt.Sprintf("memory/%s: %v before the run", e.backend, e.sig)
	}
	return fmt.Sprintf("memory/%s: %v at %d of %d execs: killed exectrail's process group", e.backend, e.sig, e.execs, e.ofExec)
}

// baselineWindow is the baseline window of a run of n execs, in execs:
// 5% to 15% of the run, but ending at half a pid cycle (pidMax/2; pidMax
// 0: unknown), and then starting at half its end at the latest.
func baselineWindow(n, pidMax int) (from, to int) {
	from, to = n*baselineFrom/100, n*baselineTo/100
	if pidMax > 0 && to > pidMax/2 {
		to = pidMax / 2
	}
	return min(from, to/2), to
}

// judge sets m's window medians, their sample counts, Flat and FlatReason
// from the samples of a run of n execs (the last one the 100% sample), the
// machine's pid_max (0: unknown) and the fds of m.Checkpoints. See the
// package comment of memory.go.
func (m *Memory) judge(samples []memSample, n, pidMax int) {
	var base, fin []float64
	m.BaselineFromExecs, m.BaselineToExecs = baselineWindow(n, pidMax)
	for i, s := range samples {
		if s.execs >= m.BaselineFromExecs && s.execs <= m.BaselineToExecs {
			base = append(base, float64(s.rssKiB))
		}
		if i < len(samples)-1 && s.execs < n && s.execs*100 >= n*finalFrom {
			fin = append(fin, float64(s.rssKiB))
		}
	}
	m.BaselineSamples, m.FinalSamples = len(base), len(fin)
	m.BaselineRSSKiB, m.FinalRSSKiB = nil, nil
	var why []string
	if len(base) > 0 {
		b := int(median(base))
		m.BaselineRSSKiB = &b
	} else {
		why = append(why, fmt.Sprintf("no sample from %d to %d execs", m.BaselineFromExecs, m.BaselineToExecs))
	}
	if len(fin) > 0 {
		f := int(median(fin))
		m.FinalRSSKiB = &f
	} else {
		why = append(why, fmt.Sprintf("no sample from %d%% of the execs to the 100%% sample", finalFrom))
	}
	if len(why) > 0 {
		why[len(why)-1] += fmt.Sprintf(" (too short a run for a sample every %v): VmRSS medians unknown", memorySampleEvery)
	}
	if m.BaselineRSSKiB != nil && m.FinalRSSKiB != nil {
		b, f := *m.BaselineRSSKiB, *m.FinalRSSKiB
		if tol := max(b/flatRSSDiv, flatRSSMinKiB); f-b > tol {
			why = append(why, fmt.Sprintf("median VmRSS grew %.1f MiB, from %.1f MiB (%d–%d execs) to %.1f MiB (last %d%%), more than the %.1f MiB allowed",
				mib(f-b), mib(b), m.BaselineFromExecs, m.BaselineToExecs, mib(f), 100-finalFrom, mib(tol)))
		}
	}
	fd10, fd100 := m.checkpoint(10).FDs, m.checkpoint(100).FDs
	switch {
	case fd10 < 0 || fd100 < 0:
		why = append(why, "open fds unknown")
	case fd100 > fd10+flatFDs:
		why = append(why, fmt.Sprintf("open fds grew from %d at 10%% to %d at 100%%", fd10, fd100))
	}
	m.Flat = len(why) == 0
	m.FlatReason = strings.Join(why, "; ")
}

// runMemory runs the memory phase for each of cfg.MemoryConfigs, appending
// to res.Memory, or to res.Skipped what could not run. From its start to
// its end it catches SIGINT and SIGTERM: one ends the run in progress and
// runMemory, which returns an interrupted error.
func runMemory(cfg Config, et, dir string, res *Results) error {
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigc)
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
		return nil
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
		select {
		case sig := <-sigc: // while building or between runs
			return interrupted{backend: b, sig: sig.(syscall.Signal)}
		default:
		}
		fmt.Fprintf(cfg.Log, "== memory under %s: %d × vfork+exec of %s\n", b, cfg.MemoryExecs, filepath.Base(prog))
		m, err := memoryRun(cfg.Log, et, b, dir, prog, cfg.MemoryExecs, sigc)
		if errors.As(err, new(interrupted)) {
			return err
		}
		if err != nil {
			skip(fmt.Sprintf("memory/%s: %v", b, err))
			continue
		}
		res.Memory = append(res.Memory, m)
	}
	return nil
}

type memSample struct {
	t              time.Duration
	execs          int
	rssKiB, hwmKiB int
	fds            int // -1: unknown
}

// memoryRun runs one backend's memory run of n execs. A signal on sigc
// kills the run's process group and makes it return an interrupted error.
func memoryRun(log io.Writer, et, backend, dir, prog string, n int, sigc <-chan os.Signal) (Memory, error) {
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
	cmd.WaitDelay = memoryWaitDelay
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return m, err
	}
	pid := cmd.Process.Pid
	waitc := make(chan error, 1)
	go func() { waitc <- cmd.Wait() }()
	exited := false
	// stop kills the process group, the job as well (exectrail leaves it
	// in the group, and it can outlive exectrail), and waits for
	// exectrail. The group outlives its leader while any member lives, so
	// the kill is right even after exectrail was reaped; ESRCH: the group
	// is gone.
	stop := func() {
		syscall.Kill(-pid, syscall.SIGKILL)
		if !exited {
			<-waitc
			exited = true
		}
	}
	defer stop()
	interrupt := func(sig os.Signal) (Memory, error) {
		stop()
		return m, interrupted{backend, sig.(syscall.Signal), int(atomic.LoadUint64(done)), n}
	}
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
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
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
				s.fds = countFDs(fdDir)
				if len(samples) > 0 { // VmHWM can read lower after memory was returned
					s.hwmKiB = max(s.hwmKiB, samples[len(samples)-1].hwmKiB)
				}
				samples = append(samples, s)
			}
			lastSample = now
			if s.hwmKiB > 0 && (execs*100 >= n*nextLog || execs >= n) {
				fmt.Fprintf(log, "  %3d%%: %d execs at %.1f s, RSS %.1f MiB, VmHWM %.1f MiB, %d fds\n",
					execs*100/n, execs, now.Seconds(), mib(s.rssKiB), mib(s.hwmKiB), s.fds)
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
		case sig := <-sigc:
			return interrupt(sig)
		case <-tick.C:
		}
	}
	select {
	case err := <-waitc:
		exited = true
		if err != nil {
			return fail(err)
		}
	case sig := <-sigc:
		return interrupt(sig)
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
		m.Checkpoints = append(m.Checkpoints, Checkpoint{Percent: p, Execs: s.execs, Seconds: r3(s.t.Seconds()),
			RSSKiB: s.rssKiB, HWMKiB: s.hwmKiB, FDs: s.fds})
	}
	m.PeakRSSKiB = last.hwmKiB
	m.judge(samples, n, pidMax())
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

// countFDs counts the entries of a /proc/PID/fd: the process's open fds;
// -1 when it cannot be read (the process is gone, or a zombie).
func countFDs(dir string) int {
	f, err := os.Open(dir)
	if err != nil {
		return -1
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return -1
	}
	return len(names)
}

// pidMax reads /proc/sys/kernel/pid_max; 0 if it cannot.
func pidMax() int {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

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
