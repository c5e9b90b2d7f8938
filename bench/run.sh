#!/usr/bin/env bash
# bench/run.sh — barman-cloud (Go) against Barman's Python tools, in the same run, on the same
# real WAL files, to the same loopback MinIO. Not a test: it prints figures.
#
#   bench/run.sh [ROUNDS]        # default 7 rounds per case; needs ~3 GB free in /tmp, and
#                                # ~6 GB more for the backup half (BENCH_BACKUPS=0 skips it)
#
# Per compression it reports the median wall time per WAL for each tool (a new process per WAL,
# as archive_command runs it), the ratio Barman/ours, and our peak RSS (max resident set over the
# rounds, /usr/bin/time %M); then our peak RSS and time for a 1 GiB segment, and the restore
# side. The servers come from scripts/testenv.sh on their own ports (BENCH_S3_PORT, default
# 9300) and are stopped at the end. Absolute times on shared machines are noisy: read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-7}"
export S3_PORT="${BENCH_S3_PORT:-9300}" AZURE_PORT="${BENCH_AZURE_PORT:-10300}" GCS_PORT="${BENCH_GCS_PORT:-4600}"
export TESTENV_STATE="${BENCH_STATE:-/tmp/barman-cloud-bench}"
export PATH="$PATH:/usr/local/go/bin"
log() { echo "bench: $*" >&2; }

# Only MinIO and the Barman client are needed; start them the way the tests do.
mkdir -p "$TESTENV_STATE"
trap 'TESTENV_DIR="$TESTENV_STATE/s3-$S3_PORT" testenv/start-s3.sh stop "$S3_PORT" >/dev/null 2>&1 || true; rm -rf "$TESTENV_STATE/s3-$S3_PORT/data"' EXIT
exports="$(TESTENV_DIR="$TESTENV_STATE/s3-$S3_PORT" testenv/start-s3.sh "$S3_PORT")"
eval "$exports"
exports="$(testenv/install-barman.sh)"
eval "$exports"
WALS="$TESTENV_STATE/wals"
testenv/make-wals.sh "$WALS" 6 >&2

BIN="$TESTENV_STATE/bin"
mkdir -p "$BIN"
# Built as released (goreleaser.yaml): static, stripped, without urfave/cli's doc generators.
CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs -ldflags "-s -w" -o "$BIN/barman-cloud" ./cmd/barman-cloud
for t in wal-archive wal-restore; do ln -sf barman-cloud "$BIN/barman-cloud-$t"; done
OURS_ARCHIVE="$BIN/barman-cloud-wal-archive"
OURS_RESTORE="$BIN/barman-cloud-wal-restore"
PY_ARCHIVE=/usr/bin/barman-cloud-wal-archive
PY_RESTORE=/usr/bin/barman-cloud-wal-restore
URL="s3://$S3_BUCKET"
mapfile -t SEGS < <(ls "$WALS" | grep -E '^[0-9A-F]{24}$' | sort)

# measure CMD... — runs CMD, prints "<wall seconds> <max RSS KB> <exit status>".
measure() {
  local st=0
  /usr/bin/time -f '%e %M' -o "$TESTENV_STATE/time.out" "$@" >/dev/null 2>"$TESTENV_STATE/cmd.err" || st=$?
  echo "$(tail -1 "$TESTENV_STATE/time.out") $st"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
max() { sort -n | tail -1; }

flag_for() { case "$1" in lz4-medium) echo "--lz4 --compression-level medium";; none) echo "";; gzip) echo "--gzip";; bzip2) echo "--bzip2";; snappy) echo "--snappy";; zstd) echo "--zstd";; xz) echo "--xz";; lz4) echo "--lz4";; esac; }

