package signkey

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/exectrail/exectrail/supervisor/chain"
	"github.com/spf13/pflag"
)

// KeygenUsage is the synopsis of exectrail keygen.
const KeygenUsage = `usage: exectrail keygen [--force] FILE

Writes a new Ed25519 key pair: the private key to FILE (mode 0600), for
exectrail run --sign-key FILE, and the public key to FILE.pub, for
exectrail verify --key FILE.pub. Both are PEM (PKCS #8, PKIX).

flags:
`

// Keygen is exectrail keygen. It returns the exit status: 0, 1 when the
// files cannot be written, 125 for bad usage.
func Keygen(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("keygen", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	force := fs.Bool("force", false, "overwrite FILE and FILE.pub if they exist")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, KeygenUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "exectrail: keygen: %v\n", err)
		return 125
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "exectrail: keygen: want one FILE (usage: exectrail keygen [--force] FILE)\n")
		return 125
	}
	name := fs.Arg(0)
	priv, pub, err := Generate()
	if err == nil {
		err = writeKey(name, priv, 0o600, *force)
	}
	if err == nil {
		err = writeKey(name+".pub", pub, 0o644, *force)
	}
	if err != nil {
		fmt.Fprintf(stderr, "exectrail: keygen: %v\n", err)
		return 1
	}
	pk, _ := ParsePublic(pub)
	fmt.Fprintf(stdout, "wrote %s (private: keep it from the jobs you record) and %s.pub (public); key id %s\n", name, name, chain.KeyID(pk))
	return 0
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
