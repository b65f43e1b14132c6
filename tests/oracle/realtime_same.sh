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
