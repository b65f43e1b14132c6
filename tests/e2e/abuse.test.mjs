// abuse.test.mjs - garbage, wrong credentials and feedback floods (issue 6), against the server
// tests/e2e/run.sh starts on 127.0.0.1:18080. Each mode is one room of 3 mcu-load clients for
// about 8 s (run one after the other, so GET /api/stats deltas belong to one mode): 2 normal
// clients and 1 abuser (mcu-load --abuse MODE, the last client), plus a baseline room without
// abuse. The abuser floods NACKs or PLI/FIR, replays its SRTP/SRTCP, sends random datagrams
// with STUN/DTLS/RTP first bytes, or offers a wrong DTLS fingerprint. Whatever it does, the
// server must answer, count what it drops, and the normal clients must keep receiving video
// (>= 10 fps, no gap over 1 s) with no more keyframes than the engine's 1/s + 2. A figures
// table (counter deltas, normal clients' fps / keyframes / gaps / bitrate) is printed at the
// end.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from './lib.mjs';

const BUILD = process.env.BUILD || 'build';
const MEDIA = process.env.MIX_MEDIA || 'assets/media';
const HTTP = process.env.MCU_URL || 'http://127.0.0.1:18080';
const WS_URL = HTTP.replace(/^http/, 'ws') + '/ws';
const DURATION_S = 8;
const dir = mkdtempSync(join(tmpdir(), 'mcu-abuse-'));
const results = {}; // mode -> figures

async function stats() {
  const r = await fetch(`${HTTP}/api/stats`);
  assert.equal(r.status, 200, 'GET /api/stats');
  return r.json();
}

function delta(before, after) {
  const d = {};
  for (const sec of ['server', 'peers', 'signaling'])
    for (const [k, v] of Object.entries(after[sec] || {}))
      if (typeof v === 'number') d[k] = v - (before[sec]?.[k] ?? 0);
  return d;
}

// Runs one room of 3 (the last one abusing unless mode is 'none') and gathers the figures.
async function runMode(mode) {
  assert.ok(existsSync(`${BUILD}/mcu-load`), `${BUILD}/mcu-load is missing: make load`);
  const json = join(dir, `${mode}.json`);
  const before = await stats();
  const r = await runLoad([
    '--url', WS_URL, '--rooms', '1', '--clients', '3', '--duration', String(DURATION_S),
    '--settle', '3', '--video', `${MEDIA}/p1.webm`, '--audio', `${MEDIA}/p2.webm`,
    '--room-prefix', `abuse-${mode}`, '--json', json, ...(mode === 'none' ? [] : ['--abuse', mode]),
  ]);
  console.log(r.out);
  assert.equal(r.signal, null, 'mcu-load was killed');
  assert.ok(r.code === 0 || r.code === 3, `mcu-load exit code ${r.code}`);
  const after = await stats(); // the server is alive and answers
  const res = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(res.clients.length, 3);
  const normals = res.clients.slice(0, 2);
  const abuser = res.clients[2];
  const d = delta(before, after);
  const f = {
    mode, d, normals, abuser, step: res.steps[0],
    fpsMin: Math.min(...normals.map((c) => c.fps)),
    kfMax: Math.max(...normals.map((c) => c.keyframes)),
    kfPerS: Math.max(...normals.map((c) => c.keyframes / Math.max(c.media_s, 1))),
    gapMax: Math.max(...normals.map((c) => c.max_gap_ms)),
    kbpsMin: Math.min(...normals.map((c) => (c.bytes * 8) / Math.max(c.media_s, 1) / 1000)),
  };
  results[mode] = f;
  return f;
}