results="$(mktemp)"
echo "| compression | Barman 3.4.0 median s/WAL | ours median s/WAL | ratio | our peak RSS (MiB) |" >"$results"
echo "|---|---|---|---|---|" >>"$results"
for comp in none gzip bzip2 snappy; do
  flag=$(flag_for "$comp")
  ours_t=(); py_t=(); ours_rss=()
  for ((r = 0; r < ROUNDS; r++)); do
    seg="$WALS/${SEGS[$((r % ${#SEGS[@]}))]}"
    run="bench-$comp-$r-$$"
    # Alternate which tool goes first, so neither always meets a warm cache.
    for who in $([[ $((r % 2)) == 0 ]] && echo "py ours" || echo "ours py"); do
      if [[ $who == ours ]]; then
        read -r t m s < <(measure "$OURS_ARCHIVE" $flag --endpoint-url "$S3_ENDPOINT_URL" "$URL/$run-go" pg "$seg")
        [[ $s == 0 ]] || { log "ours failed ($comp):"; cat "$TESTENV_STATE/cmd.err" >&2; exit 1; }
        ours_t+=("$t"); ours_rss+=("$m")
      else
        read -r t m s < <(measure "$PY_ARCHIVE" $flag --endpoint-url "$S3_ENDPOINT_URL" "$URL/$run-py" pg "$seg")
        [[ $s == 0 ]] || { log "Barman failed ($comp):"; cat "$TESTENV_STATE/cmd.err" >&2; exit 1; }
        py_t+=("$t")
      fi
    done
  done
  om=$(printf '%s\n' "${ours_t[@]}" | median); pm=$(printf '%s\n' "${py_t[@]}" | median)
  rss=$(printf '%s\n' "${ours_rss[@]}" | max)
  ratio=$(awk -v p="$pm" -v o="$om" 'BEGIN {printf "%.1f×", p/o}')
  log "$comp: Barman $pm s, ours $om s, $ratio, RSS $((rss / 1024)) MiB"
  printf '| %s | %s | %s | %s | %.1f |\n' "$comp" "$pm" "$om" "$ratio" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" >>"$results"
done

# The compressions Barman 3.4.0 cannot write: ours alone.
echo >>"$results"
echo "| archive 16 MiB WAL, ours only | median s/WAL | peak RSS (MiB) | stored MB (first segment) |" >>"$results"
echo "|---|---|---|---|" >>"$results"
# lz4 defaults to its fast level; lz4-medium is Barman's default level for it (liblz4's 6).
for comp in xz zstd lz4 lz4-medium; do
  flag=$(flag_for "$comp")
  ours_t=(); ours_rss=()
  for ((r = 0; r < ROUNDS; r++)); do
    seg="$WALS/${SEGS[$((r % ${#SEGS[@]}))]}"
    read -r t m s < <(measure "$OURS_ARCHIVE" $flag --endpoint-url "$S3_ENDPOINT_URL" "$URL/bench-$comp-$r-$$" pg "$seg")
    [[ $s == 0 ]] || { log "ours failed ($comp):"; cat "$TESTENV_STATE/cmd.err" >&2; exit 1; }
    ours_t+=("$t"); ours_rss+=("$m")
  done
  om=$(printf '%s\n' "${ours_t[@]}" | median); rss=$(printf '%s\n' "${ours_rss[@]}" | max)
  # The size stored: the first segment once more, into a file:// store.
  sizes="$TESTENV_STATE/sizes-$comp"
  rm -rf "$sizes"; mkdir -p "$sizes"
  "$OURS_ARCHIVE" $flag "file://$sizes" pg "$WALS/${SEGS[0]}"
  bytes=$(find "$sizes" -type f -name "${SEGS[0]}*" -printf '%s\n' | head -1)
  printf '| %s | %s | %.1f | %.2f |\n' "$comp" "$om" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$(awk -v b="$bytes" 'BEGIN{print b/1e6}')" >>"$results"
  log "$comp (ours only): $om s, RSS $((rss / 1024)) MiB"
done

# A 1 GiB segment (PostgreSQL's largest, initdb --wal-segsize=1024): the real 16 MiB segments
# repeated, with the first page header of segment 000000010000000100000000 for 1 GiB segments.
big="$TESTENV_STATE/big/000000010000000100000000"
if [[ ! -f $big ]]; then
  mkdir -p "$(dirname "$big")"
  for ((i = 0; i < 64; i++)); do cat "$WALS/${SEGS[$((i % ${#SEGS[@]}))]}"; done >"$big"
  # magic 0xD110, XLP_LONG_HEADER, timeline 1, page address 1/00000000, segment size 1 GiB
  printf '\x10\xd1\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00' | dd of="$big" bs=1 seek=0 conv=notrunc status=none
  printf '\x00\x00\x00\x40' | dd of="$big" bs=1 seek=32 conv=notrunc status=none
