#!/usr/bin/env bash
# make bench: the side-by-side benchmark (bench/compare.js), then the
# checkpoint benchmarks. Bounded in time; everything runs on 127.0.0.1 and
# stops by itself. Usage: bench/run.sh [build dir, default build-release]
# Environment: BENCH_SECONDS (5), BENCH_REPEATS (3), BENCH_ADDRESSES (1000000),
# BENCH_KEYS (checkpoint benchmarks, 1000000), BENCH_CHECKPOINTS=0 to skip those,
# BENCH_CLUSTER_KEYS (keys of state during the cluster's live rescale, 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-release}"
echo "== side by side: Hearth and Restate (results in $build/bench/) =="
node bench/compare.js --bin "$build/bin" --out "$build/bench" \
  --seconds "${BENCH_SECONDS:-5}" --repeats "${BENCH_REPEATS:-3}" \
  --addresses "${BENCH_ADDRESSES:-1000000}"
echo
echo "== cluster: one node and three side by side, and a live rescale (results in $build/bench/cluster/) =="
node bench/cluster_bench.js --bin "$build/bin" --out "$build/bench/cluster" \
  --seconds "${BENCH_SECONDS:-5}" --repeats "${BENCH_REPEATS:-3}" --keys "${BENCH_CLUSTER_KEYS:-100000}"
if [ "${BENCH_CHECKPOINTS:-1}" != "0" ]; then
  echo
  echo "== checkpoint machinery (one store) =="
  "$build/bin/hearth-bench-checkpoint" --keys "${BENCH_KEYS:-1000000}"
  echo
  echo "== node: restore, latency under checkpoints, restart after SIGKILL =="
  node bench/node_bench.js --bin "$build/bin" --keys "${BENCH_KEYS:-1000000}"
fi
