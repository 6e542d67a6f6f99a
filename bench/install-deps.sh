#!/usr/bin/env bash
# What `make bench` needs beyond `make test`: wrk (load generator), gnuplot
# (plots), and bench/package.json's npm packages (the Restate server and SDK).
# Idempotent. A failed npm install is not fatal: the benchmark then says that
# Restate could not be installed and runs the rest.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
for p in wrk gnuplot-nox; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench/install-deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -d node_modules/@restatedev/restate-server ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error || echo "bench/install-deps: npm ci failed; Restate will be skipped"
fi
