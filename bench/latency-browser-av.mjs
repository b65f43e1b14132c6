// latency-browser-av.mjs - video AND audio delay, and the A/V offset as Chromium plays them,
// directly and through the MCU, on loopback (issue 12). The sender's picture flips colour and, at
// the same instant, its audio goes from silence to a tone burst. The receiver plays the remote
// stream (video and audio tracks of one stream, so Chromium's lip sync and jitter buffers apply)
// in a <video> element and watches:
//  - video: every rendered frame (requestVideoFrameCallback); the first one showing the new
//    colour is timed at its metadata.expectedDisplayTime (when the compositor shows it);
//  - audio: the remote audio track, as the element's renderer pulls it out of the jitter buffer,
//    into an AudioWorklet that finds the first sample of each burst (after >= 100 ms of quiet);
//    the sample's context time is mapped to performance time with getOutputTimestamp(), i.e.
//    when that AudioContext's output plays it.
// Direct: two RTCPeerConnections in one page (both tracks added with one stream). MCU: two
// participants of the demo page in one room; B watches A's tile and hears A in its mix (the
// page's own tone is swapped, with replaceTrack, for the burst source).
// Run inside a loopback-only namespace with the server on 127.0.0.1:18080:
//   bash bench/latency-browser-av.sh
// Env: FLIPS (15), PERIOD_MS (1300: one flip per period), BURST_MS (300), TONE_HZ (880),
// WARMUP_MS (8000: after the first picture, for the jitter buffers and lip sync to settle),
// ONLY (direct|mcu), JSON=1 (the figures as JSON too).
import { launchBrowser, openParticipant, waitFor, sleep, URL_BASE } from '../tests/e2e/lib.mjs';

const FLIPS = Number(process.env.FLIPS || 15);
const PERIOD_MS = Number(process.env.PERIOD_MS || 1300);
const BURST_MS = Number(process.env.BURST_MS || 300);
const TONE_HZ = Number(process.env.TONE_HZ || 880);
const WARMUP_MS = Number(process.env.WARMUP_MS || 8000);
const ONLY = process.env.ONLY || '';
const COLORS = [['#00ff00', 'green'], ['#ff0000', 'red']]; // flip i goes to COLORS[i % 2]

// ---------- in the page (serialised by Playwright: self-contained) ----------

// Sender: a burst source on `ctx` (gain 0 until a flip) and window.__flip(color) that paints
// `canvas` and opens the gain at the same instant; returns the time (ms, timeOrigin-based).
// The audio track to send is left in window.__burstTrack.
function installSender({ hz, burstMs, useMcu }) {
  const canvas = useMcu ? mcu.synthetic.canvas : window.__senderCanvas;
  const ctx = useMcu ? mcu.synthetic.ctx : window.__senderCtx;
  const osc = ctx.createOscillator();
  osc.frequency.value = hz;
  const gain = ctx.createGain();
  gain.gain.value = 0;
  const dest = ctx.createMediaStreamDestination();
  osc.connect(gain).connect(dest);
  osc.start();
  const g = canvas.getContext('2d');
  window.__flip = (color) => {
    const t0 = performance.timeOrigin + performance.now();
    if (useMcu) mcu.setColor(color); else window.__senderColor = color; // the page's draw loop keeps it
    g.fillStyle = color; g.fillRect(0, 0, canvas.width, canvas.height); // and now, not at its next tick
    gain.gain.value = 0.25;
    setTimeout(() => { gain.gain.value = 0; }, burstMs);
    return t0;
  };
  window.__burstTrack = dest.stream.getAudioTracks()[0];
}

