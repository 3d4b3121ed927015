package verify

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/signkey"
	"github.com/spf13/pflag"
)

// Usage is the synopsis of exectrail verify.
const Usage = `usage: exectrail verify [--key PUB] LOG

Checks an exectrail log: every line a record, seq contiguous from the
start record, the hash chain intact, the end record present and its
counts matching the records; with --key, the end record's signature.
LOG is a file or - (standard input); gzip-compressed logs are read as
such. Prints one line, "ok: …" or "fail: line N: how"; exits 0 when the
log holds, 1 when it does not or cannot be read, 125 for bad usage.

flags:
`

// Main is exectrail verify.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("verify", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	keyFile := fs.String("key", "", "check the signature with the Ed25519 public key in FILE (PEM; exectrail keygen writes FILE.pub)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, Usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "exectrail: verify: %v\n", err)
		return 125
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "exectrail: verify: want one LOG (a file, or - for standard input)")
		return 125
	}
	var opt Options
	if *keyFile != "" {
		k, err := signkey.LoadPublic(*keyFile)
		if err != nil {
			fmt.Fprintf(stderr, "exectrail: verify: --key: %v\n", err)
			return 125
		}
		opt.Key = k
	}
	var in io.Reader = stdin
	name := fs.Arg(0)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "exectrail: verify: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	rd, err := decompress(in)
	if err != nil {
		fmt.Fprintf(stderr, "exectrail: verify: %s: %v\n", name, err)
		return 1
	}
	res := Verify(rd, opt)
	fmt.Fprintln(stdout, res.Line())
	if !res.OK() {
		return 1
	}
	return 0
}

// decompress reads through gzip when the stream starts with its magic.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	}
	return br, nil
}
