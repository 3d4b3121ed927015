// Package redact finds secrets in the strings exectrail writes — argv
// elements, paths, environment entries, a session's output — and replaces
// each with [REDACTED:xxxxxxxx], where xxxxxxxx is a keyed hash of the
// value (HMAC-SHA256, first four bytes): two records that carried the same
// secret show the same marker, and nobody without the key can test a guess.
//
// Detection is by value, not only by flag name:
//
//   - token formats, each anchored on its fixed prefix and checked for its
//     alphabet and length (GitHub, GitLab, Slack, AWS key ids, Google API
//     keys, Stripe, npm, PyPI, JWTs, PEM private-key blocks);
//   - URL userinfo passwords (scheme://user:SECRET@host);
//   - the values of Authorization, Proxy-Authorization, Cookie,
//     Set-Cookie, Private-Token, X-Api-Key and X-Auth-Token headers (an
//     Authorization scheme word such as Bearer is kept);
//   - assignments whose name looks secret (NAME=VALUE, NAME = VALUE,
//     "NAME": "VALUE"), the same name rule as for the environment;
//   - the exact values of the job's secret-named environment variables
//     (*TOKEN*, *SECRET*, *PASSW*, *KEY*, *CREDENTIAL*, and names given
//     with Options.EnvNames), each line of a multi-line value too;
//   - in an argv (Argv), the value after well-known secret flags
//     (--password VALUE, --token=VALUE, …) and the -p of tools where it
//     is unambiguous (mysql -pVALUE, docker login -p VALUE, sshpass,
//     redis-cli -a, curl -u USER:PASSWORD);
//   - extra regular expressions (Options.Patterns).
//
// Every fixed anchor and every environment value is one pattern of a
// single Aho–Corasick automaton over ASCII-case-folded bytes, so a string
// is read once whatever the number of detectors; each anchor found is then
// checked by its detector. Extra regular expressions are joined into one.
//
// Stream redacts a byte stream cut into arbitrary chunks (a terminal
// session): what could still be the start of a secret is held back until
// the next chunk tells.
//
// The package keeps to the standard library, holds no global state, and
// must never write the key anywhere. A Redactor is immutable once built
// and safe for concurrent use; a Stream is not.
package redact
