#!/usr/bin/env bash
# bench/delete.sh — deleting one backup whose WAL clean-up covers 10,000 archived WALs, ours
# against Debian's Barman 3.4.0 barman-cloud-backup-delete, in the same run, on a loopback MinIO
# started on its own port (BENCH_S3_PORT, default 9320) and stopped at the end. Not a test: it
# prints figures: wall time, requests sent (counted by a pass-through test/faultproxy in front of
# MinIO), WALs deleted and left behind. A 1,000-WAL catalog is measured too: Barman 3.4 reads only
# the first page (1000 keys) of an S3 listing, so on 10,000 WALs it deletes at most 1000 and
# leaves the rest for ever; 1,000 is where both do the same work.
#
#   bench/delete.sh [N...]       # default: 10000 1000; BENCH_ROUNDS rounds each (default 3), medians
set -euo pipefail
cd "$(dirname "$0")/.."
export S3_PORT="${BENCH_S3_PORT:-9320}"
export TESTENV_STATE="${BENCH_STATE:-/tmp/barman-cloud-bench-delete}"
export PATH="$PATH:/usr/local/go/bin"
ns=("$@")
((${#ns[@]})) || ns=(10000 1000)

mkdir -p "$TESTENV_STATE"
trap 'TESTENV_DIR="$TESTENV_STATE/s3-$S3_PORT" testenv/start-s3.sh stop "$S3_PORT" >/dev/null 2>&1 || true; rm -rf "$TESTENV_STATE/s3-$S3_PORT/data"' EXIT
eval "$(TESTENV_DIR="$TESTENV_STATE/s3-$S3_PORT" testenv/start-s3.sh "$S3_PORT")"
eval "$(testenv/install-barman.sh)"

BIN="$TESTENV_STATE/bin"
mkdir -p "$BIN"
# Built as released (goreleaser.yaml): static, stripped.
CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs -ldflags "-s -w" -o "$BIN/barman-cloud" ./cmd/barman-cloud
ln -sf barman-cloud "$BIN/barman-cloud-backup-delete"
go build -o "$BIN/deletebench" ./bench/deletebench
args=()
for n in "${ns[@]}"; do args+=(-n "$n"); done
"$BIN/deletebench" -rounds "${BENCH_ROUNDS:-3}" -ours "$BIN/barman-cloud-backup-delete" -barman /usr/bin/barman-cloud-backup-delete "${args[@]}"
