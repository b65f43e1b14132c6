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

# first_flash FILE: time (s) of the first video frame whose mean luma exceeds 100.
first_flash() {
	"${FF[@]}" -i "$1" -an -vf "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-" \
		-f null - | awk '/pts_time/ { split($3, a, ":"); t = a[2] }
		/YAVG/ { split($0, b, "="); if (b[2] > 100) { print t; exit } }'
}

# first_sound FILE: time (s) when the audio first rises above -30 dBFS.
first_sound() {
	"${FF[@]}" -loglevel info -i "$1" -vn -af "silencedetect=noise=-30dB:d=0.2" -f null - 2>&1 |
		sed -n 's/.*silence_end: \([0-9.]*\).*/\1/p' | head -n1
}

# flash_clip OUT SECONDS AT: black video with a white flash and a 1 kHz beep, both at AT s.
flash_clip() {
	local out=$1 secs=$2 at=$3
	"${FF[@]}" -f lavfi -i "color=c=black:s=640x360:r=30:d=$secs" \
		-f lavfi -i "aevalsrc=if(between(t\,$at\,$at+0.15)\,0.5*sin(2*PI*1000*t)\,0):s=48000:d=$secs" \
		-vf "drawbox=c=white:t=fill:enable='between(t,$at,$at+0.2)'" \
		-c:v libvpx -deadline realtime -cpu-used 8 -b:v 1M -c:a libopus -b:a 48k -ac 1 "$out"
}
