// Package learn turns the logs of trusted runs into an allow policy
// (exectrail policy learn): one "allow" line for every executable and
// script interpreter that ran, exact unless a --normalize rule turns part
// of it into a glob, with a header saying where it came from. Under the
// policy everything else is refused, fileless programs included, unless a
// log shows them running.
//
// It reads logs through package runlog and keeps one entry per distinct
// program. It must not import package supervisor (cgo); the policy it
// writes is checked by the tests against supervisor's parser.
package learn
