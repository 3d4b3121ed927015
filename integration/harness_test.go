package integration

// The harness: what every integration test shares, without file
// prefixes. In order: the binary under test and TestMain; skips (skipf,
// requireRoot, requireKernel); the records (Record, Run) and runTrail,
// which runs a job and checks what every log must satisfy; C helpers
// (compileC, prebuilt); checks of records (wantExec, wantArgv,
// checkExit); then processes, cgroups, and programs and files, each
// section introduced below. Terminals and --record sessions are in
// harness_tty_test.go.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/exectrail/exectrail/supervisor/chain"
	"golang.org/x/sys/unix"
)

var (
	repoRoot  string
	exectrail string // absolute path of the binary under test
	// backend is the --backend every test runs with unless it names one
	// itself. `make integration` runs the suite once per backend
	// (EXECTRAIL_BACKEND=notify, then ptrace): one table of backends, in
	// the Makefile, not copies of the tests.
	backend = envOr("EXECTRAIL_BACKEND", "notify")
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func TestMain(m *testing.M) {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	repoRoot = filepath.Dir(wd)
	exectrail = filepath.Join(repoRoot, "bin", "exectrail")
	// EXECTRAIL_BIN names a binary built beforehand: inside the kernel
	// test guests (make test-kernels), which have no Go toolchain.
	if bin := os.Getenv("EXECTRAIL_BIN"); bin != "" {
		exectrail = bin
		os.Exit(runTests(m))
	}
	// The binary under test is the one `make build` makes (static, with
	// the Makefile's flags): the Makefile holds the only definition.
	build := exec.Command("make", "--no-print-directory", "-s", "binary", "BIN="+exectrail)
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building exectrail:", err)
		os.Exit(2)
	}
	os.Exit(runTests(m))
}

// runTests runs the tests once exectrail is built, with the copy of it
// that nobody can run made first (nobodyCopy) and removed after.
func runTests(m *testing.M) int {
	dir, err := nobodyCopy()
	if dir != "" {
		defer os.RemoveAll(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "copying exectrail for nobody:", err)
		return 2
	}
	return m.Run()
}

// inCI reports whether skips must be failures.
func inCI() bool { return os.Getenv("CI") == "true" }

// skipf skips the test, or fails it under CI where everything must run.
func skipf(t *testing.T, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf("would skip, but CI=true requires every test to run: "+format, args...)
	}
	t.Skipf(format, args...)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipf(t, "needs root")
	}
}

// Record is one exectrail JSON record. Raw keeps every field for checks
// of absent fields.
type Record struct {
	Seq           int      `json:"seq"`
	Time          string   `json:"time"`
	Event         string   `json:"event"`
	PID           int      `json:"pid"`
	PPID          int      `json:"ppid"`
	TID           int      `json:"tid"`
	Path          string   `json:"path"`
	PathHex       string   `json:"path_hex"`
	Executable    string   `json:"executable"`
	ExecutableHex string   `json:"executable_hex"`
	Argv          []string `json:"argv"`
	ArgvHex       []string `json:"argv_hex"`
	ArgvTruncated bool     `json:"argv_truncated"`
	Cwd           string   `json:"cwd"`
	Interpreter   string   `json:"interpreter"`
	UID           *int     `json:"uid"`
	CgroupID      uint64   `json:"cgroup_id"`
	Cgroup        string   `json:"cgroup"`
	ABI           string   `json:"abi"`
	Syscall       string   `json:"syscall"`
	Error         string   `json:"error"`
	ErrorDetail   string   `json:"error_detail"`
	Action        string   `json:"action"`
	Verified      *bool    `json:"verified"`
	ChildPID      int      `json:"child_pid"`
	Kind          string   `json:"kind"`
	ExitCode      *int     `json:"exit_code"`
	Signal        string   `json:"signal"`

	CgroupV1            string `json:"cgroup_v1"`
	CgroupV1Controllers string `json:"cgroup_v1_controllers"`
	ContainerID         string `json:"container_id"`
	ContainerRuntime    string `json:"container_runtime"`
	PodUID              string `json:"pod_uid"`
	PidNS               uint64 `json:"pidns"`
	MntNS               uint64 `json:"mntns"`

	// The trail: every record; start and end records (trail_test.go).
	RunID      string            `json:"run_id"`
	Prev       string            `json:"prev"`
	Version    string            `json:"version"`
	Backend    string            `json:"backend"`
	Host       string            `json:"host"`
	Kernel     string            `json:"kernel"`
	Policy     []string          `json:"policy"`
	Options    []string          `json:"options"`
	ExitStatus *int              `json:"exit_status"`
	DurationMS *float64          `json:"duration_ms"`
	Counts     map[string]uint64 `json:"counts"`
	Chain      string            `json:"chain"`
	KeyID      string            `json:"key_id"`
	Sig        string            `json:"sig"`

	Raw map[string]any `json:"-"`
}

// Has reports whether the record carries field.
func (r Record) Has(field string) bool { _, ok := r.Raw[field]; return ok }

// Run is the outcome of one exectrail run.
type Run struct {
	// Records are the job's records: start and end are apart.
	Records []Record
	// Start and End are the run's start and end records; nil when the log
	// has none (End: exectrail was killed, or its output failed).
	Start, End *Record
	// Log is the records file as written.
	Log      []byte
	Stdout   string
	Stderr   string
	ExitCode int            // -1 when killed by a signal
	Signal   syscall.Signal // when killed by a signal
	LogPath  string         // the records file, kept until the test ends
}

// Execs returns the exec records.
func (r *Run) Execs() []Record { return r.Events("exec") }

// Events returns the records of one event kind.
func (r *Run) Events(event string) []Record {
	var out []Record
	for _, rec := range r.Records {
		if rec.Event == event {
			out = append(out, rec)
		}
	}
	return out
}

// ExecsOf returns the exec records whose executable is exe.
func (r *Run) ExecsOf(exe string) []Record {
	var out []Record
	for _, rec := range r.Execs() {
		if rec.Executable == exe {
			out = append(out, rec)
		}
	}
	return out
}

