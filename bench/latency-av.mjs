// latency-av.mjs - the delay the MCU adds to VIDEO and AUDIO, and what it does to audio
// continuity, measured with libwebrtc clients (@roamhq/wrtc) in one Node process.
//
// Two paths, same sender A and receiver B, same clock (performance.now()):
//   direct: two RTCPeerConnections connected to each other in-process (loopback);
//   MCU:    A and B join one room on the server; B receives the mix (A's tile, A's audio).
// Delay: A's solid 640x360 picture flips between two colours (30 fps, every ~700 ms) and
// A's audio goes from silence to a 1 kHz tone (10 ms frames at 48 kHz); B timestamps the
// first received video frame showing the new colour (a few grid points of the I420 frame)
// and the first received 10 ms audio chunk whose tone energy crosses a threshold.
// delay = detection time - the time A's source emitted the change. FLIPS of each.
// Continuity: A sends a steady tone for TONE_S s; B estimates the tone's phase per 20 ms
// window of received samples and counts jumps > 45 degrees from the phase the previous
// window predicts (jitter-buffer stretching, concealment, mixer glitches), plus dips
// (windows where the tone is missing or much weaker).
//
// Run (root; starts build/mcu in a loopback-only namespace):  bash bench/latency-av.sh
// Newcomers: JOINS participants join a room one at a time; each is timed from its DTLS
// completing to its first decoded mixed picture and to the first tone it hears.
// Server stages: after the MCU path, GET /api/stats's "latency" (the server's own per-stage
// p50/p95 over its last 10-20 s, i.e. mostly the MCU path's tone phase) is printed as a table.
// Env: FLIPS (15), TONE_S (15), TONE_HZ (1000), JOINS (9), JSON=1 (the figures as JSON too),
//      ONLY=direct|mcu|joins (one part only), MCU_URL (set by the wrapper).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { wrtc, yuvAt, tonePower } from '../tests/e2e/wrtc-client.mjs';
import { URL_BASE, wireSignaling } from '../tests/e2e/lib.mjs';

const WebSocket = createRequire(new URL('../tests/e2e/package.json', import.meta.url))('ws');
const { RTCPeerConnection, nonstandard } = wrtc;

const FLIPS = Number(process.env.FLIPS || 15);
const TONE_S = Number(process.env.TONE_S || 15);
const TONE_HZ = Number(process.env.TONE_HZ || 1000);
const JOINS = Number(process.env.JOINS || 9);
const ONLY = process.env.ONLY || '';
const W = 640, H = 360, RATE = 48000, FRAME = 480; // 10 ms audio frames
const AMP = 8000;                // tone amplitude (int16)
const ONSET_DB = 40;             // tone power (tonePower dB) that counts as "tone present"
const JUMP_DEG = 45;
const PERIOD_MS = 700;           // one flip / one onset per period
const TIMEOUT_MS = 3000;         // a change not seen by then counts as missed
const COLOURS = { red: [81, 90, 240], green: [145, 54, 34], blue: [41, 240, 110] }; // BT.601 YUV
const GRID = [];                 // sample points, [0,1] coordinates (8x8, off the edges)
for (let j = 0; j < 8; j++) for (let i = 0; i < 8; i++) GRID.push([(i + 0.5) / 8, (j + 0.5) / 8]);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const near = (p, c, tol = 40) => p.every((v, k) => Math.abs(v - c[k]) <= tol);

// ---------- sender: paced video and audio sources whose changes are timestamped ----------

