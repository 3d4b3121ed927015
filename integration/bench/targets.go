package main

// Issue #15's cost targets, judged for each configuration of backend
// -targets (auto by default: what users get), from this run's figures:
//
//   - exec storm ≤ 1.25× native, and its overhead at most 85% of strace's
//     ((ratio−1) ≤ 0.85 × (strace's ratio−1));
//   - make -j2 of the 150-file C build ≤ 1.08×, fork storm ≤ 1.10×, the
//     Go build ≤ 1.03×;
//   - thread creation and exec-free syscalls at noise: ratio ≤ 1 + the
//     workload's native noise (Workload.Noise: twice native's
//     interquartile range over its median, at least 2%);
//   - supervisor CPU per exec record on the exec storm ≤ 60 µs;
//   - saturation: fork+execs per second at 4 workers ≥ 2× the baseline's
//     (an earlier results.json, -baseline: the same backend's figure, of
//     its first binary); without a baseline the line gives today's figure
//     and no verdict.
//
// Each line also gives what the floors (floors.go) measured, so that a
// target can be judged against what this machine allows at all.

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Target is one target judged for one configuration.
type Target struct {
	Config   string  `json:"config"`
	Target   string  `json:"target"`
	Measured string  `json:"measured"`
	Value    float64 `json:"value"`
	Limit    float64 `json:"limit"`
	Met      *bool   `json:"met"` // null: not measured in this run
	Floor    string  `json:"floor,omitempty"`
}

// Line is the printed line: "target X [config]: measured Y (met)".
func (t Target) Line() string {
	verdict := "not measured"
	if t.Met != nil {
		verdict = map[bool]string{true: "met", false: "not met"}[*t.Met]
	}
	s := fmt.Sprintf("target %s [%s]: measured %s (%s", t.Target, t.Config, t.Measured, verdict)
	if t.Floor != "" {
		s += "; " + t.Floor
	}
	return s + ")"
}

