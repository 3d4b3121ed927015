package integration

// exectrail diff and exectrail policy learn (issue 17) on logs of real
// runs: a small C build in a checkout, then the same build with a script
// that runs curl added.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func diffJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("diff --format json is not one JSON object: %v\n%s", err, out)
	}
	return v
}

// diffList returns the objects of a JSON list field.
func diffList(v map[string]any, field string) []map[string]any {
	var out []map[string]any
	l, _ := v[field].([]any)
	for _, x := range l {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

func diffProg(m any) string {
	p, _ := m.(map[string]any)
	s, _ := p["executable"].(string)
	if i, _ := p["interpreter"].(string); i != "" {
		s += " #!" + i
	}
	return s
}

func TestDiffRealBuilds(t *testing.T) {
	t.Parallel()
	dir := buildCheckout(t)
	base := runBuild(t, dir)
	same := runBuild(t, dir)
	fetch := runBuild(t, dir, "FETCH=1")

	// Two runs of the unchanged build: nothing to say, exit 0.
	out, errOut, code := runCLI(t, "diff", base.LogPath, same.LogPath)
	if code != 0 || !strings.Contains(out, "no change") || errOut != "" {
		t.Errorf("diff of two unchanged builds: exit %d, want 0 and \"no change\"\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	build := dir + "/build.sh #!/usr/bin/dash"
	fetchSh := dir + "/fetch.sh #!/usr/bin/dash"
	// Text: the new programs, the new edges, and the chain of ancestors
	// of the curl edge, outermost first.
	out, errOut, code = runCLI(t, "diff", base.LogPath, fetch.LogPath)
	if code != 1 {
		t.Fatalf("diff with curl added: exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, want := range []string{
		"2 new programs, 2 new edges",
		"  + /usr/bin/curl  (1 exec)\n",
		"  + " + fetchSh + "  (1 exec)\n",
		"  + " + build + " → " + fetchSh + "  (1 exec)\n",
		"  + " + fetchSh + " → /usr/bin/curl  (1 exec)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff text lacks %q:\n%s", want, out)
		}
	}
	chain := regexp.MustCompile(`(?m)^ +\+ ` + regexp.QuoteMeta(fetchSh) + ` → /usr/bin/curl .*\n +` +
		regexp.QuoteMeta(build) + `  \./build\.sh  \[pid \d+\]\n +└─ ` + regexp.QuoteMeta(fetchSh) + `  \./fetch\.sh  \[pid \d+\]\n +└─ /usr/bin/curl  /usr/bin/curl --version  \[pid \d+, line \d+\]\n`)
	if !chain.MatchString(out) {
		t.Errorf("the curl edge is not shown with its ancestors build.sh → fetch.sh:\n%s", out)
	}
	if strings.Contains(out, "gone") || strings.Contains(out, "failed") {
		t.Errorf("nothing is gone or failed:\n%s", out)
	}

	// Markdown.
	md, _, code := runCLI(t, "diff", "--markdown", base.LogPath, fetch.LogPath)
	for _, want := range []string{
		"### exectrail diff", "#### New programs (2)", "- <code>/usr/bin/curl</code> (1 exec)",
		"#### New edges (2)", "- <code>" + fetchSh + "</code> → <code>/usr/bin/curl</code> (1 exec)",
		"└─ /usr/bin/curl  /usr/bin/curl --version",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("diff --markdown lacks %q:\n%s", want, md)
		}
	}
	if code != 1 {
		t.Errorf("diff --markdown: exit %d, want 1", code)
	}

	// JSON, field by field.
	js, _, code := runCLI(t, "diff", "--format", "json", base.LogPath, fetch.LogPath)
	if code != 1 {
		t.Errorf("diff --format json: exit %d, want 1", code)
	}
	v := diffJSON(t, js)
	if v["same"] != false || v["added"] != true || v["removed"] != false {
		t.Errorf("verdict fields: same %v added %v removed %v\n%s", v["same"], v["added"], v["removed"], js)
	}
	var progs []string
	for _, p := range diffList(v, "new_programs") {
		progs = append(progs, diffProg(p["program"]))
	}
	if strings.Join(progs, "|") != fetchSh+"|/usr/bin/curl" && strings.Join(progs, "|") != "/usr/bin/curl|"+fetchSh {
		t.Errorf("new_programs %q, want curl and fetch.sh", progs)
	}
	found := false
	for _, e := range diffList(v, "new_edges") {
		if diffProg(e["parent"]) != fetchSh || diffProg(e["child"]) != "/usr/bin/curl" {
			continue
		}
		found = true
		ex, _ := e["example"].(map[string]any)
		anc, _ := ex["ancestors"].([]any)
		var names []string
		for _, a := range anc {
			names = append(names, diffProg(a.(map[string]any)["program"]))
		}
		if strings.Join(names, " > ") != build+" > "+fetchSh {
			t.Errorf("ancestors of the curl edge: %q, want build.sh > fetch.sh", names)
		}
		if argv, _ := ex["argv"].([]any); len(argv) != 2 || argv[1] != "--version" {
			t.Errorf("example argv %v", ex["argv"])
		}
	}
	if !found {
		t.Errorf("no new edge fetch.sh → curl in JSON:\n%s", js)
	}
	for _, f := range []string{"gone_programs", "gone_edges", "new_failed", "new_denied"} {
		if l, ok := v[f].([]any); !ok || len(l) != 0 {
			t.Errorf("%s = %v, want []", f, v[f])
		}
	}

	// gzip, and BASE from standard input: the same answer.
	gz := filepath.Join(t.TempDir(), "fetch.jsonl.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	raw, err := os.ReadFile(fetch.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(raw)
	zw.Close()
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exectrail, "diff", "--format", "json", "-", gz)
	cmd.Stdin, _ = os.Open(base.LogPath)
	gzOut, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("diff - LOG.gz: %v, want exit 1", err)
	}
	gv := diffJSON(t, string(gzOut))
	if len(diffList(gv, "new_edges")) != 2 || len(diffList(gv, "new_programs")) != 2 {
		t.Errorf("diff of stdin and a gzip log differs from the plain one:\n%s", gzOut)
	}

	// Only removals: exit 0, unless --fail-on-removed.
	out, _, code = runCLI(t, "diff", fetch.LogPath, base.LogPath)
	if code != 0 || !strings.Contains(out, "Programs gone (2)") || !strings.Contains(out, "  - /usr/bin/curl") {
		t.Errorf("diff NEW BASE: exit %d, want 0 and the gone programs:\n%s", code, out)
	}
	if _, _, code = runCLI(t, "diff", "--fail-on-removed", fetch.LogPath, base.LogPath); code != 1 {
		t.Errorf("diff --fail-on-removed NEW BASE: exit %d, want 1", code)
	}
}

// --normalize makes two checkouts in different directories the same
// build; --count-factor reports a program that ran five times as often.
func TestDiffNormalizeAndCounts(t *testing.T) {
	t.Parallel()
	a, b := buildCheckout(t), buildCheckout(t)
	ra, rb := runBuild(t, a), runBuild(t, b)
	out, _, code := runCLI(t, "diff", ra.LogPath, rb.LogPath)
	if code != 1 || !strings.Contains(out, "  + "+b+"/hello") || !strings.Contains(out, "  - "+a+"/hello") {
		t.Errorf("two checkouts: exit %d, want 1 with %s/hello new and %s/hello gone:\n%s", code, b, a, out)
	}
	norm := `/tmp/exectrail-checkout-[0-9]+=/CHECKOUT`
	out, errOut, code := runCLI(t, "diff", "--normalize", norm, ra.LogPath, rb.LogPath)
	if code != 0 {
		t.Errorf("two checkouts, normalised: exit %d, want 0\n%s%s", code, out, errOut)
	}

	five := runBuild(t, a, "N=5")
	if out, _, code = runCLI(t, "diff", ra.LogPath, five.LogPath); code != 0 {
		t.Errorf("hello 5 times instead of once, no --count-factor: exit %d, want 0\n%s", code, out)
	}
	out, _, code = runCLI(t, "diff", "--count-factor", "3", ra.LogPath, five.LogPath)
	if code != 1 || !strings.Contains(out, "  + "+a+"/hello  1 → 5\n") {
		t.Errorf("--count-factor 3: exit %d, want 1 and hello 1 → 5:\n%s", code, out)
	}
	out, _, code = runCLI(t, "diff", "--count-factor", "3", five.LogPath, ra.LogPath)
	if code != 0 || !strings.Contains(out, "  - "+a+"/hello  5 → 1\n") {
		t.Errorf("--count-factor 3, fewer: exit %d, want 0 and hello 5 → 1:\n%s", code, out)
	}
}

// Logs that begin with a start record, end with an end record and carry
// a prev field on every record (issue 18), and lines of other kinds: the
// same programs, so no change.
func TestDiffToleratesOtherRecords(t *testing.T) {
	t.Parallel()
	dir := buildCheckout(t)
	base := runBuild(t, dir)
	raw, err := os.ReadFile(base.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	var b strings.Builder
	b.WriteString(`{"seq":1,"time":"2026-12-04T10:00:00.000000000Z","event":"start","version":"x","argv":["./build.sh"],"prev":""}` + "\n")
	for _, l := range lines {
		b.WriteString(strings.TrimSuffix(l, "}") + `,"prev":"sha256:00"}` + "\n")
	}
	b.WriteString(`{"seq":999,"time":"2026-12-04T10:00:09.000000000Z","event":"end","exit_code":0,"prev":"sha256:01"}` + "\n")
	b.WriteString(`{"seq":1000,"time":"2026-12-04T10:00:09.000000000Z","event":"frobnicate","pid":1}` + "\n")
	other := filepath.Join(t.TempDir(), "other.jsonl")
	if err := os.WriteFile(other, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{base.LogPath, other}, {other, base.LogPath}} {
		out, errOut, code := runCLI(t, append([]string{"diff"}, args...)...)
		if code != 0 || errOut != "" {
			t.Errorf("diff %v: exit %d, want 0\n%s%s", args, code, out, errOut)
		}
	}
}

// policy learn: the job runs under the policy learned from it with no
// refusal; the same job with one program added is refused exactly there.
func TestPolicyLearnRoundTrip(t *testing.T) {
	t.Parallel()
	dir := buildCheckout(t)
	first := runBuild(t, dir)
	policy, errOut, code := runCLI(t, "policy", "learn", first.LogPath)
	if code != 0 {
		t.Fatalf("policy learn: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		"# exectrail policy learned by `exectrail policy learn` at ",
		"#   " + first.LogPath + " (",
		"allow " + dir + "/build.sh  # 1 exec\n",
		"allow /usr/bin/dash  # script interpreter\n",
		"allow " + dir + "/hello  # 1 exec\n",
	} {
		if !strings.Contains(policy, want) {
			t.Errorf("learned policy lacks %q:\n%s", want, policy)
		}
	}
	if strings.Contains(policy, "curl") {
		t.Errorf("the learned policy admits what did not run:\n%s", policy)
	}
	pf := filepath.Join(t.TempDir(), "job.policy")
	if err := os.WriteFile(pf, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	polBackend := []string{"--backend", "auto"}
	if backend == "ptrace" {
		polBackend = []string{"--backend", "ptrace"}
	}
	flags := append([]string{"--policy", pf}, polBackend...)
	again := runTrail(t, Opts{Dir: dir, Flags: flags}, "./build.sh")
	if again.ExitCode != 0 || strings.TrimSpace(again.Stdout) != "hello" {
		t.Errorf("the job under its learned policy: exit %d, stdout %q\nstderr: %s", again.ExitCode, again.Stdout, again.Stderr)
	}
	for _, r := range again.Execs() {
		if r.Action != "" {
			t.Errorf("refusal under the learned policy:\n%s", dump([]Record{r}))
		}
	}
	noWarning(t, again)

	// One program more (fetch.sh, a script, whose first exec is refused
	// at once: the shell says so and set -e stops the build).
	more := runTrail(t, Opts{Dir: dir, Flags: flags, Env: append(os.Environ(), "FETCH=1")}, "./build.sh")
	if more.ExitCode == 0 {
		t.Errorf("the job with a program added ran to the end under the learned policy")
	}
	var refused []Record
	for _, r := range more.Execs() {
		if r.Action == "deny" {
			refused = append(refused, r)
		}
	}
	if len(refused) != 1 || refused[0].Executable != dir+"/fetch.sh" || refused[0].Error != "EPERM" ||
		!strings.Contains(refused[0].ErrorDetail, "matches no allow pattern") {
		t.Errorf("want exactly one refusal, of %s/fetch.sh; got:\n%s", dir, dump(refused))
	}
	if len(more.ExecsOf("/usr/bin/curl")) != 0 {
		t.Errorf("curl was reached")
	}

	// --normalize writes the replacement as a glob: the policy learned
	// in one checkout admits the build in another.
	other := buildCheckout(t)
	policy, _, code = runCLI(t, "policy", "learn", "--normalize", `/tmp/exectrail-checkout-[0-9]+=/tmp/exectrail-checkout-*`, first.LogPath)
	if code != 0 || !strings.Contains(policy, "allow /tmp/exectrail-checkout-*/hello  # 1 exec; normalised from "+dir+"/hello\n") {
		t.Errorf("policy learn --normalize: exit %d\n%s", code, policy)
	}
	os.WriteFile(pf, []byte(policy), 0o644)
	elsewhere := runTrail(t, Opts{Dir: other, Flags: flags}, "./build.sh")
	if elsewhere.ExitCode != 0 {
		t.Errorf("the normalised policy refuses the build in another checkout: exit %d\n%s", elsewhere.ExitCode, elsewhere.Stderr)
	}

	if _, errOut, code := runCLI(t, "policy", "learn"); code != 125 {
		t.Errorf("policy learn without a log: exit %d, want 125", code)
	} else {
		oneErrorLine(t, "policy learn", errOut)
	}
	if _, errOut, code := runCLI(t, "policy", "learn", "/nonexistent.jsonl"); code != 1 {
		t.Errorf("policy learn of a missing log: exit %d, want 1", code)
	} else {
		oneErrorLine(t, "policy learn missing", errOut)
	}
}
