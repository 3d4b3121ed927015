package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/exectrail/exectrail/supervisor/record"
)

// MaxLine is the longest line read; longer ones are counted and skipped.
// A record holds at most ARG_MAX of argv (a few MiB) written twice
// (argv_hex), so real records stay well below it.
const MaxLine = 64 << 20

// maxLine is MaxLine, lowered by tests.
var maxLine = MaxLine

// ErrNoRecords is returned by Read when the log holds no record at all.
var ErrNoRecords = errors.New("no records")

// Read reads a record log. It returns an error only when nothing in it is
// a record (wrapping ErrNoRecords, with the Log describing what was read
// instead); malformed lines, a truncated last line, seq gaps and a read
// error after some records are reported in the Log.
func Read(r io.Reader) (*Log, error) { return ReadExecs(r, nil) }

// ReadExecs is Read that also calls onExec (when not nil) for every exec
// record, in log order, as the record is applied (see ExecEvent).
func ReadExecs(r io.Reader, onExec func(*ExecEvent)) (*Log, error) {
	b := newBuilder()
	b.onExec = onExec
	b.log.ReadErr = EachLine(r, 1<<20, maxLine, func(line []byte, tooLong bool) {
		b.lineNo++
		if tooLong {
			b.log.TooLong++
			b.malformed(fmt.Sprintf("longer than %d bytes", maxLine))
		} else {
			b.line(line)
		}
	})
	l := b.finish()
	if l.Records == 0 {
		if l.ReadErr != nil {
			return l, fmt.Errorf("%w: %w", ErrNoRecords, l.ReadErr)
		}
		return l, ErrNoRecords
	}
	return l, nil
}

// EachLine calls f with every line of r, its newline (if any) still on,
// or with tooLong for a line longer than max bytes, whose bytes are not
// kept. The line is valid only during the call. It returns the error
// that ended the reading, nil at end of file. bufSize is the read
// buffer's size.
func EachLine(r io.Reader, bufSize, max int, f func(line []byte, tooLong bool)) error {
	br := bufio.NewReaderSize(r, bufSize)
	var long []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if !tooLong && len(long)+len(chunk) <= max {
				long = append(long, chunk...)
			} else {
				tooLong, long = true, long[:0]
			}
			continue
		}
		line := chunk
		if len(long) > 0 {
			long = append(long, chunk...)
			line = long
		}
		if len(line) > 0 || tooLong {
			f(line, tooLong)
		}
		long, tooLong = long[:0], false
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var seqPrefix = []byte(`{"seq":`)

type builder struct {
	log    *Log
	lineNo int
	raw    rawRecord
	cur    []byte           // the line being read (trail.go)
	live   map[int]*Process // pid -> its latest process
	intern map[string]string

	launcher    int // ppid of the first process: exectrail itself
	hasLauncher bool
	lastSeq     int64
	verified    bool // some exec record carries "verified": ptrace

	onExec func(*ExecEvent) // ReadExecs
	event  ExecEvent
}

func newBuilder() *builder {
	return &builder{
		log:    &Log{execCounts: map[string]int{}},
		live:   map[int]*Process{},
		intern: map[string]string{},
	}
}

func (b *builder) finish() *Log {
	l := b.log
	l.Lines = b.lineNo
	switch {
	case l.Run != nil && l.Run.Backend != "":
		l.Backend = l.Run.Backend // the start record says (trail.go)
	case b.verified:
		l.Backend = "ptrace"
	case l.Forks > 0 && l.ForksWithoutChild < l.Forks:
		l.Backend = "ptrace"
	case l.Execs > 0:
		l.Backend = "notify"
	}
	l.finish()
	return l
}

