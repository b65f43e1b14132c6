#!/usr/bin/env bash
# mem-per-peer.sh N [N...] - server memory and CPU per participant: for each N, a fresh build/mcu
# in a loopback-only network namespace (root, unshare -n) with max_participants 1000, and N
# mcu-load clients in ONE room for DURATION s (360p VP8 + Opus each, receivers on). Near the
# end it samples the server's VmRSS, its smaps_rollup (heap vs other anonymous memory) and the
# CPU of the server and of mcu-load over the run. One line per N; fit the slope between lines.
#
# Environment: BUILD (build), MCU ($BUILD/mcu: the server), CLIP ($BUILD/bench-media/360p/c1.webm), DURATION (30),
# OUT ($BUILD/mem) for the logs and mcu-load's JSON, PERF (unset; set: `perf stat` counts the
# server's instructions and cycles from 8 s in to 2 s before the end, into $OUT/perf-N.csv).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MCU=${MCU:-$BUILD/mcu}
CLIP=${CLIP:-$BUILD/bench-media/360p/c1.webm}
DURATION=${DURATION:-30}
OUT=${OUT:-$BUILD/mem}
mkdir -p "$OUT"
echo '{"max_participants": 1000}' >"$OUT/config.json"

# cpu_s PID: user + system CPU seconds of PID so far.
cpu_s() {
	awk -v t="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"
}

if [ "${1:-}" = --inner ]; then
	n=$2
	ip link set lo up
	"$MCU" --bind 127.0.0.1 --port 18080 --log-level warn --config "$OUT/config.json" \
		>"$OUT/mcu-$n.log" 2>&1 &
	srv=$!
	sleep 0.5
	"$BUILD/mcu-load" --url ws://127.0.0.1:18080/ws --video "$CLIP" --clients "$n" \
		--duration "$DURATION" --join-rate 20 --server-pid "$srv" --json "$OUT/load-$n.json" \
		>"$OUT/load-$n.log" 2>&1 &
	gen=$!
	t0=$(date +%s.%N) s0=$(cpu_s "$srv")
	if [ -n "${PERF:-}" ]; then # instructions and cycles of the server, after joining
		sleep 8
		perf stat -x, -e instructions,cycles -p "$srv" -- sleep $((DURATION - 10)) \
			2>"$OUT/perf-$n.csv"
	else
		sleep $((DURATION - 2))
	fi
	t1=$(date +%s.%N) s1=$(cpu_s "$srv") g1=$(cpu_s "$gen")
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$srv/status")
	heap=$(awk '/\[heap\]/ { h = 1 } h && /^Rss/ { print $2; exit }' "/proc/$srv/smaps")
	anon=$(awk '/^Anonymous/ { print $2 }' "/proc/$srv/smaps_rollup")
	thr=$(awk '/^Threads/ { print $2 }' "/proc/$srv/status")
	wait "$gen" || true
	kill "$srv"
	wait "$srv" || true
	awk -v n="$n" -v r="$rss" -v h="$heap" -v a="$anon" -v th="$thr" -v sc="$(echo "$s1 - $s0" | bc)" \
		-v gc="$g1" -v dt="$(echo "$t1 - $t0" | bc)" 'BEGIN {
		printf "N=%d rss=%.1fMiB heap=%.1fMiB anon=%.1fMiB threads=%d server_cpu=%.0f%% load_cpu=%.0f%%\n",
			n, r / 1024, h / 1024, a / 1024, th, 100 * sc / dt, 100 * gc / dt }'
	exit 0
fi
for n in "$@"; do
	unshare -n bash "$0" --inner "$n"
done
