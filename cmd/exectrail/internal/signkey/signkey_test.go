package signkey

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWritePair(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "k")
	written, err := WritePair(name, false)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := LoadPrivate(name)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := LoadPublic(name + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if !pk.Equal(sk.Public()) || !pk.Equal(written) {
		t.Fatal("the public key is not the private key's")
	}
	msg := []byte("m")
	if !ed25519.Verify(pk, msg, ed25519.Sign(sk, msg)) {
		t.Fatal("a signature does not verify")
	}
	if st, _ := os.Stat(name); st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", st.Mode())
	}
	// An existing file is kept unless force.
	if _, err := WritePair(name, false); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("over an existing key: %v", err)
	}
	if _, err := WritePair(name, true); err != nil {
		t.Errorf("force: %v", err)
	}
	if sk2, _ := LoadPrivate(name); sk2.Equal(sk) {
		t.Error("force wrote the same key")
	}
}

func TestParseWrongKeys(t *testing.T) {
	priv, pub, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePublic(priv); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("a private key as public: %v", err)
	}
	if _, err := ParsePrivate(pub); err == nil {
		t.Error("a public key parsed as private")
	}
	for _, b := range []string{"", "garbage", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if _, err := ParsePrivate([]byte(b)); err == nil {
			t.Errorf("%q parsed as a private key", b)
		}
		if _, err := ParsePublic([]byte(b)); err == nil {
			t.Errorf("%q parsed as a public key", b)
		}
	}
}
