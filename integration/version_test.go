package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// startVersion runs bin `run -- true` and returns its start record's
// version.
func startVersion(t *testing.T, bin string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "records.jsonl")
	if b, err := exec.Command(bin, "run", "-o", out, "--", "true").CombinedOutput(); err != nil {
		t.Fatalf("%s run: %v\n%s", bin, err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	_, start, _ := parseLog(t, data)
	return start.Version
}

// TestVersion: bin/exectrail (built by the Makefile) names the version
// git describe gives, the commit, the Go toolchain, the libseccomp it
// linked and that it is static.
func TestVersion(t *testing.T) {
	first, f := versionFields(t, exectrail)
	describe := gitOut(t, repoRoot, "describe", "--always", "--dirty")
	if first != "exectrail "+describe {
		t.Errorf("first line %q, want %q", first, "exectrail "+describe)
	}
	if v := startVersion(t, exectrail); "exectrail "+v != first {
		t.Errorf("start record version %q, want what exectrail version says (%q)", v, first)
	}
	head := gitOut(t, repoRoot, "rev-parse", "HEAD")
	if c := f["commit"]; !strings.HasPrefix(c, head) {
		t.Errorf("commit %q, want %s", c, head)
	}
	if f["go"] != runtime.Version() {
		t.Errorf("go %q, want %s", f["go"], runtime.Version())
	}
	if f["linking"] != "static" {
		t.Errorf("linking %q, want static", f["linking"])
	}
	if out, err := exec.Command("pkg-config", "--modversion", "libseccomp").Output(); err == nil {
		if want := strings.TrimSpace(string(out)); f["libseccomp"] != want {
			t.Errorf("libseccomp %q, want %s (pkg-config)", f["libseccomp"], want)
		}
	} else if f["libseccomp"] == "" {
		t.Errorf("no libseccomp version")
	}
}

// TestVersionPlainGoBuild: a plain `go build` from a git clone, without
// the Makefile's stamps, still names its commit and a version derived
// from it, never "dev"; a dynamic build says so.
func TestVersionPlainGoBuild(t *testing.T) {
	head := gitOut(t, repoRoot, "rev-parse", "HEAD")
	clone := filepath.Join(t.TempDir(), "src")
	if out, err := exec.Command("git", "clone", "-q", "--no-hardlinks", repoRoot, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	if got := gitOut(t, clone, "rev-parse", "HEAD"); got != head {
		t.Fatalf("the clone is at %s, not %s", got, head)
	}
	bin := filepath.Join(t.TempDir(), "exectrail")
	// -trimpath only so that the build cache serves this fresh directory.
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/exectrail")
	build.Dir = clone
	// A GOFLAGS=-buildvcs=false in the environment or in go env (this
	// machine has one) would keep Go from recording the commit: a user's
	// plain build has the default, auto.
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=auto")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	first, f := versionFields(t, bin)
	if first == "exectrail dev" || !strings.Contains(first, head[:12]) {
		t.Errorf("first line %q, want a version naming commit %s", first, head[:12])
	}
	if f["commit"] != head {
		t.Errorf("commit %q, want %s", f["commit"], head)
	}
	if v := startVersion(t, bin); "exectrail "+v != first {
		t.Errorf("start record version %q, want what exectrail version says (%q)", v, first)
	}
	if f["commit time"] == "" {
		t.Errorf("no commit time")
	}
	if f["linking"] != "dynamic" {
		t.Errorf("linking %q, want dynamic for a plain go build", f["linking"])
	}
}
