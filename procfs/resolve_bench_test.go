package procfs

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkResolve resolves exec paths for the test process's own /proc
// entry, as the supervisor does for a held exec: no kernel round trip to a
// tracee, only the /proc and path-walk work per record.
func BenchmarkResolve(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(dir+"/script", []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		b.Fatal(err)
	}
	b.Chdir("/bin")
	task := openTask(b, "/proc", os.Getpid())
	id, err := task.Ident()
	if err != nil {
		b.Fatal(err)
	}
	cred := id.Cred(task)
	r := &Resolver{ProcRoot: "/proc"}
	for _, c := range []struct{ name, path string }{
		{"absolute", "/usr/bin/true"},
		{"symlinked-dir", "/bin/true"}, // /bin -> usr/bin on merged-/usr systems
		{"relative", "./true"},
		{"script", dir + "/script"},
		{"missing", "/usr/bin/no-such-program"},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := ExecRequest{DirFD: unix.AT_FDCWD, Path: []byte(c.path)}
			b.ReportAllocs()
			for b.Loop() {
				r.Resolve(task, os.Getpid(), cred, req)
			}
		})
	}
}

// BenchmarkTaskOpenStatus is the per-record cost of getting at a task:
// opening its /proc directory and reading and parsing its status.
func BenchmarkTaskOpenStatus(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		task, err := OpenTask("/proc", os.Getpid())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := task.Status(); err != nil {
			b.Fatal(err)
		}
		task.Close()
	}
}

// BenchmarkIdent is what replaced reading status on the exec path: one
// pidfd_open, one PIDFD_GET_INFO, one close.
func BenchmarkIdent(b *testing.B) {
	if !pidfdInfoAvailable() {
		b.Skip("no PIDFD_GET_INFO")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := IdentOf(os.Getpid()); err != nil {
			b.Fatal(err)
		}
	}
}
