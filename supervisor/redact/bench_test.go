package redact

import "testing"

// A typical exec's strings: a compiler line with no secret, and a curl
// with one.
var (
	benchPlain = [][]byte{
		[]byte("/usr/lib/gcc/x86_64-linux-gnu/12/cc1"), []byte("-quiet"), []byte("-imultiarch"),
		[]byte("x86_64-linux-gnu"), []byte("hello.c"), []byte("-quiet"), []byte("-dumpdir"), []byte("a-"),
		[]byte("-dumpbase"), []byte("hello.c"), []byte("-dumpbase-ext"), []byte(".c"), []byte("-mtune=generic"),
		[]byte("-march=x86-64"), []byte("-fasynchronous-unwind-tables"), []byte("-o"), []byte("/tmp/ccYkqCS4.s"),
	}
	benchSecret = [][]byte{
		[]byte("curl"), []byte("-sS"), []byte("-H"), []byte("Authorization: Bearer s3cr3tValue42xyz"),
		[]byte("https://api.example.com/v1/repos/o/r/releases"),
	}
	benchEnv = []string{"GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "NPM_TOKEN=npm_abcdefghijklmnopqrstuvwxyz0123456789",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "DB_PASSWORD=hunter2hunter2"}
)

// BenchmarkArgv is the redaction cost per exec record: argv plus path,
// executable and cwd.
func BenchmarkArgv(b *testing.B) {
	r := newTest(b, Options{Environ: benchEnv})
	for _, bc := range []struct {
		name string
		argv [][]byte
	}{{"plain", benchPlain}, {"secret", benchSecret}} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for _, a := range bc.argv {
				n += len(a)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				r.Argv(bc.argv)
				r.Bytes([]byte("/usr/lib/gcc/x86_64-linux-gnu/12/cc1"))
				r.String("/usr/lib/gcc/x86_64-linux-gnu/12/cc1")
				r.String("/tmp/demo")
			}
		})
	}
}

// BenchmarkStream: a session's output, 32 KiB chunks of ordinary text.
func BenchmarkStream(b *testing.B) {
	r := newTest(b, Options{Environ: benchEnv})
	chunk := make([]byte, 0, 32<<10)
	for len(chunk) < 32<<10-80 {
		chunk = append(chunk, "gcc -c -O2 -Wall -o build/obj/module_42.o src/module_42.c # compiling key parts\r\n"...)
	}
	s := r.NewStream()
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		s.Write(chunk)
	}
}
