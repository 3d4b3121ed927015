package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSmoke runs one tiny round of every phase: the smallest exec storm
// and a saturation run of 1 and 2 workers × 3 fork+execs, natively, under
// auto and $EXECTRAIL_BACKEND (notify or ptrace; default notify) of two
// labelled copies of the same exectrail (the -exectrail a=… -exectrail
// b=… comparison) and under both floors, then a 200-exec memory phase
// under that backend, and checks the shape of the JSON: the supervisor CPU
// figures of every configuration but native, one saturation entry per
// configuration and worker count, the target lines of both auto
// configurations. It checks no timing and no memory figure: benchmarks
// are not tests. So the memory run may or may not have samples in the
// windows of the flat verdict (it is usually over before the second
// sample), and may or may not be flat; only the consistency of the fields
// is checked.
func TestSmoke(t *testing.T) {
	et := exectrailForTest(t)
	backend := os.Getenv("EXECTRAIL_BACKEND")
	if backend != "ptrace" {
		backend = "notify"
	}
	out := filepath.Join(t.TempDir(), "results.json")
	if _, err := Run(Config{Runs: 1, Exectrails: []string{"a=" + et, "b=" + et}, Out: out, Only: "exec,saturation",
		Configs: "auto," + backend + ",floor-notify,floor-ptrace", Scale: 0.005, Workers: []int{1, 2}, SatCount: 3, SatRuns: 1,
		MemoryExecs: 200, MemoryConfigs: backend}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("results are not JSON: %v\n%s", err, b)
	}
	for _, k := range []string{"date", "cpus", "kernel", "go_version", "runs", "configs", "workloads", "memory", "pid_max",
		"binaries", "loadavg_at_start", "loadavg_at_end", "saturation", "targets"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	if mems, _ := doc["memory"].([]any); len(mems) > 0 {
		m0, _ := mems[0].(map[string]any)
		for _, k := range []string{"baseline_rss_kib", "baseline_samples", "final_rss_kib", "final_samples", "flat"} {
			if _, ok := m0[k]; !ok {
				t.Errorf("no %q in memory[0]: %v", k, m0)
			}
		}
		cps, _ := m0["checkpoints"].([]any)
		for _, c := range cps {
			if _, ok := c.(map[string]any)["fds"]; !ok {
				t.Errorf("no \"fds\" in memory checkpoint %v", c)
			}
		}
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	configs := []string{"native", "a/auto", "b/auto", "a/" + backend, "b/" + backend, "floor-notify", "floor-ptrace"}
	if !slices.Equal(res.Configs, configs) {
		t.Fatalf("configs = %q, want %q (skipped: %q)", res.Configs, configs, res.Skipped)
	}
	if len(res.Binaries) != 2 || res.Binaries[0].Label != "a" || res.Binaries[1].Label != "b" || res.Binaries[0].Path != et ||
		!strings.HasPrefix(res.Binaries[0].Version, "exectrail ") || strings.Contains(res.Binaries[0].Version, "\n") {
		t.Errorf("binaries = %+v", res.Binaries)
	}
	if len(res.Workloads) != 1 || res.Workloads[0].Name != "exec" {
		t.Fatalf("workloads = %+v, want exec only", res.Workloads)
	}
	wl := res.Workloads[0]
	if wl.Execs != wl.Size+1 { // the loop's execs and sh itself
		t.Errorf("execs = %d, want %d", wl.Execs, wl.Size+1)
	}
	if len(wl.Results) != len(configs) {
		t.Fatalf("results = %+v, want %q", wl.Results, configs)
	}
	for i, c := range wl.Results {
		if c.Config != configs[i] || len(c.RunsMS) != 1 || c.FailedRounds != 0 || c.MedianMS <= 0 || c.RatioMedian <= 0 {
			t.Errorf("%s: %+v", c.Config, c)
		}
		if hasCPU := c.CPUMS > 0 && c.CPUUSPerExec > 0 && c.SwitchesPerExc > 0 && len(c.RunsCPUMS) == 1; hasCPU != (c.Config != "native") {
			t.Errorf("%s: supervisor CPU %v ms, %v µs and %v switches per exec, runs %v", c.Config, c.CPUMS, c.CPUUSPerExec, c.SwitchesPerExc, c.RunsCPUMS)
		}
	}
	if len(res.Saturation) != 2*len(configs) {
		t.Errorf("saturation: %d entries, want %d: %+v", len(res.Saturation), 2*len(configs), res.Saturation)
	}
	for i, s := range res.Saturation {
		if s.Config != configs[i%len(configs)] || s.Workers != 1+i/len(configs) || s.Count != 3 || s.FailedRuns != 0 ||
			s.ExecsPerSecond <= 0 || s.RatioToNative <= 0 || len(s.RunsPerSecond) != 1 || (s.CPUUSPerExec > 0) != (s.Config != "native") {
			t.Errorf("saturation[%d]: %+v", i, s)
		}
	}
	var lines []string
	for _, tg := range res.Targets {
		lines = append(lines, tg.Line())
	}
	if len(res.Targets) != 2*9 || res.Targets[0].Config != "a/auto" || res.Targets[9].Config != "b/auto" {
		t.Errorf("targets:\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "target ") || !strings.Contains(l, "measured") {
			t.Errorf("target line %q", l)
		}
	}

	if res.PidMax <= 0 {
		t.Errorf("pid_max = %d", res.PidMax)
	}
	if len(res.Memory) != 1 || res.Memory[0].Config != backend {
		t.Fatalf("memory = %+v, want %s only (skipped: %q)", res.Memory, backend, res.Skipped)
	}
	m := res.Memory[0]
	if m.Execs != 200 || m.Seconds <= 0 || m.ExecsPerSecond <= 0 || m.PeakRSSKiB <= 0 {
		t.Errorf("memory: %+v", m)
	}
	var pcts []int
	for _, c := range m.Checkpoints {
		pcts = append(pcts, c.Percent)
		if c.RSSKiB <= 0 || c.HWMKiB <= 0 || c.HWMKiB > m.PeakRSSKiB || c.Execs*100 < 200*c.Percent || c.FDs < 3 {
			t.Errorf("memory checkpoint %+v (peak %d KiB)", c, m.PeakRSSKiB)
		}
	}
	if !slices.Equal(pcts, []int{1, 10, 50, 100}) {
		t.Errorf("memory checkpoints at %v%%, want 1, 10, 50, 100", pcts)
	} else if last := m.Checkpoints[3]; last.Execs != 200 || last.HWMKiB != m.PeakRSSKiB {
		t.Errorf("last memory checkpoint %+v, want 200 execs and the peak, %d KiB", last, m.PeakRSSKiB)
	}
	checkVerdict(t, m)
}

// exectrailForTest is ../../bin/exectrail (absolute); missing, the test
// skips, or fails under CI=true.
func exectrailForTest(t *testing.T) string {
	t.Helper()
	et, err := filepath.Abs("../../bin/exectrail")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(et); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v (run make build)", et, err)
		}
		t.Skipf("%s: %v (run make build)", et, err)
	}
	return et
}

