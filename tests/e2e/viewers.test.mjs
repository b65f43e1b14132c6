// viewers.test.mjs - clients that do not send everything: a recv-only viewer (a low-power
// client that only watches and listens) gets one video and one audio track with everyone in
// the picture and everyone's voice; an audio-only client gets only the mixed audio and is
// heard by the others. Uses @roamhq/wrtc clients.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, sleep } from './lib.mjs';
import { participant, yuvAt, tonePower } from './wrtc-client.mjs';

const clients = [];
after(() => {
  for (const c of clients) c.close();
  setTimeout(() => process.exit(), 1000).unref();
});

const close = (p, q) => p.every((v, i) => Math.abs(v - q[i]) <= 30);

test('a recv-only viewer and an audio-only client', { timeout: 90000 }, async () => {
  const a = participant('Magenta', [106, 202, 222], 600, 'view');
  clients.push(a);
  await sleep(300);
  const b = participant('Cyan', [170, 166, 16], 900, 'view');
  clients.push(b);
  await sleep(300);
  const viewer = participant('Viewer', [0, 0, 0], 0, 'view', { mode: 'recvonly' });
  clients.push(viewer);
  await sleep(300);
  const voice = participant('Voice', [0, 0, 0], 1300, 'view', { mode: 'audio-only' });
  clients.push(voice);

  // the viewer gets both tracks; the voice client only audio
  await waitFor(() => viewer.tracks.length >= 2, { timeout: 20000, what: 'viewer tracks' });
  assert.deepEqual([...viewer.tracks].sort(), ['audio', 'video']);
  await waitFor(() => voice.tracks.length >= 1, { timeout: 20000, what: 'voice tracks' });
  await sleep(1000);
  assert.deepEqual(voice.tracks, ['audio']);
  for (const c of clients) assert.deepEqual(c.errors, [], `${c.name} errors`);

  // The viewer sends nothing, so it is no tile: a 2x2 grid of three, the two senders on top
  // and the audio-only client's dark placeholder centred below.
  await waitFor(() => {
    const f = viewer.lastFrame;
    return f && f.width === 1280 && close(yuvAt(f, 0.25, 0.3), [106, 202, 222]) &&
      close(yuvAt(f, 0.75, 0.3), [170, 166, 16]) && yuvAt(f, 0.5, 0.62)[0] < 80;
  }, { timeout: 20000, what: 'viewer sees both senders and a placeholder' });

  // everyone's voice reaches the viewer; the senders hear the voice client
  await sleep(3000);
  const tail = (c) => c.audio.slice(-48000);
  const v = tail(viewer);
  console.log(`viewer hears (dB): 600 Hz ${tonePower(v, 600, viewer.rate).toFixed(1)}, ` +
    `900 Hz ${tonePower(v, 900, viewer.rate).toFixed(1)}, 1300 Hz ${tonePower(v, 1300, viewer.rate).toFixed(1)}, ` +
    `silence at 2000 Hz ${tonePower(v, 2000, viewer.rate).toFixed(1)}`);
  // a tone present is > 40 dB on this scale (a full 8000-amplitude tone is ~70), silence < 20
  for (const f of [600, 900, 1300])
    assert.ok(tonePower(v, f, viewer.rate) > 40, `viewer hears ${f} Hz: ${tonePower(v, f, viewer.rate)}`);
  assert.ok(tonePower(tail(a), 1300, a.rate) > 40, 'Magenta hears the audio-only client');
  const vo = tail(voice);
  assert.ok(tonePower(vo, 600, voice.rate) > 40 && tonePower(vo, 900, voice.rate) > 40, 'voice hears both');
  assert.ok(tonePower(vo, 1300, voice.rate) < tonePower(vo, 600, voice.rate) - 20, 'voice does not hear itself');
});
