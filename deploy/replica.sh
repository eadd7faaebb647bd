#!/usr/bin/env bash
# A streaming replica of a PostgreSQL cluster on this machine, for the tests and for trying
# the read replica router (common/replica.py) by hand. A production replica is the database
# host's business; this one is throwaway (fsync off, under /tmp).
#
#   deploy/replica.sh start DATABASE_URL   prints the replica's URL (DATABASE_REPLICA_URL)
#   deploy/replica.sh stop  [--remove]     stops it (and deletes its files)
#   deploy/replica.sh status               exit 0 when it is up and streaming
#
# `start` reuses a replica that is up and streaming from that primary, starts a stopped one
# that can still catch up, and otherwise makes a new one with `pg_basebackup -R`. It allows
# replication connections from 127.0.0.1 on the primary (pg_hba.conf, then a reload: the
# primary is never restarted). Run it as root or as the postgres user.
#
# Environment: YISHI_REPLICA_PORT (5433), YISHI_REPLICA_DIR (/tmp/yishi-replica-<port>),
# YISHI_PG_BIN (the primary's version under /usr/lib/postgresql/<major>/bin).
set -euo pipefail

PORT=${YISHI_REPLICA_PORT:-5433}
DIR=${YISHI_REPLICA_DIR:-/tmp/yishi-replica-$PORT}

log() { printf '%s\n' "replica: $*" >&2; }
die() { printf '%s\n' "replica: $*" >&2; exit 1; }

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

# host port user dbname of a postgres:// URL, one a line
url_parts() {
  python3 - "$1" <<'EOF'
import sys
from urllib.parse import unquote, urlsplit
url = urlsplit(sys.argv[1])
if url.scheme not in ("postgres", "postgresql", "pgsql"):
    sys.exit(f"not a PostgreSQL URL: {url.scheme}://...")
print(url.hostname or "127.0.0.1")
print(url.port or 5432)
print(unquote(url.username or "postgres"))
print(unquote(url.path.lstrip("/")) or "postgres")
EOF
}

primary_sql() { psql -X -q -At -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PRIMARY_USER" -d postgres -c "$1"; }
replica_sql() { psql -X -q -At -h 127.0.0.1 -p "$PORT" -U "$PRIMARY_USER" -d postgres -c "$1" 2>/dev/null; }

pg_bin() {
  if [ -n "${YISHI_PG_BIN:-}" ]; then echo "$YISHI_PG_BIN"; return; fi
  local major
  major=$(($(primary_sql "SHOW server_version_num") / 10000))
  echo "/usr/lib/postgresql/$major/bin"
}

running() { [ -f "$DIR/postmaster.pid" ] && as_postgres "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; }

# Up, a standby of this very primary, and receiving its WAL.
streaming() {
  local primary_id replica_id state
  primary_id=$(primary_sql "SELECT system_identifier FROM pg_control_system()")
  replica_id=$(replica_sql "SELECT system_identifier FROM pg_control_system()") || return 1
  [ -n "$replica_id" ] && [ "$primary_id" = "$replica_id" ] || return 1
  [ "$(replica_sql "SELECT pg_is_in_recovery()")" = t ] || return 1
  state=$(replica_sql "SELECT status FROM pg_stat_wal_receiver") || return 1
  [ "$state" = streaming ]
}

wait_streaming() {  # wait_streaming <seconds>
  for _ in $(seq "$1"); do
    if streaming; then return 0; fi
    sleep 1
  done
  return 1
}

allow_replication() {
  local hba
  hba=$(primary_sql "SHOW hba_file")
  [ "$(primary_sql "SHOW wal_level")" != minimal ] || die "the primary has wal_level=minimal"
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    log "allowing replication connections from 127.0.0.1 in $hba"
    printf '\n# Streaming replicas on this machine (deploy/replica.sh)\nhost replication all 127.0.0.1/32 trust\n' >>"$hba"
    primary_sql "SELECT pg_reload_conf()" >/dev/null
    sleep 1
  fi
}

stop_replica() {
  if running; then as_postgres "$BIN/pg_ctl" -D "$DIR" -m fast -w stop >/dev/null; fi
}

make_replica() {
  stop_replica
  rm -rf "$DIR"
  mkdir -p "$DIR"
  chown postgres:postgres "$DIR" 2>/dev/null || true
  chmod 700 "$DIR"
  log "copying the primary $PRIMARY_HOST:$PRIMARY_PORT into $DIR (pg_basebackup -R)"
  as_postgres "$BIN/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PRIMARY_USER" \
    -D "$DIR" -R -X stream -c fast --no-sync
  # A standby needs at least the primary's values of these, or it refuses to start.
  local settings name
  settings=""
  for name in max_connections max_worker_processes max_wal_senders \
    max_prepared_transactions max_locks_per_transaction; do
    settings+="$name = $(primary_sql "SHOW $name")"$'\n'
  done
  # Debian keeps the configuration in /etc, so the copy has none: a small one of its own.
  as_postgres tee "$DIR/postgresql.conf" >/dev/null <<EOF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
hot_standby = on
shared_buffers = 32MB
fsync = off
$settings
EOF
  as_postgres tee "$DIR/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all all 127.0.0.1/32 trust
EOF
  as_postgres touch "$DIR/pg_ident.conf"
}

start_replica() {
  as_postgres "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 start >/dev/null
}

command=${1:-}
case "$command" in
  start)
    [ -n "${2:-}" ] || die "usage: $0 start DATABASE_URL"
    { read -r PRIMARY_HOST; read -r PRIMARY_PORT; read -r PRIMARY_USER; read -r DBNAME; } < <(url_parts "$2")
    ;;
  stop | status)
    PRIMARY_HOST=127.0.0.1 PRIMARY_PORT=5432 PRIMARY_USER=postgres
    if [ -f "$DIR/postgresql.auto.conf" ]; then
      conninfo=$(grep -o "primary_conninfo = '.*'" "$DIR/postgresql.auto.conf" | tail -n 1 || true)
      PRIMARY_HOST=$(sed -n "s/.*host=\([^ ']*\).*/\1/p" <<<"$conninfo")
      PRIMARY_PORT=$(sed -n "s/.*port=\([0-9]*\).*/\1/p" <<<"$conninfo")
      PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1} PRIMARY_PORT=${PRIMARY_PORT:-5432}
    fi
    ;;
  *) die "usage: $0 start DATABASE_URL | stop [--remove] | status" ;;
esac
BIN=$(pg_bin)
[ -x "$BIN/pg_ctl" ] || die "no pg_ctl in $BIN (set YISHI_PG_BIN)"

case "$command" in
  start)
    allow_replication
    if ! streaming; then
      reused=false
      if [ -f "$DIR/standby.signal" ] && [ -f "$DIR/postgresql.conf" ]; then
        if ! running; then
          log "starting the replica in $DIR"
          start_replica || true
        fi
        # A replica stopped too long may need WAL the primary no longer keeps: then anew.
        if wait_streaming 10; then reused=true; fi
      fi
      if ! $reused; then
        make_replica
        start_replica
        wait_streaming 60 || die "the replica does not stream; see $DIR/server.log"
      fi
    fi
    # The replica answers queries once it is consistent; the database is the primary's.
    printf 'postgres://%s@127.0.0.1:%s/%s\n' "$PRIMARY_USER" "$PORT" "$DBNAME"
    ;;
  stop)
    stop_replica
    if [ "${2:-}" = --remove ]; then rm -rf "$DIR"; fi
    ;;
  status)
    streaming
    ;;
esac
