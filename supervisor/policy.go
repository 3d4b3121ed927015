package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Policy decides which executables a job may run. Patterns match the
// resolved, absolute executable (and a script's interpreter): `*` and `?`
// stay inside one path segment, `**` crosses segments (`/a/**/b` also
// matches `/a/b`), `[...]` is a character class. A deny match always
// refuses; when any allow pattern exists, whatever no allow pattern
// matches is refused too. A script is refused when its interpreter is.
// Fileless executables (memfd, deleted files) match only patterns that
// name them ("/memfd:*", "/** (deleted)"), so an allow list never lets them
// through by accident.
type Policy struct {
	rules    []rule
	hasAllow bool
}

type rule struct {
	allow    bool
	pattern  string
	origin   string // "--deny", "policy.txt:7"
	re       *regexp.Regexp
	fileless bool // the pattern names fileless executables
}

// Empty reports whether the policy has no rules.
func (p *Policy) Empty() bool { return p == nil || len(p.rules) == 0 }

// Add adds one pattern. origin says where it came from, for messages.
func (p *Policy) Add(allow bool, pattern, origin string) error {
	re, err := compileGlob(pattern)
	if err != nil {
		return err
	}
	p.rules = append(p.rules, rule{allow: allow, pattern: pattern, origin: origin, re: re,
		fileless: strings.Contains(pattern, "/memfd:") || strings.Contains(pattern, " (deleted)")})
	if allow {
		p.hasAllow = true
	}
	return nil
}

// PolicyError is an invalid pattern or policy line.
type PolicyError struct {
	Origin string // "--deny" or "FILE:LINE"
	Err    error
}

func (e *PolicyError) Error() string { return e.Origin + ": " + e.Err.Error() }
func (e *PolicyError) Unwrap() error { return e.Err }

// ReadPolicy adds the rules of a policy file: one rule a line, "allow
// PATTERN" or "deny PATTERN" (separated by spaces or tabs); "#" at the
// start of a line or after a blank starts a comment; blank lines are
// ignored. Errors name the line.
func (p *Policy) ReadPolicy(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		origin := fmt.Sprintf("%s:%d", name, n)
		line := stripComment(sc.Text())
		if line == "" {
			continue
		}
		verb, pat := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			verb, pat = line[:i], strings.TrimSpace(line[i:])
		}
		if pat == "" {
			return &PolicyError{origin, fmt.Errorf("want \"allow PATTERN\" or \"deny PATTERN\", got %q", line)}
		}
		var allow bool
		switch verb {
		case "allow":
			allow = true
		case "deny":
		default:
			return &PolicyError{origin, fmt.Errorf("unknown verb %q (want allow or deny)", verb)}
		}
		if err := p.Add(allow, pat, origin); err != nil {
			return &PolicyError{origin, err}
		}
	}
	if err := sc.Err(); err != nil {
		return &PolicyError{name, err}
	}
	return nil
}

// stripComment removes a comment — "#" at the start of the line or after
// blank space — and the blank space around what is left. A "#" inside a
// pattern (not after a blank) is kept.
func stripComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			line = line[:i]
			break
		}
	}
	return strings.TrimSpace(line)
}

// Decision is why an executable is refused.
type Decision struct {
	Deny   bool
	Reason string
}

// Check decides on an exec of executable, whose interpreter (for a
// script) is interp. An empty executable — the path led nowhere — is not
// refused: the exec fails by itself.
func (p *Policy) Check(executable, interp string) Decision {
	return p.CheckFiles(File{Path: executable}, File{Path: interp})
}

// File is an executable (or interpreter) as the policy judges it.
type File struct {
	// Path is its canonical path as the process sees it.
	Path string
	// Foreign: in the process's mount namespace Path names another file
	// than it does for exectrail (or that could not be told), so the name
	// proves nothing.
	Foreign bool
	// Outer is the same file's path in exectrail's own view, when it has
	// one and it differs from Path.
	Outer string
}

