package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestSmoke runs the smallest exec workload once, natively and under
// exectrail's notify backend, and checks the shape of the JSON. It checks
// no timing: benchmarks are not tests.
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
	out := filepath.Join(t.TempDir(), "results.json")
	if _, err := Run(Config{Runs: 1, Exectrail: et, Out: out, Only: "exec", Configs: "notify", Scale: 0.005}); err != nil {
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
	for _, k := range []string{"date", "cpus", "kernel", "go_version", "runs", "configs", "workloads"} {
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
}
