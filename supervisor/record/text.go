package record

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// AppendText appends r as one aligned line for people, with its newline:
//
//	3 09:28:08.123 exec   4242 <4241  /usr/bin/ls  ./ls -l  (cwd /usr/bin)
func AppendText(b []byte, r *Record) []byte {
	b = fmt.Appendf(b, "%6d %s %-5s %7d ", r.Seq, r.Time.Local().Format("15:04:05.000"), r.Event, r.PID)
	switch r.Event {
	case EventExec:
		b = fmt.Appendf(b, "<%-7d ", r.PPID)
		exe := r.Executable
		if exe == "" {
			exe = "?"
		}
		b = AppendPrintable(b, exe)
		b = append(b, "  "...)
		for i, a := range r.Argv {
			if i > 0 {
				b = append(b, ' ')
			}
			b = AppendWord(b, a)
		}
		if r.ArgvTruncated {
			b = append(b, " …"...)
		}
		if r.Cwd != "" {
			b = append(b, "  (cwd "...)
			b = AppendPrintable(b, r.Cwd)
			b = append(b, ')')
		}
		if r.Interpreter != "" {
			b = append(b, " [interp "...)
			b = AppendPrintable(b, r.Interpreter)
			for _, s := range r.InterpreterChain {
				b = append(b, " via "...)
				b = AppendPrintable(b, s)
			}
			b = append(b, ']')
		}
		if string(r.Path) != r.Executable {
			b = append(b, " [path "...)
			b = AppendWord(b, r.Path)
			b = append(b, ']')
		}
		if r.ABI != "" {
			b = append(b, " ["+r.ABI+"]"...)
		}
		b = appendContainer(b, r)
	case EventFork:
		b = append(b, r.Kind...)
		if r.ChildPID != 0 {
			b = append(b, " -> "...)
			b = strconv.AppendInt(b, int64(r.ChildPID), 10)
		}
	case EventExit:
		b = appendEndOfProcessText(b, r)
	case EventStart:
		b = appendStartText(b, r)
	case EventEnd:
		b = appendEndText(b, r)
	}
	if r.Action != "" {
		b = append(b, "  "+strings.ToUpper(r.Action)...)
	}
	if r.Error != "" {
		b = append(b, "  ! "+r.Error...)
		if r.ErrorDetail != "" {
			b = append(b, " ("...)
			b = AppendPrintable(b, r.ErrorDetail)
			b = append(b, ')')
		}
	}
	return append(b, '\n')
}

// appendContainer writes " [docker 4f2a9c1d6e8b pod 0b2c…]": the runtime,
// the container id shortened as docker ps shows it, and the pod UID.
func appendContainer(b []byte, r *Record) []byte {
	if r.ContainerID == "" && r.PodUID == "" {
		return b
	}
	var words []string
	if r.ContainerID != "" {
		if r.ContainerRuntime != "" {
			words = append(words, r.ContainerRuntime)
		} else {
			words = append(words, "container")
		}
		id := r.ContainerID
		if len(id) > 12 {
			id = id[:12]
		}
		words = append(words, id)
	}
	if r.PodUID != "" {
		words = append(words, "pod", r.PodUID)
	}
	b = append(b, " ["...)
	b = AppendPrintable(b, strings.Join(words, " "))
	return append(b, ']')
}

// AppendWord appends an argument so that a person can tell where it starts
// and ends: bare when it is plain, otherwise Go-quoted (which also shows
// invalid UTF-8, control bytes and non-printing runes as escapes).
func AppendWord(b []byte, w []byte) []byte {
	plain := len(w) > 0 && Printable(string(w))
	for _, c := range w {
		if c == ' ' || c == '"' || c == '\'' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return append(b, w...)
	}
	return strconv.AppendQuote(b, string(w))
}

// AppendPrintable appends s as it is when it is printable, otherwise with
// Go escapes for what is not (the quotes left off).
func AppendPrintable(b []byte, s string) []byte {
	if Printable(s) {
		return append(b, s...)
	}
	q := strconv.Quote(s)
	return append(b, q[1:len(q)-1]...)
}

// PrintableString is s as AppendPrintable writes it.
func PrintableString(s string) string {
	if Printable(s) {
		return s
	}
	return string(AppendPrintable(nil, s))
}

