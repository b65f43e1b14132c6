// wrtc.test.mjs - a second, independent WebRTC stack: two @roamhq/wrtc (libwebrtc for Node)
// clients join a room, each sending generated I420 frames of its own colour and its own tone.
// Each must get exactly one video and one audio track, decode the 1280x720 mix at >= 10 fps,
// see both colours in their tiles, and hear the other but not itself.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import wrtc from '@roamhq/wrtc';
import WebSocket from 'ws';
import { URL_BASE, waitFor, sleep } from './lib.mjs';

const { RTCPeerConnection, nonstandard } = wrtc;
const W = 640, H = 360;
const clients = [];
after(() => {
  for (const c of clients) c.close();
  // libwebrtc's threads keep Node alive after close(): exit once the results are out.
  setTimeout(() => process.exit(), 1000).unref();
});

// One participant: signaling over ws, media from nonstandard sources, the mix into sinks.
function participant(name, yuv, tone) {
  const c = { name, tracks: [], frames: 0, lastFrame: null, audio: [], errors: [] };
  const ws = new WebSocket(URL_BASE.replace('http', 'ws') + '/ws');
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const vsrc = new nonstandard.RTCVideoSource();
  const asrc = new nonstandard.RTCAudioSource();
  pc.addTrack(vsrc.createTrack());
  pc.addTrack(asrc.createTrack());
  const frame = new Uint8Array(W * H * 1.5);
  frame.fill(yuv[0], 0, W * H);
  frame.fill(yuv[1], W * H, W * H * 1.25);
  frame.fill(yuv[2], W * H * 1.25);
  let phase = 0;
  const vtimer = setInterval(() => vsrc.onFrame({ width: W, height: H, data: frame }), 33);
  const atimer = setInterval(() => {
    const samples = new Int16Array(480);
    for (let i = 0; i < 480; i++, phase++) samples[i] = 8000 * Math.sin((2 * Math.PI * tone * phase) / 48000);
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
  pc.onicecandidate = (ev) => ws.readyState === 1 && ws.send(JSON.stringify({
    type: 'candidate', candidate: ev.candidate ? ev.candidate.candidate : null,
    sdpMid: ev.candidate?.sdpMid, sdpMLineIndex: ev.candidate?.sdpMLineIndex,
  }));
  ws.on('open', () => ws.send(JSON.stringify({ type: 'join', room: 'wrtc', name })));
  ws.on('message', async (data) => {
    const m = JSON.parse(data);
    if (m.type === 'joined') {
      await pc.setLocalDescription(await pc.createOffer());
      ws.send(JSON.stringify({ type: 'offer', sdp: pc.localDescription.sdp }));
    } else if (m.type === 'answer') {
      await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
    } else if (m.type === 'candidate' && m.candidate) {
      await pc.addIceCandidate({ candidate: m.candidate, sdpMid: m.sdpMid, sdpMLineIndex: m.sdpMLineIndex });
    } else if (m.type === 'error') {
      c.errors.push(m);
    }
  });
  c.close = () => {
    clearInterval(vtimer); clearInterval(atimer);
    c.vsink?.stop(); c.asink?.stop();
    pc.close(); ws.close();
  };
  return c;
}

// Y, U, V of the I420 frame at (x, y) in [0,1] coordinates.
function yuvAt(f, x, y) {
  const px = Math.floor(x * f.width), py = Math.floor(y * f.height);
  const cw = f.width / 2, ch = f.height / 2;
  return [f.data[py * f.width + px],
    f.data[f.width * f.height + (py >> 1) * cw + (px >> 1)],
    f.data[f.width * f.height + cw * ch + (py >> 1) * cw + (px >> 1)]];
}

function tonePower(samples, f, rate) {
  const k = 2 * Math.cos((2 * Math.PI * f) / rate);
  let s1 = 0, s2 = 0;
  for (const x of samples) { const s0 = x + k * s1 - s2; s2 = s1; s1 = s0; }
  const n = samples.length;
  return 10 * Math.log10((s1 * s1 + s2 * s2 - k * s1 * s2) / n / n + 1e-9);
}

test('two libwebrtc (wrtc) clients get one mixed stream', { timeout: 90000 }, async () => {
  const a = participant('Magenta', [106, 202, 222], 600);
  clients.push(a);
  await sleep(500);
  const b = participant('Cyan', [170, 166, 16], 900);
  clients.push(b);
  for (const c of clients) {
    await waitFor(() => c.tracks.length >= 2, { timeout: 20000, what: `${c.name} tracks` });
    assert.deepEqual([...c.tracks].sort(), ['audio', 'video']);
    assert.deepEqual(c.errors, []);
  }
  // both colours in a 2x1 grid, join order
  for (const c of clients) {
    await waitFor(() => {
      const f = c.lastFrame;
      if (!f) return false;
      const l = yuvAt(f, 0.25, 0.5), r = yuvAt(f, 0.75, 0.5);
      const close = (p, q) => p.every((v, i) => Math.abs(v - q[i]) <= 30);
      return close(l, [106, 202, 222]) && close(r, [170, 166, 16]);
    }, { timeout: 20000, what: `${c.name} sees both tiles` });
  }
  for (const c of clients) {
    const n0 = c.frames;
    await sleep(3000);
    const fps = (c.frames - n0) / 3;
    console.log(`${c.name}: ${fps.toFixed(1)} fps, ${c.lastFrame.width}x${c.lastFrame.height}`);
    assert.equal(c.lastFrame.width, 1280);
    assert.equal(c.lastFrame.height, 720);
    assert.ok(fps >= 10, `${c.name} receives ${fps} fps`);
  }
  // each hears the other's tone, not its own
  for (const [i, c] of clients.entries()) {
    const recent = c.audio.slice(-48000);
    const own = tonePower(recent, i === 0 ? 600 : 900, c.rate);
    const other = tonePower(recent, i === 0 ? 900 : 600, c.rate);
    console.log(`${c.name}: own tone ${own.toFixed(1)} dB, other ${other.toFixed(1)} dB, rate ${c.rate}, n ${recent.length}, max ${Math.max(...recent.slice(0, 5000).map(Math.abs))}`);
    assert.ok(other > own + 20, `${c.name} own ${own} other ${other}`);
  }
});