// Receiver: watches `video` (playing the remote stream) at (x, y) in [0,1] and its stream's
// audio track; window.__probe collects {changes: [{cls, t, now}], onsets: [{t, proc}]} (ms,
// timeOrigin-based) and the context's latencies.
async function installProbe({ videoId, x, y }) {
  const video = document.getElementById(videoId);
  const probe = { changes: [], onsets: [], frames: 0, blocks: 0 };
  window.__probe = probe;
  // video: a 9x9 square at (x, y) of each rendered frame
  const c = document.createElement('canvas');
  c.width = 9; c.height = 9;
  const cg = c.getContext('2d', { willReadFrequently: true });
  const near = (p, q) => p.every((v, k) => Math.abs(v - q[k]) <= 60);
  let last = null;
  const onFrame = (now, meta) => {
    probe.frames++;
    const W = video.videoWidth, H = video.videoHeight;
    if (W) {
      cg.drawImage(video, Math.floor(x * W) - 4, Math.floor(y * H) - 4, 9, 9, 0, 0, 9, 9);
      const d = cg.getImageData(0, 0, 9, 9).data;
      const p = [0, 0, 0];
      for (let i = 0; i < d.length; i += 4) { p[0] += d[i]; p[1] += d[i + 1]; p[2] += d[i + 2]; }
      for (let k = 0; k < 3; k++) p[k] /= d.length / 4;
      const cls = near(p, [0, 255, 0]) ? 'green' : near(p, [255, 0, 0]) ? 'red' : null;
      if (cls && cls !== last) {
        const shown = Number.isFinite(meta.expectedDisplayTime) ? meta.expectedDisplayTime : now;
        probe.changes.push({ cls, t: performance.timeOrigin + shown, now: performance.timeOrigin + now });
      }
      if (cls) last = cls;
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  // audio: the first sample over HI after >= 100 ms under LO, per 128-sample block
  const ctx = new AudioContext();
  await ctx.resume();
  const code = `
    const LO = 0.01, HI = 0.03, QUIET = Math.ceil(0.1 * sampleRate / 128);
    registerProcessor('onset', class extends AudioWorkletProcessor {
      constructor() { super(); this.quiet = 0; this.armed = false; this.n = 0; }
      process(inputs) {
        const ch = inputs[0] && inputs[0][0];
        if (!ch) return true;
        let peak = 0, first = -1;
        for (let i = 0; i < ch.length; i++) {
          const a = Math.abs(ch[i]);
          if (a > peak) peak = a;
          if (first < 0 && a > HI) first = i;
        }
        if (peak < LO) { if (++this.quiet >= QUIET) this.armed = true; } else this.quiet = 0;
        if (this.armed && first >= 0) { this.armed = false; this.port.postMessage({ frame: currentFrame + first }); }
        if (++this.n % 375 === 0) this.port.postMessage({ blocks: this.n });
        return true;
      }
    });`;
  await ctx.audioWorklet.addModule(URL.createObjectURL(new Blob([code], { type: 'application/javascript' })));
  const node = new AudioWorkletNode(ctx, 'onset');
  const mute = ctx.createGain();
  mute.gain.value = 0;
  node.connect(mute).connect(ctx.destination); // pulled by the graph, heard by no one
  const track = video.srcObject.getAudioTracks()[0];
  ctx.createMediaStreamSource(new MediaStream([track])).connect(node);
  node.port.onmessage = (e) => {
    if (e.data.blocks) { probe.blocks = e.data.blocks; return; }
    const ts = ctx.getOutputTimestamp();
    const at = e.data.frame / ctx.sampleRate;
    // proc: when the graph rendered the sample (now - how far the context is past it);
    // t: when the context's output plays it (falls back to proc before the output has started)
    const proc = performance.timeOrigin + performance.now() - (ctx.currentTime - at) * 1000;
    const t = ts.performanceTime > 0 ? performance.timeOrigin + ts.performanceTime + (at - ts.contextTime) * 1000 : proc;
    probe.onsets.push({ t, proc });
  };
  window.__probeCtx = ctx;
  await video.play().catch(() => {});
}

// The analysing context's latencies (read after the flips: outputLatency is 0 until known).
function probeCtx() {
  const ctx = window.__probeCtx;
  return { sampleRate: ctx.sampleRate, baseLatency: ctx.baseLatency, outputLatency: ctx.outputLatency,
    frames: window.__probe.frames, blocks: window.__probe.blocks };
}

// The receiving peer connection's jitter buffer counters from getStats: {kind: {d, n}}
// (jitterBufferDelay s, jitterBufferEmittedCount).
async function jitterCounters() {
  const pc = window.__pc2 || mcu.pc; // the direct page's receiver, or the demo page's
  const out = {};
  for (const s of (await pc.getStats()).values()) {
    if (s.type === 'inbound-rtp') out[s.kind] = { d: s.jitterBufferDelay || 0, n: s.jitterBufferEmittedCount || 0 };
  }
  return out;
}

// The mean jitter buffer delay (ms) per kind between two jitterCounters() readings.
function jitterMean(before, after) {
  const out = {};
  for (const k of ['video', 'audio']) {
    const b = before[k] || { d: 0, n: 0 }, a = after[k];
    if (a && a.n > b.n) out[k] = Math.round(1000 * (a.d - b.d) / (a.n - b.n));
  }
  return out;
}

// The server's per-stage latency (GET /api/stats "latency"), or null.
async function serverStages() {
  try {
    const r = await fetch(`${URL_BASE}/api/stats`);
    return r.ok ? (await r.json()).latency || null : null;
  } catch {
    return null;
  }
}

// ---------- the two paths ----------

// Flips FLIPS times: sender.__flip, then waits for the receiver's probe to see both media.
async function measure(sender, receiver) {
  const video = [], audio = [], videoNow = [], audioProc = [];
  for (let i = 0; i < FLIPS; i++) {
    const [color, cls] = COLORS[i % 2];
    const t0 = await sender.evaluate((col) => window.__flip(col), color);
    const found = await waitFor(() => receiver.evaluate(([t, k]) => {
      const p = window.__probe;
      const v = p.changes.find((ch) => ch.cls === k && ch.t >= t);
      const a = p.onsets.find((x) => x.proc >= t);
      return v && a ? { v, a } : null;
    }, [t0, cls]), { timeout: PERIOD_MS + 1500, interval: 100, what: `flip ${i}` }).catch(() => null);
    let v = NaN, a = NaN, vn = NaN, ap = NaN;
    const part = found || await receiver.evaluate(([t, k]) => ({
      v: window.__probe.changes.find((ch) => ch.cls === k && ch.t >= t),
      a: window.__probe.onsets.find((x) => x.proc >= t) }), [t0, cls]);
    if (part.v) { v = part.v.t - t0; vn = part.v.now - t0; }
    if (part.a) { a = part.a.t - t0; ap = part.a.proc - t0; }
    video.push(v); audio.push(a); videoNow.push(vn); audioProc.push(ap);
    const left = t0 + PERIOD_MS - (await sender.evaluate(() => performance.timeOrigin + performance.now()));
    if (left > 0) await sleep(left);
  }
  return { video, audio, videoNow, audioProc };
}

async function direct(browser) {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.log(`[direct] page error: ${e}`));
  await page.goto(`${URL_BASE}/`);
  await page.evaluate(async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 640; canvas.height = 360;
    const g = canvas.getContext('2d');
    window.__senderColor = '#ff0000';
    setInterval(() => { g.fillStyle = window.__senderColor; g.fillRect(0, 0, 640, 360); }, 33);
    window.__senderCanvas = canvas;
    window.__senderCtx = new AudioContext();
    await window.__senderCtx.resume();
  });
  await page.evaluate(installSender, { hz: TONE_HZ, burstMs: BURST_MS, useMcu: false });
  await page.evaluate(async () => {
    const pc1 = new RTCPeerConnection(), pc2 = new RTCPeerConnection();
    window.__pc2 = pc2;
    pc1.onicecandidate = (e) => e.candidate && pc2.addIceCandidate(e.candidate);
    pc2.onicecandidate = (e) => e.candidate && pc1.addIceCandidate(e.candidate);
    const stream = new MediaStream([window.__senderCanvas.captureStream(30).getVideoTracks()[0], window.__burstTrack]);
    for (const t of stream.getTracks()) pc1.addTrack(t, stream); // one stream: lip-synced
    const video = document.createElement('video');
    video.id = 'remote'; video.autoplay = true; video.playsInline = true;
    document.body.appendChild(video);
    const got = new Promise((resolve) => {
      pc2.ontrack = (e) => { if (e.streams[0].getTracks().length === 2) { video.srcObject = e.streams[0]; resolve(); } };
    });
    await pc1.setLocalDescription(await pc1.createOffer());
    await pc2.setRemoteDescription(pc1.localDescription);
    await pc2.setLocalDescription(await pc2.createAnswer());
    await pc1.setRemoteDescription(pc2.localDescription);
    await got;
  });
  await page.evaluate(installProbe, { videoId: 'remote', x: 0.5, y: 0.5 });
  await waitFor(() => page.evaluate(() => window.__probe.changes.length > 0), { timeout: 20000, what: 'direct picture' });
  await sleep(WARMUP_MS);
  const jb0 = await page.evaluate(jitterCounters);
  const r = await measure(page, page);
  r.receiver = jitterMean(jb0, await page.evaluate(jitterCounters));
  r.ctx = await page.evaluate(probeCtx);
  await page.context().close(); // before the MCU path: its peer connections would go on sending
  return r;
}

