// Command bench is exectrail's performance harness (`make bench`).
//
// It generates a set of workloads in a temporary directory — an exec storm
// of /bin/true from sh, the same storm with relative paths, fork-only
// subshells, make -j2 on small generated C files, a thread-heavy C program,
// an exec-free syscall-heavy C program and a Go build of a tiny module —
// and runs each natively, under `exectrail run --backend notify`, under
// `--backend ptrace` and, when strace is installed, under
// `strace -f --seccomp-bpf -e trace=execve`. Runs alternate between the
// configurations (A B C D A B C D …) so that drift in the machine's speed
// hits all of them alike.
//
// For each workload and configuration it prints the median wall time, the
// median of the pair-by-pair ratios to the native run of the same round,
// and, for workloads that exec, the microseconds per exec (native) and the
// microseconds each exec adds (from the medians). It writes the same as
// JSON (-out), with the machine's CPU count, kernel, Go version and date,
// and the supervisor's peak RSS (VmHWM of the exectrail process, sampled
// while it runs).
//
// Then, unless -memory-execs is 0, the memory phase (memory.go): under each
// backend of -memory-configs, a C spawner vfork+execs a tiny static program
// -memory-execs times (default 1,000,000) while the harness samples the
// supervisor's VmRSS and VmHWM every 250 ms; it prints VmRSS and the open
// fds at 1%, 10%, 50% and 100% of the execs, the peak (VmHWM), and whether
// memory stayed flat: the median VmRSS of the samples in the last 10% of
// the execs at most max(5%, 1 MiB) above the median of those from 5% to
// 15%, and at most 2 more open fds at 100% than at 10% (a run too short to
// have samples in both windows is not flat, and says so). It records
// kernel.pid_max, which bounds what a per-pid leak can grow to, and prints
// how many pid cycles the run covers. SIGINT or SIGTERM during the memory
// phase kills the run's process group, removes the temporary directory and
// exits 128+signal. `-workloads none` runs the memory phase alone.
//
// It is a program, not a test: its output is the point, it runs for
// minutes, and nothing in `make test` may depend on timing. A smoke test
// (bench_test.go) runs one tiny workload once and a 200-exec memory phase,
// and checks the JSON shape.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	var cfg Config
	flag.IntVar(&cfg.Runs, "runs", envInt("BENCH_RUNS", 1, 10), "runs per workload and configuration (env BENCH_RUNS)")
	flag.StringVar(&cfg.Exectrail, "exectrail", "bin/exectrail", "the exectrail binary")
	flag.StringVar(&cfg.Out, "out", "docs/bench/results.json", "where the JSON results go")
	flag.StringVar(&cfg.Only, "workloads", "", `comma-separated workload names to run (default: all; "none": none)`)
	flag.StringVar(&cfg.Configs, "configs", "", "comma-separated configurations (native,notify,ptrace,notify+otlp,strace; default: all available)")
	flag.Float64Var(&cfg.Scale, "scale", 1, "multiply workload sizes by this")
	flag.IntVar(&cfg.MemoryExecs, "memory-execs", envInt("BENCH_MEMORY_EXECS", 0, 1000000), "execs per backend in the memory phase; 0 skips it (env BENCH_MEMORY_EXECS)")
	flag.StringVar(&cfg.MemoryConfigs, "memory-configs", "notify,ptrace", "comma-separated backends for the memory phase")
	flag.Parse()
	cfg.Log = os.Stderr
	res, err := Run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		var in interrupted
		if errors.As(err, &in) {
			os.Exit(128 + int(in.sig))
		}
		os.Exit(1)
	}
	printTable(os.Stdout, res)
	if cfg.Out != "" {
		fmt.Printf("\nwritten to %s\n", cfg.Out)
	}
}

// envInt is the integer in environment variable name when it is at least
// least, else def.
func envInt(name string, least, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= least {
		return v
	}
	return def
}

// Config is what one invocation runs.
type Config struct {
	Runs      int
	Exectrail string
	Out       string
	Only      string
	Configs   string
	Scale     float64
	Log       io.Writer
	// The memory phase: execs per backend (0: none) and the backends
	// (comma-separated; "": notify,ptrace). Only and Configs do not apply.
	MemoryExecs   int
	MemoryConfigs string
}

