// Command bench is exectrail's performance harness (`make bench`).
//
// It generates a set of workloads in a temporary directory — an exec storm
// of /bin/true from sh, the same storm with relative paths, fork-only
// subshells, make -j2 of a generated 150-file C build, a thread-heavy C
// program, an exec-free syscall-heavy C program and a Go build of a tiny
// module — and runs each under every configuration of -configs:
//
//   - native: the workload alone, the reference of every ratio;
//   - auto, notify, ptrace: `exectrail run [--backend B] -o FILE --`
//     (auto: no --backend flag, what users get), and notify+otlp (notify
//     with --otlp to a loopback sink; only when asked for);
//   - strace: `strace -f --seccomp-bpf -e trace=execve -o /dev/null`, when
//     installed;
//   - floor-notify, floor-ptrace: bare C supervisors built at bench time
//     (floors.go) that read only path, argv and cwd and write one line
//     per exec: the least either mechanism costs on this machine.
//
// Runs alternate between the configurations (A B C D A B C D …) so that
// drift in the machine's speed hits all of them alike. -exectrail may be
// given more than once, as [LABEL=]PATH: every exectrail configuration
// then runs once per binary, named LABEL/auto, LABEL/notify, … (the label
// defaults to the file's name), so two builds are compared in one
// alternating run.
//
// For each workload and configuration it records the median wall time,
// the median of the pair-by-pair ratios to the native run of the same
// round, for workloads that exec the microseconds per exec (native) and
// the microseconds each exec adds (from the medians), and for every
// configuration but native the supervisor's own CPU time and how often its
// threads were scheduled, per exec record (taskstats.go: read from the
// kernel once the supervisor has exited and before it is reaped, so it
// covers all its threads and nothing of the job), and its peak RSS.
//
// Then the saturation phase (saturation.go): W parallel workers (-workers,
// default 1,2,4,8), each fork+execing a tiny static program -sat-count
// times, under every configuration; records per second by worker count,
// and supervisor CPU per exec record. Then, unless -memory-execs is 0, the
// memory phase (memory.go).
//
// At the end it prints the tables, one line per target of issue #15
// ("target …: measured … (met / not met)", targets.go) for each
// configuration of backend -targets (default auto), and writes everything
// as JSON (-out) with the machine's CPU count and model, kernel, Go
// version, date and the load average before and after.
//
// It is a program, not a test: its output is the point, it runs for
// minutes, and nothing in `make test` may depend on timing. A smoke test
// (bench_test.go) runs one tiny round of every phase and configuration and
// checks the JSON shape. -quick (make bench BENCH_QUICK=1) is the short
// run for comparing prototypes: 3 runs, workers 1 and 4, no memory phase.
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

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var cfg Config
	var ets stringList
	var workers string
	quick := flag.Bool("quick", os.Getenv("BENCH_QUICK") != "", "a short run for comparing builds: 3 runs, workers 1,4, no memory phase, unless given (env BENCH_QUICK)")
	flag.IntVar(&cfg.Runs, "runs", envInt("BENCH_RUNS", 1, 10), "runs per workload and configuration (env BENCH_RUNS)")
	flag.Var(&ets, "exectrail", "the exectrail binary, [LABEL=]PATH; several: each exectrail configuration runs once per binary, as LABEL/CONFIG (default bin/exectrail)")
	flag.StringVar(&cfg.Out, "out", "docs/bench/results.json", "where the JSON results go")
	flag.StringVar(&cfg.Only, "workloads", "", `comma-separated workloads to run, "saturation" among them (default: all; "none": none)`)
	flag.StringVar(&cfg.Configs, "configs", "", "comma-separated configurations (native,auto,notify,ptrace,notify+otlp,strace,floor-notify,floor-ptrace; default: all available but notify+otlp)")
	flag.Float64Var(&cfg.Scale, "scale", 1, "multiply workload sizes by this")
	flag.StringVar(&workers, "workers", "1,2,4,8", "worker counts of the saturation phase (empty: none)")
	flag.IntVar(&cfg.SatCount, "sat-count", 500, "fork+execs per worker in the saturation phase")
	flag.IntVar(&cfg.SatRuns, "sat-runs", 5, "runs per worker count and configuration in the saturation phase")
	flag.StringVar(&cfg.Baseline, "baseline", "docs/bench/baseline.json", "an earlier results.json: today's figures for the targets relative to it (saturation); \"\" none")
	flag.StringVar(&cfg.Targets, "targets", "auto", "the backend whose configurations are judged against #15's targets")
	flag.IntVar(&cfg.MemoryExecs, "memory-execs", envInt("BENCH_MEMORY_EXECS", 0, 1000000), "execs per backend in the memory phase; 0 skips it (env BENCH_MEMORY_EXECS)")
	flag.StringVar(&cfg.MemoryConfigs, "memory-configs", "notify,ptrace", "comma-separated backends for the memory phase")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["runs"] && os.Getenv("BENCH_RUNS") == "" {
			cfg.Runs = 3
		}
		if !set["workers"] {
			workers = "1,4"
		}
		if !set["sat-runs"] {
			cfg.SatRuns = 3
		}
		if !set["memory-execs"] {
			cfg.MemoryExecs = 0
		}
	}
	var err error
	if cfg.Workers, err = parseInts(workers); err != nil {
		fmt.Fprintln(os.Stderr, "bench: -workers:", err)
		os.Exit(2)
	}
	cfg.Exectrails = ets
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