// Opts tune one run.
type Opts struct {
	Flags   []string // exectrail run flags, before "--"
	Dir     string
	Env     []string // nil: the test's environment
	Stdin   string
	Timeout time.Duration
	Cred    *syscall.Credential
}

// runTrail runs `exectrail run FLAGS -o FILE --format json -- argv...`,
// parses the records and checks the invariants every run must satisfy:
// every line is JSON, seq runs 1, 2, 3… without gaps.
func runTrail(t *testing.T, o Opts, argv ...string) *Run {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "records.jsonl")
	if o.Cred != nil {
		// The unprivileged exectrail must be able to write its output.
		// t.TempDir's parent is 0700 and root's: open both for nobody.
		chmodAll(t, 0o777, filepath.Dir(dir), dir)
	}
	args := []string{"run", "-o", out, "--format", "json"}
	if !hasBackendFlag(o.Flags) {
		args = append(args, "--backend", backend)
	}
	args = append(args, o.Flags...)
	args = append(append(args, "--"), argv...)
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	bin := exectrail
	if o.Cred != nil {
		bin = nobodyBinary(t) // a copy that user can run
		if o.Dir == "" {
			o.Dir = "/"
		}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = o.Dir
	cmd.Env = o.Env
	cmd.Stdin = strings.NewReader(o.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if o.Cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.Cred}
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("exectrail %q did not finish within %v\nstderr: %s", argv, timeout, stderr.String())
	}
	r := &Run{Stdout: stdout.String(), Stderr: stderr.String(), LogPath: out}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			r.ExitCode, r.Signal = -1, ws.Signal()
		} else {
			r.ExitCode = ws.ExitStatus()
		}
	default:
		t.Fatalf("running exectrail: %v", err)
	}
	data, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	r.Log = data
	r.Records, r.Start, r.End = parseLog(t, data)
	return r
}

// parseRecords parses JSON lines, checks what every log must satisfy
// (parseLog) and returns the job's records: start and end left out.
func parseRecords(t *testing.T, data []byte) []Record {
	t.Helper()
	recs, _, _ := parseLog(t, data)
	return recs
}

// parseLog parses JSON lines and checks what every log satisfies: every
// line is a record, seq runs 1, 2, 3… without gaps, the first record is
// the start record, an end record (if any) is the last, every record
// carries the start record's run_id and the prev of the chain
// (supervisor/chain), and the end record's chain is the chain's value
// before it. It returns the job's records and the start and end records.
func parseLog(t *testing.T, data []byte) (recs []Record, start, end *Record) {
	t.Helper()
	all := parseLines(t, data)
	var ch chain.Chain
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i := range all {
		rec := &all[i]
		if rec.Prev != ch.PrevHex() {
			t.Fatalf("record %d: prev %q, want %q (the chain of the lines before it)\n%s", rec.Seq, rec.Prev, ch.PrevHex(), lines[i])
		}
		switch {
		case i == 0 && rec.Event != "start":
			t.Fatalf("the first record is not a start record:\n%s", lines[0])
		case i > 0 && rec.Event == "start":
			t.Fatalf("record %d is a second start record", rec.Seq)
		case rec.Event == "end" && i != len(all)-1:
			t.Fatalf("record %d is an end record, but %d more follow", rec.Seq, len(all)-1-i)
		case rec.RunID == "" || rec.RunID != all[0].RunID:
			t.Fatalf("record %d: run_id %q, want the start record's %q", rec.Seq, rec.RunID, all[0].RunID)
		}
		if rec.Event == "end" && rec.Chain != ch.Hex() {
			t.Fatalf("end record: chain %s, want %s", rec.Chain, ch.Hex())
		}
		ch.Add(lines[i])
		switch rec.Event {
		case "start":
			start = rec
		case "end":
			end = rec
		default:
			recs = append(recs, *rec)
		}
	}
	if end != nil {
		checkEndCounts(t, recs, end)
	}
	return recs, start, end
}

// checkEndCounts checks an end record's counts against the records
// before it, in every log a test reads: its counts by kind and denied are
// the log's, and its call counts add up (README, Start and end records).
func checkEndCounts(t *testing.T, recs []Record, end *Record) {
	t.Helper()
	counts := map[string]uint64{"start": 1, "exec": 0, "fork": 0, "exit": 0}
	denied := 0.0
	for _, rec := range recs {
		counts[rec.Event]++
		if rec.Action == "deny" {
			denied++
		}
	}
	n := func(f string) float64 { v, _ := end.Raw[f].(float64); return v }
	recv, ans, gone := n("calls_received"), n("calls_answered"), n("calls_gone")
	rec, unrec, atEv, unw := n("calls_recorded"), n("calls_unrecorded"), n("records_at_events"), n("records_unwritten")
	var bad []string
	if !mapsEqual(end.Counts, counts) {
		bad = append(bad, fmt.Sprintf("counts %v, the log has %v", end.Counts, counts))
	}
	if n("denied") != denied {
		bad = append(bad, fmt.Sprintf("denied %v, the log has %v", n("denied"), denied))
	}
	if recv != ans+gone {
		bad = append(bad, fmt.Sprintf("calls_received %v != calls_answered %v + calls_gone %v", recv, ans, gone))
	}
	if ans != rec+unrec+unw {
		bad = append(bad, fmt.Sprintf("calls_answered %v != calls_recorded %v + calls_unrecorded %v + records_unwritten %v", ans, rec, unrec, unw))
	}
	if rec+atEv != float64(counts["exec"]+counts["fork"]) {
		bad = append(bad, fmt.Sprintf("calls_recorded %v + records_at_events %v != %d exec and fork records", rec, atEv, counts["exec"]+counts["fork"]))
	}
	if len(bad) > 0 {
		t.Fatalf("end record: %s\n%s", strings.Join(bad, "; "), dump([]Record{*end}))
	}
}