// TestFloors runs each floor on a shell that cds and execs with
// arguments, a relative path and a failing path, and checks its lines:
// each exec attempt once, with pid, cwd, path and argv as the job passed
// them, and the job's exit status passed on.
func TestFloors(t *testing.T) {
	dir := t.TempDir()
	bin, err := filepath.EvalSymlinks("/bin") // /usr/bin where /bin is a link to it
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"floor-notify", "floor-ptrace"} {
		src := map[string]string{"floor-notify": floorNotifyC, "floor-ptrace": floorPtraceC}[name]
		if err := cc(dir, name, src, "-Wall", "-Werror"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := filepath.Join(dir, name+".out")
		cmd := exec.Command(filepath.Join(dir, name), out, "--", "/bin/sh", "-c", "cd "+bin+" && ./true x 'y z'; /nonexistent/p q; /bin/true; exit 3")
		b, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("%s: %v, want exit status 3: %s", name, err, b)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
		want := []string{
			"/bin/sh /bin/sh -c cd " + bin + " && ./true x 'y z'; /nonexistent/p q; /bin/true; exit 3",
			bin + " ./true ./true x y z",
			bin + " /nonexistent/p /nonexistent/p q",
			bin + " /bin/true /bin/true",
		}
		if len(lines) != len(want) {
			t.Fatalf("%s: lines\n%s\nwant %d", name, got, len(want))
		}
		wd, _ := os.Getwd()
		want[0] = wd + " " + want[0]
		for i, l := range lines {
			f := strings.SplitN(l, " ", 3)
			if len(f) != 3 || f[0] != "exec" || f[2] != want[i] {
				t.Errorf("%s: line %d = %q, want \"exec PID %s\"", name, i+1, l, want[i])
			}
			if pid, err := strconv.Atoi(f[1]); err != nil || pid <= 0 {
				t.Errorf("%s: line %d: pid %q", name, i+1, f[1])
			}
		}
	}
}

