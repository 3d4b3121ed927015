package chain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

const (
	// Size is the size of a chain value (SHA-256).
	Size = sha256.Size
	// PrevBytes is how much of the chain value every record carries.
	PrevBytes = 8
	// KeyIDBytes is how much of the public key's SHA-256 a key id is.
	KeyIDBytes = 8
)

// Chain is the running hash of a log's lines. The zero value is the chain
// of an empty log.
type Chain struct {
	sum [Size]byte
	h   hash.Hash
}

// Add extends the chain with one line as written, newline included.
func (c *Chain) Add(line []byte) {
	if c.h == nil {
		c.h = sha256.New()
	}
	c.h.Reset()
	c.h.Write(c.sum[:])
	c.h.Write(line)
	c.h.Sum(c.sum[:0])
}

// Sum is the chain value after the lines added so far.
func (c *Chain) Sum() [Size]byte { return c.sum }

// Prev is what the next record carries as prev.
func (c *Chain) Prev() [PrevBytes]byte {
	var p [PrevBytes]byte
	copy(p[:], c.sum[:])
	return p
}

// Hex is Sum in hex.
func (c *Chain) Hex() string { return hex.EncodeToString(c.sum[:]) }

// PrevHex is Prev in hex.
func (c *Chain) PrevHex() string { return hex.EncodeToString(c.sum[:PrevBytes]) }

// signPrefix separates what exectrail signs from anything else a key
// might sign.
const signPrefix = "exectrail end record v1\n"

// SignedMessage is what the signature of an end record covers: the end
// line exactly as written but without its sig (and the separator before
// it), newline included.
func SignedMessage(lineWithoutSig []byte) []byte {
	return append([]byte(signPrefix), lineWithoutSig...)
}

// KeyID names a public key: the first KeyIDBytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:KeyIDBytes])
}
