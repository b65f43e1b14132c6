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
// only); opts.receive: the join's receive
// profile.
export function participant(name, yuv, tone, room = 'wrtc', opts = {}) {
  const mode = opts.mode || 'sendrecv';
  // c.silent: send digital silence instead of the tone (from the next 10 ms).
  const c = { name, tracks: [], frames: 0, lastFrame: null, audio: [], errors: [], silent: false };
  const ws = new WebSocket(URL_BASE.replace('http', 'ws') + '/ws');
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
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
  }, 33);
  const atimer = setInterval(() => {
    const samples = new Int16Array(480);
    for (let i = 0; i < 480; i++, phase++) samples[i] = c.silent ? 0 : 8000 * Math.sin((2 * Math.PI * tone * phase) / 48000);
    asrc.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
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
  c.messages = []; // every signaling message received, in order
  c.send = wireSignaling(ws, pc, {
    room, name, receive: opts.receive, onMessage: (m) => {
      c.messages.push(m);
      if (m.type === 'error') c.errors.push(m);
    },
  });
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
