#!/usr/bin/env bash
# Runs kiln's libFuzzer targets (fuzz/), each for SECONDS, from seed corpora made from the test
# fixtures (fuzz/make_seeds.py; make the fixtures first: scripts/test.sh does) plus the corpus that
# earlier runs grew in build-address-undefined/fuzz/corpus/. Every crash input a fix came with
# (fuzz/regressions/TARGET/) runs first. Prints one line per target (executions, rate, corpus,
# crashes) and appends them to build-address-undefined/fuzz/summary.txt; fails on any crash, whose
# input is left in build-address-undefined/fuzz/artifacts/TARGET/.
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]   (default 60 s, every target)
#        scripts/fuzz.sh ci   (CI: a fixed seed and a fixed number of runs per target, about a minute
#                             each on two cores, from the seeds alone, so that a run repeats)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
# Runs per target in CI mode, from the rates of the sanitizer build on a 2-core machine.
declare -A ci_runs=([calibration_table_fuzz]=40000 [conversion_record_fuzz]=60000 [engine_file_fuzz]=30000
                    [npy_fuzz]=300000 [npz_fuzz]=60000 [onnx_fuzz]=5000 [savedmodel_fuzz]=800
                    [tensor_bundle_fuzz]=12000)
main="${KILN_BUILD_DIR:-build}"
build="$(bash scripts/sanitizer_build.sh address,undefined kiln_fuzz_targets)"
work="$build/fuzz"
python3 fuzz/make_seeds.py --fixtures "$main/fixtures" --onnx-node-tests "$main/onnx-node-tests" \
  --kiln "$main/kiln" --out "$work/seeds" > /dev/null
targets=("$@")
if ((${#targets[@]} == 0)); then
  for t in fuzz/*_fuzz.cc; do targets+=("$(basename "$t" .cc)"); done
fi
# Leaks are found by the sanitized test suite; here they would stop a campaign at its first one.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The largest tensor a model may make kiln allocate (kiln/limits.h), under libFuzzer's malloc limit:
# a bigger one must be refused with an error; an allocation past 2 GiB, or 4 GiB held, is reported
# as a crash.
export KILN_MAX_TENSOR_BYTES=$((1 << 28))

run_target() {
  local t="$1" bin="$work/$1" log="$work/logs/$1.log"
  mkdir -p "$work/corpus/$t" "$work/artifacts/$t" "$work/logs" "$work/seeds/$t"
  local regressions=(fuzz/regressions/"$t"/*)
  if [[ -e "${regressions[0]}" ]] && ! "$bin" "${regressions[@]}" > "$log.regressions" 2>&1; then
    echo "$t: a regression input crashes again (see $log.regressions)"
    return 1
  fi
  local rc=0 budget=(-max_total_time="$seconds") corpus="$work/corpus/$t"
  if [[ "$seconds" == ci ]]; then
    budget=(-seed=1 -runs="${ci_runs[$t]:-10000}")
    corpus="$work/ci-corpus/$t"
    rm -rf "$corpus" && mkdir -p "$corpus"
  fi
  "$bin" "${budget[@]}" -timeout=60 -rss_limit_mb=4096 -malloc_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$t/" "$corpus" "$work/seeds/$t" > "$log" 2>&1 || rc=$?
  local runs rate
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  local held verdict="no crash"
  held=$(find "$corpus" -type f | wc -l)
  if ((rc != 0)); then
    # The first report in the log says what went wrong (a stack trace follows it); then the input.
    verdict="CRASH: $(grep -m1 -E 'ERROR: |runtime error: |deadly signal' "$log" || echo "exit $rc");\
 $(grep -m1 -o 'Test unit written to .*' "$log" || echo "no input written")"
  fi
  printf '%s %-24s %6s s %12s executions %8s/s corpus %6s  %s\n' "$(date -u +%FT%TZ)" "$t" "$seconds" \
    "${runs:-?}" "${rate:-?}" "$held" "$verdict" | tee -a "$work/summary.txt"
  # The report itself too, for a CI log that is all one gets.
  ((rc == 0)) || grep -m1 -A 40 -E 'ERROR: |runtime error: |deadly signal' "$log" | sed "s/^/$t: /" >&2
  return "$rc"
}

failed=0
running=0
for t in "${targets[@]}"; do
  run_target "$t" &
  running=$((running + 1))
  if ((running >= $(nproc))); then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
exit "$failed"
