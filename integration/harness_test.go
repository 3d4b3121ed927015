package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/exectrail/exectrail/supervisor/chain"
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
