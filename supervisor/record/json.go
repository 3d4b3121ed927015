package record

import (
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf8"
)

// TimeLayout is how the time field is written: RFC 3339 with
// nanoseconds, always nine digits, in UTC.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// AppendJSON appends r's JSON line, with its newline, to dst: one object,
// with only the fields that apply to r.Event, in a fixed order. Strings
// that are not valid UTF-8 get a hex sibling (path and path_hex, argv and
// argv_hex, …) that keeps their bytes; the string itself then shows
// U+FFFD for each invalid byte. It allocates nothing when dst has room.
func AppendJSON(dst []byte, r *Record) []byte {
	b := append(dst, '{')
	b = uintField(b, FieldSeq, r.Seq)
	b = appendKey(b, FieldTime)
	b = append(AppendTime(append(b, '"'), r.Time), '"')
	b = strField(b, FieldEvent, r.Event)
	b = intField(b, FieldPID, r.PID)
	switch r.Event {
	case EventExec:
		if !r.PPIDUnknown {
			b = intField(b, FieldPPID, r.PPID)
		}
		if r.TID != 0 && r.TID != r.PID {
			b = intField(b, FieldTID, r.TID)
		}
		if !r.PathUnknown {
			b = bytesHexField(b, FieldPath, FieldPathHex, r.Path)
		}
		b = optHexField(b, FieldExecutable, FieldExecutableHex, r.Executable)
		b = listHexField(b, FieldArgv, FieldArgvHex, r.Argv)
		if r.ArgvTruncated {
			b = boolField(b, FieldArgvTruncated, true)
		}
		b = optHexField(b, FieldCwd, FieldCwdHex, r.Cwd)
		b = optHexField(b, FieldInterpreter, FieldInterpreterHex, r.Interpreter)
		if len(r.InterpreterChain) > 0 {
			b = listHexField(b, FieldInterpreterChain, FieldInterpreterChainHex, r.InterpreterChain)
		}
		if r.HasUID {
			b = intField(b, FieldUID, r.UID)
		}
		if r.CgroupID != 0 {
			b = uintField(b, FieldCgroupID, r.CgroupID)
		}
		b = optHexField(b, FieldCgroup, FieldCgroupHex, r.Cgroup)
		b = optHexField(b, FieldCgroupV1, FieldCgroupV1Hex, r.CgroupV1)
		b = optHexField(b, FieldCgroupV1Controllers, FieldCgroupV1ControllersHex, r.CgroupV1Controllers)
		// Container ids, runtimes and pod UIDs are ASCII by construction
		// (procfs.Container): no hex siblings.
		b = optStrField(b, FieldContainerID, r.ContainerID)
		b = optStrField(b, FieldContainerRuntime, r.ContainerRuntime)
		b = optStrField(b, FieldPodUID, r.PodUID)
		if r.PidNS != 0 {
			b = uintField(b, FieldPidNS, r.PidNS)
		}
		if r.MntNS != 0 {
			b = uintField(b, FieldMntNS, r.MntNS)
		}
		if r.HasFile {
			b = appendKey(b, FieldDev)
			b = append(b, '"')
			b = AppendDev(b, r.FileDev)
			b = append(b, '"')
			b = uintField(b, FieldIno, r.FileIno)
			b = uintField(b, FieldMntID, r.MntID)
		}
		b = optHexField(b, FieldMountPoint, FieldMountPointHex, r.MountPoint)
		b = optHexField(b, FieldMountRoot, FieldMountRootHex, r.MountRoot)
		b = optHexField(b, FieldMountSource, FieldMountSourceHex, r.MountSource)
		if r.SameFile != nil {
			b = boolField(b, FieldSameFile, *r.SameFile)
		}
		b = optHexField(b, FieldOuterPath, FieldOuterPathHex, r.OuterPath)
		if r.InterpreterSameFile != nil {
			b = boolField(b, FieldInterpreterSameFile, *r.InterpreterSameFile)
		}
		if r.Syscall != "" && r.Syscall != "execve" {
			b = strField(b, FieldSyscall, r.Syscall)
		}
		b = optStrField(b, FieldABI, r.ABI)
	case EventFork:
		if r.ChildPID != 0 {
			b = intField(b, FieldChildPID, r.ChildPID)
		}
		b = strField(b, FieldKind, r.Kind)
		if r.TID != 0 && r.TID != r.PID {
			b = intField(b, FieldTID, r.TID)
		}
		b = optStrField(b, FieldABI, r.ABI)
	case EventExit:
		b = appendEndOfProcess(b, r)
	case EventStart:
		b = appendStartJSON(b, r.Start)
	case EventEnd:
		b = appendEndJSON(b, r)
	}
	b = appendEnvJSON(b, r)
	b = optStrField(b, FieldError, r.Error)
	b = optStrField(b, FieldErrorDetail, r.ErrorDetail)
	b = optStrField(b, FieldReadError, r.ReadError)
	b = optStrField(b, FieldAction, r.Action)
	if r.Verified != nil {
		b = boolField(b, FieldVerified, *r.Verified)
	}
	b = optStrField(b, FieldRunID, r.RunID)
	if r.HasPrev {
		b = appendKey(b, FieldPrev)
		b = append(b, '"')
		b = hex.AppendEncode(b, r.Prev[:])
		b = append(b, '"')
	}
	if r.Event == EventEnd && r.End != nil {
		if r.End.Chain != "" {
			b = strField(b, FieldChain, r.End.Chain)
		}
		if r.End.KeyID != "" {
			b = strField(b, FieldKeyID, r.End.KeyID)
		}
	}
	return append(b, '}', '\n')
}

