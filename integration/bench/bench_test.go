package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestSmoke runs the smallest exec workload once, natively and under
// exectrail's notify backend, then a 200-exec memory phase under
// $EXECTRAIL_BACKEND (notify or ptrace; default notify), and checks the
// shape of the JSON. It checks no timing and no memory figure: benchmarks
// are not tests. So the memory run may or may not have samples in the
// windows of the flat verdict (it is usually over before the second
// sample), and may or may not be flat; only the consistency of the fields
// is checked.
func TestSmoke(t *testing.T) {
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
	backend := os.Getenv("EXECTRAIL_BACKEND")
	if backend != "ptrace" {
		backend = "notify"
	}
	out := filepath.Join(t.TempDir(), "results.json")
	if _, err := Run(Config{Runs: 1, Exectrail: et, Out: out, Only: "exec", Configs: "notify", Scale: 0.005,
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
	for _, k := range []string{"date", "cpus", "kernel", "go_version", "runs", "configs", "workloads", "memory", "pid_max"} {
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
	if len(res.Workloads) != 1 || res.Workloads[0].Name != "exec" {
		t.Fatalf("workloads = %+v, want exec only", res.Workloads)
	}
	wl := res.Workloads[0]
	if wl.Execs != wl.Size+1 { // the loop's execs and sh itself
		t.Errorf("execs = %d, want %d", wl.Execs, wl.Size+1)
	}
	if len(wl.Results) != 2 || wl.Results[0].Config != "native" || wl.Results[1].Config != "notify" {
		t.Fatalf("results = %+v, want native and notify", wl.Results)
	}
	for _, c := range wl.Results {
		if len(c.RunsMS) != 1 || c.FailedRounds != 0 || c.MedianMS <= 0 || c.RatioMedian <= 0 {
			t.Errorf("%s: %+v", c.Config, c)
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
