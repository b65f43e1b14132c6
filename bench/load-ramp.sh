#!/usr/bin/env bash
# load-ramp.sh - how much load the server keeps in real time (issue 6), measured by mcu-load's
# receivers over real ICE/DTLS/SRTP, with the server in a loopback-only network namespace.
#
# Usage (root, for unshare -n):
#   bash bench/load-ramp.sh [clients|rooms|viewers|both]  (default both; `make load-ramp`)
#     clients  participants in ONE room: +STEP_CLIENTS every INTERVAL s, up to MAX_CLIENTS
#     rooms    rooms of ROOM_SIZE side by side: +STEP_ROOMS rooms every INTERVAL s, up to
#              MAX_ROOMS
#     viewers  ONE room of SENDERS participants sending video and audio plus VIEWERS joining
#              receive-only, held for CAP_S s (two mcu-load processes, each judging its own)
# Each ramp runs once per value in LOOPS (the server's --loops), so `LOOPS="1 2"` measures the
# single media thread and one loop per core in the same run.
# Each ramp gets a fresh server from bench/with-server.sh (build/mcu on 127.0.0.1:18080 inside
# `unshare -n`; it exports MCU_PID, whose CPU and RSS mcu-load reads from /proc). A step holds
# when every client is in media and every receiver gets video at >= 80 % of 30 fps, audio at
# >= 80 % of 50 packets/s, no gap between video frames over 1 s and under 5 % loss (mcu-load
# --help); a failed step is measured once more, then the ramp stops. The largest step held is
# the result. Every participant sends CLIP (VP8 + Opus, replayed, never re-encoded).
#
# Environment:
#   BUILD (build)            where mcu-load is (the server is always build/mcu: with-server.sh)
#   CLIP                     default: mcu-bench's 360p participant, $BUILD/bench-media/360p/c1.webm
#                            (10 s testsrc2 at 800 kbit/s + Opus; made by bench/gen-bench-media.sh)
#   INTERVAL (10) SETTLE (4) seconds per step, and unmeasured at its start
#   STEP_CLIENTS (2) MAX_CLIENTS (25: the server's default max_participants)
#   ROOM_SIZE (4) STEP_ROOMS (1) MAX_ROOMS (16)
#   CAP_S (300)              time cap per ramp, seconds
#   LOOPS ("1 $(nproc)")     the --loops values to run every ramp with
#   SENDERS (20) VIEWERS (280) the viewers scenario (CAP_S defaults to 40 there)
#   OUT ($BUILD/load)        ramp-<what>-loops<L>.json and the logs go here
# The server gets a config with max_participants 1000 and max_rooms 1000, so the limits are
# the machine's, not the defaults (100 per room).
# Settings that reach this issue's sizes (docs/BENCHMARKS.md "Server load"):
#   STEP_CLIENTS=25 MAX_CLIENTS=300 bash bench/load-ramp.sh clients
#   MAX_ROOMS=24 bash bench/load-ramp.sh rooms
#   bash bench/load-ramp.sh viewers
# Exit status: non-zero if a ramp could not run (not when the server failed to keep up). The
# server is stopped after each ramp; one that does not exit within 5 s of SIGTERM is reported
# as hung ("ramp clients: server hung ...") and killed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/load}
CAP_S_GIVEN=${CAP_S:-}
INTERVAL=${INTERVAL:-10} SETTLE=${SETTLE:-4} CAP_S=${CAP_S:-300}
STEP_CLIENTS=${STEP_CLIENTS:-2} MAX_CLIENTS=${MAX_CLIENTS:-25}
ROOM_SIZE=${ROOM_SIZE:-4} STEP_ROOMS=${STEP_ROOMS:-1} MAX_ROOMS=${MAX_ROOMS:-16}
CLIP=${CLIP:-$BUILD/bench-media/360p/c1.webm}
LOOPS=${LOOPS:-"1 $(nproc)"} SENDERS=${SENDERS:-20} VIEWERS=${VIEWERS:-280}