// Adds A's (or B's) generated video and audio to pc. The returned object changes them:
// setColour(name) -> Promise of the time the first frame of that colour was emitted;
// onset() -> Promise of the time the first tone frame was emitted (then tone 300 ms, silence);
// steady(on) switches a continuous tone. Audio is paced on the clock, not on setInterval
// counts, so that on average exactly 48000 samples/s go out.
function mediaSource(pc, colour) {
  const vsrc = new nonstandard.RTCVideoSource(), asrc = new nonstandard.RTCAudioSource();
  pc.addTrack(asrc.createTrack());
  pc.addTrack(vsrc.createTrack());
  const s = { colour, frame: solidFrame(COLOURS[colour]), vWait: null, aWait: null,
    toneLeft: 0, steadyOn: false, n: 0 };
  const vtimer = setInterval(() => {
    vsrc.onFrame({ width: W, height: H, data: s.frame });
    if (s.vWait) { s.vWait(now()); s.vWait = null; }
  }, 1000 / 30);
  const t0 = now();
  let sent = 0;
  const atimer = setInterval(() => {
    while (sent * 10 <= now() - t0) {
      const on = s.steadyOn || s.toneLeft > 0;
      const samples = new Int16Array(FRAME);
      for (let i = 0; i < FRAME; i++, s.n++) samples[i] = on ? AMP * Math.sin((2 * Math.PI * TONE_HZ * s.n) / RATE) : 0;
      asrc.onData({ samples, sampleRate: RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: FRAME });
      if (on && s.aWait) { s.aWait(now()); s.aWait = null; }
      if (s.toneLeft > 0) s.toneLeft--;
      sent++;
    }
  }, 5);
  s.setColour = (name) => new Promise((resolve) => {
    s.colour = name; s.frame = solidFrame(COLOURS[name]); s.vWait = resolve;
  });
  s.onset = () => new Promise((resolve) => { s.aWait = resolve; s.toneLeft = 30; });
  s.steady = (on) => { s.steadyOn = on; };
  s.stop = () => { clearInterval(vtimer); clearInterval(atimer); };
  return s;
}

function solidFrame([y, u, v]) {
  const f = new Uint8Array(W * H * 1.5);
  f.fill(y, 0, W * H);
  f.fill(u, W * H, W * H * 1.25);
  f.fill(v, W * H * 1.25);
  return f;
}

// ---------- receiver: sinks that timestamp what they see and hear ----------

// Attaches sinks to pc's incoming tracks. waitColour(name, points) -> Promise of the time a
// frame shows that colour on at least half of the points; waitTone() -> Promise of the time a
// 10 ms chunk carries the tone; record(on) collects received samples for the continuity check.
function mediaSink(pc) {
  const r = { lastFrame: null, frames: 0, vWait: null, aWait: null, recording: null, rate: RATE };
  pc.ontrack = (ev) => {
    if (ev.track.kind === 'video') {
      r.vsink = new nonstandard.RTCVideoSink(ev.track);
      r.vsink.onframe = ({ frame }) => onFrame(r, frame);
    } else {
      r.asink = new nonstandard.RTCAudioSink(ev.track);
      r.asink.ondata = (d) => onAudio(r, d);
    }
  };
  r.waitColour = (name, points) => new Promise((resolve) => { r.vWait = { c: COLOURS[name], points, resolve }; });
  r.waitTone = () => new Promise((resolve) => { r.aWait = resolve; });
  r.record = (on) => { r.recording = on ? [] : r.recording; };
  r.stop = () => { r.vsink?.stop(); r.asink?.stop(); };
  return r;
}

function onFrame(r, f) {
  const t = now();
  r.frames++; r.lastFrame = f;
  r.firstFrameAt ||= t;
  const w = r.vWait;
  if (!w) return;
  const hits = w.points.filter(([x, y]) => near(yuvAt(f, x, y), w.c)).length;
  if (hits * 2 >= w.points.length) { r.vWait = null; w.resolve(t); }
}

function onAudio(r, d) {
  const t = now();
  const mono = d.channelCount === 1 ? d.samples : d.samples.filter((_, i) => i % d.channelCount === 0);
  r.rate = d.sampleRate;
  if (r.recording) r.recording.push(Int16Array.from(mono));
  if (!r.firstToneAt && tonePower(mono, TONE_HZ, d.sampleRate) > ONSET_DB) r.firstToneAt = t;
  if (r.aWait && tonePower(mono, TONE_HZ, d.sampleRate) > ONSET_DB) { const res = r.aWait; r.aWait = null; res(t); }
}

// ---------- the two paths: connect A to B ----------

// Direct: A's pc and B's pc exchange SDP and candidates in-process.
export async function connectDirect() {
  const pa = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const pb = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  pa.onicecandidate = (e) => e.candidate && pb.addIceCandidate(e.candidate);
  pb.onicecandidate = (e) => e.candidate && pa.addIceCandidate(e.candidate);
  const a = mediaSource(pa, 'red');
  const b = mediaSink(pb);
  await pa.setLocalDescription(await pa.createOffer());
  await pb.setRemoteDescription(pa.localDescription);
  await pb.setLocalDescription(await pb.createAnswer());
  await pa.setRemoteDescription(pb.localDescription);
  const close = () => { a.stop(); b.stop(); pa.close(); pb.close(); };
  return { a, b, pcB: pb, close };
}

