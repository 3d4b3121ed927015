package procfs

import (
	"os"

	"golang.org/x/sys/unix"
)

// ProcessMemory reads a task's memory with process_vm_readv(2). It needs
// the same permission as ptrace attach (PTRACE_MODE_ATTACH_REALCREDS): a
// non-dumpable tracee cannot be read by an unprivileged supervisor.
type ProcessMemory struct {
	TID int
	// scratch iovecs, reused across calls
	local     []unix.Iovec
	remoteRaw []unix.RemoteIovec
}

// ReadV implements Memory.
func (pm *ProcessMemory) ReadV(addrs []uint64, bufs [][]byte) (int, error) {
	pm.local = pm.local[:0]
	pm.remoteRaw = pm.remoteRaw[:0]
	for i, b := range bufs {
		if len(b) == 0 {
			continue
		}
		iov := unix.Iovec{Base: &b[0]}
		iov.SetLen(len(b))
		pm.local = append(pm.local, iov)
		pm.remoteRaw = append(pm.remoteRaw, unix.RemoteIovec{Base: uintptr(addrs[i]), Len: len(b)})
	}
	if len(pm.local) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.ProcessVMReadv(pm.TID, pm.local, pm.remoteRaw, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("process_vm_readv", err)
		}
		if n < totalLen(bufs) {
			// Partial: the next range is unreadable. Say why by
			// reading it alone.
			return n, pm.whyShort(addrs, bufs, n)
		}
		return n, nil
	}
}

func totalLen(bufs [][]byte) int {
	t := 0
	for _, b := range bufs {
		t += len(b)
	}
	return t
}

func (pm *ProcessMemory) whyShort(addrs []uint64, bufs [][]byte, n int) error {
	for i, b := range bufs {
		if n < len(b) {
			var one [1]byte
			at := addrs[i] + uint64(n)
			iov := []unix.Iovec{{Base: &one[0]}}
			iov[0].SetLen(1)
			_, err := unix.ProcessVMReadv(pm.TID, iov, []unix.RemoteIovec{{Base: uintptr(at), Len: 1}}, 0)
			if err == nil {
				return os.NewSyscallError("process_vm_readv", unix.EIO)
			}
			return os.NewSyscallError("process_vm_readv", err)
		}
		n -= len(b)
	}
	return nil
}
