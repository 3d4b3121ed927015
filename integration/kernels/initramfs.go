package main

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// entry is one file of the initramfs: a directory, a symlink (target), or
// a regular file with its content taken from src or data.
type entry struct {
	mode   fs.FileMode
	target string
	src    string
	data   []byte
}

type tree map[string]entry

// guestRoot is where the repository's parts go in the guest: the suite
// runs in guestRoot/integration, so its repoRoot is guestRoot.
const guestRoot = "/exectrail"

// buildInitramfs writes the guest's root filesystem to path as a newc
// cpio archive and returns its number of files and size.
func buildInitramfs(c config, path string) (int, int64, error) {
	t := tree{}
	// The host's top-level links (/bin -> usr/bin on a merged-/usr
	// system), so /bin/sh is the same file in the guest.
	ents, err := os.ReadDir("/")
	if err != nil {
		return 0, 0, err
	}
	for _, e := range ents {
		if e.Type()&fs.ModeSymlink != 0 {
			if target, err := os.Readlink("/" + e.Name()); err == nil {
				t["/"+e.Name()] = entry{mode: fs.ModeSymlink | 0o777, target: target}
			}
		}
	}
	for _, d := range []string{"/proc", "/sys", "/dev", "/tmp", "/run", "/root", "/var/tmp", "/etc"} {
		t[d] = entry{mode: fs.ModeDir | 0o755}
	}
	t["/tmp"] = entry{mode: fs.ModeDir | fs.ModeSticky | 0o777}
	for _, f := range []string{"/etc/passwd", "/etc/group"} {
		if err := t.addFile(f, f); err != nil {
			return 0, 0, err
		}
	}
	for _, p := range c.packages {
		if err := t.addPackage(p); err != nil {
			return 0, 0, err
		}
	}
	if err := t.addFile("/busybox", c.busybox); err != nil {
		return 0, 0, err
	}
	if err := t.addFile(guestRoot+"/bin/exectrail", c.exe); err != nil {
		return 0, 0, err
	}
	if err := t.addFile(guestRoot+"/integration/integration.test", c.test); err != nil {
		return 0, 0, err
	}
	if err := t.addDir(guestRoot+"/integration/testdata", c.testdata); err != nil {
		return 0, 0, err
	}
	if err := t.addDir(guestRoot+"/bin/helpers", c.helpers); err != nil {
		return 0, 0, err
	}
	// Every ELF file's interpreter and libraries, from the host.
	if err := t.addLibraries(); err != nil {
		return 0, 0, err
	}
	t["/init"] = entry{mode: 0o755, data: []byte(initScript(c))}
	return t.write(path)
}

// addPackage adds the files of an installed Debian package, as dpkg
// lists them, at their canonical paths (documentation left out).
func (t tree) addPackage(pkg string) error {
	out, err := exec.Command("dpkg-query", "-L", pkg).Output()
	if err != nil {
		return fmt.Errorf("dpkg-query -L %s: %v (is it installed?)", pkg, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		p := sc.Text()
		if !strings.HasPrefix(p, "/") || skipPath(p) {
			continue
		}
		fi, err := os.Lstat(p)
		if err != nil || fi.IsDir() {
			continue // diversions, removed conffiles, directories
		}
		// /bin/stty is /usr/bin/stty on a merged-/usr system.
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			continue
		}
		if err := t.addFile(filepath.Join(dir, filepath.Base(p)), p); err != nil {
			return err
		}
	}
	return nil
}

func skipPath(p string) bool {
	for _, pre := range []string{"/usr/share/doc", "/usr/share/man", "/usr/share/info", "/usr/share/locale", "/usr/share/lintian", "/usr/share/bash-completion", "/usr/share/zsh"} {
		if strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// addFile adds host file src (a symlink stays one) at path dst.
func (t tree) addFile(dst, src string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		t[dst] = entry{mode: fs.ModeSymlink | 0o777, target: target}
	case fi.Mode().IsRegular():
		t[dst] = entry{mode: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky), src: src}
	default:
		return fmt.Errorf("%s: not a regular file or symlink", src)
	}
	return nil
}

