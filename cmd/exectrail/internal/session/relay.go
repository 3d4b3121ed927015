package session

// The relays: the job's output to exectrail's stdout (and stderr) and to
// the cast, what is typed to the pty.

import (
	"time"

	"github.com/exectrail/exectrail/supervisor"
	"golang.org/x/sys/unix"
)

// readOnce reads one chunk of src, relays it and records it at time t
// (now when zero). It returns the bytes read, 0 when none was waiting, -1
// at the end. outMu is held.
func (s *Session) readOnce(src *relaySource, t time.Time) int {
	var n int
	var err error
	for {
		n, err = unix.Read(src.fd, s.buf)
		if err != unix.EINTR {
			break
		}
	}
	if err == unix.EAGAIN {
		return 0
	}
	if n <= 0 {
		// EOF, or EIO: a pty whose slave no process has open.
		src.eof = true
		return -1
	}
	if t.IsZero() {
		t = time.Now()
	}
	p := s.buf[:n]
	if !src.dstBad {
		if _, werr := supervisor.FDWriter(src.dst).Write(p); werr != nil {
			src.dstBad = true
			if src.pipe && werr == unix.EPIPE {
				// Nobody reads what the job writes: let the job find
				// out as it would without exectrail (SIGPIPE).
				unix.Close(src.fd)
				src.fd = -1
				src.eof = true
			}
		}
	}
	s.castOutput(t, p)
	return n
}

// castOutput records output, secrets masked. outMu is held.
func (s *Session) castOutput(t time.Time, p []byte) {
	if s.outRed != nil {
		p = s.outRed.Write(p)
	}
	s.castWrote(s.cast.Output(t, p))
}

// castInput records input, secrets masked.
func (s *Session) castInput(t time.Time, p []byte) {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if s.inRed != nil {
		p = s.inRed.Write(p)
	}
	s.castWrote(s.cast.Input(t, p))
}

// flushRedaction records what the masking streams still hold, at the
// end. Output held by a relay that is stuck writing exectrail's own
// output (it holds outMu) is dropped rather than waited for: the cast may
// miss its last bytes, but never shows a secret.
func (s *Session) flushRedaction() {
	now := time.Now()
	if s.outRed != nil && s.outMu.TryLock() {
		s.castWrote(s.cast.Output(now, s.outRed.Flush()))
		s.outMu.Unlock()
	}
	if s.inRed != nil {
		s.inMu.Lock()
		s.castWrote(s.cast.Input(now, s.inRed.Flush()))
		s.inMu.Unlock()
	}
}

// relayOutput relays the job's output until every source has ended, or
// until told to stop (then it relays what is waiting and returns).
func (s *Session) relayOutput() {
	defer close(s.outDone)
	pfds := make([]unix.PollFd, 0, len(s.srcs)+1)
	live := make([]*relaySource, 0, len(s.srcs))
	for {
		pfds, live = pfds[:0], live[:0]
		s.outMu.Lock()
		for _, src := range s.srcs {
			if !src.eof {
				pfds = append(pfds, unix.PollFd{Fd: int32(src.fd), Events: unix.POLLIN})
				live = append(live, src)
			}
		}
		s.outMu.Unlock()
		if len(live) == 0 {
			return
		}
		pfds = append(pfds, unix.PollFd{Fd: int32(s.outWake[0]), Events: unix.POLLIN})
		if _, err := unix.Poll(pfds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		stop := pfds[len(pfds)-1].Revents != 0
		s.outMu.Lock()
		for i, src := range live {
			if stop {
				// What is waiting, bounded: nothing new can come from
				// a job that is gone.
				for range markDrainMax / relayChunk {
					if s.readOnce(src, time.Time{}) <= 0 {
						break
					}
				}
			} else if pfds[i].Revents != 0 && !src.eof {
				s.readOnce(src, time.Time{})
			}
		}
		s.outMu.Unlock()
		if stop {
			return
		}
	}
}

// relayInput copies what is typed to the pty (and to the cast with
// --record-input) until the terminal or the session ends.
func (s *Session) relayInput() {
	buf := make([]byte, 4096)
	pfds := []unix.PollFd{{Fd: 0, Events: unix.POLLIN}, {Fd: int32(s.inWake[0]), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(pfds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if pfds[1].Revents != 0 {
			return
		}
		if pfds[0].Revents == 0 {
			continue
		}
		n, err := unix.Read(0, buf)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if n <= 0 {
			return // the terminal hung up
		}
		if s.opt.input {
			s.castInput(time.Now(), buf[:n])
		}
		if !s.writeMaster(buf[:n], pfds[1:]) {
			return
		}
	}
}

// writeMaster writes p to the pty, waiting while its input queue is full
// (the job is not reading). It returns false when the session is over.
func (s *Session) writeMaster(p []byte, wake []unix.PollFd) bool {
	for len(p) > 0 {
		n, err := unix.Write(s.master, p)
		switch {
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			pfds := []unix.PollFd{{Fd: int32(s.master), Events: unix.POLLOUT}, wake[0]}
			if _, err := unix.Poll(pfds, -1); err != nil && err != unix.EINTR {
				return false
			}
			if pfds[1].Revents != 0 {
				return false
			}
		case err != nil:
			return false
		default:
			p = p[n:]
		}
	}
	return true
}
