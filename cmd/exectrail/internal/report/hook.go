package report

// ExecEvent is one exec record as ReadExecs applies it, for readers that
// need more of each exec than the Log keeps (a diff of two logs, a policy
// learned from them). It is reused from one call to the next: copy what
// is kept.
type ExecEvent struct {
	// Process is the process making the call, linked into the tree as
	// far as the log has shown it. Its Exe is still the program it ran
	// before this record ("" when none): the callback comes first.
	Process *Process
	Time    int64 // Unix nanoseconds
	Line    int   // line number in the log

	Path        string // as passed
	Executable  string // resolved; "" when the path led to no file
	Interpreter string // a script's interpreter; "" otherwise
	Cwd         string
	Argv        []string // at most maxArgvBytes in all
	Error       string   // errno name; "" when it ran (or, notify, was not known to fail)
	Denied      bool     // refused by exectrail
}

func (b *builder) execEvent(p *Process, t int64, denied bool) {
	r := &b.raw
	e := &b.event
	argv, _ := joinArgv(r.argv)
	*e = ExecEvent{
		Process: p, Time: t, Line: b.lineNo,
		Path: b.str(r.path), Executable: b.str(r.executable), Interpreter: b.str(r.interpreter),
		Cwd: b.str(r.cwd), Error: b.str(r.errName), Denied: denied,
	}
	if argv != "" || len(r.argv) > 0 {
		e.Argv = splitArgv(argv)
	}
	b.onExec(e)
}

func splitArgv(s string) []string {
	p := &Process{argv: s}
	return p.Argv()
}
