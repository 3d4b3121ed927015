package supervisor

import (
	"strings"
	"testing"

	"github.com/exectrail/exectrail/supervisor/record"
)

// Each script of an interpreter chain runs too: a policy checks it as an
// interpreter (enforce.go, Refuse).
func TestRefuseInterpreterChain(t *testing.T) {
	for _, tc := range []struct {
		allow bool
		pat   string
		deny  bool
	}{
		{false, "/w/s1.sh", true},      // the script in the middle is denied
		{false, "/w/s2.sh", true},      // the file named
		{false, "/usr/bin/dash", true}, // what finally runs
		{false, "/w/other", false},     // none of them
		{true, "/w/s2.sh", true},       // an allow list must admit all of them
		{true, "/**", false},           // it does
	} {
		p := &Policy{}
		if err := p.Add(tc.allow, tc.pat, "test"); err != nil {
			t.Fatal(err)
		}
		h := &Handler{Policy: p}
		r := &record.Record{Executable: "/w/s2.sh", Interpreter: "/usr/bin/dash", InterpreterChain: []string{"/w/s1.sh"}}
		if got := h.Refuse(r); got != tc.deny {
			t.Errorf("allow %v %q: refused %v, want %v (%s)", tc.allow, tc.pat, got, tc.deny, r.ErrorDetail)
		}
		if tc.pat == "/w/s1.sh" && !strings.Contains(r.ErrorDetail, "interpreter /w/s1.sh") {
			t.Errorf("detail %q should name the interpreter /w/s1.sh", r.ErrorDetail)
		}
	}
}