// parseInts parses a comma-separated list of positive integers ("": none).
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// Config is what one invocation runs.
type Config struct {
	Runs int
	// Exectrails are the binaries, [LABEL=]PATH (none: bin/exectrail).
	Exectrails []string
	Out        string
	Only       string
	Configs    string
	Scale      float64
	Log        io.Writer
	// The saturation phase: worker counts (none: no phase), fork+execs
	// per worker, runs per worker count and configuration.
	Workers  []int
	SatCount int
	SatRuns  int
	// Baseline is an earlier results.json ("" or missing: none), Targets
	// the backend whose configurations are judged ("": auto).
	Baseline string
	Targets  string
	// The memory phase: execs per backend (0: none) and the backends
	// (comma-separated; "": notify,ptrace), of the first binary. Only and
	// Configs do not apply.
	MemoryExecs   int
	MemoryConfigs string
}

// Results is the JSON document.
type Results struct {
	Date        string       `json:"date"`
	CPUs        int          `json:"cpus"`
	CPUModel    string       `json:"cpu_model,omitempty"`
	Kernel      string       `json:"kernel"`
	GoVersion   string       `json:"go_version"`
	Exectrail   string       `json:"exectrail_version,omitempty"` // of the first binary
	Binaries    []Binary     `json:"binaries"`
	Strace      string       `json:"strace_version,omitempty"`
	Runs        int          `json:"runs"`
	LoadAvg     string       `json:"loadavg_at_start,omitempty"`
	LoadAvgEnd  string       `json:"loadavg_at_end,omitempty"`
	Seconds     float64      `json:"seconds"`           // the whole invocation
	PidMax      int          `json:"pid_max,omitempty"` // kernel.pid_max at the start
	Configs     []string     `json:"configs"`
	Workloads   []Workload   `json:"workloads"`
	Saturation  []Saturation `json:"saturation"`
	Memory      []Memory     `json:"memory,omitempty"`
	Targets     []Target     `json:"targets"`
	BaselineRef string       `json:"baseline,omitempty"` // the baseline's date and version
	Skipped     []string     `json:"skipped,omitempty"`
}

// Binary is one exectrail binary of the run.
type Binary struct {
	Label   string `json:"label"` // "" for the only one
	Path    string `json:"path"`
	Version string `json:"version"`
}

// Workload is one workload's results.
type Workload struct {
	Name  string `json:"name"`
	Desc  string `json:"description"`
	Size  int    `json:"size"`
	Execs int    `json:"execs,omitempty"` // exec records per run (of the first exectrail or floor run)
	// Noise is the relative run-to-run spread of native: twice its
	// interquartile range over its median, at least 2% (the band of
	// "at noise").
	Noise   float64 `json:"native_noise"`
	Results []Cell  `json:"results"`
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
	// The supervisor's CPU time (all threads, user and system) per run,
	// median, and per exec record; the times its threads were scheduled
	// onto a CPU per exec record (voluntary and forced context switches).
	// Absent for native.
	CPUMS          float64   `json:"supervisor_cpu_ms,omitempty"`
	CPUUSPerExec   float64   `json:"supervisor_cpu_us_per_exec,omitempty"`
	SwitchesPerExc float64   `json:"supervisor_switches_per_exec,omitempty"`
	RunsCPUMS      []float64 `json:"runs_supervisor_cpu_ms,omitempty"`
}

