package integration

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// staticBusybox is Debian's busybox-static (make deps installs it).
const staticBusybox = "/bin/busybox"

// requireStaticBusybox skips unless staticBusybox is a static executable.
func requireStaticBusybox(t *testing.T) {
	t.Helper()
	f, err := elf.Open(staticBusybox)
	if err != nil {
		skipf(t, "needs Debian's busybox-static (make deps installs it): %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			skipf(t, "%s is dynamically linked: needs Debian's busybox-static, not busybox", staticBusybox)
		}
	}
}

// TestStaticBinary: bin/exectrail has no program interpreter and no
// shared libraries, so an image needs nothing else to run it.
func TestStaticBinary(t *testing.T) {
	f, err := elf.Open(exectrail)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("bin/exectrail has a %v program header: it is not statically linked", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) != 0 {
		t.Errorf("bin/exectrail needs shared libraries %q (%v)", libs, err)
	}
}

// TestChrootBusybox runs exectrail (doctor, then run) in a root filesystem
// that holds nothing but exectrail, a static busybox and a /proc mount: no
// dynamic loader, no C library, no /etc, no /dev. The proc mount is made in a private mount
// namespace, so nothing outside the test sees it.
func TestChrootBusybox(t *testing.T) {
	requireRoot(t)
	requireStaticBusybox(t)
	tools := map[string]string{}
	for _, tool := range []string{"unshare", "chroot", "mount"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			skipf(t, "needs %s (util-linux, coreutils)", tool)
		}
		tools[tool] = p
	}
	root := t.TempDir()
	for _, d := range []string{"bin", "proc"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, exectrail, filepath.Join(root, "bin", "exectrail"), 0o755)
	copyFile(t, staticBusybox, filepath.Join(root, "bin", "busybox"), 0o755)

	script := `"$3" -t proc proc "$1/proc" && "$4" "$1" /bin/exectrail doctor --format json >"$1/doctor.json" && exec "$4" "$1" /bin/exectrail run -o /records.jsonl --format json --backend "$2" -- /bin/busybox sh -c 'cd /bin && ./busybox true'`
	cmd := exec.Command(tools["unshare"], "--mount", "--propagation", "private", "--",
		"sh", "-c", script, "sh", root, backend, tools["mount"], tools["chroot"])
	cmd.Env = []string{"PATH=/bin"} // the chroot's: busybox's applets are not linked
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("exectrail in the chroot: %v\n%s", err, out)
	}
	// doctor works there too, and finds both backends working.
	doc, err := os.ReadFile(filepath.Join(root, "doctor.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep doctorReport
	if err := json.Unmarshal(doc, &rep); err != nil {
		t.Fatalf("doctor in the chroot: %v\n%s", err, doc)
	}
	if !rep.OK || !rep.Notify.Works || !rep.Ptrace.Works {
		t.Errorf("doctor in the chroot: ok %v, notify %v, ptrace %v; want everything working\n%s", rep.OK, rep.Notify.Works, rep.Ptrace.Works, doc)
	}
	data, err := os.ReadFile(filepath.Join(root, "records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recs := parseRecords(t, data)
	var execs []Record
	for _, r := range recs {
		if r.Event == "exec" {
			execs = append(execs, r)
		}
	}
	if len(execs) != 2 {
		t.Fatalf("want 2 exec records (busybox sh, ./busybox true), got %d\n%s", len(execs), dump(recs))
	}
	wantExec(t, execs[0], "/bin/busybox", "/bin/busybox", "/")
	wantExec(t, execs[1], "./busybox", "/bin/busybox", "/bin")
	if got := execs[1].Argv; len(got) != 2 || got[0] != "./busybox" || got[1] != "true" {
		t.Errorf("argv %q, want [./busybox true]", got)
	}
	for _, r := range execs {
		if r.Error != "" {
			t.Errorf("exec %q: error %s", r.Path, r.Error)
		}
		if backend == "ptrace" && (r.Verified == nil || !*r.Verified) {
			t.Errorf("exec %q: not verified under ptrace", r.Path)
		}
	}
	last := recs[len(recs)-1]
	if last.Event != "exit" || last.ExitCode == nil || *last.ExitCode != 0 {
		t.Errorf("last record %s, want the command's exit 0", dump([]Record{last}))
	}
}
