#!/usr/bin/env bash
# leak-check.sh - the churn scenario (tests/e2e/churn.test.mjs) against the server run under
# valgrind's memcheck: every join/leave path (kill -9, WebSocket close, leave message, a close
# mid-set-up, a viewer) a few times, then SIGTERM, then valgrind's leak report. Not run in CI
# (minutes, and `make asan` covers leaks with LeakSanitizer); run it by hand, as root (it needs
# a network namespace, like the end-to-end tests):
#
#   bench/leak-check.sh                     # build/mcu, 10 cycles
#   BUILD=/tmp/b CYCLES=5 bench/leak-check.sh
#   MODE=sendrecv bench/leak-check.sh       # video too (see below)
#
# memcheck runs the server 20-50x slower, and the media loop that mixes also runs ICE: a mix
# that does not keep up fails ICE consent (libnice: 10 s) for everyone. So by default every
# participant is audio-only (no VP8 decoded or encoded; MODE=sendrecv for video too, with a
# 320x180 mix at 10 fps and a 100 kbit/s uplink asked of the clients, which needs an idle,
# fast machine). Exit status: 0 when the churn test passes and valgrind reports no
# definitely or indirectly lost bytes and no memory errors.
# Full valgrind log: $BUILD/tests/logs/leak-check.valgrind.log.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CYCLES=${CYCLES:-10}
if [ -z "${MCU_IN_NETNS:-}" ]; then
	command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
	[ -x "$BUILD/mcu" ] || { echo "$BUILD/mcu is missing: make BUILD=$BUILD" >&2; exit 2; }
	exec unshare -n env MCU_IN_NETNS=1 BUILD="$BUILD" CYCLES="$CYCLES" bash "$0" "$@"
fi
ip link set lo up
logdir="$BUILD/tests/logs"
mkdir -p "$logdir"
vlog="$logdir/leak-check.valgrind.log"
rm -f "$vlog"
# GLib: plain malloc for slices, and zeroed memory on free, so valgrind sees every block.
export G_SLICE=always-malloc G_DEBUG=gc-friendly
export MCU_WRAPPER="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30 --log-file=$vlog"
export CHURN_MODE="${MODE:-audio-only}" CHURN_CYCLES="$CYCLES" CHURN_CONFIG='{"width":320,"height":180,"fps":10,"uplink_bitrate":100000}'
rc=0
node --test --test-reporter=spec tests/e2e/churn.test.mjs || rc=$?
echo "---- valgrind ($vlog)"
if [ -f "$vlog" ]; then
	grep -E "ERROR SUMMARY|definitely lost:|indirectly lost:|possibly lost:|still reachable:|Invalid (read|write)|uninitialised" "$vlog" \
		| sed 's/^==[0-9]*== *//' | sort | uniq -c | sed 's/^/    /'
	if grep -qE "definitely lost: [1-9]|indirectly lost: [1-9]|ERROR SUMMARY: [1-9]" "$vlog"; then
		echo "valgrind found leaks or memory errors; first records:"
		awk '/(definitely|indirectly) lost in loss record|Invalid (read|write)|uninitialised/{p=1} p{print; if (++n > 60) exit}' "$vlog" | sed 's/^/    /'
		rc=1
	fi
else
	echo "no valgrind log (did the server start?)"
	rc=1
fi
[ $rc -eq 0 ] && echo "PASS leak-check ($CYCLES cycles)" || echo "FAIL leak-check"
exit $rc