// Printable reports whether s is valid UTF-8 made only of runes that print
// (strconv.IsPrint): no C0 or C1 control (U+009B is CSI to a terminal), no
// DEL, no line or paragraph separator.
func Printable(s string) bool {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	for _, r := range s[i:] {
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			// RuneError: invalid UTF-8 (a literal U+FFFD is quoted
			// too, harmlessly).
			return false
		}
	}
	return true
}

// appendStartText writes the rest of a start line:
//
//	exectrail v1.2  notify  run 9f…  sh -c 'make'  (cwd /src)  host ci-7  kernel 6.18.44  uid 0
func appendStartText(b []byte, r *Record) []byte {
	s := r.Start
	if s == nil {
		return b
	}
	b = append(b, "exectrail "...)
	b = AppendPrintable(b, s.Version)
	if s.Backend != "" {
		b = append(b, "  "+s.Backend...)
	}
	if r.RunID != "" {
		b = append(b, "  run "+r.RunID...)
	}
	b = append(b, "  "...)
	for i, a := range s.Argv {
		if i > 0 {
			b = append(b, ' ')
		}
		b = AppendWord(b, a)
	}
	if s.Cwd != "" {
		b = append(b, "  (cwd "...)
		b = AppendPrintable(b, s.Cwd)
		b = append(b, ')')
	}
	b = append(b, "  host "...)
	b = AppendPrintable(b, s.Host)
	b = append(b, "  kernel "...)
	b = AppendPrintable(b, s.Kernel)
	b = append(b, "  uid "...)
	b = strconv.AppendInt(b, int64(s.UID), 10)
	for _, p := range s.Policy {
		b = append(b, "  ["...)
		b = AppendPrintable(b, p)
		b = append(b, ']')
	}
	if s.Redaction != "" {
		b = append(b, "  redaction "+s.Redaction...)
	}
	for _, o := range s.Options {
		b = append(b, "  "...)
		b = AppendPrintable(b, o)
	}
	return b
}

// appendEndText writes the rest of an end line: the command's end, then
// name=value words that exectrail verify reads back.
//
//	exit 0 after 12.3ms  exit_status=0  start=1 exec=3 fork=2 exit=1  denied=0  calls_received=5 …  chain=…
func appendEndText(b []byte, r *Record) []byte {
	b = appendEndOfProcessText(b, r)
	en := r.End
	if en == nil {
		return b
	}
	b = fmt.Appendf(b, "  %s=%d ", FieldExitStatus, en.ExitStatus)
	for _, c := range en.Counts {
		b = fmt.Appendf(b, " %s=%d", c.Kind, c.N)
	}
	c := en.Calls
	b = fmt.Appendf(b, "  %s=%d  %s=%d %s=%d %s=%d %s=%d %s=%d %s=%d %s=%d %s=%d",
		FieldDenied, en.Denied,
		FieldCallsReceived, c.Received, FieldCallsAnswered, c.Answered, FieldCallsGone, c.Gone,
		FieldCallsRecorded, c.Recorded, FieldCallsUnrecorded, c.Unrecorded, FieldCallsRefused, c.Refused,
		FieldRecordsAtEvents, c.AtEvents, FieldRecordsUnwritten, en.Unwritten)
	if en.Chain != "" {
		b = append(b, "  "+FieldChain+"="+en.Chain...)
	}
	if en.KeyID != "" {
		b = append(b, "  "+FieldKeyID+"="+en.KeyID...)
	}
	if en.OTLP != nil {
		b = fmt.Appendf(b, "  %s=%d %s=%d", FieldOTLPExported, en.OTLP.Exported, FieldOTLPNotExported, en.OTLP.NotExported)
	}
	return b
}

// appendEndOfProcessText writes how a process (or the command, on an end
// line) ended: "exit 0 after 12.3ms", "killed by SIGKILL".
func appendEndOfProcessText(b []byte, r *Record) []byte {
	if r.ExitCode != nil {
		b = fmt.Appendf(b, "exit %d", *r.ExitCode)
	}
	if r.Signal != "" {
		b = append(b, "killed by "+r.Signal...)
	}
	if r.DurationMS != nil {
		b = fmt.Appendf(b, " after %.1fms", *r.DurationMS)
	}
	return b
}