// line handles one line, its newline (if any) still on.
func (b *builder) line(line []byte) {
	complete := line[len(line)-1] == '\n'
	line = bytes.TrimRight(line, "\r\n")
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	b.cur = line
	err := decodeRecord(line, &b.raw)
	if err != nil {
		// Other output written to the same stream just before a record
		// (a job's own stderr without a newline) ends up on its line.
		if k := bytes.Index(line[1:], seqPrefix); k >= 0 {
			if decodeRecord(line[k+1:], &b.raw) == nil {
				err = nil
				b.log.Interleaved++
				if len(b.log.InterleavedLines) < maxLineList {
					b.log.InterleavedLines = append(b.log.InterleavedLines, b.lineNo)
				}
			}
		}
	}
	if err != nil {
		if !complete {
			b.log.TruncatedLast = true
			return
		}
		b.malformed(err.Error())
		return
	}
	if reason := b.record(); reason != "" {
		if !complete {
			b.log.TruncatedLast = true
			return
		}
		b.malformed(reason)
	}
}

func (b *builder) malformed(reason string) {
	b.log.Malformed++
	if len(b.log.MalformedLines) < maxLineList {
		b.log.MalformedLines = append(b.log.MalformedLines, LineNote{Line: b.lineNo, Reason: reason})
	}
}

// record applies the decoded record; it returns why the line is not a
// usable record, or "".
func (b *builder) record() string {
	r := &b.raw
	switch {
	case r.event == nil:
		return "not a record: no " + record.FieldEvent
	case !r.hasPID:
		return "not a record: no " + record.FieldPID
	case r.time == nil:
		return "not a record: no " + record.FieldTime
	}
	t, ok := parseTime(r.time)
	if !ok {
		return fmt.Sprintf("bad %s %q", record.FieldTime, r.time)
	}
	l := b.log
	if ev := string(r.event); ev == record.EventStart || ev == record.EventEnd {
		// The run's own records (trail.go): not the job's, so not in
		// the counts, the times or the tree.
		b.lastSeq = max(b.lastSeq, r.seq)
		b.trail()
		return ""
	}
	l.Records++
	if r.hasSeq {
		expect := b.lastSeq + 1
		switch {
		case r.seq > expect:
			l.SeqMissing += r.seq - expect
			if len(l.SeqGaps) < maxLineList {
				l.SeqGaps = append(l.SeqGaps, SeqRange{expect, r.seq - 1})
			}
		case r.seq < expect:
			l.SeqBackwards++
			if len(l.SeqBackLines) < maxLineList {
				l.SeqBackLines = append(l.SeqBackLines, b.lineNo)
			}
		}
		b.lastSeq = max(b.lastSeq, r.seq)
	}
	if l.First == 0 || t < l.First {
		l.First = t
	}
	if t > l.Last {
		l.Last = t
	}
	switch string(r.event) {
	case record.EventExec:
		l.Execs++
		b.exec(t)
	case record.EventFork:
		l.Forks++
		b.fork(t)
	case record.EventExit:
		l.Exits++
		b.exit(t)
	default:
		l.OtherEvents++
	}
	return ""
}

func (b *builder) newProcess(pid int, t int64) *Process {
	if old := b.live[pid]; old != nil && !old.Exited {
		old.PIDReused = true
	}
	p := &Process{PID: pid, Start: t, LastSeen: t, Line: b.lineNo, index: len(b.log.Processes)}
	b.log.Processes = append(b.log.Processes, p)
	b.live[pid] = p
	return p
}

func (b *builder) adopt(parent, child *Process) {
	child.Parent = parent
	parent.Children = append(parent.Children, child)
}

// parentFor finds the parent of a new process from its ppid: the live
// process with that pid, or a placeholder for a pid the log has not shown
// (a fork that did not exec, with the notify backend). The ppid of the
// job's first process is exectrail's own and gets no node.
func (b *builder) parentFor(ppid int, t int64) *Process {
	if ppid <= 0 {
		return nil
	}
	if !b.hasLauncher {
		b.launcher, b.hasLauncher = ppid, true
	}
	if ppid == b.launcher {
		return nil
	}
	if p := b.live[ppid]; p != nil && !p.Exited {
		return p
	}
	p := b.newProcess(ppid, t)
	p.Placeholder, p.NoStart = true, true
	return p
}

