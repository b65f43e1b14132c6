// latency.test.mjs - regressions of the delay the MCU adds and of audio continuity, with the
// harness of bench/latency-av.mjs (@roamhq/wrtc clients A and B in this process): A's picture
// flips colour and its audio goes from silence to a tone; B times when it sees and hears each
// change, over a direct peer connection and through the server's mix. Then A sends a steady
// 1 kHz tone and B counts phase jumps (over 45 degrees between 20 ms windows) and dips. Then
// newcomers join A's room one by one: each must see the mix and hear A soon after its DTLS.
// After the MCU run, GET /api/stats's per-stage latency must have every stage, with samples,
// and no stage's median above the total's p95 (stamps taken out of order would break that).
// The bounds are loose on purpose (this also runs under ASan, on two cores): they catch a
// regression to far worse, not the figures. bench/latency-av.sh gives the figures
// (docs/BENCHMARKS.md, "Latency and continuity").
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { asanBuild } from './wrtc-child.mjs';
import { checkMetrics } from './promtool.mjs';
import { URL_BASE } from './lib.mjs';

process.env.FLIPS ||= '9';
process.env.TONE_S ||= '10';
const { measurePath, measureJoins, connectDirect, connectMcu, serverStages } =
  await import('../../bench/latency-av.mjs');

const STAGES = {
  video: ['reorder', 'wait', 'decode', 'encode', 'send', 'total'],
  audio: ['reorder', 'wait', 'encode', 'send', 'total'],
};

// Every stage present with samples, medians >= 0 and within the total's p95 (+ 1 ms: the
// histogram's buckets). Loose: it runs under ASan and TSan too.
function checkStages(lat) {
  assert.ok(lat, 'GET /api/stats has no "latency"');
  for (const [kind, names] of Object.entries(STAGES)) {
    const total = lat[kind]?.total;
    assert.ok(total && total.n > 0, `${kind} total: no samples`);
    console.log(`${kind} stages (p50/p95 ms, n): ` +
      names.map((n) => `${n} ${lat[kind][n]?.p50_ms}/${lat[kind][n]?.p95_ms} (${lat[kind][n]?.n})`).join(', '));
    for (const name of names) {
      const s = lat[kind][name];
      assert.ok(s && s.n > 0, `${kind} ${name}: no samples (${JSON.stringify(s)})`);
      assert.ok(s.p50_ms >= 0, `${kind} ${name}: p50 ${s.p50_ms} ms`);
      assert.ok(s.p50_ms <= total.p95_ms + 1,
        `${kind} ${name}: p50 ${s.p50_ms} ms above the total's p95 ${total.p95_ms} ms`);
    }
  }
}

// libwebrtc's threads keep Node alive after close(): exit once the results are out.
after(() => setTimeout(() => process.exit(), 1000).unref());

const median = (xs) => {
  const ok = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return ok[ok.length >> 1];
};

// One measurement, direct then through the MCU: returns the failed bounds (empty when all
// hold) and the server's per-stage figures.
async function measureOnce(slow) {
  const failed = [];
  const check = (ok, msg) => { if (!ok) failed.push(msg); };
  const direct = await measurePath('direct', connectDirect);
  const mcu = await measurePath('mcu', connectMcu);
  const stages = await serverStages();
  const added = {};
  for (const kind of ['video', 'audio']) {
    const d = median(direct[kind]), m = median(mcu[kind]);
    added[kind] = m - d;
    const missed = mcu[kind].filter((x) => !Number.isFinite(x)).length;
    console.log(`${kind}: direct ${d.toFixed(0)} ms, MCU ${m.toFixed(0)} ms (medians of ` +
      `${mcu[kind].length}), added ${(m - d).toFixed(0)} ms, missed ${missed}`);
    // measured 34-46 ms (video) and 33-54 ms (audio) added (release; 79-97 with the fixed
    // 80 ms playout delay before); the regression bound is 150 ms
    check(m - d <= (slow ? 250 : 150), `${kind}: the MCU adds ${(m - d).toFixed(0)} ms`);
    check(missed <= 1, `${kind}: ${missed} changes never seen through the MCU`);
  }
  // Lip sync: how much later the MCU delivers the picture than the sound, beyond what the
  // direct path shows (the raw sinks do not lip-sync); measured -2 to 1 ms, the 40.
  const av = added.video - added.audio;
  console.log(`A/V offset added by the MCU: ${av.toFixed(0)} ms`);
  check(Math.abs(av) <= (slow ? 150 : 80), `the MCU moves video ${av.toFixed(0)} ms off audio`);
  for (const p of [direct, mcu]) {
    const c = p.continuity;
    console.log(`${p.name}: ${c.seconds} s of tone, ${c.jumps} phase jumps ${JSON.stringify(c.jumpDeg)}, ` +
      `${c.dips} dips`);
  }
  // through the MCU: 0 jumps and 0 dips in the runs since the audio mapping stays
  // sample-contiguous (before: 2-12 jumps and up to 11 dips per 15 s)
  const c = mcu.continuity;
  check(c.seconds >= 9, `only ${c.seconds} s of tone received`);
  check(c.jumps <= (slow ? 3 : 1), `${c.jumps} phase jumps through the MCU`);
  check(c.dips <= (slow ? 5 : 2), `${c.dips} dips through the MCU`);
  return { failed, stages };
}

// Wall-clock bounds on a shared two-core machine: a run that misses one is measured once
// more, and the test fails only if the second run misses too (a regression misses both).
test('the MCU adds little delay and keeps a steady tone whole', { timeout: 300000 }, async () => {
  const slow = asanBuild() || /tsan/.test(process.env.BUILD || '');
  let run = await measureOnce(slow);
  if (run.failed.length) {
    console.log(`missed on the first run (${run.failed.join('; ')}), measuring again`);
    run = await measureOnce(slow);
  }
  assert.deepEqual(run.failed, [], `missed twice: ${run.failed.join('; ')}`);
  checkStages(run.stages);
  // The same figures for Prometheus: promtool accepts them, the stages are there.
  const metrics = await (await fetch(`${URL_BASE}/metrics`)).text();
  const lint = checkMetrics(metrics);
  assert.ok(lint.ok, `promtool check metrics: ${lint.out}`);
  assert.match(metrics, /^mcu_latency_seconds\{medium="audio",stage="total",percentile="50"\} [0-9.e+-]+$/m);
  assert.match(metrics, /^mcu_latency_samples\{medium="video",stage="wait"\} [1-9]\d*$/m);
});

test('a newcomer sees and hears the room soon after its DTLS handshake', { timeout: 120000 }, async () => {
  const worstOf = (j) => Object.fromEntries(['picture', 'audio'].map((kind) =>
    [kind, Math.max(...j[kind].map((x) => (Number.isFinite(x) ? x : Infinity)))]));
  let worst;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const j = await measureJoins(4);
    console.log(`newcomers, ms from DTLS done to the first mixed picture: ${j.picture.map((x) => x.toFixed(0))}, ` +
      `to the first tone heard: ${j.audio.map((x) => x.toFixed(0))}`);
    // measured 18-46 ms to the first picture (736 ms median before joins got their own
    // keyframe window); the regression bound is 1 s, measured again once if missed
    worst = worstOf(j);
    if (worst.picture <= 1000 && worst.audio <= 1000) break;
  }
  for (const kind of ['picture', 'audio'])
    assert.ok(worst[kind] <= 1000, `first ${kind} ${worst[kind]} ms after DTLS, twice`);
});
