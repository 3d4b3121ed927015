module github.com/exectrail/exectrail

go 1.26.8

require (
	github.com/creack/pty v1.1.24
	github.com/rs/zerolog v1.35.1
	github.com/seccomp/libseccomp-golang v0.11.1
	github.com/spf13/pflag v1.1.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
)
