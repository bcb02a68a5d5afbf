#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz/targets, a standalone CMake project) with clang++,
# ASan and UBSan. Incremental: a second run only rebuilds what changed.
#   tests/fuzz/build.sh [BUILD_DIR]
# BUILD_DIR defaults to $PAYMUX_FUZZ_BUILD_DIR, else build-fuzz-clang/ in the checkout.
# Compiler: $PAYMUX_FUZZ_CXX, else the first of clang++, clang++-19 .. clang++-14 on PATH
# (Debian 12: apt-get install clang libclang-rt-14-dev; scripts/deps installs both).
# Exits 77 (the fuzz tests' CTest SKIP_RETURN_CODE) when no clang++ with libFuzzer is found.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

case "${1:-}" in
  -h | --help)
    print_usage
    exit 0
    ;;
esac
build=${1:-${PAYMUX_FUZZ_BUILD_DIR:-$PAYMUX_ROOT/build-fuzz-clang}}
skip() {
  log "SKIP: $*"
  exit 77
}

cxx=${PAYMUX_FUZZ_CXX:-}
if [[ -z $cxx ]]; then
  for candidate in clang++ clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14; do
    if command -v "$candidate" >/dev/null; then
      cxx=$(command -v "$candidate")
      break
    fi
  done
fi
[[ -n $cxx ]] || skip "no clang++ found (Debian 12: apt-get install clang libclang-rt-14-dev)"
command -v cmake >/dev/null || skip "cmake not found"

mkdir -p "$build"
# why: clang without its runtime package links -fsanitize=fuzzer only if libclang_rt.fuzzer is
# installed; probe once per compiler so a missing package is a skip, not a build failure.
probe_stamp="$build/.libfuzzer-ok"
if [[ ! -f $probe_stamp || $(<"$probe_stamp") != "$cxx" ]]; then
  probe_dir=$(mktemp -d)
  trap 'rm -rf "$probe_dir"' EXIT
  printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
    'extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }' >"$probe_dir/p.cc"
  if ! "$cxx" -std=c++20 -fsanitize=fuzzer,address,undefined "$probe_dir/p.cc" -o "$probe_dir/p" \
    >"$probe_dir/log" 2>&1; then
    cat "$probe_dir/log" >&2
    skip "$cxx cannot link -fsanitize=fuzzer,address,undefined (Debian 12: apt-get install libclang-rt-14-dev)"
  fi
  printf '%s' "$cxx" >"$probe_stamp"
fi

log "building fuzz targets with $cxx in $build"
cmake -S "$PAYMUX_ROOT/tests/fuzz/targets" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=Fuzz >/dev/null || die "configuring $build failed"
cmake --build "$build" -j"${PAYMUX_FUZZ_JOBS:-2}" || die "building fuzz targets failed"
