#!/usr/bin/env bash
# fuzz.sh [FUZZTIME] — run every fuzz target of the module (each `func FuzzX(f *testing.F)` in a
# _test.go file outside test/) for FUZZTIME (default 8s; a duration or a count such as 500x).
# A failing input is written to the package's testdata/fuzz/FuzzX/ and makes the script fail:
# commit it with its fix, and it runs as a regression test with `go test` from then on.
#   scripts/fuzz.sh            # CI: a few seconds each
#   scripts/fuzz.sh 10m        # a longer hunt
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-8s}"
status=0
while read -r file; do
  dir="./$(dirname "$file")"
  for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$file"); do
    start=$(date +%s)
    # -fuzzminimizetime bounds the minimisation of each new input, which by default can take a
    # minute and would eat a short run.
    if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime=3s "$dir" >"${TMPDIR:-/tmp}/fuzz-$target.log" 2>&1; then
      cat "${TMPDIR:-/tmp}/fuzz-$target.log" >&2
      echo "fuzz: $dir $target FAILED" >&2
      status=1
      continue
    fi
    echo "fuzz: $dir $target ok in $(($(date +%s) - start))s ($(grep -o 'execs: [0-9]*' "${TMPDIR:-/tmp}/fuzz-$target.log" | tail -1))" >&2
  done
done < <(git ls-files '*_test.go' | grep -v '^test/' | xargs grep -l '^func Fuzz[A-Za-z0-9_]*(f \*testing\.F)' | sort)
exit "$status"