func (b *builder) str(s []byte) string {
	if len(s) == 0 {
		return ""
	}
	if v, ok := b.intern[string(s)]; ok {
		return v
	}
	v := text(s)
	if len(b.intern) < 1<<20 {
		b.intern[v] = v
	}
	return v
}

func (b *builder) exec(t int64) {
	r := &b.raw
	pid, ppid := int(r.pid), int(r.ppid)
	p := b.live[pid]
	if p == nil || p.Exited || b.otherProcess(p, ppid) {
		p = b.newProcess(pid, t)
		p.PPID = ppid
		if parent := b.parentFor(ppid, t); parent != nil {
			b.adopt(parent, p)
		}
	} else if p.Placeholder {
		// Known so far only as a parent: now it shows itself, and whose
		// child it is.
		p.Placeholder = false
		p.PPID = ppid
		if p.Parent == nil {
			if parent := b.parentFor(ppid, t); parent != nil && !isAncestor(p, parent) {
				b.adopt(parent, p)
			}
		}
	}
	if t > p.LastSeen {
		p.LastSeen = t
	}
	if r.hasVerified {
		b.verified = true
	}
	l := b.log
	l.ExecAttempts++
	denied := string(r.action) == record.ActionDeny
	if b.onExec != nil {
		b.execEvent(p, t, denied)
	}
	if denied || len(r.errName) > 0 {
		if denied {
			l.DeniedExecs++
			p.Denied++
		} else {
			l.FailedExecs++
			p.Failed++
			if e := string(r.errName); e == "ENOENT" || e == "ENOTDIR" {
				// Perhaps one step of a PATH search: settled by the
				// next successful exec.
				if name := baseName(r.path); string(name) != p.missName {
					p.missName, p.missN = string(name), 0
				}
				p.missN++
			}
		}
		if len(p.Attempts) < maxAttempts {
			p.Attempts = append(p.Attempts, Attempt{
				Time: t, Path: b.str(r.path), Executable: b.str(r.executable),
				Error: b.str(r.errName), Detail: text(r.errDetail), Denied: denied, Line: b.lineNo,
			})
		}
		return
	}
	if p.missN > 0 {
		if string(baseName(r.path)) == p.missName {
			b.pathMisses(p)
		}
		p.missName, p.missN = "", 0
	}
	exe := b.str(r.executable)
	if exe == "" {
		exe = b.str(r.path)
	}
	if p.Exe != "" {
		if len(p.Prev) == maxPrev {
			copy(p.Prev, p.Prev[1:])
			p.Prev = p.Prev[:maxPrev-1]
		}
		p.Prev = append(p.Prev, p.Exe)
	}
	p.Execs++
	p.Exe = exe
	l.execCounts[exe]++
	p.Cwd = b.str(r.cwd)
	p.argv, p.ArgvElided = joinArgv(r.argv)
	if r.argvTrunc {
		p.ArgvElided = true
	}
}

// pathMisses turns the process's last failed attempts at p.missName
// into PATH misses: execvp and shells try each directory of PATH in turn,
// and the ENOENT of every directory before the one that has the program
// is how a search goes, not a failure.
func (b *builder) pathMisses(p *Process) {
	n := p.missN
	p.Failed -= n
	p.PathMisses += n
	b.log.FailedExecs -= n
	b.log.PathMisses += n
	kept := p.Attempts[:0]
	for _, a := range p.Attempts {
		if !a.Denied && (a.Error == "ENOENT" || a.Error == "ENOTDIR") && string(baseName([]byte(a.Path))) == p.missName {
			continue
		}
		kept = append(kept, a)
	}
	p.Attempts = kept
}

