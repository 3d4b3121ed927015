package record

import (
	"crypto/rand"
	"encoding/hex"
	"path"
	"strconv"
	"time"
)

// ECSVersion is the Elastic Common Schema version the ecs format follows.
const ECSVersion = "8.11.0"

// ECSHost is what an ECS document says about the host: its name, kernel
// release and machine architecture (uname).
type ECSHost struct {
	Name, Kernel, Arch string
}

// ECS turns records into Elastic Common Schema documents, one JSON line
// each, with the record's own JSON object (AppendJSON) under "exectrail".
// It keeps, per pid, the process instance it currently knows by that pid,
// so that process.entity_id and process.parent.entity_id stay the same for
// one process throughout the run and differ for a later process that
// reuses the pid. A new instance starts at a fork record that names the
// child (ptrace) and ends at the pid's exit record; a pid first seen
// otherwise (notify: forks do not name the child) gets an instance on
// first sight. It is not safe for concurrent use: records go through it
// in seq order.
type ECS struct {
	run     string // random per run: entity ids are unique across runs
	serial  uint64
	procs   map[int]ecsProc
	host    ECSHost
	native  []byte
	ev      []byte
	proc    []byte
	cmdline []byte
}

type ecsProc struct {
	serial uint64
	start  time.Time // the fork that made it, when seen
	exe    string    // the program its last successful exec ran
}

// NewECS returns an encoder for one run on host.
func NewECS(host ECSHost) *ECS {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &ECS{run: hex.EncodeToString(b[:]), procs: make(map[int]ecsProc), host: host}
}

// entity returns the process instance now known by pid, starting one
// when there is none.
func (e *ECS) entity(pid int) ecsProc {
	p, ok := e.procs[pid]
	if !ok {
		e.serial++
		p = ecsProc{serial: e.serial}
		e.procs[pid] = p
	}
	return p
}

func (e *ECS) appendEntityID(b []byte, pid int, p ecsProc) []byte {
	b = append(b, "exectrail:"...)
	b = append(b, e.run...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, ':')
	return strconv.AppendUint(b, p.serial, 10)
}

func (e *ECS) entityField(b []byte, key string, pid int, p ecsProc) []byte {
	b = append(appendKey(b, key), '"')
	return append(e.appendEntityID(b, pid, p), '"')
}

func timeField(b []byte, key string, t time.Time) []byte {
	return append(AppendTime(append(appendKey(b, key), '"'), t), '"')
}

