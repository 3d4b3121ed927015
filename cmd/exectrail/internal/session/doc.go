// Package session records the terminal session of `exectrail run --record
// FILE`: what the job's terminal showed, resizes, and a marker for every
// exec record, on one timeline, in asciicast v2 (package cast writes the
// file).
//
// The run command drives it through five calls, in this order:
//
//	Prepare   before the job is started: opens the pty or the pipes, writes
//	          the cast header, and sets the job's fds 0, 1, 2 (and, for a
//	          pty, its new session) in the ProcAttr
//	Observe   makes every record the Writer writes reach the session
//	          (markers), and Output gives the Writer its sink for a fd
//	Started   once the job was started, or failed to: the job's ends are
//	          closed, the relays and the terminal's raw mode begin
//	Signal    for every signal exectrail catches, before it is forwarded
//	Finish    once the job is gone, on every way out: the rest of the
//	          output, the cast completed, the terminal restored
//
// A nil *Session (no --record) does nothing in every call.
//
// Two modes, chosen by whether stdin is a terminal:
//
//	               | pty mode (stdin is a terminal)        | pipe mode (it is not)
//	---------------+---------------------------------------+------------------------------------
//	job's 0, 1, 2  | the slave of a new pty; the job is a   | 0 untouched; 1 and 2 pipes (one
//	               | session of its own (setsid) with the   | pipe when they were the same file,
//	               | pty as controlling terminal            | as 2>&1 makes them)
//	relayed        | stdin -> master, master -> stdout,     | each pipe -> the fd it replaces,
//	               | byte for byte (relay.go)               | byte for byte
//	real terminal  | raw while the session runs; restored   | untouched
//	               | on every way out (term.go)             |
//	events         | o, r, m, and i with --record-input     | o, m
//	signals        | SIGWINCH resizes the pty ("r");        | as without --record
//	               | SIGTERM and SIGHUP hang the session up |
//	               | (hangup.go); the rest forwarded        |
//
// Each exec record becomes an "m" event through the Writer's observer
// (marker.go), called under the Writer's lock while the exec is held: the
// observer first relays whatever output is already waiting (everything
// the job wrote before the exec), then writes the marker with the
// record's own time. So in the file a program's marker comes after all
// output written before it was started and before any output of its own.
//
// Output is read by one goroutine in chunks of a fixed buffer and each
// chunk is written out and to the cast before the next read: memory does
// not grow with the output, and a job that outruns its terminal is slowed
// by the terminal, as it would be without exectrail, not by the recording.
//
// What it must not do: change what the job sees beyond what a terminal
// would (no signal of its own to the job but a terminal's hang-up, no
// byte of the job's output altered on its way to exectrail's stdout and
// stderr); write or refuse records (it only observes them, and a cast
// that cannot be written never fails a record or the job); block the
// Writer for longer than it takes to relay what is already waiting;
// change the signal mask of any thread but the throwaway ones it starts
// for tcsetattr; keep state outside a Session.
package session
