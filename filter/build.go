package filter

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"

	seccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Action is what the filter does with a trapped process syscall.
type Action int

const (
	// Notify hands trapped syscalls to a user-space listener
	// (SECCOMP_RET_USER_NOTIF).
	Notify Action = iota
	// Trace stops the task for a ptrace tracer (SECCOMP_RET_TRACE).
	Trace
)

func (a Action) String() string {
	switch a {
	case Notify:
		return "notify"
	case Trace:
		return "trace"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Instruction is one classic BPF instruction in the kernel's layout
// (struct sock_filter).
type Instruction = unix.SockFilter

// Program is a built seccomp program.
type Program struct {
	Action       Action
	Instructions []Instruction
}

// cloneThread is CLONE_THREAD: clone calls with it set create threads and
// are let through untouched.
const cloneThread = unix.CLONE_THREAD

// cloneUntraced is CLONE_UNTRACED: the trace filter traps every clone
// with it, thread or not.
const cloneUntraced = unix.CLONE_UNTRACED

// Build generates the seccomp program for action.
func Build(action Action) (*Program, error) {
	var trap seccomp.ScmpAction
	switch action {
	case Notify:
		trap = seccomp.ActNotify
	case Trace:
		trap = seccomp.ActTrace.SetReturnCode(0)
	default:
		return nil, fmt.Errorf("build filter: unknown action %v", action)
	}
	f, err := seccomp.NewFilter(seccomp.ActAllow)
	if err != nil {
		return nil, fmt.Errorf("build filter: %w", err)
	}
	defer f.Release()
	if err := f.SetBadArchAction(seccomp.ActKillProcess); err != nil {
		return nil, fmt.Errorf("build filter: bad-arch action: %w", err)
	}
	// Native arch is already present; add the two compat ABIs an x86_64
	// process can enter the kernel with.
	for _, arch := range []seccomp.ScmpArch{seccomp.ArchX86, seccomp.ArchX32} {
		if err := f.AddArch(arch); err != nil {
			return nil, fmt.Errorf("build filter: adding arch %s: %w", arch, err)
		}
	}
	for _, name := range []string{"execve", "execveat", "fork", "vfork"} {
		sc, err := seccomp.GetSyscallFromName(name)
		if err != nil {
			return nil, fmt.Errorf("build filter: resolving %s: %w", name, err)
		}
		if err := f.AddRule(sc, trap); err != nil {
			return nil, fmt.Errorf("build filter: adding rule for %s: %w", name, err)
		}
	}
	clone, err := seccomp.GetSyscallFromName("clone")
	if err != nil {
		return nil, fmt.Errorf("build filter: resolving clone: %w", err)
	}
	noThread, err := seccomp.MakeCondition(0, seccomp.CompareMaskedEqual, cloneThread, 0)
	if err != nil {
		return nil, fmt.Errorf("build filter: clone condition: %w", err)
	}
	if err := f.AddRuleConditional(clone, trap, []seccomp.ScmpCondition{noThread}); err != nil {
		return nil, fmt.Errorf("build filter: adding rule for clone: %w", err)
	}
	if action == Trace {
		// A clone with CLONE_UNTRACED is not auto-attached by the tracer;
		// another process of the job could then trace it and receive its
		// TRACE stops. Trap it even when it makes a thread, so the tracer
		// can clear the flag (KERNEL-FACTS 37). The notifier does not care.
		untraced, err := seccomp.MakeCondition(0, seccomp.CompareMaskedEqual, cloneUntraced, cloneUntraced)
		if err != nil {
			return nil, fmt.Errorf("build filter: clone condition: %w", err)
		}
		if err := f.AddRuleConditional(clone, trap, []seccomp.ScmpCondition{untraced}); err != nil {
			return nil, fmt.Errorf("build filter: adding rule for clone(CLONE_UNTRACED): %w", err)
		}
	}
	clone3, err := seccomp.GetSyscallFromName("clone3")
	if err != nil {
		return nil, fmt.Errorf("build filter: resolving clone3: %w", err)
	}
	if err := f.AddRule(clone3, seccomp.ActErrno.SetReturnCode(int16(unix.ENOSYS))); err != nil {
		return nil, fmt.Errorf("build filter: adding rule for clone3: %w", err)
	}
	raw, err := exportBPF(f)
	if err != nil {
		return nil, fmt.Errorf("build filter: %w", err)
	}
	insns, err := decodeInstructions(raw)
	if err != nil {
		return nil, fmt.Errorf("build filter: %w", err)
	}
	return &Program{Action: action, Instructions: insns}, nil
}

// exportBPF gets the raw program out of libseccomp. libseccomp 2.5 can only
// write it to a file descriptor, so it goes through a memfd.
func exportBPF(f *seccomp.ScmpFilter) ([]byte, error) {
	fd, err := unix.MemfdCreate("exectrail-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("memfd_create", err)
	}
	file := os.NewFile(uintptr(fd), "exectrail-bpf")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("exporting BPF: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(file)
}

func decodeInstructions(raw []byte) ([]Instruction, error) {
	if len(raw) == 0 || len(raw)%8 != 0 {
		return nil, fmt.Errorf("exported BPF has %d bytes, not a whole number of instructions", len(raw))
	}
	insns := make([]Instruction, len(raw)/8)
	for i := range insns {
		b := raw[i*8:]
		insns[i] = Instruction{
			Code: binary.NativeEndian.Uint16(b[0:]),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:]),
		}
	}
	return insns, nil
}
