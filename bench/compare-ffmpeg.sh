#!/usr/bin/env bash
# compare-ffmpeg.sh [RUNS] - CPU time of mcu-mix against ffmpeg's equivalent filtergraph for the
# same job: the nine generated 640x360 participants into a 1280x720@30 grid at 2 Mbit/s
# (VP8 realtime, cpu-used -8, CBR, one encoder thread) plus the audio mix (Opus 32 kbit/s).
# Prints user+sys CPU seconds per run and the median ratio. A quick check, not the benchmark
# (mcu-bench, issue 4, is that).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BUILD=${BUILD:-build}
M=assets/media
make -s all media >/dev/null
in=(); for n in 1 2 3 4 5 6 7 8 9; do in+=("$M/p$n.webm"); done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# cpu_of CMD...: user+sys CPU seconds of the command and its children.
cpu_of() {
	/usr/bin/time -f "%U %S" -o "$out/t" "$@" >/dev/null 2>&1
	awk '{ print $1 + $2 }' "$out/t"
}

ff_inputs=(); for f in "${in[@]}"; do ff_inputs+=(-i "$f"); done
graph=""
for i in 0 1 2 3 4 5 6 7 8; do graph+="[$i:v]scale=426:240:flags=fast_bilinear[v$i];"; done
graph+="[v0][v1][v2][v3][v4][v5][v6][v7][v8]xstack=inputs=9:layout=0_0|426_0|852_0|0_240|426_240|852_240|0_480|426_480|852_480,pad=1280:720:1:0[v];"
graph+="[0:a][1:a][2:a][3:a][4:a][5:a][6:a][7:a][8:a]amix=inputs=9:normalize=0[a]"
ff=(ffmpeg -nostdin -loglevel error -y "${ff_inputs[@]}" -filter_complex "$graph" -map "[v]" -map "[a]"
	-c:v libvpx -deadline realtime -cpu-used -8 -b:v 2M -minrate 2M -maxrate 2M -qmin 2 -qmax 56
	-lag-in-frames 0 -threads 1 -c:a libopus -b:a 32k -ac 1 -r 30 "$out/ff.webm")
ours=("$BUILD/mcu-mix" -q "${in[@]}" -o "$out/ours.webm" --size 1280x720 --fps 30 --bitrate 2M)

rm -f "$out/ratios"
for r in $(seq "$RUNS"); do
	a=$(cpu_of "${ours[@]}")
	b=$(cpu_of "${ff[@]}")
	echo "run $r: mcu-mix ${a} s CPU, ffmpeg ${b} s CPU, ratio $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
	awk -v a="$a" -v b="$b" 'BEGIN { print a / b }' >>"$out/ratios"
done
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$out/ours.webm")
echo "media duration: $dur s"
echo "median ratio mcu-mix / ffmpeg: $(sort -n "$out/ratios" | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }')"
