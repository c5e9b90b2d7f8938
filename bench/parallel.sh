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
# archive_status has no .ready file left (watched with a glob every 10 ms: no process per poll,
# so the measurement takes no CPU from the archiver); pg_stat_archiver's failed_count is
# checked once at the end. Archiving is without compression, so the storage's work is the same
# bytes for every tool.
#
# The restore side, twice:
# - the restore_command loop: restore_command's calls one after the other, a new process per
#   segment as PostgreSQL makes them, into a pg_wal directory, no replay (what is timed is only
#   getting the WAL); ours reads the --jobs 4 drain's archive, Barman's its own. With
#   --prefetch N a call returns at once and a detached prefetcher fetches the next N-1
#   segments.
# - a real recovery, every variant on the --jobs 4 drain's archive: before the backlog is written the cluster is stopped (a shutdown
#   checkpoint) and copied, without its WAL, as a base backup, so that recovering it replays
#   every backlog segment. Each variant starts a fresh copy of it with recovery.signal and its
#   restore_command, no recovery target: PostgreSQL replays until the archive has no next
#   segment, then promotes. Timed from pg_ctl start until the postmaster reports it accepts
#   connections as a primary (postmaster.pid's status line, read every 10 ms without a
#   process); then pg_is_in_recovery() and the table's row count are checked, so that a
#   variant that lost WAL cannot post a time. The floor is restore_command = cp from a local
#   directory (no storage); the storage's ceiling is bench/s3bare -op get1 (one process per
#   call that only GETs the object into %p). BENCH_ROUNDS rounds (default 3) of every variant
#   but Barman's, one after the other; the table gives the median and each round.
#
# Every timed run starts after a sync: with fsync off, the kernel's writeback of what ran
# before (copies of the data directory, the previous run) would otherwise land in the next.
#
# BENCH_DRAINS_ONLY=1 stops after the drains. BENCH_PIN=1 puts MinIO on CPU 1 and the rest
# (PostgreSQL, the tools, s3bare) on CPU 0: the storage's CPU apart from the client's, as
# with a storage on other machines (needs 2 CPUs).
#
# MinIO runs on its own port (BENCH_S3_PORT, default 9310) and is stopped at the end. Needs
# ~12 × SEGMENTS × 16 MiB free in /tmp (BENCH_STATE). Server logs of the recoveries are kept
# in BENCH_STATE/logs. Absolute times on a shared machine are
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
  rm -rf "$TESTENV_STATE/s3-$S3_PORT/data" "$PG" "$TESTENV_STATE/template" "$TESTENV_STATE/restore" \
    "$TESTENV_STATE/base" "$TESTENV_STATE/walcopy"
}
trap cleanup EXIT
eval "$(TESTENV_DIR="$TESTENV_STATE/s3-$S3_PORT" testenv/start-s3.sh "$S3_PORT")"
if [[ ${BENCH_PIN:-} == 1 ]]; then
  # Storage elsewhere: MinIO's threads on CPU 1, this script and everything it starts
  # (PostgreSQL, the tools, s3bare) on CPU 0, so that client-side CPU (a process per call,
  # hashing) no longer takes from the storage's, as with a storage on other machines.
  for pid in $(pgrep -f "s3-$S3_PORT/data"); do taskset -a -p -c 1 "$pid" >/dev/null; done
  taskset -p -c 0 $$ >/dev/null
  log "pinned: MinIO on CPU 1, the rest on CPU 0"
fi
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

# Waiting without a process per poll: a read that times out on a pipe nobody writes to.
exec {SNOOZE_FD}<> <(:)
snooze() { read -r -t "$1" -u "$SNOOZE_FD" _ || true; }
shopt -s nullglob
# bench/s3bare ARGS — the storage's ceiling, from the same starting point as the tools' runs.
bare() { sync; "$BIN/s3bare" "$@"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }
# cpu — the machine's CPU time so far (/proc/stat, all cores, in ticks): "busy total".
cpu() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit}' /proc/stat; }
# busy "B0 T0" "B1 T1" — the share of the machine's CPU (both cores) busy between two cpu readings.
busy() { awk -v a="$1" -v b="$2" 'BEGIN {split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2])}'; }
# barecpu ARGS — bare, printing "seconds busy%".
barecpu() {
  sync
  local c0 c1 s
  c0=$(cpu)
  s=$("$BIN/s3bare" "$@")
  c1=$(cpu)
  echo "$s $(busy "$c0" "$c1")"
}

