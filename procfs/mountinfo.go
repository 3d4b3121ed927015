package procfs

import (
	"bytes"
	"strings"
)

// Cgroup2Mount returns the mount point of the cgroup v2 hierarchy found in
// the contents of a mountinfo file ("" when there is none). On a hybrid
// host it is usually /sys/fs/cgroup/unified, on a pure v2 host
// /sys/fs/cgroup. Only a mount of the hierarchy's root ("/") is used, so a
// cgroup namespace's bind mount of a sub-tree is not mistaken for it.
func Cgroup2Mount(mountinfo []byte) string {
	for _, line := range bytes.Split(mountinfo, []byte{'\n'}) {
		// id parent major:minor root mountpoint options [optional...] - fstype source superopts
		pre, post, ok := bytes.Cut(line, []byte(" - "))
		if !ok {
			continue
		}
		pf := bytes.Fields(post)
		if len(pf) < 1 || string(pf[0]) != "cgroup2" {
			continue
		}
		f := bytes.Fields(pre)
		if len(f) < 5 || string(f[3]) != "/" {
			continue
		}
		return unescapeMount(string(f[4]))
	}
	return ""
}

// unescapeMount undoes the octal escapes (\040 for space and so on) that
// the kernel uses in mountinfo paths.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
