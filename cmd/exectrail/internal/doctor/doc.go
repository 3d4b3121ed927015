// Package doctor is `exectrail doctor`: it finds out, on the machine it
// runs on, whether each backend can work and why not, by doing what
// `exectrail run` would do in throwaway child processes (loading a filter,
// receiving one notification, tracing one seccomp stop) rather than by
// guessing from versions, and it reports the facts around them (kernel,
// privileges, cgroups, /proc, container, namespaces).
//
// It must never load a seccomp filter, set no_new_privs or change any
// other state of the process it runs in: every probe that does runs in a
// child started with the probe argument (ProbeMain), which the command's
// main dispatches before anything else. The probes are bounded: a child
// that does not finish in time is killed and reported.
package doctor
