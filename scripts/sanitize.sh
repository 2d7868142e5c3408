#!/usr/bin/env bash
# Runs the test suite against an AddressSanitizer + UndefinedBehaviorSanitizer build of the
# addon (cmake-js, same sources and defines). The sanitized binary replaces
# build/Release/uvscope.node for the run; the node-gyp build is restored afterwards.
#   bash scripts/sanitize.sh [vitest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
restore() { npm run --silent build:native >/dev/null 2>&1 || echo "restore failed: run npm run build:native"; }
trap restore EXIT

node scripts/cmake-build.mjs --sanitize --out build
asan=$(g++ -print-file-name=libasan.so)
ubsan=$(g++ -print-file-name=libubsan.so)
# Node itself is not built with ASan, which shapes three options:
# - detect_leaks=0: leak checking at exit would report Node's own allocations;
# - strict_memcmp=0: V8 compares strings with memcmp over their full length even when they
#   differ early; strict mode reports those reads as overflows inside V8 (no uvscope frame);
# - quarantine_size_mb=16: freed memory stays resident for a while; the default 256 MB
#   quarantine inflates the RSS that tests bound;
# - allow_user_segv_handler=0: Node installs its own SIGSEGV handler (WebAssembly trap
#   handling) over ASan's, and a bad access then ends as a bare "Segmentation fault"; with
#   this ASan keeps the signal and prints a report with the faulting frame.
# Every other ASan and UBSan check stays on and is fatal.
export LD_PRELOAD="$asan:$ubsan"
export ASAN_OPTIONS=detect_leaks=0:allow_user_segv_handler=0:strict_memcmp=0:quarantine_size_mb=16:abort_on_error=1:halt_on_error=1:strict_init_order=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
node -e "
  require('./build/Release/uvscope.node');
  const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
  if (!maps.includes('libasan') || !maps.includes('libubsan')) throw new Error('sanitizer runtimes not loaded');
  console.log('sanitized addon loaded');
"
# Regression check for allow_user_segv_handler=0: a crash ends as an ASan report with its
# frames, not as Node's bare "Segmentation fault" (with =1 this prints nothing at all).
crash=$(node -e "process.kill(process.pid, 'SIGSEGV')" 2>&1 || true)
if ! grep -q 'AddressSanitizer: SEGV' <<<"$crash"; then
  echo "a crash under the sanitizers did not end as an ASan report:"
  echo "$crash" | head -5
  exit 1
fi
echo "a crash ends as an ASan report"
npx vitest run "$@"
