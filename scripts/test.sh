#!/usr/bin/env bash
# test.sh — the whole test suite, as CI runs it (.ci/run) on a fresh Debian machine with Go:
#  1. vet, unit and CLI tests (no servers), a macOS build, then every fuzz target for a few
#     seconds (FUZZTIME);
#  1b. the packaging test: goreleaser snapshot, the .deb in a throwaway root (no servers);
#  2. the test environment: real storage servers on 127.0.0.1, Debian's Barman client,
#     real WAL files (scripts/testenv.sh), stopped again at the end;
#  3. integration, compatibility and end-to-end tests against them (build tag "integration").
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
step() { echo "== $* ($(date +%T))" >&2; }

step "vet, unit and CLI tests"
go vet ./...
go vet -tags integration ./...
go test -count=1 ./...
# Releases also build for macOS (goreleaser.yaml): keep the code building there.
GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go build -o /dev/null ./cmd/barman-cloud

step "fuzzing, briefly (scripts/fuzz.sh)"
scripts/fuzz.sh "${FUZZTIME:-6s}"

step "packaging test"
scripts/package-test.sh

step "test environment"
trap 'scripts/testenv.sh down' EXIT
# Not eval "$(…)" directly: that would swallow a failure of the set-up.
exports="$(scripts/testenv.sh up)"
eval "$exports"

step "integration, compatibility and end-to-end tests"
# shared/pg keeps its PostgreSQL tests next to the session internals they inspect.
go test -tags integration -count=1 -timeout 75m ./test/... ./shared/pg/
step "all tests passed"
