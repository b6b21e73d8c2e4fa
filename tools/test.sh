#!/usr/bin/env bash
# The README's second command: installs what is missing, builds and runs the
# whole test suite through CTest.
#   tools/test.sh             normal build in build/
#   tools/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/tools/setup-deps.sh"
dir=build
args=()
if [ "${1:-}" = "--sanitize" ]; then dir=build-asan; args=(--sanitize); fi
"$root/tools/build.sh" "${args[@]}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd "$root/$dir"
ctest --output-on-failure -j "$(nproc)"
