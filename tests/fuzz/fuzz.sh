#!/usr/bin/env bash
# Runs the libFuzzer targets for a while: `bash tests/fuzz/fuzz.sh SECONDS [target...]`
# (`make fuzz SECONDS=N [FUZZ_TARGETS="rtp sdp"] [FUZZ_JOBS=2]`). Each target starts from its
# committed corpus (read only) and writes what it finds to a scratch corpus,
# $BUILD/fuzz/work/<target>/, which later runs continue from; crashes go to
# $BUILD/fuzz/artifacts/<target>/ (copy a minimised one into tests/fuzz/corpus/<target>/ as a
# regression input once the bug is fixed). Prints executions, coverage (cov: edges, ft:
# features), corpus size and findings per target; exits non-zero if any target found something.
set -u
BUILD=${BUILD:-build}
SECS=${1:-60}
shift || true
JOBS=${FUZZ_JOBS:-2}
dir="$BUILD/fuzz"
if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for src in tests/fuzz/fuzz_*.c; do
		n=$(basename "$src" .c)
		targets+=("${n#fuzz_}")
	done
fi

run_target() {
	local t=$1 bin="$dir/fuzz_$1"
	local work="$dir/work/$t" art="$dir/artifacts/$t/" log="$dir/logs/$t.log"
	mkdir -p "$work" "$art" "$(dirname "$log")"
	"$bin" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$art" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
	echo $? >"$log.rc"
}

for t in "${targets[@]}"; do
	[ -x "$dir/fuzz_$t" ] || { echo "missing $dir/fuzz_$t (make fuzz-build)"; exit 1; }
done
echo "fuzzing ${#targets[@]} target(s) for $SECS s each, $JOBS at a time"
running=0
for t in "${targets[@]}"; do
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_target "$t" &
	running=$((running + 1))
done
wait

status=0
printf '%-10s %12s %8s %8s %8s %8s %s\n' target execs exec/s cov ft corpus findings
for t in "${targets[@]}"; do
	log="$dir/logs/$t.log"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | grep ' cov: ' | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
	found=$(find "$dir/artifacts/$t" -type f -newer "$log.rc" -o -type f -newer "$dir/fuzz_$t" \
		2>/dev/null | wc -l)
	rc=$(cat "$log.rc" 2>/dev/null || echo 1)
	[ "$rc" -ne 0 ] && status=1
	printf '%-10s %12s %8s %8s %8s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
		"${ft:-?}" "${corp:-?}" "$([ "$rc" -eq 0 ] && echo 0 || echo "rc=$rc, $found artifact(s), see $log")"
done
exit $status
