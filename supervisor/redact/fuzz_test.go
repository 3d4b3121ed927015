package redact

import (
	"bytes"
	"testing"
)

// FuzzRedact: no panic on any input, in one piece or as a stream cut
// anywhere; the result never holds a configured secret value or a
// planted token, and nothing any detector finds (masking twice changes
// nothing).
func FuzzRedact(f *testing.F) {
	env := []string{"API_TOKEN=s3cr3tValue42xyz", "DB_PASSWORD=hunter2hunter2"}
	secrets := [][]byte{[]byte("s3cr3tValue42xyz"), []byte("hunter2hunter2")}
	r := newTest(f, Options{Environ: env})
	tok := "ghp_" + fill(b62, 36)
	for _, s := range []string{
		"", "plain text", tok, "x s3cr3tValue42xyz y", "Authorization: Bearer abc",
		"https://u:p@h/", "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "TOKEN='abc", "\"password\": \"x",
		"[REDACTED:0123abcd]", "AKIAIOSFODNN7EXAMPLE", "hunter2hunter", "\xff\xfehunter2hunter2\x80",
	} {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		out, _ := r.Bytes(in)
		for _, s := range secrets {
			if bytes.Contains(out, s) {
				t.Fatalf("secret %q in %q", s, out)
			}
		}
		if bytes.Contains(in, []byte(tok)) && bytes.Contains(out, []byte(tok)) {
			t.Fatalf("token in %q", out)
		}
		// Masking twice changes nothing: nothing the detectors find is
		// left in the output.
		if again, changed := r.Bytes(out); changed && !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q", out, again)
		}
		c := int(cut) % (len(in) + 1)
		st := r.NewStream()
		var got []byte
		got = append(got, st.Write(in[:c])...)
		got = append(got, st.Write(in[c:])...)
		got = append(got, st.Flush()...)
		for _, s := range secrets {
			if bytes.Contains(got, s) {
				t.Fatalf("stream: secret %q in %q", s, got)
			}
		}
	})
}
