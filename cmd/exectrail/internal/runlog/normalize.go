package runlog

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Normalizer rewrites version-bearing paths before programs are compared
// or learned: each rule replaces every match of its regexp with its
// replacement ($1, ${name} expand as in regexp.Expand), in the order
// given.
type Normalizer struct {
	rules []normRule
}

type normRule struct {
	re   *regexp.Regexp
	repl string
}

// Add adds a rule written REGEX=REPLACEMENT (the first "=" that is not
// part of the regexp: the last one, since replacements rarely hold "=";
// write the regexp's own "=" as \x3d).
func (n *Normalizer) Add(spec string) error {
	i := strings.LastIndexByte(spec, '=')
	if i <= 0 {
		return errors.New("want REGEX=REPLACEMENT, got " + fmt.Sprintf("%q", spec))
	}
	re, err := regexp.Compile(spec[:i])
	if err != nil {
		return fmt.Errorf("%q: %w", spec[:i], err)
	}
	n.rules = append(n.rules, normRule{re, spec[i+1:]})
	return nil
}

// Empty reports whether there are no rules.
func (n *Normalizer) Empty() bool { return n == nil || len(n.rules) == 0 }

// Apply rewrites s.
func (n *Normalizer) Apply(s string) string {
	if n.Empty() || s == "" {
		return s
	}
	for _, r := range n.rules {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

// ApplyGlob rewrites s into a policy pattern: the text the rules leave
// alone is escaped so that it matches only itself, and what a rule
// writes is kept as written, a glob (--normalize '/go-build[0-9]+=/go-build*').
// changed reports whether any rule matched.
func (n *Normalizer) ApplyGlob(s string) (pat string, changed bool) {
	type piece struct {
		text string
		glob bool
	}
	pieces := []piece{{s, false}}
	if !n.Empty() {
		for _, r := range n.rules {
			var next []piece
			for _, p := range pieces {
				if p.glob {
					next = append(next, p)
					continue
				}
				last := 0
				for _, m := range r.re.FindAllStringSubmatchIndex(p.text, -1) {
					if m[1] == m[0] {
						continue // an empty match replaces nothing here
					}
					next = append(next, piece{p.text[last:m[0]], false})
					var dst []byte
					dst = r.re.ExpandString(dst, r.repl, p.text, m)
					next = append(next, piece{string(dst), true})
					last = m[1]
					changed = true
				}
				next = append(next, piece{p.text[last:], false})
			}
			pieces = next
		}
	}
	var b strings.Builder
	for _, p := range pieces {
		if p.glob {
			b.WriteString(p.text)
		} else {
			b.WriteString(EscapeGlob(p.text))
		}
	}
	return b.String(), changed
}

// EscapeGlob escapes the pattern characters of a policy glob (* ? [ \),
// "#" (a comment after a blank) and the w of a " within" (which starts a
// rule's ancestor pattern) so that the result matches exactly s.
// U+FFFD, which stands for a byte that was not UTF-8 in the record,
// control characters, which cannot be written on one line, and blanks at
// either end, which a policy line loses, become ? (one character of any
// value).
func EscapeGlob(s string) string {
	var b strings.Builder
	end := len(strings.TrimRight(s, " "))
	start := len(s) - len(strings.TrimLeft(s, " "))
	for i, c := range s {
		switch {
		case c == '*' || c == '?' || c == '[' || c == '\\' || c == '#',
			c == 'w' && i > 0 && s[i-1] == ' ' && strings.HasPrefix(s[i:], "within"):
			b.WriteByte('\\')
			b.WriteRune(c)
		case c == '\uFFFD' || c < ' ' || c == 0x7f, c == ' ' && (i < start || i >= end):
			b.WriteByte('?')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
