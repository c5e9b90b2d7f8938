#!/usr/bin/env bash
# testenv.sh up|down — the real servers the integration tests use, on 127.0.0.1 only:
# MinIO (S3, with a KMS key so SSE works), Azurite (Azure Blob Storage), fake-gcs-server (GCS),
# plus Debian's Barman client (barman-cli-cloud), the decoders the tests check objects with
# (gzip, bzip2, xz, zstd, lz4, curl), PostgreSQL 15 (run by the end-to-end tests) and a set of
# real PostgreSQL WAL files.
#
#   eval "$(scripts/testenv.sh up)"    # install what is missing, start, print exports
#   scripts/testenv.sh down            # stop the servers "up" started
#
# Ports and state can be moved so that several runs coexist:
#   S3_PORT (9000, MinIO also takes S3_PORT+1), AZURE_PORT (10000), GCS_PORT (4443),
#   TESTENV_STATE (/tmp/barman-cloud-testenv), WALS_DIR ($TESTENV_STATE/wals).
# stdout carries only `export` lines; progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
S3_PORT="${S3_PORT:-9000}"
AZURE_PORT="${AZURE_PORT:-10000}"
GCS_PORT="${GCS_PORT:-4443}"
STATE="${TESTENV_STATE:-/tmp/barman-cloud-testenv}"
WALS_DIR="${WALS_DIR:-$STATE/wals}"
log() { echo "testenv: $*" >&2; }

case "${1:-}" in
up)
  mkdir -p "$STATE"
  # Each start script installs its pinned server on first use (cached in
  # ~/.cache/barman-testenv) and prints exports; they run one after another
  # because MinIO's first build alone keeps both cores busy.
  TESTENV_DIR="$STATE/s3-$S3_PORT" "$here/testenv/start-s3.sh" "$S3_PORT"
  TESTENV_DIR="$STATE/azurite-$AZURE_PORT" "$here/testenv/start-azurite.sh" "$AZURE_PORT"
  TESTENV_DIR="$STATE/gcs-$GCS_PORT" "$here/testenv/start-gcs.sh" "$GCS_PORT"
  "$here/testenv/install-barman.sh"
  "$here/testenv/install-decoders.sh"
  # PostgreSQL 15 and user postgres: make-wals.sh and the end-to-end tests (test/e2e) run it,
  # even when the WAL files are already there.
  "$here/testenv/install-postgres.sh"
  "$here/testenv/make-wals.sh" "$WALS_DIR" 4 >&2
  printf 'export WALS_DIR=%q\n' "$WALS_DIR"
  ;;
down)
  TESTENV_DIR="$STATE/s3-$S3_PORT" "$here/testenv/start-s3.sh" stop "$S3_PORT" || true
  TESTENV_DIR="$STATE/azurite-$AZURE_PORT" "$here/testenv/start-azurite.sh" stop "$AZURE_PORT" || true
  TESTENV_DIR="$STATE/gcs-$GCS_PORT" "$here/testenv/start-gcs.sh" stop "$GCS_PORT" || true
  ;;
*)
  echo "usage: $0 up|down" >&2
  exit 2
  ;;
esac
