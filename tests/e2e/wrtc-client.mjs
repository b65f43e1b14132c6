// wrtc-client.mjs - a participant on @roamhq/wrtc (libwebrtc for Node): signaling over the
// ws package, generated I420 frames of one colour and a sine tone in, the mixed video and
// audio out through nonstandard sinks. Used by wrtc.test.mjs and bench/server-cpu.mjs.
import wrtc from '@roamhq/wrtc';
import WebSocket from 'ws';
import { URL_BASE, wireSignaling } from './lib.mjs';

const { RTCPeerConnection, nonstandard } = wrtc;
export { wrtc }; // for scripts outside tests/e2e (bench/), which cannot resolve it
export const W = 640, H = 360;

// One participant: signaling over ws, media from nonstandard sources, the mix into sinks.
// opts.mode: 'sendrecv' (default), 'recvonly' (a viewer: receives audio and video, sends
// nothing), 'sendonly' (sends, receives nothing) or 'audio-only' (sends and receives audio
// only); opts.receive: the join's receive profile; opts.token: its access token; opts.screen:
// the colour of a second video track, offered as its screen (the offer's "screen");
// opts.base: the server's URL (default MCU_URL); opts.bundlePolicy: the RTCPeerConnection's (default 'max-bundle'); opts.mungeOffer(sdp): the
// offer SDP to set and send instead of createOffer()'s (see wireSignaling).
export function participant(name, yuv, tone, room = 'wrtc', opts = {}) {
  const mode = opts.mode || 'sendrecv';
  // c.silent: send digital silence instead of the tone (from the next 10 ms).
  const c = { name, tracks: [], frames: 0, lastFrame: null, audio: [], errors: [], silent: false };
  const ws = new WebSocket((opts.base || URL_BASE).replace('http', 'ws') + '/ws');
  const pc = new RTCPeerConnection({ bundlePolicy: opts.bundlePolicy || 'max-bundle' });
  const vsrc = new nonstandard.RTCVideoSource();
  const asrc = new nonstandard.RTCAudioSource();
  if (mode === 'recvonly') {
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
  } else if (mode === 'sendonly') {
    pc.addTransceiver(asrc.createTrack(), { direction: 'sendonly' });
    pc.addTransceiver(vsrc.createTrack(), { direction: 'sendonly' });
  } else {
    pc.addTrack(asrc.createTrack());
    if (mode !== 'audio-only') pc.addTrack(vsrc.createTrack());
  }
  // opts.screen: [Y, U, V] of a second video track, offered as the participant's screen
  let ssrc = null;
  let screenFrame = null;
  const addScreen = (yuv) => {
    ssrc = new nonstandard.RTCVideoSource();
    c.screenTransceiver = pc.addTransceiver(ssrc.createTrack(), { direction: 'sendonly' });
    screenFrame = new Uint8Array(W * H * 1.5);
    screenFrame.fill(yuv[0], 0, W * H);
    screenFrame.fill(yuv[1], W * H, W * H * 1.25);
    screenFrame.fill(yuv[2], W * H * 1.25);
  };
  if (opts.screen) addScreen(opts.screen);
  const frame = new Uint8Array(W * H * 1.5);
  frame.fill(yuv[0], 0, W * H);
  frame.fill(yuv[1], W * H, W * H * 1.25);
  frame.fill(yuv[2], W * H * 1.25);
  let phase = 0;
  // Motion in a band at the top (the centre stays the solid colour tests look at).
  let n = 0;
  const vtimer = setInterval(() => {
    n++;
    for (let y = 0; y < 48; y++)
      for (let x = 0; x < W; x++) frame[y * W + x] = ((x + n * 8) ^ (y * 5)) & 0xff;
    vsrc.onFrame({ width: W, height: H, data: frame });
    if (ssrc) ssrc.onFrame({ width: W, height: H, data: screenFrame });
  }, 33);
  // Audio paced by the clock, not by timer counts: a 10 ms timer on a busy event loop fires
  // late, and each tick sends every 10 ms chunk due since the start (at most 200 ms behind).
  const t0 = performance.now();
  let chunks = 0;
  const atimer = setInterval(() => {
    const due = Math.floor((performance.now() - t0) / 10);
    chunks = Math.max(chunks, due - 20);
    for (; chunks < due; chunks++) {
      const samples = new Int16Array(480);
      for (let i = 0; i < 480; i++, phase++) samples[i] = c.silent ? 0 : 8000 * Math.sin((2 * Math.PI * tone * phase) / 48000);
      asrc.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
    }
  }, 10);
  pc.ontrack = (ev) => {
    c.tracks.push(ev.track.kind);
    if (ev.track.kind === 'video') {
      const sink = new nonstandard.RTCVideoSink(ev.track);
      sink.onframe = ({ frame: f }) => { c.frames++; c.lastFrame = f; };
      c.vsink = sink;
    } else {
      const sink = new nonstandard.RTCAudioSink(ev.track);
      sink.ondata = (d) => {
        const mono = d.channelCount === 1 ? d.samples : d.samples.filter((_, i) => i % d.channelCount === 0);
        c.audio.push(...mono);
        if (c.audio.length > 96000) c.audio.splice(0, c.audio.length - 96000);
        c.rate = d.sampleRate;
      };
      c.asink = sink;
    }
  };
  c.pc = pc;
  c.ws = ws;
  c.messages = []; // every signaling message received, in order
  c.send = wireSignaling(ws, pc, {
    room, name, receive: opts.receive, token: opts.token, mungeOffer: opts.mungeOffer,
    offerExtra: opts.screen ? () => ({ screen: c.screenTransceiver.mid }) : undefined,
    onMessage: (m) => {
      c.messages.push(m);
      if (m.type === 'error' || m.type === 'local-error') c.errors.push(m);
    },
  });
  // A new offer on the same connection (renegotiation); extra() gives more fields for the
  // message once the offer is set (a new transceiver has its mid only then).
  // extra(sdp) gets the offer set (not read back from pc.localDescription: see wireSignaling).
  c.reoffer = async (extra = () => ({})) => {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    c.send({ type: 'offer', sdp: offer.sdp, ...extra(offer.sdp) });
  };
  // Shares a screen of colour yuv mid-call: a new sendonly transceiver and a new offer naming it
  // (edit(sdp, mid): the offer text sent, e.g. without some lines; the one set is unchanged).
  c.shareScreen = async (yuv, edit = (sdp) => sdp) => {
    addScreen(yuv);
    await c.reoffer((sdp) => ({
      screen: c.screenTransceiver.mid,
      sdp: edit(sdp, c.screenTransceiver.mid),
    }));
  };
  // Stops sharing as a browser page does: the transceiver goes inactive, and a new offer.
  c.unshareScreen = async () => {
    c.screenTransceiver.direction = 'inactive';
    ssrc = null;
    await c.reoffer();
  };
  c.close = () => {
    clearInterval(vtimer); clearInterval(atimer);
    c.vsink?.stop(); c.asink?.stop();
    pc.close(); ws.close();
  };
  return c;
}