# 1. The backlog.
rm -rf "$PG" "$TESTENV_STATE/template" "$TESTENV_STATE/base"
mkdir -p "$PG"
[[ $(id -u) == 0 ]] && chown postgres: "$PG"
as_pg "$PGBIN/initdb" -D "$PG/data" -A trust -U postgres --no-sync >/dev/null
cat >>"$PG/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$PG'
fsync = off
max_wal_size = '4GB'
checkpoint_timeout = '1h'
archive_mode = off
archive_command = 'sh $PG/archive.sh %p'
CONF
pg() { as_pg env "${ENVS[@]}" "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/server.log" -w "$@" >/dev/null; }
psql() { as_pg "$PGBIN/psql" -X -h "$PG" -U postgres -qAt -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
# While the backlog is written, archiving fails (and the archiver backs off).
echo "exit 1" >"$PG/archive.sh"
chmod a+r "$PG/archive.sh"
pg start
psql "create table t (id int, pad text)"
# The base backup for the recoveries: the stopped cluster (its shutdown checkpoint is the
# recovery's start), without its WAL, which the backlog's first segment will hold. Archiving
# is turned on only now: with it on, the shutdown would first switch to a new segment, and
# the backlog's first segment would not be the one the recovery starts in.
pg -m fast stop
cp -a "$PG/data" "$TESTENV_STATE/base"
rm -f "$TESTENV_STATE/base/pg_wal/"[0-9A-F]* "$TESTENV_STATE/base/pg_wal/archive_status/"*
echo "archive_mode = on" >>"$PG/data/postgresql.conf"
pg start
log "writing $SEGMENTS segments"
first=""
for ((i = 0; i < SEGMENTS; i++)); do
  # ~15 MB of WAL, then a switch: full segments of real records.
  name=$(psql "insert into t select g, repeat('x', 100) from generate_series(1, 90000) g; select pg_walfile_name(pg_switch_wal())")
  [[ -z $first ]] && first=$name
done
last=$name
ROWS=$(psql "select count(*) from t")
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
  sync # as in recover: no writeback of the copy (or of the previous drain) in the timing
  pg start
  local t0 t1 c0 c1 failed0 failed ready
  failed0=$(psql "select failed_count from pg_stat_archiver")
  sleep 0.5
  t0=$EPOCHREALTIME
  c0=$(cpu)
  touch "$PG/gate"
  while :; do
    ready=("$PG/data/pg_wal/archive_status/"*.ready)
    ((${#ready[@]} == 0)) && break
    snooze 0.01
  done
  t1=$EPOCHREALTIME
  c1=$(cpu)
  failed=$(psql "select failed_count from pg_stat_archiver")
  pg -m immediate stop
  [[ $failed == "$failed0" ]] || log "$name: archive_command failed $((failed - failed0)) times"
  # --jobs' background uploader outlives the drain by its idle time: let it end (untimed), so
  # that it competes with nothing that follows.
  local l
  for l in "$PG/data"/pg_wal/barman-cloud/archived/.uploader-*; do
    [[ -e $l ]] && { flock -w 30 "$l" true || log "$name: an uploader still holds $l"; }
  done
  echo "$(elapsed "$t0" "$t1") $(busy "$c0" "$c1")"
}
median() { printf '%s\n' $1 | sort -n | awk '{a[NR] = $1} END {printf "%.2f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

results="$TESTENV_STATE/results.md"
# The drains, DROUNDS times each, round after round, each beside its bare PUTs; the table gives
# the medians. Barman 3.4.0 drains once (~40 s).
DROUNDS="${BENCH_DRAIN_ROUNDS:-3}"
declare -A DRAIN=() BARE=() DCPU=() BCPU=() RATIO=()
for ((round = 1; round <= DROUNDS; round++)); do
  for jobs in 1 4 8; do
    read -r b bc < <(barecpu -endpoint "$S3_ENDPOINT_URL" -bucket "$S3_BUCKET" -prefix "$RUN-bare-$jobs-$round" -c "$jobs" "${SEGFILES[@]}")
    read -r s sc < <(drain "jobs$jobs" "$BIN/barman-cloud-wal-archive --jobs $jobs --endpoint-url $S3_ENDPOINT_URL $URL/$RUN-ours-$jobs-$round pg")
    DRAIN[$jobs]+="${DRAIN[$jobs]:+ }$s"
    BARE[$jobs]+="${BARE[$jobs]:+ }$b"
    DCPU[$jobs]+="${DCPU[$jobs]:+ }$sc"
    RATIO[$jobs]+="${RATIO[$jobs]:+ }$(awk -v b="$b" -v s="$s" 'BEGIN{printf "%.1f", 100*b/s}')"
    BCPU[$jobs]+="${BCPU[$jobs]:+ }$bc"
    log "jobs $jobs, round $round: drain $s s (CPU $sc% busy), bare PUTs $b s (CPU $bc% busy)"
  done
done
{
  echo "Backlog: $NSEG ready segments of 16 MiB (PostgreSQL 15, no compression), loopback MinIO."
  echo "Medians of $DROUNDS rounds (Barman 3.4.0: one); % of bare is the median of each round's drain"
  echo "beside the bare PUTs run just before it. CPU: share of the machine's two cores busy"
  echo "(/proc/stat) while the drain or the bare PUTs ran: MinIO, PostgreSQL and the client together."
  echo
  echo "| archiving | jobs | drain s | segments/s | bare PUTs s (same concurrency) | % of bare | CPU busy drain / bare | rounds: drain / bare s |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$results"
for jobs in 1 4 8; do
  s=$(median "${DRAIN[$jobs]}")
  b=$(median "${BARE[$jobs]}")
  printf '| barman-cloud --jobs %s | %s | %s | %.1f | %s | %.0f%% | %s%% / %s%% | %s / %s |\n' "$jobs" "$jobs" "$s" "$(awk -v n="$NSEG" -v s="$s" 'BEGIN{print n/s}')" "$b" "$(median "${RATIO[$jobs]}")" \
    "$(median "${DCPU[$jobs]}" | cut -d. -f1)" "$(median "${BCPU[$jobs]}" | cut -d. -f1)" "${DRAIN[$jobs]}" "${BARE[$jobs]}" >>"$results"
done
read -r bare bc < <(barecpu -endpoint "$S3_ENDPOINT_URL" -bucket "$S3_BUCKET" -prefix "$RUN-bare-py" -c 1 "${SEGFILES[@]}")
read -r s sc < <(drain barman "/usr/bin/barman-cloud-wal-archive --endpoint-url $S3_ENDPOINT_URL $URL/$RUN-barman pg")
printf '| Barman 3.4.0 | 1 | %s | %.1f | %s | %.0f%% | %s%% / %s%% | |\n' "$s" "$(awk -v n="$NSEG" -v s="$s" 'BEGIN{print n/s}')" "$bare" "$(awk -v b="$bare" -v s="$s" 'BEGIN{print 100*b/s}')" "$sc" "$bc" >>"$results"
log "Barman: drain $s s, bare PUTs $bare s"

if [[ ${BENCH_DRAINS_ONLY:-} == 1 ]]; then
  cat "$results"
  exit 0
fi

# 2. Getting that WAL back, as restore_command does: one call per segment, in order.
restore_loop() {
  local dir=$1; shift
  rm -rf "$dir"
  mkdir -p "$dir/pg_wal"
  sync # as in recover
  local t0 t1 f
  t0=$EPOCHREALTIME
  for f in "${SEGFILES[@]}"; do
    # Not compared here (that would be timed): both tools verify what they serve, ours against
    # the SHA-256 recorded at archive time; the e2e tests compare bytes.
    "$@" "${f##*/}" "$dir/pg_wal/RECOVERYXLOG" 2>>"$dir/err" || { log "restore of ${f##*/} failed"; cat "$dir/err" >&2; exit 1; }
  done
  t1=$EPOCHREALTIME
  # A prefetcher outlives the last call by its idle time: let it end (untimed) before the
  # next loop, so that it neither competes with it nor writes into a removed directory.
  for f in "$dir"/pg_wal/barman-cloud/spool/*/.lock; do
    flock -w 30 "$f" true || log "a prefetcher still holds $f"
  done
  elapsed "$t0" "$t1"
}
{
  echo
  echo "The restore_command loop: restore_command's calls one after the other, no PostgreSQL, no replay."
  echo
  echo "| restore_command loop (no replay) | prefetch | seconds | segments/s | bare GETs s (same concurrency) | % of bare |"
  echo "|---|---|---|---|---|---|"
} >>"$results"
for p in 0 4 8; do
  c=$((p > 1 ? p - 1 : 1))
  bare=$(bare -op get -endpoint "$S3_ENDPOINT_URL" -bucket "$S3_BUCKET" -prefix "$RUN-bare-1-1" -c "$c" "${SEGFILES[@]}")
  s=$(restore_loop "$TESTENV_STATE/restore" "$BIN/barman-cloud-wal-restore" --prefetch "$p" --endpoint-url "$S3_ENDPOINT_URL" "$URL/$RUN-ours-4-1" pg)
  printf '| barman-cloud --prefetch %s | %s | %s | %.1f | %s (%s at once) | %.0f%% |\n' "$p" "$p" "$s" "$(awk -v n="$NSEG" -v s="$s" 'BEGIN{print n/s}')" "$bare" "$c" "$(awk -v b="$bare" -v s="$s" 'BEGIN{print 100*b/s}')" >>"$results"
  log "restore prefetch $p: $s s, bare GETs $bare s"
done
bare=$(bare -op get -endpoint "$S3_ENDPOINT_URL" -bucket "$S3_BUCKET" -prefix "$RUN-bare-1-1" -c 1 "${SEGFILES[@]}")
s=$(restore_loop "$TESTENV_STATE/restore" /usr/bin/barman-cloud-wal-restore --endpoint-url "$S3_ENDPOINT_URL" "$URL/$RUN-barman" pg)
printf '| Barman 3.4.0 | – | %s | %.1f | %s (1 at once) | %.0f%% |\n' "$s" "$(awk -v n="$NSEG" -v s="$s" 'BEGIN{print n/s}')" "$bare" "$(awk -v b="$bare" -v s="$s" 'BEGIN{print 100*b/s}')" >>"$results"
log "restore Barman: $s s"
# The storage's ceiling for a process per call (the in-process bare GETs above pay no
# process start, no new connection): what the recoveries' bare GET variant runs.
s=$(restore_loop "$TESTENV_STATE/restore" "$BIN/s3bare" -op get1 -endpoint "$S3_ENDPOINT_URL" -bucket "$S3_BUCKET" -prefix "$RUN-ours-4-1/pg/wals")
printf '| bare GET, a process per call (bench/s3bare -op get1) | – | %s | %.1f | %s (1 at once) | %.0f%% |\n' "$s" "$(awk -v n="$NSEG" -v s="$s" 'BEGIN{print n/s}')" "$bare" "$(awk -v b="$bare" -v s="$s" 'BEGIN{print 100*b/s}')" >>"$results"
log "restore, bare GET a process per call: $s s"

# 3. A real recovery of that WAL: the base backup replays every backlog segment, fetched by
# restore_command from the --jobs 4 drain's archive (or, for the floor, a local directory).
WALCOPY="$TESTENV_STATE/walcopy"
rm -rf "$WALCOPY"
mkdir -p "$WALCOPY"
cp "${SEGFILES[@]}" "$WALCOPY/"
chmod -R a+rX "$WALCOPY"
mkdir -p "$TESTENV_STATE/logs"
# recover NAME RESTORE_COMMAND — a fresh copy of the base backup recovered through
# RESTORE_COMMAND until the archive has no next segment; prints seconds.
recover() {
  local name=$1 cmd=$2 data="$PG/data" t0 t1 line seen=0 status="" l
  as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$data"
  cp -a "$TESTENV_STATE/base" "$data"
  # The same settings for every variant; fsync stays off as in the drains, and nothing is
  # archived from the new timeline. hot_standby off: the postmaster reports "ready" only once
  # recovery is over (with it on, it does so as soon as read-only connections are allowed).
  cat >>"$data/postgresql.conf" <<CONF
archive_mode = off
hot_standby = off
restore_command = '$cmd'
CONF
  as_pg touch "$data/recovery.signal"
  rm -f "$PG/recover.log"
  # Every variant starts with nothing left to write back from what ran before it (copies,
  # the previous recovery): with fsync off, the kernel's writeback would otherwise land in
  # whichever run comes next.
  sync
  t0=$EPOCHREALTIME
  # -W: pg_ctl returns once the postmaster is launched; the loop below does the waiting.
  as_pg env "${ENVS[@]}" "$PGBIN/pg_ctl" -D "$data" -l "$PG/recover.log" -W start >/dev/null
  # postmaster.pid's 8th line is "ready" once the startup process has finished (recovery done,
  # promoted) and the postmaster accepts connections; "standby" while it is still replaying.
  # Checked below with pg_is_in_recovery().
  while :; do
    if [[ -f $data/postmaster.pid ]]; then
      seen=1
      mapfile -t line <"$data/postmaster.pid" 2>/dev/null || line=()
      status=${line[7]:-}
      [[ $status == ready* ]] && break
    elif ((seen || EPOCHSECONDS - ${t0%.*} > 60)); then
      log "$name: the server stopped during recovery, or never started"
      tail -n 20 "$PG/recover.log" >&2
      exit 1
    fi
    snooze 0.01
  done
  t1=$EPOCHREALTIME
  local inrec rows
  inrec=$(psql "select pg_is_in_recovery()")
  rows=$(psql "select count(*) from t")
  as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  cp "$PG/recover.log" "$TESTENV_STATE/logs/recover-$name.log" # where the time went
  if [[ $inrec != f || $rows != "$ROWS" ]]; then
    log "$name: recovered cluster in recovery=$inrec, $rows rows (the primary had $ROWS)"
    tail -n 20 "$PG/recover.log" >&2
    exit 1
  fi
  # A prefetcher outlives the recovery by its idle time: let it end before the next copy.
  for l in "$data"/pg_wal/barman-cloud/spool/*/.lock; do
    flock -w 30 "$l" true || log "$name: a prefetcher still holds $l"
  done
  local spools
  spools=$(cd "$data" && find . -path '*barman-cloud/spool' -type d)
  [[ -n $spools ]] && log "$name: spool directories: $spools"
  elapsed "$t0" "$t1"
}
# The variants, ROUNDS times each, round after round (so that what else the machine does at
# one moment is spread over all of them); the table gives the median. Barman 3.4.0 runs once:
# it is far from the others and takes ~40 s a round.
ROUNDS="${BENCH_ROUNDS:-3}"
VARIANTS=(local-cp bare-get prefetch0 prefetch4 prefetch8 barman)
declare -A LABEL=([local-cp]="local cp (floor: no storage)" [bare-get]="bare GET, a process per call (bench/s3bare -op get1)"
  [prefetch0]="barman-cloud --prefetch 0" [prefetch4]="barman-cloud --prefetch 4" [prefetch8]="barman-cloud --prefetch 8"
  [barman]="Barman 3.4.0")
declare -A RCMD=([local-cp]="cp $WALCOPY/%f %p"
  [bare-get]="$BIN/s3bare -op get1 -endpoint $S3_ENDPOINT_URL -bucket $S3_BUCKET -prefix $RUN-ours-4-1/pg/wals %f %p"
  [barman]="/usr/bin/barman-cloud-wal-restore --endpoint-url $S3_ENDPOINT_URL $URL/$RUN-ours-4-1 pg %f %p")
for p in 0 4 8; do
  RCMD[prefetch$p]="$BIN/barman-cloud-wal-restore --prefetch $p --endpoint-url $S3_ENDPOINT_URL $URL/$RUN-ours-4-1 pg %f %p"
done
declare -A TIMES=()
for ((round = 1; round <= ROUNDS; round++)); do
  for v in "${VARIANTS[@]}"; do
    [[ $v == barman && $round -gt 1 ]] && continue
    s=$(recover "$v-$round" "${RCMD[$v]}")
    TIMES[$v]+="${TIMES[$v]:+ }$s"
    log "recovery $v, round $round: $s s"
  done
done
local_rec=$(median "${TIMES[local-cp]}")
bare_rec=$(median "${TIMES[bare-get]}")
{
  echo
  echo "Recovery: PostgreSQL 15 recovers a base backup taken before the backlog, replaying its $NSEG segments"
  echo "through restore_command until the archive has no next one, then promotes (pg_ctl start until"
  echo "accepting connections as a primary). All read the --jobs 4 drain's archive, uncompressed."
  echo "Median of $ROUNDS rounds (Barman 3.4.0: one)."
  echo
  echo "| recovery restore_command | seconds | segments/s | % of bare-GET recovery | % of local-cp recovery | rounds s |"
  echo "|---|---|---|---|---|---|"
} >>"$results"
for v in "${VARIANTS[@]}"; do
  s=$(median "${TIMES[$v]}")
  printf '| %s | %s | %.1f | %.0f%% | %.0f%% | %s |\n' "${LABEL[$v]}" "$s" "$(awk -v n="$NSEG" -v s="$s" 'BEGIN{print n/s}')" \
    "$(awk -v b="$bare_rec" -v s="$s" 'BEGIN{print 100*b/s}')" "$(awk -v b="$local_rec" -v s="$s" 'BEGIN{print 100*b/s}')" "${TIMES[$v]}" >>"$results"
done
cat "$results"
