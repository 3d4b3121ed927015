package record

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAppendJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"":               `""`,
		"plain":          `"plain"`,
		"q\"b\\":         `"q\"b\\"`,
		"\n\t\x01\r":     `"\n\t\u0001\r"`,
		"\b\f\x7f\x1f":   `"\b\f\u007f\u001f"`,
		"\xffé":          `"\ufffdé"`,
		"\xed\xa0\x80":   `"\ufffd\ufffd\ufffd"`, // a surrogate is not UTF-8
		"a\u2028b":       "\"a\u2028b\"",
		"ü\U0001F600end": `"ü😀end"`,
		"<&>":            `"<&>"`,
	} {
		got := string(AppendJSONString(nil, in))
		if got != want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", in, got, want)
		}
		if b := string(AppendJSONString([]byte("x"), []byte(in))); b != "x"+want {
			t.Errorf("AppendJSONString([]byte(%q)) = %s, want x%s", in, b, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%s: %v", got, err)
		} else if want := strings.ToValidUTF8(in, "\ufffd"); back != want && !strings.Contains(in, "\xed") {
			t.Errorf("%s reads back as %q, want %q", got, back, want)
		}
	}
}

func TestAppendJSONFloat(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{{0, "0"}, {12.5, "12.5"}, {1e-7, "1e-7"}, {3e21, "3e+21"}, {1e20, "100000000000000000000"}, {-0.001, "-0.001"}} {
		if got := string(AppendJSONFloat(nil, c.f)); got != c.want {
			t.Errorf("AppendJSONFloat(%v) = %s, want %s", c.f, got, c.want)
		}
	}
}

// Encoding an exec record into a buffer with room allocates nothing.
func TestAppendJSONAllocates(t *testing.T) {
	r := &Record{Seq: 3, Time: time.Now(), Event: EventExec, PID: 2, PPID: 1, Path: []byte("\xff/ls"), Executable: "/usr/bin/ls",
		Argv: [][]byte{[]byte("ls"), []byte("-l\xfe")}, Cwd: "/tmp", HasUID: true, HasFile: true, FileDev: 0x803}
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { buf = AppendJSON(buf[:0], r) }); n != 0 {
		t.Errorf("%v allocations per record", n)
	}
	if !json.Valid(buf) {
		t.Errorf("not JSON: %s", buf)
	}
}
