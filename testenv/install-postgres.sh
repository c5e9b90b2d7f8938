#!/usr/bin/env bash
# install-postgres.sh — PostgreSQL 15 (Debian's postgresql-15) and the OS user "postgres" that
# make-wals.sh and the end-to-end tests (test/e2e) run the server as when they run as root
# (PostgreSQL refuses to run as root; as another user they run it as that user). Installs only what
# is missing.
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
log() { echo "install-postgres: $*" >&2; }
if [[ ! -x $PGBIN/initdb || ! -x $PGBIN/pg_basebackup || ! -x $PGBIN/psql ]]; then
  log "apt-get install postgresql-15"
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15 >&2
fi
if [[ $(id -u) == 0 ]] && ! id postgres >/dev/null 2>&1; then
  log "useradd postgres"
  useradd -r -m postgres
fi
