#!/usr/bin/env bash
# bench/restore.sh — barman-cloud-restore (Go) against Debian's Barman 3.4.0 barman-cloud-restore,
# in the same run, restoring the same base backups from the same loopback MinIO. Not a test: it
# prints figures.
#
#   bench/restore.sh [SCALE] [ROUNDS]    # pgbench scale, default 100 (~1.5 GB); rounds, default 3
#
# A PostgreSQL 15 cluster is made with pgbench -i -s SCALE and backed up twice by Barman 3.4.0's
# barman-cloud-backup (the backup tool both restores read): plain and gzip (-z). Each backup is
# then restored ROUNDS times by each tool, alternating which goes first, into a fresh directory.
# Reported per backup: median wall time, MB/s (restored PGDATA bytes / wall time), peak RSS
# (/usr/bin/time %M, the largest over the rounds) and the ratio Barman/ours, and the median time
# of bare downloads of the same archives into nothing (bench/s3ceiling -get), which no restore
# can beat. Our restored tree is
# checked against Barman's (same files, sizes and contents) once per backup.
#
# The MinIO of scripts/testenv.sh is started on its own port (BENCH_S3_PORT, default 9300) and
# stopped at the end, unless BENCH_S3_ENDPOINT names a running one (with S3_BUCKET and AWS_*
# credentials in the environment, as /tmp/testenv.exports has them). Needs ~3×the cluster size
# free in /tmp (BENCH_STATE). Absolute times on shared machines are noisy: read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${1:-100}"
ROUNDS="${2:-3}"
export TESTENV_STATE="${BENCH_STATE:-/tmp/barman-cloud-bench-restore}"
export PATH="$PATH:/usr/local/go/bin"
PGBIN=/usr/lib/postgresql/15/bin
log() { echo "bench: $*" >&2; }

mkdir -p "$TESTENV_STATE"
chmod 0755 "$TESTENV_STATE"
cleanup=()
trap 'for c in "${cleanup[@]}"; do eval "$c" >/dev/null 2>&1 || true; done' EXIT
if [[ -n ${BENCH_S3_ENDPOINT:-} ]]; then
  S3_ENDPOINT_URL="$BENCH_S3_ENDPOINT"
  : "${S3_BUCKET:?BENCH_S3_ENDPOINT needs S3_BUCKET}"
else
  export S3_PORT="${BENCH_S3_PORT:-9300}"
  cleanup+=("TESTENV_DIR='$TESTENV_STATE/s3-$S3_PORT' testenv/start-s3.sh stop '$S3_PORT'; rm -rf '$TESTENV_STATE/s3-$S3_PORT/data'")
  eval "$(TESTENV_DIR="$TESTENV_STATE/s3-$S3_PORT" testenv/start-s3.sh "$S3_PORT")"
fi
eval "$(testenv/install-barman.sh)"
URL="s3://$S3_BUCKET/bench-restore-$$"

BIN="$TESTENV_STATE/bin"
mkdir -p "$BIN"
chmod 0755 "$BIN"
# Built as released (goreleaser.yaml): static, stripped, without urfave/cli's doc generators.
CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs -ldflags "-s -w" -o "$BIN/barman-cloud" ./cmd/barman-cloud
ln -sf barman-cloud "$BIN/barman-cloud-restore"
# Bare downloads of the same archives: the ceiling a restore reads against.
go build -o "$BIN/s3ceiling" ./bench/s3ceiling
OURS="$BIN/barman-cloud-restore"
PY=/usr/bin/barman-cloud-restore

# PostgreSQL refuses to run as root: as root, its programs run as postgres.
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PG="$TESTENV_STATE/pg"
as_pg rm -rf "$PG" 2>/dev/null || rm -rf "$PG"
mkdir -p "$PG"
if [[ $(id -u) == 0 ]]; then chown postgres: "$PG"; fi
cleanup+=("as_pg '$PGBIN/pg_ctl' -D '$PG/data' -m immediate stop; rm -rf '$PG'")
as_pg "$PGBIN/initdb" -D "$PG/data" -A trust -U postgres --no-sync >/dev/null
cat >>"$PG/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PG'
fsync = off
EOF
as_pg "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/server.log" -w start >/dev/null
log "pgbench -i -s $SCALE"
as_pg "$PGBIN/pgbench" -h "$PG" -U postgres -i -s "$SCALE" -q postgres 2>/dev/null
as_pg "$PGBIN/psql" -h "$PG" -U postgres -qAt -c checkpoint postgres
size=$(du -sb "$PG/data" | cut -f1)
log "cluster: $((size / 1024 / 1024)) MiB"

