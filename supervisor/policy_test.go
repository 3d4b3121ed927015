package supervisor

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	type rl struct {
		allow bool
		pat   string
	}
	rows := []struct {
		name   string
		rules  []rl
		exe    string
		interp string
		deny   bool
	}{
		{"no rules", nil, "/usr/bin/curl", "", false},
		{"exact deny", []rl{{false, "/usr/bin/curl"}}, "/usr/bin/curl", "", true},
		{"exact deny, other file", []rl{{false, "/usr/bin/curl"}}, "/usr/bin/curly", "", false},
		{"star stays in segment", []rl{{false, "/tmp/*"}}, "/tmp/x", "", true},
		{"star does not cross /", []rl{{false, "/tmp/*"}}, "/tmp/a/x", "", false},
		{"double star crosses", []rl{{false, "/tmp/**"}}, "/tmp/a/b/x", "", true},
		{"double star slash matches zero segments", []rl{{false, "/usr/**/bin/nc"}}, "/usr/bin/nc", "", true},
		{"double star slash matches many", []rl{{false, "/usr/**/bin/nc"}}, "/usr/local/x/bin/nc", "", true},
		{"question mark", []rl{{false, "/usr/bin/n?"}}, "/usr/bin/nc", "", true},
		{"class", []rl{{false, "/usr/bin/[wc]get"}}, "/usr/bin/wget", "", true},
		{"negated class", []rl{{false, "/usr/bin/[!w]get"}}, "/usr/bin/wget", "", false},
		{"allow list admits", []rl{{true, "/usr/bin/*"}}, "/usr/bin/ls", "", false},
		{"allow list refuses the rest", []rl{{true, "/usr/bin/*"}}, "/opt/x", "", true},
		{"deny beats allow", []rl{{true, "/usr/bin/*"}, {false, "/usr/bin/curl"}}, "/usr/bin/curl", "", true},
		{"deny beats allow, order reversed", []rl{{false, "/usr/bin/curl"}, {true, "/usr/bin/curl"}}, "/usr/bin/curl", "", true},
		{"script refused through its interpreter", []rl{{false, "/usr/bin/python3*"}}, "/work/build.py", "/usr/bin/python3.11", true},
		{"script: interpreter must be allowed too", []rl{{true, "/work/**"}}, "/work/build.sh", "/usr/bin/dash", true},
		{"script allowed with its interpreter", []rl{{true, "/work/**"}, {true, "/usr/bin/dash"}}, "/work/build.sh", "/usr/bin/dash", false},
		{"memfd refused under allow list", []rl{{true, "/**"}}, "/memfd:payload (deleted)", "", true},
		{"memfd allowed when named", []rl{{true, "/memfd:payload*"}}, "/memfd:payload (deleted)", "", false},
		{"deleted file refused under allow list", []rl{{true, "/tmp/**"}}, "/tmp/x (deleted)", "", true},
		{"memfd not denied by a path pattern", []rl{{false, "/**"}}, "/memfd:x (deleted)", "", false},
		{"memfd denied when named", []rl{{false, "/memfd:*"}}, "/memfd:x (deleted)", "", true},
		{"unresolved path is not refused", []rl{{true, "/usr/bin/*"}}, "", "", false},
		{"escaped star is literal", []rl{{false, `/tmp/a\*b`}}, "/tmp/a*b", "", true},
		{"escaped star is not a wildcard", []rl{{false, `/tmp/a\*b`}}, "/tmp/axb", "", false},
		{"dots are literal", []rl{{false, "/usr/bin/a.b"}}, "/usr/bin/axb", "", false},
	}
	for _, r := range rows {
		var p Policy
		for _, x := range r.rules {
			if err := p.Add(x.allow, x.pat, "test"); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
		}
		if got := p.Check(r.exe, r.interp); got.Deny != r.deny {
			t.Errorf("%s: Check(%q, %q) = %+v, want deny %v", r.name, r.exe, r.interp, got, r.deny)
		} else if got.Deny && got.Reason == "" {
			t.Errorf("%s: a refusal needs a reason", r.name)
		}
	}
}

func TestReadPolicyErrors(t *testing.T) {
	rows := []struct {
		text   string
		origin string
		want   string
	}{
		{"deny /usr/bin/curl\nfrobnicate /x\n", "p:2", "unknown verb"},
		{"# comment\n\nallow\n", "p:3", "want"},
		{"deny /usr/bin/[abc\n", "p:1", "unterminated"},
		{"allow /usr/bin/*\ndeny curl\n", "p:2", "not absolute"},
		{"deny /a\n\n\ndeny /tmp/x\\\n", "p:4", "trailing backslash"},
		{"deny /usr/[a/b]\n", "p:1", "cannot match /"},
	}
	for _, r := range rows {
		var p Policy
		err := p.ReadPolicy(strings.NewReader(r.text), "p")
		var pe *PolicyError
		if !errors.As(err, &pe) {
			t.Errorf("%q: err %v, want a PolicyError", r.text, err)
			continue
		}
		if pe.Origin != r.origin || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%q: %v, want origin %s and %q", r.text, err, r.origin, r.want)
		}
	}
	var p Policy
	if err := p.ReadPolicy(strings.NewReader("# ok\n  allow   /usr/bin/*  # tools\ndeny\t/usr/bin/curl\t# no network\ndeny /opt/a#b\n"), "p"); err != nil {
		t.Fatal(err)
	}
	if !p.Check("/usr/bin/curl", "").Deny || p.Check("/usr/bin/ls", "").Deny || !p.Check("/opt/a#b", "").Deny {
		t.Error("policy read from text does not decide as written")
	}
}

func FuzzPolicyPattern(f *testing.F) {
	for _, s := range []string{"/usr/bin/*", "/**", "/a/**/b", "/[!x]", "/a\\*", "/[", "x", "/**/**", "/[]]"} {
		f.Add(s, "/usr/bin/ls")
	}
	f.Fuzz(func(t *testing.T, pat, path string) {
		var p Policy
		if err := p.Add(false, pat, "fuzz"); err != nil {
			return
		}
		_ = p.Check(path, "")
		// A pattern with no metacharacters matches exactly itself.
		if !strings.ContainsAny(pat, "*?[\\") && !isFileless(pat) && !p.Check(pat, "").Deny {
			t.Errorf("literal pattern %q does not match itself", pat)
		}
	})
}

// The policy the README offers CI users must parse and do what it says.
func TestShippedCIPolicy(t *testing.T) {
	f, err := os.Open("../docs/policies/ci-no-network.policy")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var p Policy
	if err := p.ReadPolicy(f, "ci-no-network.policy"); err != nil {
		t.Fatal(err)
	}
	for exe, deny := range map[string]bool{
		"/usr/bin/curl": true, "/usr/local/bin/wget": true, "/usr/bin/nc.openbsd": true,
		"/tmp/payload": true, "/home/ci/Downloads/x/tool": true, "/memfd:x (deleted)": true,
		"/home/ci/build/a.out (deleted)":                 true,
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": true, "/usr/lib/ld-musl-x86_64.so.1": true,
		"/usr/bin/make": false, "/usr/bin/gcc": false, "/home/ci/build/a.out": false,
	} {
		if got := p.Check(exe, "").Deny; got != deny {
			t.Errorf("%s: deny %v, want %v", exe, got, deny)
		}
	}
}
