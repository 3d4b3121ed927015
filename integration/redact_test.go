package integration

// Secrets in records, casts and the environment (issue 20): what the job
// carries in argv, its environment or its output is masked as
// [REDACTED:xxxxxxxx] before anything is written, in every format.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var redactMarkerRE = regexp.MustCompile(`\[REDACTED:[0-9a-f]{8}\]`)

// fakeToken is a GitHub-shaped token, random per test, so that no other
// test's output can contain it.
func fakeToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "ghp_" + hex.EncodeToString(b) // 36 characters after the prefix
}

// redactRun runs exectrail run -o FILE --format FORMAT --record CAST
// FLAGS -- argv with env added to the test's environment, and returns
// the record file, the cast file and the job's stdout.
func redactRun(t *testing.T, format string, env []string, flags []string, argv ...string) (records, castFile []byte, stdout string, code int) {
	t.Helper()
	dir := t.TempDir()
	out, cast := filepath.Join(dir, "records"), filepath.Join(dir, "session.cast")
	args := append([]string{"run", "--backend", backend, "-o", out, "--format", format, "--record", cast}, flags...)
	args = append(append(args, "--"), argv...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exectrail, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader("")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("exectrail: %v\n%s", err, e.String())
	}
	records, err = os.ReadFile(out)
	if err != nil {
		t.Fatalf("%v\nstderr: %s", err, e.String())
	}
	castFile, _ = os.ReadFile(cast)
	return records, castFile, o.String(), cmd.ProcessState.ExitCode()
}

// noSecret fails if data holds secret, or its hex, in any form a record
// could carry it.
func noSecret(t *testing.T, what string, data []byte, secret string) {
	t.Helper()
	for _, form := range []string{secret, hex.EncodeToString([]byte(secret)), secret[:len(secret)/2+4], secret[len(secret)/2-4:]} {
		if bytes.Contains(data, []byte(form)) {
			t.Errorf("%s holds %q (of the secret %q):\n%.4000s", what, form, secret, data)
		}
	}
}

// The example: TOKEN=… exectrail run -- sh -c 'curl -H
// "Authorization: Bearer $TOKEN" …'. Nothing of the token in the log, in
// any format (json, text, ecs), nor in the cast — also when the job prints it in two
// pieces, with an exec between them, and when COMMAND's own argv holds it.
func TestRedactEnvSecretEndToEnd(t *testing.T) {
	tok := fakeToken(t)
	// First ten characters, an exec (its marker drains the output so
	// far into an event of its own), then the rest.
	script := `T=$DEPLOY_TOKEN
printf 'token: %s' "${T%"${T#??????????}"}"; /bin/true; printf '%s\n' "${T#??????????}"
/bin/echo "Authorization: Bearer $DEPLOY_TOKEN" >/dev/null
curl -s -m 5 -H "Authorization: Bearer $DEPLOY_TOKEN" "http://127.0.0.1:9/" >/dev/null
/bin/echo "https://ci:$DEPLOY_TOKEN@example.com/r.git"
: ` + tok
	for _, format := range []string{"json", "text", "ecs"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			records, castData, stdout, code := redactRun(t, format, []string{"DEPLOY_TOKEN=" + tok}, []string{"--env"}, "sh", "-c", script)
			if !strings.Contains(stdout, "token: "+tok+"\n") || !strings.Contains(stdout, "https://ci:"+tok+"@") {
				t.Fatalf("the job's own output is not what it printed (exit %d): %q", code, stdout)
			}
			noSecret(t, "the records", records, tok)
			noSecret(t, "the cast", castData, tok)
			markers := redactMarkerRE.FindAll(records, -1)
			if len(markers) < 4 {
				t.Fatalf("%d markers in the records, want one per place the token was:\n%s", len(markers), records)
			}
			// One value, one marker: the hash is keyed but the same all run.
			for _, m := range markers {
				if !bytes.Equal(m, markers[0]) {
					t.Errorf("markers %s and %s for the same token", markers[0], m)
				}
			}
			c := redactCast(t, castData)
			if out := c.output(); !strings.Contains(out, "token: "+string(markers[0])+"\r\n") && !strings.Contains(out, "token: "+string(markers[0])+"\n") {
				t.Errorf("the cast's output does not show the split token masked as %s: %q", markers[0], out)
			}
			if cmd, _ := c.Header["command"].(string); strings.Contains(cmd, tok) || !strings.Contains(cmd, string(markers[0])) {
				t.Errorf("cast header command %q", cmd)
			}
			if !strings.Contains(c.join("m"), "Authorization: Bearer "+string(markers[0])) {
				t.Errorf("markers %q do not show the masked header", c.join("m"))
			}
			if format != "json" {
				if !bytes.Contains(records, []byte("Authorization: Bearer "+string(markers[0]))) {
					t.Errorf("%s records lack the masked header:\n%s", format, records)
				}
				return
			}
			r := &Run{}
			r.Records, r.Start, _ = parseLog(t, records)
			if r.Start == nil || r.Start.Raw["redaction"] != "on" || !slices.Contains(redactedList(*r.Start), "argv[2]") ||
				!strings.HasSuffix(r.Start.Argv[2], ": "+string(markers[0])) || !slices.Contains(r.Start.Raw["options"].([]any), any("--env")) {
				t.Errorf("the start record does not say redaction is on, or carries the token:\n%s", dump([]Record{*r.Start}))
			}
			var curl []Record
			for _, rec := range r.Execs() {
				if strings.HasSuffix(rec.Executable, "/curl") {
					curl = append(curl, rec)
				}
			}
			if len(curl) != 1 {
				t.Fatalf("want one curl exec:\n%s", dump(r.Records))
			}
			want := []string{"curl", "-s", "-m", "5", "-H", "Authorization: Bearer " + string(markers[0]), "http://127.0.0.1:9/"}
			if !slices.Equal(curl[0].Argv, want) {
				t.Errorf("curl argv %q, want %q", curl[0].Argv, want)
			}
			if red := redactedList(curl[0]); !slices.Contains(red, "argv[5]") {
				t.Errorf("redacted %q, want argv[5] in it", red)
			}
			first := r.Execs()[0]
			env, _ := first.Raw["env"].([]any)
			if !slices.Contains(env, any("DEPLOY_TOKEN="+string(markers[0]))) {
				t.Errorf("the first record's env lacks DEPLOY_TOKEN masked:\n%s", dump([]Record{first}))
			}
		})
	}
}

