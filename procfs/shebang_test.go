package procfs

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// padName returns ip lengthened with 'x' to n bytes: an interpreter name
// of an exact length, for the BinprmBufSize boundary cases.
func padName(ip string, n int) string {
	if len(ip) > n {
		panic("interpreter path too long for padName")
	}
	return ip + strings.Repeat("x", n-len(ip))
}

func strp(s string) *string { return &s }

type shebangCase struct {
	name string
	// head builds the file's first bytes around the interpreter path ip.
	head func(ip string) string
	// interp is the expected interpreter; "$I" stands for ip.
	interp func(ip string) string
	arg    *string // nil: no argument
	err    error
}

func lit(s string) func(string) string {
	return func(ip string) string { return strings.ReplaceAll(s, "$I", ip) }
}

var shebangCases = []shebangCase{
	{name: "plain", head: lit("#!$I\necho hi\n"), interp: lit("$I")},
	{name: "with arg", head: lit("#!$I -x\n"), interp: lit("$I"), arg: strp("-x")},
	{name: "blanks around", head: lit("#! \t$I\t -x  y \t\nrest"), interp: lit("$I"), arg: strp("-x  y")},
	{name: "tab separator", head: lit("#!$I\t-x\n"), interp: lit("$I"), arg: strp("-x")},
	{name: "arg with blanks inside", head: lit("#!$I -x -y\n"), interp: lit("$I"), arg: strp("-x -y")},
	{name: "trailing blanks", head: lit("#!$I  \t\n"), interp: lit("$I")},
	{name: "short file without newline", head: lit("#!$I"), interp: lit("$I")},
	{name: "short file without newline, arg", head: lit("#!$I -e"), interp: lit("$I"), arg: strp("-e")},
	// The kernel strips only blanks: with CRLF the "\r" stays in the
	// name (the exec then fails with ENOENT unless "sh\r" exists).
	// An empty name ("" below) makes the exec fail with EACCES.
	{name: "CRLF", head: lit("#!$I\r\n"), interp: lit("$I\r")},
	{name: "CRLF with arg", head: lit("#!$I -x\r\n"), interp: lit("$I"), arg: strp("-x\r")},
	{name: "hash-bang only", head: lit("#!"), interp: lit("")},
	{name: "hash-bang blanks no newline", head: lit("#!  \t "), interp: lit("")},
	{name: "hash-bang newline", head: lit("#!\n"), err: ErrBadShebang},
	{name: "hash-bang blanks newline", head: lit("#!  \t \n"), err: ErrBadShebang},
	{name: "NUL ends name", head: lit("#!$I\x00 -x\n"), interp: lit("$I")},
	{name: "NUL first", head: lit("#!\x00$I\n"), interp: lit("")},
	{name: "NUL starts arg", head: lit("#!$I \x00x\n"), interp: lit("$I"), arg: strp("")},
	{name: "NUL inside arg", head: lit("#!$I -x\x00y\n"), interp: lit("$I"), arg: strp("-x")},
	{name: "NUL hides newline", head: lit("#! $I -a\x00\n#!/other\n"), interp: lit("$I"), arg: strp("-a")},
	{
		name:   "253-byte name, 255-byte file",
		head:   func(ip string) string { return "#!" + padName(ip, 253) },
		interp: func(ip string) string { return padName(ip, 253) },
	},
	{
		name: "254-byte name, 256-byte file",
		head: func(ip string) string { return "#!" + padName(ip, 254) },
		err:  ErrBadShebang,
	},
	{
		name: "254-byte name, blank past the buffer",
		head: func(ip string) string { return "#!" + padName(ip, 254) + " -x\n" },
		err:  ErrBadShebang,
	},
	{
		name:   "253-byte name and newline: 256-byte line",
		head:   func(ip string) string { return "#!" + padName(ip, 253) + "\n" },
		interp: func(ip string) string { return padName(ip, 253) },
	},
	{
		name:   "253-byte name, blank is the last buffer byte",
		head:   func(ip string) string { return "#!" + padName(ip, 253) + " " + strings.Repeat("a", 300) + "\n" },
		interp: func(ip string) string { return padName(ip, 253) },
	},
	{
		name:   "long arg cut before the last buffer byte",
		head:   func(ip string) string { return "#!" + ip + " " + strings.Repeat("a", 300) + "\n" },
		interp: lit("$I"),
		// The kernel keeps buf[len("#!"+ip+" "):255].
		arg: nil, // set in init
	},
	{
		name:   "newline past the buffer",
		head:   func(ip string) string { return "#!" + ip + strings.Repeat(" ", 300) + "\n" },
		interp: lit("$I"),
	},
	{
		name: "buffer all blanks",
		head: func(ip string) string { return "#!" + strings.Repeat(" ", 254) + ip + "\n" },
		err:  ErrBadShebang,
	},
	{name: "empty", head: lit(""), err: ErrNoShebang},
	{name: "hash only", head: lit("#"), err: ErrNoShebang},
	{name: "reversed", head: lit("!#$I\n"), err: ErrNoShebang},
	{name: "ELF", head: lit("\x7fELF\x02\x01\x01"), err: ErrNoShebang},
	{name: "text", head: lit("echo hi\n"), err: ErrNoShebang},
}

