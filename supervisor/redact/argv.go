package redact

import (
	"bytes"
	"strings"
)

// secretFlags are flags whose value is a secret, normalised: leading
// dashes off, lower case, "_" as "-". A flag also counts when it ends in
// "-" and one of flagSuffixes (--db-password, --registry-token) and does not
// start with one of notValuePrefixes (--no-password, --ask-pass).
var secretFlags = map[string]bool{
	"password": true, "passwd": true, "pass": true, "passphrase": true,
	"passin": true, "passout": true, // openssl
	"token": true, "secret": true, "api-key": true, "apikey": true,
	"access-token": true, "auth-token": true, "client-secret": true,
	"secret-key": true, "secret-access-key": true, "aws-secret-access-key": true,
	"oauth2-bearer": true, // curl
	"private-token": true,
}

var flagSuffixes = []string{"password", "passwd", "passphrase", "token", "secret", "api-key", "apikey", "secret-key"}

var notValuePrefixes = []string{"no-", "ask-", "prompt-", "use-", "with-", "without-", "show-", "print-", "rotate-", "refresh-", "revoke-", "create-", "delete-", "list-"}

func secretFlag(flag []byte) bool {
	for len(flag) > 0 && flag[0] == '-' {
		flag = flag[1:]
	}
	var buf [48]byte
	if len(flag) < 3 || len(flag) > len(buf) {
		return false
	}
	n := buf[:len(flag)]
	for i, c := range flag {
		if c == '_' {
			c = '-'
		}
		n[i] = lower(c)
	}
	if !bytes.Contains(n, []byte("pass")) && !bytes.Contains(n, []byte("token")) &&
		!bytes.Contains(n, []byte("secret")) && !bytes.Contains(n, []byte("key")) &&
		!bytes.Contains(n, []byte("bearer")) {
		return false
	}
	if secretFlags[string(n)] {
		return true
	}
	for _, p := range notValuePrefixes {
		if bytes.HasPrefix(n, []byte(p)) {
			return false
		}
	}
	for _, s := range flagSuffixes {
		if len(n) > len(s) && bytes.HasSuffix(n, []byte(s)) && n[len(n)-len(s)-1] == '-' {
			return true
		}
	}
	return false
}

// Tools whose short flags carry a password unambiguously.
var (
	// -pSECRET, attached only: "-p" alone prompts, and "-p NAME" is a
	// database name to mysql.
	mysqlLike = map[string]bool{
		"mysql": true, "mysqldump": true, "mysqladmin": true, "mysqlimport": true,
		"mysqlshow": true, "mysqlcheck": true, "mysqlpump": true, "mysqlslap": true,
		"mariadb": true, "mariadb-dump": true, "mariadb-admin": true, "mariadb-import": true,
		"mariadb-show": true, "mariadb-check": true, "mariadb-slap": true,
	}
	// `TOOL login -p SECRET` and -pSECRET.
	loginLike = map[string]bool{
		"docker": true, "podman": true, "nerdctl": true, "buildah": true,
		"skopeo": true, "helm": true, "oras": true, "crane": true, "regctl": true,
	}
)

// shortFlags returns, for argv[0]'s program, the short flags whose value is
// a secret: both attached (-pX) and separate (-p X).
func shortFlags(argv [][]byte) (attachedOnly, both string, userPass bool) {
	if len(argv) == 0 {
		return "", "", false
	}
	base := string(argv[0])
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	switch {
	case mysqlLike[base]:
		return "p", "", false
	case base == "sshpass":
		return "", "p", false
	case base == "redis-cli":
		return "", "a", false
	case base == "curl":
		return "", "", true
	case loginLike[base]:
		for _, a := range argv[1:] {
			if string(a) == "login" {
				return "", "p", false
			}
		}
	}
	return "", "", false
}

// Argv masks the secrets of an argument vector: each element by value
// (Bytes), and the values of secret flags (--password VALUE,
// --token=VALUE, mysql -pVALUE, docker login -p VALUE, curl -u
// USER:PASSWORD). It returns argv itself when nothing was masked, or a new
// slice and the indexes of the elements that changed.
func (r *Redactor) Argv(argv [][]byte) ([][]byte, []int) {
	var out [][]byte
	var changed []int
	attached, both, userPass := shortFlags(argv)
	next := span{-1, -1} // how the next element is a value: whole, or after ':'
	for i, a := range argv {
		var extra []span
		var one [1]span
		switch {
		case next.start == 0 && len(a) > 0:
			extra = append(one[:0], span{0, len(a)})
		case next.start == 1:
			if c := bytes.IndexByte(a, ':'); c >= 0 && c+1 < len(a) {
				extra = append(one[:0], span{c + 1, len(a)})
			}
		}
		next = span{-1, -1}
		if len(a) > 1 && a[0] == '-' && len(extra) == 0 {
			name, val, eq := bytes.Cut(a, []byte("="))
			long := len(a) > 2 && a[1] == '-'
			switch {
			case secretFlag(name) && (long || len(name) > 2):
				if eq {
					extra = append(one[:0], span{len(name) + 1, len(a)})
				} else {
					next.start = 0
				}
			case userPass && (string(name) == "-u" || string(name) == "--user" || string(name) == "-U" || string(name) == "--proxy-user"):
				if eq {
					if c := bytes.IndexByte(val, ':'); c >= 0 {
						extra = append(one[:0], span{len(name) + 1 + c + 1, len(a)})
					}
				} else {
					next.start = 1
				}
			case userPass && !long && (a[1] == 'u' || a[1] == 'U') && len(a) > 2:
				if c := bytes.IndexByte(a, ':'); c >= 0 {
					extra = append(one[:0], span{c + 1, len(a)})
				}
			case !long && len(a) >= 2 && strings.IndexByte(attached+both, a[1]) >= 0:
				switch {
				case len(a) > 2:
					extra = append(one[:0], span{2, len(a)})
				case both != "":
					next.start = 0
				}
			}
		}
		red := r.redact(a, extra)
		if red == nil {
			continue
		}
		if out == nil {
			out = make([][]byte, len(argv))
			copy(out, argv)
		}
		out[i] = red
		changed = append(changed, i)
	}
	if out == nil {
		return argv, nil
	}
	return out, changed
}

// EnvEntry masks one environment entry, NAME=VALUE: the whole value when
// the name looks secret (SecretName), otherwise what Bytes finds in it.
func (r *Redactor) EnvEntry(e []byte) ([]byte, bool) {
	name, v, ok := bytes.Cut(e, []byte("="))
	if ok && len(v) > 0 && r.SecretName(string(name)) && !isWholeMarker(v) {
		var one [1]span
		if out := r.redact(e, append(one[:0], span{len(name) + 1, len(e)})); out != nil {
			return out, true
		}
		return e, false
	}
	return r.Bytes(e)
}

func isWholeMarker(v []byte) bool { return len(v) == markerLen && isMarker(v) }