func redactedList(r Record) []string {
	var out []string
	l, _ := r.Raw["redacted"].([]any)
	for _, v := range l {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// redactCast parses a cast from its bytes.
func redactCast(t *testing.T, data []byte) *asciicast {
	t.Helper()
	f := filepath.Join(t.TempDir(), "c.cast")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return parseCast(t, f)
}

// A secret in an argv element that is not UTF-8: the hex sibling must not
// carry it either.
func TestRedactNonUTF8(t *testing.T) {
	tok := fakeToken(t)
	r := runTrail(t, Opts{}, "/bin/true", "\xff"+tok+"\xfe", "plain")
	noSecretRun(t, r, tok)
	rec := r.Execs()[0]
	hx, _ := rec.Raw["argv_hex"].([]any)
	if len(hx) != 3 {
		t.Fatalf("want argv_hex for the non-UTF-8 element:\n%s", dump([]Record{rec}))
	}
	b, err := hex.DecodeString(hx[1].(string))
	if err != nil || !bytes.HasPrefix(b, []byte("\xff[REDACTED:")) || !bytes.HasSuffix(b, []byte("]\xfe")) {
		t.Errorf("argv_hex[1] decodes to %q, want \\xff, the marker, \\xfe", b)
	}
	if rec.Argv[2] != "plain" || !slices.Equal(redactedList(rec), []string{"argv[1]"}) {
		t.Errorf("argv %q redacted %q", rec.Argv, redactedList(rec))
	}
}

func noSecretRun(t *testing.T, r *Run, secret string) {
	t.Helper()
	noSecret(t, "the records", []byte(dump(r.Records)), secret)
}

// --redact-key keeps markers the same across runs; without it each run
// has its own key. --no-redact writes the raw value.
func TestRedactKeyAndOff(t *testing.T) {
	tok := fakeToken(t)
	key := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(key, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	marker := func(flags ...string) string {
		r := runTrail(t, Opts{Flags: flags}, "/bin/true", tok)
		a := r.Execs()[0].Argv
		if len(a) != 2 {
			t.Fatalf("argv %q", a)
		}
		return a[1]
	}
	k1, k2 := marker("--redact-key", key), marker("--redact-key", key)
	r1, r2 := marker(), marker()
	if k1 != k2 || !redactMarkerRE.MatchString(k1) {
		t.Errorf("with one key file: %q and %q", k1, k2)
	}
	if r1 == r2 || r1 == k1 || !redactMarkerRE.MatchString(r1) {
		t.Errorf("random keys: %q and %q (key file: %q)", r1, r2, k1)
	}
	if raw := marker("--no-redact"); raw != tok {
		t.Errorf("--no-redact wrote %q, want the raw value", raw)
	}
	r := runTrail(t, Opts{Flags: []string{"--no-redact"}}, "/bin/true")
	if r.Start == nil || r.Start.Raw["redaction"] != "off" || !slices.Contains(r.Start.Raw["options"].([]any), any("--no-redact")) {
		t.Errorf("the start record of a --no-redact run:\n%s", dump([]Record{*r.Start}))
	}
}

// --redact REGEX and --redact-env NAME add secrets; bad values are a
// one-line error and status 125.
func TestRedactFlags(t *testing.T) {
	r := runTrail(t, Opts{Flags: []string{"--redact", `acme-[0-9]{6}`, "--redact-env", "SITE_PIN"},
		Env: append(os.Environ(), "SITE_PIN=9f8e7d6c")}, "/bin/true", "id=acme-123456", "pin9f8e7d6c", "acme-12")
	a := r.Execs()[0].Argv
	if len(a) != 4 || a[1] != "id="+redactMarkerRE.FindString(a[1]) || !strings.HasPrefix(a[2], "pin[REDACTED:") || a[3] != "acme-12" {
		t.Errorf("argv %q", a)
	}
	for _, bad := range [][]string{{"--redact", "("}, {"--no-redact", "--redact", "x"}, {"--redact-key", "/nonexistent/key"}} {
		args := append(append([]string{"run"}, bad...), "--", "/bin/true")
		out, err := exec.Command(exectrail, args...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 125 || !strings.HasPrefix(string(out), "exectrail: ") || strings.Count(string(out), "\n") != 1 {
			t.Errorf("exectrail %q: %v, %q; want status 125 and one line", bad, err, out)
		}
	}
}

// --env: the first exec carries the whole environment, later ones a diff
// against an earlier record's; rebuilt from the log, each is what the
// program got (as env prints it), with secret values masked.
func TestEnvRecording(t *testing.T) {
	env := []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "KEEP=kept value", "API_TOKEN=s3cr3t-" + fakeToken(t)[4:20]}
	r := runTrail(t, Opts{Flags: []string{"--env"}, Env: env},
		"sh", "-c", "export ADDED=1; unset HOME; /usr/bin/env; exec /usr/bin/env")
	execs := r.Execs()
	if len(execs) != 3 {
		t.Fatalf("want 3 execs (sh, env, env):\n%s", dump(r.Records))
	}
	noSecretRun(t, r, env[3][len("API_TOKEN="):])
	bySeq := map[int]Record{}
	for _, rec := range execs {
		bySeq[rec.Seq] = rec
	}
	var rebuild func(rec Record) map[string]string
	rebuild = func(rec Record) map[string]string {
		m := map[string]string{}
		if full, ok := rec.Raw["env"].([]any); ok {
			for _, e := range full {
				k, v, _ := strings.Cut(e.(string), "=")
				m[k] = v
			}
			return m
		}
		base, ok := rec.Raw["env_base"].(float64)
		if !ok || int(base) >= rec.Seq {
			t.Fatalf("record %d has neither env nor an earlier env_base:\n%s", rec.Seq, dump([]Record{rec}))
		}
		for k, v := range rebuild(bySeq[int(base)]) {
			m[k] = v
		}
		set, _ := rec.Raw["env_set"].([]any)
		for _, e := range set {
			k, v, _ := strings.Cut(e.(string), "=")
			m[k] = v
		}
		unset, _ := rec.Raw["env_unset"].([]any)
		for _, k := range unset {
			delete(m, k.(string))
		}
		return m
	}
	lines := func(m map[string]string) []string {
		var out []string
		for k, v := range m {
			out = append(out, k+"="+v)
		}
		sort.Strings(out)
		return out
	}
	first := rebuild(execs[0])
	if got := lines(first); !slices.Equal(got, []string{"API_TOKEN=" + first["API_TOKEN"], "HOME=/nonexistent", "KEEP=kept value", "PATH=/usr/bin:/bin"}) || !redactMarkerRE.MatchString(first["API_TOKEN"]) {
		t.Errorf("sh's environment %q", got)
	}
	// What env printed, with the secret masked as the records mask it.
	printed := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	for i, l := range printed {
		if strings.HasPrefix(l, "API_TOKEN=") {
			printed[i] = "API_TOKEN=" + first["API_TOKEN"]
		}
	}
	sort.Strings(printed)
	want := slices.Compact(printed) // env ran twice with the same environment
	for _, rec := range execs[1:] {
		if _, diff := rec.Raw["env_base"]; !diff {
			t.Errorf("record %d: a whole environment where a diff is smaller:\n%s", rec.Seq, dump([]Record{rec}))
		}
		got := lines(rebuild(rec))
		// PWD is set by sh for its children.
		got = slices.DeleteFunc(got, func(s string) bool { return strings.HasPrefix(s, "PWD=") })
		w := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return strings.HasPrefix(s, "PWD=") })
		if !slices.Equal(got, w) {
			t.Errorf("record %d: environment rebuilt from the log\n %q\nwant what env printed\n %q", rec.Seq, got, w)
		}
	}
}

// --env reads envp from the caller's memory like argv: a bad pointer
// gives a record with what could be read, env_truncated and the exec's
// EFAULT; the job goes on.
const hostileEnvSrc = `
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

` + twoPagesC + `
int main(int argc, char **argv) {
	char *args[] = {"/usr/bin/true", NULL};
	long r;
	if (strcmp(argv[1], "bad-envp-array") == 0) {
		r = syscall(SYS_execve, "/usr/bin/true", args, (char **)8);
	} else if (strcmp(argv[1], "bad-envp-element") == 0) {
		char *env[] = {"A=1", (char *)8, NULL};
		r = syscall(SYS_execve, "/usr/bin/true", args, env);
	} else if (strcmp(argv[1], "unterminated-envp") == 0) {
		char *page = twoPages();
		char **env = (char **)(page + 4096 - sizeof(char *));
		env[0] = "A=1";
		r = syscall(SYS_execve, "/usr/bin/true", args, env);
	} else {
		char *page = twoPages();
		memset(page, 'A', 4096);
		char *env[] = {"B=2", page, NULL};
		r = syscall(SYS_execve, "/usr/bin/true", args, env);
	}
	if (r != -1) { fprintf(stderr, "execve returned %ld\n", r); return 3; }
	printf("%s\n", strerrorname_np(errno));
	return 42;
}
`

func TestEnvHostileMemory(t *testing.T) {
	helper := compileC(t, "hostile-env", hostileEnvSrc)
	for _, c := range []struct {
		mode string
		env  []string // what the record must start with
	}{
		{"bad-envp-array", nil},
		{"bad-envp-element", []string{"A=1"}},
		{"unterminated-envp", []string{"A=1"}},
		{"unterminated-env-string", []string{"B=2"}},
	} {
		t.Run(c.mode, func(t *testing.T) {
			r := runTrail(t, Opts{Flags: []string{"--env"}, Timeout: 30 * time.Second}, helper, c.mode)
			if r.ExitCode != 42 || strings.TrimSpace(r.Stdout) != "EFAULT" {
				t.Fatalf("exit %d, stdout %q: the bad execve must fail with EFAULT and the program go on\n%s", r.ExitCode, r.Stdout, dump(r.Records))
			}
			execs := r.Execs()
			if len(execs) != 2 {
				t.Fatalf("want 2 exec records:\n%s", dump(r.Records))
			}
			rec := execs[1]
			env, _ := rec.Raw["env"].([]any)
			if rec.Error != "EFAULT" || !rec.Has("env_truncated") || len(env) < len(c.env) {
				t.Fatalf("want error EFAULT, env_truncated and env starting with %q:\n%s", c.env, dump([]Record{rec}))
			}
			for i, e := range c.env {
				if env[i] != e {
					t.Errorf("env[%d] = %q, want %q", i, env[i], e)
				}
			}
		})
	}
}

// A token typed at a prompt with --record-input, echo off, and one
// printed on the terminal: neither is in the cast (pty mode).
func TestRedactTypedInputPTY(t *testing.T) {
	tok := fakeToken(t)
	s := startRecording(t, "--record-input", "--redact", `pin-[0-9]{6}`)
	typeKeys(t, s.master, "read -rs PW; echo len=${#PW}\r")
	inner := innerTTY(t, s)
	waitUntil(t, "read -s to turn echo off", func() bool {
		st, err := termiosOf(inner)
		return err == nil && st.Lflag&unix.ECHO == 0 && st.Lflag&unix.ICANON != 0
	})
	typeKeys(t, s.master, tok+"\r")
	s.screen.waitFor(t, "len=40")
	s.screen.waitFor(t, shellPrompt)
	typeKeys(t, s.master, "echo pin-123456 $PW\r")
	s.screen.waitFor(t, tok)
	s.screen.waitFor(t, shellPrompt)
	s.exit(t)
	data, err := os.ReadFile(s.cast)
	if err != nil {
		t.Fatal(err)
	}
	noSecret(t, "the cast", data, tok)
	if bytes.Contains(data, []byte("pin-123456")) {
		t.Errorf("the --redact pattern's match is in the cast:\n%s", data)
	}
	c := parseCast(t, s.cast)
	if in := c.join("i"); !redactMarkerRE.MatchString(in) || !strings.Contains(in, "exit\r") {
		t.Errorf("input events %q: want the token masked and the rest as typed", in)
	}
	if out := c.output(); !redactMarkerRE.MatchString(out) || !strings.Contains(out, "len=40") {
		t.Errorf("output events %q: want the echoed token masked", out)
	}
}
