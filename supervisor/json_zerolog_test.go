package supervisor

// The JSON encoder exectrail used before record.AppendJSON: zerolog's
// event builder, kept here only as the reference the new encoder is
// checked against (TestAppendJSONMatchesZerolog) and measured against
// (BenchmarkEncodeJSON).

import (
	"encoding/hex"
	"fmt"
	"unicode/utf8"

	"github.com/exectrail/exectrail/supervisor/record"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// zerologAppendJSON is AppendJSON as it was.
func zerologAppendJSON(dst []byte, r *record.Record) []byte {
	lb := lineBuffer{b: dst}
	zerologJSON(zerolog.New(&lb), r)
	return lb.b
}

func zerologJSON(l zerolog.Logger, r *record.Record) {
	e := l.Log().
		Uint64(record.FieldSeq, r.Seq).
		Str(record.FieldTime, r.Time.UTC().Format(record.TimeLayout)).
		Str(record.FieldEvent, r.Event).
		Int(record.FieldPID, r.PID)
	switch r.Event {
	case record.EventExec:
		if !r.PPIDUnknown {
			e = e.Int(record.FieldPPID, r.PPID)
		}
		if r.TID != 0 && r.TID != r.PID {
			e = e.Int(record.FieldTID, r.TID)
		}
		if !r.PathUnknown {
			e = e.Str(record.FieldPath, string(r.Path))
			if !utf8.Valid(r.Path) {
				e = e.Str(record.FieldPathHex, hex.EncodeToString(r.Path))
			}
		}
		if r.Executable != "" {
			e = zlStrField(e, record.FieldExecutable, record.FieldExecutableHex, r.Executable)
		}
		e = zlByteStrs(e, record.FieldArgv, record.FieldArgvHex, r.Argv)
		if r.ArgvTruncated {
			e = e.Bool(record.FieldArgvTruncated, true)
		}
		if r.Cwd != "" {
			e = zlStrField(e, record.FieldCwd, record.FieldCwdHex, r.Cwd)
		}
		if r.Interpreter != "" {
			e = zlStrField(e, record.FieldInterpreter, record.FieldInterpreterHex, r.Interpreter)
		}
		if len(r.InterpreterChain) > 0 {
			e = e.Strs(record.FieldInterpreterChain, r.InterpreterChain)
			valid := true
			for _, s := range r.InterpreterChain {
				valid = valid && utf8.ValidString(s)
			}
			if !valid {
				hx := make([]string, len(r.InterpreterChain))
				for i, s := range r.InterpreterChain {
					hx[i] = hex.EncodeToString([]byte(s))
				}
				e = e.Strs(record.FieldInterpreterChainHex, hx)
			}
		}
		if r.HasUID {
			e = e.Int(record.FieldUID, r.UID)
		}
		if r.CgroupID != 0 {
			e = e.Uint64(record.FieldCgroupID, r.CgroupID)
		}
		if r.Cgroup != "" {
			e = zlStrField(e, record.FieldCgroup, record.FieldCgroupHex, r.Cgroup)
		}
		if r.CgroupV1 != "" {
			e = zlStrField(e, record.FieldCgroupV1, record.FieldCgroupV1Hex, r.CgroupV1)
		}
		if r.CgroupV1Controllers != "" {
			e = zlStrField(e, record.FieldCgroupV1Controllers, record.FieldCgroupV1ControllersHex, r.CgroupV1Controllers)
		}
		// Container ids, runtimes and pod UIDs are ASCII by construction
		// (procfs.Container): no hex siblings.
		if r.ContainerID != "" {
			e = e.Str(record.FieldContainerID, r.ContainerID)
		}
		if r.ContainerRuntime != "" {
			e = e.Str(record.FieldContainerRuntime, r.ContainerRuntime)
		}
		if r.PodUID != "" {
			e = e.Str(record.FieldPodUID, r.PodUID)
		}
		if r.PidNS != 0 {
			e = e.Uint64(record.FieldPidNS, r.PidNS)
		}
		if r.MntNS != 0 {
			e = e.Uint64(record.FieldMntNS, r.MntNS)
		}
		if r.HasFile {
			e = e.Str(record.FieldDev, fmt.Sprintf("%d:%d", unix.Major(r.FileDev), unix.Minor(r.FileDev))).
				Uint64(record.FieldIno, r.FileIno).Uint64(record.FieldMntID, r.MntID)
		}
		if r.MountPoint != "" {
			e = zlStrField(e, record.FieldMountPoint, record.FieldMountPointHex, r.MountPoint)
		}
		if r.MountRoot != "" {
			e = zlStrField(e, record.FieldMountRoot, record.FieldMountRootHex, r.MountRoot)
		}
		if r.MountSource != "" {
			e = zlStrField(e, record.FieldMountSource, record.FieldMountSourceHex, r.MountSource)
		}
		if r.SameFile != nil {
			e = e.Bool(record.FieldSameFile, *r.SameFile)
		}
		if r.OuterPath != "" {
			e = zlStrField(e, record.FieldOuterPath, record.FieldOuterPathHex, r.OuterPath)
		}
		if r.InterpreterSameFile != nil {
			e = e.Bool(record.FieldInterpreterSameFile, *r.InterpreterSameFile)
		}
		if r.Syscall != "" && r.Syscall != "execve" {
			e = e.Str(record.FieldSyscall, r.Syscall)
		}
		if r.ABI != "" {
			e = e.Str(record.FieldABI, r.ABI)
		}
	case record.EventFork:
		if r.ChildPID != 0 {
			e = e.Int(record.FieldChildPID, r.ChildPID)
		}
		e = e.Str(record.FieldKind, r.Kind)
		if r.TID != 0 && r.TID != r.PID {
			e = e.Int(record.FieldTID, r.TID)
		}
		if r.ABI != "" {
			e = e.Str(record.FieldABI, r.ABI)
		}
	case record.EventExit:
		if r.ExitCode != nil {
			e = e.Int(record.FieldExitCode, *r.ExitCode)
		}
		if r.Signal != "" {
			e = e.Str(record.FieldSignal, r.Signal)
		}
		if r.DurationMS != nil {
			e = e.Float64(record.FieldDurationMS, *r.DurationMS)
		}
	case record.EventStart:
		e = zlStartJSON(e, r.Start) // trail.go
	case record.EventEnd:
		e = zlEndJSON(e, r)
	}
	e = zlRedactedFields(e, r) // writer_redact.go
	if r.Error != "" {
		e = e.Str(record.FieldError, r.Error)
	}
	if r.ErrorDetail != "" {
		e = e.Str(record.FieldErrorDetail, r.ErrorDetail)
	}
	if r.ReadError != "" {
		e = e.Str(record.FieldReadError, r.ReadError)
	}
	if r.Action != "" {
		e = e.Str(record.FieldAction, r.Action)
	}
	if r.Verified != nil {
		e = e.Bool(record.FieldVerified, *r.Verified)
	}
	e = zlTrailJSON(e, r) // trail.go: run_id, prev, chain
	e.Send()
}

func zlStrField(e *zerolog.Event, key, hexKey, v string) *zerolog.Event {
	e = e.Str(key, v)
	if !utf8.ValidString(v) {
		e = e.Str(hexKey, hex.EncodeToString([]byte(v)))
	}
	return e
}

func zlTrailJSON(e *zerolog.Event, r *record.Record) *zerolog.Event {
	if r.RunID != "" {
		e = e.Str(record.FieldRunID, r.RunID)
	}
	if r.HasPrev {
		e = e.Hex(record.FieldPrev, r.Prev[:])
	}
	if r.Event == record.EventEnd && r.End != nil {
		if r.End.Chain != "" {
			e = e.Str(record.FieldChain, r.End.Chain)
		}
		if r.End.KeyID != "" {
			e = e.Str(record.FieldKeyID, r.End.KeyID)
		}
	}
	return e
}

func zlStartJSON(e *zerolog.Event, s *record.StartInfo) *zerolog.Event {
	if s == nil {
		return e
	}
	e = e.Str(record.FieldVersion, s.Version)
	if s.Backend != "" {
		e = e.Str(record.FieldBackend, s.Backend)
	}
	e = zlByteStrs(e, record.FieldArgv, record.FieldArgvHex, s.Argv)
	if s.Cwd != "" {
		e = zlStrField(e, record.FieldCwd, record.FieldCwdHex, s.Cwd)
	}
	e = zlStrField(e, record.FieldHost, record.FieldHost+"_hex", s.Host)
	e = e.Str(record.FieldKernel, s.Kernel)
	e = e.Int(record.FieldUID, s.UID)
	if len(s.Policy) > 0 {
		e = e.Strs(record.FieldPolicy, s.Policy)
	}
	if s.Redaction != "" {
		e = e.Str(record.FieldRedaction, s.Redaction)
	}
	return e.Strs(record.FieldOptions, s.Options)
}

func zlEndJSON(e *zerolog.Event, r *record.Record) *zerolog.Event {
	if r.ExitCode != nil {
		e = e.Int(record.FieldExitCode, *r.ExitCode)
	}
	if r.Signal != "" {
		e = e.Str(record.FieldSignal, r.Signal)
	}
	if r.DurationMS != nil {
		e = e.Float64(record.FieldDurationMS, *r.DurationMS)
	}
	en := r.End
	if en == nil {
		return e
	}
	e = e.Int(record.FieldExitStatus, en.ExitStatus)
	d := zerolog.Dict()
	for _, c := range en.Counts {
		d = d.Uint64(c.Kind, c.N)
	}
	c := en.Calls
	return e.Dict(record.FieldCounts, d).
		Uint64(record.FieldDenied, en.Denied).
		Uint64(record.FieldCallsReceived, c.Received).
		Uint64(record.FieldCallsAnswered, c.Answered).
		Uint64(record.FieldCallsGone, c.Gone).
		Uint64(record.FieldCallsRecorded, c.Recorded).
		Uint64(record.FieldCallsUnrecorded, c.Unrecorded).
		Uint64(record.FieldCallsRefused, c.Refused).
		Uint64(record.FieldRecordsAtEvents, c.AtEvents).
		Uint64(record.FieldRecordsUnwritten, en.Unwritten).
		Func(func(e *zerolog.Event) {
			if en.OTLP != nil {
				e.Uint64(record.FieldOTLPExported, en.OTLP.Exported).Uint64(record.FieldOTLPNotExported, en.OTLP.NotExported)
			}
		})
}

// appendRedactedFields writes redacted, and the environment, of an exec
// record.
func zlRedactedFields(e *zerolog.Event, r *record.Record) *zerolog.Event {
	if r.Event == record.EventStart && len(r.Redacted) > 0 {
		return e.Strs(record.FieldRedacted, r.Redacted)
	}
	if r.Event != record.EventExec {
		return e
	}
	if r.HasEnv {
		if r.EnvBase != 0 {
			e = e.Uint64(record.FieldEnvBase, r.EnvBase)
			if len(r.EnvSet) > 0 {
				e = zlByteStrs(e, record.FieldEnvSet, record.FieldEnvSetHex, r.EnvSet)
			}
			if len(r.EnvUnset) > 0 {
				e = zlByteStrs(e, record.FieldEnvUnset, record.FieldEnvUnsetHex, r.EnvUnset)
			}
		} else {
			env := r.Env
			if env == nil {
				env = [][]byte{}
			}
			e = zlByteStrs(e, record.FieldEnv, record.FieldEnvHex, env)
		}
		if r.EnvTruncated {
			e = e.Bool(record.FieldEnvTruncated, true)
		}
	}
	if len(r.Redacted) > 0 {
		e = e.Strs(record.FieldRedacted, r.Redacted)
	}
	return e
}

// byteStrs writes a string array, and its hex sibling when an element is
// not UTF-8 (as argv and argv_hex).
func zlByteStrs(e *zerolog.Event, key, hexKey string, v [][]byte) *zerolog.Event {
	s := make([]string, len(v))
	valid := true
	for i, b := range v {
		s[i] = string(b)
		valid = valid && utf8.Valid(b)
	}
	e = e.Strs(key, s)
	if !valid {
		hx := make([]string, len(v))
		for i, b := range v {
			hx[i] = hex.EncodeToString(b)
		}
		e = e.Strs(hexKey, hx)
	}
	return e
}
