#!/usr/bin/env bash
# cascade_smoke.sh - smoke test of mcu-cascade (docs/SCALING.md): 12 participants over 2 nodes
# for 2 s of the quick clips, real engines. Asserts from its JSON line: every node made local-mix
# and receiver frames; other nodes' mix frames reached each node and were decoded; a remote
# sender's frames reached receivers, later than a local mix carries them (finite delays); no
# echo (a node's local-mix engine holds exactly its local participants); cores per node > 0.
# Run from the repository root; BUILD defaults to build. Needs jq.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
command -v jq >/dev/null || { echo "cascade_smoke: jq not installed"; exit 1; }
make -s BUILD="$BUILD" "$BUILD/mcu-cascade" "$BUILD/bench-media-quick/.stamp"
json="$BUILD/cascade-smoke.json"
rm -f "$json"
"$BUILD/mcu-cascade" --participants 12 --nodes 2 --seconds 2 --quiet \
	--media "$BUILD/bench-media-quick" --json "$json"
cat "$json"
jq -e '
	(.runs | length) == 1 and
	(.runs[0] as $r |
		$r.nodes == 2 and
		($r.per_node | length) == 2 and
		all($r.per_node[];
			.mix_video_frames > 0 and .rx_video_frames > 0 and
			.remote_frames_pushed > 0 and .rx_frames_decoded > 0 and
			.mix_sources == .locals and .rx_sources == .locals + 1 and
			.cores > 0) and
		$r.remote_delay.n > 0 and $r.mix_delay.n > 0 and $r.local_delay.n > 0 and
		($r.remote_delay.median_ms | type) == "number" and
		$r.remote_delay.median_ms > $r.mix_delay.median_ms and
		$r.remote_delay.median_ms > $r.local_delay.median_ms and
		$r.remote_delay.p95_ms < 1000 and
		$r.cores_mean > 0)
' "$json" >/dev/null || { echo "cascade_smoke: assertions failed on $json"; exit 1; }
echo "cascade_smoke: ok"