// config is one way of running a workload.
type config struct {
	name    string
	kind    string // native, exectrail, strace, floor
	backend string // exectrail: auto, notify, ptrace, notify+otlp
	bin     int    // exectrail: index into Results.Binaries
	wrap    func(out string, argv []string) []string
}

// baseConfigs are the configuration names -configs knows, in run order;
// the default set is all of them that are available but notify+otlp.
var baseConfigs = []string{"native", "auto", "notify", "ptrace", "notify+otlp", "strace", "floor-notify", "floor-ptrace"}

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

// Run runs the benchmark and writes cfg.Out.
func Run(cfg Config) (*Results, error) {
	began := time.Now()
	if cfg.Runs < 1 {
		cfg.Runs = 1
	}
	if cfg.SatRuns < 1 {
		cfg.SatRuns = 1
	}
	if cfg.SatCount < 1 {
		cfg.SatCount = 1
	}
	if cfg.Scale <= 0 {
		cfg.Scale = 1
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Targets == "" {
		cfg.Targets = "auto"
	}
	if len(cfg.Exectrails) == 0 {
		cfg.Exectrails = []string{"bin/exectrail"}
	}
	res := &Results{
		Date:       time.Now().UTC().Format(time.RFC3339),
		CPUs:       runtime.NumCPU(),
		CPUModel:   cpuModel(),
		Kernel:     strings.TrimSpace(output("uname", "-r")),
		GoVersion:  strings.TrimPrefix(strings.TrimSpace(output(goTool(), "env", "GOVERSION")), "go"),
		Runs:       cfg.Runs,
		PidMax:     pidMax(),
		LoadAvg:    loadAvg(),
		Workloads:  []Workload{},
		Saturation: []Saturation{},
		Targets:    []Target{},
	}
	for _, spec := range cfg.Exectrails {
		label, path, ok := strings.Cut(spec, "=")
		if !ok {
			label, path = "", spec
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		if label == "" && len(cfg.Exectrails) > 1 {
			label = filepath.Base(path)
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("-exectrail %s: %v", spec, err)
		}
		for _, b := range res.Binaries {
			if b.Label == label {
				return nil, fmt.Errorf("-exectrail: label %q twice (name them LABEL=PATH)", label)
			}
		}
		ver, _, _ := strings.Cut(strings.TrimSpace(output(abs, "version")), "\n")
		res.Binaries = append(res.Binaries, Binary{Label: label, Path: abs, Version: ver})
	}
	res.Exectrail = res.Binaries[0].Version
	et := res.Binaries[0].Path

	dir, err := os.MkdirTemp("", "exectrail-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	want := func(name string) bool {
		if cfg.Configs == "" {
			return name != "notify+otlp"
		}
		return name == "native" || slices.Contains(strings.Split(cfg.Configs, ","), name)
	}
	for _, c := range strings.Split(cfg.Configs, ",") {
		if c != "" && !slices.Contains(baseConfigs, c) {
			return nil, fmt.Errorf("-configs: unknown configuration %q (known: %s)", c, strings.Join(baseConfigs, ","))
		}
	}
	var configs []config
	add := func(c config) {
		configs = append(configs, c)
		res.Configs = append(res.Configs, c.name)
	}
	skip := func(msg string) {
		fmt.Fprintln(cfg.Log, "bench: skipping", msg)
		res.Skipped = append(res.Skipped, msg)
	}
	for _, name := range baseConfigs {
		if !want(name) {
			continue
		}
		switch name {
		case "native":
			add(config{name: "native", kind: "native", wrap: func(_ string, a []string) []string { return a }})
		case "auto", "notify", "ptrace", "notify+otlp":
			var extra []string
			switch name {
			case "notify", "ptrace":
				extra = []string{"--backend", name}
			case "notify+otlp":
				// against a sink on loopback that takes every OTLP/HTTP
				// request and answers it with an empty (valid) response:
				// the cost of the export in exectrail, not a Collector's.
				sink, err := otlpSink()
				if err != nil {
					return nil, err
				}
				defer sink.Close()
				extra = []string{"--backend", "notify", "--otlp", "http://" + sink.Addr().String()}
			}
			for i, b := range res.Binaries {
				cname := name
				if b.Label != "" {
					cname = b.Label + "/" + name
				}
				add(config{name: cname, kind: "exectrail", backend: name, bin: i, wrap: func(o string, a []string) []string {
					return append(append(append([]string{b.Path, "run"}, extra...), "-o", o, "--"), a...)
				}})
			}
		case "strace":
			st, err := exec.LookPath("strace")
			if err != nil {
				skip("strace: not installed")
				continue
			}
			res.Strace = strings.TrimSpace(strings.SplitN(output(st, "-V"), "\n", 2)[0])
			add(config{name: "strace", kind: "strace", wrap: func(_ string, a []string) []string {
				return append([]string{st, "-f", "--seccomp-bpf", "-e", "trace=execve", "-o", "/dev/null"}, a...)
			}})
		case "floor-notify", "floor-ptrace":
			src := floorNotifyC
			if name == "floor-ptrace" {
				src = floorPtraceC
			}
			if err := cc(dir, name, src, "-Wall"); err != nil {
				skip(fmt.Sprintf("%s: cannot build: %v", name, err))
				continue
			}
			bin := filepath.Join(dir, name)
			add(config{name: name, kind: "floor", wrap: func(o string, a []string) []string {
				return append([]string{bin, o, "--"}, a...)
			}})
		}
	}
	if _, err := zombieCPU(os.Getpid()); err != nil {
		skip(fmt.Sprintf("supervisor CPU: %v", err))
	}

	only := func(name string) bool {
		return cfg.Only == "" || slices.Contains(strings.Split(cfg.Only, ","), name)
	}
	for _, w := range workloads(cfg.Scale) {
		if !only(w.name) {
			continue
		}
		if w.setup != nil {
			if err := w.setup(dir); err != nil {
				skip(fmt.Sprintf("%s: cannot set up: %v", w.name, err))
				continue
			}
		}
		res.Workloads = append(res.Workloads, runWorkload(cfg, w, configs, dir))
	}
	if len(cfg.Workers) > 0 && only("saturation") {
		if err := runSaturation(cfg, configs, dir, res); err != nil {
			skip(fmt.Sprintf("saturation: %v", err))
		}
	}
	if cfg.MemoryExecs > 0 {
		if err := runMemory(cfg, et, dir, res); err != nil {
			return nil, err // interrupted: no results written
		}
	}
	res.LoadAvgEnd = loadAvg()
	res.Seconds = r3(time.Since(began).Seconds())
	judgeTargets(cfg, res, configs)
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

// runWorkload runs w cfg.Runs times under each configuration, alternating.
func runWorkload(cfg Config, w *workload, configs []config, dir string) Workload {
	names := make([]string, len(configs))
	for i, c := range configs {
		names[i] = c.name
	}
	fmt.Fprintf(cfg.Log, "== %s (%s), %d runs × %s\n", w.name, w.desc, cfg.Runs, strings.Join(names, " "))
	recs := filepath.Join(dir, "records.json")
	times := make([][]float64, len(configs)) // [config][round]; failed runs are -1
	cpus := make([][]CPUUse, len(configs))
	rss := make([]int, len(configs))
	wl := Workload{Name: w.name, Desc: w.desc, Size: w.size}
	for round := 0; round < cfg.Runs; round++ {
		for ci, c := range configs {
			if w.prepare != nil {
				if err := w.prepare(dir); err != nil {
					fmt.Fprintf(cfg.Log, "bench: %s: prepare: %v\n", w.name, err)
					times[ci] = append(times[ci], -1)
					continue
				}
			}
			os.Remove(recs)
			r, err := timeRun(c.wrap(recs, w.argv(dir)), dir, w.env, c.kind != "native", false)
			if err != nil {
				fmt.Fprintf(cfg.Log, "bench: %s under %s, run %d: %v\n", w.name, c.name, round+1, err)
				times[ci] = append(times[ci], -1)
				continue
			}
			times[ci] = append(times[ci], r.d.Seconds()*1000)
			if r.cpuOK {
				cpus[ci] = append(cpus[ci], r.cpu)
			}
			if c.kind == "exectrail" {
				rss[ci] = max(rss[ci], r.hwm)
			}
			if wl.Execs == 0 && (c.kind == "exectrail" || c.kind == "floor") {
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
		ok, ratios, cell.FailedRounds = pairwise(times, ci)
		cell.MedianMS = r3(median(ok))
		cell.RatioMedian = r3(median(ratios))
		if ci == 0 {
			nativeMed = cell.MedianMS
			wl.Noise = r3(noise(ok))
		}
		cell.PeakRSSKiB = rss[ci]
		if w.execs && wl.Execs > 0 && cell.MedianMS > 0 {
			cell.USPerExec = r3(cell.MedianMS * 1000 / float64(wl.Execs))
			if ci > 0 {
				cell.AddedUSExec = r3((cell.MedianMS - nativeMed) * 1000 / float64(wl.Execs))
			}
		}
		perExec := 0 // CPU per exec record only where execs are the work
		if w.execs {
			perExec = wl.Execs
		}
		cell.CPUMS, cell.CPUUSPerExec, cell.SwitchesPerExc, cell.RunsCPUMS = cpuStats(cpus[ci], perExec)
		wl.Results = append(wl.Results, cell)
	}
	return wl
}

// pairwise splits v[ci], one value per round (failed: negative), into
// the values of the rounds that did not fail, their ratios to v[0] (native)
// of the same round where that did not fail, and the count of failed ones.
func pairwise(v [][]float64, ci int) (ok, ratios []float64, failed int) {
	for r, x := range v[ci] {
		if x < 0 {
			failed++
			continue
		}
		ok = append(ok, x)
		if n := v[0][r]; n > 0 {
			ratios = append(ratios, x/n)
		}
	}
	return ok, ratios, failed
}

// cpuStats is the median CPU time per run (ms), the median CPU per exec
// record (µs) and context switches per exec record over runs of execs
// records each (0: per-exec figures not given), and the runs' CPU times.
func cpuStats(us []CPUUse, execs int) (ms, usPerExec, swPerExec float64, runs []float64) {
	if len(us) == 0 {
		return 0, 0, 0, nil
	}
	var cpu, sw []float64
	for _, u := range us {
		cpu = append(cpu, float64(u.NS)/1e6)
		sw = append(sw, float64(u.Switches))
	}
	ms = r3(median(cpu))
	if execs > 0 {
		usPerExec = r3(median(cpu) * 1000 / float64(execs))
		swPerExec = r3(median(sw) / float64(execs))
	}
	return ms, usPerExec, swPerExec, round3(cpu)
}

// noise is twice the interquartile range of v over its median, at least
// 0.02.
func noise(v []float64) float64 {
	if len(v) < 2 {
		return 0.02
	}
	s := slices.Clone(v)
	slices.Sort(s)
	q := func(p float64) float64 {
		x := p * float64(len(s)-1)
		i := int(x)
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[i] + (x-float64(i))*(s[i+1]-s[i])
	}
	m := median(s)
	if m <= 0 {
		return 0.02
	}
	return max(0.02, 2*(q(0.75)-q(0.25))/m)
}

// runResult is what timeRun measured of one run.
type runResult struct {
	d      time.Duration
	hwm    int    // the highest VmHWM seen of the process started (KiB)
	cpu    CPUUse // its own CPU use, when cpuOK
	cpuOK  bool
	stdout string // when asked for
}

// timeRun runs argv with stderr kept for errors (and stdout discarded, or
// returned when keepStdout) and returns its wall time, the highest VmHWM
// seen for the process it started (the supervisor, but for native) and,
// when withCPU, that process's own CPU use, read once it has exited and
// before it is reaped (zombieCPU).
func timeRun(argv []string, dir string, env []string, withCPU, keepStdout bool) (runResult, error) {
	var r runResult
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr, stdout bytes.Buffer
	cmd.Stderr = &stderr
	if keepStdout {
		cmd.Stdout = &stdout
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
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
	werr := waitExit(cmd.Process.Pid)
	r.d = time.Since(start)
	if werr == nil && withCPU {
		var cerr error
		r.cpu, cerr = zombieCPU(cmd.Process.Pid)
		r.cpuOK = cerr == nil
	}
	close(done)
	r.hwm = <-hwmc
	err := cmd.Wait()
	r.stdout = stdout.String()
	if err == nil {
		err = werr
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[len(msg)-300:]
		}
		return r, fmt.Errorf("%v: %s", err, msg)
	}
	return r, nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
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
		// exectrail's records, or the floors' lines
		if bytes.Contains(sc.Bytes(), []byte(`"event":"exec"`)) || bytes.HasPrefix(sc.Bytes(), []byte("exec ")) {
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
	// n C files: main.c and n-1 others.
	var objs, protos, calls strings.Builder
	for i := range max(n-1, 0) {
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
