// stats-lib.mjs - helpers for tests that measure what @roamhq/wrtc receivers get: a server of
// the test's own (own port and flags, stopped and its log read back and parsed), a participant
// paced by the clock that records decoded-frame times and the tone it hears, getStats()
// snapshots (inbound-rtp merged with the receiver track's stats, where this libwebrtc keeps
// freezeCount and totalFreezesDuration), figures over a window (differences of two
// snapshots) and a table of them.
// Import this before wrtc-client.mjs or lib.mjs: it points MCU_URL at the test's own server.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import wrtc from '@roamhq/wrtc';
import WebSocket from 'ws';
import { wireSignaling } from './lib.mjs';

const { RTCPeerConnection, nonstandard } = wrtc;
export const PORT = Number(process.env.MCU_STATS_PORT || 18082);
export const BASE = `http://127.0.0.1:${PORT}`;
process.env.MCU_URL = BASE;
const BUILD = process.env.BUILD || 'build';
const W = 640, H = 360;

export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mcu-stats-'));

// ---- the server ----

// Starts $BUILD/mcu on PORT with extra flags (and $MCU_TEST_ARGS, e.g. "--log-level debug",
// to look into a failure); resolves once it answers HTTP.
export async function startServer(name, args) {
  const log = path.join(tmp, `${name}.server.log`);
  const fd = fs.openSync(log, 'w');
  const extra = (process.env.MCU_TEST_ARGS || '').split(' ').filter(Boolean);
  const proc = spawn(`${BUILD}/mcu`,
    ['--bind', '127.0.0.1', '--port', String(PORT), ...args, ...extra],
    { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const exited = new Promise((r) => proc.on('exit', (code, sig) => r({ code, sig })));
  for (let i = 0; i < 100; i++) {
    try { await fetch(`${BASE}/api/config`); return { proc, exited, log }; } catch { }
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`server ${name} did not start: ${fs.readFileSync(log, 'utf8')}`);
}

// SIGTERM, then the exit status ({code, sig}, or null if it hung 10 s and was killed) and log.
export async function stopServer(srv) {
  srv.proc.kill('SIGTERM');
  const timeout = new Promise((r) => setTimeout(() => r(null), 10000).unref());
  const st = await Promise.race([srv.exited, timeout]);
  if (!st) srv.proc.kill('SIGKILL');
  return { exit: st, log: fs.readFileSync(srv.log, 'utf8') };
}

// Sums the server's per-peer netsim counters (logged when a peer leaves, session/peer.c).
export function netsimTotals(log) {
  const t = { in: { packets: 0, lost: 0, reordered: 0, over: 0, delivered: 0 } };
  t.out = { ...t.in };
  const re = /netsim in: (\d+) packets, (\d+) lost, (\d+) reordered, (\d+) over the queue, (\d+) delivered; out: (\d+) packets, (\d+) lost, (\d+) reordered, (\d+) over the queue, (\d+) delivered/g;
  let peers = 0;
  for (const m of log.matchAll(re)) {
    const v = m.slice(1).map(Number);
    for (const [i, k] of ['packets', 'lost', 'reordered', 'over', 'delivered'].entries()) {
      t.in[k] += v[i];
      t.out[k] += v[i + 5];
    }
    peers++;
  }
  return { ...t, peers };
}

// The server's figures for each peer that left (its "left room" log line), by name.
export function leaveLines(log) {
  const out = {};
  const re = /peer \d+ \((\w+)\) left room \S+: in audio (\d+) pkts, video (\d+) pkts (\d+) frames; .*srtp errors (\d+), nacks (\d+)\/(\d+), plis (\d+)\/(\d+), retransmits (\d+), re-anchors (\d+)\/(\d+), rtx in (\d+)/g;
  for (const m of log.matchAll(re)) {
    const v = m.slice(2).map(Number);
    out[m[1]] = {
      audioIn: v[0], videoIn: v[1], framesIn: v[2], srtpErrors: v[3], nacksSent: v[4],
      nacksReceived: v[5], plisSent: v[6], plisReceived: v[7], retransmits: v[8],
      reanchorsAudio: v[9], reanchorsVideo: v[10], rtxIn: v[11],
    };
  }
  return out;
}

// ---- a participant ----

// Power (dB) of f Hz in one audio sink chunk (Goertzel), first channel.
function toneDb(d, f) {
  const ch = d.channelCount || 1;
  const k = 2 * Math.cos((2 * Math.PI * f) / d.sampleRate);
  let s1 = 0, s2 = 0, n = 0;
  for (let i = 0; i < d.samples.length; i += ch, n++) {
    const s0 = d.samples[i] + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return 10 * Math.log10((s1 * s1 + s2 * s2 - k * s1 * s2) / (n * n || 1) + 1e-9);
}

// Luma samples of the moving band (the top of each sender's picture) in each half of a 2x1
// grid: rows 8..40, every 4th column away from the tile edges.
function bandSamples(f) {
  const half = f.width >> 1, out = [[], []];
  for (let t = 0; t < 2; t++)
    for (let y = 8; y <= 40; y += 8)
      for (let x = t * half + 16; x < (t + 1) * half - 16; x += 4) out[t].push(f.data[y * f.width + x]);
  return out;
}

// Notes, per tile of the mix, the frames where the band moved (mean change over 10 levels: the
// band shifts 8 pixels a frame; a frozen tile only changes by coding noise).
function trackTiles(c, f) {
  const now = bandSamples(f), prev = c.bandPrev;
  c.bandPrev = now;
  if (!prev || prev[0].length !== now[0].length) return;
  for (let t = 0; t < 2; t++) {
    let sum = 0;
    for (let i = 0; i < now[t].length; i++) sum += Math.abs(now[t][i] - prev[t][i]);
    if (sum / now[t].length > 10) c.tileMoves[t].push(performance.now());
  }
}

// Sends one colour with a moving band at the top (640x360) and a tone like a voice: a sine
// whose amplitude swings between 40 % and 100 % four times a second (syllables). A steady sine
// is not speech to libopus's SILK voice detector, which then codes no inband FEC (LBRR), so
// every lost packet would be concealed; with speech, about half the packets carry FEC.
// Records in sent: when each frame went out (sent.frames) and, per 10 ms audio chunk, when it
// went out and whether it was more than 60 ms overdue or skipped (sent.audio, sent.late): the
// server conceals or drops what comes that late, so a sender stall (the test machine is shared)
// is not counted against the server.
function sources(pc, yuv, tone, sent) {
  const vsrc = new nonstandard.RTCVideoSource();
  const asrc = new nonstandard.RTCAudioSource();
  pc.addTrack(asrc.createTrack());
  pc.addTrack(vsrc.createTrack());
  const frame = new Uint8Array(W * H * 1.5);
  frame.fill(yuv[0], 0, W * H);
  frame.fill(yuv[1], W * H, W * H * 1.25);
  frame.fill(yuv[2], W * H * 1.25);
  const t0 = performance.now();
  let vsent = 0, asent = 0, phase = 0;
  const vtimer = setInterval(() => {
    const due = Math.floor((performance.now() - t0) / (1000 / 30));
    if (due <= vsent) return;
    vsent = due;
    sent.frames.push(performance.now());
    for (let y = 0; y < 48; y++)
      for (let x = 0; x < W; x++) frame[y * W + x] = ((x + due * 8) ^ (y * 5)) & 0xff;
    vsrc.onFrame({ width: W, height: H, data: frame });
  }, 10);
  const atimer = setInterval(() => {
    const now = performance.now(), due = Math.floor((now - t0) / 10);
    for (; due - asent > 20; asent++) {
      sent.audio.push(now);
      sent.late.push(true);
    }
    for (; asent < due; asent++) {
      sent.audio.push(now);
      sent.late.push(now - (t0 + (asent + 1) * 10) > 60);
      const samples = new Int16Array(480);
      for (let i = 0; i < 480; i++, phase++)
        samples[i] = 8000 * (0.7 + 0.3 * Math.sin((2 * Math.PI * 4 * phase) / 48000)) *
          Math.sin((2 * Math.PI * tone * phase) / 48000);
      asrc.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1,
        numberOfFrames: 480 });
    }
  }, 10);
  return () => { clearInterval(vtimer); clearInterval(atimer); };
}

// A participant like wrtc-client.mjs's (signaling over ws, the mix into sinks) but paced by
// the clock instead of by timer counts: timers on a busy event loop fire late, and a source
// that counts ticks sends less than real time (about 75 % of the audio on the shared test
// machine: gaps in its own tone). Each 10 ms tick sends every audio chunk due since the start
// (up to 200 ms behind, then skips) and a video frame when one is due (30 fps).
// It records what it sent (c.sent, see sources), when each frame reaches the video sink (c.frameTimes), when each tile of a 2x1 mix
// moved (c.tileMoves: the server got that sender's next frame) and the power of listenHz in
// each received audio chunk (c.heard, 10 ms chunks).
export function steadyParticipant(name, yuv, tone, room, listenHz) {
  const c = {
    name, tracks: [], frames: 0, frameTimes: [], heard: { times: [], db: [] }, errors: [],
    tileMoves: [[], []], sent: { frames: [], audio: [], late: [] },
  };
  const ws = new WebSocket(BASE.replace('http', 'ws') + '/ws');
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  c.pc = pc;
  const stopSources = sources(pc, yuv, tone, c.sent);
  pc.ontrack = (ev) => {
    c.tracks.push(ev.track.kind);
    if (ev.track.kind === 'video') {
      c.vsink = new nonstandard.RTCVideoSink(ev.track);
      c.vsink.onframe = ({ frame }) => {
        c.frames++;
        c.frameTimes.push(performance.now());
        trackTiles(c, frame);
      };
    } else {
      c.asink = new nonstandard.RTCAudioSink(ev.track);
      c.asink.ondata = (d) => {
        c.heard.times.push(performance.now());
        c.heard.db.push(toneDb(d, listenHz));
      };
    }
  };
  wireSignaling(ws, pc, { room, name, onMessage: (m) => m.type === 'error' && c.errors.push(m) });
  c.close = () => {
    if (c.closed) return;
    c.closed = true;
    stopSources();
    c.vsink?.stop();
    c.asink?.stop();
    pc.close();
    ws.close();
  };
  return c;
}

// ---- figures ----

// The longest time without a frame between from and to (ms, performance.now() clock).
export function longestGap(times, from, to) {
  let prev = from, max = 0;
  for (const t of times) {
    if (t < from) continue;
    if (t > to) break;
    max = Math.max(max, t - prev);
    prev = t;
  }
  return Math.max(max, to - prev);
}

// Share (%) of heard chunks between from and to whose tone is 12 dB or more below the median
// (the syllable swing is 8 dB).
export function toneDropouts(heard, from, to) {
  const db = heard.db.filter((_, i) => heard.times[i] >= from && heard.times[i] <= to);
  if (db.length === 0) return 100;
  const median = [...db].sort((a, b) => a - b)[db.length >> 1];
  return (100 * db.filter((v) => v < median - 12).length) / db.length;
}

// inbound-rtp of each kind, with the fields this libwebrtc keeps on the track stats filled in.
export async function snapshot(c) {
  const report = await c.pc.getStats();
  const all = [...report.values()];
  const byId = new Map(all.map((s) => [s.id, s]));
  const out = { t: performance.now() };
  for (const s of all) {
    if (s.type !== 'inbound-rtp') continue;
    const track = byId.get(s.trackId) || {};
    out[s.kind] = { ...track, ...s };
  }
  return out;
}

const delta = (s0, s1, kind, k) => ((s1[kind] || {})[k] ?? 0) - ((s0[kind] || {})[k] ?? 0);

// Share (%) of a sender's audio chunks between from and to that went out late (see sources).
function lateShare(sent, from, to) {
  let n = 0, late = 0;
  sent.audio.forEach((t, i) => {
    if (t < from || t > to) return;
    n++;
    late += sent.late[i];
  });
  return n ? (100 * late) / n : 100;
}

// Figures of participant c over the window between two of its snapshots. senders: everyone in
// the mix's tile order (whose pauses explain their tiles' stalls); talker: whom c listens to.
export function figures(c, s0, s1, senders, talker) {
  const d = (kind, k) => delta(s0, s1, kind, k);
  const sec = (s1.t - s0.t) / 1000, min = sec / 60;
  const lossOf = (kind) => {
    const lost = d(kind, 'packetsLost'), got = d(kind, 'packetsReceived');
    return lost + got > 0 ? (100 * lost) / (lost + got) : 0;
  };
  const samples = d('audio', 'totalSamplesReceived');
  return {
    seconds: sec,
    fps: d('video', 'framesDecoded') / sec,
    maxGapMs: longestGap(c.frameTimes, s0.t, s1.t),
    tileStallMs: Math.max(...c.tileMoves.map((m) => longestGap(m, s0.t, s1.t))),
    senderGapMs: Math.max(...senders.map((p) => longestGap(p.sent.frames, s0.t, s1.t))),
    // how long a tile stood still beyond its own sender's longest pause
    tileExcessMs: Math.max(...c.tileMoves.map((m, i) =>
      longestGap(m, s0.t, s1.t) - longestGap(senders[i].sent.frames, s0.t, s1.t))),
    talkerLatePct: lateShare(talker.sent, s0.t, s1.t),
    freezes: d('video', 'freezeCount'),
    freezeSec: d('video', 'totalFreezesDuration'),
    concealedPct: samples > 0 ? (100 * d('audio', 'concealedSamples')) / samples : 100,
    audioSamples: samples,
    toneDropPct: toneDropouts(c.heard, s0.t, s1.t),
    nackPerMin: d('video', 'nackCount') / min,
    pliPerMin: d('video', 'pliCount') / min,
    keyframes: d('video', 'keyFramesDecoded'),
    videoLossPct: lossOf('video'),
    // the answer gave the receiver an RTX stream (RFC 4588): its repairs arrive on their own
    // SSRC, and this libwebrtc's packetsLost for the media SSRC never counts them as received
    rtx: /a=rtpmap:\d+ rtx\/90000/.test(c.pc.remoteDescription?.sdp || ''),
    audioLossPct: lossOf('audio'),
  };
}

// A text table: one row per {label, f: figures}.
export function table(rows) {
  const cols = [
    ['run / receiver', (r) => r.label],
    ['fps', (r) => r.f.fps.toFixed(1)],
    ['longest gap ms', (r) => r.f.maxGapMs.toFixed(0)],
    ['tile stall ms (sender gap)', (r) =>
      `${r.f.tileStallMs.toFixed(0)} (${r.f.senderGapMs.toFixed(0)})`],
    ['freezes (total)', (r) => `${r.f.freezes} (${r.f.freezeSec.toFixed(2)} s)`],
    ['concealed %', (r) => r.f.concealedPct.toFixed(2)],
    ['voice dropouts % (sent late)', (r) =>
      `${r.f.toneDropPct.toFixed(2)} (${r.f.talkerLatePct.toFixed(2)})`],
    ['NACKs/min', (r) => r.f.nackPerMin.toFixed(0)],
    ['PLIs/min', (r) => r.f.pliPerMin.toFixed(1)],
    ['keyframes', (r) => String(r.f.keyframes)],
    ['loss after NACK v / a %', (r) =>
      `${r.f.videoLossPct.toFixed(2)} / ${r.f.audioLossPct.toFixed(2)}`],
  ];
  const cells = [cols.map((c) => c[0]), ...rows.map((r) => cols.map((c) => c[1](r)))];
  const w = cols.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  const line = (row) => `| ${row.map((v, i) => v.padEnd(w[i])).join(' | ')} |`;
  return [line(cells[0]), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`,
    ...cells.slice(1).map(line)].join('\n');
}