// addDir adds the regular files and symlinks under host directory src at
// dst; a missing src adds an empty directory.
func (t tree) addDir(dst, src string) error {
	t[dst] = entry{mode: fs.ModeDir | 0o755}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			t[filepath.Join(dst, rel)] = entry{mode: fs.ModeDir | 0o755}
			return nil
		}
		return t.addFile(filepath.Join(dst, rel), p)
	})
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// libDirs are searched for DT_NEEDED libraries, as ld.so's defaults and
// Debian's multiarch configuration do.
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// addLibraries adds, until nothing is missing, the program interpreter
// and the libraries every ELF file of the tree needs.
func (t tree) addLibraries() error {
	seen := map[string]bool{}
	for {
		var missing []string
		for dst, e := range t {
			if e.src == "" || seen[dst] {
				continue
			}
			seen[dst] = true
			need, err := elfNeeds(e.src)
			if err != nil {
				return err
			}
			missing = append(missing, need...)
		}
		added := false
		for _, m := range missing {
			if err := t.addHostPath(m); err != nil {
				return err
			}
		}
		for dst, e := range t {
			if e.src != "" && !seen[dst] {
				added = true
			}
		}
		if !added {
			return nil
		}
	}
}

// elfNeeds returns the absolute host paths an ELF file's loading needs
// (nil for anything else).
func elfNeeds(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, nil // not ELF
	}
	defer f.Close()
	var out []string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return nil, err
			}
			out = append(out, strings.TrimRight(string(b), "\x00"))
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return out, nil // static
	}
	for _, l := range libs {
		found := false
		for _, d := range libDirs {
			if _, err := os.Stat(filepath.Join(d, l)); err == nil {
				out = append(out, filepath.Join(d, l))
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%s needs %s, which is not in %v", path, l, libDirs)
		}
	}
	return out, nil
}

// addHostPath adds host path p as the guest sees it: every symlink on
// the way (a directory link such as /lib, a library's soname link) and
// the file it ends at.
func (t tree) addHostPath(p string) error {
	for hops := 0; hops < 40; hops++ {
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return err
		}
		canon := filepath.Join(dir, filepath.Base(p))
		if _, ok := t[canon]; !ok {
			if err := t.addFile(canon, canon); err != nil {
				return err
			}
		}
		e := t[canon]
		if e.mode&fs.ModeSymlink == 0 {
			return nil
		}
		if filepath.IsAbs(e.target) {
			p = e.target
		} else {
			p = filepath.Join(dir, e.target)
		}
	}
	return fmt.Errorf("%s: too many symlinks", p)
}