// shebangWant returns the expected interpreter and argument of c for ip.
func shebangWant(c shebangCase, ip string) (string, *string) {
	if c.err != nil {
		return "", nil
	}
	if c.name == "long arg cut before the last buffer byte" {
		return ip, strp(strings.Repeat("a", 255-len("#!"+ip+" ")))
	}
	return c.interp(ip), c.arg
}

func TestParseShebang(t *testing.T) {
	for _, ip := range []string{"/bin/sh", "/usr/local/bin/some-interpreter"} {
		for _, c := range shebangCases {
			t.Run(c.name, func(t *testing.T) {
				head := []byte(c.head(ip))
				interp, arg, err := ParseShebang(head)
				if c.err != nil {
					if !errors.Is(err, c.err) {
						t.Fatalf("ParseShebang(%q) = %q, %q, %v; want error %v", head, interp, arg, err, c.err)
					}
					return
				}
				if err != nil {
					t.Fatalf("ParseShebang(%q): %v", head, err)
				}
				wantInterp, wantArg := shebangWant(c, ip)
				if string(interp) != wantInterp {
					t.Errorf("interp = %q, want %q", interp, wantInterp)
				}
				checkArg(t, arg, wantArg)
			})
		}
	}
}

func checkArg(t *testing.T, arg []byte, want *string) {
	t.Helper()
	switch {
	case want == nil && arg != nil:
		t.Errorf("arg = %q, want none", arg)
	case want != nil && arg == nil:
		t.Errorf("arg = none, want %q", *want)
	case want != nil && string(arg) != *want:
		t.Errorf("arg = %q, want %q", arg, *want)
	}
}

// TestParseShebangMatchesKernel executes every case as a real script whose
// interpreter is this test binary (which prints the argv it got, see
// TestMain) and checks that the kernel saw the line as ParseShebang does:
// same interpreter name, same argument, ENOEXEC for ErrBadShebang, and
// EACCES for an empty name (the kernel opens "", the working directory).
func TestParseShebangMatchesKernel(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ip := filepath.Join(dir, "i")
	if len(ip) > 200 {
		t.Skipf("temp dir %s too long for the 256-byte cases", dir)
	}
	link := func(name string) {
		if _, err := os.Lstat(name); err == nil {
			return
		}
		if err := os.Symlink(self, name); err != nil {
			t.Fatal(err)
		}
	}
	// The names of the boundary cases exist, so ENOEXEC can only come
	// from the parsing, never from a missing file.
	link(ip)
	link(padName(ip, 253))
	link(padName(ip, 254))
	for i, c := range shebangCases {
		if c.err == ErrNoShebang {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			script := filepath.Join(dir, fmt.Sprintf("s%03d", i))
			if err := os.WriteFile(script, []byte(c.head(ip)), 0o755); err != nil {
				t.Fatal(err)
			}
			interp, arg, perr := ParseShebang([]byte(c.head(ip)))
			if perr == nil && len(interp) > 0 {
				link(string(interp))
			}
			cmd := exec.Command(script)
			cmd.Env = helperEnv()
			out, err := cmd.Output()
			switch {
			case perr != nil:
				if !errors.Is(err, syscall.ENOEXEC) {
					t.Fatalf("parser: %v; kernel: %v (output %q), want ENOEXEC", perr, err, out)
				}
			case len(interp) == 0:
				if !errors.Is(err, syscall.EACCES) {
					t.Fatalf("parser: empty name; kernel: %v (output %q), want EACCES", err, out)
				}
			default:
				if err != nil {
					t.Fatalf("parser: %q %q; kernel: %v", interp, arg, err)
				}
				var got []string
				for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
					b, err := hex.DecodeString(l)
					if err != nil {
						t.Fatalf("helper output %q: %v", out, err)
					}
					got = append(got, string(b))
				}
				want := []string{string(interp)}
				if arg != nil {
					want = append(want, string(arg))
				}
				want = append(want, script)
				if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
					t.Fatalf("kernel argv %q, parser says %q", got, want)
				}
			}
		})
	}
}

