package main

import (
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// readSignals forwards what the handlers write, and gives up on what no
// retry can mend (EOF, a read error) instead of spinning on it.
func TestReadSignalsGivesUp(t *testing.T) {
	run := func(t *testing.T, fd int) []forwardedSignal {
		t.Helper()
		out := make(chan forwardedSignal, 4)
		done := make(chan struct{})
		go func() { readSignals(fd, out); close(done) }()
		// A guard against the spin, not a measure: it returns at once.
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("readSignals did not return: it loops on an error it cannot mend")
		}
		close(out)
		var got []forwardedSignal
		for s := range out {
			got = append(got, s)
		}
		return got
	}
	t.Run("eof", func(t *testing.T) {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(p[0])
		// One signal (SIGINT, code SI_KERNEL), then the writer is gone.
		if _, err := unix.Write(p[1], []byte{2, 0, 0, 0, siKernel, 0, 0, 0}); err != nil {
			t.Fatal(err)
		}
		unix.Close(p[1])
		got := run(t, p[0])
		if len(got) != 1 || got[0].sig != syscall.SIGINT || got[0].code != siKernel {
			t.Errorf("forwarded %v, want SIGINT from the kernel", got)
		}
	})
	t.Run("error", func(t *testing.T) {
		d, err := os.Open(t.TempDir()) // read(2) of a directory: EISDIR
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if got := run(t, int(d.Fd())); len(got) != 0 {
			t.Errorf("forwarded %v from a directory", got)
		}
	})
}
