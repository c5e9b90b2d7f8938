#!/usr/bin/env bash
# demo.sh — the main job on the embedded default: archive a WAL segment into a
# file:// store with bin/barman-cloud-wal-archive (built by `make build`) and show where
# it went. The segment is made here: a 16 MiB file with the first page header
# PostgreSQL 15 writes (timeline 1, segment 1), so the tool's checks accept it.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d /tmp/barman-cloud-demo.XXXXXX)"
mkdir -p "$work/pg_wal" "$work/archive"
seg="$work/pg_wal/000000010000000000000001"
# XLogLongPageHeaderData: magic 0xD110 (PG15), info XLP_LONG_HEADER, timeline 1,
# page address 0/1000000, system id, segment size 16 MiB, block size 8 KiB.
printf '\x10\xd1\x02\x00\x01\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00' >"$seg"
printf '\x00\x00\x00\x00\x00\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00' >>"$seg"
printf '\x00\x00\x00\x01\x00\x20\x00\x00' >>"$seg"
truncate -s 16M "$seg"
set -x
bin/barman-cloud-wal-archive -v --zstd "file://$work/archive" demo "$seg"
bin/barman-cloud-wal-archive -v --zstd "file://$work/archive" demo "$seg"
{ set +x; } 2>/dev/null
echo "== everything under file://$work/archive (the objects alone; their metadata is in"
echo "   extended attributes: getfattr -d -m user.barman-cloud FILE):"
cd "$work/archive" && find . -type f -exec ls -l {} +
