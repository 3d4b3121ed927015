package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// agFexecveC runs argv[2...] through fexecve of argv[1] opened with
// O_CLOEXEC when argv[0] ends in "cloexec", or execveat(dirfd, name) with
// "dirfd".
const agFexecveC = `#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
	if (argc < 3) return 2;
	const char *mode = argv[1], *file = argv[2];
	char dir[4096], base[4096];
	snprintf(dir, sizeof dir, "%s", file);
	snprintf(base, sizeof base, "%s", file);
	if (!strcmp(mode, "fexecve") || !strcmp(mode, "fexecve-cloexec")) {
		int fd = open(file, O_RDONLY | (mode[7] ? O_CLOEXEC : 0));
		if (fd < 0) { perror("open"); return 2; }
		fexecve(fd, argv + 2, environ);
	} else {
		int dfd = open(dirname(dir), O_PATH | O_DIRECTORY | (!strcmp(mode, "dirfd-cloexec") ? O_CLOEXEC : 0));
		if (dfd < 0) { perror("open"); return 2; }
		syscall(SYS_execveat, dfd, basename(base), argv + 2, environ, 0);
	}
	perror("exec");
	return 1;
}
`

// The backends must write the same exec records for the same job: one
// table of cases, each run under notify and under ptrace, compared field
// by field. notify predicts what ptrace observes, so a disagreement is a
// wrong prediction (or a wrong observation). It runs both backends
// itself: in the ptrace pass of `make integration` it has nothing to add
// and returns at once.
func TestBackendsAgree(t *testing.T) {
	t.Parallel()
	if backend != "notify" {
		t.Logf("cross-backend: runs both backends itself, in the notify pass")
		return
	}
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s1 := write("s1.sh", "#!/bin/sh\nexit 0\n", 0o755)
	s2 := write("s2.sh", "#!"+s1+"\n", 0o755)
	s3 := write("s3.sh", "#!"+s2+" -x\n", 0o755)
	write("plain", "not a program\n", 0o644)
	helper := compileC(t, "fexec", agFexecveC)
	// 140000 bytes: over MAX_ARG_STRLEN
	const long = `"$(printf %0140000d 0)"`
	for _, tc := range []struct {
		name string
		argv []string
	}{
		{"classic", []string{"sh", "-c", "cd /bin && ./ls >/dev/null"}},
		{"script", []string{s1}},
		{"script whose interpreter is a script", []string{s2}},
		{"three scripts deep", []string{"sh", "-c", s3 + "; true"}},
		{"missing", []string{"sh", "-c", dir + "/missing 2>/dev/null; true"}},
		{"not executable", []string{"sh", "-c", dir + "/plain 2>/dev/null; true"}},
		{"argv over the stack limit (E2BIG)", []string{"sh", "-c", "/bin/true $(seq 400000) 2>/dev/null; true"}},
		{"one argument over MAX_ARG_STRLEN (E2BIG)", []string{"sh", "-c", "/bin/true " + long + " 2>/dev/null; true"}},
		{"environment over MAX_ARG_STRLEN (E2BIG)", []string{"sh", "-c", "X=" + long + " /bin/true 2>/dev/null; true"}},
		{"small stack limit (E2BIG)", []string{"sh", "-c", "ulimit -s 256; /bin/true $(seq 30000) 2>/dev/null; true"}},
		{"small stack limit, fits", []string{"sh", "-c", "ulimit -s 256; /bin/true $(seq 5000); true"}},
		{"fexecve of a script", []string{helper, "fexecve", s1, "s1"}},
		{"fexecve of a script, O_CLOEXEC (ENOENT)", []string{"sh", "-c", helper + " fexecve-cloexec " + s1 + " s1 2>/dev/null; true"}},
		{"fexecve of a program, O_CLOEXEC", []string{helper, "fexecve-cloexec", "/usr/bin/true", "true"}},
		{"execveat dirfd", []string{helper, "dirfd", s1, "s1"}},
		{"execveat close-on-exec dirfd, script (ENOENT)", []string{"sh", "-c", helper + " dirfd-cloexec " + s1 + " s1 2>/dev/null; true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got [2][]map[string]any
			for i, b := range []string{"notify", "ptrace"} {
				r := runTrail(t, Opts{Flags: []string{"--backend", b}, Dir: dir}, tc.argv...)
				noPanic(t, r.Stderr)
				for _, e := range r.Execs() {
					got[i] = append(got[i], agFields(e))
				}
			}
			n, p := got[0], got[1]
			if len(n) != len(p) {
				t.Fatalf("%d exec records under notify, %d under ptrace:\nnotify:\n%s\nptrace:\n%s", len(n), len(p), agDump(n), agDump(p))
			}
			for i := range n {
				for _, k := range agCompared {
					if fmt.Sprint(n[i][k]) != fmt.Sprint(p[i][k]) {
						t.Errorf("exec record %d: %s is %v under notify, %v under ptrace:\nnotify: %s\nptrace: %s", i+1, k, n[i][k], p[i][k], agDump(n[i:i+1]), agDump(p[i:i+1]))
					}
				}
			}
		})
	}
}

// agCompared are the exec record fields both backends must agree on
// (not pid, time, seq, verified, error_detail or read_error, which
// differ by design).
var agCompared = []string{"path", "executable", "argv", "argv_truncated", "cwd", "interpreter", "interpreter_chain", "error", "uid", "syscall", "abi", "cgroup"}

func agFields(r Record) map[string]any {
	m := map[string]any{}
	for _, k := range agCompared {
		if v, ok := r.Raw[k]; ok {
			if k == "argv" && len(fmt.Sprint(v)) > 200 {
				v = fmt.Sprintf("%d arguments, %d bytes", len(r.Argv), len(fmt.Sprint(v)))
			}
			m[k] = v
		} else {
			m[k] = "(absent)"
		}
	}
	return m
}

func agDump(recs []map[string]any) string {
	var b strings.Builder
	for _, m := range recs {
		j, _ := json.Marshal(m)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}
