#!/usr/bin/env bash
# make demo-cluster: the shopping cart on a cluster of three nodes on this
# machine (one module.yaml, one shared checkpoint dir, ports moved by flags),
# driven through the nodes' ingress ports; prints which node owns what and
# keeps running until Ctrl-C (see README.md, "Cluster").
#
#   node  ingress  egress  admin  cluster
#   n1    8090     8091    8081   7001   (coordinator)
#   n2    8190     8191    8181   7002
#   n3    8290     8291    8281   7003
set -euo pipefail
cd "$(dirname "$0")/.."

root=${HEARTH_DEMO_DATA:-build/demo-cluster}
rm -rf "$root"
mkdir -p "$root"
pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "demo-cluster: stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

for port in 8000 8090 8091 8081 7001 8190 8191 8181 7002 8290 8291 8281 7003; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "demo-cluster: port $port is already in use; stop whatever listens there and retry" >&2
    exit 1
  fi
done

PORT=8000 node examples/shopping-cart/functions.js > "$root/functions.log" 2>&1 &
pids+=($!)

# start NODE INGRESS_PREFIX CLUSTER_PORT [JOIN]
start() {
  local id=$1 p=$2 cport=$3 join=${4:-}
  local args=(--module examples/shopping-cart/module.yaml --data-dir "$root/$id"
              --checkpoint-dir "$root/checkpoints" --node-id "$id" --cluster-port "$cport"
              --ingress-port "${p}90" --egress-port "${p}91" --admin-port "${p}81")
  [ -n "$join" ] && args+=(--join "$join")
  build/bin/hearth-node "${args[@]}" 2> "$root/$id.log" &
  pids+=($!)
  for _ in $(seq 1 300); do
    grep -q 'hearth-node ready' "$root/$id.log" 2>/dev/null && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "demo-cluster: node $id did not start:" >&2
  tail -n 20 "$root/$id.log" >&2
  exit 1
}
start n1 80 7001
start n2 81 7002 127.0.0.1:7001
start n3 82 7003 127.0.0.1:7001

# Until every node runs its part of the same epoch.
for _ in $(seq 1 300); do
  ok=0
  for a in 8081 8181 8281; do
    curl -s "localhost:$a/health" | grep -q '"pipeline":"running"' && ok=$((ok + 1))
  done
  [ "$ok" = 3 ] && break
  sleep 0.1
done

echo
echo "== the cluster =="
build/bin/hearth --node http://127.0.0.1:8181 cluster
echo
echo "== driving the shopping cart through n2's ingress, results from n3's egress =="
INGRESS=http://127.0.0.1:8190 EGRESS=http://127.0.0.1:8291 node examples/shopping-cart/drive.js
echo
echo "== who owns what (any node answers for the whole cluster) =="
build/bin/hearth --node http://127.0.0.1:8081 actors
cat <<'TXT'

== Hearth runs on three nodes: ingress 8090/8190/8290, egress 8091/8191/8291, admin 8081/8181/8281 ==
Web console of any node: http://localhost:8181/  (Cluster, Actors)
Try, in another terminal:
  curl -X PUT -H 'Content-Type: application/vnd.com.example/AddToCart' \
       -d '{"userId":"dave","itemId":"socks","quantity":1}' localhost:8290/com.example/cart/dave
  curl localhost:8091/cart-results
  build/bin/hearth --node http://127.0.0.1:8081 state com.example/cart/dave
  build/bin/hearth --node http://127.0.0.1:8081 cluster drain n3   # n3 hands over and exits
  kill -9 <pid of a node>; the others take its key groups (see build/demo-cluster/*.log)
Press Ctrl-C to stop.
TXT
wait "${pids[1]}"
