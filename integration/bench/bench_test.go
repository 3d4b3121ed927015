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
// are not tests.
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
	for _, k := range []string{"date", "cpus", "kernel", "go_version", "runs", "configs", "workloads", "memory"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("no %q in %s", k, b)
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
		if c.RSSKiB <= 0 || c.HWMKiB <= 0 || c.HWMKiB > m.PeakRSSKiB || c.Execs*100 < 200*c.Percent {
			t.Errorf("memory checkpoint %+v (peak %d KiB)", c, m.PeakRSSKiB)
		}
	}
	if !slices.Equal(pcts, []int{1, 10, 50, 100}) {
		t.Errorf("memory checkpoints at %v%%, want 1, 10, 50, 100", pcts)
	} else if last := m.Checkpoints[3]; last.Execs != 200 || last.HWMKiB != m.PeakRSSKiB {
		t.Errorf("last memory checkpoint %+v, want 200 execs and the peak, %d KiB", last, m.PeakRSSKiB)
	}
}