// initScript is the guest's /init.
func initScript(c config) string {
	var b strings.Builder
	b.WriteString(`#!/busybox sh
# exectrail kernel test guest (integration/kernels): mount, run, power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
bb=/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t cgroup2 cgroup2 /sys/fs/cgroup
$bb mount -t devtmpfs devtmpfs /dev
$bb mkdir -p /dev/pts /dev/shm
$bb mount -t devpts -o ptmxmode=0666 devpts /dev/pts
# What udev would make: /dev/fd and the standard streams.
$bb ln -sf /proc/self/fd /dev/fd
$bb ln -sf /proc/self/fd/0 /dev/stdin
$bb ln -sf /proc/self/fd/1 /dev/stdout
$bb ln -sf /proc/self/fd/2 /dev/stderr
for d in /tmp /run /dev/shm; do $bb mount -t tmpfs -o mode=1777 tmpfs $d; done
exec >/dev/ttyS1 2>&1
echo "` + marker + `kernel=$($bb uname -r)"
cd ` + guestRoot + `/integration
# What exectrail itself says of this kernel (exectrail doctor, where the
# binary has it).
` + guestRoot + `/bin/exectrail doctor 2>&1 | while IFS= read -r l; do echo "doctor: $l"; done
`)
	args := "-test.v -test.count=1 -test.timeout=30m"
	if c.run != "" {
		args += " -test.run '" + c.run + "'"
	}
	if c.skip != "" {
		args += " -test.skip '" + c.skip + "'"
	}
	env := "CI=true EXECTRAIL_BIN=" + guestRoot + "/bin/exectrail EXECTRAIL_HELPERS=" + guestRoot + "/bin/helpers EXECTRAIL_HELPERS_READONLY=1"
	if len(c.env) > 0 {
		env += " " + strings.Join(c.env, " ")
	}
	if c.cmd != "" {
		fmt.Fprintf(&b, "env %s /bin/sh -c %s\n", env, shellQuote(c.cmd))
		fmt.Fprintf(&b, "echo \"%sbackend=cmd rc=$? seconds=0\"\n", marker)
		b.WriteString("echo '" + marker + "done'\n$bb sync\n$bb reboot -f\n")
		return b.String()
	}
	// The backends come from the kernel command line (exectrail_backends=…,
	// which the kernel hands to init as an environment variable): one
	// initramfs serves a guest per backend.
	b.WriteString("for be in $(echo \"$exectrail_backends\" | $bb tr , ' '); do\n")
	fmt.Fprintf(&b, "\techo \"%sbackend $be: start\"\n", marker)
	b.WriteString("\tt0=$($bb date +%s)\n")
	fmt.Fprintf(&b, "\tenv %s EXECTRAIL_BACKEND=$be ./integration.test %s\n", env, args)
	fmt.Fprintf(&b, "\techo \"%sbackend=$be rc=$? seconds=$(( $($bb date +%%s) - t0 ))\"\n", marker)
	b.WriteString("done\n")
	b.WriteString("echo '" + marker + "done'\n$bb sync\n$bb reboot -f\n")
	return b.String()
}

// write writes the tree as a newc cpio archive, parents before children.
func (t tree) write(path string) (int, int64, error) {
	// Parent directories that were not named.
	for p := range t {
		for d := filepath.Dir(p); d != "/"; d = filepath.Dir(d) {
			if _, ok := t[d]; !ok {
				t[d] = entry{mode: fs.ModeDir | 0o755}
			}
		}
	}
	paths := make([]string, 0, len(t))
	for p := range t {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	cw := &cpioWriter{w: w}
	for i, p := range paths {
		e := t[p]
		data := e.data
		if e.src != "" {
			if data, err = os.ReadFile(e.src); err != nil {
				f.Close()
				return 0, 0, err
			}
		}
		if e.mode&fs.ModeSymlink != 0 {
			data = []byte(e.target)
		}
		if err := cw.entry(i+1, strings.TrimPrefix(p, "/"), e.mode, data); err != nil {
			f.Close()
			return 0, 0, err
		}
	}
	if err := cw.entry(0, "TRAILER!!!", 0, nil); err != nil {
		f.Close()
		return 0, 0, err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, 0, err
	}
	return len(paths), cw.n, f.Close()
}

// cpioWriter writes the "newc" format the kernel's initramfs unpacker
// reads (Documentation/driver-api/early-userspace/buffer-format.rst).
type cpioWriter struct {
	w *bufio.Writer
	n int64
}

func (c *cpioWriter) entry(ino int, name string, mode fs.FileMode, data []byte) error {
	m := uint32(mode.Perm())
	if mode&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if mode&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	switch {
	case name == "TRAILER!!!":
	case mode&fs.ModeDir != 0:
		m |= 0o040000
	case mode&fs.ModeSymlink != 0:
		m |= 0o120000
	default:
		m |= 0o100000
	}
	nlink := 1
	if mode&fs.ModeDir != 0 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, m, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	if err := c.write([]byte(hdr + name + "\x00")); err != nil {
		return err
	}
	if err := c.pad(); err != nil {
		return err
	}
	if err := c.write(data); err != nil {
		return err
	}
	return c.pad()
}

func (c *cpioWriter) write(b []byte) error {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return err
}

func (c *cpioWriter) pad() error {
	for c.n%4 != 0 {
		if err := c.write([]byte{0}); err != nil {
			return err
		}
	}
	return nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
