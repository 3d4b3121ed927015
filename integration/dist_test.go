package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// cloneRepo clones the repository under test (its committed HEAD) into a
// fresh directory, as CI and a new user start.
func cloneRepo(t *testing.T) string {
	t.Helper()
	clone := filepath.Join(t.TempDir(), "src")
	if out, err := exec.Command("git", "clone", "-q", "--no-hardlinks", repoRoot, clone).CombinedOutput(); err != nil {
		skipf(t, "needs a git checkout to clone: %v\n%s", err, out)
	}
	return clone
}

// TestDist: `make dist` in a fresh clone writes the tarball named as the
// CI snippets expect and a SHA256SUMS that verifies it; the tarball holds
// one directory with the static binary, the README and the policies;
// `make install PREFIX=` installs the binary and the policies.
func TestDist(t *testing.T) {
	clone := cloneRepo(t)
	mk := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("make", append([]string{"--no-print-directory"}, args...)...)
		cmd.Dir = clone
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	mk("dist")
	version := strings.TrimPrefix(gitOut(t, clone, "describe", "--always", "--dirty"), "v")
	name := "exectrail_" + version + "_linux_amd64"
	dist := filepath.Join(clone, "dist")
	if _, err := os.Stat(filepath.Join(dist, name+".tar.gz")); err != nil {
		t.Fatalf("make dist did not write dist/%s.tar.gz: %v", name, err)
	}
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(sums)); len(f) != 2 || len(f[0]) != 64 || f[1] != name+".tar.gz" {
		t.Errorf("SHA256SUMS %q, want one line: HASH  %s.tar.gz", sums, name)
	}
	// What the CI snippets do with it.
	sh := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dist
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	sh("sha256sum", "-c", "SHA256SUMS")
	list := strings.Fields(sh("tar", "-tzf", name+".tar.gz"))
	want := []string{name + "/", name + "/README.md", name + "/exectrail", name + "/policies/", name + "/policies/ci-no-network.policy"}
	if strings.Join(list, " ") != strings.Join(want, " ") {
		t.Errorf("tarball holds %q, want %q", list, want)
	}
	sh("tar", "-xzf", name+".tar.gz")
	first, f := versionFields(t, filepath.Join(dist, name, "exectrail"))
	if first != "exectrail "+gitOut(t, clone, "describe", "--always", "--dirty") || f["linking"] != "static" {
		t.Errorf("the tarball's binary says %q, linking %q", first, f["linking"])
	}

	prefix := filepath.Join(t.TempDir(), "prefix")
	mk("install", "PREFIX="+prefix)
	if _, f := versionFields(t, filepath.Join(prefix, "bin", "exectrail")); f["linking"] != "static" {
		t.Errorf("installed binary: linking %q", f["linking"])
	}
	if _, err := os.Stat(filepath.Join(prefix, "share", "exectrail", "policies", "ci-no-network.policy")); err != nil {
		t.Errorf("policies not installed: %v", err)
	}
}

// ciScripts returns the shell lines of a GitHub Actions workflow's run
// steps or of a GitLab CI file's before_script and script lists.
func ciScripts(t *testing.T, name string, doc map[string]any) []string {
	t.Helper()
	var lines []string
	addRun := func(v any) {
		s, _ := v.(string)
		lines = append(lines, strings.Split(strings.TrimSpace(s), "\n")...)
	}
	switch name {
	case "github-actions.yml":
		jobs, _ := doc["jobs"].(map[string]any)
		if len(jobs) == 0 {
			t.Fatalf("%s: no jobs", name)
		}
		for _, j := range jobs {
			steps, _ := j.(map[string]any)["steps"].([]any)
			for _, s := range steps {
				if run, ok := s.(map[string]any)["run"]; ok {
					addRun(run)
				}
			}
		}
	case "gitlab-ci.yml":
		for key, j := range doc {
			job, ok := j.(map[string]any)
			if !ok || strings.HasPrefix(key, ".") {
				continue
			}
			for _, k := range []string{"before_script", "script"} {
				items, _ := job[k].([]any)
				for _, it := range items {
					addRun(it)
				}
			}
		}
	default:
		t.Fatalf("docs/ci/%s: no test knows this file", name)
	}
	return lines
}

// TestCIDocs: each file in docs/ci is YAML, is shown verbatim in the
// README, installs the tarball `make dist` names, and calls exectrail only
// in ways the binary accepts: the wrapping `exectrail run ... -- make
// test` is run with `true` in place of make.
func TestCIDocs(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "ci", "*.yml"))
	if err != nil || len(files) != 2 {
		t.Fatalf("docs/ci: %q, %v; want the GitHub Actions and GitLab CI files", files, err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("not YAML: %v", err)
			}
			if !strings.Contains(string(readme), "```yaml\n"+string(data)+"```\n") {
				t.Errorf("README.md does not show docs/ci/%s verbatim in a yaml block", name)
			}
			lines := ciScripts(t, name, doc)
			var wrapped, dirSet bool
			for _, l := range lines {
				l = strings.TrimSpace(l)
				if l == `dir="exectrail_${EXECTRAIL_VERSION}_linux_amd64"` {
					dirSet = true // make dist's name, see TestDist
				}
				if !strings.HasPrefix(l, "exectrail ") {
					continue
				}
				args := strings.Fields(l)[1:]
				if args[0] == "run" {
					sep := -1
					for i, a := range args {
						if a == "--" {
							sep = i
							break
						}
					}
					if sep < 0 || strings.Join(args[sep+1:], " ") != "make test" {
						t.Errorf("%q: want exectrail run [flags] -- make test", l)
						continue
					}
					wrapped = true
					args = append(args[:sep+1], "true")
				}
				cmd := exec.Command(exectrail, args...)
				cmd.Dir = t.TempDir()
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%q (as %q) fails: %v\n%s", l, args, err, out)
					continue
				}
				if args[0] == "run" {
					data, err := os.ReadFile(filepath.Join(cmd.Dir, "exectrail.jsonl"))
					if err != nil {
						t.Fatalf("%q wrote no exectrail.jsonl: %v", l, err)
					}
					recs := parseRecords(t, data)
					if len(recs) == 0 || recs[0].Event != "exec" || recs[0].Executable != "/usr/bin/true" {
						t.Errorf("%q: records %s", l, dump(recs))
					}
				}
			}
			if !wrapped {
				t.Errorf("no step wraps make test in exectrail run")
			}
			if !dirSet {
				t.Errorf("no line names the release directory make dist writes")
			}
		})
	}
}
