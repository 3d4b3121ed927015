package integration

// Policy rules that know the ancestry (issue 17): "deny X within A"
// refuses X in a process whose ancestry — the programs it and its
// ancestors ran — includes A, and nowhere else: on a direct child of A, on
// a grandchild, after A exec'd something else, and not outside A nor
// after A ended.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyWithin(t *testing.T) {
	t.Parallel()
	say := compileC(t, "say", sayC)
	dir := canon(t, t.TempDir())
	target := filepath.Join(dir, "target")
	copyFile(t, say, target, 0o755)
	// npm stands for a package manager: a script that runs its argument
	// in a child (a direct child of npm), in a grandchild (sh -c under
	// npm), and after exec'ing another shell (npm's process now runs sh,
	// but its ancestry still holds npm).
	npm := filepath.Join(dir, "npm")
	writeExe(t, npm, "#!/bin/sh\n"+
		"echo child; "+target+"\n"+
		"echo grandchild; sh -c '"+target+"; true'\n"+
		"exec sh -c 'echo after-exec; "+target+"; true'\n")
	pol := filepath.Join(dir, "within.policy")
	if err := os.WriteFile(pol, []byte("deny "+target+" within "+dir+"/np?  # npm only\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	polBackend := "auto" // which a policy makes ptrace
	if backend == "ptrace" {
		polBackend = "ptrace"
	}
	r := runTrail(t, Opts{Flags: []string{"--backend", polBackend, "--policy", pol}},
		"sh", "-c", "echo before; "+target+"; "+npm+"; echo outside-after; "+target+"; true")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d\nstderr: %s", r.ExitCode, r.Stderr)
	}
	noWarning(t, r)
	// Outside npm, before and after it: target runs, twice.
	if got := strings.Count(r.Stdout, ranMarker(target)); got != 2 {
		t.Errorf("target ran %d times, want 2 (outside npm only)\nstdout:\n%s", got, r.Stdout)
	}
	var ran, refused []Record
	for _, rec := range r.ExecsOf(target) {
		if rec.Action == "deny" {
			refused = append(refused, rec)
		} else {
			ran = append(ran, rec)
		}
	}
	if len(ran) != 2 || len(refused) != 3 {
		t.Fatalf("target: %d ran, %d refused; want 2 and 3 (child, grandchild, after exec)\n%s", len(ran), len(refused), dump(r.Records))
	}
	// Which process made each refused call, in order: a child of npm;
	// a child of a shell whose parent is npm; a child of npm's process
	// after that process exec'd sh.
	var npmPID, npmExecSeq int
	for _, rec := range r.ExecsOf(npm) {
		npmPID = rec.PID
	}
	parent := map[int]int{} // pid -> ppid, from the exec records
	for _, rec := range r.Execs() {
		parent[rec.PID] = rec.PPID
		if rec.PID == npmPID && rec.Executable == "/usr/bin/dash" && rec.Seq > npmExecSeq {
			npmExecSeq = rec.Seq // npm's exec of sh
		}
	}
	if npmPID == 0 || npmExecSeq == 0 {
		t.Fatalf("no record of npm and its exec of sh:\n%s", dump(r.Records))
	}
	if c := refused[0]; c.PPID != npmPID || c.Seq > npmExecSeq {
		t.Errorf("first refusal is not by a direct child of npm (pid %d):\n%s", npmPID, dump([]Record{c}))
	}
	if g := refused[1]; parent[g.PPID] != npmPID || g.PPID == npmPID {
		t.Errorf("second refusal is not by a grandchild of npm (pid %d):\n%s", npmPID, dump([]Record{g}))
	}
	if a := refused[2]; a.PPID != npmPID || a.Seq < npmExecSeq {
		t.Errorf("third refusal is not by a child of npm's process after its exec:\n%s", dump([]Record{a}))
	}
	for _, rec := range refused {
		if rec.Error != "EPERM" || !strings.Contains(rec.ErrorDetail, "within \""+dir+"/np?\", and an ancestor ran "+npm) {
			t.Errorf("refusal: error %q detail %q", rec.Error, rec.ErrorDetail)
		}
	}
	for _, marker := range []string{"before", "child", "grandchild", "after-exec", "outside-after"} {
		if !strings.Contains(r.Stdout, marker+"\n") {
			t.Errorf("stdout lacks %q:\n%s", marker, r.Stdout)
		}
	}
	// Outside: the two that ran are before and after npm, children of
	// the job's shell.
	for _, rec := range ran {
		if rec.PPID == npmPID || rec.Verified == nil || !*rec.Verified {
			t.Errorf("target ran where it should have been refused, or unverified:\n%s", dump([]Record{rec}))
		}
	}

	// --backend notify cannot follow forks: a within rule is refused.
	n := runTrail(t, Opts{Flags: []string{"--backend", "notify", "--policy", pol}}, "true")
	if n.ExitCode != 125 || !strings.Contains(n.Stderr, "\"within\" rules need the ptrace backend") {
		t.Errorf("--backend notify with a within rule: exit %d, stderr %q; want 125 and why", n.ExitCode, n.Stderr)
	}
}

// The README's example on the real npm: curl refused in an npm script,
// and only there.
func TestPolicyWithinNpm(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/bin/npm"); err != nil {
		t.Skip("npm is not installed here: not covered")
	}
	dir := canon(t, t.TempDir())
	if err := os.WriteFile(filepath.Join(dir, "package.json"),
		[]byte(`{"name":"m","version":"1.0.0","private":true,"scripts":{"fetch":"curl --version"}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "npm.policy")
	if err := os.WriteFile(pol, []byte("deny /usr/**/bin/curl within /usr/**/npm/bin/npm-cli.js\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := "auto"
	if backend == "ptrace" {
		b = "ptrace"
	}
	env := append(os.Environ(), "npm_config_update_notifier=false", "npm_config_cache="+filepath.Join(dir, ".npm"), "npm_config_offline=true")
	r := runTrail(t, Opts{Dir: dir, Env: env, Flags: []string{"--backend", b, "--policy", pol}},
		"sh", "-c", "curl --version | head -1; npm run -s fetch; echo npm-exit=$?")
	outside, inside := 0, 0
	for _, rec := range r.ExecsOf("/usr/bin/curl") {
		if rec.Action == "deny" {
			inside++
			if !strings.Contains(rec.ErrorDetail, "an ancestor ran /usr/") || !strings.Contains(rec.ErrorDetail, "npm-cli.js") {
				t.Errorf("refusal detail %q", rec.ErrorDetail)
			}
		} else if rec.Error == "" {
			outside++
		}
	}
	if outside != 1 || inside == 0 || !strings.HasPrefix(r.Stdout, "curl ") || strings.Count(r.Stdout, "curl ") != 1 ||
		strings.Contains(r.Stdout, "npm-exit=0") {
		t.Errorf("curl outside npm: %d ran; inside: %d refused; want 1 and at least 1\nstdout:\n%s\nstderr:\n%s\n%s",
			outside, inside, r.Stdout, r.Stderr, dump(r.Execs()))
	}
}