func judgeTargets(cfg Config, res *Results, configs []config) {
	cell := func(workload, config string) *Cell {
		for i := range res.Workloads {
			if res.Workloads[i].Name != workload {
				continue
			}
			for j := range res.Workloads[i].Results {
				if c := &res.Workloads[i].Results[j]; c.Config == config && c.RatioMedian > 0 {
					return c
				}
			}
		}
		return nil
	}
	workload := func(name string) *Workload {
		for i := range res.Workloads {
			if res.Workloads[i].Name == name {
				return &res.Workloads[i]
			}
		}
		return nil
	}
	floors := func(f func(c *Cell) (string, bool), workload string) string {
		var out []string
		for _, name := range []string{"floor-notify", "floor-ptrace"} {
			if c := cell(workload, name); c != nil {
				if s, ok := f(c); ok {
					out = append(out, name+" "+s)
				}
			}
		}
		return strings.Join(out, ", ")
	}
	ratio := func(c *Cell) (string, bool) { return fmt.Sprintf("%.2f×", c.RatioMedian), true }
	cpu := func(c *Cell) (string, bool) {
		return fmt.Sprintf("%.0f µs", c.CPUUSPerExec), c.CPUUSPerExec > 0
	}
	met := func(v, limit float64) *bool { b := v <= limit; return &b }

	var base []Saturation
	if cfg.Baseline != "" {
		if b, err := os.ReadFile(cfg.Baseline); err == nil {
			var old Results
			if err := json.Unmarshal(b, &old); err == nil {
				base = old.Saturation
				res.BaselineRef = fmt.Sprintf("%s, %s, %s", cfg.Baseline, old.Date, old.Exectrail)
			} else {
				res.Skipped = append(res.Skipped, fmt.Sprintf("baseline %s: %v", cfg.Baseline, err))
			}
		}
	}

	for _, c := range configs {
		if c.kind != "exectrail" || c.backend != cfg.Targets {
			continue
		}
		add := func(t Target) { t.Config = c.name; res.Targets = append(res.Targets, t) }
		for _, r := range []struct {
			workload, desc string
			limit          float64
		}{
			{"exec", "exec storm ≤ 1.25× native", 1.25},
			{"make", "make -j2 (150-file C build) ≤ 1.08× native", 1.08},
			{"fork", "fork storm ≤ 1.10× native", 1.10},
			{"go-build", "Go build ≤ 1.03× native", 1.03},
			{"threads", "thread creation at noise", 0},
			{"syscalls", "exec-free syscalls at noise", 0},
		} {
			limit, desc := r.limit, r.desc
			if w := workload(r.workload); limit == 0 && w != nil {
				limit = 1 + w.Noise
				desc = fmt.Sprintf("%s (≤ %.2f× native)", desc, limit)
			}
			t := Target{Target: desc, Limit: limit, Measured: "–", Floor: floors(ratio, r.workload)}
			if x := cell(r.workload, c.name); x != nil {
				t.Value, t.Measured, t.Met = x.RatioMedian, fmt.Sprintf("%.2f×", x.RatioMedian), met(x.RatioMedian, limit)
			}
			add(t)
		}
		t := Target{Target: "exec storm overhead ≤ 85% of strace's", Limit: 0.85, Measured: "–"}
		switch x, s := cell("exec", c.name), cell("exec", "strace"); {
		case x == nil || s == nil:
		case s.RatioMedian <= 1:
			t.Measured = fmt.Sprintf("– (strace's ratio is %.2f×: no overhead to compare with)", s.RatioMedian)
		default:
			t.Value = r3((x.RatioMedian - 1) / (s.RatioMedian - 1))
			t.Measured = fmt.Sprintf("%.0f%% (%.2f× against strace's %.2f×)", t.Value*100, x.RatioMedian, s.RatioMedian)
			t.Met = met(t.Value, t.Limit)
		}
		add(t)
		t = Target{Target: "supervisor CPU per exec record (exec storm) ≤ 60 µs", Limit: 60, Measured: "–", Floor: floors(cpu, "exec")}
		if x := cell("exec", c.name); x != nil && x.CPUUSPerExec > 0 {
			t.Value, t.Measured, t.Met = x.CPUUSPerExec, fmt.Sprintf("%.0f µs (%.1f context switches)", x.CPUUSPerExec, x.SwitchesPerExc), met(x.CPUUSPerExec, 60)
		}
		add(t)
		t = Target{Target: "saturation, 4 workers: ≥ 2× the baseline's fork+execs per second", Measured: "–"}
		var now, then *Saturation
		for i, s := range res.Saturation {
			if s.Config == c.name && s.Workers == 4 && s.ExecsPerSecond > 0 {
				now = &res.Saturation[i]
			}
		}
		for i, s := range base {
			if s.Config == cfg.Targets && s.Workers == 4 && s.ExecsPerSecond > 0 {
				then = &base[i]
			}
		}
		switch {
		case now == nil:
		case then == nil:
			t.Value = now.ExecsPerSecond
			t.Measured = fmt.Sprintf("%.0f/s (no baseline for %s at 4 workers: this is today's figure)", now.ExecsPerSecond, cfg.Targets)
		default:
			t.Limit = 2 * then.ExecsPerSecond
			t.Value = now.ExecsPerSecond
			t.Measured = fmt.Sprintf("%.0f/s, %.2f× the baseline's %.0f/s", now.ExecsPerSecond, now.ExecsPerSecond/then.ExecsPerSecond, then.ExecsPerSecond)
			b := now.ExecsPerSecond >= t.Limit
			t.Met = &b
		}
		var fl []string
		for _, s := range res.Saturation {
			if s.Workers == 4 && strings.HasPrefix(s.Config, "floor-") {
				fl = append(fl, fmt.Sprintf("%s %.0f/s", s.Config, s.ExecsPerSecond))
			}
		}
		t.Floor = strings.Join(fl, ", ")
		add(t)
	}
}