func baseName(path []byte) []byte {
	if i := bytes.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// otherProcess reports whether an exec by pid with ppid must be a new
// process that reuses the pid of p, whose exit the log did not show.
// A different ppid means that, unless p was reparented: its parent has
// exited, or the new parent is exectrail (the job's subreaper).
func (b *builder) otherProcess(p *Process, ppid int) bool {
	if p.Placeholder || p.PPID == 0 || ppid == 0 || ppid == p.PPID {
		return false
	}
	if b.hasLauncher && ppid == b.launcher {
		return false
	}
	if p.Parent != nil && p.Parent.Exited {
		return false
	}
	return true
}

// isAncestor reports whether a is q or one of q's ancestors.
func isAncestor(a, q *Process) bool {
	for ; q != nil; q = q.Parent {
		if q == a {
			return true
		}
	}
	return false
}

// joinArgv joins argv with NULs (an argument cannot hold one), keeping at
// most maxArgvBytes.
func joinArgv(argv [][]byte) (string, bool) {
	n := 0
	for _, a := range argv {
		n += len(a) + 1
	}
	var sb strings.Builder
	sb.Grow(min(n, maxArgvBytes))
	for i, a := range argv {
		sep := min(i, 1)
		if bytes.IndexByte(a, 0) >= 0 {
			a = bytes.ReplaceAll(a, []byte{0}, nil)
		}
		if !utf8.Valid(a) {
			a = []byte(text(a))
		}
		// room counts the separator too: argv that filled the buffer at
		// the end of an argument leaves none (room -1 for the next).
		if room := maxArgvBytes - sb.Len() - sep; len(a) > room {
			if room <= 0 {
				return sb.String(), true
			}
			for room > 0 && !utf8.RuneStart(a[room]) {
				room--
			}
			if sep == 1 {
				sb.WriteByte(0)
			}
			sb.Write(a[:room])
			return sb.String(), true
		}
		if sep == 1 {
			sb.WriteByte(0)
		}
		sb.Write(a)
	}
	return sb.String(), false
}

func (b *builder) fork(t int64) {
	r := &b.raw
	pid := int(r.pid)
	parent := b.live[pid]
	if parent == nil || parent.Exited {
		parent = b.newProcess(pid, t)
		parent.Placeholder, parent.NoStart = true, true
	}
	parent.Forks++
	if t > parent.LastSeen {
		parent.LastSeen = t
	}
	if !r.hasChildPID || r.childPID <= 0 {
		b.log.ForksWithoutChild++
		return
	}
	c := b.newProcess(int(r.childPID), t)
	c.PPID = pid
	c.ForkOf = parent.Exe
	c.Kind = b.str(r.kind)
	b.adopt(parent, c)
}

func (b *builder) exit(t int64) {
	r := &b.raw
	pid := int(r.pid)
	p := b.live[pid]
	if p == nil || p.Exited {
		// An exit with nothing before it: an orphan that never exec'd
		// (notify), or a log that starts late.
		p = b.newProcess(pid, t)
		p.NoStart = true
	}
	p.Placeholder = false
	p.Exited = true
	p.End = t
	// Whatever comes next with this pid is another process.
	delete(b.live, pid)
	if t > p.LastSeen {
		p.LastSeen = t
	}
	switch {
	case len(r.signal) > 0:
		p.Signal = b.str(r.signal)
	case r.hasExitCode:
		p.ExitCode = int(r.exitCode)
	}
	if r.hasDuration {
		p.DurationMS, p.HasDuration = r.durationMS, true
	}
}

// parseTime parses the records' RFC 3339 times, fast for the layout the
// writer uses (UTC, nanoseconds).
func parseTime(b []byte) (int64, bool) {
	if len(b) == 30 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[19] == '.' && b[29] == 'Z' {
		num := func(s []byte) (int, bool) {
			v := 0
			for _, c := range s {
				if c < '0' || c > '9' {
					return 0, false
				}
				v = v*10 + int(c-'0')
			}
			return v, true
		}
		y, ok1 := num(b[0:4])
		mo, ok2 := num(b[5:7])
		d, ok3 := num(b[8:10])
		h, ok4 := num(b[11:13])
		mi, ok5 := num(b[14:16])
		s, ok6 := num(b[17:19])
		ns, ok7 := num(b[20:29])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && s < 60 {
			return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC).UnixNano(), true
		}
	}
	tm, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return 0, false
	}
	return tm.UnixNano(), true
}
