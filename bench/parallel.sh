#!/usr/bin/env bash
# bench/parallel.sh — how fast PostgreSQL 15 drains a backlog of ready WAL segments through
# barman-cloud-wal-archive --jobs 1, 4 and 8, against the storage's ceiling measured in the same
# run (bench/s3bare: one process PUTting the same segments at the same concurrency) and against
# Barman 3.4.0's barman-cloud-wal-archive; then how fast that WAL comes back through
# restore_command with and without --prefetch, against bare GETs. Not a test: it prints figures.
#
#   bench/parallel.sh [SEGMENTS]     # backlog size, default 60 segments of 16 MiB
#
# The backlog is made once: a PostgreSQL 15 cluster whose archive_command is held shut (a gate
# file) writes SEGMENTS full segments (inserts, then pg_switch_wal); its data directory is kept
# as a template. Each drain starts a copy of it, opens the gate, reloads, and times until
# pg_stat_archiver has archived the last segment and nothing is ready. Archiving is without
# compression, so the storage's work is the same bytes for every tool.
#
# The restore side runs restore_command's calls one after the other, a new process per segment
# as PostgreSQL makes them, into a pg_wal directory (no replay: what is timed is getting the
# WAL). With --prefetch N a call returns at once and a detached prefetcher fetches the next
# N-1 segments; the loop ends when every segment was served and verified.
#
# MinIO runs on its own port (BENCH_S3_PORT, default 9310) and is stopped at the end. Needs
# ~5 × SEGMENTS × 16 MiB free in /tmp (BENCH_STATE). Absolute times on a shared machine are
# noisy: read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
SEGMENTS="${1:-60}"
export S3_PORT="${BENCH_S3_PORT:-9310}"
export TESTENV_STATE="${BENCH_STATE:-/tmp/barman-cloud-bench-parallel}"
export PATH="$PATH:/usr/local/go/bin"
PGBIN=/usr/lib/postgresql/15/bin
log() { echo "bench: $*" >&2; }
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

mkdir -p "$TESTENV_STATE"
chmod 0755 "$TESTENV_STATE"
PG="$TESTENV_STATE/pg"
cleanup() {
  [[ -d $PG/data ]] && as_pg "$PGBIN/pg_ctl" -D "$PG/data" -m immediate stop >/dev/null 2>&1 || true
  TESTENV_DIR="$TESTENV_STATE/s3-$S3_PORT" testenv/start-s3.sh stop "$S3_PORT" >/dev/null 2>&1 || true
  rm -rf "$TESTENV_STATE/s3-$S3_PORT/data" "$PG" "$TESTENV_STATE/template" "$TESTENV_STATE/restore"
}
trap cleanup EXIT
eval "$(TESTENV_DIR="$TESTENV_STATE/s3-$S3_PORT" testenv/start-s3.sh "$S3_PORT")"
eval "$(testenv/install-barman.sh)"

BIN="$TESTENV_STATE/bin"
mkdir -p "$BIN"
CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs -ldflags "-s -w" -o "$BIN/barman-cloud" ./cmd/barman-cloud
go build -o "$BIN/s3bare" ./bench/s3bare
for t in wal-archive wal-restore; do ln -sf barman-cloud "$BIN/barman-cloud-$t"; done
chmod -R a+rx "$BIN"
URL="s3://$S3_BUCKET"
RUN="par-$$"
ENVS=(AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" AWS_REGION="$AWS_REGION"
  AWS_DEFAULT_REGION="$AWS_REGION" AWS_EC2_METADATA_DISABLED=true)