// Append appends r's ECS document, with its newline, to dst.
func (e *ECS) Append(dst []byte, r *Record) []byte {
	e.native = AppendJSON(e.native[:0], r)
	native := e.native
	if n := len(native); n > 0 && native[n-1] == '\n' {
		native = native[:n-1]
	}

	ev := append(e.ev[:0], '{')
	ev = strField(ev, "kind", "event")
	ev = listField(ev, "category", []string{"process"})
	ev = uintField(ev, "sequence", r.Seq)
	proc := append(e.proc[:0], '{')
	proc = intField(proc, "pid", r.PID)
	var ppid int
	var hasParent bool
	switch r.Event {
	case EventExec:
		ev = strField(ev, "action", EventExec)
		switch {
		case r.Action == ActionDeny:
			ev = listField(ev, "type", []string{"start", "denied"})
			ev = strField(ev, "outcome", "failure")
		case r.Error != "":
			ev = listField(ev, "type", []string{"start"})
			ev = strField(ev, "outcome", "failure")
		default:
			ev = listField(ev, "type", []string{"start"})
			ev = strField(ev, "outcome", "success")
		}
		if r.Error != "" {
			ev = strField(ev, "reason", r.Error)
		}
		p := e.entity(r.PID)
		proc = e.entityField(proc, "entity_id", r.PID, p)
		if !p.start.IsZero() {
			proc = timeField(proc, "start", p.start)
		}
		if r.Executable != "" {
			proc = strField(proc, "executable", r.Executable)
			proc = strField(proc, "name", path.Base(r.Executable))
		}
		if r.Executable != "" && r.Error == "" && r.Action == "" {
			p.exe = r.Executable
			e.procs[r.PID] = p
		}
		proc = append(appendKey(proc, "args"), '[')
		e.cmdline = e.cmdline[:0]
		for i, a := range r.Argv {
			if i > 0 {
				proc = append(proc, ',')
				e.cmdline = append(e.cmdline, ' ')
			}
			proc = AppendJSONString(proc, a)
			e.cmdline = AppendWord(e.cmdline, a)
		}
		proc = append(proc, ']')
		// command_line shows word boundaries as the text format does:
		// a word with a space or a quote in it is quoted.
		proc = intField(proc, "args_count", len(r.Argv))
		proc = AppendJSONString(appendKey(proc, "command_line"), e.cmdline)
		if r.Cwd != "" {
			proc = strField(proc, "working_directory", r.Cwd)
		}
		if r.TID != 0 && r.TID != r.PID {
			proc = append(appendKey(proc, "thread"), '{')
			proc = append(intField(proc, "id", r.TID), '}')
		}
		ppid, hasParent = r.PPID, !r.PPIDUnknown
	case EventFork:
		ev = strField(ev, "action", EventFork)
		ev = listField(ev, "type", []string{"info"})
		if r.Error != "" {
			ev = strField(ev, "outcome", "failure")
			ev = strField(ev, "reason", r.Error)
		} else {
			ev = strField(ev, "outcome", "success")
		}
		p := e.entity(r.PID)
		proc = e.entityField(proc, "entity_id", r.PID, p)
		if r.TID != 0 && r.TID != r.PID {
			proc = append(appendKey(proc, "thread"), '{')
			proc = append(intField(proc, "id", r.TID), '}')
		}
		if r.ChildPID != 0 {
			// The child is a new process from here on, whatever had its
			// pid before.
			e.serial++
			e.procs[r.ChildPID] = ecsProc{serial: e.serial, start: r.Time}
		}
	case EventExit:
		ev = strField(ev, "action", EventExit)
		ev = listField(ev, "type", []string{"end"})
		switch {
		case r.ExitCode != nil && *r.ExitCode == 0:
			ev = strField(ev, "outcome", "success")
		case r.ExitCode != nil || r.Signal != "":
			ev = strField(ev, "outcome", "failure")
		default:
			ev = strField(ev, "outcome", "unknown")
		}
		p := e.entity(r.PID)
		delete(e.procs, r.PID)
		proc = e.entityField(proc, "entity_id", r.PID, p)
		proc = timeField(proc, "end", r.Time)
		start := p.start
		if r.DurationMS != nil {
			ev = strconv.AppendInt(appendKey(ev, "duration"), int64(*r.DurationMS*1e6), 10)
			if start.IsZero() {
				start = r.Time.Add(-time.Duration(*r.DurationMS * 1e6))
			}
		}
		if !start.IsZero() {
			proc = timeField(proc, "start", start)
		}
		if p.exe != "" {
			proc = strField(proc, "executable", p.exe)
			proc = strField(proc, "name", path.Base(p.exe))
		}
		if r.ExitCode != nil {
			proc = intField(proc, "exit_code", *r.ExitCode)
		}
	default:
		// Kinds of record without a process of their own (a run's start
		// and end, say): information about the run.
		ev = strField(ev, "action", r.Event)
		ev = listField(ev, "type", []string{"info"})
	}
	if hasParent {
		p := e.entity(ppid)
		proc = append(appendKey(proc, "parent"), '{')
		proc = intField(proc, "pid", ppid)
		proc = append(e.entityField(proc, "entity_id", ppid, p), '}')
	}
	e.ev, e.proc = append(ev, '}'), append(proc, '}')

	b := append(dst, '{')
	b = timeField(b, "@timestamp", r.Time)
	b = append(appendKey(b, "ecs"), '{')
	b = append(strField(b, "version", ECSVersion), '}')
	b = append(appendKey(b, "event"), e.ev...)
	b = append(appendKey(b, "process"), e.proc...)
	if r.HasUID {
		b = append(appendKey(b, "user"), '{')
		var uid [20]byte
		b = append(AppendJSONString(appendKey(b, "id"), strconv.AppendInt(uid[:0], int64(r.UID), 10)), '}')
	}
	if r.ContainerID != "" {
		b = append(appendKey(b, "container"), '{')
		b = strField(b, "id", r.ContainerID)
		if r.ContainerRuntime != "" {
			b = strField(b, "runtime", r.ContainerRuntime)
		}
		b = append(b, '}')
	}
	if r.PodUID != "" {
		b = append(appendKey(b, "orchestrator"), '{')
		b = strField(b, "type", "kubernetes")
		b = append(appendKey(b, "resource"), '{')
		b = strField(b, "type", "pod")
		b = append(strField(b, "id", r.PodUID), '}', '}')
	}
	b = append(appendKey(b, "host"), '{')
	b = strField(b, "architecture", e.host.Arch)
	b = append(appendKey(b, "os"), '{')
	b = strField(b, "type", "linux")
	b = append(strField(b, "kernel", e.host.Kernel), '}')
	if e.host.Name != "" {
		b = strField(b, "name", e.host.Name)
		b = strField(b, "hostname", e.host.Name)
	}
	b = append(b, '}')
	b = append(appendKey(b, "exectrail"), native...)
	return append(b, '}', '\n')
}
