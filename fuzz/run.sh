#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer's coverage instrumentation on the machine's own
# toolchain (no cargo-fuzz or nightly needed) and runs each for a time budget, starting from
# fuzz/seeds/<target> and fuzz/regressions/<target> (inputs that once failed), and keeping
# the inputs that reach new code in target/fuzz/corpus/<target>, so that the next run goes
# on where this one stopped.
#
#   fuzz/run.sh [--seconds N] [--seeds] [TARGET ...]
#
#   --seconds N   per target, 60 by default (tests/run.sh gives 8)
#   --seeds       run only the seeds, printing every refusal (what the seeds reach)
#   TARGET        jsonl compressed json csv npy numpy_dir vecs schema rows (all by default)
#
# A panic, an input that runs over 10 s, or one that makes the process hold over 2 GiB (an
# unbounded allocation) stops the run: libFuzzer saves the input under
# target/fuzz/artifacts/<target>/ and this script exits 1. Replay one with
#   target/fuzz/<host triple>/release/<target> <saved input>
set -euo pipefail
cd "$(dirname "$0")"

seconds=60
seeds_only=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --seeds) seeds_only=1; shift ;;
    -h|--help) sed -n '2,17p' "$(basename "$0")" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  targets=(jsonl compressed json csv npy numpy_dir vecs schema rows)
fi

# cargo-fuzz's flags with no sanitizer: coverage counters and comparison tracing for
# libFuzzer, debug assertions and overflow checks on. --target keeps them off build scripts.
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
out=../target/fuzz
# The targets write the inputs they read here (one folder per process), removed at the end.
export TMPDIR="$PWD/$out/tmp"
mkdir -p "$TMPDIR"
trap 'rm -rf "$TMPDIR"' EXIT
cargo build --release --locked --bins --target "$host" --target-dir "$out"

status=0
total=0
for target in "${targets[@]}"; do
  binary="$out/$host/release/$target"
  log="$out/logs/$target.log"
  mkdir -p "$out/corpus/$target" "$out/artifacts/$target" "$out/logs"
  if [ "$seeds_only" = 1 ]; then
    echo "fuzz $target: $(find "seeds/$target" -type f | wc -l) seeds; what they are refused for:"
    BULKWRITER_FUZZ_VERBOSE=1 "$binary" -runs=0 "seeds/$target" 2>&1 |
      grep -E "refused|ERROR|panicked" | sort | uniq -c | sort -rn || true
    continue
  fi
  set +e
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$target/" "$out/corpus/$target" "seeds/$target" \
    $(ls -d "regressions/$target" 2>/dev/null) >"$log" 2>&1
  code=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  corpus=$(find "$out/corpus/$target" -type f | wc -l)
  total=$((total + ${runs:-0}))
  if [ "$code" = 0 ]; then
    echo "fuzz $target: ${runs:-0} inputs in ${seconds} s, ${cov} coverage points, corpus ${corpus}"
  else
    echo "fuzz $target: FAILED (exit $code) after ${runs:-?} inputs; libFuzzer's report:"
    grep -E -A 30 "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -60
    status=1
  fi
done
if [ "$seeds_only" = 0 ]; then
  echo "fuzz: ${total} inputs in all"
fi
exit "$status"
