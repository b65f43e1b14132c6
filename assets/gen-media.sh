#!/usr/bin/env bash
# gen-media.sh OUTDIR - generates the test clips with the ffmpeg CLI (nothing is downloaded).
#
# Every clip has 48 kHz audio and 30 fps video; encodes are single-threaded, realtime and
# bit-exact, so a rerun gives the same bytes on the same FFmpeg/libvpx/libopus. Each file is
# written to a temporary name in OUTDIR and renamed, so an interrupted run never leaves a
# half-written clip under its final name. Rerunning regenerates everything (idempotent).
#
# p1..p9.webm  640x360, 4 s, VP8 + mono Opus. A solid background with a 128x72 testsrc2 inset
#              moving inside the top-left quarter (x 0..192, y 0..108), so the centre of the
#              frame (and everything right of x=320 or below y=180) stays the solid colour.
#              Sine tone of 200*N+100 Hz, peak 0.1 (-20 dBFS peak, about -23 dBFS RMS).
#                N  colour   RGB      Y   U   V  (BT.601 limited, measured at centre)  tone
#                1  red      FF0000   81  90 240                                   300 Hz
#                2  green    00FF00  145  54  34                                   500 Hz
#                3  blue     0000FF   41 240 110                                   700 Hz
#                4  yellow   FFFF00  210  16 146                                   900 Hz
#                5  magenta  FF00FF  106 202 222                                  1100 Hz
#                6  cyan     00FFFF  170 166  16                                  1300 Hz
#                7  orange   FF8000  146  53 193                                  1500 Hz
#                8  white    FFFFFF  235 128 128                                  1700 Hz
#                9  purple   800080   61 165 175                                  1900 Hz
# m1..m4.webm  640x360, 4 s, full-frame testsrc2 with hue h=0/90/180/270, VP8 2 Mbit/s,
#              sine 200*N+200 Hz (400/600/800/1000), for PSNR oracles.
# p1.mkv       Matroska copy of p1.webm (-c copy).
# Note: the FFmpeg 5.1 CLI's Matroska muxing lifts the -6.5 ms Opus start to 0 by shifting
# every track, so video is 7 ms late against the audio in the WebM clips (14 ms after the
# first Opus packet) and 14 ms late in p1.mkv (one more mux pass). mixer/writer.c avoids it.
# short.webm   640x360, 2 s, black (Y 16) background with the inset, 2100 Hz tone.
# audio_only.ogg  Opus only, 3 s, 440 Hz.     video_only.ivf  VP8 only, 3 s testsrc2.
# truncated.webm  the first 55 % of the bytes of p2.webm.
# corrupt.webm    4 KiB of deterministic pseudo-random bytes (not a media file).
# noav.mkv        valid Matroska with MPEG-4 Part 2 video + FLAC audio (neither VP8 nor Opus).
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
OUT=$1
mkdir -p "$OUT"
trap 'rm -f "$OUT"/.tmp-*' EXIT

FF=(ffmpeg -hide_banner -nostdin -loglevel error -y)
BITEXACT=(-fflags +bitexact -flags +bitexact)
VP8=(-c:v libvpx -deadline realtime -cpu-used 8 -g 60 -auto-alt-ref 0 -lag-in-frames 0
	-threads 1 -pix_fmt yuv420p)
OPUS=(-c:a libopus -b:a 48k -ac 1)

# Moves a finished temporary file to its final name.
finish() {
	mv -f "$OUT/.tmp-$1" "$OUT/$1"
}

# colour_clip NAME RGBHEX SECONDS TONE_HZ
colour_clip() {
	local name=$1 rgb=$2 secs=$3 tone=$4
	"${FF[@]}" -f lavfi -i "color=c=0x$rgb:s=640x360:r=30:d=$secs" \
		-f lavfi -i "testsrc2=s=128x72:r=30:d=$secs" \
		-f lavfi -i "sine=f=$tone:sample_rate=48000:d=$secs" \
		-filter_complex "[0:v][1:v]overlay=x='mod(t*60,192)':y='mod(t*30,108)',format=yuv420p[v];[2:a]volume=0.8,aformat=channel_layouts=mono[a]" \
		-map "[v]" -map "[a]" "${VP8[@]}" -b:v 1M "${OPUS[@]}" "${BITEXACT[@]}" \
		-f webm "$OUT/.tmp-$name"
	finish "$name"
}

# motion_clip NAME HUE TONE_HZ
motion_clip() {
	local name=$1 hue=$2 tone=$3
	"${FF[@]}" -f lavfi -i "testsrc2=s=640x360:r=30:d=4" \
		-f lavfi -i "sine=f=$tone:sample_rate=48000:d=4" \
		-filter_complex "[0:v]hue=h=$hue,format=yuv420p[v];[1:a]volume=0.8,aformat=channel_layouts=mono[a]" \
		-map "[v]" -map "[a]" "${VP8[@]}" -b:v 2M "${OPUS[@]}" "${BITEXACT[@]}" \
		-f webm "$OUT/.tmp-$name"
	finish "$name"
}

# Writes 4096 bytes from a 32-bit LCG (Numerical Recipes constants), high byte of each step.
corrupt_bytes() {
	local x=12345 i esc=""
	for ((i = 0; i < 4096; i++)); do
		x=$(((x * 1664525 + 1013904223) & 0xFFFFFFFF))
		esc+=$(printf '\\x%02x' $(((x >> 24) & 0xFF)))
		if (((i & 255) == 255)); then
			printf '%b' "$esc"
			esc=""
		fi
	done
}

colours=(FF0000 00FF00 0000FF FFFF00 FF00FF 00FFFF FF8000 FFFFFF 800080)
for n in 1 2 3 4 5 6 7 8 9; do
	colour_clip "p$n.webm" "${colours[$((n - 1))]}" 4 $((200 * n + 100))
done

hues=(0 90 180 270)
for n in 1 2 3 4; do
	motion_clip "m$n.webm" "${hues[$((n - 1))]}" $((200 * n + 200))
done

colour_clip short.webm 000000 2 2100

"${FF[@]}" -i "$OUT/p1.webm" -map 0 -c copy "${BITEXACT[@]}" -f matroska "$OUT/.tmp-p1.mkv"
finish p1.mkv

"${FF[@]}" -f lavfi -i "sine=f=440:sample_rate=48000:d=3" -af volume=0.8 "${OPUS[@]}" \
	"${BITEXACT[@]}" -f ogg "$OUT/.tmp-audio_only.ogg"
finish audio_only.ogg

"${FF[@]}" -f lavfi -i "testsrc2=s=640x360:r=30:d=3" "${VP8[@]}" -b:v 1M "${BITEXACT[@]}" \
	-f ivf "$OUT/.tmp-video_only.ivf"
finish video_only.ivf

"${FF[@]}" -f lavfi -i "testsrc2=s=320x180:r=30:d=1" \
	-f lavfi -i "sine=f=440:sample_rate=48000:d=1" \
	-c:v mpeg4 -q:v 5 -c:a flac "${BITEXACT[@]}" -f matroska "$OUT/.tmp-noav.mkv"
finish noav.mkv

size=$(stat -c %s "$OUT/p2.webm")
head -c $((size * 55 / 100)) "$OUT/p2.webm" >"$OUT/.tmp-truncated.webm"
finish truncated.webm

corrupt_bytes >"$OUT/.tmp-corrupt.webm"
finish corrupt.webm
