#!/usr/bin/env bash
# Build the test allocator module libraries and release archives into OUTDIR (default: a
# temporary directory, printed). Needs gcc and tar only.
#
#   tests/allocator_module/build.sh OUTDIR
#
# Produces, for Mesos 1.0.1 (the version the simulated masters report):
#   libofferfilterallocator-1.0.1-v1-RC5.so            right version, later build (zk_url)
#   libofferfilterallocator-1.0.1-0afdd8b.so           right version, first build
#   libofferfilterallocator-1.0.1-v1-RC5.tar.gz        release archive: the .so + modules.json
#   libofferfilterallocator-1.0.1-0afdd8b.tar.gz
#   wrong/libofferfilterallocator-1.0.1-v1-RC5.so      named for 1.0.1 but built against 1.0.3
#   wrong/libofferfilterallocator-1.0.1-v1-RC5.tar.gz  (mesos-master refuses it at start-up)
#   libofferfilterallocator-1.0.3-v1-RC5.so            honestly named 1.0.3 (preflight refuses)
#   nosymbol/libofferfilterallocator-1.0.1-v1-RC5.so   no module symbol at all
#   atload/libofferfilterallocator-1.0.1-v1-RC5.so     record filled in at load time (none in the file)
#   relr/libofferfilterallocator-1.0.1-v1-RC5.so       packed relative relocations (pointers stored in the file)
#   absolute/libofferfilterallocator-1.0.1-v1-RC5.so   mesosVersion relocated through an exported symbol
#   libexamplehook-1.0.1.so                            another module (org_example_TestHook, a Hook)
#   SHA256SUMS
# Builds are reproducible (no timestamps in the archives), so checksums stay stable.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$(mktemp -d)}
mkdir -p "$out/wrong" "$out/nosymbol" "$out/atload" "$out/relr" "$out/absolute"
CC=${CC:-gcc}

lib() { # $1 output, $2 mesos version, $3 build id, extra cflags...
    local target=$1 version=$2 build=$3
    shift 3
    "$CC" -shared -fPIC -O2 -Wall -Werror -o "$target" \
        -DMESOS_VERSION="\"$version\"" -DBUILD_ID="\"$build\"" "$@" "$here/offerfilterallocator.c"
}

archive() { # $1 dir, $2 .so name, $3 with zk_url (1/0)
    local dir=$1 so=$2 zk=$3 stage
    stage=$(mktemp -d)
    cp "$dir/$so" "$stage/"
    if [ "$zk" = 1 ]; then
        params=',"parameters":[{"key":"zk_url","value":"zk://127.0.0.1:2181/mesos-allocator-filters"}]'
    else
        params=''
    fi
    printf '{"libraries":[{"file":"/usr/local/lib/%s","modules":[{"name":"im_getty_mesos_OfferFilteringAllocator"%s}]}]}\n' \
        "$so" "$params" >"$stage/modules.json"
    tar --sort=name --mtime='2017-05-01 00:00:00Z' --owner=0 --group=0 --numeric-owner \
        -C "$stage" -cf - "$so" modules.json | gzip -n >"$dir/${so%.so}.tar.gz"
    rm -rf "$stage"
}

lib "$out/libofferfilterallocator-1.0.1-v1-RC5.so" 1.0.1 v1-RC5
lib "$out/libofferfilterallocator-1.0.1-0afdd8b.so" 1.0.1 0afdd8b
lib "$out/libofferfilterallocator-1.0.3-v1-RC5.so" 1.0.3 v1-RC5
lib "$out/wrong/libofferfilterallocator-1.0.1-v1-RC5.so" 1.0.3 v1-RC5
lib "$out/nosymbol/libofferfilterallocator-1.0.1-v1-RC5.so" 1.0.1 v1-RC5 -DNO_MODULE_SYMBOL
lib "$out/atload/libofferfilterallocator-1.0.1-v1-RC5.so" 1.0.1 v1-RC5 -DRECORD_AT_LOAD_TIME
lib "$out/relr/libofferfilterallocator-1.0.1-v1-RC5.so" 1.0.1 v1-RC5 -Wl,-z,pack-relative-relocs
lib "$out/absolute/libofferfilterallocator-1.0.1-v1-RC5.so" 1.0.1 v1-RC5 -DVERSION_SYMBOL
lib "$out/libexamplehook-1.0.1.so" 1.0.1 example -DMODULE_SYMBOL=org_example_TestHook -DMODULE_KIND='"Hook"'
archive "$out" libofferfilterallocator-1.0.1-v1-RC5.so 1
archive "$out" libofferfilterallocator-1.0.1-0afdd8b.so 0
archive "$out/wrong" libofferfilterallocator-1.0.1-v1-RC5.so 1
(cd "$out" && sha256sum -- *.so *.tar.gz wrong/* nosymbol/* atload/* relr/* absolute/* >SHA256SUMS)
echo "$out"
