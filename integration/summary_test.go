package integration

// The CI step summary (issue 17): under GitHub Actions exectrail run
// appends its markdown report to $GITHUB_STEP_SUMMARY with no extra
// command; --step-summary=off and =FILE; --report-file; --baseline adds
// the diff.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestStepSummary(t *testing.T) {
	t.Parallel()
	dir := buildCheckout(t)
	base := runBuild(t, dir)
	tmp := t.TempDir()
	summary := filepath.Join(tmp, "step_summary.md")
	const earlier = "## an earlier step's summary\n"
	if err := os.WriteFile(summary, []byte(earlier), 0o644); err != nil {
		t.Fatal(err)
	}
	gh := []string{"GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY=" + summary}

	// Under GitHub Actions: appended, nothing else changes.
	r := runTrail(t, Opts{Dir: dir, Env: append(os.Environ(), gh...)}, "./build.sh")
	if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != "hello" || strings.Contains(r.Stderr, "exectrail") {
		t.Errorf("exit %d stdout %q stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	got, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	for _, want := range []string{
		"### exectrail report", "<code>./build.sh</code> — exit 0",
		"<code>" + dir + "/hello</code>", "<details><summary>Process tree",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("step summary lacks %q:\n%s", want, s)
		}
	}
	if !strings.HasPrefix(s, earlier) {
		t.Errorf("the step summary was not appended to:\n%s", s)
	}
	size := len(got)

	// --step-summary=off: nothing. GITHUB_ACTIONS not "true": nothing.
	runTrail(t, Opts{Dir: dir, Env: append(os.Environ(), gh...), Flags: []string{"--step-summary=off"}}, "./build.sh")
	runTrail(t, Opts{Dir: dir, Env: append(os.Environ(), "GITHUB_ACTIONS=false", "GITHUB_STEP_SUMMARY="+summary)}, "./build.sh")
	if st, _ := os.Stat(summary); st.Size() != int64(size) {
		t.Errorf("step summary written with --step-summary=off or outside GitHub Actions (%d → %d bytes)", size, st.Size())
	}

	// --step-summary=FILE with --baseline: the report and the diff.
	other := filepath.Join(tmp, "other.md")
	r = runTrail(t, Opts{Dir: dir, Env: append(os.Environ(), "FETCH=1"),
		Flags: []string{"--step-summary=" + other, "--baseline", base.LogPath}}, "./build.sh")
	got, err = os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	s = string(got)
	for _, want := range []string{
		"### exectrail report", "### exectrail diff", "<code>" + base.LogPath + "</code> → <code>this run</code>: **2 new programs, 2 new edges**",
		"- <code>/usr/bin/curl</code> (1 exec)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("step summary with --baseline lacks %q:\n%s", want, s)
		}
	}
	if r.ExitCode != 0 {
		t.Errorf("--baseline changed the exit status: %d", r.ExitCode)
	}

	// --report-file: the markdown report in a file, nothing on stderr.
	rf := filepath.Join(tmp, "report.md")
	r = runTrail(t, Opts{Dir: dir, Flags: []string{"--report-file", rf, "--step-summary=off"}}, "./build.sh")
	got, _ = os.ReadFile(rf)
	if !strings.HasPrefix(string(got), "### exectrail report\n") || strings.Contains(r.Stderr, reportRule) {
		t.Errorf("--report-file: file %q, stderr %q", got, r.Stderr)
	}
	// --report=tree --report-file: the tree in the file.
	r = runTrail(t, Opts{Dir: dir, Flags: []string{"--report=tree", "--report-file", rf, "--step-summary=off"}}, "./build.sh")
	got, _ = os.ReadFile(rf)
	if !regexp.MustCompile(`(?m)^ *PID +TIME +EXIT +PROCESS$`).Match(got) || !strings.Contains(string(got), dir+"/hello") || strings.Contains(string(got), "###") ||
		strings.Contains(r.Stderr, reportRule) {
		t.Errorf("--report=tree --report-file: file %q, stderr %q", got, r.Stderr)
	}

	// Bad values fail before the job runs.
	for _, flags := range [][]string{
		{"--baseline", "/nonexistent.jsonl"},
		{"--report-file", "/nonexistent/dir/r.md"},
		{"--step-summary="},
		{"--normalize", "a=b"},
	} {
		r := runTrail(t, Opts{Dir: dir, Flags: flags}, "./build.sh")
		if r.ExitCode != 125 || strings.Contains(r.Stdout, "hello") {
			t.Errorf("%v: exit %d stdout %q, want 125 before the job", flags, r.ExitCode, r.Stdout)
		}
		oneErrorLine(t, strings.Join(flags, " "), r.Stderr)
	}
}
