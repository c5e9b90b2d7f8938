#!/usr/bin/env bash
# bench/backup.sh — barman-cloud-backup (Go) against Debian's Barman 3.4.0 barman-cloud-backup, in
# the same run, on the same pgbench cluster, to the same loopback MinIO. Not a test: it prints
# figures.
#
#   bench/backup.sh [SCALE]     # pgbench -i -s SCALE (default 100, about 1.5 GB); needs about
#                               # four times the cluster's size free under BENCH_STATE
#   BENCH_OURS_ONLY=1 bench/backup.sh 400   # ours alone, for the peak RSS of a larger cluster
#
# Plain and gzip, each at the default -J and at -J 4: one backup per tool and case, the two tools
# alternating which goes first. It prints wall time, MB/s (the cluster's size, sum of
# pg_database_size, over the wall time), peak RSS (/usr/bin/time %M) and the ratios
# Barman/ours, and the storage's ceiling in that round: the same number of bytes uploaded from
# memory with as many parts in flight (bench/s3ceiling), which no backup can beat. PostgreSQL 15 runs as user postgres in BENCH_STATE, archiving with our
# wal-archive; MinIO runs on its own port (BENCH_S3_PORT, default 9300), stopped at the end.
# Absolute times on shared machines are noisy: read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${1:-100}"
export S3_PORT="${BENCH_S3_PORT:-9300}"
STATE="${BENCH_STATE:-/tmp/barman-cloud-bench}"
export PATH="$PATH:/usr/local/go/bin"
PGBIN=/usr/lib/postgresql/15/bin
PG="$STATE/pg"
log() { echo "bench: $*" >&2; }

# PostgreSQL refuses to run as root: as root, its programs run as postgres.
as_pg() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

mkdir -p "$STATE"
chmod 755 "$STATE"
cleanup() {
  [[ -f $PG/data/postmaster.pid ]] && as_pg "$PGBIN/pg_ctl" -D "$PG/data" -m immediate -w stop >/dev/null 2>&1 || true
  TESTENV_DIR="$STATE/s3-$S3_PORT" testenv/start-s3.sh stop "$S3_PORT" >/dev/null 2>&1 || true
  rm -rf "$STATE/s3-$S3_PORT/data" "$PG"
}
trap cleanup EXIT

exports="$(TESTENV_DIR="$STATE/s3-$S3_PORT" testenv/start-s3.sh "$S3_PORT")"
eval "$exports"
exports="$(testenv/install-barman.sh)"
eval "$exports"

BIN="$STATE/bin"
mkdir -p "$BIN"
# Built as released (goreleaser.yaml): static, stripped, without urfave/cli's doc generators.
CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs -ldflags "-s -w" -o "$BIN/barman-cloud" ./cmd/barman-cloud
for t in wal-archive backup; do ln -sf barman-cloud "$BIN/barman-cloud-$t"; done
# What MinIO takes in through the same part uploads, with nothing to read or compress.
go build -o "$BIN/s3ceiling" ./bench/s3ceiling
OURS="$BIN/barman-cloud-backup"
PY=/usr/bin/barman-cloud-backup
URL="s3://$S3_BUCKET/bench-backup-$$"

log "PostgreSQL 15, pgbench -i -s $SCALE"
rm -rf "$PG"
mkdir -p "$PG"
[[ $(id -u) == 0 ]] && chown postgres "$PG"
as_pg "$PGBIN/initdb" -D "$PG/data" -A trust -U postgres --no-sync >/dev/null
cat >>"$PG/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PG'
fsync = off
max_wal_size = '4GB'
archive_mode = on
archive_command = 'AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY AWS_REGION=$AWS_REGION $BIN/barman-cloud-wal-archive --gzip --endpoint-url $S3_ENDPOINT_URL $URL pg %p'
EOF
as_pg "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/server.log" -w start >/dev/null
as_pg "$PGBIN/pgbench" -h "$PG" -U postgres -i -s "$SCALE" -q postgres 2>&1 | tail -1 >&2
SIZE=$(as_pg "$PGBIN/psql" -h "$PG" -U postgres -XAtc "select sum(pg_database_size(oid)) from pg_database" postgres)
log "cluster: $((SIZE >> 20)) MiB"

# measure NAME ARGS... — one backup; prints "<wall seconds> <max RSS KB>".
measure() {
  local who=$1
  shift
  local st=0
  /usr/bin/time -f '%e %M' -o "$STATE/time.out" "$@" >/dev/null 2>"$STATE/cmd.err" || st=$?
  if [[ $st != 0 ]]; then
    log "$who failed (exit $st):"
    cat "$STATE/cmd.err" >&2
    exit 1
  fi
  tail -1 "$STATE/time.out"
}
mbs() { awk -v s="$SIZE" -v t="$1" 'BEGIN {printf "%.0f", s / 1e6 / t}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

results="$(mktemp)"
echo "| backup | -J | storage ceiling MB/s | Barman 3.4.0 s | MB/s | peak RSS MiB | ours s | MB/s | peak RSS MiB | speed ours/Barman | RSS Barman/ours |" >"$results"
echo "|---|---|---|---|---|---|---|---|---|---|---|" >>"$results"
round=0
for comp in plain gzip; do
  flag=()
  [[ $comp == gzip ]] && flag=(--gzip)
  for jobs in 2 4; do
    common=("${flag[@]}" -J "$jobs" --immediate-checkpoint -h "$PG" -U postgres --endpoint-url "$S3_ENDPOINT_URL")
    # The ceiling: the cluster's size uploaded from memory, -J parts in flight, in this round.
    read -r _ ceil < <("$BIN/s3ceiling" -endpoint "$S3_ENDPOINT_URL" -jobs "$jobs" -size "$SIZE" "$URL/ceiling-$comp-$jobs")
    order="py ours"
    ((round++ % 2)) && order="ours py"
    pt=- pm=-
    [[ ${BENCH_OURS_ONLY:-0} == 1 ]] && order=ours
    for who in $order; do
      if [[ $who == ours ]]; then
        read -r ot om < <(measure ours "$OURS" "${common[@]}" "$URL" "ours-$comp-$jobs")
      else
        read -r pt pm < <(measure Barman "$PY" "${common[@]}" "$URL" "py-$comp-$jobs")
      fi
    done
    if [[ $pt == - ]]; then
      speed=- rss=- pmbs=- pmib=-
    else
      speed=$(awk -v p="$pt" -v o="$ot" 'BEGIN {printf "%.1f×", p / o}')
      rss=$(awk -v p="$pm" -v o="$om" 'BEGIN {printf "%.1f×", p / o}')
      pmbs=$(mbs "$pt") pmib=$(mib "$pm")
    fi
    log "$comp -J $jobs: storage ceiling $ceil MB/s; Barman $pt s ($pmbs MB/s, $pmib MiB), ours $ot s ($(mbs "$ot") MB/s, $(mib "$om") MiB): $speed"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$comp" "$jobs" "$ceil" "$pt" "$pmbs" "$pmib" \
      "$ot" "$(mbs "$ot")" "$(mib "$om")" "$speed" "$rss" >>"$results"
  done
done

echo
echo "barman-cloud $("$BIN/barman-cloud" --version | awk '{print $2}') vs $("$PY" --version 2>&1), pgbench -s $SCALE ($((SIZE >> 20)) MiB), MinIO on 127.0.0.1, $(nproc) cores, $(date -u +%Y-%m-%d)"
cat "$results"
rm -f "$results"
