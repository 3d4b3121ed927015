package redact

import "bytes"

// charset is a set of bytes.
type charset [256]bool

func makeSet(ranges ...string) *charset {
	var c charset
	for _, r := range ranges {
		if len(r) == 3 && r[1] == '-' {
			for b := int(r[0]); b <= int(r[2]); b++ {
				c[b] = true
			}
			continue
		}
		for i := 0; i < len(r); i++ {
			c[r[i]] = true
		}
	}
	return &c
}

var (
	alnum      = makeSet("a-z", "A-Z", "0-9")
	alnumUnder = makeSet("a-z", "A-Z", "0-9", "_")
	base64url  = makeSet("a-z", "A-Z", "0-9", "_-")
	gitlabSet  = makeSet("a-z", "A-Z", "0-9", "_-.")
	slackSet   = makeSet("a-z", "A-Z", "0-9", "-")
	upperDigit = makeSet("A-Z", "0-9")
	identSet   = makeSet("a-z", "A-Z", "0-9", "_-.")
)

// token is a format with a fixed prefix: the prefix, then a run of
// set of at least min bytes (exactly min when exact). A short prefix that
// could end an ordinary word (AKIA, sk_test_ in desk_test_) must start
// one (boundary); a distinctive one counts anywhere.
type token struct {
	name     string
	prefixes []string
	set      *charset
	min      int
	exact    bool
	boundary bool
}

var tokens = []token{
	{"github", []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}, alnum, 36, false, false},
	{"github-fine-grained", []string{"github_pat_"}, alnumUnder, 40, false, false},
	{"gitlab", []string{"glpat-", "glptt-", "glrt-", "gldt-", "glcbt-", "glimt-", "glsoat-", "gloas-", "glft-"}, gitlabSet, 20, false, false},
	{"slack", []string{"xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xapp-"}, slackSet, 10, false, false},
	{"aws-access-key-id", []string{"AKIA", "ASIA"}, upperDigit, 16, true, true},
	{"google-api-key", []string{"AIza"}, base64url, 35, true, true},
	{"stripe", []string{"sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"}, alnum, 16, false, true},
	{"npm", []string{"npm_"}, alnum, 36, true, true},
	{"pypi", []string{"pypi-AgEIcHlwaS5vcmc"}, base64url, 50, false, false},
}

// header is an HTTP header whose value is a credential.
type header struct {
	name       string // lower case, with the colon
	keepScheme bool   // keep "Bearer " and the like
}

var headers = []header{
	{"authorization:", true}, // and Proxy-Authorization
	{"cookie:", false},       // and Set-Cookie
	{"private-token:", false},
	{"x-api-key:", false},
	{"x-auth-token:", false},
}

// assignWords anchor assignments: a name containing one of them followed
// by "=" (or, quoted, by ":") and a value. Lower case.
var assignWords = []string{"token", "secret", "passw", "passphrase", "key", "credential"}

// scan finds the spans of s to mask, appending them to spans, and the
// markers already in s, appending them to protected. final says s is
// whole; when it is not (a stream), hold is the offset from which a secret
// might still be completed by more input, and matches that reach the end
// of s are not taken yet.
func (r *Redactor) scan(s []byte, final bool, spans, protected []span) (_, _ []span, hold int) {
	hold = len(s)
	a := r.ac
	next, class, hasOut, nc := a.next, &a.class, a.hasOut, a.nclass
	state := 0
	for i := 0; i < len(s); i++ {
		state = int(next[state*nc+int(class[s[i]])])
		if !hasOut[state] {
			continue
		}
		end := i + 1
		for _, pi := range a.out[state] {
			p := &r.pats[pi]
			st := end - len(p.lit)
			var sp span
			var ok, incomplete bool
			switch p.kind {
			case kindToken:
				sp, ok, incomplete = matchToken(s, st, end, p, &tokens[p.idx])
			case kindJWT:
				sp, ok, incomplete = matchJWT(s, st)
			case kindPEM:
				sp, ok, incomplete = matchPEM(s, st)
			case kindHeader:
				sp, ok, incomplete = matchHeader(s, st, end, headers[p.idx].keepScheme)
			case kindURL:
				sp, ok, incomplete = matchURL(s, end)
			case kindAssign:
				sp, ok, incomplete = matchAssign(s, st, end)
			case kindSecret:
				sp, ok, incomplete = matchSecret(s, st, end, p, r.secrets[p.idx])
			case kindMarker:
				if isMarker(s[st:]) {
					protected = append(protected, span{st, st + markerLen})
				} else if len(s)-st < markerLen {
					incomplete = true
				}
			}
			if incomplete && !final {
				hold = min(hold, st)
				continue
			}
			if ok {
				spans = append(spans, sp)
			}
		}
	}
	if !final {
		// A pattern may have begun in the last bytes.
		hold = min(hold, len(s)-int(a.depth[state]))
	}
	if r.extra != nil {
		if !final {
			// Extra patterns see whole lines of a stream (a terminal's
			// input ends them with \r).
			nl := max(bytes.LastIndexByte(s, '\n'), bytes.LastIndexByte(s, '\r'))
			hold = min(hold, nl+1)
		}
		for _, m := range r.extra.FindAllIndex(s[:hold], -1) {
			spans = append(spans, span{m[0], m[1]})
		}
	}
	return spans, protected, hold
}