// Results is the JSON document.
type Results struct {
	Date      string     `json:"date"`
	CPUs      int        `json:"cpus"`
	CPUModel  string     `json:"cpu_model,omitempty"`
	Kernel    string     `json:"kernel"`
	GoVersion string     `json:"go_version"`
	Exectrail string     `json:"exectrail_version,omitempty"`
	Strace    string     `json:"strace_version,omitempty"`
	Runs      int        `json:"runs"`
	LoadAvg   string     `json:"loadavg_at_start,omitempty"`
	PidMax    int        `json:"pid_max,omitempty"` // kernel.pid_max at the start
	Configs   []string   `json:"configs"`
	Workloads []Workload `json:"workloads"`
	Memory    []Memory   `json:"memory,omitempty"`
	Skipped   []string   `json:"skipped,omitempty"`
}

// Workload is one workload's results.
type Workload struct {
	Name    string `json:"name"`
	Desc    string `json:"description"`
	Size    int    `json:"size"`
	Execs   int    `json:"execs,omitempty"` // exec records under notify, per run
	Results []Cell `json:"results"`
}

// Cell is one configuration of one workload.
type Cell struct {
	Config       string    `json:"config"`
	MedianMS     float64   `json:"median_ms"`
	RatioMedian  float64   `json:"ratio_to_native_median"` // median of pairwise ratios
	USPerExec    float64   `json:"us_per_exec,omitempty"`
	AddedUSExec  float64   `json:"added_us_per_exec,omitempty"`
	PeakRSSKiB   int       `json:"supervisor_peak_rss_kib,omitempty"`
	RunsMS       []float64 `json:"runs_ms"`
	FailedRounds int       `json:"failed_runs,omitempty"`
}

type workload struct {
	name, desc string
	size       int
	execs      bool                   // report µs per exec
	setup      func(dir string) error // once, outside timing
	prepare    func(dir string) error // before each run, outside timing
	argv       func(dir string) []string
	env        []string
}

func workloads(scale float64) []*workload {
	n := func(v int) int { return max(1, int(float64(v)*scale)) }
	storm, rel, forks, files, threads, sysc := n(1000), n(1000), n(1000), n(150), n(4000), n(1000000)
	return []*workload{
		{
			name: "exec", desc: fmt.Sprintf("%d × /bin/true from sh", storm), size: storm, execs: true,
			argv: func(string) []string {
				return []string{"/bin/sh", "-c", fmt.Sprintf("i=0; while [ $i -lt %d ]; do /bin/true; i=$((i+1)); done", storm)}
			},
		},
		{
			name: "exec-relative", desc: fmt.Sprintf("%d × ./true from sh in /bin", rel), size: rel, execs: true,
			argv: func(string) []string {
				return []string{"/bin/sh", "-c", fmt.Sprintf("cd /bin && i=0; while [ $i -lt %d ]; do ./true; i=$((i+1)); done", rel)}
			},
		},
		{
			name: "fork", desc: fmt.Sprintf("%d subshells, no exec", forks), size: forks,
			argv: func(string) []string {
				return []string{"/bin/sh", "-c", fmt.Sprintf("i=0; while [ $i -lt %d ]; do (:); i=$((i+1)); done", forks)}
			},
		},
		{
			name: "make", desc: fmt.Sprintf("make -j2, %d small C files", files), size: files, execs: true,
			setup: func(dir string) error { return genMake(filepath.Join(dir, "make"), files) },
			prepare: func(dir string) error {
				return exec.Command("make", "-s", "-C", filepath.Join(dir, "make"), "clean").Run()
			},
			argv: func(dir string) []string { return []string{"make", "-s", "-j2", "-C", filepath.Join(dir, "make")} },
		},
		{
			name: "threads", desc: fmt.Sprintf("%d threads created and joined, 4 at a time (C)", threads), size: threads,
			setup: func(dir string) error { return cc(dir, "threads", threadsC, "-pthread") },
			argv:  func(dir string) []string { return []string{filepath.Join(dir, "threads"), strconv.Itoa(threads)} },
		},
		{
			name: "syscalls", desc: fmt.Sprintf("%d getppid+fstat, no exec (C)", sysc), size: sysc,
			setup: func(dir string) error { return cc(dir, "syscalls", syscallsC) },
			argv:  func(dir string) []string { return []string{filepath.Join(dir, "syscalls"), strconv.Itoa(sysc)} },
		},
		{
			name: "go-build", desc: "go build of a tiny module (3 packages rebuilt, warm std cache, offline)", size: 3,
			setup:   func(dir string) error { return genGo(filepath.Join(dir, "gomod")) },
			prepare: func(dir string) error { return touchGo(filepath.Join(dir, "gomod")) },
			env:     goEnv(),
			argv: func(dir string) []string {
				return []string{goTool(), "-C", filepath.Join(dir, "gomod"), "build", "-o", "tiny", "."}
			},
		},
	}
}