// Via the MCU: A (red) and B (blue) join one room; B's sink gets the mix, A's sink is unused.
function joinRoom(name, colour, room) {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const src = mediaSource(pc, colour);
  const sink = mediaSink(pc);
  // DTLS done on the client's side (about when the server's is, on loopback)
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'connected' && !sink.connectedAt) sink.connectedAt = now();
  };
  const ws = new WebSocket(URL_BASE.replace('http', 'ws') + '/ws');
  wireSignaling(ws, pc, { room, name, onMessage: (m) => m.type === 'error' && console.error(`[${name}]`, m) });
  return { src, sink, pc, close: () => { src.stop(); sink.stop(); pc.close(); ws.close(); } };
}

export async function connectMcu() {
  const room = `lat-av-${process.pid}`;
  const A = joinRoom('A', 'red', room);
  await sleep(300);
  const B = joinRoom('B', 'blue', room);
  return { a: A.src, b: B.sink, pcB: B.pc, close: () => { A.close(); B.close(); } };
}

// Waits until B's video shows A's colour somewhere; returns those grid points (A's tile).
async function findTile(b, colour, timeoutMs = 20000) {
  const end = now() + timeoutMs;
  while (now() < end) {
    const f = b.lastFrame;
    const pts = f ? GRID.filter(([x, y]) => near(yuvAt(f, x, y), COLOURS[colour])) : [];
    if (pts.length) return pts;
    await sleep(100);
  }
  throw new Error(`receiver never showed ${colour} (frames: ${b.frames})`);
}

// ---------- measurements ----------

async function timed(seen, emitted) {
  const [t1, t0] = await Promise.all([Promise.race([seen, sleep(TIMEOUT_MS).then(() => NaN)]), emitted]);
  return t1 - t0;
}

async function videoDelays(a, b, points) {
  const out = [];
  for (let i = 0; i < FLIPS; i++) {
    const to = a.colour === 'red' ? 'green' : 'red';
    const seen = b.waitColour(to, points);
    out.push(await timed(seen, a.setColour(to)));
    b.vWait = null;
    await sleep(PERIOD_MS - Math.min(PERIOD_MS - 100, out[i] || TIMEOUT_MS));
  }
  return out;
}

async function audioDelays(a, b) {
  const out = [];
  await sleep(PERIOD_MS / 2); // out of step with the video flips
  for (let i = 0; i < FLIPS; i++) {
    const seen = b.waitTone();
    out.push(await timed(seen, a.onset()));
    b.aWait = null;
    await sleep(PERIOD_MS - Math.min(PERIOD_MS - 400, out[i] || TIMEOUT_MS)); // ≥ 300 ms tone, then silence
  }
  return out;
}

// Tone amplitude and phase of one window (correlation with sin/cos at f; phase 0 = a sine
// starting at the window's first sample).
function windowPhase(samples, off, win, rate, f) {
  let c = 0, s = 0;
  for (let i = 0; i < win; i++) {
    const x = samples[off + i], w = (2 * Math.PI * f * i) / rate;
    c += x * Math.cos(w); s += x * Math.sin(w);
  }
  return { amp: (2 * Math.hypot(c, s)) / win, ph: Math.atan2(c, s) };
}

// Per 20 ms window: a jump is a phase more than JUMP_DEG off the previous window's phase plus
// the tone's advance; a dip is a window whose tone amplitude falls under 70 % of the recording's
// median (a dropout or concealment fading out). No jump is counted across a dip.
export function continuity(samples, rate, f = TONE_HZ) {
  const win = Math.round(rate * 0.02), adv = 2 * Math.PI * f * (win / rate);
  const ws = [];
  for (let off = 0; off + win <= samples.length; off += win) ws.push(windowPhase(samples, off, win, rate, f));
  const medAmp = [...ws.map((w) => w.amp)].sort((p, q) => p - q)[ws.length >> 1] || 0;
  let prev = null, jumps = 0, dips = 0;
  const jumpDeg = [];
  for (const w of ws) {
    if (w.amp < medAmp * 0.7 || w.amp < AMP / 50) { dips++; prev = null; continue; }
    if (prev !== null) {
      const d = w.ph - (prev + adv);
      const deg = Math.abs(Math.atan2(Math.sin(d), Math.cos(d))) * 180 / Math.PI;
      if (deg > JUMP_DEG) { jumps++; jumpDeg.push(Math.round(deg)); }
    }
    prev = w.ph;
  }
  return { windows: ws.length, jumps, dips, jumpDeg };
}

