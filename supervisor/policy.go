package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/exectrail/exectrail/supervisor/record"
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
	// within are the distinct ancestor patterns of "within" rules; an
	// Ancestry says which of them a process's ancestry has matched.
	within []glob
}

type rule struct {
	allow    bool
	pattern  string
	origin   string // "--deny", "policy.txt:7"
	re       *regexp.Regexp
	fileless bool // the pattern names fileless executables
	// within is the index in Policy.within of the ancestor pattern the
	// rule needs ("deny X within A"), -1 for a rule without one.
	within int
}

// glob is a compiled ancestor pattern.
type glob struct {
	pattern  string
	re       *regexp.Regexp
	fileless bool
}

func (g *glob) match(path string) bool {
	return (!isFileless(path) || g.fileless) && g.re.MatchString(path)
}

func namesFileless(pattern string) bool {
	return strings.Contains(pattern, "/memfd:") || strings.Contains(pattern, " (deleted)")
}

// Empty reports whether the policy has no rules.
func (p *Policy) Empty() bool { return p == nil || len(p.rules) == 0 }

// Add adds one pattern. origin says where it came from, for messages.
func (p *Policy) Add(allow bool, pattern, origin string) error {
	return p.AddWithin(allow, pattern, "", origin)
}

// AddWithin adds a pattern that applies only below a process whose
// ancestry (see Ancestry) ran a program matching ancestor; an empty
// ancestor makes it an ordinary rule. "deny X within A" refuses X there
// and only there; "allow X within A" admits X there and only there.
func (p *Policy) AddWithin(allow bool, pattern, ancestor, origin string) error {
	re, err := compileGlob(pattern)
	if err != nil {
		return err
	}
	r := rule{allow: allow, pattern: pattern, origin: origin, re: re, fileless: namesFileless(pattern), within: -1}
	if ancestor != "" {
		are, err := compileGlob(ancestor)
		if err != nil {
			return fmt.Errorf("within: %w", err)
		}
		r.within = len(p.within)
		for i, g := range p.within {
			if g.pattern == ancestor {
				r.within = i
			}
		}
		if r.within == len(p.within) {
			p.within = append(p.within, glob{ancestor, are, namesFileless(ancestor)})
		}
	}
	p.rules = append(p.rules, r)
	if allow {
		p.hasAllow = true
	}
	return nil
}

// HasWithin reports whether some rule depends on the ancestry.
func (p *Policy) HasWithin() bool { return p != nil && len(p.within) > 0 }

// Ancestry is what matters to a policy's "within" rules about a process:
// for each ancestor pattern, the first program that matched it among
// those the process and its ancestors ran — every successful exec of each
// of them, up to the fork that led to the process. nil is an ancestry
// with no match (the job's first process, or one whose start exectrail
// did not see). An Ancestry is never changed once made, so a child
// shares its parent's: forks cost nothing, and each exec costs one match
// per ancestor pattern.
type Ancestry struct {
	matched []string // per Policy.within index; "" when none matched
}

// Extend returns the ancestry of a process after it exec'd executable
// (whose interpreter, for a script, is interp), given a, its ancestry
// before.
func (p *Policy) Extend(a *Ancestry, executable, interp string) *Ancestry {
	if !p.HasWithin() {
		return a
	}
	var out *Ancestry
	for i := range p.within {
		if a.Matched(i) != "" {
			continue
		}
		for _, path := range []string{executable, interp} {
			if path != "" && p.within[i].match(path) {
				if out == nil {
					out = &Ancestry{matched: make([]string, len(p.within))}
					if a != nil {
						copy(out.matched, a.matched)
					}
				}
				out.matched[i] = path
				break
			}
		}
	}
	if out == nil {
		return a
	}
	return out
}

// ExtendExec is a's ancestry once its process has run the program that
// r, a verified exec record, names: that program (and its interpreter)
// counts for it and for the children it forks from now on, and so does
// its name outside the job's mount namespace (outer_path) when it has
// one. Without "within" rules it is a.
func (p *Policy) ExtendExec(a *Ancestry, r *record.Record) *Ancestry {
	a = p.Extend(a, r.Executable, r.Interpreter)
	if r.OuterPath != "" {
		a = p.Extend(a, r.OuterPath, "")
	}
	return a
}

// Matched is the program that matched ancestor pattern i, or "".
func (a *Ancestry) Matched(i int) string {
	if a == nil || i >= len(a.matched) {
		return ""
	}
	return a.matched[i]
}