# measure CMD... — runs CMD, prints "<wall seconds> <max RSS KB> <exit status>".
measure() {
  local st=0
  /usr/bin/time -f '%e %M' -o "$TESTENV_STATE/time.out" "$@" >/dev/null 2>"$TESTENV_STATE/cmd.err" || st=$?
  echo "$(tail -1 "$TESTENV_STATE/time.out") $st"
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
max() { sort -n | tail -1; }
# listing DIR — every file, link and directory with its size, mode and content digest.
listing() { (cd "$1" && find . -printf '%p %y %s %m %l\n' | sort && find . -type f -print0 | sort -z | xargs -0 -r sha1sum); }

results="$(mktemp)"
cleanup+=("rm -f '$results'")
echo "| backup | bare GET s | Barman 3.4.0 median s | MB/s | ours median s | MB/s | ratio | peak RSS Barman / ours (MiB) |" >"$results"
echo "|---|---|---|---|---|---|---|---|" >>"$results"
for comp in plain gzip; do
  flag=(); [[ $comp == gzip ]] && flag=(-z)
  log "Barman's barman-cloud-backup ($comp)"
  t0=$(date +%s.%N)
  barman-cloud-backup "${flag[@]}" --immediate-checkpoint --endpoint-url "$S3_ENDPOINT_URL" -h "$PG" -U postgres "$URL-$comp" pg
  log "backup ($comp) took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
  id=$(barman-cloud-backup-list --endpoint-url "$S3_ENDPOINT_URL" "$URL-$comp" pg | awk 'NR==2 {print $1}')
  cleanup+=("barman-cloud-backup-delete --endpoint-url '$S3_ENDPOINT_URL' '$URL-$comp' pg -b '$id'")
  ours_t=(); py_t=(); ours_rss=(); py_rss=(); get_t=()
  for ((r = 0; r < ROUNDS; r++)); do
    for who in $([[ $((r % 2)) == 0 ]] && echo "py ours" || echo "ours py"); do
      dest="$TESTENV_STATE/restore-$who"
      rm -rf "$dest"
      sync
      if [[ $who == ours ]]; then
        read -r t m s < <(measure "$OURS" --endpoint-url "$S3_ENDPOINT_URL" "$URL-$comp" pg "$id" "$dest")
        ours_t+=("$t"); ours_rss+=("$m")
      else
        read -r t m s < <(measure "$PY" --endpoint-url "$S3_ENDPOINT_URL" "$URL-$comp" pg "$id" "$dest")
        py_t+=("$t"); py_rss+=("$m")
      fi
      [[ $s == 0 ]] || { log "$who restore failed ($comp):"; cat "$TESTENV_STATE/cmd.err" >&2; exit 1; }
      log "$comp round $r: $who $t s, $((m / 1024)) MiB"
    done
    read -r t _ < <("$BIN/s3ceiling" -endpoint "$S3_ENDPOINT_URL" -get "$URL-$comp/pg/base/$id/")
    get_t+=("$t")
    if ((r == 0)); then
      # MB/s: of what is restored (PGDATA without pg_wal's content, which is not in a backup).
      size=$(du -sb "$TESTENV_STATE/restore-ours" | cut -f1)
      diff <(listing "$TESTENV_STATE/restore-ours") <(listing "$TESTENV_STATE/restore-py") >/dev/null ||
        { log "our restore ($comp) differs from Barman's"; exit 1; }
    fi
  done
  rm -rf "$TESTENV_STATE/restore-ours" "$TESTENV_STATE/restore-py"
  om=$(printf '%s\n' "${ours_t[@]}" | median); pm=$(printf '%s\n' "${py_t[@]}" | median)
  gm=$(printf '%s\n' "${get_t[@]}" | median)
  orss=$(printf '%s\n' "${ours_rss[@]}" | max); prss=$(printf '%s\n' "${py_rss[@]}" | max)
  mbs() { awk -v n="$size" -v t="$1" 'BEGIN {printf "%.0f", n / 1e6 / t}'; }
  ratio=$(awk -v p="$pm" -v o="$om" 'BEGIN {printf "%.1f×", p/o}')
  printf '| %s | %s | %s | %s | %s | %s | %s | %.0f / %.0f |\n' "$comp" "$gm" "$pm" "$(mbs "$pm")" "$om" "$(mbs "$om")" "$ratio" \
    "$(awk -v k="$prss" 'BEGIN{print k/1024}')" "$(awk -v k="$orss" 'BEGIN{print k/1024}')" >>"$results"
  log "$comp: bare GET $gm s, Barman $pm s, ours $om s, $ratio"
done

echo
echo "Restore of a pgbench -s $SCALE cluster ($((size / 1024 / 1024)) MiB restored), $ROUNDS rounds, $(nproc) cores, loopback MinIO:"
echo
cat "$results"
