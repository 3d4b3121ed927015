package integration

// The command line's contract: --help (and help) to stdout with status 0;
// a usage error to stderr, one `exectrail: ` line first, status 125; every
// subcommand listed with one line each.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cliSubcommands are the subcommands `exectrail --help` must list.
var cliSubcommands = []string{"run", "report", "play", "version", "doctor", "keygen", "diff", "policy", "verify", "help"}

func TestCLIHelpAndUsage(t *testing.T) {
	t.Parallel()
	listsAll := func(t *testing.T, out string) {
		t.Helper()
		for _, c := range cliSubcommands {
			n := 0
			for _, line := range strings.Split(out, "\n") {
				if f := strings.Fields(line); len(f) > 1 && f[0] == c {
					n++
				}
			}
			if n != 1 {
				t.Errorf("subcommand %s is on %d lines of the list, want 1:\n%s", c, n, out)
			}
		}
	}
	for _, tc := range []struct {
		args []string
		// help: all of it on stdout, status 0, and stdout contains want;
		// else an error: nothing on stdout, status 125, stderr's first
		// line starts with "exectrail: " and contains want.
		help     bool
		want     string
		lists    bool // the output lists every subcommand
		oneLine  bool // the error is exactly one line
		stdinArg bool
	}{
		{args: nil, want: "no subcommand", lists: true},
		{args: []string{"--help"}, help: true, lists: true},
		{args: []string{"-h"}, help: true, lists: true},
		{args: []string{"help"}, help: true, lists: true},
		{args: []string{"run", "--help"}, help: true, want: "--backend"},
		{args: []string{"run", "-h"}, help: true, want: "--output"},
		{args: []string{"help", "run"}, help: true, want: "--backend"},
		{args: []string{"report", "--help"}, help: true, want: "--summary"},
		{args: []string{"help", "report"}, help: true, want: "--summary"},
		{args: []string{"play", "--help"}, help: true, want: "--speed"},
		{args: []string{"help", "play"}, help: true, want: "--speed"},
		{args: []string{"help", "version"}, help: true, want: "usage: exectrail version"},
		{args: []string{"doctor", "--help"}, help: true, want: "--format"},
		{args: []string{"help", "doctor"}, help: true, want: "--format"},
		{args: []string{"help", "keygen"}, help: true, want: "--force"},
		{args: []string{"version"}, help: true, want: "exectrail "},
		{args: []string{"version", "extra"}, want: "version takes no arguments", oneLine: true},
		{args: []string{"help", "bogus"}, want: `unknown subcommand "bogus"`, oneLine: true},
		{args: []string{"bogus"}, want: `unknown subcommand "bogus"`, oneLine: true},
		{args: []string{"run", "--bogus", "--", "true"}, want: "unknown flag: --bogus", oneLine: true},
		{args: []string{"run"}, want: "no command given", oneLine: true},
		{args: []string{"report", "--bogus"}, want: "unknown flag: --bogus", oneLine: true},
		{args: []string{"play", "--bogus"}, want: "unknown flag: --bogus", oneLine: true},
		// exectrail refuses the exec when the record cannot be written:
		// one line says so, not also the child stage's failed exec.
		{args: []string{"run", "--backend", "notify", "-o", "/proc/version", "--", "true"}, want: "writing records: input/output error", oneLine: true},
		{args: []string{"run", "--backend", "ptrace", "-o", "/proc/version", "--", "true"}, want: "writing records: input/output error", oneLine: true},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tc.args...)
			if tc.help {
				if code != 0 || stderr != "" || !strings.Contains(stdout, tc.want) {
					t.Fatalf("status %d, stderr %q, stdout:\n%s\nwant status 0, nothing on stderr, %q on stdout", code, stderr, stdout, tc.want)
				}
				if tc.lists {
					listsAll(t, stdout)
				}
				return
			}
			first, _, _ := strings.Cut(stderr, "\n")
			if code != 125 || stdout != "" || !strings.HasPrefix(first, "exectrail: ") || !strings.Contains(first, tc.want) {
				t.Fatalf("status %d, stdout %q, stderr:\n%s\nwant status 125, nothing on stdout, a first line exectrail: …%s…", code, stdout, stderr, tc.want)
			}
			if tc.oneLine && strings.Count(stderr, "\n") != 1 {
				t.Errorf("want one error line, got:\n%s", stderr)
			}
			if tc.lists {
				listsAll(t, stderr)
			}
		})
	}
}

// The child stage's own exec failures are still said, once.
func TestCLIExecFailureSaidOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Found and executable, but its interpreter is missing: the exec
	// itself fails, after the filter is in place.
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/nonexistent/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		argv []string
		want string
		code int
	}{
		{[]string{filepath.Join(dir, "missing")}, "no such file or directory", 127},
		{[]string{script}, "no such file or directory", 127},
	} {
		_, stderr, code := runCLI(t, append([]string{"run", "--backend", backend, "-o", "/dev/null", "--"}, tc.argv...)...)
		if code != tc.code || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "exectrail: "+tc.argv[0]+": ") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: status %d, stderr %q; want %d and one line exectrail: %s: …%s", tc.argv, code, stderr, tc.code, tc.argv[0], tc.want)
		}
	}
}
