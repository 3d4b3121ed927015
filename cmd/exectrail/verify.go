package main

// exectrail verify [--key PUB] LOG (internal/verify does the checking).

import (
	"fmt"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/runlog"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/signkey"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/verify"
	"github.com/spf13/pflag"
)

const verifyUsage = `usage: exectrail verify [--key PUB] LOG

Checks an exectrail log: every line a record, seq contiguous from the
start record, the hash chain intact, the end record present and its
counts matching the records; with --key, the end record's signature.
LOG is a file or - (standard input); gzip-compressed logs are read as
such. Prints one line, "ok: …" or "fail: line N: how"; exits 0 when the
log holds, 1 when it does not or cannot be read, 125 for bad usage.

flags:
`

func verifyMain(args []string) int {
	fs := pflag.NewFlagSet("verify", pflag.ContinueOnError)
	keyFile := fs.String("key", "", "check the signature with the Ed25519 public key in FILE (PEM; exectrail keygen writes FILE.pub)")
	say := cli.For("verify")
	if status, done := say.Parse(fs, args, verifyUsage, cli.ExitSetup); done {
		return status
	}
	if fs.NArg() != 1 {
		say.Errorf("want one LOG (a file, or - for standard input)")
		return cli.ExitSetup
	}
	var opt verify.Options
	if *keyFile != "" {
		k, err := signkey.LoadPublic(*keyFile)
		if err != nil {
			say.Errorf("--key: %v", err)
			return cli.ExitSetup
		}
		opt.Key = k
	}
	in, _, err := runlog.Open(fs.Arg(0)) // gzip or not
	if err != nil {
		say.Errorf("%v", err)
		return cli.ExitFailed
	}
	defer in.Close()
	res := verify.Verify(in, opt)
	fmt.Println(res.Line())
	if !res.OK() {
		return cli.ExitFailed
	}
	return 0
}
