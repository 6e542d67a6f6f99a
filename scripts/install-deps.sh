#!/usr/bin/env bash
# Installs what Hearth needs to build, test and run its demo, on Debian 12.
# Idempotent: packages already present are not reinstalled; npm uses the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config curl openssl clang libclang-rt-dev
  libcaf-dev libprotobuf-dev protobuf-compiler libcurl4-openssl-dev liblmdb-dev zlib1g-dev
  nlohmann-json3-dev doctest-dev libyaml-dev libcpp-httplib-dev libcli11-dev prometheus-cpp-dev
  libboost-dev libssl-dev librdkafka-dev kcat
  chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm run the example and test functions; any install of them will do.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The official StateFun JavaScript SDK, pinned by package-lock.json.
if [ ! -d node_modules/apache-flink-statefun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