// TestTargets checks the target verdicts on made-up results: no process,
// no timing.
func TestTargets(t *testing.T) {
	cells := func(ratios ...float64) []Cell {
		names := []string{"native", "auto", "strace", "floor-notify"}
		var cs []Cell
		for i, r := range ratios {
			cs = append(cs, Cell{Config: names[i], RatioMedian: r, CPUUSPerExec: 50 * r})
		}
		return cs
	}
	res := &Results{
		Workloads: []Workload{
			{Name: "exec", Results: cells(1, 1.20, 1.30, 1.22)}, // 20% against strace's 30%: 67%
			{Name: "make", Results: cells(1, 1.09, 1.3)},
			{Name: "fork", Results: cells(1, 1.10)},
			{Name: "threads", Noise: 0.05, Results: cells(1, 1.04)},
			{Name: "syscalls", Noise: 0.02, Results: cells(1, 1.04)},
		},
		Saturation: []Saturation{{Config: "auto", Workers: 4, ExecsPerSecond: 7000}, {Config: "floor-notify", Workers: 4, ExecsPerSecond: 9000}},
	}
	base := filepath.Join(t.TempDir(), "baseline.json")
	old, _ := json.Marshal(Results{Date: "then", Exectrail: "exectrail old", Saturation: []Saturation{{Config: "auto", Workers: 4, ExecsPerSecond: 3000}}})
	if err := os.WriteFile(base, old, 0o644); err != nil {
		t.Fatal(err)
	}
	configs := []config{{name: "native", kind: "native"}, {name: "auto", kind: "exectrail", backend: "auto"},
		{name: "notify", kind: "exectrail", backend: "notify"}, {name: "strace", kind: "strace"}}
	judgeTargets(Config{Baseline: base, Targets: "auto"}, res, configs)
	want := map[string]string{
		"exec storm ≤ 1.25× native":                                        "met",
		"make -j2 (150-file C build) ≤ 1.08× native":                       "not met",
		"fork storm ≤ 1.10× native":                                        "met",
		"Go build ≤ 1.03× native":                                          "not measured",
		"thread creation at noise (≤ 1.05× native)":                        "met",
		"exec-free syscalls at noise (≤ 1.02× native)":                     "not met",
		"exec storm overhead ≤ 85% of strace's":                            "met",
		"supervisor CPU per exec record (exec storm) ≤ 60 µs":              "met", // 60 µs
		"saturation, 4 workers: ≥ 2× the baseline's fork+execs per second": "met", // 7000 ≥ 6000
	}
	if len(res.Targets) != len(want) {
		t.Fatalf("%d targets, want %d: %+v", len(res.Targets), len(want), res.Targets)
	}
	for _, tg := range res.Targets {
		v, ok := want[tg.Target]
		if !ok || tg.Config != "auto" || !strings.HasSuffix(strings.SplitN(tg.Line(), "; ", 2)[0], "("+v) && !strings.HasSuffix(tg.Line(), "("+v+")") {
			t.Errorf("%q: %s, want %s", tg.Target, tg.Line(), v)
		}
	}
	if l := res.Targets[0].Line(); l != "target exec storm ≤ 1.25× native [auto]: measured 1.20× (met; floor-notify 1.22×)" {
		t.Errorf("line %q", l)
	}
	if l := res.Targets[6].Line(); !strings.Contains(l, "measured 67% (1.20× against strace's 1.30×)") {
		t.Errorf("line %q", l)
	}
	if l := res.Targets[8].Line(); !strings.Contains(l, "7000/s, 2.33× the baseline's 3000/s (met; floor-notify 9000/s)") {
		t.Errorf("line %q", l)
	}
	if !strings.Contains(res.BaselineRef, "then, exectrail old") {
		t.Errorf("baseline ref %q", res.BaselineRef)
	}
}

// checkVerdict checks that m's window medians, sample counts, Flat and
// FlatReason agree with each other, whatever the timing made of them.
func checkVerdict(t *testing.T, m Memory) {
	t.Helper()
	for _, w := range []struct {
		name string
		kib  *int
		n    int
	}{{"baseline", m.BaselineRSSKiB, m.BaselineSamples}, {"final", m.FinalRSSKiB, m.FinalSamples}} {
		if (w.kib == nil) != (w.n == 0) || w.n < 0 || (w.kib != nil && *w.kib <= 0) {
			t.Errorf("memory: %s median %v KiB of %d samples", w.name, w.kib, w.n)
		}
	}
	unknown := m.BaselineRSSKiB == nil || m.FinalRSSKiB == nil
	if m.Flat == (m.FlatReason != "") || (unknown && m.Flat) {
		t.Errorf("memory: flat %v, reason %q, medians %v and %v", m.Flat, m.FlatReason, m.BaselineRSSKiB, m.FinalRSSKiB)
	}
}

