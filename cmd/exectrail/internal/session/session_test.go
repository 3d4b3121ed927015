package session

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

func TestMarkerLabel(t *testing.T) {
	for _, tc := range []struct {
		rec  record.Record
		want string
	}{
		{record.Record{Executable: "/usr/bin/git", Argv: [][]byte{[]byte("git"), []byte("status")}}, "exec /usr/bin/git status"},
		{record.Record{Executable: "/usr/bin/ls", Argv: [][]byte{[]byte("./ls")}}, "exec /usr/bin/ls"},
		{record.Record{Executable: "/usr/bin/sh", Argv: [][]byte{[]byte("sh"), []byte("-c"), []byte("echo 'hi' >x")}}, `exec /usr/bin/sh -c 'echo '\''hi'\'' >x'`},
		{record.Record{Executable: "/usr/bin/printf", Argv: [][]byte{[]byte("printf"), []byte("a\x1b[1m\n"), []byte("\xff"), []byte("")}}, `exec /usr/bin/printf $'a\x1b[1m\n' $'\xff' ''`},
		{record.Record{Path: []byte("./nope"), Argv: [][]byte{[]byte("./nope")}, Error: "ENOENT"}, "exec ./nope [ENOENT]"},
		{record.Record{Executable: "/usr/bin/curl", Argv: [][]byte{[]byte("curl")}, Error: "EPERM", Action: "deny"}, "exec /usr/bin/curl [denied]"},
		{record.Record{Executable: "/usr/bin/true"}, "exec /usr/bin/true"},
	} {
		if got := markerLabel(&tc.rec); got != tc.want {
			t.Errorf("markerLabel(%q) = %q, want %q", tc.rec.Argv, got, tc.want)
		}
	}
	long := record.Record{Executable: "/usr/bin/echo", Argv: [][]byte{[]byte("echo"), []byte(strings.Repeat("é", 400))}}
	got := markerLabel(&long)
	if len(got) > 260 || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "exec /usr/bin/echo ") || strings.ContainsRune(got, '\ufffd') {
		t.Errorf("long label (%d bytes): %q", len(got), got)
	}
}

func TestShellJoin(t *testing.T) {
	if got, want := shellJoin([]string{"bash", "-c", "ls -l", "it's"}), `bash -c 'ls -l' 'it'\''s'`; got != want {
		t.Errorf("shellJoin = %q, want %q", got, want)
	}
}

// Records on the terminal the session made raw get \r\n; not otherwise.
func TestCRLFWriter(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	var raw atomic.Bool
	w := &crlfWriter{fd: p[1], raw: &raw}
	for _, on := range []bool{false, true} {
		raw.Store(on)
		if n, err := w.Write([]byte("a\nb\n")); n != 4 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	buf := make([]byte, 64)
	n, _ := unix.Read(p[0], buf)
	if got := string(buf[:n]); got != "a\nb\na\r\nb\r\n" {
		t.Errorf("wrote %q", got)
	}
}
