#!/usr/bin/env bash
# Installs the servers the integration and browser tests use (PostgreSQL, Redis, Mosquitto,
# Chromium) from Debian packages when running as root; otherwise says loudly what is missing.
set -u
need=()
command -v pg_config >/dev/null && [ -x "$(pg_config --bindir 2>/dev/null)/initdb" ] || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v chromium >/dev/null || need+=(chromium)
command -v node >/dev/null || need+=(nodejs npm)
# The interface is Chinese by default: without a CJK font Chromium draws its text (and the screenshots) as boxes.
fc-list 2>/dev/null | grep -qi -e "wenquanyi" -e "noto sans cjk" || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  exit $?
fi
echo "************************************************************************"
echo "* MISSING SYSTEM PACKAGES: ${need[*]}"
echo "* Tests that need them will be SKIPPED (run as root, or install them)."
echo "************************************************************************"
exit 0
