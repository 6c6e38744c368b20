#!/usr/bin/env bash
# Debian packages the test suite needs beyond Python: ZooKeeper (with a headless Java) for the
# stand-in masters' leader election. Installs only what is missing, so a warm run costs nothing.
set -euo pipefail

needed=()
[ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null || needed+=(zookeeper)
[ -f /usr/share/java/slf4j-simple.jar ] || needed+=(libslf4j-java)

if [ "${#needed[@]}" -eq 0 ]; then
    echo "system packages: up to date"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "system packages missing: ${needed[*]}; install them as root (apt-get install ${needed[*]})" >&2
    exit 1
fi
echo "system packages: installing ${needed[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
