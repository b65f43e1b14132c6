#!/usr/bin/env bash
# A/V alignment through files: a participant whose clip has a flash and a beep at the same
# instant; in mcu-mix's output, as ffmpeg decodes it, the flash and the beep must land within
# 40 ms of each other and within 50 ms of where they were in the input.
. "$(dirname "$0")/lib.sh"
flash_clip "$WORK/flash.webm" 3 1.5
"$MIX" -q "$WORK/flash.webm" "$MEDIA/video_only.ivf" -o "$WORK/out.webm" --size 640x360
vin=$(first_flash "$WORK/flash.webm"); ain=$(first_sound "$WORK/flash.webm")
vout=$(first_flash "$WORK/out.webm"); aout=$(first_sound "$WORK/out.webm")
echo "input: flash $vin s, beep $ain s; output: flash $vout s, beep $aout s"
[ -n "$vout" ] && [ -n "$aout" ] || fail "flash or beep not found in the output"
check "output |flash - beep| (s)" "$(awk -v a="$vout" -v b="$aout" 'BEGIN { d = a - b; print d < 0 ? -d : d }')" "<=" 0.040
check "|flash out - flash in| (s)" "$(awk -v a="$vout" -v b="$vin" 'BEGIN { d = a - b; print d < 0 ? -d : d }')" "<=" 0.050
