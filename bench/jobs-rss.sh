#!/usr/bin/env bash
# bench/jobs-rss.sh — peak memory of wal-archive --jobs: what one archive_command call takes with
# --jobs 1, and what the background uploader takes with --jobs 2, 4 and 8, for each compression.
# Issue 11's bound: memory grows by at most one part buffer (5 MiB) per job. Not a test: it
# prints a table.
#
#   bench/jobs-rss.sh            # needs the test servers (scripts/testenv.sh up) for S3
#
# The uploader normally runs detached; here it runs in the foreground (its marker variable,
# BARMAN_CLOUD_WAL_ARCHIVE_UPLOADER=1, set by hand), so that /usr/bin/time sees its peak RSS
# (%M): it uploads every ready segment of a fresh pg_wal (testenv/make-wals.sh's 16 MiB
# segments, all marked ready) to the S3 server of the test environment, then ends after its
# idle time.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
WALS="${BENCH_WALS:-/tmp/barman-cloud-testenv/wals}"
testenv/make-wals.sh "$WALS" 8
: "${S3_ENDPOINT_URL:?run scripts/testenv.sh up and source its exports}"
STATE="${BENCH_STATE:-/tmp/barman-cloud-bench-jobs-rss}"
rm -rf "$STATE"
mkdir -p "$STATE/bin"
CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs -ldflags "-s -w" -o "$STATE/bin/barman-cloud" ./cmd/barman-cloud
ln -sf barman-cloud "$STATE/bin/barman-cloud-wal-archive"
TOOL="$STATE/bin/barman-cloud-wal-archive"
SEGS=("$WALS"/[0-9A-F]*)
URL="s3://$S3_BUCKET/jobs-rss-$$"

# fresh — a pg_wal with every segment ready; prints the first segment's path.
fresh() {
  rm -rf "$STATE/pg_wal"
  mkdir -p "$STATE/pg_wal/archive_status"
  local f
  for f in "${SEGS[@]}"; do
    cp "$f" "$STATE/pg_wal/"
    : >"$STATE/pg_wal/archive_status/${f##*/}.ready"
  done
  echo "$STATE/pg_wal/${SEGS[0]##*/}"
}
# rss ARGS... — peak RSS in MiB of one run of the tool with ARGS.
rss() {
  /usr/bin/time -f '%M' -o "$STATE/time.out" "$@" >/dev/null 2>"$STATE/err" || { cat "$STATE/err" >&2; exit 1; }
  awk '{printf "%.1f", $1 / 1024}' "$STATE/time.out"
}

echo "Peak RSS (MiB), ${#SEGS[@]} ready segments of 16 MiB, S3 (MinIO) at $S3_ENDPOINT_URL."
echo
echo "| compression | one call, --jobs 1 | uploader --jobs 2 | --jobs 4 | --jobs 8 | growth per job (1 → 8) |"
echo "|---|---|---|---|---|---|"
for comp in ${BENCH_COMPS:-none gzip zstd lz4}; do
  flag=()
  [[ $comp != none ]] && flag=(--"$comp")
  first=$(fresh)
  one=$(rss "$TOOL" "${flag[@]}" --endpoint-url "$S3_ENDPOINT_URL" "$URL/$comp-1" pg "$first")
  row="| $comp | $one"
  for j in 2 4 8; do
    first=$(fresh)
    m=$(rss env BARMAN_CLOUD_WAL_ARCHIVE_UPLOADER=1 "$TOOL" --jobs "$j" "${flag[@]}" --endpoint-url "$S3_ENDPOINT_URL" "$URL/$comp-$j" pg "$first")
    row+=" | $m"
    last=$m
  done
  echo "$row | $(awk -v a="$one" -v b="$last" 'BEGIN{printf "%.1f", (b - a) / 7}') |"
done
rm -rf "$STATE"