// parseLines parses JSON lines and checks seq continuity.
func parseLines(t *testing.T, data []byte) []Record {
	t.Helper()
	var recs []Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("record line %d is not JSON: %v\n%s", n, err, line)
		}
		if err := json.Unmarshal(line, &rec.Raw); err != nil {
			t.Fatal(err)
		}
		if rec.Seq != n {
			t.Fatalf("record line %d has seq %d: seq must run 1, 2, 3… with no gaps", n, rec.Seq)
		}
		if _, err := time.Parse(time.RFC3339Nano, rec.Time); err != nil {
			t.Fatalf("record %d: time %q is not RFC 3339: %v", n, rec.Time, err)
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// compileC compiles a C helper into the test's temp dir and returns its
// path. With EXECTRAIL_HELPERS set, the helper comes from that directory
// when it was built there before (see prebuilt).
func compileC(t *testing.T, name, src string, flags ...string) string {
	t.Helper()
	key := "gcc -O1 -Wall " + strings.Join(flags, " ") + "\x00" + src
	return prebuilt(t, name, key, func(bin string) error {
		if _, err := exec.LookPath("gcc"); err != nil {
			skipf(t, "needs gcc")
		}
		if slices.Contains(flags, "-static") {
			if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libc.a"); err != nil {
				skipf(t, "needs a static libc for gcc -static")
			}
		}
		dir := t.TempDir()
		srcPath := filepath.Join(dir, name+".c")
		if err := os.WriteFile(srcPath, []byte(src), 0o644); err != nil {
			return err
		}
		args := append([]string{"-O1", "-Wall", "-o", bin, srcPath}, flags...)
		if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("compiling %s: %v\n%s", name, err, out)
		}
		return nil
	})
}

// prebuilt returns the path of helper program name, made by build(path)
// from sources that key describes completely, in a temp dir of the test.
//
// EXECTRAIL_HELPERS names a directory of helpers built before, one file
// per name and hash of key. A helper found there is copied, not built;
// one that is not is built and stored there for the next run. `make
// integration` fills bin/helpers this way as a by-product of the host
// run, and the kernel test guests (make test-kernels), which have no gcc
// and no Go toolchain, run the suite with that directory and build
// nothing: a helper missing there fails the test, saying so.
func prebuilt(t *testing.T, name, key string, build func(path string) error) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cache := os.Getenv("EXECTRAIL_HELPERS")
	if cache == "" {
		if err := build(bin); err != nil {
			t.Fatal(err)
		}
		return bin
	}
	sum := sha256.Sum256([]byte(key))
	cached := filepath.Join(cache, name+"-"+hex.EncodeToString(sum[:8]))
	if data, err := os.ReadFile(cached); err == nil {
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		return bin
	} else if !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if os.Getenv("EXECTRAIL_HELPERS_READONLY") == "1" {
		t.Fatalf("helper %s is not in %s (%s) and cannot be built here: run the suite on the host first (make integration builds every helper)", name, cache, filepath.Base(cached))
	}
	if err := build(bin); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	// Written whole under a temporary name, then renamed: a parallel run
	// never copies half a helper.
	tmp := filepath.Join(cache, fmt.Sprintf(".%s.%d", filepath.Base(cached), os.Getpid()))
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, cached); err != nil {
		t.Fatal(err)
	}
	return bin
}

