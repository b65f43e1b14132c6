// signaling.test.mjs - the signaling protocol against the real server: bad messages get a
// {"type":"error"} with the documented code and the connection keeps working; a message over
// 64 KiB closes with 1009; rooms appear in /api/rooms and are freed with their last participant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { URL_BASE, waitFor } from './lib.mjs';

function connect() {
  const ws = new WebSocket(URL_BASE.replace('http', 'ws') + '/ws');
  const inbox = [];
  ws.on('message', (d) => inbox.push(JSON.parse(d)));
  const next = (type) => waitFor(() => {
    const i = inbox.findIndex((m) => !type || m.type === type);
    return i >= 0 && inbox.splice(i, 1)[0];
  }, { timeout: 5000, interval: 20, what: `a ${type} message` });
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve({ ws, inbox, next, send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)) }));
    ws.on('error', reject);
  });
}

async function rooms() {
  return (await fetch(`${URL_BASE}/api/rooms`)).json();
}

test('bad messages get errors and the connection keeps working', async () => {
  const c = await connect();
  const cases = [
    ['not json', 'bad-json'],
    [{ type: 'dance' }, 'unknown-type'],
    [{ room: 'x' }, 'missing-field'],
    [{ type: 'join', name: 'A' }, 'missing-field'],
    [{ type: 'join', room: 42, name: 'A' }, 'bad-field'],
    [{ type: 'join', room: 'a/b', name: 'A' }, 'bad-field'],
    [{ type: 'offer', sdp: 'v=0' }, 'not-joined'],
    [{ type: 'leave' }, 'not-joined'],
  ];
  for (const [msg, code] of cases) {
    c.send(msg);
    const e = await c.next('error');
    assert.equal(e.code, code, `reply to ${JSON.stringify(msg)}`);
    assert.ok(e.message.length > 0);
  }
  c.send({ type: 'ping' });
  await c.next('pong');
  c.send({ type: 'join', room: 'sig', name: 'Ada' });
  const j = await c.next('joined');
  assert.equal(j.room, 'sig');
  assert.match(j.id, /^[0-9]+$/);
  assert.deepEqual(j.participants, []);
  c.send({ type: 'join', room: 'sig', name: 'Ada' });
  assert.equal((await c.next('error')).code, 'already-joined');
  c.send({ type: 'offer', sdp: 'v=0\r\nthis is not sdp\r\n' });
  assert.equal((await c.next('error')).code, 'bad-sdp');
  // a second participant sees the first; the first hears of the second
  const d = await connect();
  d.send({ type: 'join', room: 'sig', name: 'Bob' });
  const j2 = await d.next('joined');
  assert.deepEqual(j2.participants, [{ id: j.id, name: 'Ada' }]);
  const pj = await c.next('participant-joined');
  assert.equal(pj.id, j2.id);
  assert.equal(pj.name, 'Bob');
  const listed = await waitFor(async () => {
    const r = (await rooms()).find((x) => x.name === 'sig');
    return r && r.participants.length === 2 && r;
  }, { what: 'room in /api/rooms' });
  assert.deepEqual(listed.participants.map((p) => p.name).sort(), ['Ada', 'Bob']);
  // leaving tells the others; closing the socket leaves too; the room is freed
  d.send({ type: 'leave' });
  assert.equal((await c.next('participant-left')).id, j2.id);
  c.ws.close();
  await waitFor(async () => !(await rooms()).some((x) => x.name === 'sig'), { what: 'room freed' });
  d.ws.close();
});

test('a message over 64 KiB closes the connection with 1009', async () => {
  const c = await connect();
  const closed = new Promise((r) => c.ws.on('close', (code) => r(code)));
  c.send({ type: 'offer', sdp: 'x'.repeat(70 * 1024) });
  assert.equal(await closed, 1009);
});
