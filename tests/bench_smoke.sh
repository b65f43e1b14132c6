#!/usr/bin/env bash
# bench_smoke.sh - smoke test of mcu-bench (issue 4): the quick suite (1 s clips, a few
# seconds in all) must run every scenario, including the ffmpeg and GStreamer runs and the
# PSNR measurements, and write a JSON with every field (bench/check-json.sh, needs jq).
# Checks no timings. Run from the repository root; BUILD defaults to build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
for tool in ffmpeg gst-launch-1.0 jq; do
	command -v "$tool" >/dev/null || { echo "bench_smoke: $tool not installed"; exit 1; }
done
make -s BUILD="$BUILD" "$BUILD/mcu-bench" "$BUILD/bench-media-quick/.stamp"
json="$BUILD/bench-quick.json"
rm -f "$json"
"$BUILD/mcu-bench" --suite quick --quiet --media "$BUILD/bench-media-quick" \
	--out "$BUILD/bench-out-quick" --json "$json"
bash bench/check-json.sh "$json"
