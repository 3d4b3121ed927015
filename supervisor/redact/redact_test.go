package redact

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// fill returns n bytes cycling through alphabet: real-shaped fake token
// bodies.
func fill(alphabet string, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteByte(alphabet[(i*7+3)%len(alphabet)])
	}
	return b.String()
}

const (
	b62 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b64 = b62 + "-_"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newTest(t testing.TB, o Options) *Redactor {
	t.Helper()
	if o.Key == nil {
		o.Key = testKey
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var markerRE = regexp.MustCompile(`\[REDACTED:[0-9a-f]{8}\]`)

// M stands for a marker in expectations.
func masked(s string) string { return markerRE.ReplaceAllString(s, "M") }

func TestDetectors(t *testing.T) {
	r := newTest(t, Options{})
	jwt := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	pem := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDx\n-----END OPENSSH PRIVATE KEY-----"
	for _, tc := range []struct{ name, in, want string }{
		{"github classic", "token ghp_" + fill(b62, 36) + " end", "token M end"},
		{"github oauth", "gho_" + fill(b62, 36), "M"},
		{"github server", "x=ghs_" + fill(b62, 36), "x=M"},
		{"github fine-grained", "github_pat_11ABCDEFG0" + fill(b62+"_", 71), "M"},
		{"gitlab", "PRIVATE-TOKEN glpat-" + fill(b64, 20), "PRIVATE-TOKEN M"},
		{"slack", "xoxb-123456789012-1234567890123-" + fill(b62, 24), "M"},
		{"aws key id", "aws AKIAIOSFODNN7EXAMPLE s3", "aws M s3"},
		{"aws session key id", "ASIA" + fill("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), "M"},
		{"aws json pair", `{"AccessKeyId": "ASIAXXXX", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`, `{"AccessKeyId": "M", "SecretAccessKey": "M"}`},
		{"aws ini pair", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", "aws_secret_access_key = M\n"},
		{"google", "key=AIza" + fill(b64, 35), "key=M"},
		{"google in url", "https://maps.example.com/api?key=AIza" + fill(b64, 35) + "&x=1", "https://maps.example.com/api?key=M&x=1"},
		{"stripe", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "M"},
		{"stripe test", "Bearer sk_test_" + fill(b62, 24), "Bearer M"},
		{"npm", "//registry.npmjs.org/:_authToken=npm_" + fill(b62, 36), "//registry.npmjs.org/:_authToken=M"},
		{"pypi", "pypi-AgEIcHlwaS5vcmc" + fill(b64, 60), "M"},
		{"jwt", "jwt " + jwt, "jwt M"},
		{"pem", "key:\n" + pem + "\nafter", "key:\nM\nafter"},
		{"pem without end", "x " + pem[:60], "x M"},
		{"url userinfo", "git clone https://user:hunter2pass@example.com/repo.git", "git clone https://user:M@example.com/repo.git"},
		{"url token user", "https://x-access-token:abc123def456@github.com/o/r", "https://x-access-token:M@github.com/o/r"},
		{"postgres url", "postgres://app:pa%40ss@db:5432/app", "postgres://app:M@db:5432/app"},
		{"authorization bearer", "Authorization: Bearer abc.def-ghi", "Authorization: Bearer M"},
		{"authorization basic lower", "authorization:basic dXNlcjpwYXNz", "authorization:basic M"},
		{"authorization no scheme", "Authorization: dXNlcjpwYXNz", "Authorization: M"},
		{"proxy authorization", "Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: Basic M"},
		{"header in sh -c", `curl -H "Authorization: Bearer s3cr3tvalue" https://x`, `curl -H "Authorization: Bearer M" https://x`},

		{"cookie", "Cookie: session=abc123; theme=dark", "Cookie: M"},
		{"set-cookie", "Set-Cookie: sid=31d4d96e407aad42; Path=/", "Set-Cookie: M"},
		{"private-token header", "PRIVATE-TOKEN: abcdefgh", "PRIVATE-TOKEN: M"},
		{"assignment", "API_TOKEN=abcdef123", "API_TOKEN=M"},
		{"assignment in script", "TOKEN=xyz123 make && DB_PASSWORD='p w' run", "TOKEN=M make && DB_PASSWORD='M' run"},
		{"assignment java prop", "-Ddb.password=hunter2", "-Ddb.password=M"},
		{"flag assignment", "--token=abc123", "--token=M"},
		{"json password", `{"password": "hunter2"}`, `{"password": "M"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := r.String(tc.in)
			if masked(got) != tc.want || !changed {
				t.Errorf("redact(%q)\n got %q (changed %v)\nwant %q", tc.in, got, changed, tc.want)
			}
			again, changed := r.String(got)
			if again != got || changed {
				t.Errorf("not idempotent: %q -> %q", got, again)
			}
		})
	}
}

// Near misses: strings that look like secrets to a careless detector.
func TestNearMisses(t *testing.T) {
	r := newTest(t, Options{})
	for _, s := range []string{
		"3f786850e387550fdab836ed7e6dc881de23001b",                                      // git SHA-1
		"git checkout 9c1d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d", // SHA-256
		"0b2c6a1e-8f3d-4c5b-9a7e-1d2f3a4b5c6d",                                          // UUID
		"aGVsbG8gd29ybGQgdGhpcyBpcyBhIGZpbGUgbmFtZQ==.txt",                              // base64 file name
		"/kubepods.slice/cri-containerd-4f2a9c1d6e8b3a7f0c5d2e1b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918073625.scope",
		"ghp_tooShort",
		"xghp_" + fill(b62, 30),
		"AKIAIOSFODNN7EXAMPLEX",              // 17 after AKIA
		"AKIAIOSFODNN7EXAMPLe",               // lower case in it
		"desk_test_results_1234567890123456", // sk_test_ inside a word
		"npm_config_cache=/tmp/npm",
		"https://example.com/a@b",
		"http://localhost:8080/path?x=1",
		"ssh://git@github.com/o/r.git",
		"keyboard layout us",
		"--key-file=/etc/ssl/private/x.key",
		"SSL_KEY_PATH=/etc/ssl/x.key",
		"TOKEN=$TOKEN make",
		`curl -H "Authorization: Bearer $TOKEN" https://u:$PASS@h/`,
		"token = \"${TOKEN}\"",
		"eyJhbGciOiJIUzI1NiJ9", // a lone base64 JSON header
		"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
		"-----BEGIN PUBLIC KEY-----",
		"if [ $key == x ]; then",
		"Authorization:",
		"the password is not here",
		"cookie: ",
		"[REDACTED:0123abcd]",
	} {
		if got, changed := r.String(s); changed {
			t.Errorf("redact(%q) = %q, want it unchanged", s, got)
		}
	}
}

func TestArgv(t *testing.T) {
	r := newTest(t, Options{})
	for _, tc := range []struct {
		argv []string
		want string // argv joined by |, markers as M
		idx  []int
	}{
		{[]string{"mysql", "-uroot", "-pS3cret!", "db"}, "mysql|-uroot|-pM|db", []int{2}},
		{[]string{"/usr/bin/mysql", "-p", "dbname"}, "/usr/bin/mysql|-p|dbname", nil},
		{[]string{"mysqldump", "--password=hunter2", "db"}, "mysqldump|--password=M|db", []int{1}},
		{[]string{"docker", "login", "-u", "me", "-p", "dckr_pat_abcdef", "reg.example.com"}, "docker|login|-u|me|-p|M|reg.example.com", []int{5}},
		{[]string{"docker", "run", "-p", "8080:80", "nginx"}, "docker|run|-p|8080:80|nginx", nil},
		{[]string{"docker", "login", "--password-stdin", "-u", "me"}, "docker|login|--password-stdin|-u|me", nil},
		{[]string{"sshpass", "-p", "hunter2", "ssh", "host"}, "sshpass|-p|M|ssh|host", []int{2}},
		{[]string{"redis-cli", "-a", "hunter2", "ping"}, "redis-cli|-a|M|ping", []int{2}},
		{[]string{"curl", "-u", "user:pw123", "https://x"}, "curl|-u|user:M|https://x", []int{2}},
		{[]string{"curl", "--user=user:pw123", "https://x"}, "curl|--user=user:M|https://x", []int{1}},
		{[]string{"curl", "-uuser:pw123"}, "curl|-uuser:M", []int{1}},
		{[]string{"curl", "-H", "Authorization: Bearer abcdef", "https://x"}, "curl|-H|Authorization: Bearer M|https://x", []int{2}},
		{[]string{"tool", "--password", "hunter2", "--verbose"}, "tool|--password|M|--verbose", []int{2}},
		{[]string{"tool", "--db-password", "hunter2"}, "tool|--db-password|M", []int{2}},
		{[]string{"tool", "--api_key", "k3y"}, "tool|--api_key|M", []int{2}},
		{[]string{"openssl", "enc", "-pass", "pass:hunter2"}, "openssl|enc|-pass|M", []int{3}},
		{[]string{"psql", "--no-password", "-c", "select 1"}, "psql|--no-password|-c|select 1", nil},
		{[]string{"kubectl", "--token", "abc", "get", "pods"}, "kubectl|--token|M|get|pods", []int{2}},
		{[]string{"env", "GITHUB_TOKEN=ghx", "make"}, "env|GITHUB_TOKEN=M|make", []int{1}},
		{[]string{"ls", "-p"}, "ls|-p", nil},
		{[]string{"tool", "--password"}, "tool|--password", nil},
	} {
		in := make([][]byte, len(tc.argv))
		for i, a := range tc.argv {
			in[i] = []byte(a)
		}
		out, idx := r.Argv(in)
		parts := make([]string, len(out))
		for i, a := range out {
			parts[i] = string(a)
		}
		if got := masked(strings.Join(parts, "|")); got != tc.want || !equalInts(idx, tc.idx) {
			t.Errorf("Argv(%q) = %q %v, want %q %v", tc.argv, got, idx, tc.want, tc.idx)
		}
		for i, a := range tc.argv {
			if string(in[i]) != a {
				t.Errorf("Argv changed its input: %q", in[i])
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEnvValues(t *testing.T) {
	tok := "tok-" + fill(b62, 20)
	r := newTest(t, Options{
		Environ: []string{
			"CI_JOB_TOKEN=" + tok,
			"MY_PASSWORD=hunter2hunter2",
			"DEPLOY_KEY=-----BEGIN X-----\nline1isLong\nline2isLong\n-----END X-----",
			"HOME=/root",
			"SHORT_TOKEN=abc",        // too short to mask
			"FEATURE_KEY=true",       // a setting
			"SSH_KEY_FILE=/root/key", // where, not what
			"PLAIN=notsecret1",
			"EXTRA=extravalue",
		},
		EnvNames: []string{"EXTRA"},
	})
	for _, tc := range []struct{ in, want string }{
		{"curl -H 'X: " + tok + "' x", "curl -H 'X: M' x"},
		{"prefix" + tok + "suffix", "prefixMsuffix"},
		{"echo hunter2hunter2", "echo M"},
		{"echo line2isLong", "echo M"},
		{"value extravalue", "value M"},
		{"abc true /root/key notsecret1 /root", "abc true /root/key notsecret1 /root"},
		{"HUNTER2HUNTER2", "HUNTER2HUNTER2"}, // values match exactly, case and all
	} {
		if got, _ := r.String(tc.in); masked(got) != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if n := r.Secrets(); n != 8 {
		t.Errorf("Secrets() = %d, want 8 (token, password, the key and its 4 lines, extra)", n)
	}
	got, ok := r.EnvEntry([]byte("NEW_SECRET=whatever"))
	if !ok || masked(string(got)) != "NEW_SECRET=M" {
		t.Errorf("EnvEntry by name = %q", got)
	}
	got, ok = r.EnvEntry([]byte("URL=https://u:" + tok + "@h"))
	if !ok || masked(string(got)) != "URL=https://u:M@h" {
		t.Errorf("EnvEntry by value = %q", got)
	}
	if _, ok := r.EnvEntry([]byte("PATH=/usr/bin:/bin")); ok {
		t.Error("PATH redacted")
	}
}

// A value longer than the automaton's anchor is masked whole, and a part
// of it that begins like it is masked too.
func TestLongSecretValue(t *testing.T) {
	long := fill(b64, 5000)
	r := newTest(t, Options{Environ: []string{"SIGNING_KEY=" + long}})
	if got, _ := r.String("a " + long + " b"); masked(got) != "a M b" {
		t.Errorf("whole value: %.100q", got)
	}
	if got, _ := r.String("a " + long[:300] + "!"); masked(got) != "a M!" {
		t.Errorf("a 300-byte prefix: %.100q", got)
	}
	s := r.NewStream()
	var out []byte
	for i := 0; i < len(long); i += 1000 {
		out = append(out, s.Write([]byte(long[i:min(i+1000, len(long))]))...)
	}
	out = append(out, s.Flush()...)
	if masked(string(out)) != "M" {
		t.Errorf("streamed in 1000-byte chunks: %.100q", out)
	}
}

func TestMarkerIsKeyedHash(t *testing.T) {
	a := newTest(t, Options{})
	b := newTest(t, Options{})
	c := newTest(t, Options{Key: []byte("another key, 16+ bytes")})
	v := []byte("hunter2")
	if !bytes.Equal(a.Mask(v), b.Mask(v)) {
		t.Error("the same key gives different markers")
	}
	if bytes.Equal(a.Mask(v), c.Mask(v)) {
		t.Error("different keys give the same marker")
	}
	if bytes.Equal(a.Mask(v), a.Mask([]byte("hunter3"))) {
		t.Error("different values give the same marker")
	}
	r1, _ := New(Options{})
	r2, _ := New(Options{})
	if bytes.Equal(r1.Mask(v), r2.Mask(v)) || r1.KeyFromFile() {
		t.Error("two runs without a key correlate")
	}
	if !isMarker(a.Mask(v)) {
		t.Errorf("%q is not a marker", a.Mask(v))
	}
}

func TestExtraPatterns(t *testing.T) {
	r := newTest(t, Options{Patterns: []string{`acme-[0-9]{6}`, `(?i)internal\.example\.com`}})
	got, _ := r.String("id acme-123456 at INTERNAL.example.com, not acme-12")
	if masked(got) != "id M at M, not acme-12" {
		t.Errorf("got %q", got)
	}
	for _, bad := range []string{"(", "x*"} {
		if _, err := New(Options{Patterns: []string{bad}}); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}

func TestNonUTF8(t *testing.T) {
	tok := "ghp_" + fill(b62, 36)
	r := newTest(t, Options{})
	in := []byte("\xff\xfe" + tok + "\x80")
	got, ok := r.Bytes(in)
	if !ok || bytes.Contains(got, []byte(tok)) || !bytes.HasPrefix(got, []byte("\xff\xfe[REDACTED:")) || !bytes.HasSuffix(got, []byte("]\x80")) {
		t.Errorf("got %q", got)
	}
}

func TestStreamSplitSecret(t *testing.T) {
	tok := "ghp_" + fill(b62, 36)
	env := "s3cr3t-" + fill(b62, 12)
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6y"
	r := newTest(t, Options{Environ: []string{"API_TOKEN=" + env}})
	text := "start " + tok + " mid " + env + "\r\nAuthorization: Bearer abcdefghij\r\nhttps://u:pw12345@h/ " + jwt + " end\r\n"
	want, _ := r.String(text)
	// Every cut into two chunks, and one byte at a time.
	for cut := 0; cut <= len(text); cut++ {
		s := r.NewStream()
		var got []byte
		got = append(got, s.Write([]byte(text[:cut]))...)
		got = append(got, s.Write([]byte(text[cut:]))...)
		got = append(got, s.Flush()...)
		if string(got) != want {
			t.Fatalf("cut at %d:\n got %q\nwant %q", cut, got, want)
		}
	}
	s := r.NewStream()
	var got []byte
	for i := range len(text) {
		got = append(got, s.Write([]byte{text[i]})...)
	}
	got = append(got, s.Flush()...)
	if string(got) != want {
		t.Fatalf("byte by byte:\n got %q\nwant %q", got, want)
	}
	// Plain output is not held back.
	s = r.NewStream()
	if out := s.Write([]byte("hello world\r\n$ ")); string(out) != "hello world\r\n$ " || s.Held() != 0 {
		t.Errorf("plain output held: %q, %d held", out, s.Held())
	}
}

func TestStreamHoldIsBounded(t *testing.T) {
	r := newTest(t, Options{})
	s := r.NewStream()
	// An Authorization line that never ends.
	out := len(s.Write([]byte("Authorization: Bearer ")))
	chunk := bytes.Repeat([]byte("a"), 4096)
	for range 2 * MaxHold / len(chunk) {
		out += len(s.Write(chunk))
		if s.Held() > MaxHold+len(chunk) {
			t.Fatalf("%d bytes held", s.Held())
		}
	}
	if out == 0 {
		t.Fatal("nothing was ever written")
	}
}
