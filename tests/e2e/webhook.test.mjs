// webhook.test.mjs - webhooks (docs/PROTOCOL.md, "Webhooks") to a real receiver: a Node HTTP
// server on 127.0.0.1:18090 that checks each delivery as a user's receiver would (the
// HMAC-SHA256 of "timestamp.body" with node:crypto, in constant time; a timestamp within 5
// minutes; an event id not seen before) and answers 503 to the very first try, to prove the
// retry. A @roamhq/wrtc participant joins room "hooks", the room is recorded for a few seconds
// through the API, it mutes itself, a second participant joins and is removed by a moderator
// (REST), and the first leaves: room-started, participant-joined, recording-started,
// recording-finished, participant-muted, presentation-started and -ended (it shares a screen
// mid-call, then stops), participant-joined, participant-kicked,
// participant-left (twice) and room-ended must arrive in that order, each once, correctly
// signed; /api/stats and /metrics count the deliveries and the retry.
// server-config: {"webhook_url":"http://127.0.0.1:18090/hook","webhook_secret":"s3cret","recordings_dir":"/tmp/mcu-e2e-webhook"}
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { URL_BASE, waitFor, sleep } from './lib.mjs';
import { participant } from './wrtc-client.mjs';
import { checkMetrics } from './promtool.mjs';

const SECRET = 's3cret';
const MAGENTA = [106, 202, 222];

// The receiver: `tries` is every request, `events` the accepted deliveries in order.
const tries = [];
const events = [];
const seen = new Set();

// What a receiver does with a delivery: 401 unless the signature and timestamp are good.
function verify(req, body) {
  const ts = req.headers['x-mcu-timestamp'];
  const sig = req.headers['x-mcu-signature'] || '';
  const want = 'sha256=' + crypto.createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex');
  const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
  const same = sig.length === want.length && crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(want));
  return fresh && same;
}

const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const ok = req.method === 'POST' && req.url === '/hook' && verify(req, body);
    const t = { ok, headers: req.headers, body: ok ? JSON.parse(body) : null };
    tries.push(t);
    if (!ok) return res.writeHead(401).end();
    if (tries.length === 1) return res.writeHead(503).end(); // the first try fails: retried
    if (!seen.has(t.body.id)) { // a replayed id is acknowledged, not processed twice
      seen.add(t.body.id);
      events.push(t);
    }
    res.writeHead(204).end();
  });
});
await new Promise((resolve) => receiver.listen(18090, '127.0.0.1', resolve));

const clients = [];
after(() => {
  for (const c of clients) c.close();
  receiver.close();
  fs.rmSync('/tmp/mcu-e2e-webhook', { recursive: true, force: true }); // recordings_dir
  // libwebrtc's threads keep Node alive after close(): exit once the results are out.
  setTimeout(() => process.exit(), 1000).unref();
});

const names = () => events.filter((e) => e.body.room === 'hooks').map((e) => e.body.event);
const arrived = (name) => waitFor(() => names().includes(name), { timeout: 15000, what: name });

async function api(method, p) {
  const res = await fetch(URL_BASE + p, { method });
  const text = await res.text();
  return { status: res.status, text, data: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : null };
}