// dump formats records for failure messages.
func dump(recs []Record) string {
	var b strings.Builder
	for _, r := range recs {
		j, _ := json.Marshal(r.Raw)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// wantExec checks the fields of one exec record.
func wantExec(t *testing.T, r Record, path, executable, cwd string) {
	t.Helper()
	if r.Path != path || r.Executable != executable || (cwd != "" && r.Cwd != cwd) {
		t.Errorf("exec record: path %q executable %q cwd %q; want %q %q %q\n%s", r.Path, r.Executable, r.Cwd, path, executable, cwd, dump([]Record{r}))
	}
}

func hasBackendFlag(flags []string) bool {
	for _, f := range flags {
		if f == "--backend" || strings.HasPrefix(f, "--backend=") {
			return true
		}
	}
	return false
}

// wantArgv checks that rec carries exactly the bytes of want: argv equal
// to want when every element is valid UTF-8 (and no argv_hex), otherwise
// argv_hex holding the hex of each element's exact bytes.
func wantArgv(t *testing.T, rec Record, want []string) {
	t.Helper()
	valid := true
	for _, a := range want {
		valid = valid && utf8.ValidString(a)
	}
	if len(rec.Argv) != len(want) {
		t.Errorf("argv has %d elements, want %d:\n%.3000s", len(rec.Argv), len(want), dump([]Record{rec}))
		return
	}
	if rec.Has("argv_truncated") {
		t.Errorf("argv_truncated on a complete argv:\n%.3000s", dump([]Record{rec}))
	}
	if valid {
		if rec.Has("argv_hex") {
			t.Errorf("argv_hex present although every element is valid UTF-8:\n%.3000s", dump([]Record{rec}))
		}
		for i := range want {
			if rec.Argv[i] != want[i] {
				t.Errorf("argv[%d] = %.200q, want %.200q", i, rec.Argv[i], want[i])
			}
		}
		return
	}
	if !rec.Has("argv_hex") || len(rec.ArgvHex) != len(want) {
		t.Errorf("argv with invalid UTF-8 needs argv_hex with one entry per element (%d):\n%.3000s", len(want), dump([]Record{rec}))
		return
	}
	for i := range want {
		if h := hex.EncodeToString([]byte(want[i])); rec.ArgvHex[i] != h {
			t.Errorf("argv_hex[%d] = %.200s, want %.200s", i, rec.ArgvHex[i], h)
		}
		if utf8.ValidString(want[i]) && rec.Argv[i] != want[i] {
			t.Errorf("argv[%d] = %.200q, want %.200q", i, rec.Argv[i], want[i])
		}
	}
}

func mapsEqual(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sortedKeys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// kernelHas reports whether the running kernel is Linux major.minor or
// newer (kernelAtLeast), the release that brought feature, and logs which
// behaviour the test checks.
func kernelHas(t *testing.T, major, minor int, feature string) bool {
	t.Helper()
	if kernelAtLeast(t, major, minor) {
		return true
	}
	t.Logf("no %s (Linux %d.%d) on this kernel: checking the fallback", feature, major, minor)
	return false
}

// requireKernel skips a test of something that cannot happen without
// feature, where exectrail has nothing to fall back to and nothing to
// check. The skip depends on the kernel alone, not on the machine's
// setup, so it is one under CI too: `make test-kernels` runs the suite on
// kernels that lack features by design, and the README's kernel table
// names the skips.
func requireKernel(t *testing.T, major, minor int, feature string) {
	t.Helper()
	if !kernelHas(t, major, minor, feature) {
		t.Skipf("requires Linux %d.%d: %s", major, minor, feature)
	}
}

// kernelAtLeast reports whether the running kernel is major.minor or
// newer.
func kernelAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var rel []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		rel = append(rel, byte(c))
	}
	var ma, mi int
	if _, err := fmt.Sscanf(string(rel), "%d.%d", &ma, &mi); err != nil {
		t.Fatalf("kernel release %q: %v", rel, err)
	}
	return ma > major || ma == major && mi >= minor
}

// checkExit checks that pid has exactly one exit record, that it says
// want, carries duration_ms >= 0, and comes after every other record of
// pid (its fork record, its execs).
func checkExit(t *testing.T, r *Run, pid int, want outcome, what string) {
	t.Helper()
	exits := exitsOf(r, pid)
	if len(exits) != 1 {
		t.Errorf("%s (pid %d): %d exit records, want exactly 1:\n%s", what, pid, len(exits), dump(exits))
		return
	}
	e := exits[0]
	var bad []string
	if want.sig != "" {
		if e.Signal != want.sig || e.Has("exit_code") {
			bad = append(bad, fmt.Sprintf("signal %q exit_code present %v, want signal %q and no exit_code", e.Signal, e.Has("exit_code"), want.sig))
		}
	} else if e.ExitCode == nil || *e.ExitCode != want.code || e.Has("signal") {
		bad = append(bad, fmt.Sprintf("exit_code %v signal %q, want exit_code %d and no signal", e.Raw["exit_code"], e.Signal, want.code))
	}
	if d, ok := durationMS(e); !ok || d < 0 {
		bad = append(bad, fmt.Sprintf("duration_ms %v, want a number >= 0", e.Raw["duration_ms"]))
	}
	for _, rec := range r.Records {
		if rec.Seq > e.Seq && (rec.PID == pid || rec.ChildPID == pid) {
			bad = append(bad, fmt.Sprintf("record seq %d about pid %d comes after its exit record (seq %d)", rec.Seq, pid, e.Seq))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s (pid %d) exit record:\n  %s\n%s", what, pid, strings.Join(bad, "\n  "), dump(exits))
	}
}

// outcome is how one process must end: exit code, or signal name.
type outcome struct {
	code int
	sig  string
}

// exitsOf returns the exit records of pid.
func exitsOf(r *Run, pid int) []Record {
	var out []Record
	for _, rec := range r.Events("exit") {
		if rec.PID == pid {
			out = append(out, rec)
		}
	}
	return out
}

// durationMS returns the duration_ms of an exit record and whether it is
// there as a number.
func durationMS(r Record) (float64, bool) {
	d, ok := r.Raw["duration_ms"].(float64)
	return d, ok
}

// The harness's processes: the bound on every wait, exectrail run
// directly (runRaw, runCmd, runCLI), the binary nobody can run
// (nobodyBinary, for runTrail with Opts.Cred), line-by-line pipes, pids,
// pidfds and process states, and polling a records file while the job
// runs (waitRecords).

// waitTimeout bounds every wait of the harness and the tests; reaching it
// fails the test.
const waitTimeout = 15 * time.Second

// noPanic fails the test when exectrail's stderr shows a Go crash.
func noPanic(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
		t.Errorf("stderr shows a Go panic or stack trace:\n%s", stderr)
	}
}

// oneErrorLine checks that stderr is exactly one "exectrail: ..." line.
func oneErrorLine(t *testing.T, what, stderr string) {
	t.Helper()
	noPanic(t, stderr)
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if !strings.HasSuffix(stderr, "\n") || len(lines) != 1 || !strings.HasPrefix(lines[0], "exectrail: ") {
		t.Errorf("%s: want exactly one stderr line starting %q, got:\n%q", what, "exectrail: ", stderr)
	}
}

// runRaw runs the exectrail binary with exactly args, bounded by
// waitTimeout, and returns its output and wait status.
func runRaw(t *testing.T, args ...string) (stdout, stderr string, ws syscall.WaitStatus) {
	t.Helper()
	return runCmd(t, exectrail, args...)
}

// runCmd runs name args..., bounded by waitTimeout, and returns its output
// and wait status.
func runCmd(t *testing.T, name string, args ...string) (stdout, stderr string, ws syscall.WaitStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish within %v\nstderr: %s", name, args, waitTimeout, e.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running %s %q: %v", name, args, err)
	}
	return o.String(), e.String(), cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// runCLI runs the exectrail binary with exactly args, like runRaw, for
// the subcommands that start no job (report, diff, version, and run's
// usage errors), and returns its stdout, stderr and exit status (-1 when
// a signal killed it).
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, ws := runRaw(t, args...)
	return stdout, stderr, ws.ExitStatus()
}

const exitSetupStatus = 125

// lineReader delivers the lines a process writes, one at a time, each wait
// bounded by waitTimeout.
type lineReader struct {
	ch chan string
}

// next returns the next line; ok is false at EOF.
func (l *lineReader) next(t *testing.T) (line string, ok bool) {
	t.Helper()
	select {
	case line, ok = <-l.ch:
		return line, ok
	case <-time.After(waitTimeout):
		t.Fatalf("no output line within %v", waitTimeout)
	}
	return "", false
}

// rest reads every remaining line up to EOF.
func (l *lineReader) rest(t *testing.T) []string {
	t.Helper()
	var out []string
	for {
		line, ok := l.next(t)
		if !ok {
			return out
		}
		out = append(out, line)
	}
}

// startPiped starts cmd with its stdin and stdout as pipes held by the
// test (stdout read line by line) and its stderr collected, and kills it
// when the test ends.
func startPiped(t *testing.T, cmd *exec.Cmd) (io.WriteCloser, *lineReader, *bytes.Buffer) {
	t.Helper()
	stdin, stdout, stderr := startPipes(t, cmd)
	return stdin, readLines(stdout), stderr
}

