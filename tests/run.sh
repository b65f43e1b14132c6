#!/usr/bin/env bash
# Runs the test suites: `unit` (cmocka binaries in $BUILD/tests), `oracle` (scripts in
# tests/oracle that compare our output with ffmpeg's), `e2e` (real browsers against the server,
# in a loopback-only network namespace), or `all`. Exits non-zero if any fails.
set -u
BUILD=${BUILD:-build}
export BUILD
export MIX_MEDIA=${MIX_MEDIA:-assets/media}
what=${1:-all}
pass=0; fail=0; failed=()

run_one() {
	local name=$1; shift
	local log="$BUILD/tests/logs/$name.log"
	mkdir -p "$(dirname "$log")"
	local t0=$SECONDS
	if "$@" >"$log" 2>&1; then
		pass=$((pass + 1)); echo "PASS $name ($((SECONDS - t0)) s)"
	else
		fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (log: $log)"
		tail -n 30 "$log" | sed 's/^/    /'
	fi
}

if [ "$what" = unit ] || [ "$what" = all ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.o|*.d) continue ;; esac
		run_one "unit/$(basename "$t")" "$t"
	done
fi
if [ "$what" = oracle ] || [ "$what" = all ]; then
	for t in tests/oracle/*.sh; do
		[ "$(basename "$t")" = lib.sh ] && continue
		[ -f "$t" ] || continue
		run_one "oracle/$(basename "$t" .sh)" bash "$t"
	done
fi
if [ "$what" = bench ] || [ "$what" = all ]; then
	# A few seconds of mcu-bench: every scenario and both peers must run (no timings checked).
	run_one "bench/smoke" bash tests/bench_smoke.sh
fi
if [ "$what" = fuzz ] || [ "$what" = all ]; then
	# Replays the committed fuzz corpora through each target (tests/fuzz/replay.sh).
	if [ -f tests/fuzz/replay.sh ]; then
		run_one "fuzz/replay" bash tests/fuzz/replay.sh
	fi
fi
if [ "$what" = e2e ] || [ "$what" = all ]; then
	for t in tests/e2e/*.test.mjs; do
		[ -f "$t" ] || continue
		run_one "e2e/$(basename "$t" .test.mjs)" bash tests/e2e/run.sh "$t"
	done
fi
echo "passed: $pass, failed: $fail"
[ "$fail" -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
[ "$pass" -gt 0 ] || { echo "no tests ran"; exit 1; }
