// Package chain is the hash chain and the signature of an exectrail log,
// shared by the writer (package supervisor) and the verifier (exectrail
// verify), so that both compute exactly the same bytes.
//
// The chain: C0 is 32 zero bytes, and after line n (every byte written,
// its newline included) Cn = SHA-256(Cn-1 || line n). Record n carries
// prev, the first PrevBytes bytes of Cn-1 in hex; the end record carries
// the whole of C over every line before it (chain). The signature of an
// end record is Ed25519 over SignedMessage(the end line without its sig).
//
// It must stay standard-library only and free of cgo: a log has to be
// verifiable anywhere it can be copied to.
package chain