fi
echo >>"$results"
echo "| 1 GiB segment | ours wall s | ours peak RSS (MiB) |" >>"$results"
echo "|---|---|---|" >>"$results"
# "bzip2 GOGC=100": Go's default collector pacing, against which the binary's own GOGC=25 is
# measured.
for comp in none gzip bzip2 snappy "bzip2 GOGC=100"; do
  flag=$(flag_for "${comp%% *}")
  gogc=()
  [[ $comp == *GOGC=* ]] && gogc=(env "${comp#* }")
  read -r t m s < <(measure "${gogc[@]}" "$OURS_ARCHIVE" $flag --endpoint-url "$S3_ENDPOINT_URL" "$URL/bench-big-${comp%% *}-${#gogc[@]}-$$" pg "$big")
  [[ $s == 0 ]] || { log "1 GiB $comp failed:"; cat "$TESTENV_STATE/cmd.err" >&2; exit 1; }
  printf '| %s | %s | %.1f |\n' "$comp" "$t" "$(awk -v k="$m" 'BEGIN{print k/1024}')" >>"$results"
  log "1 GiB $comp: $t s, RSS $((m / 1024)) MiB"
done
rm -f "$big"

# Where the peak RSS goes. /usr/bin/time's figure counts the binary's own file-backed pages: the
# ~280 package initialisers of a static binary with three cloud SDKs touch code and data all over
# its 30 MB, and the kernel maps each touched page with its neighbours (fault-around). Those pages
# are clean, shared by every concurrent run and charged once to the page cache; what a run
# allocates is the anonymous part. Both sampled from /proc every 2 ms (a sampled peak can only
# be lower than the true one).
rss_split() {
  "$@" >/dev/null 2>"$TESTENV_STATE/cmd.err" &
  local pid=$! anon=0 file=0 a f
  while kill -0 "$pid" 2>/dev/null; do
    read -r a f < <(awk '/^RssAnon/{a=$2} /^RssFile/{f=$2} END{print a+0, f+0}' "/proc/$pid/status" 2>/dev/null || echo "0 0")
    ((a > anon)) && anon=$a
    ((f > file)) && file=$f
    sleep 0.002
  done
  wait "$pid" || { log "rss_split failed: $*"; cat "$TESTENV_STATE/cmd.err" >&2; exit 1; }
  echo "$anon $file"
}
echo >>"$results"
echo "| archive 16 MiB WAL | anonymous peak (MiB) | binary's file pages peak (MiB) |" >>"$results"
echo "|---|---|---|" >>"$results"
for comp in none gzip bzip2 snappy; do
  flag=$(flag_for "$comp")
  read -r a f < <(rss_split "$OURS_ARCHIVE" $flag --endpoint-url "$S3_ENDPOINT_URL" "$URL/bench-split-$comp-$$" pg "$WALS/${SEGS[0]}")
  printf '| %s | %.1f | %.1f |\n' "$comp" "$(awk -v k="$a" 'BEGIN{print k/1024}')" "$(awk -v k="$f" 'BEGIN{print k/1024}')" >>"$results"
  log "split $comp: anon $((a / 1024)) MiB, file $((f / 1024)) MiB"
done