// matchSecret: a secret value, exactly. The anchor is its first
// secretAnchorMax bytes; a longer value is masked whole when the rest
// follows, and up to where the input stops matching otherwise (a prefix
// of a secret is still secret).
func matchSecret(s []byte, st, end int, p *pattern, full []byte) (span, bool, bool) {
	if string(s[st:end]) != p.lit {
		return span{}, false, false
	}
	rest := full[len(p.lit):]
	i := 0
	for i < len(rest) && end+i < len(s) && s[end+i] == rest[i] {
		i++
	}
	return span{st, end + i}, true, i < len(rest) && end+i == len(s)
}

func boundaryBefore(s []byte, st int, set *charset) bool {
	return st == 0 || !set[s[st-1]]
}

// run returns the end of the run of set bytes from i.
func run(s []byte, i int, set *charset) int {
	for i < len(s) && set[s[i]] {
		i++
	}
	return i
}

func matchToken(s []byte, st, end int, p *pattern, t *token) (span, bool, bool) {
	if string(s[st:end]) != p.lit || t.boundary && !boundaryBefore(s, st, alnum) {
		return span{}, false, false
	}
	e := run(s, end, t.set)
	if e == len(s) {
		// More of the token may follow in a stream.
		return span{st, e}, e-end >= t.min && (!t.exact || e-end == t.min), true
	}
	n := e - end
	if n < t.min || t.exact && (n != t.min || alnum[s[e]]) {
		return span{}, false, false
	}
	return span{st, e}, true, false
}

// matchJWT: header.payload.signature, base64url, the first two parts
// JSON objects ("eyJ" is base64 of `{"`).
func matchJWT(s []byte, st int) (span, bool, bool) {
	if string(s[st:st+3]) != "eyJ" || !boundaryBefore(s, st, base64url) {
		return span{}, false, false
	}
	e := run(s, st, base64url)
	if e == len(s) {
		return span{}, false, true
	}
	if e-st < 10 || s[e] != '.' {
		return span{}, false, false
	}
	p := e + 1
	if len(s)-p < 3 {
		return span{}, false, len(s)-p < 3 && bytes.HasPrefix([]byte("eyJ"), s[p:])
	}
	if string(s[p:p+3]) != "eyJ" {
		return span{}, false, false
	}
	e = run(s, p, base64url)
	if e == len(s) {
		return span{}, false, true
	}
	if e-p < 10 || s[e] != '.' {
		return span{}, false, false
	}
	e = run(s, e+1, base64url)
	return span{st, e}, true, e == len(s)
}

// matchPEM: -----BEGIN … PRIVATE KEY----- to the end of its END line (or
// to the end of s when it has none).
func matchPEM(s []byte, st int) (span, bool, bool) {
	const begin = "-----BEGIN "
	if string(s[st:st+len(begin)]) != begin {
		return span{}, false, false
	}
	rest := s[st+len(begin):]
	i := 0
	for i < len(rest) && i <= 40 && (upperDigit[rest[i]] || rest[i] == ' ') {
		i++
	}
	label := rest[:i]
	if i == len(rest) || len(rest)-i < 5 && bytes.HasPrefix([]byte("-----"), rest[i:]) {
		// Cut in the label: more may follow in a stream.
		return span{st, len(s)}, bytes.Contains(label, []byte("PRIVATE KEY")), true
	}
	if !bytes.HasPrefix(rest[i:], []byte("-----")) || !bytes.HasSuffix(label, []byte("PRIVATE KEY")) {
		return span{}, false, false
	}
	body := st + len(begin) + i + 5
	j := bytes.Index(s[body:], []byte("-----END "))
	if j < 0 {
		return span{st, len(s)}, true, true
	}
	k := body + j + len("-----END ")
	l := bytes.Index(s[k:], []byte("-----"))
	if l < 0 {
		return span{st, len(s)}, true, true
	}
	return span{st, k + l + 5}, true, false
}

