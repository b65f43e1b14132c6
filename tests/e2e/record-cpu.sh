#!/usr/bin/env bash
# record-cpu.sh - a measurement, not a test: the server's CPU with two @roamhq/wrtc participants
# (1280x720 room) and no recording, a recording that shares the room's encoder, a recording
# with its own encoder (640x360, 500 kbit/s), and an MP4 recording (its own H.264 + AAC
# encoders, 1280x720 at the room's bitrate). Each phase lasts SECS seconds (default 20); CPU is
# the server's utime+stime from /proc over that time, in % of one core.
# Usage (root): bash tests/e2e/record-cpu.sh   (runs itself in a loopback-only netns)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SECS=${SECS:-20}
if [ -z "${MCU_IN_NETNS:-}" ]; then
	exec unshare -n env MCU_IN_NETNS=1 BUILD="$BUILD" SECS="$SECS" bash "$0" "$@"
fi
ip link set lo up
dir=$(mktemp -d)
"$BUILD/mcu" --bind 127.0.0.1 --port 18082 --recordings-dir "$dir" --log-level warn &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do
	(exec 3<>/dev/tcp/127.0.0.1/18082) 2>/dev/null && break
	sleep 0.1
done
cd tests/e2e
MCU_URL=http://127.0.0.1:18082 SECS="$SECS" PID=$pid node --input-type=module -e '
const { participant } = await import("./wrtc-client.mjs");
const base = process.env.MCU_URL, secs = Number(process.env.SECS), pid = process.env.PID;
const fs = await import("node:fs");
const hz = 100; // USER_HZ
const cpu = () => { const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / hz; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const a = participant("Magenta", [106, 202, 222], 600, "cpu");
await sleep(300);
const b = participant("Cyan", [170, 166, 16], 900, "cpu");
await sleep(8000);
async function phase(name, body) {
  if (body !== undefined) {
    const r = await fetch(`${base}/api/rooms/cpu/recording`, { method: "POST", body: JSON.stringify(body) });
    if (r.status !== 201) throw new Error(`${name}: ${r.status} ${await r.text()}`);
  }
  await sleep(2000);
  const c0 = cpu(), t0 = Date.now();
  await sleep(secs * 1000);
  const pct = ((cpu() - c0) / ((Date.now() - t0) / 1000)) * 100;
  if (body !== undefined) await fetch(`${base}/api/rooms/cpu/recording`, { method: "DELETE" });
  console.log(`${name.padEnd(40)} server CPU ${pct.toFixed(1)} % of a core`);
  return pct;
}
const base0 = await phase("no recording");
const shared = await phase("recording, shared encoder (1280x720)", {});
const own = await phase("recording, own encoder (640x360 500k)", { width: 640, height: 360, bitrate: 500000 });
const mp4 = await phase("recording, mp4 (H.264 + AAC 1280x720)", { format: "mp4" });
console.log(`recording cost: shared +${(shared - base0).toFixed(1)} %, own encoder +${(own - base0).toFixed(1)} %, ` +
  `mp4 +${(mp4 - base0).toFixed(1)} % (${(mp4 - shared).toFixed(1)} % more than webm sharing the encoder)`);
a.close(); b.close();
setTimeout(() => process.exit(0), 500);
'
