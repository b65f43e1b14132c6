// record-av.test.mjs - A/V sync in a recording: one @roamhq/wrtc participant sends black
// frames and silence, and every 1.51 s a white flash and a 1 kHz beep together (both switched
// by the same wall clock for 200 ms). The room is recorded through the API; in the file, each
// beep's onset must be within 40 ms of its flash's onset (median over the flashes).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer, api, sleep, tmp } from './record-lib.mjs';

const { default: wrtc } = await import('@roamhq/wrtc');
const { default: WebSocket } = await import('ws');
const { RTCPeerConnection, nonstandard } = wrtc;
const { URL_BASE, waitFor, wireSignaling } = await import('./lib.mjs');

const PERIOD = 1510, FLASH = 200, W = 320, H = 180;
let server, flasher;

before(async () => { server = await startServer('record-av', ['--recordings-dir', path.join(tmp, 'av')]); });
after(() => {
  flasher?.close();
  if (server && server.proc.exitCode === null) server.proc.kill('SIGTERM');
  setTimeout(() => process.exit(), 1000).unref();
});

const on = () => Date.now() % PERIOD < FLASH;

// A participant whose picture and sound flash together.
function flashParticipant(room) {
  const c = { connected: false };
  const ws = new WebSocket(URL_BASE.replace('http', 'ws') + '/ws');
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const vsrc = new nonstandard.RTCVideoSource(), asrc = new nonstandard.RTCAudioSource();
  pc.addTrack(asrc.createTrack());
  pc.addTrack(vsrc.createTrack());
  const frame = new Uint8Array(W * H * 1.5);
  frame.fill(128, W * H);
  const vt = setInterval(() => {
    frame.fill(on() ? 235 : 16, 0, W * H);
    vsrc.onFrame({ width: W, height: H, data: frame });
  }, 10);
  let phase = 0;
  const at = setInterval(() => {
    const s = new Int16Array(480), beep = on();
    for (let i = 0; i < 480; i++, phase++) s[i] = beep ? 12000 * Math.sin((2 * Math.PI * 1000 * phase) / 48000) : 0;
    asrc.onData({ samples: s, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
  }, 10);
  pc.onconnectionstatechange = () => { c.connected = pc.connectionState === 'connected'; };
  wireSignaling(ws, pc, { room, name: 'Flash' });
  c.close = () => { clearInterval(vt); clearInterval(at); pc.close(); ws.close(); };
  return c;
}

// Onset times (s) of a signal that goes above thr after `quiet` samples below it.
function onsets(times, values, thr, quiet) {
  const out = [];
  let below = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > thr) {
      if (below >= quiet) out.push(times[i]);
      below = 0;
    } else below++;
  }
  return out;
}

function videoOnsets(file) {
  const pts = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=pts_time',
    '-of', 'csv=p=0', file]).toString().trim().split('\n').map(Number);
  const luma = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-an', '-vf', 'crop=32:32:iw/2-16:ih/2-16,scale=1:1',
    '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { maxBuffer: 1 << 24 });
  assert.equal(luma.length, pts.length);
  return onsets(pts, [...luma], 128, 10);
}

function audioOnsets(file) {
  const first = Number(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries',
    'frame=pts_time', '-read_intervals', '%+#1', '-of', 'csv=p=0', file]).toString().trim().split('\n')[0]);
  const buf = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-vn', '-ac', '1', '-ar', '48000', '-f', 's16le', '-'],
    { maxBuffer: 1 << 26 });
  const pcm = new Int16Array(buf.buffer, buf.byteOffset, buf.length / 2);
  const times = [], rms = [];
  for (let i = 0; i + 48 <= pcm.length; i += 48) { // 1 ms windows
    let e = 0;
    for (let k = 0; k < 48; k++) e += pcm[i + k] * pcm[i + k];
    times.push(first + i / 48000);
    rms.push(Math.sqrt(e / 48));
  }
  return onsets(times, rms, 2000, 300);
}

test('a flash and a beep sent together land within 40 ms in the file', { timeout: 90000 }, async () => {
  flasher = flashParticipant('av');
  await waitFor(() => flasher.connected, { timeout: 20000, what: 'connected' });
  await sleep(2000);
  const r = await api('POST', '/api/rooms/av/recording');
  assert.equal(r.status, 201, JSON.stringify(r.data));
  await sleep(16000);
  const s = await api('DELETE', '/api/rooms/av/recording');
  assert.equal(s.data.state, 'finished');
  const v = videoOnsets(r.data.path), a = audioOnsets(r.data.path);
  const offs = [];
  for (const t of v) {
    const near = a.find((x) => Math.abs(x - t) < 0.5);
    if (near !== undefined) offs.push((near - t) * 1000);
  }
  offs.sort((x, y) => x - y);
  const med = offs[Math.floor(offs.length / 2)];
  const mean = offs.reduce((x, y) => x + y, 0) / offs.length;
  console.log(`flashes ${v.length}, beeps ${a.length}, audio - video offsets (ms): ${offs.map((x) => x.toFixed(0)).join(' ')}; median ${med?.toFixed(1)}, mean ${mean.toFixed(1)}`);
  assert.ok(offs.length >= 6, `matched ${offs.length} flash/beep pairs`);
  assert.ok(Math.abs(med) <= 40, `median A/V offset ${med} ms`);
});