// lineEnd: where a header value ends.
func headerValueEnd(c byte) bool { return c == '\r' || c == '\n' || c == '"' || c == '\'' }

func matchHeader(s []byte, st, end int, keepScheme bool) (span, bool, bool) {
	if !boundaryBefore(s, st, alnum) {
		return span{}, false, false
	}
	v := end
	for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
		v++
	}
	e := v
	for e < len(s) && !headerValueEnd(s[e]) {
		e++
	}
	incomplete := e == len(s)
	for e > v && (s[e-1] == ' ' || s[e-1] == '\t') {
		e--
	}
	if keepScheme {
		w := v
		for w < e && (alnum[s[w]] || s[w] == '-') {
			w++
		}
		if w > v && w < e && s[w] == ' ' {
			for w < e && s[w] == ' ' {
				w++
			}
			v = w
		}
	}
	if e <= v || s[v] == '$' || isMarker(s[v:e]) {
		// "$TOKEN" in a script is a reference, not the secret.
		return span{}, false, incomplete
	}
	return span{v, e}, true, incomplete
}

// urlAuthorityEnd: what ends a URL's authority (or the URL).
func urlAuthorityEnd(c byte) bool {
	switch c {
	case '/', '?', '#', ' ', '\t', '\r', '\n', '"', '\'', '<', '>', '`', '\\':
		return true
	}
	return c < 0x20
}

// matchURL: scheme://user:SECRET@host; end is just after "://".
func matchURL(s []byte, end int) (span, bool, bool) {
	e := end
	for e < len(s) && !urlAuthorityEnd(s[e]) {
		e++
	}
	at := bytes.LastIndexByte(s[end:e], '@')
	if at < 0 {
		return span{}, false, e == len(s)
	}
	at += end
	colon := bytes.IndexByte(s[end:at], ':')
	if colon < 0 {
		return span{}, false, e == len(s)
	}
	v := end + colon + 1
	if v >= at || s[v] == '$' || isMarker(s[v:at]) {
		return span{}, false, e == len(s)
	}
	return span{v, at}, true, e == len(s)
}

// valueEnd: what ends an unquoted assigned value.
func valueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '"', '\'', ';', '&', '|', '`', ')':
		return true
	}
	return false
}

// matchAssign: NAME=VALUE, NAME = VALUE, "NAME": "VALUE" where NAME
// contains the anchor word and looks secret (secretName).
func matchAssign(s []byte, st, end int) (span, bool, bool) {
	ls := st
	for ls > 0 && identSet[s[ls-1]] {
		ls--
	}
	e := end
	for e < len(s) && identSet[s[e]] {
		e++
	}
	if e == len(s) {
		return span{}, false, true
	}
	if !secretName(string(bytes.TrimLeft(s[ls:e], "-."))) {
		return span{}, false, false
	}
	i := e
	quoted := byte(0)
	if (s[i] == '"' || s[i] == '\'') && ls > 0 && s[ls-1] == s[i] {
		quoted = s[i]
		i++
	}
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i == len(s) {
		return span{}, false, true
	}
	switch {
	case s[i] == '=':
		if i+1 < len(s) && s[i+1] == '=' {
			return span{}, false, false
		}
	case s[i] == ':' && quoted != 0:
	default:
		return span{}, false, false
	}
	i++
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i == len(s) {
		return span{}, false, true
	}
	v, ve := i, i
	incomplete := false
	if q := s[i]; q == '"' || q == '\'' {
		v++
		ve = v
		for ve < len(s) && s[ve] != q && s[ve] != '\n' {
			if s[ve] == '\\' && q == '"' && ve+1 < len(s) {
				ve++
			}
			ve++
		}
		incomplete = ve >= len(s)
		ve = min(ve, len(s))
	} else {
		for ve < len(s) && !valueEnd(s[ve]) {
			ve++
		}
		incomplete = ve == len(s)
	}
	if ve <= v || s[v] == '$' || isMarker(s[v:ve]) {
		return span{}, false, incomplete
	}
	return span{v, ve}, true, incomplete
}