async function viaMcu(browser) {
  const a = await openParticipant(browser, { room: 'latav', name: 'A', color: '#ff0000', tone: TONE_HZ });
  await sleep(300);
  const b = await openParticipant(browser, { room: 'latav', name: 'B', color: '#0000ff', tone: 700 });
  await waitFor(() => a.evaluate(() => mcu.state === 'connected' && !!mcu.conn && !!mcu.conn.tr), { timeout: 20000, what: 'A connected' });
  await a.evaluate(installSender, { hz: TONE_HZ, burstMs: BURST_MS, useMcu: true });
  // silence, then bursts, instead of the page's steady tone (same sender, no renegotiation)
  await a.evaluate(() => mcu.conn.tr.audio.sender.replaceTrack(window.__burstTrack));
  await waitFor(() => b.evaluate(() => { const p = mcu.pixel(0.25, 0.5); return p && p[0] > 180 && p[2] < 80; }),
    { timeout: 20000, what: 'B sees A' });
  await waitFor(() => b.evaluate(() => mcu.remoteStream.getAudioTracks().length > 0), { timeout: 10000, what: 'B hears' });
  await b.evaluate(installProbe, { videoId: 'mix', x: 0.25, y: 0.5 });
  await sleep(WARMUP_MS);
  const jb0 = await b.evaluate(jitterCounters);
  const r = await measure(a, b);
  r.receiver = jitterMean(jb0, await b.evaluate(jitterCounters));
  r.stages = await serverStages();
  r.ctx = await b.evaluate(probeCtx);
  await a.context().close();
  await b.context().close();
  return r;
}

