#!/usr/bin/env bash
# make demo: starts the shopping-cart functions and a hearth-node, drives a few
# carts, prints what happened, and keeps running until Ctrl-C so you can go on
# sending messages (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

data_dir=${HEARTH_DEMO_DATA:-build/demo-data}
rm -rf "$data_dir"
mkdir -p build
pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

for port in 8000 8090 8091 8081; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "demo: port $port is already in use; stop whatever listens there and retry" >&2
    exit 1
  fi
done

PORT=8000 node examples/shopping-cart/functions.js > build/demo-functions.log 2>&1 &
pids+=($!)
build/bin/hearth-node --module examples/shopping-cart/module.yaml --data-dir "$data_dir" \
  2> >(tee build/demo-node.log >&2) &
pids+=($!)

for _ in $(seq 1 100); do
  grep -q 'hearth-node ready' build/demo-node.log 2>/dev/null && break
  sleep 0.1
done
grep -q 'hearth-node ready' build/demo-node.log || { echo "demo: the node did not start" >&2; exit 1; }

echo
echo "== driving the shopping cart =="
node examples/shopping-cart/drive.js
cat <<'TXT'

== Hearth is running: ingress 127.0.0.1:8090, egress 127.0.0.1:8091, admin 127.0.0.1:8081 ==
Web console: http://localhost:8081/  (Actors -> com.example/cart -> alice)
Try, in another terminal:
  curl -X PUT -H 'Content-Type: application/vnd.com.example/Restock' \
       -d '{"itemId":"hats","quantity":3}' localhost:8090/com.example/inventory/hats
  curl -X PUT -H 'Content-Type: application/vnd.com.example/AddToCart' \
       -d '{"userId":"carol","itemId":"hats","quantity":1}' localhost:8090/com.example/cart/carol
  curl localhost:8091/cart-results
  curl localhost:8081/health
  build/bin/hearth state com.example/cart alice
  build/bin/hearth send com.example/cart alice --type com.example/AddToCart \
       --json '{"userId":"alice","itemId":"socks","quantity":1}' --wait
Press Ctrl-C to stop.
TXT
wait "${pids[1]}"