test('room, participant and recording events reach a receiver, signed, in order', { timeout: 90000 }, async () => {
  const a = participant('Magenta', MAGENTA, 600, 'hooks');
  clients.push(a);
  await waitFor(() => a.tracks.length >= 2, { timeout: 20000, what: 'tracks' });
  await arrived('participant-joined');

  const start = await api('POST', '/api/rooms/hooks/recording');
  assert.equal(start.status, 201, start.text);
  await arrived('recording-started');
  await sleep(2000);
  const stop = await api('DELETE', '/api/rooms/hooks/recording');
  assert.equal(stop.status, 200, stop.text);
  await arrived('recording-finished');

  // call control: a mutes itself; b joins and a moderator removes it
  a.send({ type: 'mute', audio: true });
  await arrived('participant-muted');
  // it shares a screen mid-call (a new offer), then stops
  await a.shareScreen([210, 16, 146]);
  await arrived('presentation-started');
  a.send({ type: 'screen', mid: null });
  await arrived('presentation-ended');
  const b = participant('Cyan', [170, 166, 16], 900, 'hooks');
  clients.push(b);
  await waitFor(() => b.messages.some((m) => m.type === 'joined'), { what: 'b joined' });
  const bid = b.messages.find((m) => m.type === 'joined').id;
  const kick = await api('DELETE', `/api/rooms/hooks/participants/${bid}`);
  assert.equal(kick.status, 200, kick.text);
  await arrived('participant-kicked');

  a.close();
  await arrived('room-ended');
  assert.deepEqual(names(), ['room-started', 'participant-joined', 'recording-started',
    'recording-finished', 'participant-muted', 'presentation-started', 'presentation-ended',
    'participant-joined', 'participant-kicked',
    'participant-left', 'participant-left', 'room-ended']);

  const ps = events.find((e) => e.body.event === 'presentation-started').body;
  const pe = events.find((e) => e.body.event === 'presentation-ended').body;
  assert.equal(ps.participant.id, a.messages.find((m) => m.type === 'joined').id, JSON.stringify(ps));
  assert.ok(/^\d+$/.test(ps.source) && pe.source === ps.source, JSON.stringify([ps, pe]));

  // The 503 was retried: the same event id, a second try, then accepted.
  assert.equal(tries[0].body.event, 'room-started');
  assert.equal(tries[1].body.id, tries[0].body.id);
  assert.equal(tries[0].headers['x-mcu-attempt'], '1');
  assert.equal(tries[1].headers['x-mcu-attempt'], '2');
  assert.ok(tries.every((t) => t.ok), 'every try is correctly signed');

  const muted = events.find((e) => e.body.event === 'participant-muted').body;
  assert.deepEqual([muted.audio, muted.video, muted.by, muted.participant.name],
    [true, false, 'self', 'Magenta']);
  const kicked = events.find((e) => e.body.event === 'participant-kicked').body;
  assert.equal(kicked.participant.id, bid);
  assert.match(kicked.reason, /moderator/);
  // the first of each event (a's join and leave)
  const by = {};
  for (const e of events) by[e.body.event] ??= e;
  for (const e of events) {
    assert.equal(e.headers['content-type'], 'application/json');
    assert.equal(e.headers['x-mcu-event'], e.body.event);
    assert.equal(e.headers['x-mcu-event-id'], e.body.id);
    assert.match(e.body.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  assert.equal(new Set(events.map((e) => e.body.id)).size, events.length, 'ids are unique');
  const joined = by['participant-joined'].body;
  assert.equal(joined.participant.name, 'Magenta');
  assert.equal(joined.participants, 1);
  const left = events.filter((e) => e.body.event === 'participant-left').map((e) => e.body);
  assert.equal(left[0].participant.id, bid);
  assert.equal(left[1].participant.id, joined.participant.id);
  assert.equal(left[1].participants, 0);
  const rs = by['recording-started'].body, rf = by['recording-finished'].body;
  assert.equal(rs.path, start.data.path);
  assert.equal(rf.path, start.data.path);
  assert.equal(rf.file, start.data.file);
  assert.equal(rf.format, 'webm');
  assert.equal(rf.bytes, stop.data.bytes);
  assert.ok(rf.duration_s > 1 && rf.duration_s < 10, JSON.stringify(rf));
  assert.ok(by['room-ended'].body.duration_s > 2, JSON.stringify(by['room-ended'].body));

  // The counters: every event delivered, one retry, nothing failed, dropped or waiting.
  const w = await waitFor(async () => {
    const s = (await api('GET', '/api/stats')).data.webhooks;
    return s.pending === 0 && s;
  }, { what: 'no webhook pending' });
  assert.deepEqual(w, { enabled: true, queued: 12, delivered: 12, retries: 1, failed: 0, dropped: 0, pending: 0 });
  const m = await api('GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.text, /^mcu_webhook_delivered_total 12$/m);
  assert.match(m.text, /^mcu_webhook_retries_total 1$/m);
  assert.match(m.text, /^mcu_webhook_pending 0$/m);
  const lint = checkMetrics(m.text);
  assert.ok(lint.ok, lint.out);
});
