package main

// exectrail keygen FILE: an Ed25519 pair for run --sign-key and verify --key.

import (
	"fmt"

	"github.com/exectrail/exectrail/cmd/exectrail/internal/cli"
	"github.com/exectrail/exectrail/cmd/exectrail/internal/signkey"
	"github.com/exectrail/exectrail/supervisor/chain"
	"github.com/spf13/pflag"
)

const keygenUsage = `usage: exectrail keygen [--force] FILE

Writes a new Ed25519 key pair: the private key to FILE (mode 0600), for
exectrail run --sign-key FILE, and the public key to FILE.pub, for
exectrail verify --key FILE.pub. Both are PEM (PKCS #8, PKIX).

flags:
`

func keygenMain(args []string) int {
	fs := pflag.NewFlagSet("keygen", pflag.ContinueOnError)
	force := fs.Bool("force", false, "overwrite FILE and FILE.pub if they exist")
	say := cli.For("keygen")
	if status, done := say.Parse(fs, args, keygenUsage, cli.ExitSetup); done {
		return status
	}
	if fs.NArg() != 1 {
		say.Errorf("want one FILE (usage: exectrail keygen [--force] FILE)")
		return cli.ExitSetup
	}
	name := fs.Arg(0)
	pk, err := signkey.WritePair(name, *force)
	if err != nil {
		say.Errorf("%v", err)
		return cli.ExitFailed
	}
	fmt.Printf("wrote %s (private: keep it from the jobs you record) and %s.pub (public); key id %s\n", name, name, chain.KeyID(pk))
	return 0
}
