#!/usr/bin/env bash
# Debian packages the tests need beyond Python: ZooKeeper (with a headless Java) for the stand-in
# masters' leader election; podman with runc, debootstrap and the rootless helpers for the
# molecule scenarios. Installs only what is missing, so a warm run costs nothing.
set -euo pipefail

# ZooKeeper without recommends (they would pull a desktop Java); podman with them (fuse-overlayfs,
# catatonit, ...), as it was measured to run systemd containers.
needed=()
[ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null || needed+=(zookeeper)
[ -f /usr/share/java/slf4j-simple.jar ] || needed+=(libslf4j-java)
needed_with_recommends=()
for tool in podman runc debootstrap newuidmap slirp4netns gcc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        case $tool in
        newuidmap) needed_with_recommends+=(uidmap) ;;
        *) needed_with_recommends+=("$tool") ;;
        esac
    fi
done
all=("${needed[@]}" "${needed_with_recommends[@]}")

if [ "${#all[@]}" -eq 0 ]; then
    echo "system packages: up to date"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "system packages missing: ${all[*]}; install them as root (apt-get install ${all[*]})" >&2
    exit 1
fi
echo "system packages: installing ${all[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ "${#needed[@]}" -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
fi
if [ "${#needed_with_recommends[@]}" -gt 0 ]; then
    apt-get install -y -qq "${needed_with_recommends[@]}" >/dev/null
fi