func goTool() string {
	// The bench is only ever run by `go run` on the machine that built
	// it, so the build's GOROOT is the go that runs it (go run does not
	// export GOROOT, and PATH may name another).
	//lint:ignore SA1019 see above: the build machine is the machine it runs on
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

type config struct {
	name string
	wrap func(out string, argv []string) []string
}

// Run runs the benchmark and writes cfg.Out.
func Run(cfg Config) (*Results, error) {
	if cfg.Runs < 1 {
		cfg.Runs = 1
	}
	if cfg.Scale <= 0 {
		cfg.Scale = 1
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	et, err := filepath.Abs(cfg.Exectrail)
	if err != nil {
		return nil, err
	}
	res := &Results{
		Date:      time.Now().UTC().Format(time.RFC3339),
		CPUs:      runtime.NumCPU(),
		CPUModel:  cpuModel(),
		Kernel:    strings.TrimSpace(output("uname", "-r")),
		GoVersion: strings.TrimPrefix(strings.TrimSpace(output(goTool(), "env", "GOVERSION")), "go"),
		Runs:      cfg.Runs,
		PidMax:    pidMax(),
		Workloads: []Workload{},
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	res.Exectrail = strings.TrimSpace(output(et, "version"))

	all := []config{
		{"native", func(_ string, a []string) []string { return a }},
		{"notify", func(o string, a []string) []string {
			return append([]string{et, "run", "--backend", "notify", "-o", o, "--"}, a...)
		}},
		{"ptrace", func(o string, a []string) []string {
			return append([]string{et, "run", "--backend", "ptrace", "-o", o, "--"}, a...)
		}},
	}
	// notify with --otlp, against a sink on loopback that takes every
	// OTLP/HTTP request and answers it with an empty (valid) response:
	// the cost of the export in exectrail, not a Collector's.
	sink, err := otlpSink()
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	all = append(all, config{"notify+otlp", func(o string, a []string) []string {
		return append([]string{et, "run", "--backend", "notify", "--otlp", "http://" + sink.Addr().String(), "-o", o, "--"}, a...)
	}})
	if st, err := exec.LookPath("strace"); err == nil {
		res.Strace = strings.TrimSpace(strings.SplitN(output(st, "-V"), "\n", 2)[0])
		all = append(all, config{"strace", func(_ string, a []string) []string {
			return append([]string{st, "-f", "--seccomp-bpf", "-e", "trace=execve", "-o", "/dev/null"}, a...)
		}})
	} else {
		res.Skipped = append(res.Skipped, "strace: not installed")
	}
	var configs []config
	for _, c := range all {
		if c.name == "native" || cfg.Configs == "" || slices.Contains(strings.Split(cfg.Configs, ","), c.name) {
			configs = append(configs, c)
		}
	}
	for _, c := range configs {
		res.Configs = append(res.Configs, c.name)
	}

	dir, err := os.MkdirTemp("", "exectrail-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	recs := filepath.Join(dir, "records.json")

	for _, w := range workloads(cfg.Scale) {
		if cfg.Only != "" && !slices.Contains(strings.Split(cfg.Only, ","), w.name) {
			continue
		}
		if w.setup != nil {
			if err := w.setup(dir); err != nil {
				msg := fmt.Sprintf("%s: cannot set up: %v", w.name, err)
				fmt.Fprintln(cfg.Log, "bench: skipping", msg)
				res.Skipped = append(res.Skipped, msg)
				continue
			}
		}
		fmt.Fprintf(cfg.Log, "== %s (%s), %d runs × %s\n", w.name, w.desc, cfg.Runs, strings.Join(res.Configs, " "))
		times := make([][]float64, len(configs)) // [config][round], NaN-free: failed runs are -1
		var rss = make([]int, len(configs))
		wl := Workload{Name: w.name, Desc: w.desc, Size: w.size}
		for round := 0; round < cfg.Runs; round++ {
			for ci, c := range configs {
				if w.prepare != nil {
					if err := w.prepare(dir); err != nil {
						return nil, fmt.Errorf("%s: prepare: %v", w.name, err)
					}
				}
				os.Remove(recs)
				argv := c.wrap(recs, w.argv(dir))
				d, hwm, err := timeRun(argv, dir, w.env)
				if err != nil {
					fmt.Fprintf(cfg.Log, "bench: %s under %s, run %d: %v\n", w.name, c.name, round+1, err)
					times[ci] = append(times[ci], -1)
					continue
				}
				times[ci] = append(times[ci], d.Seconds()*1000)
				rss[ci] = max(rss[ci], hwm)
				if c.name == "notify" && wl.Execs == 0 {
					wl.Execs = countExecs(recs)
				}
			}
			fmt.Fprint(cfg.Log, ".")
		}
		fmt.Fprintln(cfg.Log)
		var nativeMed float64
		for ci, c := range configs {
			cell := Cell{Config: c.name, RunsMS: round3(times[ci])}
			var ok, ratios []float64
			for r, t := range times[ci] {
				if t < 0 {
					cell.FailedRounds++
					continue
				}
				ok = append(ok, t)
				if n := times[0][r]; n > 0 {
					ratios = append(ratios, t/n)
				}
			}
			cell.MedianMS = r3(median(ok))
			cell.RatioMedian = r3(median(ratios))
			if ci == 0 {
				nativeMed = cell.MedianMS
			}
			if c.name == "notify" || c.name == "ptrace" {
				cell.PeakRSSKiB = rss[ci]
			}
			if w.execs && wl.Execs > 0 && cell.MedianMS > 0 {
				cell.USPerExec = r3(cell.MedianMS * 1000 / float64(wl.Execs))
				if ci > 0 {
					cell.AddedUSExec = r3((cell.MedianMS - nativeMed) * 1000 / float64(wl.Execs))
				}
			}
			wl.Results = append(wl.Results, cell)
		}
		res.Workloads = append(res.Workloads, wl)
	}
	if cfg.MemoryExecs > 0 {
		if err := runMemory(cfg, et, dir, res); err != nil {
			return nil, err // interrupted: no results written
		}
	}
	if cfg.Out != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.Out), 0o755); err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(cfg.Out, append(b, '\n'), 0o644); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// timeRun runs argv with stdout and stderr discarded and returns its wall
// time and the highest VmHWM seen for the process it started (the
// supervisor, under exectrail).
func timeRun(argv []string, dir string, env []string) (time.Duration, int, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	done := make(chan struct{})
	hwmc := make(chan int, 1)
	go func() {
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		hwm := 0
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			hwm = max(hwm, vmHWM(status))
			select {
			case <-done:
				hwmc <- hwm
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	d := time.Since(start)
	close(done)
	hwm := <-hwmc
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[len(msg)-300:]
		}
		return d, hwm, fmt.Errorf("%v: %s", err, msg)
	}
	return d, hwm, nil
}

func vmHWM(status string) int {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}

func countExecs(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		if bytes.Contains(sc.Bytes(), []byte(`"event":"exec"`)) {
			n++
		}
	}
	return n
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func r3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func round3(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, f := range v {
		out[i] = r3(f)
	}
	return out
}

func output(name string, args ...string) string {
	b, _ := exec.Command(name, args...).Output()
	return string(b)
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return ""
}

func printTable(w io.Writer, r *Results) {
	fmt.Fprintf(w, "exectrail bench — %s; %d CPUs (%s); Linux %s; Go %s; %s; %d runs each, alternating; load at start %s\n",
		r.Date, r.CPUs, r.CPUModel, r.Kernel, r.GoVersion, r.Exectrail, r.Runs, r.LoadAvg)
	if r.Strace != "" {
		fmt.Fprintf(w, "strace: %s\n", r.Strace)
	}
	if len(r.Workloads) > 0 {
		printWorkloads(w, r)
	}
	if len(r.Memory) > 0 {
		printMemory(w, r)
	}
	for _, s := range r.Skipped {
		fmt.Fprintln(w, "skipped:", s)
	}
}

func printWorkloads(w io.Writer, r *Results) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| workload | execs |")
	for _, c := range r.Configs {
		fmt.Fprintf(w, " %s |", c)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "|---|---|")
	for range r.Configs {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, wl := range r.Workloads {
		ex := "–"
		if wl.Execs > 0 {
			ex = strconv.Itoa(wl.Execs)
		}
		fmt.Fprintf(w, "| %s | %s |", wl.Desc, ex)
		for _, c := range wl.Results {
			if c.Config == "native" {
				fmt.Fprintf(w, " %.0f ms", c.MedianMS)
				if c.USPerExec > 0 {
					fmt.Fprintf(w, " (%.0f µs/exec)", c.USPerExec)
				}
			} else {
				fmt.Fprintf(w, " %.0f ms, %.2f×", c.MedianMS, c.RatioMedian)
				if c.AddedUSExec != 0 {
					fmt.Fprintf(w, " (%+.0f µs/exec)", c.AddedUSExec)
				}
			}
			if c.FailedRounds > 0 {
				fmt.Fprintf(w, " [%d failed]", c.FailedRounds)
			}
			fmt.Fprint(w, " |")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "median wall time, median of pair-by-pair ratios to native; µs/exec: native per exec, or added per exec from the medians")
	var rss []string
	for _, wl := range r.Workloads {
		for _, c := range wl.Results {
			if c.PeakRSSKiB > 0 {
				rss = append(rss, fmt.Sprintf("%s/%s %d", wl.Name, c.Config, c.PeakRSSKiB/1024))
			}
		}
	}
	if len(rss) > 0 {
		fmt.Fprintf(w, "supervisor peak RSS (MiB): %s\n", strings.Join(rss, ", "))
	}
}

func printMemory(w io.Writer, r *Results) {
	ms := r.Memory
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| backend | execs | time | execs/s | RSS at 1% / 10% / 50% / 100% (MiB) | median RSS baseline → last 10% (MiB) | fds at 10% → 100% | peak (VmHWM) | flat |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	medianRSS := func(kib *int, samples int) string {
		if kib == nil {
			return "? (no sample)"
		}
		return fmt.Sprintf("%.1f (%d)", mib(*kib), samples)
	}
	for _, m := range ms {
		var rss []string
		for _, c := range m.Checkpoints {
			rss = append(rss, fmt.Sprintf("%.1f", mib(c.RSSKiB)))
		}
		fl := "no"
		switch {
		case m.Flat:
			fl = "yes"
		case m.BaselineRSSKiB == nil || m.FinalRSSKiB == nil:
			fl = "unknown"
		}
		fmt.Fprintf(w, "| %s | %d × %s | %.1f s | %.0f | %s | %s → %s | %d → %d | %.1f MiB | %s |\n",
			m.Config, m.Execs, m.Program, m.Seconds, m.ExecsPerSecond, strings.Join(rss, " / "),
			medianRSS(m.BaselineRSSKiB, m.BaselineSamples), medianRSS(m.FinalRSSKiB, m.FinalSamples),
			m.checkpoint(10).FDs, m.checkpoint(100).FDs, mib(m.PeakRSSKiB), fl)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "supervisor (exectrail process) VmRSS and open fds (/proc/PID/fd) sampled every 250 ms; each RSS and fds column is the first sample at or past that share of the execs, 100%: after the last child was reaped; peak: the highest VmHWM read")
	fmt.Fprintln(w, "flat: the median VmRSS of the samples in the last 10% of the execs (before the 100% sample) at most max(5%, 1 MiB) above the median VmRSS of the baseline window (5% to 15% of the execs, but ending within the first half pid cycle; in parentheses: how many samples), and at most 2 more open fds at 100% than at 10%; unknown: a window without samples (too short a run)")
	for _, m := range ms {
		fmt.Fprintf(w, "%s: baseline window %d–%d execs", m.Config, m.BaselineFromExecs, m.BaselineToExecs)
		if m.FlatReason != "" {
			fmt.Fprintf(w, "; not flat: %s", m.FlatReason)
		}
		fmt.Fprintln(w)
	}
	if r.PidMax > 0 {
		n := ms[0].Execs // the same for all backends
		fmt.Fprintf(w, "pid_max %d: pids are reused, so per-pid state that exectrail failed to drop would be bounded by pid_max entries and stop growing after one pid cycle, which is why the baseline window ends within the first; %d execs cover %.2f pid cycles (more if other processes took pids meanwhile)\n",
			r.PidMax, n, float64(n)/float64(r.PidMax))
	} else {
		fmt.Fprintln(w, "pid_max unknown (/proc/sys/kernel/pid_max unreadable): the baseline window is 5% to 15% of the execs")
	}
}

var errNoCC = errors.New("no C compiler (gcc)")

// cc compiles src into dir/name.
func cc(dir, name, src string, flags ...string) error {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return errNoCC
	}
	c := filepath.Join(dir, name+".c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		return err
	}
	args := append([]string{"-O2", "-o", filepath.Join(dir, name), c}, flags...)
	if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("gcc: %v: %s", err, out)
	}
	return nil
}

func genMake(dir string, n int) error {
	if _, err := exec.LookPath("gcc"); err != nil {
		return errNoCC
	}
	if _, err := exec.LookPath("make"); err != nil {
		return errors.New("no make")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var objs, protos, calls strings.Builder
	for i := range n {
		src := fmt.Sprintf("int f%d(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * %d; return s; }\n", i, i+1)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.c", i)), []byte(src), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&objs, " f%d.o", i)
		fmt.Fprintf(&protos, "int f%d(int);\n", i)
		fmt.Fprintf(&calls, "\ts += f%d(argc);\n", i)
	}
	main := protos.String() + "int main(int argc, char **argv) {\n\tint s = 0;\n" + calls.String() + "\treturn s == 42;\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte(main), 0o644); err != nil {
		return err
	}
	mk := "OBJS = main.o" + objs.String() + "\n" +
		"prog: $(OBJS)\n\tgcc -o $@ $(OBJS)\n" +
		"%.o: %.c\n\tgcc -O0 -c -o $@ $<\n" +
		"clean:\n\trm -f prog $(OBJS)\n"
	return os.WriteFile(filepath.Join(dir, "Makefile"), []byte(mk), 0o644)
}

// genGo writes a module of three packages and builds it once, so that the
// standard library is in the build cache and each timed build recompiles
// only the module (touchGo changes all three packages).
func genGo(dir string) error {
	for _, d := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"go.mod":  "module example.com/tiny\n\ngo 1.22\n",
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/tiny/a\"\n\t\"example.com/tiny/b\"\n)\n\nfunc main() { fmt.Println(a.A(), b.B(), stamp) }\n",
		"a/a.go":  "package a\n\nimport \"strings\"\n\nfunc A() string { return strings.ToUpper(stamp) }\n",
		"b/b.go":  "package b\n\nimport \"sort\"\n\nfunc B() int { s := []int{3, 1, 2}; sort.Ints(s); return s[0] + len(stamp) }\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			return err
		}
	}
	if err := touchGo(dir); err != nil {
		return err
	}
	cmd := exec.Command(goTool(), "build", "-o", filepath.Join(dir, "tiny"), ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), goEnv()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v: %s", err, out)
	}
	return nil
}

