#!/usr/bin/env bash
# make bench: the checkpoint benchmarks (docs/benchmarks.md). Bounded in time;
# everything runs on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== checkpoint machinery (one store) =="
build/bin/hearth-bench-checkpoint --keys "${BENCH_KEYS:-1000000}"
echo
echo "== node: restore, latency under checkpoints, restart after SIGKILL =="
node bench/node_bench.js --keys "${BENCH_KEYS:-1000000}"
