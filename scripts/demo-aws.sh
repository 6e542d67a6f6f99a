#!/usr/bin/env bash
# make demo-aws: the shopping cart as deployed on AWS, on this machine: the
# requests come in on Kinesis streams and the results go out on others
# (kinesalite), the checkpoints go to an S3 bucket (s3rver), and the functions
# are an HTTP server. Drives a few carts through Kinesis, prints the results
# read from the egress streams and the checkpoints in the bucket, and keeps
# running until Ctrl-C (HEARTH_DEMO_ONCE=1: stops after that). See
# examples/aws/README.md.
#
# Every port is a free one chosen at start (printed); logs and data are in
# build/demo-aws/ ($HEARTH_DEMO_DATA), the node is $HEARTH_NODE
# (default build/bin/hearth-node).
set -euo pipefail
cd "$(dirname "$0")/.."

hearth_node=${HEARTH_NODE:-build/bin/hearth-node}
hearth_cli=${HEARTH_CLI:-$(dirname "$hearth_node")/hearth}
root=${HEARTH_DEMO_DATA:-build/demo-aws}
bucket=hearth-checkpoints
prefix=demo
rm -rf "$root"
mkdir -p "$root"
pids=()
node_pid=
# The node first, so that its last checkpoint still reaches the bucket. Ctrl-C
# reaches the node as well; a second signal would stop it at once, so it gets
# time to finish first.
stop() {
  trap - INT TERM EXIT
  echo
  echo "demo-aws: stopping"
  if [ "${1:-}" = INT ] && [ -n "$node_pid" ]; then
    for _ in $(seq 1 300); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
trap 'stop INT' INT
trap stop TERM EXIT

# wait_for LOG PATTERN WHAT: until PATTERN is in LOG (30 s), while the last
# process started runs.
wait_for() {
  local log=$1 pattern=$2 what=$3
  for _ in $(seq 1 300); do
    grep -q "$pattern" "$log" 2>/dev/null && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "demo-aws: $what did not start ($log):" >&2
  tail -n 20 "$log" >&2
  exit 1
}

# Kinesis with its four streams and S3 with the bucket, on free ports, in a
# session of their own: Ctrl-C must not stop them before the node.
KINESIS_PORT=0 S3_PORT=0 S3_DIR="$root/s3" \
  setsid node --openssl-legacy-provider examples/aws/local-aws.js > "$root/local-aws.log" 2>&1 &
pids+=($!)
wait_for "$root/local-aws.log" 'local-aws ready' 'kinesalite and s3rver'
kinesis=$(sed -n 's/^kinesis \(http[^ ]*\) .*/\1/p' "$root/local-aws.log")
s3=$(sed -n 's/^s3 \(http[^ ]*\) .*/\1/p' "$root/local-aws.log")

PORT=0 node examples/aws/functions.js > "$root/functions.log" 2>&1 &
pids+=($!)
wait_for "$root/functions.log" 'listening on' 'the functions'
functions=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$root/functions.log")

# The module with the addresses of this run.
sed -e "s|http://127.0.0.1:8000/|$functions/|" -e "s|http://127.0.0.1:4567|$kinesis|" \
  examples/aws/module.yaml > "$root/module.yaml"
if grep -q -e 'http://127.0.0.1:8000/' -e 'http://127.0.0.1:4567' "$root/module.yaml"; then
  echo "demo-aws: examples/aws/module.yaml changed: its addresses were not replaced" >&2
  exit 1
fi

AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 \
  "$hearth_node" --module "$root/module.yaml" --data-dir "$root/data" \
  --checkpoint-dir "s3://$bucket/$prefix" --set "s3.endpoint=$s3" --admin-port 0 \
  2> "$root/node.log" &
node_pid=$!
pids+=($node_pid)
wait_for "$root/node.log" 'hearth-node ready' 'hearth-node'
admin=http://$(sed -n 's/^hearth-node ready.* admin=\([^ ]*\).*/\1/p' "$root/node.log")

cat <<TXT
== AWS on this machine ==
Kinesis    $kinesis   (kinesalite) in: cart-requests, inventory-requests; out: cart-results, inventory
S3         $s3   (s3rver)     checkpoints in s3://$bucket/$prefix/
functions  $functions   (examples/aws/functions.js)
hearth     admin $admin   (module $root/module.yaml, logs $root/*.log)

== driving the shopping cart through Kinesis ==
TXT
KINESIS=$kinesis node examples/aws/drive.js

# A checkpoint now, so that the bucket holds one with the carts in it.
"$hearth_cli" --node "$admin" checkpoints trigger > /dev/null
echo
echo "== checkpoints in s3://$bucket/$prefix/ (objects as s3rver stores them under $root/s3/$bucket/) =="
objects=$(cd "$root/s3/$bucket" && find "$prefix" -name '*._S3rver_object' -printf '%s %p\n' | sort -k2)
if ! grep -q '/manifest-' <<< "$objects"; then
  echo "demo-aws: no checkpoint in the bucket ($root/node.log says why)" >&2
  exit 1
fi
echo "$objects" | grep '/manifest-' | while read -r size key; do
  printf '  %-48s %6d bytes\n' "${key%._S3rver_object}" "$size"
done
echo "  and $(echo "$objects" | grep -vc '/manifest-') part objects (part-<checkpoint>-p<partition>.full or .delta)"
echo "The newest manifest's Kinesis shard positions:"
# Newest first; one being written by s3rver right now is skipped.
echo "$objects" | grep '/manifest-' | cut -d' ' -f2 | sort -r | (cd "$root/s3/$bucket" && xargs node -e '
  for (const file of process.argv.slice(1)) {
    let m;
    try { m = JSON.parse(require("fs").readFileSync(file, "utf8")); } catch (e) { continue; }
    for (const [k, v] of Object.entries(m.connector_positions || {})) console.log(`  ${k} = ${v}`);
    break;
  }
')

[ "${HEARTH_DEMO_ONCE:-}" = 1 ] && exit 0
cat <<TXT

== Hearth is running: requests and results on Kinesis, checkpoints in S3 ==
Web console: $admin/  (Actors -> com.example/cart -> alice)
Try, in another terminal:
  KINESIS=$kinesis node examples/aws/drive.js     # restock, the same carts again
  $hearth_cli --node $admin state com.example/cart alice
  $hearth_cli --node $admin checkpoints
  ls $root/s3/$bucket/$prefix/
With the AWS CLI (s3rver wants its own keys, kinesalite takes any):
  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 \\
    aws --endpoint-url $s3 s3 ls s3://$bucket/$prefix/
  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 \\
    aws --endpoint-url $kinesis kinesis describe-stream-summary --stream-name cart-results
Press Ctrl-C to stop.
TXT
wait "$node_pid"
