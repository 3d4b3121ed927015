package session

// Shell-word quoting, for the markers and the header's command line.

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// appendShellWord appends w as a shell would need it: bare when plain,
// otherwise single-quoted, with bytes that do not print as escapes.
func appendShellWord(b, w []byte) []byte {
	plain := len(w) > 0
	for _, c := range w {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_./=:,+@%^", c) >= 0) {
			plain = false
			break
		}
	}
	if plain {
		return append(b, w...)
	}
	if utf8.Valid(w) && printableString(string(w)) {
		return append(append(append(b, '\''), strings.ReplaceAll(string(w), "'", `'\''`)...), '\'')
	}
	// $'…' with escapes for what does not print (bash, zsh, ksh).
	q := strconv.Quote(string(w))
	q = strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
	return append(append(append(b, "$'"...), strings.ReplaceAll(q, "'", `\'`)...), '\'')
}

func printableString(s string) bool {
	for _, c := range s {
		if !strconv.IsPrint(c) {
			return false
		}
	}
	return true
}

// shellJoin is argv as one command line for the cast header.
func shellJoin(argv []string) string {
	var b []byte
	for i, a := range argv {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendShellWord(b, []byte(a))
	}
	return string(b)
}
