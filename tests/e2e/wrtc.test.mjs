// wrtc.test.mjs - a second, independent WebRTC stack: two @roamhq/wrtc (libwebrtc for Node)
// clients join a room, each sending generated I420 frames of its own colour and its own tone.
// Each must get exactly one video and one audio track, decode the 1280x720 mix at >= 10 fps,
// see both colours in their tiles, and hear the other but not itself. With config opus_dtx our
// answer asks for Opus DTX: a client that goes silent then sends only a few audio packets a second.
// server-config: {"opus_dtx": true}
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, sleep } from './lib.mjs';
import { participant, yuvAt, tonePower } from './wrtc-client.mjs';

const clients = [];
after(() => {
  for (const c of clients) c.close();
  // libwebrtc's threads keep Node alive after close(): exit once the results are out.
  setTimeout(() => process.exit(), 1000).unref();
});

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
  // DTX (opus_dtx): usedtx=1 in the answer's Opus fmtp, and libwebrtc honours it (50 packets/s
  // otherwise)
  for (const c of clients) {
    const ans = c.messages.find((m) => m.type === 'answer');
    assert.match(ans.sdp, /a=fmtp:\d+ [^\r\n]*usedtx=1/);
  }
  const audioSent = async (c) => {
    let n = 0;
    (await c.pc.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && (r.kind || r.mediaType) === 'audio') n = r.packetsSent;
    });
    return n;
  };
  a.silent = true;
  await sleep(1000);
  const p0 = await audioSent(a);
  await sleep(2000);
  const rate = ((await audioSent(a)) - p0) / 2;
  console.log(`${a.name} silent: ${rate} audio packets/s`);
  assert.ok(rate > 0 && rate < 15, `${a.name} sends ${rate} audio packets/s while silent`);
});
