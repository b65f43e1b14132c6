#!/usr/bin/env bash
# gen-bench-media.sh OUTDIR SECONDS [RESOLUTIONS] - generates mcu-bench's synthetic participants with ffmpeg.
#
# For each sender resolution (180p 320x180, 360p 640x360, 720p 1280x720) nine clips
# OUTDIR/<res>/c1..c9.webm: full-frame testsrc2 (moving gradient, counter and colour bars, so
# the encoders have real motion to code) with a per-clip hue (40 degrees apart), VP8 realtime
# as a browser would send it (180p 300k, 360p 800k, 720p 2M, keyframe every 2 s, one thread)
# and mono Opus 32k of a sine tone 200+100*N Hz at about -20 dBFS. Participants beyond nine
# reuse the clips (each participant still has its own decoder in the engine).
# Files are written under a temporary name and renamed; existing files are kept (rerun-safe).
# Nothing is downloaded.
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 OUTDIR SECONDS [\"180p 360p 720p\"]" >&2
	exit 2
fi
OUT=$1 SECS=$2 RES=${3:-180p 360p 720p}
FF=(ffmpeg -hide_banner -nostdin -loglevel error -y)

# clip RES WxH BITRATE N
clip() {
	local res=$1 size=$2 rate=$3 n=$4
	local dst="$OUT/$res/c$n.webm"
	[ -s "$dst" ] && return 0
	mkdir -p "$OUT/$res"
	"${FF[@]}" -f lavfi -i "testsrc2=s=$size:r=30:d=$SECS" \
		-f lavfi -i "sine=f=$((200 + 100 * n)):sample_rate=48000:d=$SECS" \
		-filter_complex "[0:v]hue=h=$((40 * n)),format=yuv420p[v];[1:a]volume=0.8,aformat=channel_layouts=mono[a]" \
		-map "[v]" -map "[a]" -c:v libvpx -deadline realtime -cpu-used 8 -g 60 \
		-auto-alt-ref 0 -lag-in-frames 0 -threads 1 -b:v "$rate" \
		-c:a libopus -b:a 32k -ac 1 -f webm "$dst.tmp"
	mv -f "$dst.tmp" "$dst"
}

declare -A SIZE=([180p]=320x180 [360p]=640x360 [720p]=1280x720)
declare -A RATE=([180p]=300k [360p]=800k [720p]=2M)
for res in $RES; do
	[ -n "${SIZE[$res]:-}" ] || { echo "$0: unknown resolution $res" >&2; exit 2; }
	for n in 1 2 3 4 5 6 7 8 9; do
		clip "$res" "${SIZE[$res]}" "${RATE[$res]}" "$n" &
		(((n % 2) == 0)) && wait
	done
	wait
done
