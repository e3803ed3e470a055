#!/usr/bin/env bash
# install-deps.sh - installs the Debian packages tenreg's scripts need, only
# those missing (checked with dpkg), non-interactively. Sourced or run by
# scripts/test.sh and scripts/run.sh; runs apt-get only when something is
# missing. Needs root (or sudo) only in that case.
#
# It also makes sure `apt-get source jemalloc` works: tenreg builds its own
# jemalloc from Debian's source package (scripts/build-jemalloc.sh, run by
# cmake at configure time, once per checkout), which needs a deb-src entry.
# When apt knows no jemalloc source and build/deps holds none, it adds
# /etc/apt/sources.list.d/tenreg-deb-src.sources (a deb-src copy of the
# machine's own Debian entries) and runs apt-get update.
#
#   scripts/install-deps.sh [extra-package...]
# (No `set -e` here: sourcing must not change the caller's shell options.)

tenreg_deps=(
  cmake make gcc g++ clang pkg-config binutils dpkg-dev
  liburcu-dev libcriterion-dev libbenchmark-dev
  curl wrk afl++ valgrind python3 prometheus
  python3-venv python3-setuptools python3-wheel python3-pytest
)

tenreg_sudo() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-deps: not root, and no sudo, for: $*" >&2
    return 1
  fi
}

# deb-src entries for the Debian entries of this machine, so that
# `apt-get source jemalloc` works (scripts/build-jemalloc.sh).
tenreg_deps_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tenreg_apt_has_jemalloc_source() {
  # (Captured first: grep -q would close the pipe early, and the caller's
  # pipefail would turn a match into a failure.)
  local s
  s=$(apt-cache showsrc jemalloc 2>/dev/null) || return 1
  grep -q '^Package: jemalloc' <<<"$s"
}
tenreg_ensure_jemalloc_source() {
  if compgen -G "$tenreg_deps_root/build/deps/src/jemalloc_*.dsc" >/dev/null ||
     tenreg_apt_has_jemalloc_source; then
    return 0
  fi
  local out=/etc/apt/sources.list.d/tenreg-deb-src.sources src=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    # deb822: the same stanzas (URIs, suites, keys), as Types: deb-src.
    src=$(sed -E 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources)
  elif [ -f /etc/apt/sources.list ] && grep -qE '^deb[[:space:]]' /etc/apt/sources.list; then
    out=/etc/apt/sources.list.d/tenreg-deb-src.list
    src=$(sed -nE 's/^deb([[:space:]])/deb-src\1/p' /etc/apt/sources.list)
  fi
  if [ -z "$src" ]; then
    echo "install-deps: no Debian apt entry found to add deb-src for; add one for 'apt-get source jemalloc'" >&2
    return 1
  fi
  echo "install-deps: adding $out (deb-src, for apt-get source jemalloc)"
  printf '# Added by tenreg scripts/install-deps.sh: Debian source packages, for\n# apt-get source jemalloc (scripts/build-jemalloc.sh).\n%s\n' "$src" |
    tenreg_sudo tee "$out" >/dev/null || return 1
  tenreg_sudo apt-get update -q || return 1
  if ! tenreg_apt_has_jemalloc_source; then
    echo "install-deps: apt still knows no jemalloc source package after adding $out" >&2
    return 1
  fi
}

tenreg_install_deps() {
  tenreg_install_packages "$@" && tenreg_ensure_jemalloc_source
}

tenreg_install_packages() {
  local missing=() p
  for p in "${tenreg_deps[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#tenreg_deps[@]} packages present"
    return 0
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  tenreg_sudo apt-get update -q || return 1
  tenreg_sudo apt-get install -y -q "${missing[@]}" </dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  tenreg_install_deps "$@"
fi
