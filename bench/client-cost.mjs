// client-cost.mjs - what it costs one libwebrtc client (@roamhq/wrtc) to receive a 9-person
// call: through the MCU (one mixed stream, at 1280x720@30, 640x360@30 or 640x360@15 by its
// join's receive profile) against receiving the 9 senders' streams directly (9 peer
// connections into one client process, as a mesh or an SFU would deliver them). Nine senders
// (640x360 VP8 with motion in a band, and a tone each) run in this process; the measured
// receiver runs in a child process of its own (recv-only; a sink on every video track, as an
// app that shows them), so its CPU time (user + system, /proc/PID/stat) is its own. Figures
// over WINDOW_S (default 15) after SETTLE_S (8) of warm-up, one case after the other, all in
// one run on this machine; the senders, the server and the receiver share its cores.
// Run: bash bench/client-cost.sh   (starts build/mcu in a loopback-only namespace)
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { participant, wrtc } from '../tests/e2e/wrtc-client.mjs';

const { RTCPeerConnection, nonstandard } = wrtc;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const N = Number(process.env.SENDERS || 9);
const WINDOW_S = Number(process.env.WINDOW_S || 15);
const SETTLE_S = Number(process.env.SETTLE_S || 8);
const W = 640, H = 360;

function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ 100
}

// ---- the receiver (child process) ----

// Sums what every peer connection received and decoded.
async function received(pcs) {
  let bytes = 0, frames = 0, w = 0, h = 0;
  for (const pc of pcs) {
    for (const s of (await pc.getStats()).values()) {
      if (s.type !== 'inbound-rtp') continue;
      bytes += s.bytesReceived || 0;
      if (s.kind === 'video') { frames += s.framesDecoded || 0; w = s.frameWidth || w; h = s.frameHeight || h; }
    }
  }
  return { bytes, frames, w, h };
}

function sinkAll(pc) {
  pc.ontrack = (ev) => {
    if (ev.track.kind === 'video') new nonstandard.RTCVideoSink(ev.track).onframe = () => { };
    else new nonstandard.RTCAudioSink(ev.track).ondata = () => { };
  };
}

async function receiverMain() {
  const pcs = new Map();
  let mcuClient = null;
  process.on('message', async (m) => {
    if (m.type === 'mcu') {
      mcuClient = participant('Receiver', [128, 128, 128], 200, m.room, { mode: 'recvonly', receive: m.receive });
    } else if (m.type === 'offer') {
      const pc = new RTCPeerConnection();
      pcs.set(m.i, pc);
      sinkAll(pc);
      pc.onicecandidate = (ev) => ev.candidate && process.send({ type: 'candidate', i: m.i, c: ev.candidate.toJSON() });
      await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      process.send({ type: 'answer', i: m.i, sdp: pc.localDescription.sdp });
    } else if (m.type === 'candidate') {
      await pcs.get(m.i)?.addIceCandidate(m.c);
    } else if (m.type === 'stats') {
      const list = mcuClient ? [mcuClient.pc] : [...pcs.values()];
      process.send({ type: 'stats', ...(await received(list)) });
    }
  });
  process.send({ type: 'up' });
}

// ---- the senders and the measurement (this process) ----

// A generated 640x360 picture with a moving band, and a tone.
function source(i) {
  const vsrc = new nonstandard.RTCVideoSource(), asrc = new nonstandard.RTCAudioSource();
  const frame = new Uint8Array(W * H * 1.5).fill(60 + i * 15);
  let n = 0, phase = 0;
  const vt = setInterval(() => {
    n++;
    for (let y = 0; y < 48; y++) for (let x = 0; x < W; x++) frame[y * W + x] = ((x + n * 8) ^ (y * 5)) & 0xff;
    vsrc.onFrame({ width: W, height: H, data: frame });
  }, 33);
  const at = setInterval(() => {
    const samples = new Int16Array(480);
    for (let k = 0; k < 480; k++, phase++) samples[k] = 6000 * Math.sin((2 * Math.PI * (300 + 90 * i) * phase) / 48000);
    asrc.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
  }, 10);
  return { video: vsrc.createTrack(), audio: asrc.createTrack(), stop: () => { clearInterval(vt); clearInterval(at); } };
}

