package procfs

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseStatus(t *testing.T) {
	want := Status{
		Tgid: 24467, Pid: 24468, PPid: 23990,
		Uid:    [4]int{1000, 1001, 1002, 1003},
		Gid:    [4]int{100, 101, 102, 103},
		Groups: []int{4, 24, 27, 1000},
	}
	for _, name := range []string{
		"bash",
		"my prog (x) y",          // spaces and parentheses
		"a) (b",                  // unbalanced parentheses, as in stat
		`two\nlines`,             // the kernel escapes a newline
		`back\\slash`,            // and a backslash
		"tab\there",              // a tab is not escaped
		"Tgid:\t1",               // looks like another field
		"x:y:z",                  // colons
		" lead",                  // a leading blank belongs to the name
		"\tlead",                 // and so does a leading tab
		"trail ",                 // and a trailing blank
		"",                       // an empty name
		"\xff\xfe",               // not UTF-8
		"kworker/u4:2-events_un", // kernel thread (truncated to 15 in real life)
	} {
		t.Run(name, func(t *testing.T) {
			st, err := ParseStatus([]byte(statusWithName(name)))
			if err != nil {
				t.Fatal(err)
			}
			if string(st.Name) != name {
				t.Errorf("Name = %q, want %q", st.Name, name)
			}
			if st.Tgid != want.Tgid || st.Pid != want.Pid || st.PPid != want.PPid || st.Uid != want.Uid || st.Gid != want.Gid {
				t.Errorf("got %+v, want %+v", st, want)
			}
			if !slices.Equal(st.Groups, want.Groups) {
				t.Errorf("Groups = %v, want %v", st.Groups, want.Groups)
			}
		})
	}
}

func TestParseStatusVariants(t *testing.T) {
	base := statusWithName("x")
	for _, c := range []struct {
		name  string
		data  string
		check func(t *testing.T, st Status)
	}{
		{"no trailing newline", strings.TrimSuffix(base, "\n"), nil},
		{"empty groups", strings.Replace(base, "Groups:\t4 24 27 1000 \n", "Groups:\t \n", 1), func(t *testing.T, st Status) {
			if len(st.Groups) != 0 {
				t.Errorf("Groups = %v", st.Groups)
			}
		}},
		{"no groups line", strings.Replace(base, "Groups:\t4 24 27 1000 \n", "", 1), nil},
		{"overflow uid", strings.Replace(base, "Uid:\t1000\t1001\t1002\t1003", "Uid:\t4294967295\t65534\t0\t0", 1), func(t *testing.T, st Status) {
			if st.Uid != [4]int{4294967295, 65534, 0, 0} {
				t.Errorf("Uid = %v", st.Uid)
			}
		}},
		{"largest int64", strings.Replace(base, "Tgid:\t24467", "Tgid:\t9223372036854775807", 1), func(t *testing.T, st Status) {
			if st.Tgid != 9223372036854775807 {
				t.Errorf("Tgid = %d", st.Tgid)
			}
		}},
		{"fields reordered", "Uid:\t0 0 0 0\nGid:\t0 0 0 0\nPPid:\t1\nPid:\t3\nTgid:\t2\n", func(t *testing.T, st Status) {
			if st.Tgid != 2 || st.Pid != 3 || st.PPid != 1 {
				t.Errorf("%+v", st)
			}
		}},
		{"CRLF is not kernel output but is tolerated", strings.ReplaceAll(base, "\n", "\r\n"), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, err := ParseStatus([]byte(c.data))
			if err != nil {
				t.Fatal(err)
			}
			if c.check != nil {
				c.check(t, st)
			}
		})
	}
}

