#!/usr/bin/env bash
# Bad inputs and outputs: a clear message naming the file, exit status 1 (2 for bad usage),
# and nothing half-written left behind.
. "$(dirname "$0")/lib.sh"
expect_fail() { # expect_fail STATUS PATTERN ARGS...
	local want=$1 pat=$2
	shift 2
	set +e
	"$MIX" -q "$@" >"$WORK/out.txt" 2>&1
	local rc=$?
	set -e
	[ "$rc" -eq "$want" ] || fail "mcu-mix $* exited $rc, expected $want: $(cat "$WORK/out.txt")"
	grep -q -- "$pat" "$WORK/out.txt" || fail "message for '$*' lacks '$pat': $(cat "$WORK/out.txt")"
	echo "ok: $* -> $rc: $(head -n1 "$WORK/out.txt")"
}
expect_fail 1 "$WORK/missing.webm" "$WORK/missing.webm" -o "$WORK/o.webm"
expect_fail 1 "corrupt.webm" "$MEDIA/corrupt.webm" -o "$WORK/o.webm"
expect_fail 1 "noav.mkv" "$MEDIA/p1.webm" "$MEDIA/noav.mkv" -o "$WORK/o.webm"
expect_fail 1 "/nonexistent-dir/o.webm" "$MEDIA/p1.webm" -o /nonexistent-dir/o.webm
expect_fail 1 "o.mp4" "$MEDIA/p1.webm" -o "$WORK/o.mp4"
expect_fail 2 "usage" -o "$WORK/o.webm"
expect_fail 2 "bad value" "$MEDIA/p1.webm" -o "$WORK/o.webm" --size 12x
[ -e "$WORK/o.webm" ] && fail "an output was left behind"
if ls -A "$WORK" | grep -q part; then fail "a temporary file was left behind"; fi
# A truncated input is mixed as far as it goes, without crashing.
"$MIX" -q "$MEDIA/truncated.webm" "$MEDIA/p1.webm" -o "$WORK/t.webm"
check "duration with a truncated input (s)" "$(duration_of "$WORK/t.webm")" ">=" 3.85
echo "ok: truncated input"