// appendEndOfProcess writes exit_code or signal, and duration_ms, of an
// exit or end record.
func appendEndOfProcess(b []byte, r *Record) []byte {
	if r.ExitCode != nil {
		b = intField(b, FieldExitCode, *r.ExitCode)
	}
	b = optStrField(b, FieldSignal, r.Signal)
	if r.DurationMS != nil {
		b = appendKey(b, FieldDurationMS)
		b = AppendJSONFloat(b, *r.DurationMS)
	}
	return b
}

func appendStartJSON(b []byte, s *StartInfo) []byte {
	if s == nil {
		return b
	}
	b = strField(b, FieldVersion, s.Version)
	if s.Backend != "" {
		b = strField(b, FieldBackend, s.Backend)
	}
	b = listHexField(b, FieldArgv, FieldArgvHex, s.Argv)
	if s.Cwd != "" {
		b = bytesHexField(b, FieldCwd, FieldCwdHex, s.Cwd)
	}
	b = bytesHexField(b, FieldHost, FieldHost+"_hex", s.Host)
	b = strField(b, FieldKernel, s.Kernel)
	b = intField(b, FieldUID, s.UID)
	if len(s.Policy) > 0 {
		b = listField(b, FieldPolicy, s.Policy)
	}
	if s.Redaction != "" {
		b = strField(b, FieldRedaction, s.Redaction)
	}
	return listField(b, FieldOptions, s.Options)
}

func appendEndJSON(b []byte, r *Record) []byte {
	b = appendEndOfProcess(b, r)
	en := r.End
	if en == nil {
		return b
	}
	b = intField(b, FieldExitStatus, en.ExitStatus)
	b = appendKey(b, FieldCounts)
	b = append(b, '{')
	for _, c := range en.Counts {
		b = uintField(b, c.Kind, c.N)
	}
	b = append(b, '}')
	c := en.Calls
	b = uintField(b, FieldDenied, en.Denied)
	b = uintField(b, FieldCallsReceived, c.Received)
	b = uintField(b, FieldCallsAnswered, c.Answered)
	b = uintField(b, FieldCallsGone, c.Gone)
	b = uintField(b, FieldCallsRecorded, c.Recorded)
	b = uintField(b, FieldCallsUnrecorded, c.Unrecorded)
	b = uintField(b, FieldCallsRefused, c.Refused)
	b = uintField(b, FieldRecordsAtEvents, c.AtEvents)
	b = uintField(b, FieldRecordsUnwritten, en.Unwritten)
	if en.OTLP != nil {
		b = uintField(b, FieldOTLPExported, en.OTLP.Exported)
		b = uintField(b, FieldOTLPNotExported, en.OTLP.NotExported)
	}
	return b
}

// appendEnvJSON writes redacted, and the environment of an exec record.
func appendEnvJSON(b []byte, r *Record) []byte {
	if r.Event == EventStart && len(r.Redacted) > 0 {
		return listField(b, FieldRedacted, r.Redacted)
	}
	if r.Event != EventExec {
		return b
	}
	if r.HasEnv {
		if r.EnvBase != 0 {
			b = uintField(b, FieldEnvBase, r.EnvBase)
			if len(r.EnvSet) > 0 {
				b = listHexField(b, FieldEnvSet, FieldEnvSetHex, r.EnvSet)
			}
			if len(r.EnvUnset) > 0 {
				b = listHexField(b, FieldEnvUnset, FieldEnvUnsetHex, r.EnvUnset)
			}
		} else {
			b = listHexField(b, FieldEnv, FieldEnvHex, r.Env)
		}
		if r.EnvTruncated {
			b = boolField(b, FieldEnvTruncated, true)
		}
	}
	if len(r.Redacted) > 0 {
		b = listField(b, FieldRedacted, r.Redacted)
	}
	return b
}

