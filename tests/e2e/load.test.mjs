// load.test.mjs - smoke test of mcu-load (issue 6): 4 clients in 2 rooms for about 8 s against
// the server tests/e2e/run.sh starts on 127.0.0.1:18080. Each client runs our own transport
// (libnice ICE controlling, DTLS client, SRTP) and replays pre-encoded clips (video of p1,
// audio of p2), and also decodes the mix it gets. Every client must reach media (ICE + DTLS),
// get only VP8 (PT 96) and Opus (PT 111) packets, video at >= 10 fps by marker bits (the
// server sends 30) and audio at >= 25 packets/s (it sends 50), loss under 20 %, and decode
// 1280x720 pictures (at least a second's worth) and Opus packets without errors. Floors are generous: this is
// a behaviour test on a shared machine, not a benchmark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from './lib.mjs';

const BUILD = process.env.BUILD || 'build';
const MEDIA = process.env.MIX_MEDIA || 'assets/media';
const WS_URL = (process.env.MCU_URL || 'http://127.0.0.1:18080').replace(/^http/, 'ws') + '/ws';
const DURATION_S = 8;

test('mcu-load: 4 clients in 2 rooms connect and receive the mix', { timeout: 90000 }, async () => {
  assert.ok(existsSync(`${BUILD}/mcu-load`), `${BUILD}/mcu-load is missing: make load`);
  const json = join(mkdtempSync(join(tmpdir(), 'mcu-load-')), 'load.json');
  const r = await runLoad([
    '--url', WS_URL, '--rooms', '2', '--clients', '2', '--duration', String(DURATION_S),
    '--settle', '3', '--video', `${MEDIA}/p1.webm`, '--audio', `${MEDIA}/p2.webm`,
    '--decode', '4', '--json', json,
  ]);
  console.log(r.out);
  assert.equal(r.signal, null, 'mcu-load was killed');
  assert.ok(r.code === 0 || r.code === 3, `mcu-load exit code ${r.code}`);
  const res = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(res.clients.length, 4);
  assert.equal(res.steps.length, 1);
  const step = res.steps[0];
  assert.equal(step.connected, 4, 'every client reached media');
  assert.equal(step.measured, 4, 'every client was measured');
  assert.ok(step.window_s >= 4, `window ${step.window_s} s`);
  assert.ok(step.fps_min >= 10, `video ${step.fps_min} fps`);
  assert.ok(step.audio_pps_min >= 25, `audio ${step.audio_pps_min} packets/s`);
  const rooms = new Set(res.clients.map((c) => c.room));
  assert.deepEqual([...rooms].sort(), ['load-1', 'load-2']);
  for (const c of res.clients) {
    const who = `client ${c.index} (${c.room})`;
    assert.equal(c.state, 'media', `${who}: ${c.error}`);
    assert.ok(c.connect_ms > 0 && c.connect_ms < 20000, `${who}: connect ${c.connect_ms} ms`);
    assert.equal(c.other_packets, 0, `${who}: packets with other payload types`);
    assert.ok(c.video_packets > 100 && c.audio_packets > 100, `${who}: too few packets`);
    assert.ok(c.video_frames >= 10 * DURATION_S * 0.5, `${who}: ${c.video_frames} frames`);
    assert.ok(c.keyframes >= 1, `${who}: no keyframe`);
    const loss = 1 - (c.video_received + c.audio_received) / (c.video_expected + c.audio_expected);
    assert.ok(loss < 0.2, `${who}: loss ${loss}`);
    assert.ok(c.rtp_sent > 100, `${who}: sent ${c.rtp_sent} RTP packets`);
    assert.equal(c.srtp_errors, 0, `${who}: SRTP errors`);
    // after a loss the decoder waits for the keyframe its PLI asks for: count pictures, not all
    assert.ok(c.decoded_frames >= 30, `${who}: decoded ${c.decoded_frames} pictures`);
    assert.equal(c.decode_errors, 0, `${who}: decode errors`);
    assert.equal(c.width, 1280);
    assert.equal(c.height, 720);
    assert.ok(c.decoded_audio >= c.audio_packets * 0.9, `${who}: decoded ${c.decoded_audio} audio`);
  }
});