// TestJudge checks the flat verdict on made-up samples: no process, no
// timing.
func TestJudge(t *testing.T) {
	const n = 1000
	// run makes a sample every 10 execs, up to n, with VmRSS rss(execs)
	// and VmHWM its running maximum, and fds fds(execs); the last sample
	// is at n.
	run := func(rss, fds func(int) int) []memSample {
		var ss []memSample
		hwm := 0
		for e := 0; e <= n; e += 10 {
			hwm = max(hwm, rss(e))
			ss = append(ss, memSample{execs: e, rssKiB: rss(e), hwmKiB: hwm, fds: fds(e)})
		}
		return ss
	}
	judge := func(ss []memSample) Memory {
		var m Memory
		for _, p := range memoryPercents {
			i := slices.IndexFunc(ss, func(s memSample) bool { return s.execs*100 >= n*p })
			m.Checkpoints = append(m.Checkpoints, Checkpoint{Percent: p, Execs: ss[i].execs, RSSKiB: ss[i].rssKiB, HWMKiB: ss[i].hwmKiB, FDs: ss[i].fds})
		}
		m.judge(ss, n, 0)
		checkVerdict(t, m)
		return m
	}
	const mb = 1024
	fds := func(int) int { return 8 }
	for _, tc := range []struct {
		name     string
		rss, fds func(int) int
		flat     bool
	}{
		{"flat", func(int) int { return 20 * mb }, fds, true},
		{"within 5%", func(e int) int { return 40*mb + e*2*mb/n }, fds, true},
		{"within 1 MiB", func(e int) int { return 10*mb + e*mb/n }, fds, true},
		{"shrinks", func(e int) int { return 30*mb - e*5*mb/n }, fds, true},
		{"grows", func(e int) int { return 20*mb + e*4*mb/n }, fds, false},
		// Growth below an early peak: VmHWM stays at 50 MiB throughout.
		{"grows below the peak", func(e int) int {
			if e == 0 {
				return 50 * mb
			}
			return 20*mb + e*4*mb/n
		}, fds, false},
		{"fds +2", func(int) int { return 20 * mb }, func(e int) int { return 8 + 2*e/n }, true},
		{"fds +3", func(int) int { return 20 * mb }, func(e int) int { return 8 + 3*e/n }, false},
	} {
		m := judge(run(tc.rss, tc.fds))
		// The windows: the 11 samples from 50 to 150 execs, and the 10
		// from 900 to 990.
		base, fin := tc.rss(100), (tc.rss(940)+tc.rss(950))/2
		if m.Flat != tc.flat || m.BaselineRSSKiB == nil || m.FinalRSSKiB == nil ||
			*m.BaselineRSSKiB != base || *m.FinalRSSKiB != fin || m.BaselineSamples != 11 || m.FinalSamples != 10 {
			t.Errorf("%s: flat %v (%q), medians %v KiB (%d samples) and %v KiB (%d samples); want flat %v, medians %d and %d KiB of 11 and 10 samples",
				tc.name, m.Flat, m.FlatReason, deref(m.BaselineRSSKiB), m.BaselineSamples, deref(m.FinalRSSKiB), m.FinalSamples, tc.flat, base, fin)
		}
	}

	// With pid_max 200 the baseline window ends at 100 execs (half a pid
	// cycle) and starts at 50.
	if from, to := baselineWindow(n, 200); from != 50 || to != 100 {
		t.Errorf("baseline window with pid_max 200: %d–%d execs, want 50–100", from, to)
	}
	if from, to := baselineWindow(n, 100); from != 25 || to != 50 {
		t.Errorf("baseline window with pid_max 100: %d–%d execs, want 25–50", from, to)
	}
	// A leak that saturates after one pid cycle of 100 execs: a window of
	// 5%–15% (50–150 execs) would start after it stopped growing.
	var m Memory
	ss := run(func(e int) int { return 20*mb + min(e, 100)*4*mb/100 }, fds)
	for _, p := range memoryPercents {
		i := slices.IndexFunc(ss, func(s memSample) bool { return s.execs*100 >= n*p })
		m.Checkpoints = append(m.Checkpoints, Checkpoint{Percent: p, Execs: ss[i].execs, RSSKiB: ss[i].rssKiB, HWMKiB: ss[i].hwmKiB, FDs: ss[i].fds})
	}
	m.judge(ss, n, 100)
	if m.Flat {
		t.Errorf("a leak bounded by pid_max (100) judged flat: baseline %v, final %v", deref(m.BaselineRSSKiB), deref(m.FinalRSSKiB))
	}

	// A short run: a sample at 0 execs, then the 100% one.
	m = judge([]memSample{{execs: 0, rssKiB: 9 * mb, hwmKiB: 9 * mb, fds: 6}, {execs: n, rssKiB: 9 * mb, hwmKiB: 9 * mb, fds: 6}})
	if m.Flat || m.BaselineRSSKiB != nil || m.FinalRSSKiB != nil || m.FlatReason == "" {
		t.Errorf("short run: flat %v (%q), medians %v and %v; want not flat, unknown medians and a reason",
			m.Flat, m.FlatReason, m.BaselineRSSKiB, m.FinalRSSKiB)
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