// ---------- report ----------

function stats(xs) {
  const ok = xs.filter(Number.isFinite).sort((p, q) => p - q);
  const q = (p) => (ok.length ? ok[Math.min(ok.length - 1, Math.ceil(p * ok.length) - 1)] : NaN);
  return { n: ok.length, missed: xs.length - ok.length, median: q(0.5), p95: q(0.95), min: ok[0], max: ok[ok.length - 1] };
}
const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(0)}`.padStart(4) : '   -');
const round1 = (xs) => xs.map((x) => (Number.isFinite(x) ? +x.toFixed(1) : null));

function report(paths) {
  const out = { flips: FLIPS, periodMs: PERIOD_MS, burstMs: BURST_MS, toneHz: TONE_HZ, warmupMs: WARMUP_MS };
  const names = Object.keys(paths);
  console.log(`as played in Chromium (ms, ${FLIPS} flips each)   median   p95   min   max  missed`);
  for (const kind of ['video', 'audio']) {
    out[kind] = {};
    for (const n of names) {
      const s = stats(paths[n][kind]);
      out[kind][n] = { ...s, samples: round1(paths[n][kind]) };
      console.log(`  ${kind} ${n.padEnd(7)}                             ${ms(s.median)}  ${ms(s.p95)}  ${ms(s.min)}  ${ms(s.max)}  ${s.missed}`);
    }
    if (paths.direct && paths.mcu) {
      out[kind].added = out[kind].mcu.median - out[kind].direct.median;
      console.log(`  ${kind} added by the MCU (median):              ${ms(out[kind].added)}`);
    }
  }
  // video (rendered-frame callback time rather than expected display time), for reference
  out.videoCallback = Object.fromEntries(names.map((n) => [n, stats(paths[n].videoNow).median]));
  // audio when the analysing graph rendered the onset (without that context's output latency)
  out.audioRendered = Object.fromEntries(names.map((n) => [n, stats(paths[n].audioProc).median]));
  console.log('  (medians at the frame callback, video: ' + names.map((n) => `${n} ${ms(out.videoCallback[n]).trim()}`).join(', ') +
    '; when the analysing graph rendered the onset, audio: ' + names.map((n) => `${n} ${ms(out.audioRendered[n]).trim()}`).join(', ') + ')');
  // A/V offset: per flip, video delay - audio delay (> 0: the picture comes after the sound)
  out.avOffset = {};
  for (const n of names) {
    const d = paths[n].video.map((v, i) => v - paths[n].audio[i]);
    const s = stats(d);
    out.avOffset[n] = { median: s.median, p95: s.p95, min: s.min, max: s.max, n: s.n,
      ofMedians: out.video[n].median - out.audio[n].median, samples: round1(d) };
  }
  console.log('A/V offset as played (ms, video - audio per flip, median [min..max]): ' +
    names.map((n) => `${n} ${ms(out.avOffset[n].median).trim()} [${ms(out.avOffset[n].min).trim()}..${ms(out.avOffset[n].max).trim()}]`).join(', ') +
    (paths.direct && paths.mcu ? `; the MCU's share ${ms(out.avOffset.mcu.median - out.avOffset.direct.median).trim()}` : ''));
  if (paths.direct && paths.mcu) out.avOffset.mcuShare = out.avOffset.mcu.median - out.avOffset.direct.median;
  out.receiver = Object.fromEntries(names.map((n) => [n, paths[n].receiver]));
  out.ctx = Object.fromEntries(names.map((n) => [n, paths[n].ctx]));
  console.log('receiver jitter buffer (getStats, ms, mean over the flips): ' +
    names.map((n) => `${n} video ${paths[n].receiver.video ?? '-'} audio ${paths[n].receiver.audio ?? '-'}`).join(', '));
  console.log('analysing AudioContext (ms): ' + names.map((n) => `${n} base ${(1000 * paths[n].ctx.baseLatency).toFixed(1)} output ${(1000 * (paths[n].ctx.outputLatency || 0)).toFixed(1)} @ ${paths[n].ctx.sampleRate} Hz`).join(', '));
  if (paths.mcu && paths.mcu.stages) {
    const st = paths.mcu.stages, p = (k) => (st[k] && st[k].total ? `${st[k].total.p50_ms} / ${st[k].total.p95_ms}` : '-');
    out.stages = st;
    console.log(`server total (GET /api/stats, p50 / p95 ms, last 10-20 s): video ${p('video')}, audio ${p('audio')}`);
  }
  if (paths.mcu) {
    const t = { av: Math.abs(out.avOffset.mcu.median) <= 40 };
    let line = `targets (issue 12): A/V offset as played through the MCU |${ms(out.avOffset.mcu.median).trim()}| <= 40: ${t.av ? 'met' : 'NOT met'}`;
    if (paths.direct) {
      t.audio = out.audio.added <= 50; t.video = out.video.added <= 60;
      line += `; audio added ${ms(out.audio.added).trim()} <= 50: ${t.audio ? 'met' : 'NOT met'}; video added ${ms(out.video.added).trim()} <= 60: ${t.video ? 'met' : 'NOT met'}`;
    }
    out.targets = t;
    console.log(line);
  }
  if (process.env.JSON === '1') console.log(JSON.stringify(out));
}

const browser = await launchBrowser();
try {
  const paths = {};
  if (ONLY !== 'mcu') paths.direct = await direct(browser);
  if (ONLY !== 'direct') paths.mcu = await viaMcu(browser);
  report(paths);
} finally {
  await browser.close();
}
