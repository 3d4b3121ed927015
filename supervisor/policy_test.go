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
		"/home/ci/Downloads/x/tool": true, "/memfd:x (deleted)": true,
		"/home/ci/build/a.out (deleted)":                 true,
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": true, "/usr/lib/ld-musl-x86_64.so.1": true,
		"/usr/lib/git-core/git-remote-https": true, "/usr/bin/git": false,
		"/usr/bin/make": false, "/usr/bin/gcc": false, "/home/ci/build/a.out": false,
		// go test's binaries, and a checkout under /tmp.
		"/tmp/go-build123/b001/m.test": false, "/tmp/checkout/hello": false,
	} {
		if got := p.Check(exe, "").Deny; got != deny {
			t.Errorf("%s: deny %v, want %v", exe, got, deny)
		}
	}
}

// "within" rules apply only when the ancestry matched their ancestor
// pattern; the ancestry gathers every program of every ancestor.
func TestPolicyWithin(t *testing.T) {
	var p Policy
	text := "deny /usr/**/bin/curl within /usr/bin/npm*\n" +
		"allow /usr/bin/*\n" +
		"allow /opt/tool within /usr/bin/make  # only make may run it\n" +
		"deny /usr/bin/sh within /memfd:*\n"
	if err := p.ReadPolicy(strings.NewReader(text), "p"); err != nil {
		t.Fatal(err)
	}
	if !p.HasWithin() {
		t.Fatal("HasWithin false")
	}
	var none *Ancestry
	npm := p.Extend(none, "/usr/bin/npm-cli", "/usr/bin/node")
	sh := p.Extend(npm, "/usr/bin/dash", "") // npm → sh: still below npm
	mk := p.Extend(none, "/usr/bin/make", "")
	both := p.Extend(mk, "/usr/bin/npm", "")
	if p.Extend(none, "/usr/bin/ls", "") != none {
		t.Error("an exec that matches no ancestor pattern must not make a new ancestry")
	}
	if p.Extend(npm, "/usr/bin/npm", "") != npm {
		t.Error("a second match of the same pattern must keep the ancestry")
	}
	mem := p.Extend(none, "/memfd:x (deleted)", "")
	anyMem := p.Extend(none, "/tmp/x (deleted)", "")
	rows := []struct {
		name string
		exe  string
		a    *Ancestry
		deny bool
	}{
		{"curl outside npm", "/usr/bin/curl", none, false},
		{"curl with npm the caller", "/usr/bin/curl", npm, true},
		{"curl below npm, through a shell", "/usr/local/bin/curl", sh, true},
		{"curl below make only", "/usr/bin/curl", mk, false},
		{"curl below make and npm", "/usr/bin/curl", both, true},
		{"ls below npm", "/usr/bin/ls", sh, false},
		{"tool outside make", "/opt/tool", none, true},
		{"tool below npm", "/opt/tool", npm, true},
		{"tool below make", "/opt/tool", mk, false},
		{"sh below a memfd", "/usr/bin/sh", mem, true},
		{"sh below a deleted file: the pattern names memfds only", "/usr/bin/sh", anyMem, false},
	}
	for _, r := range rows {
		d := p.CheckIn(r.exe, "", r.a)
		if d.Deny != r.deny {
			t.Errorf("%s: CheckIn(%s) = %+v, want deny %v", r.name, r.exe, d, r.deny)
		}
	}
	d := p.CheckIn("/usr/bin/curl", "", sh)
	if want := `executable /usr/bin/curl matches deny "/usr/**/bin/curl" within "/usr/bin/npm*", and an ancestor ran /usr/bin/npm-cli (p:1)`; d.Reason != want {
		t.Errorf("reason %q, want %q", d.Reason, want)
	}
	// Check is CheckIn with no ancestry.
	if p.Check("/usr/bin/curl", "").Deny || !p.Check("/opt/tool", "").Deny {
		t.Error("Check must apply no within rule")
	}
}

func TestReadPolicyWithinErrors(t *testing.T) {
	for _, r := range []struct{ text, want string }{
		{"deny /usr/bin/curl within\n", "want \"deny PATTERN within ANCESTOR\""},
		{"deny within /usr/bin/npm\n", "want \"deny PATTERN within ANCESTOR\""},
		{"deny /usr/bin/curl within npm\n", "within: pattern \"npm\" is not absolute"},
		{"allow /usr/bin/curl within /usr/[bin\n", "unterminated"},
	} {
		var p Policy
		err := p.ReadPolicy(strings.NewReader(r.text), "p")
		if err == nil || !strings.Contains(err.Error(), r.want) || !strings.HasPrefix(err.Error(), "p:1: ") {
			t.Errorf("%q: %v, want p:1: …%s", r.text, err, r.want)
		}
	}
	// The last " within " separates: a pattern may hold the word.
	var p Policy
	if err := p.ReadPolicy(strings.NewReader("deny /opt/a within b within /usr/bin/make\n"), "p"); err != nil {
		t.Fatal(err)
	}
	if !p.CheckIn("/opt/a within b", "", p.Extend(nil, "/usr/bin/make", "")).Deny {
		t.Error("pattern with the word within not parsed as the text before the last within")
	}
}

func FuzzReadPolicy(f *testing.F) {
	for _, s := range []string{"deny /usr/bin/curl within /usr/bin/npm*\n", "allow /a within b within /c # x\n", "deny within\n", "allow /x within /memfd:*\n"} {
		f.Add(s, "/usr/bin/curl", "/usr/bin/npm")
	}
	f.Fuzz(func(t *testing.T, text, exe, anc string) {
		var p Policy
		if err := p.ReadPolicy(strings.NewReader(text), "f"); err != nil {
			if !strings.HasPrefix(err.Error(), "f") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		a := p.Extend(nil, anc, "")
		_ = p.CheckIn(exe, anc, a)
		if p.Extend(a, anc, "") != a {
			t.Error("extending with the same program again changed the ancestry")
		}
	})
}
