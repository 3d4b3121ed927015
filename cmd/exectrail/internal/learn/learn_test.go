package learn

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/runlog"
	"github.com/exectrail/exectrail/supervisor"
)

func exec(seq, pid, ppid int, exe, extra string) string {
	return fmt.Sprintf(`{"seq":%d,"time":"2026-12-04T10:00:00.000000000Z","event":"exec","pid":%d,"ppid":%d,"path":"%s","executable":"%s","argv":["x"]%s}`+"\n",
		seq, pid, ppid, exe, exe, extra)
}

// The learned policy, read by exectrail's own parser, admits what ran and
// nothing else: not what failed, not what was refused, no memfd.
func TestLearnedPolicyDecides(t *testing.T) {
	log := exec(1, 10, 1, "/work/build.sh", `,"interpreter":"/usr/bin/dash"`) +
		exec(2, 11, 10, "/usr/bin/make", "") +
		exec(3, 12, 11, "/tmp/go-build42/b001/m.test", "") +
		exec(4, 13, 11, "/usr/bin/curl", `,"error":"EPERM","action":"deny"`) +
		exec(5, 14, 11, "/work/noexec", `,"error":"EACCES"`) +
		exec(6, 15, 11, "/opt/a b/we#ird[1]*", "")
	var norm runlog.Normalizer
	spec := `/go-build[0-9]+/=/go-build*/`
	if err := norm.Add(spec); err != nil {
		t.Fatal(err)
	}
	l := New(&norm, []string{spec})
	if err := l.Add("run.jsonl", strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := l.Policy(time.Unix(0, 0)).Write(&out); err != nil {
		t.Fatal(err)
	}
	var p supervisor.Policy
	if err := p.ReadPolicy(bytes.NewReader(out.Bytes()), "job.policy"); err != nil {
		t.Fatalf("the learned policy does not parse: %v\n%s", err, out.String())
	}
	for exe, deny := range map[string]bool{
		"/work/build.sh": false, "/usr/bin/dash": false, "/usr/bin/make": false,
		"/tmp/go-build99/b001/m.test": false, "/opt/a b/we#ird[1]*": false,
		"/usr/bin/curl": true, "/work/noexec": true, "/usr/bin/ls": true, "/memfd:x (deleted)": true,
		"/opt/a b/we#ird1x": true, "/tmp/go-build99/b001/other.test": true,
	} {
		if got := p.Check(exe, "").Deny; got != deny {
			t.Errorf("%s: deny %v, want %v\n%s", exe, got, deny, out.String())
		}
	}
	for _, want := range []string{"#   run.jsonl (6 records, 6 processes, 6 execs, notify backend)\n",
		"# normalised with --normalize " + spec + "\n",
		"allow /usr/bin/dash  # script interpreter\n",
		"allow /tmp/go-build*/b001/m.test  # 1 exec; normalised from /tmp/go-build42/b001/m.test\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("policy lacks %q:\n%s", want, out.String())
		}
	}
}

// Whatever the path, the line learn writes for it is read back by the
// policy parser as a pattern that admits that path.
func FuzzEscapeGlob(f *testing.F) {
	for _, s := range []string{"/usr/bin/ls", "/a b/#c", `/x \[y]?*`, "/trailing ", "/memfd:x (deleted)", "/a within /b", "/é\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, "\x00") {
			return
		}
		// A record holds UTF-8: the writer replaces bad bytes by U+FFFD.
		s = strings.ToValidUTF8(s, "\uFFFD")
		pat := runlog.EscapeGlob(s)
		var p supervisor.Policy
		if err := p.ReadPolicy(strings.NewReader("allow "+pat+"  # c\n"), "f"); err != nil {
			t.Fatalf("line for %q does not parse: %v", s, err)
		}
		if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || r == '\uFFFD' }) || strings.HasSuffix(s, " ") {
			// Written as ?: matches, but so does any other character.
			if p.Check(s, "").Deny {
				t.Errorf("the pattern %q learned for %q does not admit it", pat, s)
			}
			return
		}
		if p.Check(s, "").Deny {
			t.Errorf("the pattern %q learned for %q does not admit it", pat, s)
		}
	})
}
