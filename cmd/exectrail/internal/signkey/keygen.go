package signkey

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
)

// WritePair makes a new key pair and writes the private key to name (mode
// 0600) and the public key to name.pub (0644); an existing file is an
// error unless force. It returns the public key.
func WritePair(name string, force bool) (ed25519.PublicKey, error) {
	priv, pub, err := Generate()
	if err == nil {
		err = writeKey(name, priv, 0o600, force)
	}
	if err == nil {
		err = writeKey(name+".pub", pub, 0o644, force)
	}
	if err != nil {
		return nil, err
	}
	return ParsePublic(pub)
}

func writeKey(path string, b []byte, mode os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, mode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists (--force overwrites it)", path)
		}
		return err
	}
	if err := f.Chmod(mode); err != nil { // an existing file keeps its mode otherwise
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
