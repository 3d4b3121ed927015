package supervisor

// The ECS encoder exectrail used before record.ECS: zerolog's event
// builder, kept only as the reference record.ECS is checked against
// (TestECSMatchesZerolog).

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path"
	"runtime"
	"strconv"
	"time"

	"github.com/exectrail/exectrail/supervisor/record"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// zerologECS turns records into ECS documents. It keeps, per pid, the
// process instance exectrail currently knows by that pid, so that
// process.entity_id and process.parent.entity_id stay the same for one
// process throughout the run and differ for a later process that reuses
// the pid. A new instance starts at a fork record that names the child
// (ptrace) and ends at the pid's exit record; a pid first seen otherwise
// (notify: forks do not name the child) gets an instance on first sight.
// It is used under the Writer's lock.
type zerologECS struct {
	run     string // random per run: entity ids are unique across runs
	serial  uint64
	procs   map[int]zlECSProc
	host    zlECSHost
	native  lineBuffer
	cmdline []byte
	json    zerolog.Logger
}

type zlECSProc struct {
	serial uint64
	start  time.Time // the fork that made it, when seen
	exe    string    // the program its last successful exec ran
}

type zlECSHost struct {
	name, kernel, arch string
}

func newZerologECS(out *lineBuffer) *zerologECS {
	var b [8]byte
	_, _ = rand.Read(b[:])
	e := &zerologECS{run: hex.EncodeToString(b[:]), procs: make(map[int]zlECSProc)}
	e.host.name, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		e.host.kernel = unix.ByteSliceToString(u.Release[:])
		e.host.arch = unix.ByteSliceToString(u.Machine[:])
	} else {
		e.host.arch = runtime.GOARCH
	}
	e.json = zerolog.New(out)
	return e
}

// entity returns the entity id of the process now known by pid,
// starting an instance for it when there is none.
func (e *zerologECS) entity(pid int) (string, zlECSProc) {
	p, ok := e.procs[pid]
	if !ok {
		e.serial++
		p = zlECSProc{serial: e.serial}
		e.procs[pid] = p
	}
	return e.entityID(pid, p), p
}

func (e *zerologECS) entityID(pid int, p zlECSProc) string {
	return "exectrail:" + e.run + ":" + strconv.Itoa(pid) + ":" + strconv.FormatUint(p.serial, 10)
}