var stampN int

func touchGo(dir string) error {
	stampN++
	for _, p := range []string{"", "a", "b"} {
		pkg := "main"
		if p != "" {
			pkg = p
		}
		src := fmt.Sprintf("package %s\n\nconst stamp = \"%d-%d\"\n", pkg, os.Getpid(), stampN)
		if err := os.WriteFile(filepath.Join(dir, p, "stamp.go"), []byte(src), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// goEnv is the environment of the Go build: offline, module mode, the
// user's build cache (warm for the standard library after genGo).
func goEnv() []string {
	return []string{"GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off", "CGO_ENABLED=0"}
}

const threadsC = `#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *work(void *arg) { return arg; }

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	pthread_t t[4];
	for (int i = 0; i < n; i += 4) {
		for (int j = 0; j < 4; j++)
			if (pthread_create(&t[j], NULL, work, NULL)) { perror("pthread_create"); return 1; }
		for (int j = 0; j < 4; j++)
			pthread_join(t[j], NULL);
	}
	return 0;
}
`

const syscallsC = `#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	struct stat st;
	long s = 0;
	for (long i = 0; i < n; i++) {
		s += getppid();
		if (fstat(1, &st) == 0) s += st.st_mode;
	}
	return s == 42;
}
`

// otlpSink serves OTLP/HTTP on a loopback port: every request's body is
// read and answered with 200 and an empty protobuf response.
func otlpSink() (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.WriteHeader(http.StatusOK)
		}))
	}()
	return l, nil
}
