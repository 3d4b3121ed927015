package filter

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData lays out struct seccomp_data for the x/net/bpf VM. The VM
// loads words big-endian while the kernel loads them in native order, so
// each 32-bit word is stored big-endian at the offset the kernel uses;
// 64-bit arguments are two words, low half first as on little-endian.
func seccompData(arch uint32, nr int32, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], uint32(nr))
	binary.BigEndian.PutUint32(b[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[16+8*i+4:], uint32(a>>32))
	}
	return b
}

func runProgram(t *testing.T, p *Program, data []byte) uint32 {
	t.Helper()
	insns := make([]bpf.Instruction, len(p.Instructions))
	for i, in := range p.Instructions {
		insns[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}.Disassemble()
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatalf("program does not load in the BPF VM: %v", err)
	}
	ret, err := vm.Run(data)
	if err != nil {
		t.Fatalf("running program: %v", err)
	}
	return uint32(ret)
}

const (
	retNotify = unix.SECCOMP_RET_USER_NOTIF
	retTrace  = unix.SECCOMP_RET_TRACE
	retAllow  = unix.SECCOMP_RET_ALLOW
	retKill   = unix.SECCOMP_RET_KILL_PROCESS
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
)

func TestBuiltProgram(t *testing.T) {
	const x32 = 0x40000000
	const auditArchARM64 = 0xc00000b7
	rows := []struct {
		name string
		arch uint32
		nr   int32
		args []uint64
		want uint32 // for the Notify program; trap rows become TRACE for Trace
		trap bool
		// traceOnly: trapped by the Trace program only (want is then the
		// Notify program's answer).
		traceOnly bool
	}{
		{"x86_64 execve", AuditArchX86_64, 59, nil, retNotify, true, false},
		{"x86_64 execveat", AuditArchX86_64, 322, nil, retNotify, true, false},
		{"x86_64 fork", AuditArchX86_64, 57, nil, retNotify, true, false},
		{"x86_64 vfork", AuditArchX86_64, 58, nil, retNotify, true, false},
		{"x86_64 clone of a process (glibc fork flags)", AuditArchX86_64, 56, []uint64{0x1200011}, retNotify, true, false},
		{"x86_64 clone of a thread", AuditArchX86_64, 56, []uint64{0x3d0f00}, retAllow, false, false},
		{"x86_64 clone with garbage high bits but CLONE_THREAD", AuditArchX86_64, 56, []uint64{0xffffffff00010000}, retAllow, false, false},
		{"x86_64 clone3 gets ENOSYS", AuditArchX86_64, 435, nil, retENOSYS, false, false},
		{"x86_64 clone of a process with CLONE_UNTRACED", AuditArchX86_64, 56, []uint64{0x800011}, retNotify, true, false},
		{"x86_64 clone of a thread with CLONE_UNTRACED", AuditArchX86_64, 56, []uint64{0x3d0f00 | 0x800000}, retAllow, false, true},
		{"x86_64 clone of a thread, CLONE_UNTRACED and high garbage", AuditArchX86_64, 56, []uint64{0xffffffff00810000}, retAllow, false, true},
		{"i386 clone of a thread with CLONE_UNTRACED", AuditArchI386, 120, []uint64{0x3d0f00 | 0x800000}, retAllow, false, true},
		{"x32 clone of a thread with CLONE_UNTRACED", AuditArchX86_64, x32 | 56, []uint64{0x810000}, retAllow, false, true},
		{"x86_64 getpid", AuditArchX86_64, 39, nil, retAllow, false, false},
		{"x86_64 openat", AuditArchX86_64, 257, nil, retAllow, false, false},
		{"i386 execve (int 0x80)", AuditArchI386, 11, nil, retNotify, true, false},
		{"i386 execveat", AuditArchI386, 358, nil, retNotify, true, false},
		{"i386 fork", AuditArchI386, 2, nil, retNotify, true, false},
		{"i386 vfork", AuditArchI386, 190, nil, retNotify, true, false},
		{"i386 clone of a process", AuditArchI386, 120, []uint64{0x11}, retNotify, true, false},
		{"i386 clone of a thread", AuditArchI386, 120, []uint64{0x3d0f00}, retAllow, false, false},
		{"i386 clone3", AuditArchI386, 435, nil, retENOSYS, false, false},
		{"i386 getpid", AuditArchI386, 20, nil, retAllow, false, false},
		{"i386 number 59 is not execve there", AuditArchI386, 59, nil, retAllow, false, false},
		{"x32 execve", AuditArchX86_64, x32 | 520, nil, retNotify, true, false},
		{"x32 execveat", AuditArchX86_64, x32 | 545, nil, retNotify, true, false},
		{"x32 fork", AuditArchX86_64, x32 | 57, nil, retNotify, true, false},
		{"x32 clone of a process", AuditArchX86_64, x32 | 56, []uint64{0x11}, retNotify, true, false},
		{"x32 clone of a thread", AuditArchX86_64, x32 | 56, []uint64{0x10000}, retAllow, false, false},
		{"x32 getpid", AuditArchX86_64, x32 | 39, nil, retAllow, false, false},
		{"unknown arch is killed", auditArchARM64, 221, nil, retKill, false, false},
		{"unknown arch, harmless call, still killed", auditArchARM64, 172, nil, retKill, false, false},
	}
	for _, action := range []Action{Notify, Trace} {
		p, err := Build(action)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			want := r.want
			if (r.trap || r.traceOnly) && action == Trace {
				want = retTrace
			}
			got := runProgram(t, p, seccompData(r.arch, r.nr, r.args...))
			if got != want {
				t.Errorf("%v program, %s: got %#x, want %#x", action, r.name, got, want)
			}
			// Every trapped row must decode to a known kind.
			if (r.trap || r.traceOnly) && Decode(r.arch, r.nr).Kind == KindUnknown {
				t.Errorf("%s: trapped but Decode does not know it", r.name)
			}
		}
	}
}

func TestDecode(t *testing.T) {
	rows := []struct {
		arch    uint32
		nr      int32
		kind    Kind
		ptrSize int
	}{
		{AuditArchX86_64, 59, KindExecve, 8},
		{AuditArchX86_64, 322, KindExecveat, 8},
		{AuditArchI386, 11, KindExecve, 4},
		{AuditArchI386, 358, KindExecveat, 4},
		{AuditArchX86_64, 0x40000000 | 520, KindExecve, 4},
		{AuditArchX86_64, 0x40000000 | 545, KindExecveat, 4},
		{AuditArchX86_64, 0x40000000 | 59, KindUnknown, 4},
		{AuditArchX86_64, 39, KindUnknown, 8},
		{0xdead, 59, KindUnknown, 0},
	}
	for _, r := range rows {
		got := Decode(r.arch, r.nr)
		if got.Kind != r.kind || got.PtrSize != r.ptrSize {
			t.Errorf("Decode(%#x, %d) = %+v, want kind %v ptr %d", r.arch, r.nr, got, r.kind, r.ptrSize)
		}
	}
}
