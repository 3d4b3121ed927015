package integration

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Argument vectors and paths must be recorded losslessly, whatever their
// bytes, and hostile pointers must give a record with an error — never a
// crash, a hang or a lost record.

func TestArgvEdgeCases(t *testing.T) {
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i%36]
	}
	many := make([]string, 5000)
	for i := range many {
		many[i] = fmt.Sprintf("arg-%04d", i)
	}
	cases := []struct {
		name string
		args []string
	}{
		{"empty", []string{"", "x", ""}},
		{"newline-and-quotes", []string{"line1\nline2", `"double"`, "'single'", `back\slash`, "tab\there", "\r\n"}},
		{"100KiB", []string{string(big)}},
		{"5000-args", many},
		{"longest-arg", []string{string(big[:1]) + strings.Repeat("z", 128<<10-2)}},
		{"non-UTF-8", []string{"\xff\xfe", "ok", "caf\xc3\xa9", "trunc\xc3", "\x80"}},
		{"control-bytes", []string{"\x01\x1b[31m\x7f", "\u2028", "\t"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// env is exec'd by exectrail's child stage (the first record);
			// it then execs /usr/bin/true itself with the same arguments.
			argv := append([]string{"/usr/bin/env", "/usr/bin/true"}, c.args...)
			r := runTrail(t, Opts{Timeout: 30 * time.Second}, argv...)
			if r.ExitCode != 0 {
				t.Fatalf("exit %d, stderr %s", r.ExitCode, r.Stderr)
			}
			execs := r.Execs()
			if len(execs) != 2 {
				t.Fatalf("want 2 exec records (env, true), got %d:\n%.3000s", len(execs), dump(r.Records))
			}
			wantExec(t, execs[0], "/usr/bin/env", "/usr/bin/env", "")
			wantArgv(t, execs[0], argv)
			wantExec(t, execs[1], "/usr/bin/true", "/usr/bin/true", "")
			wantArgv(t, execs[1], argv[1:])
			for _, rec := range execs {
				if rec.Has("error") {
					t.Errorf("successful exec with an error:\n%.3000s", dump([]Record{rec}))
				}
			}
		})
	}
}

// A path with bytes that are not UTF-8: a symlink to /usr/bin/true, and a
// copy of it (so the executable itself has such a name).
func TestNonUTF8ExecPath(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "\xff\xfe-true")
	if err := os.Symlink("/usr/bin/true", link); err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "caf\xe9-copy")
	data, err := os.ReadFile("/usr/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	r := runTrail(t, Opts{Timeout: 30 * time.Second}, "/bin/sh", "-c", `"$1" a && "$2" b`, "sh", link, cp)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %s", r.ExitCode, r.Stderr)
	}
	byPath := func(p string) Record {
		t.Helper()
		var found []Record
		for _, rec := range r.Execs() {
			if rec.PathHex == hex.EncodeToString([]byte(p)) {
				found = append(found, rec)
			}
		}
		if len(found) != 1 {
			t.Fatalf("want one exec record with path_hex of %q, got %d:\n%s", p, len(found), dump(r.Records))
		}
		return found[0]
	}
	l := byPath(link)
	if l.Executable != "/usr/bin/true" || l.Has("executable_hex") || l.Has("error") {
		t.Errorf("exec through a non-UTF-8 symlink: want executable /usr/bin/true, no executable_hex, no error:\n%s", dump([]Record{l}))
	}
	wantArgv(t, l, []string{link, "a"})
	c := byPath(cp)
	if c.ExecutableHex != hex.EncodeToString([]byte(cp)) || c.Has("error") {
		t.Errorf("exec of a non-UTF-8 file: want executable_hex %x, no error:\n%s", cp, dump([]Record{c}))
	}
	wantArgv(t, c, []string{cp, "b"})
	wantArgv(t, r.Execs()[0], []string{"/bin/sh", "-c", `"$1" a && "$2" b`, "sh", link, cp})
	// path_hex only where path is not valid UTF-8.
	for _, rec := range r.Execs() {
		if b, err := hex.DecodeString(rec.PathHex); rec.Has("path_hex") && (err != nil || utf8.Valid(b)) {
			t.Errorf("path_hex on a valid UTF-8 path:\n%s", dump([]Record{rec}))
		}
	}
}

