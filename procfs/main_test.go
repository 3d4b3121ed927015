package procfs

import (
	"encoding/hex"
	"fmt"
	"os"
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
