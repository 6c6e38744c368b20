#!/usr/bin/env bash
# Build the local podman image the molecule scenarios run: Debian 12 with systemd as PID 1,
# Python 3 (for Ansible), kazoo (ZooKeeper client of the mesos-master stand-in) and Debian's
# ZooKeeper (the zk host of the scenarios). No registry is involved: a debootstrap rootfs
# from the Debian mirror apt already uses, then `podman import`.
#
#   molecule/_shared/build-image.sh            build if the recipe changed, else keep the image
#   FORCE=1 molecule/_shared/build-image.sh    rebuild
#
# The image is tagged with a hash of this file, so editing the recipe rebuilds it; the
# plain tag `localhost/mesos-maintenance-systemd:latest` always points to the newest build.
set -euo pipefail

NAME=localhost/mesos-maintenance-systemd
SUITE=bookworm
PACKAGES=systemd,systemd-sysv,dbus,python3,python3-kazoo,zookeeper,procps,iproute2,curl,ca-certificates
here=$(cd "$(dirname "$0")" && pwd)
recipe=$( (cat "$0"; echo "$SUITE $PACKAGES") | sha256sum | cut -c1-12)
tag="$NAME:$recipe"

if [ "${FORCE:-0}" != 1 ] && podman image exists "$tag"; then
    podman tag "$tag" "$NAME:latest"
    echo "image $tag is up to date"
    exit 0
fi

mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    # The mirror apt uses (deb822 sources first, then the one-line format).
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi

work=$(mktemp -d /var/tmp/mesos-maintenance-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -40 "$work/debootstrap.log" >&2
    exit 1
}
# Keep the image lean and systemd quiet in a container.
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
ln -sf /dev/null "$work/rootfs/etc/systemd/system/systemd-logind.service"
ln -sf /dev/null "$work/rootfs/etc/systemd/system/getty.target"
echo "image built from $mirror ($SUITE) by $here/build-image.sh" > "$work/rootfs/etc/mesos-maintenance-image"
tar -C "$work/rootfs" -c . | podman import \
    --change 'CMD ["/sbin/init"]' --change 'ENV container=podman' --change 'STOPSIGNAL SIGRTMIN+3' \
    - "$tag" >/dev/null
podman tag "$tag" "$NAME:latest"
echo "built $tag in $(( $(date +%s) - start ))s"