// encode appends r's ECS document to the encoder's output buffer.
func (e *zerologECS) encode(r *record.Record) {
	e.native.b = record.AppendJSON(e.native.b[:0], r)
	native := e.native.b
	if n := len(native); n > 0 && native[n-1] == '\n' {
		native = native[:n-1]
	}

	ev := zerolog.Dict().Str("kind", "event").
		Strs("category", []string{"process"}).
		Uint64("sequence", r.Seq)
	proc := zerolog.Dict().Int("pid", r.PID)
	var ppid int
	var hasParent bool
	switch r.Event {
	case record.EventExec:
		ev = ev.Str("action", record.EventExec)
		switch {
		case r.Action == record.ActionDeny:
			ev = ev.Strs("type", []string{"start", "denied"}).Str("outcome", "failure")
		case r.Error != "":
			ev = ev.Strs("type", []string{"start"}).Str("outcome", "failure")
		default:
			ev = ev.Strs("type", []string{"start"}).Str("outcome", "success")
		}
		if r.Error != "" {
			ev = ev.Str("reason", r.Error)
		}
		id, p := e.entity(r.PID)
		proc = proc.Str("entity_id", id)
		if !p.start.IsZero() {
			proc = proc.Str("start", p.start.UTC().Format(record.TimeLayout))
		}
		if r.Executable != "" {
			proc = proc.Str("executable", r.Executable).Str("name", path.Base(r.Executable))
		}
		if r.Executable != "" && r.Error == "" && r.Action == "" {
			p.exe = r.Executable
			e.procs[r.PID] = p
		}
		args := make([]string, len(r.Argv))
		e.cmdline = e.cmdline[:0]
		for i, a := range r.Argv {
			args[i] = string(a)
			if i > 0 {
				e.cmdline = append(e.cmdline, ' ')
			}
			e.cmdline = record.AppendWord(e.cmdline, a)
		}
		// command_line shows word boundaries as the text format does:
		// a word with a space or a quote in it is quoted.
		proc = proc.Strs("args", args).Int("args_count", len(args)).
			Str("command_line", string(e.cmdline))
		if r.Cwd != "" {
			proc = proc.Str("working_directory", r.Cwd)
		}
		if r.TID != 0 && r.TID != r.PID {
			proc = proc.Dict("thread", zerolog.Dict().Int("id", r.TID))
		}
		ppid, hasParent = r.PPID, !r.PPIDUnknown
	case record.EventFork:
		ev = ev.Str("action", record.EventFork).Strs("type", []string{"info"})
		if r.Error != "" {
			ev = ev.Str("outcome", "failure").Str("reason", r.Error)
		} else {
			ev = ev.Str("outcome", "success")
		}
		id, _ := e.entity(r.PID)
		proc = proc.Str("entity_id", id)
		if r.TID != 0 && r.TID != r.PID {
			proc = proc.Dict("thread", zerolog.Dict().Int("id", r.TID))
		}
		if r.ChildPID != 0 {
			// The child is a new process from here on, whatever had its
			// pid before.
			e.serial++
			e.procs[r.ChildPID] = zlECSProc{serial: e.serial, start: r.Time}
		}
	case record.EventExit:
		ev = ev.Str("action", record.EventExit).Strs("type", []string{"end"})
		switch {
		case r.ExitCode != nil && *r.ExitCode == 0:
			ev = ev.Str("outcome", "success")
		case r.ExitCode != nil || r.Signal != "":
			ev = ev.Str("outcome", "failure")
		default:
			ev = ev.Str("outcome", "unknown")
		}
		id, p := e.entity(r.PID)
		delete(e.procs, r.PID)
		proc = proc.Str("entity_id", id).Str("end", r.Time.UTC().Format(record.TimeLayout))
		start := p.start
		if r.DurationMS != nil {
			ev = ev.Int64("duration", int64(*r.DurationMS*1e6))
			if start.IsZero() {
				start = r.Time.Add(-time.Duration(*r.DurationMS * 1e6))
			}
		}
		if !start.IsZero() {
			proc = proc.Str("start", start.UTC().Format(record.TimeLayout))
		}
		if p.exe != "" {
			proc = proc.Str("executable", p.exe).Str("name", path.Base(p.exe))
		}
		if r.ExitCode != nil {
			proc = proc.Int("exit_code", *r.ExitCode)
		}
	default:
		// Kinds of record without a process of their own (a run's start
		// and end, say): information about the run.
		ev = ev.Str("action", r.Event).Strs("type", []string{"info"})
	}
	if hasParent {
		pid, _ := e.entity(ppid)
		proc = proc.Dict("parent", zerolog.Dict().Int("pid", ppid).Str("entity_id", pid))
	}

	d := e.json.Log().Str("@timestamp", r.Time.UTC().Format(record.TimeLayout)).
		Dict("ecs", zerolog.Dict().Str("version", record.ECSVersion)).
		Dict("event", ev).
		Dict("process", proc)
	if r.HasUID {
		d = d.Dict("user", zerolog.Dict().Str("id", strconv.Itoa(r.UID)))
	}
	if r.ContainerID != "" {
		c := zerolog.Dict().Str("id", r.ContainerID)
		if r.ContainerRuntime != "" {
			c = c.Str("runtime", r.ContainerRuntime)
		}
		d = d.Dict("container", c)
	}
	if r.PodUID != "" {
		d = d.Dict("orchestrator", zerolog.Dict().Str("type", "kubernetes").
			Dict("resource", zerolog.Dict().Str("type", "pod").Str("id", r.PodUID)))
	}
	h := zerolog.Dict().Str("architecture", e.host.arch).
		Dict("os", zerolog.Dict().Str("type", "linux").Str("kernel", e.host.kernel))
	if e.host.name != "" {
		h = h.Str("name", e.host.name).Str("hostname", e.host.name)
	}
	d.Dict("host", h).
		RawJSON("exectrail", native).
		Send()
}
