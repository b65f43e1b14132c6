#!/usr/bin/env bash
# A worker pool changes nothing in the output: mixing nine participants (nine VP8 decodes per
# video tick, run in parallel with the pool) with --threads 1 and with --threads 3 writes the
# same file, byte for byte; ffmpeg confirms it holds a few hundred packets of both kinds.
. "$(dirname "$0")/lib.sh"
in=()
for i in 1 2 3 4 5 6 7 8 9; do in+=("$MEDIA/p$i.webm"); done
"$MIX" -q --names --size 640x360 --threads 1 "${in[@]}" -o "$WORK/t1.webm"
"$MIX" -q --names --size 640x360 --threads 3 "${in[@]}" -o "$WORK/t3.webm"
nv=$("${FF[@]}" -i "$WORK/t3.webm" -map 0:v -c copy -f framemd5 - | grep -vc '^#')
na=$("${FF[@]}" -i "$WORK/t3.webm" -map 0:a -c copy -f framemd5 - | grep -vc '^#')
check "video packets" "$nv" ">=" 100
check "audio packets" "$na" ">=" 100
cmp -s "$WORK/t1.webm" "$WORK/t3.webm" || fail "--threads 1 and --threads 3 outputs differ"
echo "ok: identical files ($(md5sum <"$WORK/t1.webm" | cut -c1-32), $(stat -c %s "$WORK/t1.webm") bytes)"
# ... and with the video ticks following the first participant's frames (--tick-lock)
"$MIX" -q --names --tick-lock --size 640x360 --threads 1 "${in[@]}" -o "$WORK/l1.webm"
"$MIX" -q --names --tick-lock --size 640x360 --threads 3 "${in[@]}" -o "$WORK/l3.webm"
cmp -s "$WORK/l1.webm" "$WORK/l3.webm" || fail "--tick-lock: --threads 1 and 3 outputs differ"
echo "ok: identical files with --tick-lock ($(stat -c %s "$WORK/l1.webm") bytes)"