// hostileSrc makes one exec attempt with bad memory, chosen by argv[1], and
// prints the errno name the kernel returned. It exits 42 when the call
// returned -1 (the program goes on), 1 if the exec ran.
const hostileSrc = `
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

` + twoPagesC + `
int main(int argc, char **argv) {
	if (argc != 2) return 2;
	const char *mode = argv[1];
	long r;
	if (strcmp(mode, "bad-path") == 0) {
		r = syscall(SYS_execve, (char *)1, NULL, NULL);
	} else if (strcmp(mode, "kernel-path") == 0) {
		char *args[] = {"x", NULL};
		r = syscall(SYS_execve, (char *)0xffff888000000000UL, args, environ);
	} else if (strcmp(mode, "bad-argv-element") == 0) {
		char *page = twoPages();
		char *args[] = {"/usr/bin/true", page + 4096, NULL};
		r = syscall(SYS_execve, "/usr/bin/true", args, environ);
	} else if (strcmp(mode, "bad-argv-array") == 0) {
		// The pointer array's first slot ends the mapped page; the
		// second slot is unmapped.
		char *page = twoPages();
		char **args = (char **)(page + 4096 - sizeof(char *));
		args[0] = "/usr/bin/true";
		r = syscall(SYS_execve, "/usr/bin/true", args, environ);
	} else if (strcmp(mode, "unterminated-arg") == 0) {
		char *page = twoPages();
		memset(page, 'A', 4096);
		char *args[] = {"/usr/bin/true", page, NULL};
		r = syscall(SYS_execve, "/usr/bin/true", args, environ);
	} else if (strcmp(mode, "unterminated-long-arg") == 0) {
		// MAX_ARG_STRLEN (32 pages) bytes with no NUL, then an unmapped
		// page: the kernel gives up at the limit (E2BIG) and never
		// reaches the unmapped page.
		char *p = mmap(NULL, 33 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) { perror("mmap"); _exit(2); }
		if (munmap(p + 32 * 4096, 4096) != 0) { perror("munmap"); _exit(2); }
		memset(p, 'A', 32 * 4096);
		char *args[] = {"/usr/bin/true", p, NULL};
		r = syscall(SYS_execve, "/usr/bin/true", args, environ);
	} else if (strcmp(mode, "unterminated-path") == 0) {
		char *page = twoPages();
		memset(page, 'A', 4096);
		char *args[] = {"x", NULL};
		r = syscall(SYS_execve, page, args, environ);
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	if (r != -1) { fprintf(stderr, "execve returned %ld\n", r); return 3; }
	printf("%s\n", strerrorname_np(errno));
	return 42;
}
`

func TestHostileExecMemory(t *testing.T) {
	helper := compileC(t, "hostile", hostileSrc)
	cases := []struct {
		mode, errno string
		argv        []string // what the record must hold, from the start
	}{
		{"bad-path", "EFAULT", nil},
		{"kernel-path", "EFAULT", []string{"x"}},
		{"bad-argv-element", "EFAULT", []string{"/usr/bin/true"}},
		{"bad-argv-array", "EFAULT", []string{"/usr/bin/true"}},
		{"unterminated-arg", "EFAULT", []string{"/usr/bin/true"}},
		{"unterminated-long-arg", "E2BIG", []string{"/usr/bin/true"}},
		{"unterminated-path", "ENAMETOOLONG", []string{"x"}},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			r := runTrail(t, Opts{Timeout: 30 * time.Second}, helper, c.mode)
			if r.ExitCode != 42 {
				t.Fatalf("exit %d (signal %v), want the helper's 42: the bad execve must fail and the program go on\nstdout %q stderr %s\n%s", r.ExitCode, r.Signal, r.Stdout, r.Stderr, dump(r.Records))
			}
			if got := strings.TrimSpace(r.Stdout); got != c.errno {
				t.Fatalf("the kernel returned %s, the test expects %s: the test is wrong", got, c.errno)
			}
			execs := r.Execs()
			if len(execs) != 2 || execs[0].Executable != helper {
				t.Fatalf("want 2 exec records (helper, bad attempt), got %d:\n%.3000s", len(execs), dump(r.Records))
			}
			rec := execs[1]
			if rec.Error != c.errno {
				t.Errorf("record error %q, want %q (what the execve returned):\n%.3000s", rec.Error, c.errno, dump([]Record{rec}))
			}
			if rec.PID != execs[0].PID {
				t.Errorf("pid %d, want the helper's %d", rec.PID, execs[0].PID)
			}
			if len(rec.Argv) < len(c.argv) || !slices.Equal(rec.Argv[:len(c.argv)], c.argv) {
				t.Errorf("argv %.200q, want it to start with what could be read, %q", rec.Argv, c.argv)
			}
			if strings.HasPrefix(c.mode, "unterminated-") && strings.HasSuffix(c.mode, "arg") {
				if len(rec.Argv) > 1 && rec.Argv[1] != strings.Repeat("A", len(rec.Argv[1])) {
					t.Errorf("argv[1] holds bytes that were not there: %.100q", rec.Argv[1])
				}
				if !rec.Has("argv_truncated") {
					t.Errorf("argv could not be read to its end but argv_truncated is missing:\n%.3000s", dump([]Record{rec}))
				}
			}
			if c.mode == "bad-argv-element" || c.mode == "bad-argv-array" {
				// The unreadable element may be left out or shown as
				// the empty prefix that could be read; either way the
				// record must say that argv is incomplete.
				if len(rec.Argv) > 2 || (len(rec.Argv) == 2 && rec.Argv[1] != "") || !rec.Has("argv_truncated") {
					t.Errorf("want argv [/usr/bin/true] (or [/usr/bin/true \"\"]) and argv_truncated:\n%.3000s", dump([]Record{rec}))
				}
			}
		})
	}
}