// The two normal clients: in media all along, video >= 10 fps, no gap over 1 s, no SRTP errors,
// keyframes within the engine's limit (1 per second per encoder) + 2.
function checkNormals(f) {
  for (const c of f.normals) {
    const who = `${f.mode}: normal client ${c.index}`;
    assert.equal(c.state, 'media', `${who}: ${c.error}`);
    assert.ok(c.video_frames >= 10 * DURATION_S * 0.5, `${who}: ${c.video_frames} frames`);
    assert.ok(c.fps >= 10, `${who}: ${c.fps} fps`);
    assert.ok(c.max_gap_ms <= 1000, `${who}: a ${c.max_gap_ms} ms gap between frames`);
    assert.equal(c.srtp_errors, 0, `${who}: SRTP errors`);
    assert.ok(c.keyframes <= c.media_s + 2, `${who}: ${c.keyframes} keyframes in ${c.media_s} s`);
  }
  assert.ok(f.step.fps_min >= 10, `${f.mode}: window fps ${f.step.fps_min}`);
  assert.ok(f.step.freeze_max_ms <= 1000, `${f.mode}: window freeze ${f.step.freeze_max_ms} ms`);
}

test('baseline: 3 clients, no abuse', { timeout: 60000 }, async () => {
  const f = await runMode('none');
  checkNormals(f);
  assert.equal(f.abuser.state, 'media', f.abuser.error);
  assert.equal(f.d.srtp_errors, 0);
});

test('pli-flood: PLI + FIR every 5 ms do not multiply keyframes', { timeout: 60000 }, async () => {
  const f = await runMode('pli-flood');
  checkNormals(f);
  const a = f.abuser.abuse;
  assert.equal(f.abuser.state, 'media', f.abuser.error);
  assert.ok(a.plis > 100 && a.firs > 100, `the abuser sent ${a.plis} PLIs, ${a.firs} FIRs`);
  // PLIs and FIRs are both counted in plis_received
  assert.ok(f.d.plis_received >= 0.9 * (a.plis + a.firs), `plis_received +${f.d.plis_received}`);
  assert.ok(f.abuser.keyframes <= f.abuser.media_s + 2, `abuser ${f.abuser.keyframes} keyframes`);
});

test('pli-flood: one peer\'s requests pass at most once per 2 s', () => {
  const base = results.none, f = results['pli-flood'];
  assert.ok(base && f, 'the baseline and pli-flood runs are needed');
  const secs = Math.max(...f.normals.map((c) => c.media_s));
  assert.ok(f.kfMax <= base.kfMax + Math.ceil(secs / 2) + 1,
    `${f.kfMax} keyframes in ${secs} s vs ${base.kfMax} without abuse`);
  assert.ok(f.d.plis_limited >= 0.9 * f.d.plis_received - secs,
    `plis_limited +${f.d.plis_limited} of ${f.d.plis_received}`);
});

test('nack-flood: NACKs every 5 ms are counted, retransmits bounded', {
  timeout: 60000,
}, async () => {
  const f = await runMode('nack-flood');
  checkNormals(f);
  const a = f.abuser.abuse;
  assert.equal(f.abuser.state, 'media', f.abuser.error);
  assert.ok(a.nacks > 100, `the abuser sent ${a.nacks} NACKs`);
  assert.ok(f.d.nacks_received >= 0.9 * a.nacks, `nacks_received +${f.d.nacks_received}`);
  // each history packet at most once per max(RTT, 20 ms): far below the seqs asked for
  assert.ok(f.d.retransmits <= a.nack_seqs / 2,
    `retransmits +${f.d.retransmits} for ${a.nack_seqs} NACKed seqs`);
  // the normal clients' bitrate and frame rate hold (vs the baseline, generous)
  const base = results.none;
  if (base) {
    assert.ok(f.kbpsMin >= 0.7 * base.kbpsMin, `normal ${f.kbpsMin} kbps vs ${base.kbpsMin}`);
    assert.ok(f.fpsMin >= 0.7 * base.fpsMin, `normal ${f.fpsMin} fps vs ${base.fpsMin}`);
  }
});

test('nack-flood: retransmits stay within the budget (half the video sent + 100)', () => {
  const f = results['nack-flood'];
  assert.ok(f, 'the nack-flood run is needed');
  // the abuser's own libsrtp rejects the resent copies as replays: video_packets are originals
  assert.ok(f.d.retransmits <= 0.5 * f.abuser.video_packets + 100,
    `retransmits +${f.d.retransmits} vs ${f.abuser.video_packets} video packets sent to it`);
  assert.ok(f.d.retransmits_limited > 0, 'refusals are counted');
});

