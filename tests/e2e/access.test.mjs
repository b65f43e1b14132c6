// access.test.mjs - access tokens and the per-connection message rate limit against a real
// server of its own (port 18084) started with a shared secret (MCU_SECRET): joins and every
// /api call need a token signed by `mcu token`; wrong room, wrong role, expired, tampered and
// missing tokens are refused with "unauthorized" / 401 and counted; a client flooding messages
// gets "rate-limited", then a 1008 close, while another client is served normally.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { waitFor } from './lib.mjs';
import { checkMetrics } from './promtool.mjs';

const PORT = 18084;
const BASE = `http://127.0.0.1:${PORT}`;
const BUILD = process.env.BUILD || 'build';
const SECRET = 'e2e-secret-' + process.pid;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mcu-access-'));

function token(room, ...args) {
  const r = spawnSync(`${BUILD}/mcu`, ['token', room, ...args],
    { env: { ...process.env, MCU_SECRET: SECRET }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

let server;
async function start() {
  const log = fs.openSync(path.join(tmp, 'server.log'), 'w');
  const proc = spawn(`${BUILD}/mcu`, ['--bind', '127.0.0.1', '--port', String(PORT),
    '--recordings-dir', tmp], { env: { ...process.env, MCU_SECRET: SECRET }, stdio: ['ignore', log, log] });
  const exited = new Promise((r) => proc.on('exit', (code, sig) => r({ code, sig })));
  for (let i = 0; i < 100; i++) {
    try { await fetch(`${BASE}/api/config`); return { proc, exited }; } catch { }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not start');
}

after(async () => {
  if (!server) return;
  server.proc.kill('SIGTERM');
  const { code } = await server.exited;
  assert.equal(code, 0, 'server exits cleanly');
});

function connect() {
  const ws = new WebSocket(`ws://127.0.0.1:${PORT}/ws`);
  const inbox = [];
  let closeCode = null;
  ws.on('message', (d) => inbox.push(JSON.parse(d)));
  ws.on('close', (code) => { closeCode = code; });
  const next = (type) => waitFor(() => {
    const i = inbox.findIndex((m) => m.type === type);
    return i >= 0 && inbox.splice(i, 1)[0];
  }, { timeout: 5000, interval: 20, what: `a ${type} message` });
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve({ ws, inbox, next, closed: () => closeCode,
      send: (m) => ws.send(JSON.stringify(m)) }));
    ws.on('error', reject);
  });
}

async function get(p, tok) {
  const res = await fetch(BASE + p, tok ? { headers: { Authorization: `Bearer ${tok}` } } : {});
  return { status: res.status, body: await res.json() };
}

test('joins need a valid token for the room', async () => {
  server = await start();
  const c = await connect();
  const good = token('room-a');
  const cases = [
    [undefined, 'missing'],
    [token('room-b'), 'wrong-room'],
    [token('room-a', '--ttl', '1').replace(/.$/, (ch) => (ch === 'A' ? 'B' : 'A')), null],
    [good.split('.')[0] + '.' + token('room-a', '--role', 'admin').split('.')[1], 'bad-signature'],
    ['garbage', 'malformed'],
  ];
  for (const [tok, why] of cases) {
    c.send(tok ? { type: 'join', room: 'room-a', name: 'A', token: tok } : { type: 'join', room: 'room-a', name: 'A' });
    const e = await c.next('error');
    assert.equal(e.code, 'unauthorized');
    if (why) assert.match(e.message, new RegExp(why));
  }
  c.send({ type: 'join', room: 'room-a', name: 'A', token: good });
  const j = await c.next('joined');
  assert.equal(j.room, 'room-a');
  // A "*" participant token joins any room.
  const d = await connect();
  d.send({ type: 'join', room: 'room-z', name: 'D', token: token('*') });
  assert.equal((await d.next('joined')).room, 'room-z');
  c.ws.close();
  d.ws.close();
});

test('an expired token is refused', async () => {
  const t = token('room-a', '--ttl', '1');
  await new Promise((r) => setTimeout(r, 2100));
  const c = await connect();
  c.send({ type: 'join', room: 'room-a', name: 'late', token: t });
  const e = await c.next('error');
  assert.equal(e.code, 'unauthorized');
  assert.match(e.message, /expired/);
  c.ws.close();
});

test('every /api endpoint needs a Bearer token with the right role', async () => {
  const admin = token('*', '--role', 'admin');
  const roomAdmin = token('room-a', '--role', 'admin');
  const participant = token('room-a');
  for (const p of ['/api/rooms', '/api/recordings', '/api/stats', '/api/config', '/api/nope']) {
    const r = await get(p);
    assert.equal(r.status, 401, p);
    assert.equal(r.body.error, 'unauthorized');
  }
  assert.equal((await get('/api/rooms', participant)).status, 401);
  assert.equal((await get('/api/rooms', roomAdmin)).status, 401); // listing is for "*" admins
  assert.equal((await get('/api/config', participant)).status, 200); // the demo page's call
  assert.equal((await get('/api/rooms', admin)).status, 200);
  assert.equal((await get('/api/recordings', admin)).status, 200);
  // Recording control: an admin of the room (or "*"); not a participant, not another room.
  const post = (room, tok) => fetch(`${BASE}/api/rooms/${room}/recording`, {
    method: 'POST', headers: tok ? { Authorization: `Bearer ${tok}` } : {} });
  assert.equal((await post('room-a')).status, 401);
  assert.equal((await post('room-a', participant)).status, 401);
  assert.equal((await post('room-b', roomAdmin)).status, 401);
  assert.equal((await post('room-a', roomAdmin)).status, 404); // allowed; the room is gone
  const st = (await get('/api/stats', admin)).body;
  assert.ok(st.server.auth_failures >= 6, `join refusals counted: ${st.server.auth_failures}`);
  assert.ok(st.server.api_auth_failures >= 10, `api refusals counted: ${st.server.api_auth_failures}`);
});

test('/healthz and /readyz answer without a token', async () => {
  for (const p of ['/healthz', '/readyz']) {
    const r = await get(p);
    assert.equal(r.status, 200, `${p}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.status, 'ok');
    assert.ok(r.body.loop_beat_age_ms.length >= 1, p);
    for (const age of r.body.loop_beat_age_ms) assert.ok(age >= 0 && age < 5000, `${p}: loop age ${age}`);
    assert.ok(r.body.max_rooms > r.body.rooms, p);
  }
  assert.equal((await get('/healthzx')).status, 404);
});

test('/metrics needs an admin token and passes promtool', async () => {
  const scrape = (tok) => fetch(`${BASE}/metrics`, tok ? { headers: { Authorization: `Bearer ${tok}` } } : {});
  assert.equal((await scrape()).status, 401);
  assert.equal((await scrape(token('room-a'))).status, 401);
  const r = await scrape(token('*', '--role', 'admin'));
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  const lint = checkMetrics(text);
  assert.ok(lint.ok, `promtool check metrics: ${lint.out}`);
  assert.match(text, /^mcu_rooms \d+$/m);
  assert.match(text, /^mcu_api_auth_failures_total [1-9]\d*$/m); // this test's refusals
  assert.match(text, /^mcu_loop_cpu_seconds_total\{loop="0"\} [0-9.e+-]+$/m);
});

test('mcu token rejects bad arguments', () => {
  const run = (...a) => spawnSync(`${BUILD}/mcu`, ['token', ...a],
    { env: { ...process.env, MCU_SECRET: SECRET }, encoding: 'utf8' }).status;
  assert.equal(run('room', '--role', 'root'), 2);
  assert.equal(run('bad room'), 2);
  assert.equal(run('room', '--ttl', '-5'), 2);
  assert.equal(spawnSync(`${BUILD}/mcu`, ['token', 'room'], { env: { PATH: process.env.PATH } }).status, 1);
});

test('a flooding client is rate-limited and closed; others are served', async () => {
  const admin = token('*', '--role', 'admin');
  const flood = await connect();
  const calm = await connect();
  // 1000 pings/s against the default 20/s (burst 50), until the server closes or 5 s pass.
  const t0 = Date.now();
  const timer = setInterval(() => {
    if (flood.closed() !== null || Date.now() - t0 > 5000) return clearInterval(timer);
    for (let i = 0; i < 5; i++) flood.send({ type: 'ping' });
  }, 5);
  calm.send({ type: 'ping' });
  await calm.next('pong'); // served while the other floods
  const e = await flood.next('error');
  assert.equal(e.code, 'rate-limited');
  await waitFor(() => flood.closed() !== null, { timeout: 8000, what: 'the flooder closed' });
  clearInterval(timer);
  const after = Date.now() - t0;
  // 1008, or 1006 if the close met the flooder's unread pings (a TCP reset): see ws.h.
  assert.ok([1008, 1006].includes(flood.closed()), `close code ${flood.closed()}`);
  assert.ok(after >= 1900 && after < 6000, `closed after ${after} ms of flooding`);
  const pongs = flood.inbox.filter((m) => m.type === 'pong').length;
  assert.ok(pongs >= 40 && pongs <= 50 + 20 * 6, `the burst and the rate were served: ${pongs}`);
  calm.send({ type: 'ping' });
  await calm.next('pong');
  const sig = (await get('/api/stats', admin)).body.signaling;
  assert.ok(sig.rate_limited >= 200, JSON.stringify(sig));
  assert.equal(sig.closed_rate, 1);
  calm.ws.close();
});
