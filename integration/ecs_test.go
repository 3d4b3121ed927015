package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// ecsDoc is the part of an ECS document the tests check, with the
// exectrail object (the JSON record) alongside.
type ecsDoc struct {
	Timestamp string `json:"@timestamp"`
	ECS       struct {
		Version string `json:"version"`
	} `json:"ecs"`
	Event struct {
		Kind     string   `json:"kind"`
		Category []string `json:"category"`
		Type     []string `json:"type"`
		Action   string   `json:"action"`
		Outcome  string   `json:"outcome"`
		Sequence int      `json:"sequence"`
		Reason   string   `json:"reason"`
	} `json:"event"`
	Process struct {
		PID              int      `json:"pid"`
		EntityID         string   `json:"entity_id"`
		Executable       string   `json:"executable"`
		Name             string   `json:"name"`
		Args             []string `json:"args"`
		ArgsCount        *int     `json:"args_count"`
		CommandLine      string   `json:"command_line"`
		WorkingDirectory string   `json:"working_directory"`
		ExitCode         *int     `json:"exit_code"`
		Start            string   `json:"start"`
		End              string   `json:"end"`
		Parent           struct {
			PID      int    `json:"pid"`
			EntityID string `json:"entity_id"`
		} `json:"parent"`
	} `json:"process"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	Host struct {
		Name string `json:"name"`
		OS   struct {
			Kernel string `json:"kernel"`
		} `json:"os"`
	} `json:"host"`
	Exectrail json.RawMessage `json:"exectrail"`
}

// TestECSFormat runs a job with --format ecs and checks every document
// against the JSON record it carries under "exectrail": the ECS fields
// say the same thing, and one process keeps one entity id.
func TestECSFormat(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "ecs.jsonl")
	cmd := exec.Command(exectrail, "run", "--backend", backend, "--format", "ecs", "-o", out, "--",
		"sh", "-c", "cd /bin && ./ls >/dev/null && ./no-such-program; exit 0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("exectrail: %v\n%s", err, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var docs []ecsDoc
	var native bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var d ecsDoc
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, sc.Bytes())
		}
		docs = append(docs, d)
		native.Write(d.Exectrail)
		native.WriteByte('\n')
	}
	// The records inside are whole: seq from 1 with no gaps, as in json.
	// (parseLines: start and end included, and no chain check — the
	// chain is over the ECS lines as written, not over these.)
	recs := parseLines(t, native.Bytes())
	if len(recs) != len(docs) || len(recs) == 0 {
		t.Fatalf("%d documents, %d records", len(docs), len(recs))
	}
	// The run's start and end documents (trail_test.go checks those
	// records) are not the job's processes: the checks below are of the
	// job's.
	jobDocs, jobRecs := docs[:0:0], recs[:0:0]
	for i, r := range recs {
		if r.Event != "start" && r.Event != "end" {
			jobDocs, jobRecs = append(jobDocs, docs[i]), append(jobRecs, r)
		}
	}
	docs, recs = jobDocs, jobRecs
	entity := map[int]string{} // pid -> entity id, for exec records
	var sh, ls, miss, shExit = -1, -1, -1, -1
	for i, d := range docs {
		r := recs[i]
		if d.Event.Sequence != r.Seq || d.Timestamp != r.Time || d.Process.PID != r.PID {
			t.Errorf("document %d: sequence %d @timestamp %s pid %d; record seq %d time %s pid %d",
				i+1, d.Event.Sequence, d.Timestamp, d.Process.PID, r.Seq, r.Time, r.PID)
		}
		if d.Event.Kind != "event" || !slices.Equal(d.Event.Category, []string{"process"}) || d.Event.Action != r.Event || d.ECS.Version == "" || d.Host.OS.Kernel == "" {
			t.Errorf("document %d: kind %q category %v action %q ecs %q kernel %q", i+1, d.Event.Kind, d.Event.Category, d.Event.Action, d.ECS.Version, d.Host.OS.Kernel)
		}
		if d.Process.EntityID == "" {
			t.Errorf("document %d: no process.entity_id", i+1)
		}
		switch r.Event {
		case "exec":
			if d.Process.Executable != r.Executable || !slices.Equal(d.Process.Args, r.Argv) || d.Process.ArgsCount == nil || *d.Process.ArgsCount != len(r.Argv) ||
				d.Process.WorkingDirectory != r.Cwd || d.Process.Parent.PID != r.PPID {
				t.Errorf("document %d does not say what its record says:\n%s\n%s", i+1, sc.Bytes(), dump([]Record{r}))
			}
			if r.UID != nil && d.User.ID != jsonInt(*r.UID) {
				t.Errorf("document %d: user.id %q, uid %d", i+1, d.User.ID, *r.UID)
			}
			wantOutcome := "success"
			if r.Error != "" {
				wantOutcome = "failure"
			}
			if d.Event.Outcome != wantOutcome || d.Event.Reason != r.Error || !slices.Equal(d.Event.Type, []string{"start"}) {
				t.Errorf("document %d: type %v outcome %q reason %q for error %q", i+1, d.Event.Type, d.Event.Outcome, d.Event.Reason, r.Error)
			}
			if prev, ok := entity[r.PID]; ok && prev != d.Process.EntityID {
				t.Errorf("pid %d: entity id %q, then %q", r.PID, prev, d.Process.EntityID)
			}
			entity[r.PID] = d.Process.EntityID
			switch {
			case r.Executable == "/usr/bin/ls":
				ls = i
			case r.Path == "./no-such-program":
				miss = i
			case sh < 0:
				sh = i
			}
		case "exit":
			if r.PID == recs[0].PID {
				shExit = i
			}
		}
	}
	if sh < 0 || ls < 0 || miss < 0 || shExit < 0 {
		t.Fatalf("missing records (sh %d, ls %d, miss %d, sh's exit %d):\n%s", sh, ls, miss, shExit, dump(recs))
	}
	if docs[ls].Process.Parent.EntityID != docs[sh].Process.EntityID || docs[ls].Process.EntityID == docs[sh].Process.EntityID {
		t.Errorf("ls: entity %q parent %q; sh: entity %q", docs[ls].Process.EntityID, docs[ls].Process.Parent.EntityID, docs[sh].Process.EntityID)
	}
	if docs[ls].Process.CommandLine != "./ls" || docs[ls].Process.Name != "ls" {
		t.Errorf("ls: command_line %q name %q", docs[ls].Process.CommandLine, docs[ls].Process.Name)
	}
	if d := docs[miss]; d.Event.Reason != "ENOENT" || d.Process.Parent.EntityID != docs[sh].Process.EntityID {
		t.Errorf("the failed attempt: reason %q parent entity %q (sh's %q)", d.Event.Reason, d.Process.Parent.EntityID, docs[sh].Process.EntityID)
	}
	if d := docs[shExit]; !slices.Equal(d.Event.Type, []string{"end"}) || d.Process.ExitCode == nil || *d.Process.ExitCode != 0 ||
		d.Event.Outcome != "success" || d.Process.EntityID != docs[sh].Process.EntityID || d.Process.Executable != "/usr/bin/dash" || d.Process.End == "" {
		t.Errorf("COMMAND's exit document: %+v", d.Process)
	}
	if backend == "ptrace" {
		// ptrace names a fork's child: the child's start is known.
		if docs[ls].Process.Start == "" {
			t.Errorf("ptrace: ls has no process.start")
		}
	}
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }
