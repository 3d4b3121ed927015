package supervisor

import (
	"testing"

	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// CheckCall is the last word for notify (verifiedLater false) and only the
// first check for ptrace (true): what exectrail could not read or predict
// is refused by the one and left to CheckLoaded by the other; a denied
// prediction is refused by both.
func TestCheckCall(t *testing.T) {
	deny := &Policy{}
	if err := deny.Add(false, "/usr/bin/denied", "test"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		policy         *Policy
		r              record.Record
		notify, ptrace unix.Errno
		action         string // of the notify verdict
	}{
		{"allowed", deny, record.Record{Executable: "/usr/bin/true"}, 0, 0, ""},
		{"denied", deny, record.Record{Executable: "/usr/bin/denied"}, unix.EPERM, unix.EPERM, record.ActionDeny},
		{"unreadable memory", nil, record.Record{Executable: "/usr/bin/true", Unreadable: true}, unix.EPERM, 0, record.ActionDeny},
		{"bad pointer", nil, record.Record{Error: "EFAULT", PathUnknown: true}, unix.EFAULT, 0, ""},
		{"undetermined, no policy", nil, record.Record{}, 0, 0, ""},
		{"undetermined under a policy", deny, record.Record{}, unix.EPERM, 0, record.ActionDeny},
		{"known to fail under a policy", deny, record.Record{Error: "ENOENT"}, 0, 0, ""},
	} {
		h := &Handler{Policy: tc.policy}
		r := tc.r
		if got := h.CheckCall(&r, nil, false); got != tc.notify || r.Action != tc.action {
			t.Errorf("%s, notify: %v, action %q; want %v, action %q (%s)", tc.name, got, r.Action, tc.notify, tc.action, r.ErrorDetail)
		}
		r = tc.r
		if got := h.CheckCall(&r, nil, true); got != tc.ptrace {
			t.Errorf("%s, ptrace: %v, want %v (%s)", tc.name, got, tc.ptrace, r.ErrorDetail)
		}
	}
}

// CheckLoaded judges what the kernel loaded: under a policy an unverified
// exec does not run, a verified one runs unless what it loaded is denied,
// and the verdict at the call does not stick to a verified record.
func TestCheckLoaded(t *testing.T) {
	deny := &Policy{}
	if err := deny.Add(false, "/usr/bin/denied", "test"); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	for _, tc := range []struct {
		name   string
		policy *Policy
		r      record.Record
		runs   bool
	}{
		{"verified, allowed", deny, record.Record{Executable: "/usr/bin/true", Verified: &yes, Action: record.ActionDeny}, true},
		{"verified, denied", deny, record.Record{Executable: "/usr/bin/denied", Verified: &yes}, false},
		{"unverified under a policy", deny, record.Record{Executable: "/usr/bin/true", Verified: &no}, false},
		{"unverified, no policy", nil, record.Record{Executable: "/usr/bin/true", Verified: &no}, true},
	} {
		h := &Handler{Policy: tc.policy}
		r := tc.r
		got := h.CheckLoaded(&r, nil)
		if got != tc.runs {
			t.Errorf("%s: runs %v, want %v (%s)", tc.name, got, tc.runs, r.ErrorDetail)
		}
		if got && r.Action != "" && r.Verified != nil && *r.Verified {
			t.Errorf("%s: a verified exec that runs keeps action %q", tc.name, r.Action)
		}
		if !got && (r.Action != record.ActionDeny || r.Error != "EPERM") {
			t.Errorf("%s: refused with action %q error %q, want deny and EPERM", tc.name, r.Action, r.Error)
		}
	}
}
