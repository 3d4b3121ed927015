// Command goexec runs /usr/bin/true -n times with os/exec, -par at a time,
// while other goroutines allocate hard and spin, so that the Go runtime
// keeps sending preemption signals (SIGURG) to its threads while forks and
// execs are held by a supervisor. A goroutine also sends SIGURG to the
// process, which any thread may receive. It fails loudly (exit 1) if any
// fork or exec returns an error — EINTR in particular, which never happens
// natively — and prints "goexec: N execs ok" on success.
//
// Then, with -final, it execs /usr/bin/true itself with syscall.Exec and
// the argv "goexec-final" and -final-args arguments "final-argument-NNNN",
// while the allocators still run and a goroutine sends SIGURG to the
// execing thread: syscall.Exec is a raw system call, so the runtime treats
// the goroutine as running and preempts it with SIGURG, and its handlers
// have SA_RESTART. A held exec interrupted here would be notified again.
//
// The integration tests build it with `go build` at test time.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

var sink atomic.Pointer[[]byte]

// allocate churns the heap until stop is closed: constant GC cycles, each
// of which preempts running goroutines.
func allocate(stop <-chan struct{}) {
	keep := make([][]byte, 64)
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		b := make([]byte, 4096+i%8192)
		b[0] = byte(i)
		keep[i%len(keep)] = b
		sink.Store(&b)
	}
}

// spin loops without function calls, so only an asynchronous preemption
// signal can take its thread away.
func spin(stop *atomic.Bool) uint64 {
	var n uint64
	for !stop.Load() {
		n++
	}
	return n
}

func main() {
	n := flag.Int("n", 300, "number of execs")
	par := flag.Int("par", 3, "execs at a time")
	final := flag.Bool("final", false, "finally exec /usr/bin/true in this process under SIGURG")
	finalArgs := flag.Int("final-args", 1000, "extra arguments of the final exec")
	flag.Parse()
	// More Ps than the smallest CI machine has CPUs: the final exec holds
	// one P for the whole raw system call, and the signal senders need
	// others.
	if runtime.GOMAXPROCS(0) < 4 {
		runtime.GOMAXPROCS(4)
	}

	urg := make(chan os.Signal, 1024)
	signal.Notify(urg, syscall.SIGURG)
	var urgs atomic.Int64
	go func() {
		for range urg {
			urgs.Add(1)
		}
	}()

	stop := make(chan struct{})
	var stopSpin atomic.Bool
	var bg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) + 1 {
		bg.Go(func() { allocate(stop) })
	}
	bg.Go(func() { spin(&stopSpin) })
	bg.Go(func() {
		pid := os.Getpid()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = syscall.Kill(pid, syscall.SIGURG)
			runtime.Gosched()
		}
	})

	jobs := make(chan int)
	var mu sync.Mutex
	var errs []error
	var workers sync.WaitGroup
	for range *par {
		workers.Go(func() {
			for i := range jobs {
				cmd := exec.Command("/usr/bin/true")
				if err := cmd.Run(); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("exec %d: %w", i, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range *n {
		jobs <- i
	}
	close(jobs)
	workers.Wait()
	if len(errs) == 0 && *final {
		fmt.Printf("goexec: %d execs ok\n", *n)
		fmt.Fprintf(os.Stderr, "goexec: %d SIGURG seen by signal.Notify before the final exec\n", urgs.Load())
		stopSpin.Store(true)
		finalExec(*finalArgs)
	}
	close(stop)
	stopSpin.Store(true)
	bg.Wait()

	fmt.Fprintf(os.Stderr, "goexec: %d SIGURG seen by signal.Notify, GOMAXPROCS %d\n", urgs.Load(), runtime.GOMAXPROCS(0))
	if len(errs) > 0 {
		for _, err := range errs {
			if errors.Is(err, syscall.EINTR) {
				fmt.Fprintln(os.Stderr, "goexec: EINTR from fork/exec: a held call was interrupted by a signal")
				break
			}
		}
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, "goexec:", err)
		}
		os.Exit(1)
	}
	fmt.Printf("goexec: %d execs ok\n", *n)
}

// finalExec replaces this process with /usr/bin/true while SIGURG keeps
// arriving at the execing thread. It returns only by exiting 1.
func finalExec(extra int) {
	argv := []string{"/usr/bin/true", "goexec-final"}
	for i := range extra {
		argv = append(argv, fmt.Sprintf("final-argument-%04d", i))
	}
	runtime.LockOSThread()
	pid, tid := os.Getpid(), syscall.Gettid()
	go func() {
		for {
			if err := syscall.Tgkill(pid, tid, syscall.SIGURG); err != nil {
				return
			}
			runtime.Gosched()
		}
	}()
	err := syscall.Exec(argv[0], argv, os.Environ())
	fmt.Fprintf(os.Stderr, "goexec: final exec: %v\n", err)
	if errors.Is(err, syscall.EINTR) {
		fmt.Fprintln(os.Stderr, "goexec: EINTR from exec: a held call was interrupted by a signal")
	}
	os.Exit(1)
}
