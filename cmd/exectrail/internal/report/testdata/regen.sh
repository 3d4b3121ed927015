#!/bin/sh
# Regenerates the record logs the golden tests read, by running the real
# exectrail on small jobs with each backend. Pids and times change every
# time; the golden files mask them, so after
#   testdata/regen.sh && go test ./cmd/exectrail/internal/report -update
# `git diff testdata/golden` shows only what changed in structure.
#
# Run from the repository root, as the user CI runs as (root here: the
# fixtures say uid 0).
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
(cd "$root" && go build -o bin/exectrail ./cmd/exectrail)
et=$root/bin/exectrail
out=$root/cmd/exectrail/internal/report/testdata
cd /tmp
# A fixed PATH: the shell and env try its directories in turn, and each
# try is a record.
export PATH=/usr/local/bin:/usr/bin:/bin
for b in notify ptrace; do
	# The README's classic example.
	"$et" run --backend $b -o "$out/classic-$b.jsonl" -- \
		sh -c 'cd /bin && ./ls >/dev/null' || true
	# A shell job: a pipeline, a failed exec, a subshell, an exec chain
	# (env true), a process killed by a signal, a background job, a
	# non-zero exit.
	"$et" run --backend $b -o "$out/shell-$b.jsonl" -- \
		sh -c 'echo hi | cat >/dev/null; /nonexistent 2>/dev/null; (sleep 0.01; true); env true; sh -c "kill -KILL \$\$"; sleep 0.02 & wait; exit 3' || true
	# An orphan: sleep outlives its shell and is stopped by exectrail
	# (--orphans=kill) with SIGTERM.
	"$et" run --backend $b --kill-grace 1s -o "$out/orphan-$b.jsonl" -- \
		sh -c 'sleep 5 & sleep 0.05; exit 0' || true
	# A refusal.
	"$et" run --backend $b --deny '/usr/bin/id' -o "$out/deny-$b.jsonl" -- \
		sh -c 'id >/dev/null 2>&1; ls / >/dev/null; exit 0' 2>/dev/null || true
done
