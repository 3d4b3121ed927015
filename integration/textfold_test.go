package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// In the text format, the failed attempts of a PATH search fold into the
// exec they lead to; -v shows each; JSON keeps every attempt.
func TestTextFoldsPathMisses(t *testing.T) {
	t.Parallel()
	const script = "PATH=/nonexistent/a:/nonexistent/b:/usr/bin:/bin; env true"
	text := func(t *testing.T, flags ...string) []string {
		t.Helper()
		out := filepath.Join(t.TempDir(), "records.txt")
		args := append([]string{"run", "--backend", backend, "--format", "text", "-o", out}, flags...)
		_, stderr, code := runCLI(t, append(args, "--", "sh", "-c", script)...)
		if code != 0 {
			t.Fatalf("status %d: %s", code, stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var trues []string
		for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			// The exec lines whose argv is "true" (not env's).
			if f := strings.Fields(l); len(f) > 6 && f[2] == "exec" && f[6] == "true" {
				trues = append(trues, l)
			}
		}
		return trues
	}
	if got := text(t); len(got) != 1 || !strings.Contains(got[0], "/usr/bin/true  true") || !strings.HasSuffix(got[0], "(2 PATH misses)") {
		t.Errorf("text: want one line for true, ending in (2 PATH misses); got:\n%s", strings.Join(got, "\n"))
	}
	if got := text(t, "-v"); len(got) != 3 || !strings.Contains(got[0], "[path /nonexistent/a/true]") || !strings.Contains(got[1], "[path /nonexistent/b/true]") || strings.Contains(got[2], "PATH miss") {
		t.Errorf("text with -v: want the two misses and the exec, each on its line; got:\n%s", strings.Join(got, "\n"))
	}
	r := runTrail(t, Opts{}, "sh", "-c", script)
	var paths []string
	for _, e := range r.Execs() {
		if len(e.Argv) > 0 && e.Argv[0] == "true" {
			paths = append(paths, e.Path+" "+e.Error)
		}
	}
	if want := "/nonexistent/a/true ENOENT|/nonexistent/b/true ENOENT|/usr/bin/true "; strings.Join(paths, "|") != want {
		t.Errorf("json: exec records of true %q, want %q", strings.Join(paths, "|"), want)
	}
}
