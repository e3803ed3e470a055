#!/usr/bin/env bash
# install-deps.sh - installs the Debian packages tenreg's scripts need, only
# those missing (checked with dpkg), non-interactively. Sourced or run by
# scripts/test.sh and scripts/run.sh; runs apt-get only when something is
# missing. Needs root (or sudo) only in that case.
#
#   scripts/install-deps.sh [extra-package...]
# (No `set -e` here: sourcing must not change the caller's shell options.)

tenreg_deps=(
  cmake make gcc g++ clang pkg-config binutils
  liburcu-dev libjemalloc-dev libcriterion-dev libbenchmark-dev
  curl wrk afl++ valgrind
)

tenreg_install_deps() {
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
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "install-deps: missing packages (${missing[*]}) and not root" >&2
      return 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q "${missing[@]}" </dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  tenreg_install_deps "$@"
fi
