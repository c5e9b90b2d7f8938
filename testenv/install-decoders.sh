#!/usr/bin/env bash
# install-decoders.sh — the command-line tools the integration tests use to check what
# barman-cloud stored, independently of its Go code: Debian's gzip, bzip2, xz, zstd and lz4
# decoders, and curl for the GCS JSON API. (Snappy is checked with python3-snappy, which
# install-barman.sh installs.) Idempotent: installs only what is missing; prints nothing
# on stdout.
set -euo pipefail
log() { echo "install-decoders: $*" >&2; }

pkgs=(gzip bzip2 xz-utils zstd lz4 curl)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
fi