// AppendDev appends a device number as major:minor, the way Linux splits
// a dev_t (and stat(1) and mountinfo print it).
func AppendDev(b []byte, dev uint64) []byte {
	major := (dev&0x00000000000fff00)>>8 | (dev&0xfffff00000000000)>>32
	minor := dev&0x00000000000000ff | (dev&0x00000ffffff00000)>>12
	b = strconv.AppendUint(b, major&0xffffffff, 10)
	b = append(b, ':')
	return strconv.AppendUint(b, minor&0xffffffff, 10)
}

// appendKey appends "key": after a comma, unless it opens the object.
func appendKey(b []byte, key string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	return append(AppendJSONString(b, key), ':')
}

func strField(b []byte, key, v string) []byte {
	return AppendJSONString(appendKey(b, key), v)
}

// optStrField and optHexField write a string field only when it is not
// empty.
func optStrField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return strField(b, key, v)
}

func optHexField(b []byte, key, hexKey, v string) []byte {
	if v == "" {
		return b
	}
	return bytesHexField(b, key, hexKey, v)
}

func intField(b []byte, key string, v int) []byte {
	return strconv.AppendInt(appendKey(b, key), int64(v), 10)
}

func uintField(b []byte, key string, v uint64) []byte {
	return strconv.AppendUint(appendKey(b, key), v, 10)
}

func boolField(b []byte, key string, v bool) []byte {
	return strconv.AppendBool(appendKey(b, key), v)
}

// listField writes a string array (an empty or nil one as []).
func listField(b []byte, key string, v []string) []byte {
	b = append(appendKey(b, key), '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, s)
	}
	return append(b, ']')
}

// bytesHexField writes a byte string, and its hex sibling when it is not
// valid UTF-8 (path and path_hex).
func bytesHexField[T string | []byte](b []byte, key, hexKey string, v T) []byte {
	b = AppendJSONString(appendKey(b, key), v)
	if !validUTF8(v) {
		b = append(appendHex(append(appendKey(b, hexKey), '"'), v), '"')
	}
	return b
}

// listHexField writes an array of byte strings, and its hex sibling,
// every element in hex, when any element is not valid UTF-8 (argv and
// argv_hex).
func listHexField[T string | []byte](b []byte, key, hexKey string, v []T) []byte {
	b = append(appendKey(b, key), '[')
	valid := true
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, s)
		valid = valid && validUTF8(s)
	}
	b = append(b, ']')
	if valid {
		return b
	}
	b = append(appendKey(b, hexKey), '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendHex(append(b, '"'), s), '"')
	}
	return append(b, ']')
}

func validUTF8[T string | []byte](s T) bool {
	switch v := any(s).(type) {
	case string:
		return utf8.ValidString(v)
	case []byte:
		return utf8.Valid(v)
	}
	return false
}

// appendHex appends the bytes of s in lower-case hex.
func appendHex[T string | []byte](b []byte, s T) []byte {
	const hexDigits = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		b = append(b, hexDigits[s[i]>>4], hexDigits[s[i]&0xf])
	}
	return b
}

// AppendJSONString appends s as a quoted JSON string, the way every JSON
// line exectrail writes quotes its strings: `"` and `\` escaped, \n \r \t
// \b \f as such, the other control bytes and DEL as \u00XX, each byte of
// invalid UTF-8 as \ufffd, everything else as it is.
func AppendJSONString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := decodeRune(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			const hexDigits = "0123456789abcdef"
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeRune is utf8.DecodeRune for a string or a byte slice.
func decodeRune[T string | []byte](s T) (rune, int) {
	switch v := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	return utf8.RuneError, 1
}

// AppendJSONFloat appends f as a JSON number: the shortest decimal that
// reads back as f, in exponent form below 1e-6 and from 1e21 (as
// JavaScript prints numbers); NaN and infinities, which JSON has no
// number for, as the strings "NaN", "+Inf" and "-Inf".
func AppendJSONFloat(b []byte, f float64) []byte {
	switch {
	case f != f:
		return append(b, `"NaN"`...)
	case f > 1.7976931348623157e308:
		return append(b, `"+Inf"`...)
	case f < -1.7976931348623157e308:
		return append(b, `"-Inf"`...)
	}
	format := byte('f')
	if abs := max(f, -f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 -> e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// AppendTime appends t as the time field writes it (TimeLayout, UTC).
func AppendTime(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, TimeLayout)
}
