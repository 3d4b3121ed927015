package procfs

import (
	"bytes"
	"encoding/hex"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// BinfmtHandler is one binfmt_misc registration, as its entry file under
// a binfmt_misc mount shows it.
type BinfmtHandler struct {
	Name        string
	Enabled     bool
	Interpreter string
	Flags       string
	Offset      int
	Magic, Mask []byte
	Extension   string
}

// ParseBinfmtEntry parses the entry file of handler name; ok is false
// when it names no interpreter or nothing to match.
func ParseBinfmtEntry(name string, b []byte) (h BinfmtHandler, ok bool) {
	h.Name = name
	for _, line := range strings.Split(string(b), "\n") {
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "enabled":
			h.Enabled = true
		case "interpreter":
			h.Interpreter = val
		case "flags:":
			h.Flags = val
		case "offset":
			h.Offset, _ = strconv.Atoi(val)
		case "magic":
			h.Magic, _ = hex.DecodeString(val)
		case "mask":
			h.Mask, _ = hex.DecodeString(val)
		case "extension":
			h.Extension = strings.TrimPrefix(val, ".")
		}
	}
	return h, h.Interpreter != "" && (len(h.Magic) > 0 || h.Extension != "") && h.Offset >= 0
}

// Matches reports whether the kernel would hand a file whose first bytes
// are head, exec'd by the name filename, to h (fs/binfmt_misc.c,
// check_file).
func (h *BinfmtHandler) Matches(head []byte, filename string) bool {
	if !h.Enabled {
		return false
	}
	if h.Extension != "" {
		i := strings.LastIndexByte(filename, '.')
		return i >= 0 && filename[i+1:] == h.Extension
	}
	if h.Offset > len(head) || len(h.Magic) > len(head)-h.Offset {
		return false
	}
	s := head[h.Offset:]
	for j, m := range h.Magic {
		d := s[j] ^ m
		if j < len(h.Mask) {
			d &= h.Mask[j]
		} else if h.Mask != nil {
			d = 0
		}
		if d != 0 {
			return false
		}
	}
	return true
}

// BinfmtHandlers returns the enabled handlers of every binfmt_misc mount in
// task t's view (from its mountinfo, read through its root). binfmt_misc
// is per user namespace since Linux 6.7: a job's own namespace can have
// handlers that exectrail's view does not.
func BinfmtHandlers(t *Task) []BinfmtHandler {
	mi, err := t.ReadFile("mountinfo")
	if err != nil {
		return nil
	}
	var out []BinfmtHandler
	for _, line := range bytes.Split(mi, []byte{'\n'}) {
		pre, post, ok := bytes.Cut(line, []byte(" - "))
		if !ok {
			continue
		}
		f, pf := bytes.Fields(pre), bytes.Fields(post)
		if len(f) < 5 || len(pf) < 1 || string(pf[0]) != "binfmt_misc" {
			continue
		}
		out = append(out, t.binfmtDir(unescapeMount(string(f[4])))...)
	}
	return out
}

func (t *Task) binfmtDir(mountPoint string) []BinfmtHandler {
	rootfd, err := openat(t.dir, "root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return nil
	}
	defer unix.Close(rootfd)
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	dfd, err := unix.Openat2(rootfd, mountPoint, &how)
	if err != nil {
		return nil
	}
	dir := os.NewFile(uintptr(dfd), mountPoint)
	defer dir.Close()
	if st, err := readAt(dfd, "status"); err == nil && strings.TrimSpace(string(st)) == "disabled" {
		return nil
	}
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil
	}
	var out []BinfmtHandler
	for _, n := range names {
		if n == "register" || n == "status" {
			continue
		}
		b, err := readAt(dfd, n)
		if err != nil {
			continue
		}
		if h, ok := ParseBinfmtEntry(n, b); ok && h.Enabled {
			out = append(out, h)
		}
	}
	return out
}

// readAt reads a small file relative to dir.
func readAt(dir int, name string) ([]byte, error) {
	fd, err := openat(dir, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
