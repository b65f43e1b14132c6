#!/usr/bin/env bash
# The engine's output depends only on its input, not on the clock that drives it: mixing the
# same files paced by the wall clock (--realtime) and as fast as possible gives the same
# encoded packets (ffmpeg's framemd5 of the streams, copied without decoding).
. "$(dirname "$0")/lib.sh"
"$MIX" -q --realtime "$MEDIA/short.webm" "$MEDIA/audio_only.ogg" -o "$WORK/rt.mkv" --size 640x360
"$MIX" -q "$MEDIA/short.webm" "$MEDIA/audio_only.ogg" -o "$WORK/fast.mkv" --size 640x360
a=$("${FF[@]}" -i "$WORK/rt.mkv" -c copy -f framemd5 - | grep -v '^#' | md5sum)
b=$("${FF[@]}" -i "$WORK/fast.mkv" -c copy -f framemd5 - | grep -v '^#' | md5sum)
n=$("${FF[@]}" -i "$WORK/fast.mkv" -c copy -f framemd5 - | grep -vc '^#')
check "packets compared" "$n" ">=" 200
[ "$a" = "$b" ] || fail "real-time and offline outputs differ"
echo "ok: identical packets ($a)"

# The same with the video ticks locked to a participant's frames (--tick-lock, as live rooms
# run): the clip shifted by 15 ms off the tick grid, so the lock has ticks to move.
"${FF[@]}" -itsoffset 0.015 -i "$MEDIA/short.webm" -c copy "$WORK/shifted.webm"
"$MIX" -q --tick-lock --realtime "$WORK/shifted.webm" -o "$WORK/rt-lock.mkv" --size 640x360
"$MIX" -q --tick-lock --stats "$WORK/shifted.webm" -o "$WORK/fast-lock.mkv" --size 640x360 \
	2>"$WORK/stats.txt"
moved=$(sed -n 's/.*(\([0-9]*\) moved by --tick-lock).*/\1/p' "$WORK/stats.txt")
check "video ticks moved by the lock" "${moved:-0}" ">=" 3
a=$("${FF[@]}" -i "$WORK/rt-lock.mkv" -c copy -f framemd5 - | grep -v '^#' | md5sum)
b=$("${FF[@]}" -i "$WORK/fast-lock.mkv" -c copy -f framemd5 - | grep -v '^#' | md5sum)
[ "$a" = "$b" ] || fail "real-time and offline outputs differ with --tick-lock"
# ... and stays constant-rate: ffmpeg, which maps frames to 1/fps slots, decodes it cleanly
errs=$("${FF[@]}" -i "$WORK/fast-lock.mkv" -f null - 2>&1)
[ -z "$errs" ] || fail "a full decode of the --tick-lock output printed: $errs"
echo "ok: identical packets with --tick-lock ($a)"
