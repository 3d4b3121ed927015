// Package supervisor serves a job: it holds every trapped process syscall
// of the job (execve, execveat, fork, vfork, clone, clone3), writes the
// call's record, and only then lets the call go on — or refuses it. The
// record type itself is package record's; this package builds records
// from the job and writes them.
//
// The rule this package exists to keep: a record is written to the output,
// completely, before the syscall it describes is allowed to continue. Seq
// numbers are assigned at the moment of writing, under one lock, so they
// are contiguous and in output order. When a record cannot be written the
// job fails closed: what is held is killed or refused, nothing more is
// written, and the backend reports the error once (Job.Failed).
//
// Where things are:
//
//   - backend.go: the contract. Backend (Serve a Job) and what every
//     backend shares: the one reaper (reap), the exit- and fork-record
//     builders, the ABI field, signal names; Unserved, for a job no
//     backend serves.
//   - notify.go, notif_unsafe.go: NotifyLoop, the seccomp
//     user-notification backend, and its raw ioctls.
//   - ptrace.go, ptrace_unsafe.go: Tracer, the SECCOMP_RET_TRACE + ptrace
//     backend, and its raw requests.
//   - handler.go: Handler, shared by the backends — a trapped Call, the one
//     task-opening step (openTask, tgidOf, idsOf) and fork records.
//   - exec.go: the exec record of a held call, read from the caller's
//     memory and /proc and resolved (through package procfs); argspace.go
//     (E2BIG, predicted as the kernel decides it) and env.go (--env) are
//     its parts. bounded.go: building it under a time bound.
//   - cgroup.go: the cgroup and container fields, and the cache of cgroup
//     ids on cgroup-v2-only hosts.
//   - namespace.go: pid and mount namespaces; identity.go: the identity of
//     the file that runs when a name proves nothing (another mount
//     namespace).
//   - verify.go: what an exec record says, checked at PTRACE_EVENT_EXEC
//     against what the kernel loaded (VerifyExec), and the policy's check
//     on that (CheckLoaded).
//   - enforce.go: the decision at the call (CheckCall), both backends;
//     policy.go: the rules (Policy) and "within" ancestry.
//   - writer*.go, ecs.go, trail.go: the Writer — numbering, encoding
//     (JSON lines, text, ECS), redaction, observers, the start and end
//     records and their hash chain.
//
// Neither backend decides for itself what a record says or what may run:
// both build records with the Handler and the builders of backend.go,
// and refuse through CheckCall (and CheckLoaded); what is theirs is how
// they hold a call, read its registers and let it go.
//
// It must not load seccomp filters, fork, or exec anything (the child
// stage in cmd/exectrail does); print anything but through the logger it
// is given; or let a call continue before its record is written. It
// trusts nothing read from the job unless the task is confirmed to be the
// one that made the call (notify: SECCOMP_IOCTL_NOTIF_ID_VALID after the
// reads; ptrace: the task is held in a stop and never reaped behind the
// tracer's back).
package supervisor
