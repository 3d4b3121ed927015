package procfs

import "testing"

func TestBinfmtEntry(t *testing.T) {
	magic := "enabled\ninterpreter /usr/bin/qemu-arm\nflags: OCF\noffset 0\nmagic 7f454c460101010000000000000000000200\nmask ffffffffffffff00fffffffffffffffffeff\n"
	h, ok := ParseBinfmtEntry("qemu-arm", []byte(magic))
	if !ok || !h.Enabled || h.Interpreter != "/usr/bin/qemu-arm" || h.Flags != "OCF" || len(h.Magic) != 18 || len(h.Mask) != 18 {
		t.Fatalf("parsed %+v, %v", h, ok)
	}
	arm := []byte("\x7fELF\x01\x01\x01\x03\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00")
	if !h.Matches(arm, "/bin/x") {
		t.Errorf("an ARM ELF header (byte 7 masked out) must match")
	}
	arm[16] = 3 // the mask's fe ignores bit 0
	if !h.Matches(arm, "/bin/x") {
		t.Errorf("e_type 3 must match 2 under mask fe")
	}
	arm[16] = 4
	if h.Matches(arm, "/bin/x") {
		t.Errorf("e_type 4 must not match 2")
	}
	if h.Matches([]byte("\x7fELF"), "/bin/x") {
		t.Errorf("a head shorter than the magic must not match")
	}
	ext, ok := ParseBinfmtEntry("jar", []byte("enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n"))
	if !ok || !ext.Matches(nil, "/x/app.jar") || ext.Matches(nil, "/x/app.jar.txt") || ext.Matches(nil, "/x/app") {
		t.Errorf("extension entry %+v", ext)
	}
	off, ok := ParseBinfmtEntry("off", []byte("disabled\ninterpreter /bin/x\noffset 2\nmagic 4142\n"))
	if !ok || off.Matches([]byte("..AB"), "f") {
		t.Errorf("a disabled entry must not match: %+v", off)
	}
	off.Enabled = true
	if !off.Matches([]byte("..AB"), "f") || off.Matches([]byte("AB.."), "f") {
		t.Errorf("offset 2: %+v", off)
	}
	if _, ok := ParseBinfmtEntry("x", []byte("enabled\nflags: \n")); ok {
		t.Errorf("an entry without interpreter must not parse")
	}
}

// ParseBinfmtEntry and Matches must not panic on any entry or head.
func FuzzParseBinfmtEntry(f *testing.F) {
	f.Add([]byte("enabled\ninterpreter /bin/x\noffset 2\nmagic 4142\nmask ff\n"), []byte("..AB"))
	f.Add([]byte("enabled\ninterpreter /bin/x\noffset 99999999999\nmagic 41\n"), []byte("A"))
	f.Add([]byte("enabled\ninterpreter /bin/x\nextension .\n"), []byte(""))
	f.Add([]byte("enabled\ninterpreter /bin/x\noffset 9223372036854775807\nmagic 41\n"), []byte("A"))
	f.Fuzz(func(t *testing.T, entry, head []byte) {
		if h, ok := ParseBinfmtEntry("f", entry); ok {
			h.Matches(head, "/a.b")
		}
	})
}
