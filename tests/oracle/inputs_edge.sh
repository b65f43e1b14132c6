#!/usr/bin/env bash
# Inputs of different lengths and kinds: a 2 s clip leaves the grid when it ends while the
# others go on; audio-only and video-only inputs are valid (placeholder / silence); MKV output.
. "$(dirname "$0")/lib.sh"
"$MIX" -q "$MEDIA/p1.webm" "$MEDIA/short.webm" "$MEDIA/p3.webm" -o "$WORK/edge.mkv" --size 640x360
check "duration (s)" "$(duration_of "$WORK/edge.mkv")" ">=" 3.85
[ "$(codecs_of "$WORK/edge.mkv")" = "opus vp8 " ] || fail "MKV codecs"
# At 1 s three sources: a 2x2 grid, p3 bottom-left. At 3 s two: a 2x1 grid, p3 on the right.
frame_rgb "$WORK/edge.mkv" 1.0 "$WORK/a.rgb"
frame_rgb "$WORK/edge.mkv" 3.0 "$WORK/b.rgb"
near "$("$TOOLS/rgb_at" "$WORK/a.rgb" 640 360 240 270)" "0 0 255" 48 || fail "p3 not bottom-left at 1 s"
near "$("$TOOLS/rgb_at" "$WORK/b.rgb" 640 360 560 180)" "0 0 255" 48 || fail "p3 not on the right at 3 s"
near "$("$TOOLS/rgb_at" "$WORK/b.rgb" 640 360 240 180)" "255 0 0" 48 || fail "p1 not on the left at 3 s"
echo "ok: short input left the grid"
# audio-only + video-only
"$MIX" -q "$MEDIA/audio_only.ogg" "$MEDIA/video_only.ivf" -o "$WORK/av.webm" --size 640x360
[ "$(codecs_of "$WORK/av.webm")" = "opus vp8 " ] || fail "audio-only/video-only mix codecs"
check "audio-only + video-only duration (s)" "$(duration_of "$WORK/av.webm")" ">=" 2.9
frame_rgb "$WORK/av.webm" 1.0 "$WORK/c.rgb"
got=$("$TOOLS/rgb_at" "$WORK/c.rgb" 640 360 160 120 2)
# the audio-only participant is a placeholder: dark grey, not green, not black
awk -v c="$got" 'BEGIN { split(c, x, " "); for (i = 1; i <= 3; i++) if (x[i] < 20 || x[i] > 70) exit 1 }' ||
	fail "placeholder tile colour '$got'"
echo "ok: placeholder tile ($got)"