// startPipes starts cmd with its stdin and stdout as pipes held by the
// test and its stderr collected, and kills it when the test ends.
func startPipes(t *testing.T, cmd *exec.Cmd) (io.WriteCloser, io.ReadCloser, *bytes.Buffer) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return stdin, stdout, stderr
}

func readLines(r io.Reader) *lineReader {
	l := &lineReader{ch: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.ch <- sc.Text()
		}
		close(l.ch)
	}()
	return l
}

// pidGone reports whether pid no longer exists (kill(pid, 0) is ESRCH).
func pidGone(pid int) bool {
	return unix.Kill(pid, 0) == unix.ESRCH
}

// waitPidfd waits, bounded by waitTimeout, until the process behind pidfd
// has terminated.
func waitPidfd(t *testing.T, pidfd int, what string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			t.Fatalf("%s did not terminate within %v", what, waitTimeout)
		}
		pfd := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd: %v", err)
		}
		if n > 0 {
			return
		}
	}
}

// waitRecords polls the records file, bounded by waitTimeout, until pred
// holds for the records written so far (a record is complete when its
// line is). It returns those records.
func waitRecords(t *testing.T, file, what string, pred func([]Record) bool) []Record {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		data, _ := os.ReadFile(file)
		if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
			recs := parseRecords(t, data[:i+1])
			if pred(recs) {
				return recs
			}
		} else if pred(nil) {
			return nil
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not there within %v; records so far:\n%s", what, waitTimeout, data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitUntil polls cond, bounded by waitTimeout.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", what, waitTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// procState returns the state letter of /proc/PID/stat ("" if gone).
func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+3 > len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// waitCmd waits for cmd, bounded by waitTimeout (killing it then).
func waitCmd(t *testing.T, cmd *exec.Cmd) syscall.WaitStatus {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("waiting for %v: %v", cmd.Args, err)
		}
		return cmd.ProcessState.Sys().(syscall.WaitStatus)
	case <-time.After(waitTimeout):
		_ = cmd.Process.Kill()
		t.Fatalf("%v did not exit within %v", cmd.Args, waitTimeout)
	}
	return 0
}

// killLater SIGKILLs, at the end of the test, the processes of records
// matching exe (a leftover sleep when the test fails half way).
func killLater(t *testing.T, recs []Record, exe string) {
	for _, r := range recs {
		if r.Event == "exec" && r.Executable == exe {
			if fd, err := unix.PidfdOpen(r.PID, 0); err == nil {
				t.Cleanup(func() {
					_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
					unix.Close(fd)
				})
			}
		}
	}
}

// nobody is the credential of the unprivileged runs: uid and gid 65534,
// no supplementary groups (os/exec sets an empty list for nil Groups).
var nobody = &syscall.Credential{Uid: 65534, Gid: 65534}

// credOf is the credential of a subtest run as who: nil for "root" (the
// test's own), nobody for "nobody", which needs root to switch to.
func credOf(t *testing.T, who string) *syscall.Credential {
	t.Helper()
	if who != "nobody" {
		return nil
	}
	requireRoot(t)
	return nobody
}

// compileForNobody compiles a C helper (compileC) that user nobody can
// run too: its directory and the one above it (t.TempDir's parent is
// root's, 0700) become searchable by others.
func compileForNobody(t *testing.T, name, src string, flags ...string) string {
	t.Helper()
	bin := compileC(t, name, src, flags...)
	chmodAll(t, 0o755, filepath.Dir(bin), filepath.Dir(filepath.Dir(bin)))
	return bin
}

// chmodAll sets the mode of every path, failing the test when it cannot.
func chmodAll(t *testing.T, mode os.FileMode, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// nobodyBinary returns a path of the binary under test that nobody
// can execute: exectrail itself when every directory above it is
// searchable by others, else the copy TestMain made (nobodyCopy).
func nobodyBinary(t *testing.T) string {
	t.Helper()
	if nobodyExectrail == "" {
		t.Fatal("no copy of exectrail for nobody (nobodyCopy failed)")
	}
	return nobodyExectrail
}

// nobodyExectrail is what nobodyBinary returns; nobodyCopy sets it.
var nobodyExectrail string

// nobodyCopy sets nobodyExectrail, copying the binary to a fresh 0755
// directory under /tmp when the checkout is out of nobody's reach (a
// clone under a 0700 directory). It runs in TestMain before any test:
// a copy written while parallel tests fork would leave its write fd in
// a forked child for a moment, and exec of it would fail with ETXTBSY.
// It returns the directory to remove at the end, or "".
func nobodyCopy() (string, error) {
	reachable := true
	if st, err := os.Stat(exectrail); err != nil || st.Mode().Perm()&0o005 != 0o005 {
		reachable = false
	}
	for d := filepath.Dir(exectrail); reachable; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			reachable = false
		}
		if d == "/" {
			break
		}
	}
	if reachable {
		nobodyExectrail = exectrail
		return "", nil
	}
	dir, err := os.MkdirTemp("/tmp", "exectrail-nobody-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return dir, err
	}
	data, err := os.ReadFile(exectrail)
	if err != nil {
		return dir, err
	}
	bin := filepath.Join(dir, "exectrail")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		return dir, err
	}
	nobodyExectrail = bin
	return dir, nil
}

// The harness's cgroups: the cgroup2 mount, the test's own cgroup, and
// cgroups made (and removed) for one test under it.

func cgroup2MountOf(t *testing.T) string {
	t.Helper()
	m := mountinfoFind(t, "cgroup2", "")
	if m == "" {
		skipf(t, "no cgroup2 mount in /proc/self/mountinfo")
	}
	return m
}