func TestParseStatusErrors(t *testing.T) {
	base := statusWithName("x")
	drop := func(prefix string) string {
		var out []string
		for _, l := range strings.Split(base, "\n") {
			if !strings.HasPrefix(l, prefix) {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	for _, c := range []struct {
		name    string
		data    string
		missing bool // errNoField
	}{
		{"empty", "", true},
		{"garbage", "\x00\x01\x02 hello world\n\xff", true},
		{"no colons", "Tgid 1\nPid 1\nPPid 1\nUid 0 0 0 0\nGid 0 0 0 0\n", true},
		{"missing Tgid", drop("Tgid:"), true},
		{"missing Pid", drop("Pid:"), true},
		{"missing PPid", drop("PPid:"), true},
		{"missing Uid", drop("Uid:"), true},
		{"missing Gid", drop("Gid:"), true},
		{"only name", "Name:\tx\n", true},
		{"keys in other case", strings.ToLower(base), true},
		{"truncated mid-file", base[:strings.Index(base, "Uid:")+6], false},
		{"empty Tgid", strings.Replace(base, "Tgid:\t24467", "Tgid:\t", 1), false},
		{"Tgid not a number", strings.Replace(base, "Tgid:\t24467", "Tgid:\t24467x", 1), false},
		{"Tgid hex", strings.Replace(base, "Tgid:\t24467", "Tgid:\t0x10", 1), false},
		{"Tgid two numbers", strings.Replace(base, "Tgid:\t24467", "Tgid:\t1 2", 1), false},
		{"huge Tgid", strings.Replace(base, "Tgid:\t24467", "Tgid:\t99999999999999999999", 1), false},
		{"just over int64", strings.Replace(base, "Tgid:\t24467", "Tgid:\t9223372036854775808", 1), false},
		{"long digit string", strings.Replace(base, "PPid:\t23990", "PPid:\t"+strings.Repeat("0", 1000)+"1", 1), false},
		{"three uids", strings.Replace(base, "Uid:\t1000\t1001\t1002\t1003", "Uid:\t1000\t1001\t1002", 1), false},
		{"five gids", strings.Replace(base, "Gid:\t100\t101\t102\t103", "Gid:\t100\t101\t102\t103\t104", 1), false},
		{"bad group", strings.Replace(base, "Groups:\t4 24 27 1000 ", "Groups:\t4 x 27", 1), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, err := ParseStatus([]byte(c.data))
			if err == nil {
				t.Fatalf("no error; got %+v", st)
			}
			if got := errors.Is(err, errNoField); got != c.missing {
				t.Errorf("error %v: is errNoField = %v, want %v", err, got, c.missing)
			}
			if st.Tgid != 0 || st.Name != nil {
				t.Errorf("partial status returned with error: %+v", st)
			}
		})
	}
}

// TestParseStatusKernel reads this thread's own status after giving it a
// hostile name through /proc/thread-self/comm, so the test pins the
// kernel's escaping (only "\n" and "\\" are escaped) as well as the
// parser.
func TestParseStatusKernel(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := os.ReadFile("/proc/thread-self/comm")
	if err != nil {
		t.Fatal(err)
	}
	defer os.WriteFile("/proc/thread-self/comm", bytes.TrimSuffix(old, []byte("\n")), 0)
	for _, c := range []struct{ comm, want string }{
		{" a\tb (c)", " a\tb (c)"},
		{"x\ny\\z", `x\ny\\z`},
		{"Tgid:\t1", "Tgid:\t1"},
		{"\t\xff", "\t\xff"},
	} {
		if err := os.WriteFile("/proc/thread-self/comm", []byte(c.comm), 0); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile("/proc/thread-self/status")
		if err != nil {
			t.Fatal(err)
		}
		st, err := ParseStatus(b)
		if err != nil {
			t.Fatal(err)
		}
		if string(st.Name) != c.want {
			t.Errorf("comm %q: Name = %q, want %q", c.comm, st.Name, c.want)
		}
		if st.Tgid != os.Getpid() || st.Pid != unix.Gettid() || st.PPid != os.Getppid() {
			t.Errorf("Tgid/Pid/PPid = %d/%d/%d, want %d/%d/%d", st.Tgid, st.Pid, st.PPid, os.Getpid(), unix.Gettid(), os.Getppid())
		}
		if st.Uid[0] != os.Getuid() || st.Uid[1] != os.Geteuid() || st.Gid[0] != os.Getgid() || st.Gid[1] != os.Getegid() {
			t.Errorf("Uid %v Gid %v", st.Uid, st.Gid)
		}
		groups, err := os.Getgroups()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(st.Groups, groups) {
			t.Errorf("Groups = %v, want %v", st.Groups, groups)
		}
	}
}

// statusRef is a plain reading of status: the last line with each key
// wins, its value is one decimal number (several for Uid and Gid).
func statusRef(data []byte) map[string][]int {
	out := map[string][]int{}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "Tgid", "Pid", "PPid", "Uid", "Gid":
			var nums []int
			for _, f := range strings.Fields(v) {
				n, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					nums = nil
					break
				}
				nums = append(nums, int(n))
			}
			out[k] = nums
		}
	}
	return out
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(statusWithName("bash")))
	f.Add([]byte(statusWithName(`a\nb) (c`)))
	f.Add([]byte("Tgid:\t1\nPid:\t1\nPPid:\t0\nUid:\t0 0 0 0\nGid:\t0 0 0 0\n"))
	f.Add([]byte("Tgid:\t-1\nPid:\t+1\nPPid:\t00\nUid:\t0 0 0 0\nGid:\t0 0 0 0\nGroups:\t1 2\n"))
	f.Add([]byte("Name:\t\nTgid:"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseStatus(data)
		if err != nil {
			return
		}
		ref := statusRef(data)
		for k, got := range map[string][]int{
			"Tgid": {st.Tgid}, "Pid": {st.Pid}, "PPid": {st.PPid},
			"Uid": st.Uid[:], "Gid": st.Gid[:],
		} {
			if !slices.Equal(ref[k], got) {
				t.Fatalf("%s = %v, but the input says %v", k, got, ref[k])
			}
		}
		if bytes.IndexByte(st.Name, '\n') >= 0 {
			t.Fatalf("Name %q has a newline", st.Name)
		}
		if len(st.Name) > 0 && !bytes.Contains(data, st.Name) {
			t.Fatalf("Name %q is not in the input", st.Name)
		}
	})
}
