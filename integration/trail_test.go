package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The start and end records of every run, field by field (the harness,
// parseLog, checks seq, run_id and the chain of every log).

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// checkStart checks the start record of a run of argv.
func checkStart(t *testing.T, r *Run, argv []string, wantBackend string) {
	t.Helper()
	s := r.Start
	if s == nil {
		t.Fatalf("no start record:\n%s", r.Log)
	}
	host, _ := os.Hostname()
	kernel, err := exec.Command("uname", "-r").Output()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	switch {
	case s.Seq != 1 || s.Event != "start":
		t.Errorf("start: seq %d event %q", s.Seq, s.Event)
	case !hex32.MatchString(s.RunID):
		t.Errorf("start: run_id %q, want 32 hex digits", s.RunID)
	case s.Prev != "0000000000000000":
		t.Errorf("start: prev %q, want the empty chain's", s.Prev)
	case s.Version == "":
		t.Errorf("start: no version")
	case s.Backend != wantBackend:
		t.Errorf("start: backend %q, want %q", s.Backend, wantBackend)
	case !slices.Equal(s.Argv, argv):
		t.Errorf("start: argv %q, want %q", s.Argv, argv)
	case s.Cwd != wd:
		t.Errorf("start: cwd %q, want %q", s.Cwd, wd)
	case s.Host != host:
		t.Errorf("start: host %q, want %q", s.Host, host)
	case s.Kernel != strings.TrimSpace(string(kernel)):
		t.Errorf("start: kernel %q, want %q", s.Kernel, kernel)
	case s.UID == nil || *s.UID != os.Getuid():
		t.Errorf("start: uid %v, want %d", s.UID, os.Getuid())
	case !slices.Contains(s.Options, "--format=json") || !slices.Contains(s.Options, "--orphans=kill"):
		t.Errorf("start: options %q lack --format=json and --orphans=kill", s.Options)
	}
	if len(r.Records) > 0 && r.Records[0].Event == "exec" && r.Records[0].PPID != s.PID {
		t.Errorf("start: pid %d, but COMMAND's parent (exectrail) is %d", s.PID, r.Records[0].PPID)
	}
}

// checkEnd checks the end record against the records before it.
func checkEnd(t *testing.T, r *Run, exitStatus int) {
	t.Helper()
	e := r.End
	if e == nil {
		t.Fatalf("no end record:\n%s", r.Log)
	}
	counts := map[string]uint64{"start": 1}
	denied := uint64(0)
	for _, rec := range r.Records {
		counts[rec.Event]++
		if rec.Action == "deny" {
			denied++
		}
	}
	for _, k := range []string{"exec", "fork", "exit"} {
		counts[k] += 0
	}
	num := func(f string) uint64 {
		v, ok := e.Raw[f].(float64)
		if !ok {
			t.Fatalf("end: %s is %v, want a number\n%s", f, e.Raw[f], dump([]Record{*e}))
		}
		return uint64(v)
	}
	recv, ans, gone := num("calls_received"), num("calls_answered"), num("calls_gone")
	rec, unrec, atEv := num("calls_recorded"), num("calls_unrecorded"), num("records_at_events")
	switch {
	case e.Seq != len(r.Records)+2 || e.PID != r.Start.PID:
		t.Errorf("end: seq %d pid %d, want %d and the start's %d", e.Seq, e.PID, len(r.Records)+2, r.Start.PID)
	case e.ExitStatus == nil || *e.ExitStatus != exitStatus:
		t.Errorf("end: exit_status %v, want %d", e.ExitStatus, exitStatus)
	case e.DurationMS == nil || *e.DurationMS <= 0:
		t.Errorf("end: duration_ms %v", e.DurationMS)
	case !mapsEqual(e.Counts, counts):
		t.Errorf("end: counts %v, want %v (the records before it)", e.Counts, counts)
	case num("denied") != denied:
		t.Errorf("end: denied %d, want %d", num("denied"), denied)
	case num("records_unwritten") != 0:
		t.Errorf("end: records_unwritten %d", num("records_unwritten"))
	case recv != ans+gone:
		t.Errorf("end: calls_received %d != calls_answered %d + calls_gone %d", recv, ans, gone)
	case ans != rec+unrec:
		t.Errorf("end: calls_answered %d != calls_recorded %d + calls_unrecorded %d", ans, rec, unrec)
	case rec+atEv != counts["exec"]+counts["fork"]:
		t.Errorf("end: calls_recorded %d + records_at_events %d != %d exec and fork records", rec, atEv, counts["exec"]+counts["fork"])
	case num("calls_refused") < denied:
		t.Errorf("end: calls_refused %d < denied %d", num("calls_refused"), denied)
	}
	if t.Failed() {
		t.Logf("log:\n%s", r.Log)
	}
}

func TestTrailStartEnd(t *testing.T) {
	t.Parallel()
	argv := []string{"sh", "-c", "cd /bin && ./ls >/dev/null; /nonexistent 2>/dev/null; exit 3"}
	r := runTrail(t, Opts{}, argv...)
	if r.ExitCode != 3 {
		t.Fatalf("exit %d, want 3\n%s", r.ExitCode, r.Stderr)
	}
	checkStart(t, r, argv, backend)
	checkEnd(t, r, 3)
	e := r.End
	if e.ExitCode == nil || *e.ExitCode != 3 || e.Has("signal") {
		t.Errorf("end: exit_code %v signal %q, want 3 and none", e.ExitCode, e.Signal)
	}
	// Three trapped calls at least (sh, its vfork, ./ls, the failed
	// exec), each recorded: nothing here is gone or unrecorded.
	if n := e.Raw["calls_recorded"].(float64); n < 4 || e.Raw["calls_gone"].(float64) != 0 || e.Raw["calls_unrecorded"].(float64) != 0 {
		t.Errorf("end: calls %v", e.Raw)
	}
}

func TestTrailSignalAndPolicy(t *testing.T) {
	t.Parallel()
	argv := []string{"sh", "-c", "/usr/bin/true; /usr/bin/env true; kill -TERM $$"}
	r := runTrail(t, Opts{Flags: []string{"--backend", "ptrace", "--deny", "/usr/bin/env"}}, argv...)
	if r.Signal == 0 && r.ExitCode != 143 {
		t.Fatalf("exit %d signal %v, want SIGTERM\n%s", r.ExitCode, r.Signal, r.Stderr)
	}
	checkStart(t, r, argv, "ptrace")
	if !slices.Equal(r.Start.Policy, []string{"deny /usr/bin/env"}) || !slices.Contains(r.Start.Options, "--backend=ptrace") {
		t.Errorf("start: policy %q options %q", r.Start.Policy, r.Start.Options)
	}
	checkEnd(t, r, 128+15)
	if r.End.Signal != "SIGTERM" || r.End.Has("exit_code") {
		t.Errorf("end: signal %q exit_code %v, want SIGTERM", r.End.Signal, r.End.ExitCode)
	}
	if r.End.Raw["denied"].(float64) != 1 {
		t.Errorf("end: denied %v, want 1", r.End.Raw["denied"])
	}
}

// A command that is not found never runs under supervision: the log
// still starts and ends.
func TestTrailCommandNotFound(t *testing.T) {
	t.Parallel()
	r := runTrail(t, Opts{}, "/nonexistent/program")
	if r.ExitCode != 127 {
		t.Fatalf("exit %d, want 127", r.ExitCode)
	}
	checkStart(t, r, []string{"/nonexistent/program"}, "")
	checkEnd(t, r, 127)
	if len(r.Records) != 0 {
		t.Errorf("records besides start and end:\n%s", dump(r.Records))
	}
}

// The report names the run from its start record and checks the end
// record's totals against the log.
func TestTrailReport(t *testing.T) {
	t.Parallel()
	r := runTrail(t, Opts{Flags: []string{"--report=summary"}}, "sh", "-c", "/bin/true; /bin/true; exit 2")
	if r.ExitCode != 2 || r.Start == nil || r.End == nil {
		t.Fatalf("exit %d, start %v, end %v\n%s", r.ExitCode, r.Start != nil, r.End != nil, r.Stderr)
	}
	for _, want := range []string{
		"Run: " + r.Start.RunID + ", exectrail ",
		", " + backend + " backend, host ",
		"End: exit 2 after ",
		"exectrail exit status 2; its totals (3 execs, ",
		") are the log's",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("the summary lacks %q:\n%s", want, r.Stderr)
		}
	}
	if strings.Contains(r.Stderr, "start or end record") || strings.Contains(r.Stderr, "no end record") {
		t.Errorf("a complete log noted as incomplete:\n%s", r.Stderr)
	}
	// The same log without its end record: the report says so.
	dir := t.TempDir()
	cut := r.Log[:bytes.LastIndexByte(r.Log[:len(r.Log)-1], '\n')+1]
	log := filepath.Join(dir, "cut.jsonl")
	if err := os.WriteFile(log, cut, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exectrail, "report", "--summary", log).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "note: The log has no end record") {
		t.Errorf("report of a log without its end: %v\n%s", err, out)
	}
}