// Y, U, V of the I420 frame at (x, y) in [0,1] coordinates.
export function yuvAt(f, x, y) {
  const px = Math.floor(x * f.width), py = Math.floor(y * f.height);
  const cw = f.width / 2, ch = f.height / 2;
  return [f.data[py * f.width + px],
    f.data[f.width * f.height + (py >> 1) * cw + (px >> 1)],
    f.data[f.width * f.height + cw * ch + (py >> 1) * cw + (px >> 1)]];
}

export function tonePower(samples, f, rate) {
  const k = 2 * Math.cos((2 * Math.PI * f) / rate);
  let s1 = 0, s2 = 0;
  for (const x of samples) { const s0 = x + k * s1 - s2; s2 = s1; s1 = s0; }
  const n = samples.length;
  return 10 * Math.log10((s1 * s1 + s2 * s2 - k * s1 * s2) / n / n + 1e-9);
}

// The highest power (dB) of tone hz over 100 ms windows of c's last `ms` of mixed audio. The
// senders' timers run late on a busy machine, so a tone counts as heard if it was loud in some
// recent window, and as gone only if it was quiet in every window.
export function tonePeak(c, hz, ms) {
  const s = c.audio.slice(-ms * 48);
  let max = -Infinity;
  for (let i = 0; i + 4800 <= s.length; i += 4800)
    max = Math.max(max, tonePower(s.slice(i, i + 4800), hz, c.rate || 48000));
  return max;
}

// Whether c's latest received picture has colour yuv (each of Y, U, V within 25) at (x, y).
export function colourAt(c, x, y, yuv) {
  return !!c.lastFrame && yuvAt(c.lastFrame, x, y).every((v, i) => Math.abs(v - yuv[i]) <= 25);
}

// Whether c's latest received picture shows colour yuv anywhere (a 16 x 9 grid of points).
export function showsColour(c, yuv) {
  for (let y = 0.5 / 9; y < 1; y += 1 / 9)
    for (let x = 0.5 / 16; x < 1; x += 1 / 16)
      if (colourAt(c, x, y, yuv)) return true;
  return false;
}