// makeCgroup creates the cgroup path under mnt, with the parents that do
// not exist yet, and removes what it created when the test ends, innermost
// first. A component holding one of the test's own random tokens is the
// test's alone and must be removed; other parents it created
// (system.slice, kubepods.slice) may meanwhile be used by a concurrent
// run, so failing to remove them is only logged. Processes still in the
// test's cgroups at the end (there should be none: exectrail has reaped
// the whole job) are moved back to self first.
func makeCgroup(t *testing.T, mnt, self, path string, tokens ...string) {
	t.Helper()
	var created []string
	dir := mnt
	for _, c := range strings.Split(strings.Trim(path, "/"), "/") {
		dir = filepath.Join(dir, c)
		err := os.Mkdir(dir, 0o755)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			removeCgroups(t, mnt, self, created, tokens)
			t.Fatalf("creating cgroup %s: %v", dir, err)
		}
		created = append(created, dir)
	}
	t.Cleanup(func() { removeCgroups(t, mnt, self, created, tokens) })
}

// ownCgroup returns the test's own cgroup path in the hierarchy whose
// controllers field is controllers ("" for v2). A path outside the
// test's cgroup namespace cannot be written to: skip.
func ownCgroup(t *testing.T, controllers string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		_, rest, _ := strings.Cut(line, ":")
		ctl, path, ok := strings.Cut(rest, ":")
		if !ok || ctl != controllers {
			continue
		}
		if strings.Contains(path, "..") {
			skipf(t, "the test's cgroup %q is outside its cgroup namespace", path)
		}
		return path
	}
	skipf(t, "the test is in no cgroup of hierarchy %q:\n%s", controllers, b)
	return ""
}

// probeMove moves a helper process into cgroup and back before the job
// does the same, so that a host that refuses it fails with the reason:
// cgroup v2 allows no processes in a non-root cgroup with controllers
// enabled in its cgroup.subtree_control (EBUSY), nor in a threaded or
// invalid one (EOPNOTSUPP); v1 has no such rule.
func probeMove(t *testing.T, mnt, self, cgroup string) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	pid := []byte(strconv.Itoa(cmd.Process.Pid))
	if err := os.WriteFile(procsFile(mnt, cgroup), pid, 0); err != nil {
		dir := filepath.Join(mnt, cgroup)
		typ, _ := os.ReadFile(filepath.Join(dir, "cgroup.type"))
		sub, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
		t.Fatalf("moving a process into %s: %v (cgroup.type %q, cgroup.subtree_control %q)",
			dir, err, strings.TrimSpace(string(typ)), strings.TrimSpace(string(sub)))
	}
	if err := os.WriteFile(procsFile(mnt, self), pid, 0); err != nil {
		t.Fatalf("moving the helper back to %s: %v", filepath.Join(mnt, self), err)
	}
}

