#!/usr/bin/env bash
# Oracle: nine coloured participants in a 3x3 grid. ffprobe must see VP8 + Opus of the right
# duration, and a frame decoded by ffmpeg must show each participant's colour at the centre of
# its tile, in input order, row by row.
. "$(dirname "$0")/lib.sh"
in=()
for n in 1 2 3 4 5 6 7 8 9; do in+=("$MEDIA/p$n.webm"); done
"$MIX" -q "${in[@]}" -o "$WORK/grid.webm" --size 1280x720
codecs=$(codecs_of "$WORK/grid.webm")
[ "$codecs" = "opus vp8 " ] || fail "codecs: '$codecs', expected opus and vp8"
check "duration (s)" "$(duration_of "$WORK/grid.webm")" ">=" 3.85
check "duration (s)" "$(duration_of "$WORK/grid.webm")" "<=" 4.2
frame_rgb "$WORK/grid.webm" 2.5 "$WORK/f.rgb"
colours=("255 0 0" "0 255 0" "0 0 255" "255 255 0" "255 0 255" "0 255 255" "255 128 0"
	"255 255 255" "128 0 128")
for i in 0 1 2 3 4 5 6 7 8; do
	x=$((1 + (i % 3) * 426 + 280)) # right of the tile centre, away from the moving inset
	y=$((i / 3 * 240 + 160))
	got=$("$TOOLS/rgb_at" "$WORK/f.rgb" 1280 720 $x $y)
	near "$got" "${colours[$i]}" 48 || fail "tile $((i + 1)) at ($x,$y) is '$got', expected '${colours[$i]}'"
	echo "ok: tile $((i + 1)) shows p$((i + 1)) ($got)"
done
