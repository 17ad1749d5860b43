#!/usr/bin/env bash
# Install the Debian packages the build, the tests and the demo need, when
# missing. Run as root (or with sudo available). Prints what it installs.
set -eu
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in openmpi-bin libopenmpi-dev libopenblas-dev liblapacke-dev libcmocka-dev libmetis-dev pkg-config \
         make gcc python3-numpy python3-matplotlib ${ALS_EXTRA_PACKAGES:-}; do
    have_pkg "$p" || need+=("$p")
done
[ ${#need[@]} = 0 ] && exit 0
echo "install-deps: installing ${need[*]}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
