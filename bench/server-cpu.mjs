// server-cpu.mjs - the server's CPU with 3, 6 and 9 participants: @roamhq/wrtc clients (640x360
// VP8 with motion in a band, a tone each) join one room; after they settle, the server's
// user+sys CPU is read from /proc/<pid>/stat over a window, with what the clients receive.
// The clients run on the same 2 cores, so the figures are taken under that load.
// Run: bash bench/server-cpu.sh   (starts build/mcu in a loopback-only namespace)
import { participant } from '../tests/e2e/wrtc-client.mjs';
import { readFileSync } from 'node:fs';

const pid = Number(process.env.MCU_PID);
const WINDOW_S = Number(process.env.WINDOW_S || 10);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tck = 100; // USER_HZ on Linux

function cpuSeconds() {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / tck;
}

const rows = [];
for (const n of (process.env.COUNTS || '3,6,9').split(',').map(Number)) {
  const clients = [];
  for (let i = 0; i < n; i++) {
    clients.push(participant(`P${i + 1}`, [40 + i * 20, 100 + i * 10, 160 - i * 10], 300 + 97 * i, `cpu${n}`));
    await sleep(200);
  }
  await sleep(8000);
  const f0 = clients.map((c) => c.frames);
  const c0 = cpuSeconds();
  const t0 = Date.now();
  await sleep(WINDOW_S * 1000);
  const cpu = (cpuSeconds() - c0) / ((Date.now() - t0) / 1000);
  const fps = clients.map((c, i) => (c.frames - f0[i]) / WINDOW_S);
  const minFps = Math.min(...fps);
  rows.push({ n, cpu, minFps, size: clients[0].lastFrame ? `${clients[0].lastFrame.width}x${clients[0].lastFrame.height}` : '-' });
  console.log(`${n} participants: server CPU ${(cpu * 100).toFixed(1)} % of one core ` +
    `(${((cpu * 100) / n).toFixed(1)} % per participant), clients receive >= ${minFps.toFixed(1)} fps at ${rows.at(-1).size}`);
  for (const c of clients) c.close();
  await sleep(3000);
}
process.exit(0);
