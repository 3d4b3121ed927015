package procfs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// ProbePidfdInfo tries, on the calling thread, what IdentOf's fast path
// needs — pidfd_open(PIDFD_THREAD) and PIDFD_GET_INFO — and says which
// step fails (exectrail doctor reports it).
func ProbePidfdInfo() error {
	fd, err := unix.PidfdOpen(unix.Gettid(), pidfdThread)
	if err != nil {
		return fmt.Errorf("pidfd_open(PIDFD_THREAD): %w", err)
	}
	defer unix.Close(fd)
	if _, err := identOfPidfd(fd); err != nil {
		return fmt.Errorf("PIDFD_GET_INFO: %w", err)
	}
	return nil
}
