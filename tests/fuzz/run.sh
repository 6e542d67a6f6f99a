#!/usr/bin/env bash
# Runs fuzz targets: run.sh BIN_DIR SECONDS [TARGET...] (default: every
# target). SECONDS "-" takes $HEARTH_FUZZ_SECONDS, default 15 (a regression
# run of the corpus); `make fuzz` passes 300. Each starts from its seed corpus in corpus/<target>/;
# inputs that find new paths go to BIN_DIR/../fuzz-corpus/<target>/, crashes
# to BIN_DIR/../fuzz-artifacts/<target>/. Exits non-zero on the first crash,
# leak or timeout, which names the input that caused it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$1"
seconds="${2:--}"
[ "$seconds" = "-" ] && seconds="${HEARTH_FUZZ_SECONDS:-15}"
case "$seconds" in
  ''|*[!0-9]*) echo "run.sh: SECONDS must be a number or '-', got '$seconds'" >&2; exit 2 ;;
esac
shift 2 || shift $#
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(from_function to_function module_yaml ingress_request ingress_log checkpoint_files admin_api)
fi
out="$(dirname "$bin")"
for t in "${targets[@]}"; do
  work="$out/fuzz-corpus/$t"
  artifacts="$out/fuzz-artifacts/$t/"
  mkdir -p "$work" "$artifacts" "$here/corpus/$t"
  echo "fuzz: $t for ${seconds}s"
  "$bin/fuzz-$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$artifacts" "$work" "$here/corpus/$t" 2>"$out/fuzz-$t.log" || {
      tail -60 "$out/fuzz-$t.log"
      echo "fuzz: $t failed; the input is in $artifacts" >&2
      exit 1
    }
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$out/fuzz-$t.log" | sed "s/^/fuzz: $t /"
done
