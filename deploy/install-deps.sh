#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages that building, testing and
# running the demo need, and the packages named as arguments (the API
# benchmark adds wrk and nginx); installs nothing when all are present. Uses
# sudo when not run as root.
set -euo pipefail

packages=(
    gcc make pkg-config mawk clang-format tzdata curl time
    libcurl4-openssl-dev libjansson-dev libpq-dev libcivetweb-dev
    libcmocka-dev libsystemd-dev libyajl-dev faketime postgresql
    clang libclang-rt-dev
    "$@"
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
        echo "install-deps: not root and no sudo; install as root:" \
            "apt-get install ${missing[*]}" >&2
        exit 1
    }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
