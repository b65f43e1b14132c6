#!/usr/bin/env bash
# Oracle: mcu-mix's 2x2 grid of four moving clips against ffmpeg's xstack of the same clips.
# Both are decoded and compared with ffmpeg's psnr filter; Y-PSNR must be >= 30 dB at
# 1280x720 and 2 Mbit/s.
. "$(dirname "$0")/lib.sh"
in=("$MEDIA"/m1.webm "$MEDIA"/m2.webm "$MEDIA"/m3.webm "$MEDIA"/m4.webm)
"$MIX" -q "${in[@]}" -o "$WORK/mix.webm" --size 1280x720 --fps 30 --bitrate 2M
"${FF[@]}" -i "${in[0]}" -i "${in[1]}" -i "${in[2]}" -i "${in[3]}" -filter_complex \
	"[0:v][1:v][2:v][3:v]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0[v]" -map "[v]" \
	-c:v ffv1 "$WORK/ref.mkv"
psnr=$("${FF[@]}" -loglevel info -i "$WORK/mix.webm" -i "$WORK/ref.mkv" \
	-lavfi "[0:v][1:v]psnr" -f null - 2>&1 | sed -n 's/.*PSNR y:\([0-9.]*\).*/\1/p' | tail -n1)
[ -n "$psnr" ] || fail "no PSNR figure from ffmpeg"
check "Y-PSNR vs xstack (dB)" "$psnr" ">=" 30
frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries \
	stream=nb_read_frames -of csv=p=0 "$WORK/mix.webm")
check "video frames" "$frames" ">=" 118
