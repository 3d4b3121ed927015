package main

// The saturation phase: how many exec records per second a configuration
// sustains when the job asks for more than the supervisor can give.
//
// `sat W N PROGRAM` (satC) forks W workers that each fork+exec PROGRAM
// (tiny: static, libc-free, exits at once; /bin/true when that cannot be
// built) N times, one at a time, waiting for each child; it prints the
// nanoseconds from the first worker's fork to the last worker's exit, so
// that the supervisor's start and end are not in the figure. Throughput
// is W×N / that time: fork+execs per second, each one exec record and one
// fork record (plus, under ptrace, an exit record). Every worker count of
// -workers runs -sat-runs times under every configuration, alternating
// as the workloads do, and the supervisor's CPU per exec record comes
// from its own figures (taskstats.go; this also counts its start-up,
// which is small against W×N records).

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Saturation is one configuration at one worker count.
type Saturation struct {
	Config  string `json:"config"`
	Workers int    `json:"workers"`
	Count   int    `json:"execs_per_worker"`
	Program string `json:"program"` // tiny or /bin/true
	// ExecsPerSecond: the median over the runs of W×N / the time from the
	// first fork to the last worker's exit; RatioToNative: the median of
	// the pair-by-pair ratios of throughput to native's in the same round.
	ExecsPerSecond float64   `json:"execs_per_second"`
	RatioToNative  float64   `json:"throughput_ratio_to_native"`
	RunsPerSecond  []float64 `json:"runs_execs_per_second"`
	FailedRuns     int       `json:"failed_runs,omitempty"`
	// The supervisor's CPU per exec record (µs) and scheduling per exec
	// record, medians; absent for native.
	CPUUSPerExec   float64 `json:"supervisor_cpu_us_per_exec,omitempty"`
	SwitchesPerExc float64 `json:"supervisor_switches_per_exec,omitempty"`
}

func runSaturation(cfg Config, configs []config, dir string, res *Results) error {
	if err := cc(dir, "sat", satC, "-Wall"); err != nil {
		return fmt.Errorf("cannot build the workers: %v", err)
	}
	prog, progName := filepath.Join(dir, "tiny"), "tiny"
	if err := cc(dir, "tiny", tinyC, "-static", "-nostdlib", "-nostartfiles", "-fno-stack-protector"); err != nil {
		prog, progName = "/bin/true", "/bin/true"
		fmt.Fprintf(cfg.Log, "bench: saturation: cannot build tiny (%v); the workers exec /bin/true instead\n", err)
	}
	recs := filepath.Join(dir, "records.json")
	n := cfg.SatCount
	for _, w := range cfg.Workers {
		fmt.Fprintf(cfg.Log, "== saturation: %d workers × %d fork+exec of %s, %d runs\n", w, n, progName, cfg.SatRuns)
		rates := make([][]float64, len(configs)) // failed: -1
		cpus := make([][]CPUUse, len(configs))
		argv := []string{filepath.Join(dir, "sat"), strconv.Itoa(w), strconv.Itoa(n), prog}
		for round := 0; round < cfg.SatRuns; round++ {
			for ci, c := range configs {
				r, err := timeRun(c.wrap(recs, argv), dir, nil, c.kind != "native", true)
				var ns float64
				if err == nil {
					ns, err = strconv.ParseFloat(strings.TrimSpace(r.stdout), 64)
					if err == nil && ns <= 0 {
						err = fmt.Errorf("elapsed %q", r.stdout)
					}
				}
				if err != nil {
					fmt.Fprintf(cfg.Log, "bench: saturation/%d under %s, run %d: %v\n", w, c.name, round+1, err)
					rates[ci] = append(rates[ci], -1)
					continue
				}
				rates[ci] = append(rates[ci], float64(w*n)/(ns/1e9))
				if r.cpuOK {
					cpus[ci] = append(cpus[ci], r.cpu)
				}
			}
			fmt.Fprint(cfg.Log, ".")
		}
		fmt.Fprintln(cfg.Log)
		for ci, c := range configs {
			s := Saturation{Config: c.name, Workers: w, Count: n, Program: progName, RunsPerSecond: round3(rates[ci])}
			var ok, ratios []float64
			ok, ratios, s.FailedRuns = pairwise(rates, ci)
			s.ExecsPerSecond = r3(median(ok))
			s.RatioToNative = r3(median(ratios))
			_, s.CPUUSPerExec, s.SwitchesPerExc, _ = cpuStats(cpus[ci], w*n)
			res.Saturation = append(res.Saturation, s)
		}
	}
	return nil
}

// satC: sat W N PROGRAM. W workers, each N times: fork, execve PROGRAM in
// the child (no arguments, empty environment; _exit(127) if it fails),
// waitpid; a child that does not exit 0 fails the worker, and a failed
// worker the run (status 1). Prints the nanoseconds (CLOCK_MONOTONIC) from
// before the first worker's fork to the last worker's reaping.
const satC = `#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: sat W N PROGRAM\n");
		return 2;
	}
	int w = atoi(argv[1]);
	long n = atol(argv[2]);
	char *args[] = {argv[3], NULL}, *env[] = {NULL};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < w; i++) {
		pid_t p = fork();
		if (p < 0) { perror("fork"); return 1; }
		if (p > 0)
			continue;
		for (long j = 0; j < n; j++) {
			pid_t c = fork();
			if (c < 0) { perror("fork"); _exit(1); }
			if (c == 0) {
				execve(argv[3], args, env);
				_exit(127);
			}
			int st;
			if (waitpid(c, &st, 0) < 0) { perror("waitpid"); _exit(1); }
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "sat: %s: wait status %#x\n", argv[3], st);
				_exit(1);
			}
		}
		_exit(0);
	}
	int failed = 0, st;
	for (int i = 0; i < w; i++) {
		if (wait(&st) < 0) { perror("wait"); return 1; }
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
	return failed;
}
`
