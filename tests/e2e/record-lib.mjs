// record-lib.mjs - helpers for the recording tests: a server of their own (own port and flags,
// e.g. --recordings-dir and --record), HTTP JSON calls, and checks of the files with ffprobe
// and ffmpeg (streams, duration, a decoded frame's pixels, tone power in the decoded audio).
// Import this before wrtc-client.mjs: it points MCU_URL at the test's own server.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PORT = Number(process.env.MCU_REC_PORT || 18081);
export const BASE = `http://127.0.0.1:${PORT}`;
process.env.MCU_URL = BASE;
const BUILD = process.env.BUILD || 'build';

export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mcu-rec-'));

// Starts build/mcu with extra flags (and extra environment variables); resolves once it
// answers HTTP.
export async function startServer(name, args, env = {}) {
  const log = fs.openSync(path.join(tmp, `${name}.server.log`), 'w');
  const proc = spawn(`${BUILD}/mcu`, ['--bind', '127.0.0.1', '--port', String(PORT), ...args],
    { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  const exited = new Promise((r) => proc.on('exit', (code, sig) => r({ code, sig })));
  for (let i = 0; i < 100; i++) {
    try { await fetch(`${BASE}/api/config`); return { proc, exited, log: path.join(tmp, `${name}.server.log`) }; } catch { }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server ${name} did not start: ${fs.readFileSync(path.join(tmp, `${name}.server.log`), 'utf8')}`);
}

export async function api(method, p, body) {
  const res = await fetch(BASE + p, {
    method, headers: body ? { 'content-type': 'application/json' } : {},
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
  return { status: res.status, data };
}

export function probe(file) {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries',
    'stream=codec_name,codec_type,width,height:format=duration,format_name', '-of', 'json', file]);
  return JSON.parse(out);
}

// End time (s) of the last decoded video frame and audio frame, decoding the whole file.
export function decodedEnd(file) {
  const ends = {};
  for (const s of ['v', 'a']) {
    const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', s, '-show_entries',
      'frame=pts_time,duration_time', '-of', 'csv=p=0', file], { maxBuffer: 64 << 20 }).toString();
    let end = 0;
    for (const line of out.trim().split('\n')) {
      const [t, d] = line.split(',').map(Number);
      if (Number.isFinite(t)) end = Math.max(end, t + (Number.isFinite(d) ? d : 0));
    }
    ends[s] = end;
  }
  return ends;
}

// A full decode must succeed without a single error message.
export function fullDecode(file) {
  return execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'],
    { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

// The I420 frame nearest t seconds, as {width, height, data}.
export function frameAt(file, t, width, height) {
  const data = execFileSync('ffmpeg', ['-v', 'error', '-ss', String(t), '-i', file, '-frames:v', '1',
    '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'], { maxBuffer: 64 << 20 });
  return { width, height, data };
}

// Mono 48 kHz samples of the file's audio between t and t + dur seconds.
export function audioAt(file, t, dur) {
  const buf = execFileSync('ffmpeg', ['-v', 'error', '-ss', String(t), '-t', String(dur), '-i', file,
    '-vn', '-ac', '1', '-ar', '48000', '-f', 's16le', '-'], { maxBuffer: 64 << 20 });
  return new Int16Array(buf.buffer, buf.byteOffset, buf.length / 2);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Y, U, V of the colours the recording tests give their participants.
export const MAGENTA = [106, 202, 222], CYAN = [170, 166, 16], YELLOW = [210, 16, 146];

// Waits until wrtc client c has its tracks and its mix shows each [x, y, colour] (imported
// here, late, so that MCU_URL already points at the test's server).
export async function joinAndSee(c, colours) {
  const { yuvAt } = await import('./wrtc-client.mjs');
  const { waitFor } = await import('./lib.mjs');
  await waitFor(() => c.tracks.length >= 2, { timeout: 20000, what: `${c.name} tracks` });
  await waitFor(() => c.lastFrame && colours.every(([x, y, col]) => close(yuvAt(c.lastFrame, x, y), col)),
    { timeout: 20000, what: `${c.name} sees the tiles` });
}
export const close = (p, q, tol = 30) => p.every((v, i) => Math.abs(v - q[i]) <= tol);

// The error output of a full decode ('' when clean); throws if ffmpeg fails.
export function decodeErrors(file) {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg exited ${r.status}: ${r.stderr}`);
  return r.stderr;
}