# 1. The backlog.
rm -rf "$PG" "$TESTENV_STATE/template"
mkdir -p "$PG"
[[ $(id -u) == 0 ]] && chown postgres: "$PG"
as_pg "$PGBIN/initdb" -D "$PG/data" -A trust -U postgres --no-sync >/dev/null
cat >>"$PG/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$PG'
fsync = off
max_wal_size = '4GB'
checkpoint_timeout = '1h'
archive_mode = on
archive_command = 'sh $PG/archive.sh %p'
CONF
pg() { as_pg env "${ENVS[@]}" "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/server.log" -w "$@" >/dev/null; }
psql() { as_pg "$PGBIN/psql" -X -h "$PG" -U postgres -qAt -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
# While the backlog is written, archiving fails (and the archiver backs off).
echo "exit 1" >"$PG/archive.sh"
chmod a+r "$PG/archive.sh"
pg start
psql "create table t (id int, pad text)"
log "writing $SEGMENTS segments"
first=""
for ((i = 0; i < SEGMENTS; i++)); do
  # ~15 MB of WAL, then a switch: full segments of real records.
  name=$(psql "insert into t select g, repeat('x', 100) from generate_series(1, 90000) g; select pg_walfile_name(pg_switch_wal())")
  [[ -z $first ]] && first=$name
done
last=$name
pg -m fast stop
ready=$(ls "$PG/data/pg_wal/archive_status" | grep -c '\.ready$' || true)
log "backlog: $ready ready files, $first .. $last"
cp -a "$PG/data" "$TESTENV_STATE/template"
SEGFILES=()
while read -r f; do SEGFILES+=("$TESTENV_STATE/template/pg_wal/$f"); done < <(ls "$TESTENV_STATE/template/pg_wal/archive_status" | sed -n 's/\.ready$//p' | grep -E '^[0-9A-F]{24}$' | sort)
NSEG=${#SEGFILES[@]}

# drain NAME COMMAND — a fresh copy of the backlog, drained through COMMAND (to which the
# archive_command adds %p); prints seconds.
drain() {
  local name=$1 cmd=$2
  as_pg "$PGBIN/pg_ctl" -D "$PG/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG/data" "$PG/gate"
  cp -a "$TESTENV_STATE/template" "$PG/data"
  # The first call waits at the gate: the archiver is busy in it, not backing off after a
  # failure (its retry sleeps cannot be cut short), when the clock starts.
  printf 'while [ ! -f %s/gate ]; do sleep 0.01; done\nexec %s "$1"\n' "$PG" "$cmd" >"$PG/archive.sh"
  chmod a+r "$PG/archive.sh"
  pg start
  local t0 t1 n failed0
  failed0=$(psql "select failed_count from pg_stat_archiver")
  sleep 0.5
  t0=$(date +%s.%N)
  touch "$PG/gate"
  while :; do
    n=$(psql "select count(*) from pg_ls_archive_statusdir() where name like '%.ready'")
    [[ $n == 0 ]] && break
    sleep 0.05
  done
  t1=$(date +%s.%N)
  failed=$(psql "select failed_count from pg_stat_archiver")
  pg -m immediate stop
  [[ $failed == "$failed0" ]] || log "$name: archive_command failed $((failed - failed0)) times"
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}'
}

results="$TESTENV_STATE/results.md"
{
  echo "Backlog: $NSEG ready segments of 16 MiB (PostgreSQL 15, no compression), loopback MinIO."
  echo
  echo "| archiving | jobs | drain s | segments/s | bare PUTs s (same concurrency) | % of bare |"
  echo "|---|---|---|---|---|---|"
} >"$results"
for jobs in 1 4 8; do
  bare=$("$BIN/s3bare" -endpoint "$S3_ENDPOINT_URL" -bucket "$S3_BUCKET" -prefix "$RUN-bare-$jobs" -c "$jobs" "${SEGFILES[@]}")
  s=$(drain "jobs$jobs" "$BIN/barman-cloud-wal-archive --jobs $jobs --endpoint-url $S3_ENDPOINT_URL $URL/$RUN-ours-$jobs pg")
  printf '| barman-cloud --jobs %s | %s | %s | %.1f | %s | %.0f%% |\n' "$jobs" "$jobs" "$s" "$(awk -v n="$NSEG" -v s="$s" 'BEGIN{print n/s}')" "$bare" "$(awk -v b="$bare" -v s="$s" 'BEGIN{print 100*b/s}')" >>"$results"
  log "jobs $jobs: drain $s s, bare PUTs $bare s"
done
bare=$("$BIN/s3bare" -endpoint "$S3_ENDPOINT_URL" -bucket "$S3_BUCKET" -prefix "$RUN-bare-py" -c 1 "${SEGFILES[@]}")
s=$(drain barman "/usr/bin/barman-cloud-wal-archive --endpoint-url $S3_ENDPOINT_URL $URL/$RUN-barman pg")
printf '| Barman 3.4.0 | 1 | %s | %.1f | %s | %.0f%% |\n' "$s" "$(awk -v n="$NSEG" -v s="$s" 'BEGIN{print n/s}')" "$bare" "$(awk -v b="$bare" -v s="$s" 'BEGIN{print 100*b/s}')" >>"$results"
log "Barman: drain $s s, bare PUTs $bare s"

# 2. Getting that WAL back, as restore_command does: one call per segment, in order.
restore_loop() {
  local dir=$1; shift
  rm -rf "$dir"
  mkdir -p "$dir/pg_wal"
  local t0 t1 f
  t0=$(date +%s.%N)
  for f in "${SEGFILES[@]}"; do
    # Not compared here (that would be timed): both tools verify what they serve, ours against
    # the SHA-256 recorded at archive time; the e2e tests compare bytes.
    "$@" "$(basename "$f")" "$dir/pg_wal/RECOVERYXLOG" 2>>"$dir/err" || { log "restore of $(basename "$f") failed"; cat "$dir/err" >&2; exit 1; }
  done
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}'
}
{
  echo
  echo "| restore_command loop | prefetch | seconds | segments/s | bare GETs s (same concurrency) | % of bare |"
  echo "|---|---|---|---|---|---|"
} >>"$results"
for p in 0 4 8; do
  c=$((p > 1 ? p - 1 : 1))
  bare=$("$BIN/s3bare" -op get -endpoint "$S3_ENDPOINT_URL" -bucket "$S3_BUCKET" -prefix "$RUN-bare-1" -c "$c" "${SEGFILES[@]}")
  s=$(restore_loop "$TESTENV_STATE/restore" "$BIN/barman-cloud-wal-restore" --prefetch "$p" --endpoint-url "$S3_ENDPOINT_URL" "$URL/$RUN-ours-4" pg)
  printf '| barman-cloud --prefetch %s | %s | %s | %.1f | %s (%s at once) | %.0f%% |\n' "$p" "$p" "$s" "$(awk -v n="$NSEG" -v s="$s" 'BEGIN{print n/s}')" "$bare" "$c" "$(awk -v b="$bare" -v s="$s" 'BEGIN{print 100*b/s}')" >>"$results"
  log "restore prefetch $p: $s s, bare GETs $bare s"
done
bare=$("$BIN/s3bare" -op get -endpoint "$S3_ENDPOINT_URL" -bucket "$S3_BUCKET" -prefix "$RUN-bare-1" -c 1 "${SEGFILES[@]}")
s=$(restore_loop "$TESTENV_STATE/restore" /usr/bin/barman-cloud-wal-restore --endpoint-url "$S3_ENDPOINT_URL" "$URL/$RUN-barman" pg)
printf '| Barman 3.4.0 | – | %s | %.1f | %s (1 at once) | %.0f%% |\n' "$s" "$(awk -v n="$NSEG" -v s="$s" 'BEGIN{print n/s}')" "$bare" "$(awk -v b="$bare" -v s="$s" 'BEGIN{print 100*b/s}')" >>"$results"
log "restore Barman: $s s"
cat "$results"
