package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exectrail/exectrail/procfs"
)

// runDoctor runs prefix... followed by `exectrail doctor ARGS` and returns
// its stdout and exit status.
func runDoctor(t *testing.T, prefix []string, cred *syscall.Credential, args ...string) (string, int) {
	t.Helper()
	// The binary as a copy nobody can reach when the checkout is not
	// (a clone under a 0700 directory): some runs are unprivileged.
	argv := append(append(append([]string{}, prefix...), nobodyBinary(t), "doctor"), args...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		code = ee.ExitCode()
	default:
		t.Fatalf("%q: %v\nstderr: %s", argv, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("doctor wrote to stderr: %s", stderr.String())
	}
	return stdout.String(), code
}

func doctorJSON(t *testing.T, prefix []string, cred *syscall.Credential) (*doctorReport, int) {
	t.Helper()
	out, code := runDoctor(t, prefix, cred, "--format", "json")
	var r doctorReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("doctor --format json is not JSON: %v\n%s", err, out)
	}
	return &r, code
}

// under returns a prefix that runs doctor under `exectrail run`.
func under(t *testing.T, backend string) []string {
	return []string{exectrail, "run", "-o", filepath.Join(t.TempDir(), "records.jsonl"), "--backend", backend, "--"}
}

// TestDoctor: on these machines (root, Linux 6.18) every check that can
// fail passes, both backends work and auto picks ptrace.
func TestDoctor(t *testing.T) {
	requireRoot(t)
	r, code := doctorJSON(t, nil, nil)
	if code != 0 || !r.OK || !r.Notify.Works || !r.Ptrace.Works || r.Auto != "ptrace" {
		t.Errorf("exit %d, ok %v, notify %v, ptrace %v, auto %q; want 0, everything working, auto ptrace", code, r.OK, r.Notify.Works, r.Ptrace.Works, r.Auto)
	}
	for _, id := range []string{"kernel", "seccomp", "listener", "wait_killable_recv", "user_notif", "ptrace", "tracer",
		"no_new_privs", "proc"} {
		r.want(t, id, "ok")
	}
	// cgroup: ✓ with the cgroup2 mount named, where there is one (a test
	// VM's guest may have none: then ✗).
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if m := procfs.Cgroup2Mount(mi); m != "" {
		r.want(t, "cgroup", "ok", "cgroup v2", m)
	} else {
		r.want(t, "cgroup", "fail", "no cgroup_id")
	}
	r.want(t, "user_notif", "ok", "received and answered one notification")
	r.want(t, "container", "info")
	// The facts that depend on the kernel's version (the suite also runs
	// on older kernels in a VM, issue 21): doctor must report each as
	// the kernel has it.
	since := func(major, minor int) bool { return kernelAtLeast(t, major, minor) }
	pick := func(ok bool, yes, no string) string {
		if ok {
			return yes
		}
		return no
	}
	r.want(t, "pidfd_get_info", pick(since(6, 13), "ok", "fail"))
	r.want(t, "pidfd_thread", pick(since(6, 9), "ok", "fail"))
	r.want(t, "sync_wake_up", "info", pick(since(6, 6), "accepted", "refused"))
	r.want(t, "binfmt_misc", "info", pick(since(6, 7), "per user namespace", "not mountable in a user namespace"))

	// The text form: one line per check, ✓/✗/· first, then the verdict.
	out, code := runDoctor(t, nil, nil)
	if code != 0 {
		t.Errorf("doctor (text) exited %d", code)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(r.Checks)+3 {
		t.Fatalf("%d lines for %d checks, want one each and 3 more:\n%s", len(lines), len(r.Checks), out)
	}
	for i, c := range r.Checks {
		sym := map[string]string{"ok": "✓", "fail": "✗", "info": "·"}[c.Status]
		if f := strings.Fields(lines[i]); len(f) < 3 || f[0] != sym || f[1] != c.ID {
			t.Errorf("line %d %q, want %s %s …", i+1, lines[i], sym, c.ID)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "--backend auto would pick ptrace") {
		t.Errorf("last line %q, want the backend auto would pick", last)
	}
}

// TestDoctorUnderListener: under exectrail --backend notify, a second
// listener gets EBUSY; auto would take ptrace, which works.
func TestDoctorUnderListener(t *testing.T) {
	requireRoot(t)
	r, code := doctorJSON(t, under(t, "notify"), nil)
	r.want(t, "listener", "fail", "EBUSY")
	r.want(t, "user_notif", "fail", "EBUSY")
	if code != 0 || r.Notify.Works || !r.Ptrace.Works || r.Auto != "ptrace" {
		t.Errorf("exit %d, notify %v, ptrace %v, auto %q; want 0, notify broken, ptrace working, auto ptrace", code, r.Notify.Works, r.Ptrace.Works, r.Auto)
	}
}

// TestDoctorUnderTracer: under exectrail --backend ptrace, which traces
// every child of the doctor, ptrace cannot attach; notify works.
func TestDoctorUnderTracer(t *testing.T) {
	requireRoot(t)
	r, code := doctorJSON(t, under(t, "ptrace"), nil)
	r.want(t, "ptrace", "fail", "EPERM", "already traced by PID", "(exectrail)")
	r.want(t, "tracer", "fail", "traced by PID")
	if code != 0 || !r.Notify.Works || r.Ptrace.Works || r.Auto != "notify" {
		t.Errorf("exit %d, notify %v, ptrace %v, auto %q; want 0, notify working, ptrace broken, auto notify", code, r.Notify.Works, r.Ptrace.Works, r.Auto)
	}
}

// denySrc installs a seccomp filter that fails the calls named by argv[1]
// as a container runtime's profile, or an older kernel, would, then execs
// argv[2...]:
//
//	ptrace    ptrace: EPERM (older Docker profiles)
//	seccomp   seccomp() and prctl(PR_SET_SECCOMP): EPERM
//	killable  seccomp() with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: EINVAL (Linux < 5.19)
//	pidfd     pidfd_open: ENOSYS (Linux < 5.3)
const denySrc = `
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define ARG(n) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[n]))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ALLOW RET(SECCOMP_RET_ALLOW)
#define ERR(e) RET(SECCOMP_RET_ERRNO | (e))

int main(int argc, char **argv) {
	if (argc < 3) return 2;
	struct sock_filter ptrace[] = {
		NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ptrace, 0, 1), ERR(EPERM), ALLOW,
	};
	struct sock_filter seccomp[] = {
		NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, 3),
		ARG(0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, 0, 1),
		ERR(EPERM), ALLOW,
	};
	struct sock_filter killable[] = {
		NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 3),
		ARG(1), /* flags, low 32 bits */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, 0, 1),
		ERR(EINVAL), ALLOW,
	};
	struct sock_filter pidfd[] = {
		NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pidfd_open, 0, 1), ERR(ENOSYS), ALLOW,
	};
	struct sock_fprog prog;
#define USE(f) if (strcmp(argv[1], #f) == 0) { prog.len = sizeof f / sizeof f[0]; prog.filter = f; } else
	USE(ptrace) USE(seccomp) USE(killable) USE(pidfd) { fprintf(stderr, "deny: unknown %s\n", argv[1]); return 2; }
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("deny: installing the filter");
		return 2;
	}
	execv(argv[2], argv + 2);
	perror("deny: exec");
	return 2;
}
`

// TestDoctorSeccompDeniesPtrace: under a seccomp profile that refuses
// ptrace (as older Docker profiles do), ptrace fails and says a filter may
// be why; notify still works.
func TestDoctorSeccompDeniesPtrace(t *testing.T) {
	deny := compileC(t, "deny", denySrc)
	r, code := doctorJSON(t, []string{deny, "ptrace"}, nil)
	r.want(t, "ptrace", "fail", "EPERM", "1 seccomp filter(s)", "may refuse ptrace")
	r.want(t, "no_new_privs", "fail", "already set")
	if code != 0 || !r.Notify.Works || r.Ptrace.Works || r.Auto != "notify" {
		t.Errorf("exit %d, notify %v, ptrace %v, auto %q; want 0, notify working, ptrace broken, auto notify", code, r.Notify.Works, r.Ptrace.Works, r.Auto)
	}
	// And run agrees: auto falls back to notify and says what it gives up.
	code, stderr := runStatus(t, deny, "ptrace", exectrail, "run", "-o", os.DevNull, "--backend", "auto", "--", "true")
	if code != 0 || !strings.HasPrefix(stderr, "exectrail: warning: ") || !strings.Contains(stderr, "using --backend notify") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("run --backend auto where ptrace is refused: exit %d, stderr %q; want 0 and one warning that it uses notify", code, stderr)
	}
}

// TestDoctorSeccompDeniesSeccomp: under a profile that refuses seccomp
// itself, no backend works: exit 1, and auto has nothing to pick.
func TestDoctorSeccompDeniesSeccomp(t *testing.T) {
	deny := compileC(t, "deny", denySrc)
	r, code := doctorJSON(t, []string{deny, "seccomp"}, nil)
	r.want(t, "seccomp", "fail", "EPERM", "1 seccomp filter(s)")
	r.want(t, "user_notif", "fail")
	r.want(t, "ptrace", "fail", "SECCOMP_RET_TRACE", "EPERM")
	if code != 1 || r.OK || r.Notify.Works || r.Ptrace.Works || r.Auto != "" {
		t.Errorf("exit %d, ok %v, notify %v, ptrace %v, auto %q; want 1, nothing working, no auto", code, r.OK, r.Notify.Works, r.Ptrace.Works, r.Auto)
	}
	out, code := runDoctor(t, []string{deny, "seccomp"}, nil)
	if code != 1 || !strings.Contains(out, "✗ seccomp ") || !strings.Contains(out, "--backend auto would fail") {
		t.Errorf("text doctor: exit %d, want 1 with ✗ seccomp and no auto:\n%s", code, out)
	}
}

// TestDoctorUnprivileged: as nobody both backends work, and doctor says
// what no_new_privs costs.
func TestDoctorUnprivileged(t *testing.T) {
	requireRoot(t)
	r, code := doctorJSON(t, nil, nobody)
	r.want(t, "no_new_privs", "fail", "not root (uid 65534)")
	r.want(t, "seccomp", "ok", "with no_new_privs")
	if code != 0 || !r.Notify.Works || !r.Ptrace.Works || r.Auto != "ptrace" {
		t.Errorf("exit %d, notify %v, ptrace %v, auto %q; want 0, both working, auto ptrace", code, r.Notify.Works, r.Ptrace.Works, r.Auto)
	}
}

// TestDoctorHidepid: a /proc mounted with hidepid=2 (on a private mount
// namespace) hides other users' processes from an unprivileged exectrail.
func TestDoctorHidepid(t *testing.T) {
	requireRoot(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		skipf(t, "needs unshare (util-linux)")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		skipf(t, "needs setpriv (util-linux)")
	}
	prefix := []string{unshare, "--mount", "--propagation", "private", "--", "sh", "-c",
		`mount -t proc -o hidepid=2 proc /proc && exec "$0" --reuid 65534 --regid 65534 --clear-groups "$@"`, setpriv}
	r, code := doctorJSON(t, prefix, nil)
	r.want(t, "proc", "fail", "hidepid=invisible", "not privileged")
	if code != 0 || !r.Notify.Works {
		t.Errorf("exit %d, notify %v: want 0, notify working", code, r.Notify.Works)
	}
	// As root, hidepid hides nothing from exectrail.
	prefix = []string{unshare, "--mount", "--propagation", "private", "--", "sh", "-c",
		`mount -t proc -o hidepid=2 proc /proc && exec "$0" "$@"`}
	r, _ = doctorJSON(t, prefix, nil)
	r.want(t, "proc", "ok", "hidepid=invisible", "CAP_SYS_PTRACE")
}

// TestRunStartErrorNamesDoctor: a run that cannot start its job says
// where to look.
func TestRunStartErrorNamesDoctor(t *testing.T) {
	for _, b := range []string{"notify", "ptrace"} {
		t.Run(b, func(t *testing.T) {
			inner := []string{exectrail, "run", "-o", os.DevNull, "--backend", b, "--", "true"}
			cmd := exec.Command(exectrail, append([]string{"run", "-o", os.DevNull, "--backend", b, "--"}, inner...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 125 {
				t.Fatalf("%s under %s: %v, want exit 125\n%s", b, b, err, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "exectrail: ") || !strings.HasSuffix(lines[0], " (run 'exectrail doctor' for details)") {
				t.Errorf("stderr %q: want one line ending with the doctor hint", stderr.String())
			}
		})
	}
}

// runStatus runs argv and returns its exit status and stderr.
func runStatus(t *testing.T, argv ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &ee) && ee.Exited():
		return ee.ExitCode(), stderr.String()
	}
	t.Fatalf("%q: %v", argv, err)
	return 0, ""
}

// TestDoctorNoWaitKillableRecv: where seccomp() refuses
// WAIT_KILLABLE_RECV (as kernels before 5.19 do), doctor says notify
// cannot work and that auto takes ptrace, and run agrees: notify fails
// to start, auto and ptrace work.
func TestDoctorNoWaitKillableRecv(t *testing.T) {
	deny := compileC(t, "deny", denySrc)
	r, code := doctorJSON(t, []string{deny, "killable"}, nil)
	r.want(t, "wait_killable_recv", "fail", "refuses SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
	r.want(t, "user_notif", "ok", "without WAIT_KILLABLE_RECV")
	if code != 0 || r.Notify.Works || !r.Ptrace.Works || r.Auto != "ptrace" {
		t.Errorf("exit %d, notify %v, ptrace %v, auto %q (%s); want 0, only ptrace working, auto ptrace", code, r.Notify.Works, r.Ptrace.Works, r.Auto, r.AutoWhy)
	}
	for b, want := range map[string]int{"auto": 0, "notify": 125, "ptrace": 0} {
		code, stderr := runStatus(t, deny, "killable", exectrail, "run", "-o", os.DevNull, "--backend", b, "--", "true")
		if code != want {
			t.Errorf("run --backend %s under the filter: exit %d, want %d\n%s", b, code, want, stderr)
		}
		if want == 125 && !strings.HasSuffix(strings.TrimSpace(stderr), "(run 'exectrail doctor' for details)") {
			t.Errorf("run --backend %s: %q does not name doctor", b, stderr)
		}
	}
}

// TestDoctorNoPidfd: without pidfd_open (kernels before 5.3, or a
// profile that refuses it) both pidfd checks fail, and run still works.
func TestDoctorNoPidfd(t *testing.T) {
	deny := compileC(t, "deny", denySrc)
	r, code := doctorJSON(t, []string{deny, "pidfd"}, nil)
	r.want(t, "pidfd_get_info", "fail", "pidfd_open(PIDFD_THREAD)", "/proc/PID/status instead")
	r.want(t, "pidfd_thread", "fail", "ENOSYS")
	if code != 0 || !r.Notify.Works || r.Auto != "ptrace" {
		t.Errorf("exit %d, notify %v, auto %q; want 0, notify working, auto ptrace", code, r.Notify.Works, r.Auto)
	}
	if code, stderr := runStatus(t, deny, "pidfd", exectrail, "run", "-o", os.DevNull, "--backend", backend, "--", "true"); code != 0 {
		t.Errorf("run under the filter: exit %d\n%s", code, stderr)
	}
}

// TestDoctorProcOtherPidNS: in a new pid namespace with the old /proc,
// run refuses to start, so doctor says no backend works (exit 1).
func TestDoctorProcOtherPidNS(t *testing.T) {
	requireRoot(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		skipf(t, "needs unshare (util-linux)")
	}
	prefix := []string{unshare, "--pid", "--fork", "--"}
	r, code := doctorJSON(t, prefix, nil)
	r.want(t, "proc", "fail", "does not belong to exectrail's pid namespace")
	if code != 1 || r.OK || r.Notify.Works || r.Ptrace.Works || r.Auto != "" {
		t.Errorf("exit %d, ok %v, notify %v, ptrace %v, auto %q; want 1, nothing working", code, r.OK, r.Notify.Works, r.Ptrace.Works, r.Auto)
	}
	if code, stderr := runStatus(t, append(prefix, exectrail, "run", "-o", os.DevNull, "--", "true")...); code != 125 || !strings.HasSuffix(strings.TrimSpace(stderr), "(run 'exectrail doctor' for details)") {
		t.Errorf("run there: exit %d, %q; want 125 naming doctor", code, stderr)
	}
}

// TestDoctorNoCgroup: with the cgroup filesystems unmounted (in a private
// mount namespace), doctor says records carry no cgroup_id.
func TestDoctorNoCgroup(t *testing.T) {
	requireRoot(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		skipf(t, "needs unshare (util-linux)")
	}
	prefix := []string{unshare, "--mount", "--propagation", "private", "--", "sh", "-c",
		`for m in $(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i+1) ~ /^cgroup2?$/) print $5; break } }' /proc/self/mountinfo | sort -r); do umount -l "$m" || exit 1; done; exec "$0" "$@"`}
	r, code := doctorJSON(t, prefix, nil)
	r.want(t, "cgroup", "fail", "no cgroup filesystem mounted", "no cgroup_id")
	if code != 0 || !r.Notify.Works {
		t.Errorf("exit %d, notify %v; want 0, notify working", code, r.Notify.Works)
	}
}

// TestDoctorRootWithoutCapSysAdmin: root without CAP_SYS_ADMIN (Docker's
// default) must load the filter with no_new_privs; doctor's probe takes
// the same fallback as run and says what it costs.
func TestDoctorRootWithoutCapSysAdmin(t *testing.T) {
	requireRoot(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		skipf(t, "needs setpriv (util-linux)")
	}
	prefix := []string{setpriv, "--bounding-set=-sys_admin"}
	r, code := doctorJSON(t, prefix, nil)
	r.want(t, "no_new_privs", "fail", "root without CAP_SYS_ADMIN")
	r.want(t, "seccomp", "ok", "with no_new_privs")
	if code != 0 || !r.Notify.Works || !r.Ptrace.Works {
		t.Errorf("exit %d, notify %v, ptrace %v; want 0, both working", code, r.Notify.Works, r.Ptrace.Works)
	}
}
