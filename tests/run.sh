#!/usr/bin/env bash
# Runs the test suites: `unit` (cmocka binaries in $BUILD/tests), `oracle` (scripts in
# tests/oracle that compare our output with ffmpeg's), `e2e` (real browsers against the server,
# in a loopback-only network namespace), or `all`. Exits non-zero if any fails.
# `tsan` (make tsan, a ThreadSanitizer build in $BUILD): every unit test and the e2e tests named
# in TSAN_E2E; any ThreadSanitizer report from any process a test runs fails that test.
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

# tsan_run NAME CMD...: runs CMD with ThreadSanitizer's reports going to a directory of NAME's
# own (log_path is inherited by every process CMD starts: servers, mcu-load). Returns 66 and
# prints the reports if any report file appears there (whatever CMD's status), else CMD's status.
tsan_run() {
	local dir="$PWD/$BUILD/tests/logs/tsan/$1"; shift
	rm -rf "$dir" && mkdir -p "$dir"
	local rc=0
	TSAN_OPTIONS="log_path=$dir/report exitcode=66 halt_on_error=0 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}" \
		"$@" || rc=$?
	local reports=("$dir"/report*)
	if [ -e "${reports[0]}" ]; then
		echo "ThreadSanitizer reports (${#reports[@]} file(s) in $dir):"
		cat "${reports[@]}"
		return 66
	fi
	return "$rc"
}

# tsan_e2e NAME: one end-to-end test (tests/e2e/NAME.test.mjs, or NAME.mjs for a test that only
# make tsan runs) under tsan_run. A failure without any ThreadSanitizer report (a timing
# assertion missed on a loaded machine: TSan makes the server several times slower) is retried
# once; a report always fails at once.
tsan_e2e() {
	local f="tests/e2e/$1.test.mjs" rc=0
	[ -f "$f" ] || f="tests/e2e/$1.mjs"
	tsan_run "e2e/$1" bash tests/e2e/run.sh "$f" || rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 66 ]; then
		echo "RETRY e2e/$1: failed (status $rc) with no ThreadSanitizer report; once more"
		rc=0
		tsan_run "e2e/$1" bash tests/e2e/run.sh "$f" || rc=$?
	fi
	return "$rc"
}

# The pipeline's own check: a deliberately racy program, under a parent that exits 0 whatever
# it reports, must still fail tsan_run (through its report file) with a data race in the report.
tsan_selftest() {
	local out
	out=$(tsan_run selftest bash -c '"$1" >/dev/null; exit 0' _ "$BUILD/tests/tools/tsan_racy") &&
		{ echo "a racy program passed under tsan_run"; return 1; }
	grep -q "WARNING: ThreadSanitizer: data race" <<<"$out" ||
		{ echo "no data race reported for the racy program:"; echo "$out"; return 1; }
	echo "tsan_racy failed the run as it should:"
	echo "$out"
}

if [ "$what" = tsan ]; then
	run_one "tsan/selftest" tsan_selftest
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.o|*.d) continue ;; esac
		run_one "tsan/unit/$(basename "$t")" tsan_run "unit/$(basename "$t")" "$t"
	done
	for e in ${TSAN_E2E-}; do
		run_one "tsan/e2e/$e" tsan_e2e "$e"
	done
fi
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
	# mcu-cascade: 2 nodes, 12 participants, 2 s; frames cross nodes, no echo (seconds).
	run_one "bench/cascade" bash tests/cascade_smoke.sh
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
