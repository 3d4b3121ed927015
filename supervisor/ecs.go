package supervisor

import (
	"os"
	"runtime"

	"github.com/exectrail/exectrail/supervisor/record"
	"golang.org/x/sys/unix"
)

// ecsHost is what the ecs format's documents say about this host
// (record.ECS encodes them): its name, kernel release and architecture.
func ecsHost() record.ECSHost {
	var h record.ECSHost
	h.Name, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
		h.Arch = unix.ByteSliceToString(u.Machine[:])
	} else {
		h.Arch = runtime.GOARCH
	}
	return h
}