# True while PID runs (a zombie has exited: with-server.sh reaps it later).
running() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# Inside with-server.sh (network namespace, server running): one ramp.
if [ "${1:-}" = --inner ]; then
	what=$2 tag=$3
	url=${MCU_URL/http:/ws:}/ws
	common=(--url "$url" --server-pid "$MCU_PID" --video "$CLIP" --ramp-interval "$INTERVAL"
		--settle "$SETTLE" --duration "$CAP_S" --retries 1)
	rc=0
	if [ "$what" = clients ]; then
		"$BUILD/mcu-load" "${common[@]}" --ramp clients --rooms 1 --clients "$MAX_CLIENTS" \
			--ramp-step "$STEP_CLIENTS" --room-prefix one --json "$OUT/ramp-$tag.json" || rc=$?
	elif [ "$what" = rooms ]; then
		"$BUILD/mcu-load" "${common[@]}" --ramp rooms --rooms "$MAX_ROOMS" \
			--clients "$ROOM_SIZE" --ramp-step "$STEP_ROOMS" --room-prefix side \
			--json "$OUT/ramp-$tag.json" || rc=$?
	else
		# Senders first, then the viewers join the same room; both run for CAP_S s.
		one=(--url "$url" --server-pid "$MCU_PID" --video "$CLIP" --rooms 1 --room-prefix big)
		"$BUILD/mcu-load" "${one[@]}" --clients "$SENDERS" --duration "$CAP_S" \
			--json "$OUT/ramp-$tag-senders.json" >"$OUT/ramp-$tag-senders.log" 2>&1 &
		spid=$!
		sleep 3
		"$BUILD/mcu-load" "${one[@]}" --clients "$VIEWERS" --recv-only \
			--duration "$((CAP_S - 3))" --json "$OUT/ramp-$tag.json" || rc=$?
		wait "$spid" || { r=$?; [ "$rc" -ne 0 ] || rc=$r; }
		cat "$OUT/ramp-$tag-senders.log"
	fi
	# A server that hangs would hang with-server.sh (it waits for it after SIGTERM): stop it
	# here, by its pid, and say so. with-server.sh then exits non-zero, so the outcome goes
	# through a status file.
	status=ok
	[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || status="error (mcu-load exit $rc)"
	kill -TERM "$MCU_PID" 2>/dev/null || true
	for _ in $(seq 50); do running "$MCU_PID" || break; sleep 0.1; done
	if running "$MCU_PID"; then
		kill -KILL "$MCU_PID" 2>/dev/null || true
		[ "$status" = ok ] && status="server hung (no exit 5 s after SIGTERM; killed)"
	fi
	echo "$status" >"$OUT/ramp-$tag.status"
	exit 0
fi

what=${1:-both}
case "$what" in clients | rooms | viewers | both) ;; *) echo "usage: $0 [clients|rooms|viewers|both]" >&2; exit 2 ;; esac
[ -x "$BUILD/mcu-load" ] || { echo "$BUILD/mcu-load is missing: make BUILD=$BUILD load" >&2; exit 1; }
[ -x build/mcu ] || { echo "build/mcu is missing: make" >&2; exit 1; }
if [ ! -s "$CLIP" ]; then
	bash bench/gen-bench-media.sh "$BUILD/bench-media" 10 360p
fi
mkdir -p "$OUT"
failed=0
[ "$what" != viewers ] || CAP_S=${CAP_S_GIVEN:-40}
export BUILD OUT INTERVAL SETTLE CAP_S STEP_CLIENTS MAX_CLIENTS ROOM_SIZE STEP_ROOMS MAX_ROOMS CLIP
export SENDERS VIEWERS
echo '{"max_participants": 1000, "max_rooms": 1000}' >"$OUT/mcu.json"

summary() {
	local json=$1 label=$2
	[ -s "$json" ] || return 0
	jq -r --arg l "$label" '.held as $h | if $h == null then "\($l): nothing held" else
		"\($l): held \($h.rooms) room(s), \($h.clients) clients: video >= \($h.fps_min*10|round/10) fps, freeze <= \($h.freeze_max_ms|round) ms, loss <= \([$h.video_loss_max_pct, $h.audio_loss_max_pct]|max*100|round/100) %, server \($h.server_cpu_pct|round) % CPU, \($h.server_rss_mib|round) MiB RSS, mcu-load \($h.gen_cpu_pct|round) % CPU" end,
		(.steps[-1] | select(.pass | not) | "  stopped at \(.rooms) room(s), \(.clients) clients: \(.reason)")' "$json"
}

label() {
	case $1 in
	clients) echo "one room, +$STEP_CLIENTS per ${INTERVAL} s" ;;
	rooms) echo "rooms of $ROOM_SIZE, +$STEP_ROOMS per ${INTERVAL} s" ;;
	viewers) echo "one room: $SENDERS senders + $VIEWERS receive-only, $CAP_S s" ;;
	esac
}

tags=()
for loops in $LOOPS; do
	for w in clients rooms viewers; do
		if [ "$what" = both ]; then [ "$w" != viewers ] || continue
		elif [ "$what" != "$w" ]; then continue; fi
		tag="$w-loops$loops"
		tags+=("$tag")
		echo "== ramp: $w, --loops $loops ($(label "$w"))"
		rm -f "$OUT/ramp-$tag.status"
		MCU_ARGS="--loops $loops --config $OUT/mcu.json" \
			bash bench/with-server.sh bash bench/load-ramp.sh --inner "$w" "$tag" 2>&1 |
			tee "$OUT/ramp-$tag.log" || true
		st=$(cat "$OUT/ramp-$tag.status" 2>/dev/null || echo "error (no status)")
		echo "ramp $tag: $st"
		case "$st" in ok | server\ hung*) ;; *) failed=1 ;; esac
	done
done
echo "== summary (JSON in $OUT)"
for tag in "${tags[@]}"; do
	case $tag in
	clients-*) summary "$OUT/ramp-$tag.json" "participants in one room (${tag#*-})" ;;
	rooms-*) summary "$OUT/ramp-$tag.json" "rooms of $ROOM_SIZE (${tag#*-})" ;;
	viewers-*)
		summary "$OUT/ramp-$tag-senders.json" "$SENDERS senders (${tag#*-})"
		summary "$OUT/ramp-$tag.json" "$VIEWERS viewers (${tag#*-})"
		;;
	esac
done
exit "$failed"
