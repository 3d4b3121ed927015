package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Status holds the fields of /proc/PID/status that exectrail uses.
type Status struct {
	Name   []byte
	Tgid   int
	Pid    int
	PPid   int
	Uid    [4]int // real, effective, saved, filesystem
	Gid    [4]int
	Groups []int
}

var errNoField = errors.New("field missing")

// ParseStatus parses the contents of /proc/PID/status. Tgid, Pid, PPid, Uid
// and Gid must be present; Groups may be empty.
func ParseStatus(data []byte) (Status, error) {
	var st Status
	seen := 0
	const (
		seenTgid = 1 << iota
		seenPid
		seenPPid
		seenUid
		seenGid
		seenAll = seenTgid | seenPid | seenPPid | seenUid | seenGid
	)
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		key, raw, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		val := bytes.TrimLeft(raw, " \t")
		var err error
		switch string(key) {
		case "Name":
			// The kernel writes "Name:\t" and the name with only "\n"
			// and "\\" escaped (\n → "\\n"), so it never contains a
			// raw newline; blanks and tabs around it are part of it.
			// Keep it as bytes.
			st.Name = append([]byte{}, bytes.TrimPrefix(raw, []byte{'\t'})...)
		case "Tgid":
			st.Tgid, err = parseInt(val)
			seen |= seenTgid
		case "Pid":
			st.Pid, err = parseInt(val)
			seen |= seenPid
		case "PPid":
			st.PPid, err = parseInt(val)
			seen |= seenPPid
		case "Uid":
			err = parseIDs(val, st.Uid[:])
			seen |= seenUid
		case "Gid":
			err = parseIDs(val, st.Gid[:])
			seen |= seenGid
		case "Groups":
			for _, f := range bytes.Fields(val) {
				g, gerr := parseInt(f)
				if gerr != nil {
					err = gerr
					break
				}
				st.Groups = append(st.Groups, g)
			}
		}
		if err != nil {
			return Status{}, fmt.Errorf("parse status: %s: %w", key, err)
		}
	}
	if seen != seenAll {
		return Status{}, fmt.Errorf("parse status: %w (have %#b of %#b)", errNoField, seen, seenAll)
	}
	return st, nil
}

func parseIDs(val []byte, out []int) error {
	f := bytes.Fields(val)
	if len(f) != len(out) {
		return fmt.Errorf("%d ids, want %d", len(f), len(out))
	}
	for i := range out {
		v, err := parseInt(f[i])
		if err != nil {
			return err
		}
		out[i] = v
	}
	return nil
}

func parseInt(b []byte) (int, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || len(b) > 19 {
		return 0, fmt.Errorf("bad number %q", b)
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", b)
	}
	return int(v), nil
}
