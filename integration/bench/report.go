package main

// The printed tables.

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

func printTable(w io.Writer, r *Results) {
	fmt.Fprintf(w, "exectrail bench — %s; %d CPUs (%s); Linux %s; Go %s; %d runs each, alternating; load average %s at start, %s at the end; %.0f s\n",
		r.Date, r.CPUs, r.CPUModel, r.Kernel, r.GoVersion, r.Runs, r.LoadAvg, r.LoadAvgEnd, r.Seconds)
	for _, b := range r.Binaries {
		if b.Label != "" {
			fmt.Fprintf(w, "%s: %s (%s)\n", b.Label, b.Version, b.Path)
		} else {
			fmt.Fprintf(w, "%s (%s)\n", b.Version, b.Path)
		}
	}
	if r.Strace != "" {
		fmt.Fprintf(w, "strace: %s\n", r.Strace)
	}
	if len(r.Workloads) > 0 {
		printWorkloads(w, r)
		printCPU(w, r)
	}
	if len(r.Saturation) > 0 {
		printSaturation(w, r)
	}
	if len(r.Memory) > 0 {
		printMemory(w, r)
	}
	if len(r.Targets) > 0 {
		printTargets(w, r)
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
	fmt.Fprintln(w, "median wall time, median of pair-by-pair ratios to native; µs/exec: native per exec, or added per exec from the medians; floor-*: bare C supervisors reading path, argv and cwd only")
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

// printCPU prints the supervisor's CPU per exec record (exec workloads) or
// per run (the others), and its scheduling per exec record.
func printCPU(w io.Writer, r *Results) {
	var cols []string
	for _, c := range r.Configs {
		if c != "native" {
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| supervisor CPU | %s |\n", strings.Join(cols, " | "))
	fmt.Fprintf(w, "|---|%s\n", strings.Repeat("---|", len(cols)))
	for _, wl := range r.Workloads {
		fmt.Fprintf(w, "| %s |", wl.Desc)
		for _, c := range wl.Results {
			switch {
			case c.Config == "native":
				continue
			case c.CPUUSPerExec > 0:
				fmt.Fprintf(w, " %.0f µs, %.1f cs |", c.CPUUSPerExec, c.SwitchesPerExc)
			case c.CPUMS > 0:
				fmt.Fprintf(w, " %.0f ms |", c.CPUMS)
			default:
				fmt.Fprint(w, " – |")
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "the supervisor's own CPU time (all its threads, user+system, from the kernel's taskstats of the exited process), median: per exec record with the times its threads were switched onto a CPU per exec record (cs), or per run for workloads that do not exec")
}

// printSaturation prints throughput by worker count.
func printSaturation(w io.Writer, r *Results) {
	var workers []int
	for _, s := range r.Saturation {
		if len(workers) == 0 || workers[len(workers)-1] != s.Workers {
			workers = append(workers, s.Workers)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "| saturation |")
	for _, n := range workers {
		fmt.Fprintf(w, " %d workers |", n)
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", len(workers)))
	for _, c := range r.Configs {
		fmt.Fprintf(w, "| %s |", c)
		for _, n := range workers {
			cell := " – |"
			for _, s := range r.Saturation {
				if s.Config != c || s.Workers != n {
					continue
				}
				cell = fmt.Sprintf(" %.0f/s", s.ExecsPerSecond)
				if c != "native" {
					cell += fmt.Sprintf(" (%.2f×)", s.RatioToNative)
				}
				if s.CPUUSPerExec > 0 {
					cell += fmt.Sprintf(", %.0f µs", s.CPUUSPerExec)
				}
				if s.FailedRuns > 0 {
					cell += fmt.Sprintf(" [%d failed]", s.FailedRuns)
				}
				cell += " |"
			}
			fmt.Fprint(w, cell)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	if len(r.Saturation) > 0 {
		s := r.Saturation[0]
		fmt.Fprintf(w, "W workers, each %d × fork+exec of %s one at a time: fork+execs (one exec record each) per second, median; in parentheses the throughput relative to native in the same round; µs: supervisor CPU per exec record\n", s.Count, s.Program)
	}
}

func printTargets(w io.Writer, r *Results) {
	fmt.Fprintln(w)
	if r.BaselineRef != "" {
		fmt.Fprintf(w, "issue #15 targets (baseline: %s)\n", r.BaselineRef)
	} else {
		fmt.Fprintln(w, "issue #15 targets")
	}
	for _, t := range r.Targets {
		fmt.Fprintln(w, t.Line())
	}
}
