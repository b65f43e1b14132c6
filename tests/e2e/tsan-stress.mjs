// tsan-stress.mjs - a reproducer for make tsan, not part of `make test`: errors counted on both
// threads at once. Eight connections, each in bursts of 25 messages every 1.3 s (under the
// 20 messages/s limit, burst 50): four send malformed JSON (answered by the signaling thread),
// four join a room and send offers with bad SDP (answered by the media thread), while
// /api/stats is read every 50 ms. Every message must get its error and /api/stats must count
// them all.
// Run: make tsan TSAN_E2E=tsan-stress (tests/run.sh tsan; any ThreadSanitizer report fails).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { URL_BASE, sleep } from './lib.mjs';

const ROUNDS = 4, BURST = 25, EVERY_MS = 1300, N = 4;

function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(URL_BASE.replace('http', 'ws') + '/ws');
    const c = { ws, errors: 0, joined: false };
    ws.on('message', (d) => {
      const m = JSON.parse(d);
      if (m.type === 'error') c.errors++;
      if (m.type === 'joined') c.joined = true;
    });
    ws.on('open', () => resolve(c));
    ws.on('error', reject);
  });
}

async function stats() {
  return (await fetch(`${URL_BASE}/api/stats`)).json();
}

test('errors from the signaling and the media thread at once are all answered and counted', async () => {
  const sig = await Promise.all(Array.from({ length: N }, open));
  const media = await Promise.all(Array.from({ length: N }, open));
  media.forEach((c, i) => c.ws.send(JSON.stringify({ type: 'join', room: 'tsan-stress', name: `m${i}` })));
  for (let i = 0; i < 50 && !media.every((c) => c.joined); i++) await sleep(100);
  assert.ok(media.every((c) => c.joined), 'all joined');
  const before = (await stats()).server.errors_sent;
  let sent = 0, reads = 0, done = false;
  const reader = (async () => { while (!done) { await stats(); reads++; await sleep(50); } })();
  const offer = JSON.stringify({ type: 'offer', sdp: 'v=0\r\nnot sdp\r\n' });
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < BURST; i++) {
      for (const c of sig) c.ws.send('not json');
      for (const c of media) c.ws.send(offer);
      sent++;
    }
    await sleep(EVERY_MS);
  }
  done = true;
  await reader;
  const all = [...sig, ...media];
  for (let i = 0; i < 50 && all.some((c) => c.errors < sent); i++) await sleep(100);
  for (const c of all) assert.equal(c.errors, sent, 'one error per message');
  const after = (await stats()).server.errors_sent;
  assert.equal(after - before, 2 * N * sent, `errors_sent counts all (${reads} stats reads)`);
  all.forEach((c) => c.ws.close());
});
