#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and CI, on 127.0.0.1 only, from Debian's postgresql package:
#   build/postgres.sh start DIR [PORT]   initdb into DIR (as the postgres user when run as root), start it, print
#                                        the connection string (also written to DIR/connection)
#   build/postgres.sh stop DIR           stop it
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?data folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "postgres.sh: no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 3; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    port=${3:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg test -w "$dir" || { echo "postgres.sh: the postgres user cannot write $dir (a parent folder is not searchable by it?)" >&2; exit 1; }
    as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    cs="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
    echo "$cs" >"$dir/connection"
    echo "$cs"
    ;;
  stop)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "postgres.sh: unknown command $cmd" >&2; exit 2 ;;
esac
