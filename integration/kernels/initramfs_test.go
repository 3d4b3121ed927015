package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// The archive the kernel unpacks is checked with another reader of the
// same format: busybox cpio (make deps installs busybox-static).
func TestCpioRoundTrip(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs busybox (busybox-static)")
		}
		t.Skip("needs busybox (busybox-static)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tr := tree{
		"/a/b/prog": {mode: 0o4755, src: src},
		"/a/link":   {mode: fs.ModeSymlink | 0o777, target: "b/prog"},
		"/odd":      {mode: 0o644, data: []byte("x")}, // 1 byte: padding
		"/tmp":      {mode: fs.ModeDir | fs.ModeSticky | 0o777},
	}
	archive := filepath.Join(dir, "initramfs.cpio")
	n, _, err := tr.write(archive)
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 { // a, a/b, a/b/prog, a/link, odd, tmp
		t.Errorf("%d entries, want 6", n)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(bb, "cpio", "-i", "-d")
	cmd.Dir, cmd.Stdin = out, f
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("busybox cpio -i: %v\n%s", err, b)
	}
	fi, err := os.Lstat(filepath.Join(out, "a/b/prog"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModePerm != 0o755 || fi.Size() != 18 {
		t.Errorf("a/b/prog: mode %v size %d, want -rwxr-xr-x (and setuid in the archive) and 18 bytes", fi.Mode(), fi.Size())
	}
	if l, err := os.Readlink(filepath.Join(out, "a/link")); err != nil || l != "b/prog" {
		t.Errorf("a/link -> %q (%v), want b/prog", l, err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "odd")); err != nil || string(b) != "x" {
		t.Errorf("odd: %q (%v), want x", b, err)
	}
	if fi, err := os.Stat(filepath.Join(out, "tmp")); err != nil || !fi.IsDir() {
		t.Errorf("tmp: %v, want a directory", err)
	}
}

func TestNewestKernelPackage(t *testing.T) {
	re := regexp.MustCompile(`^linux-image-6\.1\.0-([0-9]+)-cloud-amd64-unsigned$`)
	got := newest([]string{
		"linux-image-6.1.0-9-cloud-amd64-unsigned",
		"linux-image-6.1.0-57-cloud-amd64-unsigned",
		"linux-image-6.1.0-47-cloud-amd64-unsigned",
	}, re, func(s string) string { return s })
	if got != "linux-image-6.1.0-57-cloud-amd64-unsigned" {
		t.Errorf("newest = %q, want ABI 57 (numbers, not strings: 57 > 9)", got)
	}
	if newest(nil, re, func(s string) string { return s }) != "" {
		t.Error("newest of nothing is not empty")
	}
}
