// Package signkey reads and writes the Ed25519 keys that sign exectrail
// logs: `exectrail keygen` writes a pair, `exectrail run --sign-key`
// reads the private key, `exectrail verify --key` the public one.
//
// Keys are PEM files in the standard encodings (PKCS #8 for the private
// key, PKIX for the public one), the same as
// `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` write,
// so that keys can be made and kept with common tools. Standard library
// only.
package signkey
