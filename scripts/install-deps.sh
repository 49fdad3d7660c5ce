#!/usr/bin/env bash
# Installs the Debian packages pagesim builds and tests with, if missing.
# Usage: scripts/install-deps.sh   (qemu-system-x86 is included: the QEMU TCG
# replay backend runs in make check; --with-qemu is accepted for older callers)
# Run as root, or with sudo available.  Does nothing when all are present.
set -eu
pkgs="gcc make pkg-config liblua5.4-dev libsqlite3-dev sqlite3 libcriterion-dev lcov qemu-system-x86"
[ "${1:-}" = "--with-clang" ] && pkgs="$pkgs clang libclang-rt-14-dev"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install:$missing" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"
