package signkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

const (
	privateType = "PRIVATE KEY"
	publicType  = "PUBLIC KEY"
)

// Generate returns a new key pair as PEM files: private, public.
func Generate() (priv, pub []byte, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(sk)
	if err != nil {
		return nil, nil, err
	}
	pder, err := x509.MarshalPKIXPublicKey(pk)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: privateType, Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: publicType, Bytes: pder}), nil
}

// ParsePrivate parses a PEM PKCS #8 Ed25519 private key.
func ParsePrivate(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("not a PEM file")
	}
	if blk.Type != privateType {
		return nil, fmt.Errorf("a PEM %q, want %q (an Ed25519 private key; exectrail keygen writes one)", blk.Type, privateType)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	sk, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T private key, want Ed25519", k)
	}
	return sk, nil
}

// ParsePublic parses a PEM PKIX Ed25519 public key. A private key is
// refused: verifying must not need it.
func ParsePublic(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("not a PEM file")
	}
	if blk.Type == privateType {
		return nil, errors.New("a private key; give the public one (the .pub file)")
	}
	if blk.Type != publicType {
		return nil, fmt.Errorf("a PEM %q, want %q (an Ed25519 public key)", blk.Type, publicType)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	pk, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T public key, want Ed25519", k)
	}
	return pk, nil
}

// maxKeyFile bounds what is read of a key file: a PEM Ed25519 key is
// about 120 bytes.
const maxKeyFile = 64 << 10

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, maxKeyFile+1)
	n := 0
	for n < len(b) {
		m, err := f.Read(b[n:])
		n += m
		if err != nil {
			break
		}
	}
	if n > maxKeyFile {
		return nil, fmt.Errorf("%s: longer than %d bytes: not a key file", path, maxKeyFile)
	}
	return b[:n], nil
}

// LoadPrivate reads a private key file.
func LoadPrivate(path string) (ed25519.PrivateKey, error) {
	b, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivate(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadPublic reads a public key file.
func LoadPublic(path string) (ed25519.PublicKey, error) {
	b, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePublic(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