if [[ -x $OURS_RESTORE ]] && "$OURS_RESTORE" --version >/dev/null 2>&1; then
  echo >>"$results"
  echo "| restore 16 MiB WAL | Barman 3.4.0 median s | ours median s | ratio | our peak RSS (MiB) |" >>"$results"
  echo "|---|---|---|---|---|" >>"$results"
  dest="$TESTENV_STATE/restore"
  mkdir -p "$dest"
  for comp in none gzip zstd; do
    flag=$(flag_for "$comp")
    seg="${SEGS[0]}"
    "$OURS_ARCHIVE" $flag --endpoint-url "$S3_ENDPOINT_URL" "$URL/bench-restore-$comp-$$" pg "$WALS/$seg" 2>/dev/null
    ours_t=(); py_t=(); ours_rss=()
    for ((r = 0; r < ROUNDS; r++)); do
      rm -f "$dest/ours" "$dest/py"
      read -r t m s < <(measure "$OURS_RESTORE" --endpoint-url "$S3_ENDPOINT_URL" "$URL/bench-restore-$comp-$$" pg "$seg" "$dest/ours")
      [[ $s == 0 ]] || { log "our restore failed ($comp):"; cat "$TESTENV_STATE/cmd.err" >&2; exit 1; }
      cmp -s "$dest/ours" "$WALS/$seg" || { log "our restore ($comp) differs"; exit 1; }
      ours_t+=("$t"); ours_rss+=("$m")
      if [[ $comp != zstd ]]; then
        read -r t m s < <(measure "$PY_RESTORE" --endpoint-url "$S3_ENDPOINT_URL" "$URL/bench-restore-$comp-$$" pg "$seg" "$dest/py")
        [[ $s == 0 ]] || { log "Barman restore failed ($comp):"; cat "$TESTENV_STATE/cmd.err" >&2; exit 1; }
        py_t+=("$t")
      fi
    done
    om=$(printf '%s\n' "${ours_t[@]}" | median)
    rss=$(printf '%s\n' "${ours_rss[@]}" | max)
    if [[ $comp == zstd ]]; then
      # Barman 3.4.0 (Debian's) cannot read .zst; 3.12+ can, but is not installable here.
      pm="n/a (3.4.0 reads no .zst)"; ratio="–"
    else
      pm=$(printf '%s\n' "${py_t[@]}" | median)
      ratio=$(awk -v p="$pm" -v o="$om" 'BEGIN {printf "%.1f×", p/o}')
    fi
    printf '| %s | %s | %s | %s | %.1f |\n' "$comp" "$pm" "$om" "$ratio" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" >>"$results"
    log "restore $comp: Barman $pm s, ours $om s, $ratio"
  done
fi

# Start-up: what every archive_command call pays before a byte moves.
startup() {
  local t0 t1 i
  t0=$(date +%s.%N)
  for ((i = 0; i < 50; i++)); do "$@" --version >/dev/null 2>&1; done
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000 / 50}'
}
ours_ms=$(startup "$OURS_ARCHIVE"); py_ms=$(startup "$PY_ARCHIVE")
echo >>"$results"
echo "| start-up (--version, mean of 50) | Barman 3.4.0 ms | ours ms | ratio |" >>"$results"
echo "|---|---|---|---|" >>"$results"
printf '| wal-archive | %s | %s | %s |\n' "$py_ms" "$ours_ms" "$(awk -v p="$py_ms" -v o="$ours_ms" 'BEGIN {printf "%.0f×", p/o}')" >>"$results"
log "start-up: Barman $py_ms ms, ours $ours_ms ms"

echo
echo "barman-cloud $("$BIN/barman-cloud" --version | awk '{print $2}') vs $("$PY_ARCHIVE" --version 2>&1), $ROUNDS rounds, MinIO on 127.0.0.1, $(nproc) cores, $(date -u +%Y-%m-%d)"
cat "$results"
rm -f "$results"

# The base-backup half, each on a MinIO of its own (ports next to this one's): a pgbench cluster
# of BENCH_SCALE (default 100, about 1.5 GB) backed up, then restored, by both tools in the same
# run. BENCH_BACKUPS=0 skips it (it needs about 4 times the cluster's size free in /tmp).
if [[ ${BENCH_BACKUPS:-1} != 0 ]]; then
  echo
  BENCH_S3_PORT=$((S3_PORT + 1)) BENCH_STATE="$TESTENV_STATE-backup" bench/backup.sh "${BENCH_SCALE:-100}"
  echo
  BENCH_S3_PORT=$((S3_PORT + 2)) BENCH_STATE="$TESTENV_STATE-restore" bench/restore.sh "${BENCH_SCALE:-100}" 3
fi