// loadScriptRef is load_script from fs/binfmt_script.c (Linux 5.1+)
// transcribed index for index, pointer arithmetic and all: the reference
// FuzzParseShebang compares ParseShebang with. ok is false when the kernel
// returns ENOEXEC; name and arg are the C strings it would use.
func loadScriptRef(head []byte) (name, arg []byte, hasArg, isScript, ok bool) {
	var buf [BinprmBufSize]byte
	copy(buf[:], head)
	if buf[0] != '#' || buf[1] != '!' {
		return nil, nil, false, false, false
	}
	spacetab := func(c byte) bool { return c == ' ' || c == '\t' }
	nextNonSpacetab := func(first, last int) int {
		for ; first <= last; first++ {
			if !spacetab(buf[first]) {
				return first
			}
		}
		return -1
	}
	nextTerminator := func(first, last int) int {
		for ; first <= last; first++ {
			if spacetab(buf[first]) || buf[first] == 0 {
				return first
			}
		}
		return -1
	}
	cstr := func(i int) []byte {
		j := bytes.IndexByte(buf[i:], 0)
		if j < 0 {
			j = len(buf) - i
		}
		return append([]byte{}, buf[i:i+j]...)
	}
	bufEnd := len(buf) - 1
	iEnd := -1
	for i := 0; i < len(buf); i++ { // strnchr
		if buf[i] == '\n' {
			iEnd = i
			break
		}
		if buf[i] == 0 {
			break
		}
	}
	if iEnd < 0 {
		iEnd = nextNonSpacetab(2, bufEnd)
		if iEnd < 0 {
			return nil, nil, false, true, false
		}
		if nextTerminator(iEnd, bufEnd) < 0 {
			return nil, nil, false, true, false
		}
		iEnd = bufEnd
	}
	for spacetab(buf[iEnd-1]) {
		iEnd--
	}
	iName := nextNonSpacetab(2, iEnd)
	if iName < 0 || iName == iEnd {
		return nil, nil, false, true, false
	}
	iArg := -1
	iSep := nextTerminator(iName, iEnd)
	if iSep >= 0 && buf[iSep] != 0 {
		iArg = nextNonSpacetab(iSep, iEnd)
	}
	buf[iEnd] = 0
	if iArg >= 0 {
		buf[iSep] = 0
		arg, hasArg = cstr(iArg), true
	}
	return cstr(iName), arg, hasArg, true, true
}

func TestLoadScriptRefAgreesWithTable(t *testing.T) {
	ip := "/bin/sh"
	for _, c := range shebangCases {
		name, arg, hasArg, isScript, ok := loadScriptRef([]byte(c.head(ip)))
		wantInterp, wantArg := shebangWant(c, ip)
		switch {
		case c.err == ErrNoShebang:
			if isScript {
				t.Errorf("%s: reference sees a script", c.name)
			}
		case c.err == ErrBadShebang:
			if ok {
				t.Errorf("%s: reference accepts it: %q %q", c.name, name, arg)
			}
		case !ok:
			t.Errorf("%s: reference rejects it", c.name)
		case string(name) != wantInterp || hasArg != (wantArg != nil) || (hasArg && string(arg) != *wantArg):
			t.Errorf("%s: reference %q %q(%v), want %q %v", c.name, name, arg, hasArg, wantInterp, wantArg)
		}
	}
}

func FuzzParseShebang(f *testing.F) {
	for _, c := range shebangCases {
		f.Add([]byte(c.head("/bin/sh")))
	}
	f.Add([]byte("#!/usr/bin/env python3 -u\r\n"))
	f.Add([]byte("#!\t\t\x00\x00 \n"))
	f.Fuzz(func(t *testing.T, head []byte) {
		interp, arg, err := ParseShebang(head)
		name, rarg, hasArg, isScript, ok := loadScriptRef(head)
		switch {
		case !isScript:
			if !errors.Is(err, ErrNoShebang) {
				t.Fatalf("not a script for the kernel, parser: %q %q %v", interp, arg, err)
			}
			return
		case !ok:
			if !errors.Is(err, ErrBadShebang) {
				t.Fatalf("kernel: ENOEXEC, parser: %q %q %v", interp, arg, err)
			}
			return
		case err != nil:
			t.Fatalf("kernel: %q %q, parser: %v", name, rarg, err)
		}
		if !bytes.Equal(interp, name) {
			t.Fatalf("interp %q, kernel %q", interp, name)
		}
		if (arg != nil) != hasArg || !bytes.Equal(arg, rarg) {
			t.Fatalf("arg %q (present %v), kernel %q (present %v)", arg, arg != nil, rarg, hasArg)
		}
		if bytes.ContainsAny(interp, " \t\n\x00") {
			t.Fatalf("interp %q contains a blank, newline or NUL", interp)
		}
		if len(interp)+2 > BinprmBufSize-1 && !bytes.Contains(head, []byte{'\n'}) {
			t.Fatalf("interp %q longer than the buffer allows", interp)
		}
	})
}