test('srtp-replay: replayed SRTP/SRTCP is rejected and counted', { timeout: 60000 }, async () => {
  const f = await runMode('srtp-replay');
  checkNormals(f);
  const a = f.abuser.abuse, replayed = a.duplicates + a.old;
  assert.equal(f.abuser.state, 'media', f.abuser.error);
  assert.ok(a.duplicates > 500 && a.old > 200, `replayed ${a.duplicates} + ${a.old} old`);
  assert.ok(f.d.srtp_errors >= 0.9 * replayed && f.d.srtp_errors <= 1.1 * replayed + 20,
    `srtp_errors +${f.d.srtp_errors} for ${replayed} replays`);
  // the abuser's own media still gets through (its first copies are fine)
  assert.ok(f.d.frames_in >= 3 * 10 * DURATION_S * 0.5, `frames_in +${f.d.frames_in}`);
});

test('garbage: random STUN/DTLS/RTP-looking datagrams are dropped and counted', {
  timeout: 60000,
}, async () => {
  const f = await runMode('garbage');
  checkNormals(f);
  const a = f.abuser.abuse;
  assert.ok(a.garbage > 300, `the abuser sent ${a.garbage} datagrams`);
  // every range is counted somewhere: RTP-like as SRTP errors (or drops), DTLS-like as
  // dtls_in, STUN-like (not valid STUN, so libnice hands them on) as rtp_dropped
  const counted = f.d.srtp_errors + f.d.rtp_dropped + f.d.unknown_ssrc + f.d.dtls_in;
  assert.ok(counted >= 0.9 * a.garbage, `counted ${counted} of ${a.garbage}`);
  assert.ok(f.d.srtp_errors + f.d.rtp_dropped + f.d.unknown_ssrc >= 0.9 * a.garbage_rtp,
    `RTP-like garbage: srtp_errors +${f.d.srtp_errors}, rtp_dropped +${f.d.rtp_dropped}`);
  assert.ok(f.d.dtls_in >= 0.9 * a.garbage_dtls, `dtls_in +${f.d.dtls_in}`);
  // the abuser either keeps its media or is removed with a reason
  if (f.abuser.state !== 'media')
    assert.ok(f.abuser.server_error,
      `abuser ${f.abuser.state} without an error: ${f.abuser.error}`);
});

test('wrong-fingerprint: the DTLS handshake is refused and counted', {
  timeout: 60000,
}, async () => {
  const f = await runMode('wrong-fingerprint');
  checkNormals(f);
  assert.equal(f.abuser.state, 'failed');
  assert.equal(f.abuser.server_error, 'dtls-failed', f.abuser.error);
  assert.equal(f.abuser.video_packets, 0);
  assert.equal(f.d.dtls_failed, 1, 'server.dtls_failed');
});

after(() => {
  const cols = ['mode', 'abuse_pkts', 'srtp_err', 'rtp_drop', 'unk_ssrc', 'dtls_in', 'nacks_rx',
    'retrans', 'plis_rx', 'dtls_fail', 'fps_min', 'kf_max', 'kf/s', 'gap_ms', 'kbps_min'];
  const rows = Object.values(results).map((f) => [
    f.mode, f.abuser.abuse?.packets ?? 0, f.d.srtp_errors, f.d.rtp_dropped, f.d.unknown_ssrc,
    f.d.dtls_in, f.d.nacks_received, f.d.retransmits, f.d.plis_received, f.d.dtls_failed,
    f.fpsMin.toFixed(1), f.kfMax, f.kfPerS.toFixed(2), Math.round(f.gapMax), Math.round(f.kbpsMin),
  ]);
  const w = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((v, i) => String(v).padStart(w[i])).join(' ');
  console.log(`\nabuse figures (${DURATION_S} s per room; 2 normal clients + the abuser; ` +
    'counters are GET /api/stats deltas, fps/keyframes/gaps/kbps the normal clients\')');
  console.log(line(cols));
  for (const r of rows) console.log(line(r));
});
