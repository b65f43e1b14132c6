#!/usr/bin/env bash
# Oracle: mcu-mix's audio mix of four tones against ffmpeg's amix (normalize=0) of the same
# inputs. After the best lag and gain, the SNR of our mix against amix's must be >= 12 dB and
# the correlation >= 0.95 (our path adds one Opus encode at 32 kbit/s; amix's reference
# does not).
. "$(dirname "$0")/lib.sh"
in=("$MEDIA"/m1.webm "$MEDIA"/m2.webm "$MEDIA"/m3.webm "$MEDIA"/m4.webm)
"$MIX" -q "${in[@]}" -o "$WORK/mix.webm" --size 640x360
"${FF[@]}" -i "${in[0]}" -i "${in[1]}" -i "${in[2]}" -i "${in[3]}" -filter_complex \
	"amix=inputs=4:normalize=0,aformat=sample_fmts=s16:channel_layouts=mono" \
	-ar 48000 -f s16le "$WORK/ref.raw"
"${FF[@]}" -i "$WORK/mix.webm" -vn -ac 1 -ar 48000 -f s16le "$WORK/mix.raw"
# Skip the first 0.5 s, where speaker selection ramps up. The four tones repeat every 240
# samples (200 Hz), so the lag is only searched within half a period; alignment itself is
# tested with aperiodic signals in test_engine (av_alignment).
out=$("$TOOLS/pcm_compare" "$WORK/ref.raw" "$WORK/mix.raw" 120 24000)
echo "$out"
corr=$(echo "$out" | sed 's/.*corr=\([-0-9.]*\).*/\1/')
snr=$(echo "$out" | sed 's/.*snr_db=\([-0-9.]*\).*/\1/')
check "correlation with amix" "$corr" ">=" 0.95
check "SNR vs amix (dB)" "$snr" ">=" 12