async function toneContinuity(a, b) {
  a.steady(true);
  await sleep(2000); // let the jitter buffer settle on the tone
  b.record(true);
  await sleep(TONE_S * 1000);
  const chunks = b.recording;
  b.record(false); b.recording = null;
  a.steady(false);
  const all = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) { all.set(c, o); o += c.length; }
  return { seconds: +(all.length / b.rate).toFixed(1), ...continuity(all, b.rate) };
}

// B's jitter buffers (getStats: jitterBufferDelay / jitterBufferEmittedCount, ms) per kind:
// delay added by the receiver, not by the path.
async function receiverBuffers(pc) {
  const out = {};
  for (const s of (await pc.getStats()).values())
    if (s.type === 'inbound-rtp' && s.jitterBufferEmittedCount > 0)
      out[s.kind] = +((1000 * s.jitterBufferDelay) / s.jitterBufferEmittedCount).toFixed(1);
  return out;
}

export async function measurePath(name, connect) {
  const { a, b, pcB, close } = await connect();
  try {
    const points = await findTile(b, a.colour); // direct: the whole grid; MCU: A's tile
    await sleep(2000); // bandwidth estimate and jitter buffers settle
    const [video, audio] = await Promise.all([videoDelays(a, b, points), audioDelays(a, b)]);
    const cont = await toneContinuity(a, b);
    const receiver = await receiverBuffers(pcB);
    return { name, points: points.length, video, audio, continuity: cont, receiver };
  } finally {
    close();
  }
}

// Newcomers: A (sending a steady tone) is in a room; JOINS participants join one after the
// other, each timed from its DTLS completing (its connection state 'connected') to its first
// decoded mixed picture and to the first 10 ms of A's tone it hears; then it leaves.
export async function measureJoins(n = JOINS) {
  const room = `lat-join-${process.pid}`;
  const A = joinRoom('A', 'red', room);
  A.src.steady(true);
  const pic = [], aud = [];
  try {
    await sleep(1500);
    for (let i = 0; i < n; i++) {
      const C = joinRoom(`C${i}`, 'blue', room);
      const end = now() + 5000;
      while (now() < end && !(C.sink.connectedAt && C.sink.firstFrameAt && C.sink.firstToneAt)) await sleep(5);
      const k = C.sink;
      pic.push(k.connectedAt && k.firstFrameAt ? k.firstFrameAt - k.connectedAt : NaN);
      aud.push(k.connectedAt && k.firstToneAt ? k.firstToneAt - k.connectedAt : NaN);
      C.close();
      await sleep(700);
    }
  } finally {
    A.close();
  }
  return { picture: pic, audio: aud };
}

// The server's per-stage latency ({video: {reorder: {p50_ms, p95_ms, n}, ...}, audio: ...}
// from GET /api/stats), or null if it cannot be had.
export async function serverStages(base = URL_BASE) {
  try {
    const r = await fetch(`${base}/api/stats`);
    return r.ok ? (await r.json()).latency || null : null;
  } catch {
    return null;
  }
}

// ---------- report ----------

function stats(xs) {
  const ok = xs.filter(Number.isFinite).sort((p, q) => p - q);
  const q = (p) => (ok.length ? ok[Math.min(ok.length - 1, Math.ceil(p * ok.length) - 1)] : NaN);
  return { n: ok.length, missed: xs.length - ok.length, median: q(0.5), p95: q(0.95), min: ok[0], max: ok[ok.length - 1] };
}

