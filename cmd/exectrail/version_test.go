package main

import (
	"runtime/debug"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{
			GoVersion: "go1.26.8",
			Main:      debug.Module{Path: "github.com/exectrail/exectrail", Version: "(devel)"},
			Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: rev},
				{Key: "vcs.time", Value: "2026-11-27T13:17:08Z"},
				{Key: "vcs.modified", Value: modified},
			},
		}
	}
	pseudo := vcs("false")
	pseudo.Main.Version = "v0.0.0-20261127131708-0123456789ab"
	bare := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}

	for _, tc := range []struct {
		name                 string
		stampV, stampC       string
		bi                   *debug.BuildInfo
		ok                   bool
		wantV, wantC         string
		wantModified         bool
		wantTime, wantGoVers string
	}{
		{"make build", "8ca8c81", rev, vcs("false"), true, "8ca8c81", rev, false, "2026-11-27T13:17:08Z", "go1.26.8"},
		{"make build, dirty tree", "8ca8c81-dirty", rev, bare, true, "8ca8c81-dirty", rev, true, "", "go1.26.8"},
		{"go build in a clone: pseudo-version", "dev", "", pseudo, true, pseudo.Main.Version, rev, false, "2026-11-27T13:17:08Z", "go1.26.8"},
		{"go build, revision but no module version", "dev", "", vcs("true"), true, "devel-0123456789ab-dirty", rev, true, "2026-11-27T13:17:08Z", "go1.26.8"},
		{"go build -buildvcs=false", "dev", "", bare, true, "dev", "", false, "", "go1.26.8"},
		{"no build info", "dev", "", nil, false, "dev", "", false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := describeBuild(tc.stampV, tc.stampC, tc.bi, tc.ok)
			if d.Version != tc.wantV || d.Commit != tc.wantC || d.Modified != tc.wantModified || d.CommitTime != tc.wantTime {
				t.Errorf("got version %q commit %q modified %v time %q; want %q %q %v %q",
					d.Version, d.Commit, d.Modified, d.CommitTime, tc.wantV, tc.wantC, tc.wantModified, tc.wantTime)
			}
			if tc.wantGoVers != "" && d.GoVersion != tc.wantGoVers {
				t.Errorf("go version %q, want %q", d.GoVersion, tc.wantGoVers)
			}
		})
	}
}
