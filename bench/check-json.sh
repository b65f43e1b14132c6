#!/usr/bin/env bash
# check-json.sh BENCH.json - asserts mcu-bench's JSON is complete: every scenario ran and is ok,
# every field is present, and every peer run that was asked for (ffmpeg, GStreamer) ran and
# produced numbers. Checks no timings. Needs jq. Exit 0 when complete, 1 otherwise.
set -euo pipefail
f=${1:?usage: $0 BENCH.json}
fields='name ok participants sender width height fps bitrate layout exclude_self talkers
max_visible mixed mode runs recipients media_s cpu_s user_s sys_s wall_s cores realtime_factor
cpu_s_runs stage_cores video_encoders audio_encoders visible_sources video_decoders
frames_decoded frames_encoded audio_packets_encoded frames_dropped_invisible
video_kbps_per_recipient peak_rss_kib base_rss_kib rss_per_participant_kib floor turn_ms
layer_frames layer_switches speaker_changes psnr_y ffmpeg
gstreamer'
n=$(jq '.scenarios | length' "$f")
[ "$n" -gt 0 ] || { echo "no scenarios in $f"; exit 1; }
bad=0
for k in $fields; do
	miss=$(jq --arg k "$k" '[.scenarios[] | select(has($k) | not) | .name] | join(" ")' -r "$f")
	[ -z "$miss" ] || { echo "field $k missing in: $miss"; bad=1; }
done
jq -e '[.scenarios[].stage_cores | length] | all(. >= 6)' "$f" >/dev/null ||
	{ echo "stage_cores incomplete"; bad=1; }
jq -e '[.scenarios[].floor | has("cores") and has("engine_over_floor")] | all' "$f" >/dev/null ||
	{ echo "floor incomplete"; bad=1; }
notok=$(jq -r '[.scenarios[] | select(.ok != true or .frames_encoded == 0 or .cpu_s <= 0) | .name] | join(" ")' "$f")
[ -z "$notok" ] || { echo "scenarios that did not run: $notok"; bad=1; }
for p in ffmpeg gstreamer; do
	asked=$(jq --arg p "$p" '[.scenarios[] | select(.[$p].ran)] | length' "$f")
	[ "$asked" -gt 0 ] || { echo "no $p run at all"; bad=1; }
	failed=$(jq -r --arg p "$p" '[.scenarios[] | select(.[$p].ran and (.[$p].ok != true or .[$p].cpu_s == null)) | .name] | join(" ")' "$f")
	[ -z "$failed" ] || { echo "$p failed in: $failed"; bad=1; }
done
psnr=$(jq -r '[.scenarios[] | select(.ffmpeg.psnr_y != null) | .name] | length' "$f")
[ "$psnr" -gt 0 ] || { echo "no PSNR measured"; bad=1; }
[ "$bad" -eq 0 ] && echo "bench JSON complete: $n scenarios, peers and PSNR present"
exit "$bad"
