package main

// The supervisor's own CPU time, from the kernel's taskstats (generic
// netlink, TASKSTATS_CMD_GET): the harness waits for the supervisor to
// exit without reaping it (waitid WNOWAIT) and asks the kernel for the
// zombie's thread-group totals, so the figure covers every thread the
// supervisor ever had, to its last instruction, and nothing of the job
// (wait4's rusage would add the children the supervisor reaped).
//
// What the kernel keeps for a thread group: when a thread of a group that
// has (or had) more than one thread exits, its scheduler runtime
// (sum_exec_runtime, in ns, exact) and its count of times it was switched
// onto a CPU are added to the group's totals (kernel/taskstats.c,
// fill_tgid_exit → delayacct_add_tsk: cpu_run_virtual_total, cpu_count).
// A single-threaded process (strace, the C floors) has no group totals: its
// zombie leader's own figures are asked for by pid instead. Neither needs
// delay accounting to be switched on; both need CONFIG_TASKSTATS, and
// without it the CPU columns are empty and the run says so (Skipped).
//
// The user/system split is not asked for: the kernel samples it by ticks,
// and the sum of the two is what sum_exec_runtime already gives exactly.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// CPUUse is a supervisor's CPU time and how often it was scheduled.
type CPUUse struct {
	NS       uint64 // CPU time, all threads, user and system
	Switches uint64 // times a thread was switched onto a CPU
}

var (
	taskstatsOnce   sync.Once
	taskstatsFamily uint16
	taskstatsErr    error
)

// taskstatsID resolves the TASKSTATS generic netlink family once.
func taskstatsID() (uint16, error) {
	taskstatsOnce.Do(func() {
		attrs, err := genlRequest(unix.GENL_ID_CTRL, unix.CTRL_CMD_GETFAMILY,
			nlAttr(unix.CTRL_ATTR_FAMILY_NAME, append([]byte(unix.TASKSTATS_GENL_NAME), 0)))
		if err != nil {
			taskstatsErr = fmt.Errorf("taskstats: %w", err)
			return
		}
		for _, a := range attrs {
			if a.typ == unix.CTRL_ATTR_FAMILY_ID && len(a.val) >= 2 {
				taskstatsFamily = binary.NativeEndian.Uint16(a.val)
				return
			}
		}
		taskstatsErr = errors.New("taskstats: no family id in the answer")
	})
	return taskstatsFamily, taskstatsErr
}

// zombieCPU returns the CPU use of the thread group pid, which must have
// exited and not yet been reaped (see waitExit).
func zombieCPU(pid int) (CPUUse, error) {
	fam, err := taskstatsID()
	if err != nil {
		return CPUUse{}, err
	}
	st, err := taskstatsGet(fam, unix.TASKSTATS_CMD_ATTR_TGID, pid)
	if err != nil {
		return CPUUse{}, err
	}
	if st.Cpu_run_virtual_total == 0 { // never had a second thread: no group totals
		if st, err = taskstatsGet(fam, unix.TASKSTATS_CMD_ATTR_PID, pid); err != nil {
			return CPUUse{}, err
		}
	}
	return CPUUse{NS: st.Cpu_run_virtual_total, Switches: st.Cpu_count}, nil
}

func taskstatsGet(fam uint16, attr uint16, pid int) (unix.Taskstats, error) {
	var st unix.Taskstats
	v := make([]byte, 4)
	binary.NativeEndian.PutUint32(v, uint32(pid))
	attrs, err := genlRequest(fam, unix.TASKSTATS_CMD_GET, nlAttr(attr, v))
	if err != nil {
		return st, fmt.Errorf("taskstats of %d: %w", pid, err)
	}
	for _, a := range attrs {
		if a.typ != unix.TASKSTATS_TYPE_AGGR_TGID && a.typ != unix.TASKSTATS_TYPE_AGGR_PID {
			continue
		}
		for _, n := range parseAttrs(a.val) {
			if n.typ == unix.TASKSTATS_TYPE_STATS {
				// The kernel's struct may be shorter or longer than
				// x/sys's: copy what both have.
				b := unsafe.Slice((*byte)(unsafe.Pointer(&st)), unsafe.Sizeof(st))
				copy(b, n.val)
				return st, nil
			}
		}
	}
	return st, fmt.Errorf("taskstats of %d: no stats in the answer", pid)
}

type nlattr struct {
	typ uint16
	val []byte
}

func nlAttr(typ uint16, val []byte) []byte {
	b := make([]byte, 4, 4+len(val)+3)
	binary.NativeEndian.PutUint16(b[0:], uint16(4+len(val)))
	binary.NativeEndian.PutUint16(b[2:], typ)
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func parseAttrs(b []byte) []nlattr {
	var out []nlattr
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b[0:]))
		if l < 4 || l > len(b) {
			break
		}
		out = append(out, nlattr{binary.NativeEndian.Uint16(b[2:]) &^ unix.NLA_F_NESTED, b[4:l]})
		l = (l + 3) &^ 3
		if l > len(b) {
			break
		}
		b = b[l:]
	}
	return out
}

// genlRequest sends one generic netlink request and returns the
// attributes of its one answer.
func genlRequest(fam uint16, cmd uint8, attrs []byte) ([]nlattr, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, os.NewSyscallError("bind", err)
	}
	const hdr = unix.NLMSG_HDRLEN + unix.GENL_HDRLEN
	msg := make([]byte, hdr, hdr+len(attrs))
	binary.NativeEndian.PutUint32(msg[0:], uint32(hdr+len(attrs)))
	binary.NativeEndian.PutUint16(msg[4:], fam)
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(msg[8:], 1) // seq
	msg[unix.NLMSG_HDRLEN] = cmd
	msg[unix.NLMSG_HDRLEN+1] = 1 // version
	msg = append(msg, attrs...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, os.NewSyscallError("sendto", err)
	}
	buf := make([]byte, 1<<16)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return nil, os.NewSyscallError("recvfrom", err)
	}
	buf = buf[:n]
	if len(buf) < unix.NLMSG_HDRLEN {
		return nil, errors.New("short netlink answer")
	}
	l := int(binary.NativeEndian.Uint32(buf[0:]))
	typ := binary.NativeEndian.Uint16(buf[4:])
	if l > len(buf) || l < unix.NLMSG_HDRLEN {
		return nil, errors.New("bad netlink answer")
	}
	if typ == unix.NLMSG_ERROR {
		if l >= unix.NLMSG_HDRLEN+4 {
			if e := int32(binary.NativeEndian.Uint32(buf[unix.NLMSG_HDRLEN:])); e != 0 {
				return nil, syscall.Errno(-e)
			}
		}
		return nil, errors.New("netlink error")
	}
	if l < hdr {
		return nil, errors.New("short generic netlink answer")
	}
	return parseAttrs(buf[hdr:l]), nil
}

// waitExit blocks until process pid has exited, leaving it a zombie for
// zombieCPU (waitid with WNOWAIT); the caller reaps it afterwards.
func waitExit(pid int) error {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err
		}
	}
}
