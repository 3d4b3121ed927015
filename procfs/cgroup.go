package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// CgroupLine is one line of /proc/PID/cgroup: "hierarchy:controllers:path".
type CgroupLine struct {
	Hierarchy   int
	Controllers string
	Path        string
}

// ParseCgroup parses the contents of /proc/PID/cgroup. The path is
// everything after the second colon (it may itself contain colons).
func ParseCgroup(data []byte) ([]CgroupLine, error) {
	var out []CgroupLine
	for n, line := range bytes.Split(data, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		h, rest, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return nil, fmt.Errorf("parse cgroup: line %d: no hierarchy field", n+1)
		}
		ctl, path, ok := bytes.Cut(rest, []byte{':'})
		if !ok {
			return nil, fmt.Errorf("parse cgroup: line %d: no controllers field", n+1)
		}
		hier, err := strconv.Atoi(string(h))
		if err != nil || hier < 0 {
			return nil, fmt.Errorf("parse cgroup: line %d: bad hierarchy %q", n+1, h)
		}
		out = append(out, CgroupLine{Hierarchy: hier, Controllers: string(ctl), Path: string(path)})
	}
	return out, nil
}

// UnifiedPath returns the cgroup v2 path (the "0::" line) and whether there
// was one.
func UnifiedPath(lines []CgroupLine) (string, bool) {
	for _, l := range lines {
		if l.Hierarchy == 0 && l.Controllers == "" {
			return l.Path, true
		}
	}
	return "", false
}
