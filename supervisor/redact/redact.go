package redact

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Options configure a Redactor.
type Options struct {
	// Key is the HMAC key of the markers' hashes. Empty: a random key,
	// kept in memory only, so markers correlate within one run.
	Key []byte
	// Environ is the job's environment ("NAME=VALUE" entries): the
	// values of the variables whose names look secret (SecretName) or
	// are in EnvNames are masked wherever they appear.
	Environ []string
	// EnvNames are more variable names whose values are secret
	// (--redact-env), matched exactly.
	EnvNames []string
	// Patterns are extra regular expressions (Go syntax) whose matches
	// are secrets (--redact).
	Patterns []string
}

// MinSecretLen is the shortest environment value that is masked: shorter
// ones ("1", "on") would mask half of every record.
const MinSecretLen = 4

// secretAnchorMax bounds the part of a secret value the automaton holds.
const secretAnchorMax = 256

// MinKeyLen is the shortest key a key file may hold.
const MinKeyLen = 16

// Redactor finds and masks secrets. It is immutable and safe for
// concurrent use.
type Redactor struct {
	key         []byte
	keyFromFile bool
	ac          *automaton
	pats        []pattern
	secrets     [][]byte
	extra       *regexp.Regexp
	names       map[string]bool
	nsecrets    int
}

// pattern is what an automaton pattern stands for.
type pattern struct {
	kind uint8
	idx  int    // into tokens, headers or secrets
	lit  string // the anchor in its real case
}

const (
	kindToken uint8 = iota
	kindJWT
	kindPEM
	kindHeader
	kindURL
	kindAssign
	kindSecret
	kindMarker
)

// New builds a Redactor.
func New(o Options) (*Redactor, error) {
	r := &Redactor{names: map[string]bool{}}
	if len(o.Key) > 0 {
		r.key = slices.Clone(o.Key)
		r.keyFromFile = true
	} else {
		r.key = make([]byte, 32)
		if _, err := rand.Read(r.key); err != nil {
			return nil, fmt.Errorf("redaction key: %w", err)
		}
	}
	for _, n := range o.EnvNames {
		if n == "" || strings.ContainsRune(n, '=') {
			return nil, fmt.Errorf("--redact-env %q: not a variable name", n)
		}
		r.names[n] = true
	}
	if len(o.Patterns) > 0 {
		var parts []string
		for _, p := range o.Patterns {
			if _, err := regexp.Compile(p); err != nil {
				return nil, fmt.Errorf("--redact %q: %w", p, err)
			}
			if regexp.MustCompile(p).MatchString("") {
				return nil, fmt.Errorf("--redact %q: matches the empty string", p)
			}
			parts = append(parts, "(?:"+p+")")
		}
		r.extra = regexp.MustCompile(strings.Join(parts, "|"))
	}
	seen := map[string]bool{}
	addSecret := func(v string) {
		if len(v) < MinSecretLen || seen[v] || trivialValue(v) {
			return
		}
		seen[v] = true
		r.secrets = append(r.secrets, []byte(v))
	}
	for _, kv := range o.Environ {
		name, v, ok := strings.Cut(kv, "=")
		if !ok || !r.SecretName(name) {
			continue
		}
		addSecret(v)
		if strings.ContainsAny(v, "\r\n") {
			for _, line := range strings.FieldsFunc(v, func(c rune) bool { return c == '\n' || c == '\r' }) {
				addSecret(strings.TrimSpace(line))
			}
		}
	}
	r.nsecrets = len(r.secrets)

	var lits [][]byte
	add := func(p pattern) {
		r.pats = append(r.pats, p)
		lits = append(lits, bytes.ToLower([]byte(p.lit)))
	}
	for i, t := range tokens {
		for _, pre := range t.prefixes {
			add(pattern{kind: kindToken, idx: i, lit: pre})
		}
	}
	add(pattern{kind: kindJWT, lit: "eyJ"})
	add(pattern{kind: kindPEM, lit: "-----BEGIN "})
	for i, h := range headers {
		add(pattern{kind: kindHeader, idx: i, lit: h.name})
	}
	add(pattern{kind: kindURL, lit: "://"})
	for _, w := range assignWords {
		add(pattern{kind: kindAssign, lit: w})
	}
	for i, s := range r.secrets {
		// The automaton holds a prefix of a long value (its size grows
		// with the patterns'); the match checks the rest.
		add(pattern{kind: kindSecret, idx: i, lit: string(s[:min(len(s), secretAnchorMax)])})
	}
	add(pattern{kind: kindMarker, lit: markerPrefix})
	r.ac = newAutomaton(lits)
	return r, nil
}

