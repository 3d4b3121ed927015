package supervisor

import "testing"

// CheckFiles decides on files, not on names the job controls: in another
// mount namespace a name that is another file for exectrail admits
// nothing, and a deny rule catches the file by its name in either view.
func TestPolicyCheckFiles(t *testing.T) {
	p := &Policy{}
	for _, r := range []struct {
		allow bool
		pat   string
	}{{true, "/usr/bin/*"}, {false, "/usr/bin/curl"}} {
		if err := p.Add(r.allow, r.pat, "test"); err != nil {
			t.Fatal(err)
		}
	}
	rows := []struct {
		name string
		exe  File
		deny bool
	}{
		{"same file, allowed name", File{Path: "/usr/bin/true"}, false},
		{"foreign file at an allowed name", File{Path: "/usr/bin/true", Foreign: true}, true},
		{"foreign name, allowed file outside", File{Path: "/opt/x", Foreign: true, Outer: "/usr/bin/ls"}, false},
		{"foreign file at an allowed name, from elsewhere", File{Path: "/usr/bin/true", Foreign: true, Outer: "/tmp/evil"}, true},
		{"denied file under another name", File{Path: "/usr/bin/true", Foreign: true, Outer: "/usr/bin/curl"}, true},
		{"denied name for another file", File{Path: "/usr/bin/curl", Foreign: true, Outer: "/usr/bin/ls"}, true},
	}
	for _, row := range rows {
		if d := p.CheckFiles(row.exe, File{}); d.Deny != row.deny {
			t.Errorf("%s: deny %v (%s), want %v", row.name, d.Deny, d.Reason, row.deny)
		}
	}
	// Without allow patterns, a foreign file is judged by deny alone.
	q := &Policy{}
	if err := q.Add(false, "/usr/bin/curl", "test"); err != nil {
		t.Fatal(err)
	}
	if d := q.CheckFiles(File{Path: "/usr/bin/true", Foreign: true, Outer: "/tmp/x"}, File{}); d.Deny {
		t.Errorf("deny-only policy refused an undenied file: %s", d.Reason)
	}
}