// CheckFiles decides on an exec of executable, whose interpreter (for a
// script) is interp, deciding on the files rather than their names in the
// job's mount namespace, which the job controls:
//
//   - a deny pattern refuses a file whose path, in the job's view or in
//     exectrail's (Outer), it matches: denying must catch a denied
//     program whichever name it is reached by, and the job's own name
//     for it counts too (it chose that name);
//   - an allow pattern admits a file only by a path that names that same
//     file for exectrail: Path when it is not Foreign, or Outer. A name
//     the job gave another file in its own namespace admits nothing.
func (p *Policy) CheckFiles(executable, interp File) Decision {
	if p.Empty() || executable.Path == "" {
		return Decision{}
	}
	for _, f := range []struct {
		what string
		File
	}{{"executable", executable}, {"interpreter", interp}} {
		if f.Path == "" {
			continue
		}
		if r := p.match(f.Path, false); r != nil {
			return Decision{true, fmt.Sprintf("%s %s matches deny %q (%s)", f.what, f.Path, r.pattern, r.origin)}
		}
		if f.Outer != "" {
			if r := p.match(f.Outer, false); r != nil {
				return Decision{true, fmt.Sprintf("%s %s is %s outside the job's mount namespace, which matches deny %q (%s)", f.what, f.Path, f.Outer, r.pattern, r.origin)}
			}
		}
		if !p.hasAllow {
			continue
		}
		if !f.Foreign && p.match(f.Path, true) != nil || f.Outer != "" && p.match(f.Outer, true) != nil {
			continue
		}
		if f.Foreign {
			return Decision{true, fmt.Sprintf("%s %s is another file in the job's mount namespace than at that path for exectrail, and allow patterns name exectrail's files", f.what, f.Path)}
		}
		return Decision{true, fmt.Sprintf("%s %s matches no allow pattern", f.what, f.Path)}
	}
	return Decision{}
}

func (p *Policy) match(path string, allow bool) *rule {
	fileless := isFileless(path)
	for i := range p.rules {
		r := &p.rules[i]
		if r.allow != allow || (fileless && !r.fileless) {
			continue
		}
		if r.re.MatchString(path) {
			return r
		}
	}
	return nil
}

func isFileless(path string) bool {
	return strings.HasPrefix(path, "/memfd:") || strings.HasSuffix(path, " (deleted)") || !strings.HasPrefix(path, "/")
}

// compileGlob turns a pattern into an anchored regexp.
func compileGlob(pat string) (*regexp.Regexp, error) {
	if pat == "" {
		return nil, errors.New("empty pattern")
	}
	if !strings.HasPrefix(pat, "/") {
		return nil, fmt.Errorf("pattern %q is not absolute: patterns match absolute executable paths (did you mean \"/**/%s\"?)", pat, pat)
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch c {
		case '*':
			if i+1 < len(pat) && pat[i+1] == '*' {
				i++
				if i+1 < len(pat) && pat[i+1] == '/' {
					// "**/": any number of whole segments, none included.
					i++
					b.WriteString("(?:.*/)?")
				} else {
					b.WriteString(".*")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			j := i + 1
			if j < len(pat) && (pat[j] == '!' || pat[j] == '^') {
				j++
			}
			if j < len(pat) && pat[j] == ']' {
				j++
			}
			for j < len(pat) && pat[j] != ']' {
				j++
			}
			if j >= len(pat) {
				return nil, fmt.Errorf("pattern %q: unterminated [", pat)
			}
			class := pat[i+1 : j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			if strings.Contains(class, "/") {
				return nil, fmt.Errorf("pattern %q: a [class] cannot match /", pat)
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i = j
		case '\\':
			if i+1 >= len(pat) {
				return nil, fmt.Errorf("pattern %q: trailing backslash", pat)
			}
			i++
			b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
		default:
			b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", pat, err)
	}
	return re, nil
}
