# Shell helpers shared by the demo, the integration tests and the
# benchmarks: sourced, not run.

# A TCP port on 127.0.0.1 that nothing listens on: the first from $1 on,
# or a random one from 20000 up when no start is given.
free_port() {
    # Random ports are drawn below the kernel's ephemeral range, which the
    # outgoing connections of busy tests and benchmarks use up.
    local low=32768 span
    read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    span=$((low > 21000 ? low - 20000 : 1000))
    local port=${1:-$((20000 + RANDOM % span))}
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        if [ -n "${1:-}" ]; then
            port=$((port + 1))
        else
            port=$((20000 + RANDOM % span))
        fi
    done
    echo "$port"
}

# The size of a log now, so that wait_for can read only what follows.
log_end() {
    stat -c %s "$1" 2>/dev/null || echo 0
}

# Waits up to 30 s for text in a log, after byte offset $3 (default 0);
# prints the log's tail and fails when it never comes.
wait_for() {
    local file=$1 text=$2 from=${3:-0}
    for _ in $(seq 300); do
        tail -c +$((from + 1)) "$file" 2>/dev/null | grep -q "$text" &&
            return 0
        sleep 0.1
    done
    echo "\"$text\" never appeared in $file:" >&2
    tail -n 20 "$file" >&2
    return 1
}

# Prints a new scratch folder for a test run, named after $2, under the
# project's tests/tmp ($1 is the project's top folder). As root the private
# PostgreSQL runs as "postgres", which must be able to reach the folder:
# where the project lies under a folder closed to others (/root, say), the
# scratch folder is made under /tmp instead.
scratch_dir() {
    local top=$1 name=$2 base=$1/tests/tmp dir
    mkdir -p "$base"
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$base"; then
        base=/tmp
    fi
    dir=$(mktemp -d "$base/callstats-$name.XXXXXX")
    chmod 755 "$dir"
    echo "$dir"
}

# Undoes a benchmark's scratch_dir: stops the processes given after it,
# the private PostgreSQL in its pg/ folder, and removes it.
remove_scratch() {
    local top=$1 work=$2 p
    shift 2
    for p in "$@"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$top/deploy/pg-private.sh" stop "$work/pg"
    rm -rf "$work"
}