const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(0)}`.padStart(4) : '   -');

const ms1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-').padStart(7);

function reportStages(stages, out) {
  if (!stages) return;
  out.stages = stages;
  console.log('server stages (GET /api/stats, last 10-20 s, ms)     p50     p95       n');
  for (const kind of ['video', 'audio']) {
    for (const [name, s] of Object.entries(stages[kind] || {})) {
      console.log(`  ${kind} ${name.padEnd(8)}                              ${ms1(s.p50_ms)} ${ms1(s.p95_ms)} ${String(s.n).padStart(7)}`);
    }
  }
}

function report(paths, joins, stages) {
  const by = Object.fromEntries(paths.map((p) => [p.name, p]));
  const out = { flips: FLIPS, toneHz: TONE_HZ, toneS: TONE_S,
    tilePoints: Object.fromEntries(paths.map((p) => [p.name, p.points])) };
  console.log(`grid points watched (of ${GRID.length}): ` + paths.map((p) => `${p.name} ${p.points}`).join(', '));
  console.log(`latency (ms, ${FLIPS} changes each)   median   p95   min   max  missed`);
  for (const kind of ['video', 'audio']) {
    out[kind] = {};
    for (const p of paths) {
      const s = stats(p[kind]);
      out[kind][p.name] = { ...s, samples: p[kind].map((x) => +x.toFixed(1)) };
      console.log(`  ${kind} ${p.name.padEnd(7)}                  ${ms(s.median)}  ${ms(s.p95)}  ${ms(s.min)}  ${ms(s.max)}  ${s.missed}`);
    }
    if (by.direct && by.mcu) {
      out[kind].added = out[kind].mcu.median - out[kind].direct.median;
      console.log(`  ${kind} added by the MCU (median):   ${ms(out[kind].added)}`);
    }
  }
  // A/V offset: video delay - audio delay (medians; > 0: the picture comes after the sound).
  // The raw sinks do not lip-sync, so each path's figure includes its clients' own buffers;
  // the difference between the paths is the MCU's share.
  out.avOffset = Object.fromEntries(paths.map((p) => [p.name, out.video[p.name].median - out.audio[p.name].median]));
  console.log('A/V offset (ms, video - audio medians): ' +
    paths.map((p) => `${p.name} ${ms(out.avOffset[p.name]).trim()}`).join(', ') +
    (by.direct && by.mcu ? `; the MCU's share ${Math.round(out.avOffset.mcu - out.avOffset.direct) || 0}` : ''));
  out.receiver = Object.fromEntries(paths.map((p) => [p.name, p.receiver]));
  console.log('receiver jitter buffer (ms, mean): ' +
    paths.map((p) => `${p.name} video ${p.receiver.video ?? '-'} audio ${p.receiver.audio ?? '-'}`).join(', '));
  console.log(`continuity (${TONE_HZ} Hz tone, 20 ms windows, jumps > ${JUMP_DEG} deg)`);
  out.continuity = {};
  for (const p of paths) {
    const c = p.continuity;
    out.continuity[p.name] = c;
    console.log(`  ${p.name.padEnd(7)} ${c.seconds} s: ${c.jumps} phase jumps, ${c.dips} dips (tone < 70 % of its median)` +
      (c.jumpDeg.length ? ` (jumps: ${c.jumpDeg.slice(0, 12).join(' ')} deg)` : ''));
  }
  reportStages(stages, out);
  if (joins) {
    out.joins = {};
    console.log(`newcomers (ms from DTLS done, ${joins.picture.length} joins)   median   p95   min   max  missed`);
    for (const kind of ['picture', 'audio']) {
      const s = stats(joins[kind]);
      out.joins[kind] = { ...s, samples: joins[kind].map((x) => +x.toFixed(1)) };
      console.log(`  first ${kind.padEnd(8)}                       ${ms(s.median)}  ${ms(s.p95)}  ${ms(s.min)}  ${ms(s.max)}  ${s.missed}`);
    }
  }
  if (process.env.JSON === '1') console.log(JSON.stringify(out));
}

async function main() {
  const paths = [];
  if (!ONLY || ONLY === 'direct') paths.push(await measurePath('direct', connectDirect));
  let stages = null;
  if (!ONLY || ONLY === 'mcu') {
    paths.push(await measurePath('mcu', connectMcu));
    stages = await serverStages(); // before the joins' rooms add theirs
  }
  const joins = (!ONLY || ONLY === 'joins') && JOINS > 0 ? await measureJoins() : null;
  report(paths, joins, stages);
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main(); // not when imported
