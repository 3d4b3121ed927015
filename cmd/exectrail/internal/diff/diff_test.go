package diff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

const base = `{"seq":1,"time":"2026-12-04T10:00:00.000000000Z","event":"exec","pid":10,"ppid":1,"path":"/bin/sh","executable":"/usr/bin/dash","argv":["sh"]}
{"seq":2,"time":"2026-12-04T10:00:00.000000000Z","event":"exec","pid":11,"ppid":10,"path":"/usr/bin/make","executable":"/usr/bin/make","argv":["make"]}
`

// The same programs reached through other edges are new edges, not new
// programs; failures are compared by program and errno.
func TestCompareEdges(t *testing.T) {
	nw := base + `{"seq":3,"time":"2026-12-04T10:00:00.000000000Z","event":"exec","pid":12,"ppid":11,"path":"/bin/sh","executable":"/usr/bin/dash","argv":["sh","-c","x"]}
{"seq":4,"time":"2026-12-04T10:00:00.000000000Z","event":"exec","pid":13,"ppid":12,"path":"/x","executable":"/x","argv":["/x"],"error":"EACCES"}
{"seq":5,"time":"2026-12-04T10:00:00.000000000Z","event":"exec","pid":13,"ppid":12,"path":"/x","executable":"/x","argv":["/x"],"error":"EACCES"}
`
	r, err := Compare(Input{"a", strings.NewReader(base)}, Input{"b", strings.NewReader(nw)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.NewPrograms) != 0 || len(r.NewEdges) != 1 || r.NewEdges[0].Parent.Executable != "/usr/bin/make" ||
		r.NewEdges[0].Child.Executable != "/usr/bin/dash" || len(r.NewFailed) != 1 || r.NewFailed[0].Count != 2 ||
		r.NewFailed[0].Error != "EACCES" || !r.Added() || r.Removed() {
		j, _ := json.Marshal(r)
		t.Errorf("Compare: %s", j)
	}
	if ex := r.NewEdges[0].Example; ex == nil || len(ex.Ancestors) != 2 || ex.PID != 12 || ex.Line != 3 {
		t.Errorf("example %+v", ex)
	}
}

func FuzzCompare(f *testing.F) {
	f.Add([]byte(base), []byte(base+"garbage\n{\"seq\":9}\n"))
	f.Add([]byte(base), []byte(`{"seq":1,"time":"2026-12-04T10:00:00Z","event":"exec","pid":1,"ppid":1}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		r, err := Compare(Input{"a", bytes.NewReader(a)}, Input{"b", bytes.NewReader(b)}, Options{CountFactor: 2})
		if err != nil {
			return
		}
		var out bytes.Buffer
		if r.WriteText(&out) != nil || r.WriteMarkdown(&out) != nil || r.WriteJSON(&out) != nil {
			t.Fatal("write failed")
		}
	})
}
