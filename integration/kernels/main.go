// Command kernels runs the integration suite inside other Linux kernels
// (`make test-kernels`): each kernel of -kernels boots under
// qemu-system-x86_64 with software emulation (TCG; KVM is not needed) from
// an initramfs this program builds, runs the suite once per backend there
// and streams the results back over a serial port. It exits non-zero when
// any test fails in any guest, or a guest does not report.
//
// The kernels: "6.1" is Debian 12's cloud kernel
// (linux-image-6.1.0-N-cloud-amd64-unsigned, the newest N apt knows),
// fetched with `apt-get download` into -cache (default
// ~/.cache/exectrail/kernels) on first use and reused after that; any
// cached 6.1 package is used before asking apt. "6.12" is Debian 12's
// 6.12 cloud kernel (linux-image-6.12.N+deb12-cloud-amd64-unsigned), the
// same way; it is not in make test's list. "host" is the running
// kernel's own image, /boot/vmlinuz-$(uname -r), as a control; where the
// machine has no such image (a VM whose kernel is given by the
// hypervisor, like the project's machines) it says so and is skipped: the
// native `make integration` run is then the only 6.18 run.
//
// The guest needs no disk and no modules: its root is the initramfs, an
// uncompressed cpio (the kernel unpacks it into a tmpfs) holding
//
//   - /init, a busybox script (-busybox, static) that mounts proc, sysfs,
//     cgroup2, devtmpfs, devpts and tmpfs on /tmp, /run and /dev/shm, then
//     runs the suite for each backend and powers off;
//   - the host's own programs that the tests run — the Debian packages of
//     -packages (dash, bash, coreutils, …) as dpkg lists them, at the same
//     paths, and every shared library they load (read from their ELF
//     headers) — so records name the same executables as on the host;
//   - the static exectrail (-exectrail), the suite compiled with `go test
//     -c` (-test) and its helper programs (-helpers): the tests compile C
//     helpers with gcc and a Go program with go, neither of which is in
//     the guest, so they run with EXECTRAIL_HELPERS set to the directory
//     the host run filled (harness_test.go, prebuilt) and fail, saying so,
//     for a helper that is not there.
//
// Results come back on the second serial port (the first is the kernel's
// console, saved next to the logs in -out): `go test -v` output, one
// marker line per backend with its exit status, a final marker. Everything
// is written to -out/KERNEL.log; failures and skips are printed.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

type config struct {
	kernels  []string
	cache    string
	out      string
	exe      string
	test     string
	helpers  string
	testdata string
	busybox  string
	packages []string
	backends []string
	run      string
	skip     string
	env      []string
	cmd      string
	timeout  time.Duration
	smp      int
	parallel bool
	mem      string
}

func main() {
	var c config
	home, _ := os.UserHomeDir()
	kernels := flag.String("kernels", "6.1,host", "comma-separated kernels to boot: 6.1 or 6.12 (Debian 12's cloud kernels), host (/boot/vmlinuz-$(uname -r)), or a path to a bzImage")
	flag.StringVar(&c.cache, "cache", filepath.Join(home, ".cache", "exectrail", "kernels"), "where downloaded kernel packages are kept")
	flag.StringVar(&c.out, "out", "bin/kernels", "directory for the initramfs, the logs and the guests' consoles")
	flag.StringVar(&c.exe, "exectrail", "bin/exectrail", "the static exectrail binary (make build)")
	flag.StringVar(&c.test, "test", "bin/integration.test", "the integration suite, built with go test -c")
	flag.StringVar(&c.helpers, "helpers", "bin/helpers", "the suite's prebuilt helper programs (EXECTRAIL_HELPERS of a host run)")
	flag.StringVar(&c.testdata, "testdata", "integration/testdata", "the suite's testdata directory")
	flag.StringVar(&c.busybox, "busybox", "/bin/busybox", "a static busybox")
	packages := flag.String("packages", "dash,bash,coreutils,util-linux,mount,bsdutils,grep,sed,findutils,procps,busybox-static", "host Debian packages the guest gets")
	backends := flag.String("backends", "notify,ptrace", "backends to run the suite with")
	flag.StringVar(&c.run, "run", "", "go test -run pattern in the guest")
	flag.StringVar(&c.skip, "skip", "", "go test -skip pattern in the guest")
	flag.StringVar(&c.cmd, "cmd", "", "a shell command to run in the guest instead of the suite (for measurements; its status is reported as backend \"cmd\")")
	env := flag.String("env", "", "space-separated KEY=VALUE pairs for the suite in the guest (e.g. the test-only EXECTRAIL_TEST_* knobs)")
	flag.DurationVar(&c.timeout, "timeout", 40*time.Minute, "time limit of one guest")
	flag.IntVar(&c.smp, "smp", 2, "guest CPUs")
	flag.BoolVar(&c.parallel, "parallel", true, "one guest per backend, at the same time (else one guest runs the backends in turn)")
	flag.StringVar(&c.mem, "mem", "2G", "guest memory")
	flag.Parse()
	c.kernels = splitList(*kernels, ",")
	c.packages = splitList(*packages, ",")
	c.backends = splitList(*backends, ",")
	if c.cmd != "" {
		c.backends = []string{"cmd"}
	}
	c.env = splitList(*env, " ")
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "kernels:", err)
		os.Exit(1)
	}
}

func splitList(s, sep string) []string {
	var out []string
	for _, f := range strings.Split(s, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run(c config) error {
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	for _, e := range c.env {
		if !strings.Contains(e, "=") || strings.ContainsAny(e, "'\"\\$`") {
			return fmt.Errorf("-env %q: want KEY=VALUE without quotes or $", e)
		}
	}
	start := time.Now()
	initrd := filepath.Join(c.out, "initramfs.cpio")
	n, size, err := buildInitramfs(c, initrd)
	if err != nil {
		return fmt.Errorf("building the initramfs: %w", err)
	}
	fmt.Printf("kernels: initramfs %s: %d files, %.1f MiB, in %v\n", initrd, n, float64(size)/(1<<20), time.Since(start).Round(time.Millisecond))
	var failed []string
	for _, k := range c.kernels {
		img, err := kernelImage(c, k)
		if errors.Is(err, errNotBootable) {
			fmt.Printf("kernels: %s: skipped: %v\n", k, err)
			continue
		}
		if err != nil {
			return fmt.Errorf("kernel %s: %w", k, err)
		}
		// One guest per backend, all at once: the suite runs its tests
		// mostly one after another, so a guest keeps about one CPU busy.
		groups := [][]string{c.backends}
		if c.parallel {
			groups = nil
			for _, b := range c.backends {
				groups = append(groups, []string{b})
			}
		}
		errs := make(chan error, len(groups))
		names := make([]string, len(groups))
		for i, g := range groups {
			names[i] = k + "/" + strings.Join(g, ",")
			go func() { errs <- boot(c, names[i], img, initrd, g) }()
		}
		for range groups {
			if err := <-errs; err != nil {
				say("kernels: FAIL: %v\n", err)
				failed = append(failed, k)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("the suite failed in the guest of %s (logs in %s)", strings.Join(failed, ", "), c.out)
	}
	return nil
}

// marker starts the lines /init writes about the run itself.
const marker = "@@exectrail-guest "

var (
	backendRE = regexp.MustCompile(`^` + marker + `backend=(\S+) rc=(\d+) seconds=(\d+)`)
	// Lines worth showing while the guest runs; the rest is in the log.
	showRE = regexp.MustCompile(`^(\s*--- (FAIL|SKIP)|FAIL|ok |PASS$|panic:|doctor: |` + marker + `)`)
)

// boot runs one guest and reads its results.
func boot(c config, name, img, initrd string, backends []string) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
	}()
	safe := strings.NewReplacer("/", "-", ",", "-", " ", "_").Replace(name)
	logPath := filepath.Join(c.out, safe+".log")
	consolePath := filepath.Join(c.out, safe+".console")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	args := []string{
		"-accel", "tcg,thread=multi", "-cpu", "max",
		"-smp", fmt.Sprint(c.smp), "-m", c.mem,
		"-nodefaults", "-no-reboot", "-display", "none",
		"-kernel", img, "-initrd", initrd,
		// no_timer_check: an emulated CPU on a busy host can be too slow
		// for the boot-time check that the IO-APIC timer ticks, which
		// then panics ("IO-APIC + timer doesn't work!").
		"-append", "console=ttyS0 panic=-1 no_timer_check rdinit=/init exectrail_backends=" + strings.Join(backends, ","),
		"-serial", "file:" + consolePath,
		"-serial", "stdio",
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	say("kernels: %s: booting %s (log: %s)\n", name, img, logPath)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	results := map[string]string{}
	kernel, done := "", false
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		fmt.Fprintln(logf, line)
		if showRE.MatchString(line) {
			say("[%s] %s\n", name, line)
		}
		if m := backendRE.FindStringSubmatch(line); m != nil {
			results[m[1]] = m[2]
		}
		if r, ok := strings.CutPrefix(line, marker+"kernel="); ok {
			kernel = r
		}
		if line == marker+"done" {
			done = true
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	werr := cmd.Wait()
	say("kernels: %s: guest ran %v (kernel %s)\n", name, time.Since(start).Round(time.Second), kernel)
	if ctx.Err() != nil {
		return fmt.Errorf("the guest did not finish within %v; console: %s", c.timeout, tail(consolePath))
	}
	if !done {
		return fmt.Errorf("the guest stopped before reporting (qemu: %v); console: %s", werr, tail(consolePath))
	}
	var bad []string
	for _, b := range backends {
		rc, ok := results[b]
		if !ok {
			bad = append(bad, b+": no result")
		} else if rc != "0" {
			bad = append(bad, b+": exit "+rc)
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; ") + " (log: " + logPath + ")")
	}
	return nil
}

var sayMu sync.Mutex

// say prints one line of progress; guests run at the same time.
func say(format string, args ...any) {
	sayMu.Lock()
	defer sayMu.Unlock()
	fmt.Printf(format, args...)
}

// tail returns the last lines of the guest's console, for a guest that
// crashed or hung.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return "\n" + strings.Join(lines, "\n")
}
