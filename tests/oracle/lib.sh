# lib.sh - shared helpers for the oracle tests (sourced, not run).
# Each test compares mcu-mix's output with what ffmpeg/ffprobe (tools nobody here wrote) say.
set -euo pipefail
BUILD=${BUILD:-build}
MEDIA=${MIX_MEDIA:-assets/media}
MIX="$BUILD/mcu-mix"
TOOLS="$BUILD/tests/tools"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcu-oracle.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FF=(ffmpeg -hide_banner -nostdin -loglevel error -y)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# check NAME VALUE OP LIMIT: a numeric assertion, printed either way.
check() {
	local name=$1 value=$2 op=$3 limit=$4
	if awk -v v="$value" -v l="$limit" "BEGIN { exit !(v $op l) }"; then
		echo "ok: $name = $value ($op $limit)"
	else
		fail "$name = $value, expected $op $limit"
	fi
}

duration_of() {
	ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"
}

codecs_of() {
	ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$1" | sort | tr '\n' ' '
}

# frame_rgb FILE SECONDS OUT.rgb: one decoded frame as raw rgb24.
frame_rgb() {
	"${FF[@]}" -ss "$2" -i "$1" -frames:v 1 -f rawvideo -pix_fmt rgb24 "$3"
}

# near "R G B" "R G B" TOL: true when every channel is within TOL.
near() {
	awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { split(a, x, " "); split(b, y, " ");
		for (i = 1; i <= 3; i++) { d = x[i] - y[i]; if (d < 0) d = -d; if (d > t) exit 1 } }'
}
