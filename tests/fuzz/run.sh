#!/usr/bin/env bash
# Run the libFuzzer targets, each for SECONDS (default $PAYMUX_FUZZ_SECONDS, else 15), starting
# from its committed seeds in tests/fuzz/corpus/<target>/ (read only) plus what earlier runs
# found (BUILD_DIR/corpus/<target>/). Exits non-zero when a target crashes; the input is saved
# as BUILD_DIR/artifacts/<target>/crash-* and the command to reproduce it is printed.
#   tests/fuzz/run.sh                      every target, 15 s each (what CTest runs, label fuzz)
#   tests/fuzz/run.sh 600                  every target, 10 minutes each
#   tests/fuzz/run.sh 600 fuzz_config      one target
#   tests/fuzz/run.sh --no-build ...       skip the (incremental) build step
#   tests/fuzz/run.sh --build-dir DIR ...  default $PAYMUX_FUZZ_BUILD_DIR, else build-fuzz-clang/
# Exits 77 (skipped) when clang++ with libFuzzer is unavailable (see tests/fuzz/build.sh).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

ALL_TARGETS=(fuzz_request fuzz_webhook_sandbox fuzz_webhook_stripe fuzz_webhook_adyen fuzz_config
  fuzz_currency)

build_dir=${PAYMUX_FUZZ_BUILD_DIR:-$PAYMUX_ROOT/build-fuzz-clang}
seconds=${PAYMUX_FUZZ_SECONDS:-15}
do_build=1
targets=()
while (($# > 0)); do
  case $1 in
    -h | --help)
      print_usage
      exit 0
      ;;
    --no-build) do_build=0 ;;
    --build-dir)
      build_dir=$2
      shift
      ;;
    [0-9]*) seconds=$1 ;;
    fuzz_*) targets+=("$1") ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
  shift
done
((${#targets[@]} > 0)) || targets=("${ALL_TARGETS[@]}")
[[ $seconds =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number (got $seconds)"

if ((do_build)); then
  rc=0
  "$PAYMUX_ROOT/tests/fuzz/build.sh" "$build_dir" || rc=$?
  ((rc == 0)) || exit "$rc"
fi

# Per-target input limits: request and webhook bodies up to the default 64 KiB body limit.
max_len() {
  case $1 in
    fuzz_currency) echo 64 ;;
    fuzz_config) echo 16384 ;;
    *) echo 65536 ;;
  esac
}

# why not inherited: scripts/test --asan exports its own UBSAN/LSAN options, without the two
# RapidJSON suppressions these targets need.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export LSAN_OPTIONS=suppressions=$PAYMUX_ROOT/tests/fuzz/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$PAYMUX_ROOT/tests/fuzz/ubsan.supp

failed=()
for target in "${targets[@]}"; do
  bin="$build_dir/$target"
  if [[ ! -x $bin ]]; then
    # why: CTest runs this with --no-build after the fuzz_build fixture; when that was skipped
    # (no clang), there is no binary and this target is skipped too.
    if ((do_build)); then die "$bin was not built"; fi
    log "SKIP: $bin not built (tests/fuzz/build.sh skipped or not run)"
    exit 77
  fi
  seeds="$PAYMUX_ROOT/tests/fuzz/corpus/$target"
  work="$build_dir/corpus/$target"
  artifacts="$build_dir/artifacts/$target"
  mkdir -p "$work" "$artifacts"
  dict=()
  [[ -f $PAYMUX_ROOT/tests/fuzz/dict/$target.dict ]] &&
    dict=(-dict="$PAYMUX_ROOT/tests/fuzz/dict/$target.dict")
  log "$target: ${seconds}s from $seeds"
  started="$artifacts/.started"
  : >"$started"
  rc=0
  # why: new inputs go to the first (scratch) corpus dir; the committed seeds are only read.
  # -error_exitcode: libFuzzer's default, 77, is CTest's skip code here.
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$target")" \
    -error_exitcode=1 -timeout_exitcode=1 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "$work" "$seeds" \
    >"$build_dir/$target.log" 2>&1 || rc=$?
  tail -n 12 "$build_dir/$target.log" >&2
  if ((rc != 0)); then
    failed+=("$target")
    log "$target FAILED (exit $rc); full log: $build_dir/$target.log"
    grep -E "^==[0-9]+==ERROR|runtime error|invariant violated|SUMMARY" "$build_dir/$target.log" |
      head -n 5 >&2 || true
    for crash in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
      [[ -f $crash && ! $crash -ot $started ]] || continue
      log "  reproduce: $bin $crash"
      log "  keep as a regression seed: cp $crash tests/fuzz/corpus/$target/regress-<name>"
    done
  fi
done

if ((${#failed[@]} > 0)); then
  log "failed: ${failed[*]}"
  exit 1
fi
log "all ${#targets[@]} fuzz targets ran ${seconds}s without a finding"
