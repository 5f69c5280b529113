#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL for the tests, as a non-root user on a
# loopback port. Usage: .ci/postgres.sh start DIR PORT | stop DIR
# On start it prints the URL to use as CAREPOST_TEST_POSTGRES_URL.
set -euo pipefail
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] && command -v pg_ctl >/dev/null; then bin=$(dirname "$(command -v pg_ctl)"); fi
[ -n "$bin" ] || { echo "postgres.sh: no initdb/pg_ctl found; install postgresql" >&2; exit 1; }

# PostgreSQL refuses to run as root; use the postgres account when we are root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    local user=postgres
    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home "$user"
    (cd / && runuser -u "$user" -- "$@")
  else
    "$@"
  fi
}

case "$cmd" in
start)
  port=$3
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir/data" -U carepost --auth=trust --no-sync -E UTF8 >"$dir/initdb.log"
  fi
  # fsync off: a throwaway test server; durability is tested on SQLite and
  # by the crash tests, not by this cluster surviving power loss.
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >/dev/null
  echo "postgres://carepost@127.0.0.1:$port/postgres?sslmode=disable"
  ;;
stop)
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
  ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