// ReadKey reads a --redact-key file: its bytes are the key. It must hold
// at least MinKeyLen bytes (head -c 32 /dev/urandom > FILE).
func ReadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--redact-key: %w", err)
	}
	if len(b) < MinKeyLen {
		return nil, fmt.Errorf("--redact-key %s: %d bytes; a key needs at least %d (head -c 32 /dev/urandom > %s)", path, len(b), MinKeyLen, path)
	}
	return b, nil
}

// Secrets reports how many environment values are masked.
func (r *Redactor) Secrets() int { return r.nsecrets }

// KeyFromFile reports whether the key came from Options.Key (a key file)
// rather than being random for this run.
func (r *Redactor) KeyFromFile() bool { return r.keyFromFile }

// trivialValue: values of secret-looking variables that are settings, not
// secrets.
func trivialValue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "false", "none", "null", "unset", "auto", "never", "always", "enabled", "disabled":
		return true
	}
	return false
}

// secretWords are what make a variable or assignment name look secret.
var secretWords = []string{"TOKEN", "SECRET", "PASSW", "PASSPHRASE", "KEY", "CREDENTIAL"}

// SecretName reports whether an environment variable or assignment name
// looks secret: it contains TOKEN, SECRET, PASSW (PASSWORD, PASSWD),
// PASSPHRASE, KEY or CREDENTIAL (any case), and does not end in FILE,
// PATH or DIR (those name where a secret is, not the secret); or it was
// given as a --redact-env name.
func (r *Redactor) SecretName(name string) bool {
	if r.names[name] {
		return true
	}
	return secretName(name)
}

func secretName(name string) bool {
	u := strings.ToUpper(name)
	for _, suf := range []string{"FILE", "FILES", "PATH", "DIR"} {
		if strings.HasSuffix(u, suf) {
			return false
		}
	}
	for _, w := range secretWords {
		if strings.Contains(u, w) {
			return true
		}
	}
	return false
}

const (
	markerPrefix = "[REDACTED:"
	markerLen    = len(markerPrefix) + 8 + 1
)

// Mask returns the marker for secret value v.
func (r *Redactor) Mask(v []byte) []byte { return r.appendMask(nil, v) }

func (r *Redactor) appendMask(dst, v []byte) []byte {
	m := hmac.New(sha256.New, r.key)
	m.Write(v)
	var sum [sha256.Size]byte
	h := m.Sum(sum[:0])
	dst = append(dst, markerPrefix...)
	dst = hex.AppendEncode(dst, h[:4])
	return append(dst, ']')
}

// isMarker reports whether s starts with a whole marker.
func isMarker(s []byte) bool {
	if len(s) < markerLen || string(s[:len(markerPrefix)]) != markerPrefix || s[markerLen-1] != ']' {
		return false
	}
	for _, c := range s[len(markerPrefix) : markerLen-1] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Bytes returns s with every secret masked, and whether anything was.
// When nothing was, s itself is returned.
func (r *Redactor) Bytes(s []byte) ([]byte, bool) {
	if out := r.redact(s, nil); out != nil {
		return out, true
	}
	return s, false
}

// String is Bytes for a string.
func (r *Redactor) String(s string) (string, bool) {
	if out := r.redact([]byte(s), nil); out != nil {
		return string(out), true
	}
	return s, false
}

// span is a secret's place in a string, [start, end).
type span struct{ start, end int }

// redact returns s with its secrets and the extra spans masked, in a new
// slice; nil when there is nothing to mask.
func (r *Redactor) redact(s []byte, extra []span) []byte {
	var arr [8]span
	var prot [4]span
	spans, protected, _ := r.scan(s, true, append(arr[:0], extra...), prot[:0])
	if len(spans) == 0 {
		return nil
	}
	out := r.apply(nil, s, spans, protected)
	if string(out) == string(s) {
		return nil // only spans inside markers
	}
	return out
}

// apply appends s with spans masked to dst. Spans wholly inside an
// existing marker are left alone (masking twice changes nothing).
func (r *Redactor) apply(dst, s []byte, spans, protected []span) []byte {
	spans = slices.DeleteFunc(spans, func(sp span) bool {
		for _, p := range protected {
			if sp.start >= p.start && sp.end <= p.end {
				return true
			}
		}
		return sp.end <= sp.start
	})
	if len(spans) == 0 {
		return append(dst, s...)
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	at := 0
	for i := 0; i < len(spans); {
		st, en := spans[i].start, spans[i].end
		i++
		for i < len(spans) && spans[i].start < en {
			en = max(en, spans[i].end)
			i++
		}
		dst = append(dst, s[at:st]...)
		dst = r.appendMask(dst, s[st:en])
		at = en
	}
	return append(dst, s[at:]...)
}
