#!/usr/bin/env bash
# What `make bench-peer` needs besides the project: wrk from Debian's packages (as root, like
# system-deps.sh) and Node 22 with PostGraphile 5 from npm into var/bench-peer/ (not committed).
# Never fails: anything it cannot install is said loudly, and the bench then skips (bench/peer.py).
set -u
NODE_VERSION=22.23.3
POSTGRAPHILE_VERSION=5.1.5
DIR=var/bench-peer

say() {
  echo "************************************************************************"
  echo "* bench-peer: $*"
  echo "************************************************************************"
}

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing system package: wrk"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk >/dev/null; }; } ||
      say "could not install wrk (no network?)"
  else
    say "wrk is missing: run as root or apt-get install wrk"
  fi
fi

have() {
  [ -x "$DIR/node_modules/node/bin/node" ] &&
    [ "$("$DIR/node_modules/node/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ] &&
    grep -q "\"version\": \"$POSTGRAPHILE_VERSION\"" "$DIR/node_modules/postgraphile/package.json" 2>/dev/null
}

if ! have; then
  if ! command -v npm >/dev/null; then
    say "npm is missing, so Node $NODE_VERSION and PostGraphile cannot be installed (make system-deps)"
    exit 0
  fi
  mkdir -p "$DIR"
  [ -f "$DIR/package.json" ] || echo '{"private": true}' >"$DIR/package.json"
  echo "installing node@$NODE_VERSION and postgraphile@$POSTGRAPHILE_VERSION into $DIR"
  (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error --save-exact \
    "node@$NODE_VERSION" "postgraphile@$POSTGRAPHILE_VERSION" >/dev/null) ||
    say "could not install node@$NODE_VERSION / postgraphile@$POSTGRAPHILE_VERSION from npm (no network?)"
  have || say "Node $NODE_VERSION or PostGraphile $POSTGRAPHILE_VERSION is not in $DIR after the install"
fi
exit 0
