package main

// exectrail version: what this binary is, for a bug report or a CI log.

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	seccomp "github.com/seccomp/libseccomp-golang"
)

// commit is set by the Makefile with -ldflags "-X main.commit=...";
// without it, the commit comes from the build information Go records for
// a build in a git checkout (vcs.revision).
var commit = ""

// buildDetails is what `exectrail version` prints.
type buildDetails struct {
	Version    string // the Makefile's stamp, else the module version Go derived from git
	Commit     string // full hash, "" when unknown
	Modified   bool   // built from a tree with uncommitted changes
	CommitTime string
	GoVersion  string
	Libseccomp string // the libseccomp linked in, as it reports itself
	Linking    string // "static", "dynamic" or "unknown: ..."
}

// describeBuild combines the link-time stamps with Go's build info. A
// plain `go build` in a git checkout has no stamp, but Go records the
// commit (vcs.revision) and derives a pseudo-version from it, so the
// answer is never a bare "dev" there. Go records nothing when it is told
// not to (-buildvcs=false, also in GOFLAGS) or cannot see the repository
// (a git worktree, whose .git is a file): then the commit is unknown and
// says so.
func describeBuild(stampVersion, stampCommit string, bi *debug.BuildInfo, ok bool) buildDetails {
	d := buildDetails{Version: stampVersion, Commit: stampCommit, GoVersion: runtime.Version()}
	if ok && bi != nil {
		if bi.GoVersion != "" {
			d.GoVersion = bi.GoVersion
		}
		var rev string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				d.CommitTime = s.Value
			case "vcs.modified":
				d.Modified = s.Value == "true"
			}
		}
		if d.Commit == "" {
			d.Commit = rev
		}
		if d.Version == "" || d.Version == "dev" {
			switch v := bi.Main.Version; {
			case v != "" && v != "(devel)":
				d.Version = v
			case rev != "":
				d.Version = "devel-" + short(rev)
				if d.Modified {
					d.Version += "-dirty"
				}
			}
		}
	}
	if d.Version == "" {
		d.Version = "dev"
	}
	if strings.HasSuffix(stampVersion, "-dirty") {
		d.Modified = true // git describe --dirty
	}
	return d
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// linking tells from the running executable's own program headers whether
// it is statically linked: a dynamic executable names its program
// interpreter (the dynamic loader) in PT_INTERP.
func linking() string {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return "unknown: " + err.Error()
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "dynamic"
		}
	}
	return "static"
}

func libseccompVersion() string {
	major, minor, micro := seccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}

// buildVersion is the version `exectrail version` prints first (the
// start record's version).
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	return describeBuild(version, commit, bi, ok).Version
}

func currentBuild() buildDetails {
	bi, ok := debug.ReadBuildInfo()
	d := describeBuild(version, commit, bi, ok)
	d.Libseccomp = libseccompVersion()
	d.Linking = linking()
	return d
}

func (d buildDetails) print(w io.Writer) {
	fmt.Fprintln(w, "exectrail", d.Version)
	c := d.Commit
	switch {
	case c == "":
		c = "unknown (no stamp and no VCS information in the build: built outside a git checkout, in a git worktree, or with -buildvcs=false)"
	case d.Modified:
		c += " (with uncommitted changes)"
	}
	fmt.Fprintln(w, "commit:     ", c)
	if d.CommitTime != "" {
		fmt.Fprintln(w, "commit time:", d.CommitTime)
	}
	fmt.Fprintln(w, "go:         ", d.GoVersion)
	fmt.Fprintln(w, "libseccomp: ", d.Libseccomp)
	fmt.Fprintln(w, "linking:    ", d.Linking)
	fmt.Fprintln(w, "platform:   ", runtime.GOOS+"/"+runtime.GOARCH)
}

func versionMain(args []string) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Print("usage: exectrail version\n\nPrints exectrail's version, commit, Go, libseccomp and linking.\n")
		return 0
	}
	if len(args) > 0 {
		cli.For("version").Errorf("unexpected argument %q", args[0])
		return cli.ExitSetup
	}
	currentBuild().print(os.Stdout)
	return 0
}