func procsFile(mnt, cgroup string) string {
	return filepath.Join(mnt, cgroup, "cgroup.procs")
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// mountinfoFind returns the mount point of the first mount of a
// hierarchy's root ("/") whose file system type is fstype and whose super
// options include opt ("" for any).
func mountinfoFind(t *testing.T, fstype, opt string) string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		// id parent major:minor root mountpoint … - fstype source superopts
		fields, after := strings.Fields(pre), strings.Fields(post)
		if len(after) < 3 || after[0] != fstype || len(fields) < 5 || fields[3] != "/" {
			continue
		}
		if opt != "" && !strings.Contains(","+after[2]+",", ","+opt+",") {
			continue
		}
		if strings.Contains(fields[4], `\`) {
			skipf(t, "%s mount point %q has escaped characters", fstype, fields[4])
		}
		return fields[4]
	}
	return ""
}

func removeCgroups(t *testing.T, mnt, self string, created, tokens []string) {
	for i := len(created) - 1; i >= 0; i-- {
		dir := created[i]
		own := false
		for _, tok := range tokens {
			own = own || strings.Contains(filepath.Base(dir), tok)
		}
		if own {
			if b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
				for _, pid := range strings.Fields(string(b)) {
					t.Errorf("process %s still in %s at the end of the test; moving it out", pid, dir)
					_ = os.WriteFile(procsFile(mnt, self), []byte(pid), 0)
				}
			}
		}
		err := os.Remove(dir)
		// A process that has just exited can keep its cgroup busy
		// until the kernel has released it.
		for deadline := time.Now().Add(2 * time.Second); errors.Is(err, syscall.EBUSY) && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			err = os.Remove(dir)
		}
		switch {
		case err == nil:
		case own:
			t.Errorf("removing cgroup %s: %v", dir, err)
		default:
			t.Logf("leaving shared parent cgroup %s: %v", dir, err)
		}
	}
}

// The harness's programs and files: the exec driver (execer) and the
// field-by-field check of an exec record (execWant, checkExec), canonical
// paths and executable files, the policy tests' sayC, a small build
// checkout (buildCheckout), and the outputs of other subcommands the
// tests read (version, doctor, report).

// canon is filepath.EvalSymlinks, fatal on error.
func canon(t *testing.T, p string) string {
	t.Helper()
	c, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(c)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// writeExe writes an executable file.
func writeExe(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies src to dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// execerSrc is a small exec driver. Its arguments are a program of
// operations run in order; an exec that fails prints
// "FAIL <op> <arg> <ERRNO>" on stdout and the program goes on, so one run
// can make several failing attempts and end with a successful one. Every
// exec passes argv {NAME, "exectrail-test"} where NAME is the operation's
// path operand.
//
//	execve P          execve(P)
//	dirfd D N         execveat(open(D, O_PATH|O_DIRECTORY), N, 0)
//	emptypath F       execveat(open(F), "", AT_EMPTY_PATH)
//	fexecve F         glibc fexecve(open(F))
//	fdpath F FMT      dup2(open(F), 7); execve(sprintf(FMT, getpid()))
//	memfd F NAME      memfd_create(NAME), copy F into it, fexecve
//	nofollow P        execveat(AT_FDCWD, P, AT_SYMLINK_NOFOLLOW)
//	execvp N          execvp(N)
//	setpath V         setenv("PATH", V)
//	chdir D           chdir(D)
const execerSrc = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static void fail(const char *op, const char *arg) {
	printf("FAIL %s %s %s\n", op, arg, strerrorname_np(errno));
	fflush(stdout);
}

static void die(const char *what, const char *arg) {
	fprintf(stderr, "execer: %s %s: %s\n", what, arg, strerror(errno));
	exit(2);
}

static int openfile(const char *f, int flags) {
	int fd = open(f, flags);
	if (fd < 0)
		die("open", f);
	return fd;
}

int main(int argc, char **argv) {
	int i = 1;
	while (i < argc) {
		const char *op = argv[i++];
		if (i >= argc) {
			fprintf(stderr, "execer: %s needs an operand\n", op);
			return 2;
		}
		char *a = argv[i++];
		char *b = NULL;
		if (!strcmp(op, "dirfd") || !strcmp(op, "fdpath") || !strcmp(op, "memfd")) {
			if (i >= argc) {
				fprintf(stderr, "execer: %s needs two operands\n", op);
				return 2;
			}
			b = argv[i++];
		}
		char *args[] = {a, "exectrail-test", NULL};
		if (!strcmp(op, "execve")) {
			execve(a, args, environ);
		} else if (!strcmp(op, "dirfd")) {
			int dfd = openfile(a, O_PATH | O_DIRECTORY);
			args[0] = b;
			syscall(SYS_execveat, dfd, b, args, environ, 0);
			close(dfd);
		} else if (!strcmp(op, "emptypath")) {
			int fd = openfile(a, O_RDONLY);
			syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
			close(fd);
		} else if (!strcmp(op, "fexecve")) {
			int fd = openfile(a, O_RDONLY);
			fexecve(fd, args, environ);
			close(fd);
		} else if (!strcmp(op, "fdpath")) {
			int fd = openfile(a, O_RDONLY);
			if (dup2(fd, 7) < 0)
				die("dup2", a);
			close(fd);
			char p[256];
			snprintf(p, sizeof p, b, (int)getpid());
			args[0] = p;
			execve(p, args, environ);
		} else if (!strcmp(op, "memfd")) {
			int src = openfile(a, O_RDONLY);
			int mfd = memfd_create(b, 0);
			if (mfd < 0)
				die("memfd_create", b);
			char buf[65536];
			ssize_t n;
			while ((n = read(src, buf, sizeof buf)) > 0)
				if (write(mfd, buf, n) != n)
					die("write", b);
			if (n < 0)
				die("read", a);
			close(src);
			args[0] = b;
			fexecve(mfd, args, environ);
		} else if (!strcmp(op, "nofollow")) {
			syscall(SYS_execveat, AT_FDCWD, a, args, environ, AT_SYMLINK_NOFOLLOW);
		} else if (!strcmp(op, "execvp")) {
			execvp(a, args);
		} else if (!strcmp(op, "setpath")) {
			if (setenv("PATH", a, 1) < 0)
				die("setenv", a);
			continue;
		} else if (!strcmp(op, "chdir")) {
			if (chdir(a) < 0)
				die("chdir", a);
			continue;
		} else {
			fprintf(stderr, "execer: unknown operation %s\n", op);
			return 2;
		}
		fail(op, a);
	}
	return 3;
}
`

// execer compiles the exec driver.
func execer(t *testing.T, flags ...string) string {
	t.Helper()
	return compileC(t, "execer", execerSrc, flags...)
}

// execWant is what one exec record must say. Empty strings mean "absent"
// for Interpreter and Error; Syscall "" means execve (the field is absent
// or "execve").
type execWant struct {
	Path       string
	Executable string
	// ExePrefix: Executable is a prefix of the record's executable.
	ExePrefix bool
	// ExeOptional: the record may leave executable out, but if it names
	// one it must be Executable (for failed attempts on existing files).
	ExeOptional bool
	Argv        []string // nil: not checked
	Cwd         string   // "": not checked
	Interpreter string
	Error       string
	Syscall     string
	PID, PPID   int // 0: not checked
}

// checkExec compares rec with w field by field.
func checkExec(t *testing.T, what string, rec Record, w execWant) {
	t.Helper()
	var bad []string
	if rec.Event != "exec" {
		bad = append(bad, fmt.Sprintf("event %q, want exec", rec.Event))
	}
	if !rec.Has("path") || rec.Path != w.Path {
		bad = append(bad, fmt.Sprintf("path %q (present %v), want %q", rec.Path, rec.Has("path"), w.Path))
	}
	switch {
	case w.ExePrefix:
		if !strings.HasPrefix(rec.Executable, w.Executable) {
			bad = append(bad, fmt.Sprintf("executable %q, want prefix %q", rec.Executable, w.Executable))
		}
	case w.ExeOptional:
		if rec.Has("executable") && rec.Executable != w.Executable {
			bad = append(bad, fmt.Sprintf("executable %q, want %q or absent", rec.Executable, w.Executable))
		}
	case w.Executable == "":
		if rec.Has("executable") {
			bad = append(bad, fmt.Sprintf("executable %q, want absent: no file runs", rec.Executable))
		}
	default:
		if rec.Executable != w.Executable {
			bad = append(bad, fmt.Sprintf("executable %q, want %q", rec.Executable, w.Executable))
		}
	}
	if w.Argv != nil && !slices.Equal(rec.Argv, w.Argv) {
		bad = append(bad, fmt.Sprintf("argv %q, want %q", rec.Argv, w.Argv))
	}
	if w.Cwd != "" && rec.Cwd != w.Cwd {
		bad = append(bad, fmt.Sprintf("cwd %q, want %q", rec.Cwd, w.Cwd))
	}
	if rec.Interpreter != w.Interpreter || (w.Interpreter == "" && rec.Has("interpreter")) {
		bad = append(bad, fmt.Sprintf("interpreter %q (present %v), want %q", rec.Interpreter, rec.Has("interpreter"), w.Interpreter))
	}
	if rec.Error != w.Error || (w.Error == "" && rec.Has("error")) {
		bad = append(bad, fmt.Sprintf("error %q (present %v), want %q", rec.Error, rec.Has("error"), w.Error))
	}
	if w.Syscall == "" || w.Syscall == "execve" {
		if rec.Syscall != "" && rec.Syscall != "execve" {
			bad = append(bad, fmt.Sprintf("syscall %q, want execve", rec.Syscall))
		}
	} else if rec.Syscall != w.Syscall {
		bad = append(bad, fmt.Sprintf("syscall %q, want %q", rec.Syscall, w.Syscall))
	}
	if w.PID != 0 && rec.PID != w.PID {
		bad = append(bad, fmt.Sprintf("pid %d, want %d", rec.PID, w.PID))
	}
	if w.PPID != 0 && rec.PPID != w.PPID {
		bad = append(bad, fmt.Sprintf("ppid %d, want %d", rec.PPID, w.PPID))
	}
	if len(bad) > 0 {
		t.Errorf("%s:\n  %s\n%s", what, strings.Join(bad, "\n  "), dump([]Record{rec}))
	}
}

// wantN fails unless recs has n records.
func wantN(t *testing.T, recs []Record, n int, what string) {
	t.Helper()
	if len(recs) != n {
		t.Fatalf("want %d %s, got %d:\n%s", n, what, len(recs), dump(recs))
	}
}

// sayC prints "NAME-RAN PID", NAME being the last element of
// /proc/self/exe: which program really runs, whatever argv[0] says.
const sayC = `
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0) return 2;
	exe[n] = 0;
	char *b = strrchr(exe, '/');
	printf("%s-RAN %d\n", b ? b + 1 : exe, (int)getpid());
	return 0;
}
`

// ranMarker is the line start the say helper prints for exe.
func ranMarker(exe string) string { return filepath.Base(exe) + "-RAN" }

// deniedAtEntry checks that exe was refused at entry: at least one
// exec record names it, and every one says action deny, error EPERM, and
// (wantVerified "false") verified false or (wantVerified "absent") no
// verified field, the notify backend's form.
func deniedAtEntry(t *testing.T, r *Run, exe, wantVerified string) {
	t.Helper()
	recs := r.ExecsOf(exe)
	if len(recs) == 0 {
		t.Errorf("no exec record for the refused %s:\n%s", exe, dump(r.Records))
		return
	}
	for _, rec := range recs {
		v := "absent"
		if rec.Verified != nil {
			v = strconv.FormatBool(*rec.Verified)
		}
		if rec.Action != "deny" || rec.Error != "EPERM" || v != wantVerified {
			t.Errorf("exec record of refused %s: action %q error %q verified %s; want deny, EPERM, verified %s\n%s",
				exe, rec.Action, rec.Error, v, wantVerified, dump([]Record{rec}))
		}
	}
}

// noWarning checks that exectrail itself said nothing on stderr.
func noWarning(t *testing.T, r *Run) {
	t.Helper()
	noPanic(t, r.Stderr)
	for _, l := range strings.Split(r.Stderr, "\n") {
		if strings.HasPrefix(l, "exectrail:") {
			t.Errorf("unexpected exectrail message on stderr: %q", l)
		}
	}
}

// buildCheckout makes a checkout with build.sh (compile hello.c, run it
// $N times, default once; with $FETCH run fetch.sh, which runs curl
// --version) and returns its canonical path.
func buildCheckout(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		skipf(t, "needs cc")
	}
	dir, err := os.MkdirTemp("/tmp", "exectrail-checkout-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	dir = canon(t, dir)
	writeExe(t, filepath.Join(dir, "build.sh"), `#!/bin/sh
set -e
cc -c hello.c -o hello.o
cc hello.o -o hello
i=0
while [ $i -lt ${N:-1} ]; do ./hello; i=$((i+1)); done
if [ -n "$FETCH" ]; then ./fetch.sh; fi
`)
	writeExe(t, filepath.Join(dir, "fetch.sh"), "#!/bin/sh\n/usr/bin/curl --version >/dev/null\n")
	if err := os.WriteFile(filepath.Join(dir, "hello.c"), []byte("#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runBuild runs build.sh in dir under exectrail with extra environment
// and returns the run (its Log is the records file).
func runBuild(t *testing.T, dir string, env ...string) *Run {
	t.Helper()
	r := runTrail(t, Opts{Dir: dir, Env: append(os.Environ(), env...)}, "./build.sh")
	if r.ExitCode != 0 {
		t.Fatalf("build.sh exited %d\nstdout: %s\nstderr: %s", r.ExitCode, r.Stdout, r.Stderr)
	}
	return r
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		skipf(t, "needs a git checkout: git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// versionFields parses `exectrail version`: the first line, then
// "key: value" lines.
func versionFields(t *testing.T, bin string) (string, map[string]string) {
	t.Helper()
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	fields := map[string]string{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("version line %q is not key: value", l)
		}
		fields[k] = strings.TrimSpace(v)
	}
	return lines[0], fields
}

// doctorReport is `exectrail doctor --format json`.
type doctorReport struct {
	Checks []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"checks"`
	Notify  struct{ Works bool } `json:"notify"`
	Ptrace  struct{ Works bool } `json:"ptrace"`
	Auto    string               `json:"auto"`
	AutoWhy string               `json:"auto_why"`
	OK      bool                 `json:"ok"`
}

// check returns the check with id, failing the test when there is none.
func (r *doctorReport) check(t *testing.T, id string) (status, detail string) {
	t.Helper()
	for _, c := range r.Checks {
		if c.ID == id {
			return c.Status, c.Detail
		}
	}
	t.Fatalf("doctor reported no %q check", id)
	return "", ""
}

// want checks one check's status and that its detail names the reason.
func (r *doctorReport) want(t *testing.T, id, status string, reasons ...string) {
	t.Helper()
	st, detail := r.check(t, id)
	if st != status {
		t.Errorf("check %s: %s (%s), want %s", id, st, detail, status)
	}
	for _, why := range reasons {
		if !strings.Contains(detail, why) {
			t.Errorf("check %s: %q does not say %q", id, detail, why)
		}
	}
}

const reportRule = "── exectrail report ──"

// twoPagesC is C for the hostile-memory helpers (after <stdio.h>,
// <sys/mman.h> and <unistd.h>): twoPages maps two pages and unmaps the
// second, so that the first ends right at an unmapped page.
const twoPagesC = `static char *twoPages(void) {
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) { perror("mmap"); _exit(2); }
	if (munmap(p + 4096, 4096) != 0) { perror("munmap"); _exit(2); }
	return p;
}
`
