package supervisor

import (
	"bytes"
	"strconv"

	"github.com/exectrail/exectrail/supervisor/record"
	"github.com/exectrail/exectrail/supervisor/redact"
)

// redactState is the Writer's part of redaction and of --env.
type redactState struct {
	rd *redact.Redactor // nil: --no-redact
	// envs holds, per process, the environment of its last exec record
	// (as written, masked) and that record's seq: the base the next
	// record of the process or of its children is diffed against.
	envs map[int]envSnap
}

type envSnap struct {
	seq uint64
	env *envSet
}

// envSet is an environment by name; nil when it cannot be diffed (an
// entry without "=", a name twice).
type envSet struct {
	entries [][]byte
	byName  map[string][]byte
}

// envSnapMax bounds the environments kept: with the notify backend most
// processes get no exit record to forget theirs. Past it the map starts
// over, and the next records carry whole environments.
const envSnapMax = 4096

// SetRedactor makes the Writer mask secrets with rd in every record it
// writes, in every format, and in what its observers see (the cast's
// markers, the --report copy): path, executable, interpreter, cwd, the
// mount fields, outer_path, each argv and env element, error_detail and
// read_error. The record passed to
// Write is not changed; the masked copy is what is encoded, so anything
// computed over the line as written (a hash chain) covers the masked
// line. nil (the default) writes everything as it is. Call it before the
// first Write.
func (w *Writer) SetRedactor(rd *redact.Redactor) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.red.rd = rd
}

// RedactionMode is "on" when secrets are masked and "off" (--no-redact):
// what a start record should say.
func (w *Writer) RedactionMode() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.red.rd == nil {
		return "off"
	}
	return "on"
}

// prepare returns what is to be written for r: r itself, or a copy with
// secrets masked and the environment as a diff. w.mu is held.
func (w *Writer) prepare(r *record.Record) *record.Record {
	if r.Event == record.EventExit && w.red.envs != nil {
		delete(w.red.envs, r.PID)
	}
	rd := w.red.rd
	if r.Event == record.EventStart && r.Start != nil && rd != nil {
		return prepareStart(rd, r)
	}
	if r.Event != record.EventExec || (rd == nil && !r.HasEnv) {
		return r
	}
	c := *r // on the stack unless something changes
	changed := false
	if rd != nil {
		var red []string
		if !c.PathUnknown {
			if p, ok := rd.Bytes(c.Path); ok {
				c.Path, red = p, append(red, record.FieldPath)
			}
		}
		str := func(v *string, field string) {
			if *v == "" {
				return
			}
			if m, ok := rd.String(*v); ok {
				*v, red = m, append(red, field)
			}
		}
		str(&c.Executable, record.FieldExecutable)
		if argv, idx := rd.Argv(c.Argv); idx != nil {
			c.Argv = argv
			for _, i := range idx {
				red = append(red, record.FieldArgv+"["+strconv.Itoa(i)+"]")
			}
		}
		str(&c.Cwd, record.FieldCwd)
		str(&c.Interpreter, record.FieldInterpreter)
		str(&c.MountPoint, record.FieldMountPoint)
		str(&c.MountRoot, record.FieldMountRoot)
		str(&c.MountSource, record.FieldMountSource)
		str(&c.OuterPath, record.FieldOuterPath)
		if c.HasEnv {
			var env [][]byte
			for i, e := range c.Env {
				m, ok := rd.EnvEntry(e)
				if !ok {
					continue
				}
				if env == nil {
					env = append([][]byte(nil), c.Env...)
				}
				env[i] = m
				red = append(red, record.FieldEnv+"["+strconv.Itoa(i)+"]")
			}
			if env != nil {
				c.Env = env
			}
		}
		str(&c.ErrorDetail, record.FieldErrorDetail)
		str(&c.ReadError, record.FieldReadError)
		c.Redacted = red
		changed = red != nil
	}
	if c.HasEnv {
		w.diffEnv(&c)
		changed = true
	}
	if !changed {
		return r
	}
	p := new(record.Record)
	*p = c
	return p
}

// prepareStart masks the start record's argv, cwd and options.
func prepareStart(rd *redact.Redactor, r *record.Record) *record.Record {
	s := *r.Start
	var red []string
	if argv, idx := rd.Argv(s.Argv); idx != nil {
		s.Argv = argv
		for _, i := range idx {
			red = append(red, record.FieldArgv+"["+strconv.Itoa(i)+"]")
		}
	}
	if m, ok := rd.String(s.Cwd); ok {
		s.Cwd, red = m, append(red, record.FieldCwd)
	}
	var opts []string
	for i, o := range s.Options {
		m, ok := rd.String(o)
		if !ok {
			continue
		}
		if opts == nil {
			opts = append([]string(nil), s.Options...)
		}
		opts[i], red = m, append(red, record.FieldOptions+"["+strconv.Itoa(i)+"]")
	}
	if opts != nil {
		s.Options = opts
	}
	if red == nil {
		return r
	}
	c := *r
	c.Start, c.Redacted = &s, red
	return &c
}

// diffEnv sets c.EnvBase, EnvSet and EnvUnset when a diff against the
// environment of the process's last exec record, or else its parent's,
// is smaller than the whole environment, and remembers c's.
func (w *Writer) diffEnv(c *record.Record) {
	if w.red.envs == nil || len(w.red.envs) >= envSnapMax {
		w.red.envs = make(map[int]envSnap)
	}
	base, ok := w.red.envs[c.PID]
	if !ok {
		base, ok = w.red.envs[c.PPID]
	}
	var cur *envSet
	if ok && base.env != nil && equalEnv(base.env.entries, c.Env) {
		cur = base.env // the usual case: shared, not copied
	} else {
		cur = newEnvSet(c.Env)
	}
	if cur != nil && c.EnvTruncated {
		cur = nil // an incomplete environment is no base
	}
	w.red.envs[c.PID] = envSnap{seq: c.Seq, env: cur}
	if !ok || base.env == nil || cur == nil {
		return
	}
	whole := 0
	for _, e := range c.Env {
		whole += len(e) + 3
	}
	var set, unset [][]byte
	size := len(`,"env_base":,"env_set":[],"env_unset":[]`) + 10
	for _, e := range cur.entries {
		name := envName(e)
		if old, had := base.env.byName[string(name)]; !had || !bytes.Equal(old, e) {
			set = append(set, e)
			size += len(e) + 3
		}
	}
	for _, e := range base.env.entries {
		name := envName(e)
		if _, has := cur.byName[string(name)]; !has {
			unset = append(unset, name)
			size += len(name) + 3
		}
	}
	if size >= whole {
		return
	}
	c.EnvBase, c.EnvSet, c.EnvUnset = base.seq, set, unset
}

func envName(e []byte) []byte {
	name, _, _ := bytes.Cut(e, []byte("="))
	return name
}

func newEnvSet(env [][]byte) *envSet {
	s := &envSet{entries: env, byName: make(map[string][]byte, len(env))}
	for _, e := range env {
		name, _, ok := bytes.Cut(e, []byte("="))
		if !ok {
			return nil
		}
		if _, dup := s.byName[string(name)]; dup {
			return nil
		}
		s.byName[string(name)] = e
	}
	return s
}

func equalEnv(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
