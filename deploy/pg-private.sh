#!/usr/bin/env bash
# A private PostgreSQL cluster in a folder of its own, for the demo and the
# tests: socket only (no TCP port), in that folder, so runs never collide.
# As root, the cluster runs as the unprivileged user "postgres".
#
#   deploy/pg-private.sh start DIR   create if missing, start; prints the
#                                    libpq connection string of database
#                                    "callstats" for its owner
#   deploy/pg-private.sh stop DIR    stop (fast); no error when not running
#   deploy/pg-private.sh api-role DIR
#                                    prints the connection string of the
#                                    API's role callstats_api, which
#                                    `callstats-worker migrate` makes (the
#                                    cluster trusts local connections)
set -euo pipefail

cmd=${1:?usage: pg-private.sh start|stop|api-role DIR}
dir=${2:?usage: pg-private.sh start|stop|api-role DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data
sock=$dir
port=5432

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
    echo "pg-private: no PostgreSQL server found under /usr/lib/postgresql;" \
        "run deploy/install-deps.sh" >&2
    exit 1
fi

if [ ${#sock} -gt 90 ]; then
    echo "pg-private: folder path too long for a socket: $sock" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

conninfo() {
    echo "host=$sock port=$port dbname=callstats user=$1"
}

psql_super() {
    as_owner psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" \
        -U postgres "$@"
}

start() {
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir"
        if ! runuser -u postgres -- test -w "$dir"; then
            echo "pg-private: user postgres cannot reach $dir; every folder" \
                "above it must be searchable by others (chmod o+x)" >&2
            exit 1
        fi
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        as_owner "$pgbin/initdb" -D "$data" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
    fi
    if ! as_owner "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        local opts="-c listen_addresses='' -c port=$port -c fsync=off"
        opts+=" -c unix_socket_directories='$sock' -c max_connections=100"
        as_owner "$pgbin/pg_ctl" -D "$data" -l "$dir/postgresql.log" -w \
            -t 60 -o "$opts" start >/dev/null || {
            tail -n 20 "$dir/postgresql.log" >&2
            exit 1
        }
    fi
    if ! psql_super -d postgres -tA \
        -c "SELECT 1 FROM pg_database WHERE datname = 'callstats'" |
        grep -q 1; then
        psql_super -d postgres -c "CREATE DATABASE callstats"
    fi
    conninfo postgres
}

stop() {
    if [ -f "$data/PG_VERSION" ]; then
        as_owner "$pgbin/pg_ctl" -D "$data" -m fast -w stop \
            >/dev/null 2>&1 || true
    fi
}

api_role() {
    if ! psql_super -d callstats -tA -c \
        "SELECT 1 FROM pg_roles WHERE rolname = 'callstats_api'" | grep -q 1
    then
        echo "pg-private: role callstats_api does not exist; run" \
            "callstats-worker migrate first" >&2
        exit 1
    fi
    conninfo callstats_api
}

case "$cmd" in
start) start ;;
stop) stop ;;
api-role) api_role ;;
*)
    echo "pg-private: unknown command \"$cmd\"" >&2
    exit 2
    ;;
esac
