package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

var errNotBootable = errors.New("not bootable here")

// kernelImage returns the bzImage of kernel name, downloading it first
// when needed.
func kernelImage(c config, name string) (string, error) {
	switch name {
	case "6.1":
		return debianKernel(c, `^linux-image-6\.1\.0-([0-9]+)-cloud-amd64-unsigned$`)
	case "6.12":
		return debianKernel(c, `^linux-image-6\.12\.([0-9]+)\+deb12-cloud-amd64-unsigned$`)
	case "host":
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			return "", err
		}
		img := "/boot/vmlinuz-" + unix.ByteSliceToString(u.Release[:])
		if _, err := os.Stat(img); err != nil {
			return "", fmt.Errorf("%w: no image of the running kernel (%v); the native run is the control", errNotBootable, err)
		}
		return img, nil
	}
	if _, err := os.Stat(name); err != nil {
		return "", err
	}
	return name, nil
}

// debianKernel returns the vmlinuz of the newest package matching re
// (whose first group is the ABI number) that is in the cache; with none
// cached, it downloads the newest one apt knows, then extracts the
// package into the cache once.
func debianKernel(c config, re string) (string, error) {
	pkgRE := regexp.MustCompile(re)
	if err := os.MkdirAll(c.cache, 0o755); err != nil {
		return "", err
	}
	debs, err := filepath.Glob(filepath.Join(c.cache, "*.deb"))
	if err != nil {
		return "", err
	}
	var cached []string
	for _, d := range debs {
		if pkgRE.MatchString(strings.SplitN(filepath.Base(d), "_", 2)[0]) {
			cached = append(cached, d)
		}
	}
	deb := newest(cached, pkgRE, func(d string) string { return strings.SplitN(filepath.Base(d), "_", 2)[0] })
	if deb == "" {
		out, err := exec.Command("apt-cache", "search", "--names-only", re).Output()
		if err != nil {
			return "", fmt.Errorf("apt-cache search: %v", err)
		}
		var names []string
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) > 0 && pkgRE.MatchString(f[0]) {
				names = append(names, f[0])
			}
		}
		pkg := newest(names, pkgRE, func(s string) string { return s })
		if pkg == "" {
			return "", fmt.Errorf("apt knows no package matching %s (apt-get update?)", re)
		}
		fmt.Printf("kernels: downloading %s into %s\n", pkg, c.cache)
		// Into a directory of its own, then renamed: another run
		// (another worktree's make test) may be fetching it too.
		tmp, err := os.MkdirTemp(c.cache, ".download-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		dl := exec.Command("apt-get", "download", "-q", pkg)
		dl.Dir = tmp
		dl.Stdout, dl.Stderr = os.Stdout, os.Stderr
		if err := dl.Run(); err != nil {
			return "", fmt.Errorf("apt-get download %s: %v", pkg, err)
		}
		got, _ := filepath.Glob(filepath.Join(tmp, pkg+"_*.deb"))
		if len(got) != 1 {
			return "", fmt.Errorf("apt-get download %s left %d packages", pkg, len(got))
		}
		deb = filepath.Join(c.cache, filepath.Base(got[0]))
		if err := os.Rename(got[0], deb); err != nil {
			return "", err
		}
	}
	dir := strings.TrimSuffix(deb, ".deb")
	if _, err := os.Stat(filepath.Join(dir, "boot")); err != nil {
		tmp, err := os.MkdirTemp(c.cache, ".extract-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		if out, err := exec.Command("dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
			return "", fmt.Errorf("dpkg-deb -x %s: %v\n%s", deb, err, out)
		}
		// Whoever renames first wins; the loser's copy is removed.
		if err := os.Rename(tmp, dir); err != nil {
			if _, serr := os.Stat(filepath.Join(dir, "boot")); serr != nil {
				return "", err
			}
		}
	}
	imgs, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	if len(imgs) != 1 {
		return "", fmt.Errorf("%s holds %d kernel images", deb, len(imgs))
	}
	return imgs[0], nil
}

// newest returns the item whose name's ABI number is highest.
func newest(items []string, re *regexp.Regexp, name func(string) string) string {
	abi := func(s string) int {
		m := re.FindStringSubmatch(name(s))
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if len(items) == 0 {
		return ""
	}
	return slices.MaxFunc(items, func(a, b string) int { return abi(a) - abi(b) })
}
