package integration

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// exectrail verify on real logs, and on real logs edited each way the
// verifier must catch.

// verifyLog runs exectrail verify ARGS with stdin and returns its output
// and exit status.
func verifyLog(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(exectrail, append([]string{"verify"}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	rc := 0
	if ee, ok := err.(*exec.ExitError); ok {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), rc
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func logLines(b []byte) [][]byte {
	ls := bytes.SplitAfter(b, []byte("\n"))
	return ls[:len(ls)-1]
}

func okLine(r *Run) string {
	n := map[string]int{}
	for _, rec := range r.Records {
		n[rec.Event]++
	}
	word := func(k string) string {
		if n[k] == 1 {
			return "1 " + k
		}
		return fmt.Sprintf("%d %ss", n[k], k)
	}
	return "ok: " + word("exec") + ", " + word("fork") + ", " + word("exit") + "; chain intact"
}

func TestVerifyRealLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runTrail(t, Opts{}, "sh", "-c", "for i in 1 2 3; do /bin/true; done; cd /bin && ./ls >/dev/null")
	if r.ExitCode != 0 || r.End == nil {
		t.Fatalf("exit %d, end %v\n%s", r.ExitCode, r.End, r.Stderr)
	}
	log := writeFile(t, dir, "log.jsonl", r.Log)
	out, errs, rc := verifyLog(t, nil, log)
	if want := okLine(r) + "; not signed\n"; rc != 0 || out != want || errs != "" {
		t.Fatalf("verify: %d %q %q, want %q", rc, out, errs, want)
	}
	// gzip, on standard input.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(r.Log)
	zw.Close()
	if out2, _, rc := verifyLog(t, zb.Bytes(), "-"); rc != 0 || out2 != out {
		t.Errorf("verify - (gzip): %d %q", rc, out2)
	}

	ls := logLines(r.Log)
	n := len(ls)
	// An exec record of /bin/true (argv ["/bin/true"]) to edit.
	k := -1
	for i, l := range ls {
		if bytes.Contains(l, []byte(`"argv":["/bin/true"]`)) {
			k = i
			break
		}
	}
	if k < 2 {
		t.Fatalf("no exec record of /bin/true after line 2:\n%s", r.Log)
	}
	edit := func(f func(ls [][]byte) [][]byte) []byte {
		c := make([][]byte, len(ls))
		for i := range ls {
			c[i] = append([]byte(nil), ls[i]...)
		}
		return bytes.Join(f(c), nil)
	}
	for _, c := range []struct {
		name string
		log  []byte
		want string
	}{
		{"delete a line", edit(func(ls [][]byte) [][]byte { return append(ls[:k:k], ls[k+1:]...) }),
			fmt.Sprintf("fail: line %d (seq %d): missing: seq %d is not in the log", k+1, k+2, k+1)},
		{"swap two lines", edit(func(ls [][]byte) [][]byte { ls[k], ls[k+1] = ls[k+1], ls[k]; return ls }),
			fmt.Sprintf("fail: line %d (seq %d): reordered: seq %d should be here, but comes later, at line %d", k+1, k+2, k+1, k+2)},
		{"change one byte in an argv", edit(func(ls [][]byte) [][]byte {
			ls[k] = bytes.Replace(ls[k], []byte(`"argv":["/bin/true"]`), []byte(`"argv":["/bin/truE"]`), 1)
			return ls
		}), fmt.Sprintf("fail: line %d (seq %d): edited: line %d (seq %d) is not the line that was written", k+2, k+2, k+1, k+1)},
		{"truncate", r.Log[:len(r.Log)-10], fmt.Sprintf("fail: line %d: truncated: the log ends inside line %d (no newline): truncated after line %d", n, n, n-1)},
		{"append a forged record", edit(func(ls [][]byte) [][]byte {
			return append(ls, bytes.Replace(ls[k], []byte(fmt.Sprintf(`"seq":%d,`, k+1)), []byte(fmt.Sprintf(`"seq":%d,`, n+1)), 1))
		}), fmt.Sprintf("fail: line %d (seq %d): forged append: a exec record after the end record (line %d)", n+1, n+1, n)},
		{"strip the end record", edit(func(ls [][]byte) [][]byte { return ls[:n-1] }),
			fmt.Sprintf("fail: line %d (seq %d): no end record: the log ends after line %d", n-1, n-1, n-1)},
		{"counts differ", edit(func(ls [][]byte) [][]byte {
			ls[n-1] = bytes.Replace(ls[n-1], []byte(`"fork":`), []byte(`"fork":1`), 1)
			return ls
		}), fmt.Sprintf("fail: line %d (seq %d): counts differ: the end record counts", n, n)},
	} {
		out, _, rc := verifyLog(t, c.log, "-")
		if rc != 1 || !strings.HasPrefix(out, c.want) || strings.Count(out, "\n") != 1 {
			t.Errorf("%s: exit %d, %q\nwant exit 1, %q…", c.name, rc, out, c.want)
		}
	}
}

func TestVerifySigned(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, other := filepath.Join(dir, "k"), filepath.Join(dir, "other")
	var ids []string
	for _, name := range []string{key, other} {
		out, err := exec.Command(exectrail, "keygen", name).CombinedOutput()
		if err != nil {
			t.Fatalf("keygen: %v %s", err, out)
		}
		i := strings.LastIndex(string(out), "key id ")
		if i < 0 {
			t.Fatalf("keygen says %q", out)
		}
		ids = append(ids, strings.TrimSpace(string(out[i+7:])))
	}
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			log := filepath.Join(dir, "log."+format)
			cmd := exec.Command(exectrail, "run", "--backend", backend, "--format", format, "-o", log, "--sign-key", key, "--", "sh", "-c", "/bin/true; /bin/true")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("run: %v %s", err, out)
			}
			data, _ := os.ReadFile(log)
			if format == "json" {
				r := &Run{Log: data}
				r.Records, r.Start, r.End = parseLog(t, data)
				if r.End == nil || r.End.KeyID != ids[0] || len(r.End.Sig) != 128 {
					t.Fatalf("end record: key_id %q sig %q, want %s and 64 bytes", r.End.KeyID, r.End.Sig, ids[0])
				}
			}
			out, errs, rc := verifyLog(t, nil, "--key", key+".pub", log)
			if rc != 0 || !strings.HasPrefix(out, "ok: 3 execs, ") || !strings.HasSuffix(out, "; signed by "+ids[0]+"\n") {
				t.Errorf("verify --key: %d %q %q", rc, out, errs)
			}
			if format == "text" && !strings.Contains(out, "(text log: checked as a whole, not line by line)") {
				t.Errorf("text verify does not say what it checked: %q", out)
			}
			out, _, rc = verifyLog(t, nil, "--key", other+".pub", log)
			if want := ": wrong key: signed by key " + ids[0] + ", and --key is key " + ids[1] + "\n"; rc != 1 || !strings.HasSuffix(out, want) {
				t.Errorf("verify with another key: %d %q, want …%q", rc, out, want)
			}
			// The end record edited after signing: the command's exit
			// code, which nothing but the signature covers.
			ls := logLines(data)
			endLine := ls[len(ls)-1]
			from, to := []byte(`"exit_code":0`), []byte(`"exit_code":1`)
			if format == "text" {
				from, to = []byte(" exit 0 after "), []byte(" exit 1 after ")
			}
			edited := bytes.Replace(endLine, from, to, 1)
			if bytes.Equal(edited, endLine) {
				t.Fatalf("no exit code 0 in the end record %q", endLine)
			}
			ls[len(ls)-1] = edited
			out, _, rc = verifyLog(t, bytes.Join(ls, nil), "--key", key+".pub", "-")
			if rc != 1 || !strings.Contains(out, "bad signature") {
				t.Errorf("verify of an edited end record: %d %q", rc, out)
			}
		})
	}
}
