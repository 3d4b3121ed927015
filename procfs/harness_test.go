package procfs

// The harness of the procfs tests: the test binary as a #! interpreter
// that prints its argv (helperEnv), and the fixtures and small helpers
// several test files share.

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
)

// argvHelperEnv makes the test binary print its arguments (one hex-encoded
// argument per line) and exit, instead of running the tests: tests use it
// as a #! interpreter to see exactly what argv the kernel built.
const argvHelperEnv = "EXECTRAIL_PROCFS_PRINT_ARGV"

// helperEnv is the environment that runs the test binary as the argv
// printer. Under the race detector a process sleeps a second at exit
// (atexit_sleep_ms) unless told otherwise.
func helperEnv() []string {
	return append(os.Environ(), argvHelperEnv+"=1", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
}

func TestMain(m *testing.M) {
	if os.Getenv(argvHelperEnv) == "1" {
		for _, a := range os.Args {
			fmt.Println(hex.EncodeToString([]byte(a)))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// hex64 and podUID are a container id and a pod uid as runtimes write
// them into cgroup paths.
const (
	hex64  = "4f2a9c1d6e8b3a7f0c5d2e1b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918073625"
	podUID = "0b2c6a1e-8f3d-4c5b-9a7e-1d2f3a4b5c6d"
)

// statusWithName is realStatus with name on its Name line.
func statusWithName(name string) string {
	return strings.Replace(realStatus, "%NAME%", name, 1)
}

// realStatus is /proc/PID/status of a shell on Linux 6.18, with a
// placeholder for the Name line.
const realStatus = `Name:	%NAME%
Umask:	0022
State:	S (sleeping)
Tgid:	24467
Ngid:	0
Pid:	24468
PPid:	23990
TracerPid:	0
Uid:	1000	1001	1002	1003
Gid:	100	101	102	103
FDSize:	256
Groups:	4 24 27 1000 
NStgid:	24467	1
NSpid:	24468	2
NSpgid:	23990
NSsid:	5541
Kthread:	0
VmPeak:	    3060 kB
VmSize:	    3060 kB
Threads:	2
SigQ:	2/96364
SigPnd:	0000000000000000
CapEff:	000001fffeffffff
NoNewPrivs:	1
Seccomp:	2
Seccomp_filters:	1
Speculation_Store_Bypass:	thread vulnerable
Cpus_allowed_list:	0-1
voluntary_ctxt_switches:	0
nonvoluntary_ctxt_switches:	33
`

// cstr is s as C stores it: NUL-terminated.
func cstr(s string) []byte { return append([]byte(s), 0) }

// trunc shortens b to 40 bytes and "..." for failure messages.
func trunc(b []byte) []byte {
	if len(b) > 40 {
		return append(b[:40:40], "..."...)
	}
	return b
}

// must0 panics on err: for set-up steps in fixtures that cannot fail
// unless the machine is broken.
func must0(err error) {
	if err != nil {
		panic(err)
	}
}

// openTask opens pid's task under the proc root, failing the test when it
// cannot, and closes it when the test ends.
func openTask(tb testing.TB, root string, pid int) *Task {
	tb.Helper()
	task, err := OpenTask(root, pid)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { task.Close() })
	return task
}
