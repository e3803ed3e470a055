#!/usr/bin/env bash
# build-jemalloc.sh - builds tenreg's private jemalloc once, into a cache that
# every build dir shares (cmake/TenregJemalloc.cmake runs this at configure
# time; it returns at once when the cache is up to date).
#
#   scripts/build-jemalloc.sh DEPS_DIR VERSION
#     DEPS_DIR  cache root, e.g. build/deps; the result is
#               DEPS_DIR/jemalloc-VERSION/{include/jemalloc/jemalloc.h,
#               lib/libjemalloc_pic.a, tenreg-jemalloc.stamp}
#     VERSION   upstream jemalloc version expected from Debian (5.3.0)
#   Environment: CC (default cc), TENREG_JEMALLOC_JOBS (default 2).
#
# Why not Debian's libjemalloc_pic.a: it is built with initial-exec TLS
# (readelf -d: FLAGS STATIC_TLS), so a libtenreg.so that contains it cannot
# be dlopen()ed ("cannot allocate memory in static TLS block"). This is
# Debian's own source package (apt-get source jemalloc: the archive's signed
# Sources index checks it, dpkg-source applies Debian's patches), configured
# as Debian does on amd64 (page and huge page sizes) except:
#   --disable-initial-exec-tls    dynamic TLS: loadable with dlopen
#   --with-jemalloc-prefix=tenreg_je_, --with-private-namespace=tenreg_jep_
#                                 no malloc/free/... at all (only
#                                 tenreg_je_mallocx etc.), nothing that could
#                                 replace the process's malloc; reads
#                                 TENREG_JE_MALLOC_CONF (src/alloc.c forwards
#                                 MALLOC_CONF too)
#   --without-export              even those are hidden (-fvisibility=hidden)
#   --disable-cxx, no --enable-prof, only lib/libjemalloc_pic.a is built
#                                 (no docs, no tests, no shared library)
# The downloaded source is kept in DEPS_DIR/src, so a rebuild (new options)
# needs no network. Needs: apt-get with a deb-src entry (scripts/install-deps.sh
# adds one), dpkg-dev, make, a C compiler.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 DEPS_DIR VERSION" >&2
  exit 2
fi
deps=$1
version=$2
mkdir -p "$deps" || { echo "build-jemalloc: error: cannot create $deps" >&2; exit 1; }
deps=$(cd "$deps" && pwd)
dest=$deps/jemalloc-$version
jobs=${TENREG_JEMALLOC_JOBS:-2}
cc=${CC:-cc}

case $(uname -m) in
  x86_64|i?86) lg_page=12 ;;
  *)           lg_page=16 ;;
esac
# Bump the revision when the build below changes in a way the options don't show.
options="--disable-initial-exec-tls --with-jemalloc-prefix=tenreg_je_ --with-private-namespace=tenreg_jep_ --without-export --disable-cxx --with-lg-page=$lg_page --with-lg-hugepage=21"
make_flags="EXTRA_CFLAGS=-g1"   # jemalloc's own -g3 makes a 40 MB archive
stamp_line="tenreg-jemalloc rev 1: jemalloc $version $options $make_flags"

say() { echo "build-jemalloc: $*"; }
die() { echo "build-jemalloc: error: $*" >&2; exit 1; }

up_to_date() {
  [ -f "$dest/tenreg-jemalloc.stamp" ] && [ -f "$dest/lib/libjemalloc_pic.a" ] &&
    [ -f "$dest/include/jemalloc/jemalloc.h" ] &&
    [ "$(head -n 1 "$dest/tenreg-jemalloc.stamp")" = "$stamp_line" ]
}
# (Checked before taking the lock too: a cache built by another user needs no
# write access.)
if up_to_date; then
  say "up to date: $dest"
  exit 0
fi
# One build at a time, across every build dir configuring at once.
exec 9>"$deps/jemalloc.lock" || die "cannot write $deps (a cache made by another user?)"
flock 9
if up_to_date; then
  say "up to date: $dest (built meanwhile)"
  exit 0
fi

t0=$(date +%s)
for tool in dpkg-source make "$cc"; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "$tool not found (Debian: scripts/install-deps.sh installs dpkg-dev, make, gcc)"
done

# ---- source: Debian's package, downloaded once ----------------------------
src=$deps/src
mkdir -p "$src"
pick_dsc() { { ls "$src"/jemalloc_"$version"-*.dsc 2>/dev/null || true; } | sort -V | tail -n 1; }
dsc=$(pick_dsc)
if [ -z "$dsc" ]; then
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this needs Debian's jemalloc source package"
  say "downloading Debian's jemalloc source package (apt-get source) into $src"
  if ! (cd "$src" && apt-get source -q --download-only jemalloc >"$src/apt-get-source.log" 2>&1); then
    cat "$src/apt-get-source.log" >&2
    die "apt-get source jemalloc failed. It needs a deb-src entry for this Debian release:
  run scripts/install-deps.sh as root (it adds one and runs apt-get update), or
  configure with -DTENREG_ALLOCATOR=libc to build without jemalloc."
  fi
  dsc=$(pick_dsc)
  if [ -z "$dsc" ]; then
    got=$(cd "$src" && ls jemalloc_*.dsc 2>/dev/null | tr '\n' ' ' || true)
    die "apt-get source gave no jemalloc $version source (got: ${got:-nothing}); tenreg expects upstream $version (cmake/TenregJemalloc.cmake)"
  fi
fi
debver=$(basename "$dsc" .dsc)
debver=${debver#jemalloc_}

# ---- build -------------------------------------------------------------------
work=$deps/jemalloc-$version.work
rm -rf "$work" "$dest.new"
mkdir -p "$work"
log=$deps/jemalloc-$version.log
say "building jemalloc $debver ($options) in $work; log: $log"
{
  # Checks the .dsc's checksums of the tarballs and applies debian/patches.
  dpkg-source -x "$dsc" "$work/src"
  cd "$work/src"
  # --with-version: jemalloc would otherwise ask git, and find tenreg's repository.
  # shellcheck disable=SC2086
  CC=$cc ./configure $options --with-version="$(cat VERSION)" --prefix="$dest"
  make -j "$jobs" "$make_flags" lib/libjemalloc_pic.a
} >"$log" 2>&1 || { tail -n 40 "$log" >&2; die "jemalloc build failed (full log: $log)"; }

mkdir -p "$dest.new/include/jemalloc" "$dest.new/lib"
cp "$work/src/include/jemalloc/jemalloc.h" "$dest.new/include/jemalloc/"
cp "$work/src/lib/libjemalloc_pic.a" "$dest.new/lib/"
cp "$work/src/COPYING" "$dest.new/"
printf '%s\nDebian source %s, built %s with %s\n' "$stamp_line" "$debver" "$(date -u +%FT%TZ)" \
  "$("$cc" --version | head -n 1)" >"$dest.new/tenreg-jemalloc.stamp"
rm -rf "$dest"
mv "$dest.new" "$dest"
rm -rf "$work"
say "built $dest in $(( $(date +%s) - t0 ))s"
