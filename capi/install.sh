#!/bin/sh
# Install librsm.so.2 and the RSMAPI headers under a prefix.
#
#   cargo build --release -p rsm-capi
#   capi/install.sh [PREFIX]            # PREFIX defaults to /usr/local
#
# Installs
#   PREFIX/lib/librsm.so.2              the library (soname librsm.so.2)
#   PREFIX/lib/librsm.so -> librsm.so.2 development link used by `cc ... -lrsm`
#   PREFIX/include/rsmapi.h, PREFIX/include/rsmapi_ext.h,
#   PREFIX/include/sys/rsm/rsm_common.h, PREFIX/include/sys/rsm/rsmapi_common.h
#
# Environment:
#   DESTDIR   staging root prepended to every installed path (packaging)
#   PROFILE   cargo profile directory to take the library from (default: release)
#   LIBRSM    explicit path of the built library (overrides PROFILE)
#   CARGO_TARGET_DIR  cargo's target directory (default: <repository>/target)
#
# Run ldconfig afterwards when PREFIX/lib is a directory the dynamic loader
# searches by default; otherwise link with -Wl,-rpath,PREFIX/lib or set
# LD_LIBRARY_PATH.
set -eu

prefix=${1:-/usr/local}
case $prefix in
/*) ;;
*) echo "install.sh: PREFIX must be an absolute path, got '$prefix'" >&2; exit 2 ;;
esac
destdir=${DESTDIR:-}

capi_dir=$(cd "$(dirname "$0")" && pwd)
repo_dir=$(dirname "$capi_dir")
target_dir=${CARGO_TARGET_DIR:-$repo_dir/target}
library=${LIBRSM:-$target_dir/${PROFILE:-release}/librsm.so}

if [ ! -f "$library" ]; then
    echo "install.sh: $library not found; build it first:" >&2
    echo "    cargo build --release -p rsm-capi" >&2
    exit 1
fi

libdir=$destdir$prefix/lib
incdir=$destdir$prefix/include

mkdir -p "$libdir" "$incdir/sys/rsm"
install -m 0755 "$library" "$libdir/librsm.so.2"
ln -sfn librsm.so.2 "$libdir/librsm.so"
install -m 0644 "$capi_dir/include/rsmapi.h" "$capi_dir/include/rsmapi_ext.h" "$incdir/"
install -m 0644 "$capi_dir/include/sys/rsm/rsm_common.h" \
    "$capi_dir/include/sys/rsm/rsmapi_common.h" "$incdir/sys/rsm/"

echo "installed librsm.so.2 in $libdir and the RSMAPI headers in $incdir"
