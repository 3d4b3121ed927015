package supervisor

import (
	"strings"

	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// What may run: the decisions both backends take on an exec record. At
// the call, CheckCall (this file); under ptrace also after the exec, on
// what the kernel loaded, CheckLoaded (verify.go), beside the verification
// it judges. The rules themselves are the Policy's (policy.go); here they
// meet records: names in other mount namespaces prove nothing
// (identity.go), and each script of an interpreter chain runs too.

// CheckCall decides, at the call, whether the exec that r records may go
// on: 0, or the errno to refuse it with (r then says why). a is the
// process's ancestry (nil when the backend keeps none).
//
// verifiedLater says the backend checks what the kernel loaded before
// the new program's first instruction (ptrace: CheckLoaded). Then only
// the policy's verdict on the prediction counts here — racing it gains
// nothing — and what exectrail could not read or predict is decided
// there. Without it (notify) this is the last word, and what exectrail
// cannot check does not run: a path or argv in memory the kernel reads but
// exectrail cannot, an executable that cannot be determined under a
// policy. A bad pointer is refused with the EFAULT the exec fails with
// anyway, so that memory mapped there after the read cannot turn it into
// an exec nobody recorded.
func (h *Handler) CheckCall(r *record.Record, a *Ancestry, verifiedLater bool) unix.Errno {
	if !verifiedLater {
		switch {
		case r.Unreadable:
			r.Action, r.Error = record.ActionDeny, "EPERM"
			r.ErrorDetail = "refused: the call's path or arguments lie in memory that exectrail cannot read but the kernel can (memfd_secret, [vvar]): " + r.ErrorDetail
			return unix.EPERM
		case r.Error == "EFAULT":
			return unix.EFAULT
		}
	}
	if h.RefuseIn(r, a) {
		return unix.EPERM
	}
	if !verifiedLater && !h.Policy.Empty() && r.Executable == "" && r.Error == "" {
		// A non-dumpable caller whose path exectrail cannot read.
		r.Action, r.Error = record.ActionDeny, "EPERM"
		r.ErrorDetail = "refused: the executable could not be determined, and a policy is in force"
		return unix.EPERM
	}
	return 0
}

// Refuse applies the policy to r, an exec record: when the executable or
// its interpreter is refused it marks r (action deny, error EPERM) and
// returns true.
func (h *Handler) Refuse(r *record.Record) bool { return h.RefuseIn(r, nil) }

// RefuseIn is Refuse for a process whose ancestry is a (see Ancestry).
func (h *Handler) RefuseIn(r *record.Record, a *Ancestry) bool {
	ex, in := File{Path: r.Executable}, File{Path: r.Interpreter}
	if h.foreignNS(r) || r.MntNS == 0 && h.selfMntNS != 0 {
		// Another mount namespace, or one that could not be read: the
		// name alone proves nothing.
		ex.Foreign = r.SameFile == nil || !*r.SameFile
		ex.Outer = r.OuterPath
		in.Foreign = r.InterpreterSameFile == nil || !*r.InterpreterSameFile
	}
	d := h.Policy.CheckFilesIn(ex, in, a)
	for _, s := range r.InterpreterChain {
		if d.Deny {
			break
		}
		// Each script of the chain runs too, as an interpreter.
		if d = h.Policy.CheckFilesIn(File{Path: s, Foreign: in.Foreign}, File{}, a); d.Deny {
			d.Reason = "interpreter " + strings.TrimPrefix(d.Reason, "executable ")
		}
	}
	if !d.Deny {
		return false
	}
	r.Action = record.ActionDeny
	r.Error = "EPERM"
	r.ErrorDetail = "refused by policy: " + d.Reason
	return true
}