// PolicyError is an invalid pattern or policy line.
type PolicyError struct {
	Origin string // "--deny" or "FILE:LINE"
	Err    error
}

func (e *PolicyError) Error() string { return e.Origin + ": " + e.Err.Error() }
func (e *PolicyError) Unwrap() error { return e.Err }

// ReadPolicy adds the rules of a policy file: one rule a line, "allow
// PATTERN" or "deny PATTERN" (separated by spaces or tabs), optionally
// followed by "within ANCESTOR" (see AddWithin; the last " within " of
// the line separates them); "#" at the start of a line or after a blank
// starts a comment; blank lines are ignored. Errors name the line.
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
		anc := ""
		if m := withinWord.FindAllStringIndex(pat, -1); len(m) > 0 {
			last := m[len(m)-1]
			pat, anc = strings.TrimSpace(pat[:last[0]]), strings.TrimSpace(pat[last[1]:])
			if pat == "" || anc == "" {
				return &PolicyError{origin, fmt.Errorf("want \"%s PATTERN within ANCESTOR\", got %q", verb, line)}
			}
		} else if strings.HasPrefix(pat, "within ") || strings.HasPrefix(pat, "within\t") || pat == "within" ||
			strings.HasSuffix(pat, " within") || strings.HasSuffix(pat, "\twithin") {
			return &PolicyError{origin, fmt.Errorf("want \"%s PATTERN within ANCESTOR\", got %q", verb, line)}
		}
		if err := p.AddWithin(allow, pat, anc, origin); err != nil {
			return &PolicyError{origin, err}
		}
	}
	if err := sc.Err(); err != nil {
		return &PolicyError{name, err}
	}
	return nil
}

// withinWord separates a rule's pattern from its ancestor pattern.
var withinWord = regexp.MustCompile(`[ \t]+within[ \t]+`)

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
// script) is interp, by a process with no ancestry (see CheckIn).
func (p *Policy) Check(executable, interp string) Decision {
	return p.CheckFiles(File{Path: executable}, File{Path: interp})
}

// CheckIn decides on an exec of executable, whose interpreter (for a
// script) is interp, by a process whose ancestry is a; "within" rules
// apply only when a matched their ancestor pattern.
func (p *Policy) CheckIn(executable, interp string, a *Ancestry) Decision {
	return p.CheckFilesIn(File{Path: executable}, File{Path: interp}, a)
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
	return p.CheckFilesIn(executable, interp, nil)
}

// CheckFilesIn is CheckFiles for a process whose ancestry is a (see
// Ancestry): "within" rules apply only when a matched their ancestor
// pattern.
func (p *Policy) CheckFilesIn(executable, interp File, a *Ancestry) Decision {
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
		if r := p.match(f.Path, false, a); r != nil {
			return p.denied(f.what, f.Path, "", r, a)
		}
		if f.Outer != "" {
			if r := p.match(f.Outer, false, a); r != nil {
				return p.denied(f.what, f.Path, f.Outer, r, a)
			}
		}
		if !p.hasAllow {
			continue
		}
		if !f.Foreign && p.match(f.Path, true, a) != nil || f.Outer != "" && p.match(f.Outer, true, a) != nil {
			continue
		}
		if f.Foreign {
			return Decision{true, fmt.Sprintf("%s %s is another file in the job's mount namespace than at that path for exectrail, and allow patterns name exectrail's files", f.what, f.Path)}
		}
		return Decision{true, fmt.Sprintf("%s %s matches no allow pattern", f.what, f.Path)}
	}
	return Decision{}
}

// denied is the decision for a deny rule r matching a file shown as
// path (outer: its path outside the job's mount namespace, when that is
// what matched).
func (p *Policy) denied(what, path, outer string, r *rule, a *Ancestry) Decision {
	shown := path
	if outer != "" {
		shown = path + " is " + outer + " outside the job's mount namespace, which"
	}
	if r.within >= 0 {
		return Decision{true, fmt.Sprintf("%s %s matches deny %q within %q, and an ancestor ran %s (%s)",
			what, shown, r.pattern, p.within[r.within].pattern, a.Matched(r.within), r.origin)}
	}
	return Decision{true, fmt.Sprintf("%s %s matches deny %q (%s)", what, shown, r.pattern, r.origin)}
}

func (p *Policy) match(path string, allow bool, a *Ancestry) *rule {
	fileless := isFileless(path)
	for i := range p.rules {
		r := &p.rules[i]
		if r.allow != allow || (fileless && !r.fileless) {
			continue
		}
		if r.within >= 0 && a.Matched(r.within) == "" {
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