function startReceiver() {
  const child = fork(fileURLToPath(import.meta.url), ['receiver']);
  const waiters = [];
  child.on('message', (m) => {
    const w = waiters.findIndex((x) => x.type === m.type);
    if (w >= 0) waiters.splice(w, 1)[0].resolve(m);
    child.emit('mcu-message', m);
  });
  child.next = (type) => new Promise((resolve) => waiters.push({ type, resolve }));
  return child;
}

// CPU, downlink and decoded frames of the receiver over the window.
async function measure(child) {
  await sleep(SETTLE_S * 1000);
  child.send({ type: 'stats' });
  const a = await child.next('stats');
  const c0 = cpuSeconds(child.pid), t0 = Date.now();
  await sleep(WINDOW_S * 1000);
  child.send({ type: 'stats' });
  const b = await child.next('stats');
  const secs = (Date.now() - t0) / 1000;
  return { cpu: (cpuSeconds(child.pid) - c0) / secs, kbps: ((b.bytes - a.bytes) * 8) / secs / 1000, fps: (b.frames - a.frames) / secs, size: `${b.w}x${b.h}` };
}

// The receiver gets the 9 streams over 9 peer connections of its own.
async function direct() {
  const child = startReceiver();
  await child.next('up');
  const pcs = [], sources = [];
  child.on('mcu-message', async (m) => {
    if (m.type === 'answer') await pcs[m.i].setRemoteDescription({ type: 'answer', sdp: m.sdp });
    else if (m.type === 'candidate') await pcs[m.i].addIceCandidate(m.c);
  });
  for (let i = 0; i < N; i++) {
    const s = source(i);
    sources.push(s);
    const pc = new RTCPeerConnection();
    pcs.push(pc);
    pc.addTransceiver(s.audio, { direction: 'sendonly' });
    pc.addTransceiver(s.video, { direction: 'sendonly' });
    pc.onicecandidate = (ev) => ev.candidate && child.send({ type: 'candidate', i, c: ev.candidate.toJSON() });
    await pc.setLocalDescription(await pc.createOffer());
    child.send({ type: 'offer', i, sdp: pc.localDescription.sdp });
  }
  const r = await measure(child);
  child.kill('SIGKILL');
  for (const pc of pcs) pc.close();
  for (const s of sources) s.stop();
  return r;
}

// The receiver joins the MCU room of the 9 senders with a receive profile.
async function throughMcu(room, receive) {
  const child = startReceiver();
  await child.next('up');
  child.send({ type: 'mcu', room, receive });
  const r = await measure(child);
  child.kill('SIGKILL');
  return r;
}

async function main() {
  const rows = [];
  const senders = [];
  for (let i = 0; i < N; i++) {
    senders.push(participant(`S${i + 1}`, [60 + i * 15, 128, 128], 300 + 90 * i, 'cost', { mode: 'sendonly' }));
    await sleep(200);
  }
  const cases = [
    ['MCU, 1280x720@30', {}],
    ['MCU, 640x360@30', { max_width: 640, max_height: 360 }],
    ['MCU, 640x360@15', { max_width: 640, max_height: 360, max_fps: 15 }],
  ];
  for (const [name, receive] of cases) {
    rows.push({ name, ...(await throughMcu('cost', receive)) });
    console.log(JSON.stringify(rows.at(-1)));
  }
  for (const s of senders) s.close();
  await sleep(2000);
  rows.push({ name: `direct, ${N} x ${W}x${H}@30`, ...(await direct()) });
  console.log(JSON.stringify(rows.at(-1)));
  const base = rows.at(-1);
  console.log(`\n| receiving a ${N}-person call | client CPU (% of a core) | downlink (kbit/s) | frames decoded/s | picture |`);
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${(r.cpu * 100).toFixed(1)} (${(r.cpu / base.cpu).toFixed(2)}x direct) | ` +
      `${r.kbps.toFixed(0)} (${(r.kbps / base.kbps).toFixed(2)}x) | ${r.fps.toFixed(1)} | ${r.size} |`);
  }
  process.exit(0);
}

if (process.argv[2] === 'receiver') await receiverMain();
else await main();
