// cluster.test.mjs - issue 15, first slice: membership of a cluster of mcu nodes through a real
// redis-server (started by the test on 127.0.0.1, no persistence) and three nodes on 127.0.0.2,
// .3 and .4 (--cluster, --node-id). Each node's GET /api/cluster lists every live node with its
// URL and load (rooms, participants, loops); a room made on one node shows in its record as the
// others read it. kill -9 of a node: the others drop it within its record's expiry (3 s) plus a
// beat. Redis stopped: the nodes say so, keep serving (health, the room is still there) and
// register again when it is back, re-claiming their rooms; a room whose claim another node
// took is ended (fencing). A node whose Redis never answers serves too; a malformed
// --cluster URL is refused at start.
// Rooms: libwebrtc clients connected to different nodes join one room: it is placed on one
// node, the other node relays its client's signaling there (media goes to the room's node
// straight), everyone sees everyone. Either node's GET /api/rooms lists the room with its node;
// a moderator's mute and a recording asked of the other node reach the room's. Redis restarted mid-call: the call goes on (frames keep
// coming), the room's node re-claims it and it runs on one node only. A new room asked for on
// the busy node is placed on the idle one (relayed). kill -9 of the room's node: the relayed client
// is told (node-lost) and disconnected; a client joining through the surviving node is in
// media within 10 s (the room re-placed once the dead node's record expired). The demo page
// knows every node (/api/config) and, its own node killed, rejoins through the other within
// 10 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor, sleep, launchBrowser, openParticipant } from './lib.mjs';
import { participant, showsColour } from './wrtc-client.mjs';
import WebSocket from 'ws';

const BUILD = process.env.BUILD || 'build';
const REDIS_PORT = 16391, PORT = 18095;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mcu-cluster-'));
const procs = new Set();
const clients = [];
let browser;
after(async () => {
  for (const c of clients) c.close();
  if (browser) await browser.close();
  for (const p of procs) p.kill('SIGKILL');
  setTimeout(() => process.exit(), 1000).unref(); // libwebrtc's threads keep Node alive
});

function start(cmd, args, log) {
  const fd = fs.openSync(path.join(tmp, log), 'w');
  const p = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  p.exited = new Promise((r) => p.on('exit', (code, sig) => { procs.delete(p); r({ code, sig }); }));
  procs.add(p);
  return p;
}

const logOf = (name) => fs.readFileSync(path.join(tmp, name), 'utf8');

// A redis-server on REDIS_PORT, resolved once it accepts connections (each run its own log).
let redisRuns = 0;
async function redis() {
  const log = `redis-${++redisRuns}.log`;
  const p = start('redis-server', ['--port', String(REDIS_PORT), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no'], log);
  await waitFor(() => /Ready to accept connections/.test(logOf(log)), { what: `redis-server up (${log})` });
  return p;
}

async function stopRedis(p) {
  p.kill('SIGTERM');
  await p.exited;
}

const url = (ip) => `http://${ip}:${PORT}`;

// redis-cli against the test's Redis: its reply, trimmed.
function redisCli(...args) {
  return new Promise((resolve) => {
    const p = spawn('redis-cli', ['-p', String(REDIS_PORT), ...args]);
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', () => resolve(out.trim()));
  });
}

function node(id, ip, cluster = `redis://127.0.0.1:${REDIS_PORT}`) {
  const recDir = path.join(tmp, `rec-${id}`); // each node writes recordings to its own directory
  const p = start(`${BUILD}/mcu`, ['--bind', ip, '--port', String(PORT), '--cluster', cluster,
    '--node-id', id, '--recordings-dir', recDir], `${id}.log`);
  p.id = id;
  p.url = url(ip);
  return p;
}

async function get(base, p) {
  try {
    const r = await fetch(base + p);
    return { status: r.status, json: await r.json().catch(() => null) };
  } catch {
    return { status: 0, json: null };
  }
}

const cluster = async (n) => (await get(n.url, '/api/cluster')).json;
// The names of the rooms node n runs itself (its /api/rooms also lists the others' with their node).
const ownRooms = async (n) => ((await get(n.url, '/api/rooms')).json || [])
  .filter((r) => !r.node || r.node === n.id).map((r) => r.name);
const ids = (c) => (c?.nodes || []).map((x) => x.id).sort().join(',');

test('nodes register through Redis, see each other, and survive a node and Redis going away', { timeout: 90000 }, async () => {
  let rs = await redis();
  const nodes = [node('n1', '127.0.0.2'), node('n2', '127.0.0.3'), node('n3', '127.0.0.4')];

  // every node sees all three, with its own URL, and itself once
  for (const n of nodes)
    await waitFor(async () => ids(await cluster(n)) === 'n1,n2,n3', { timeout: 10000, what: `${n.id} sees 3 nodes` });
  const c1 = await cluster(nodes[0]);
  console.log('n1 sees:', JSON.stringify(c1));
  assert.equal(c1.node, 'n1');
  assert.equal(c1.redis, 'up');
  for (const n of nodes) {
    const rec = c1.nodes.find((x) => x.id === n.id);
    assert.equal(rec.url, n.url, `${n.id}'s URL`);
    assert.equal(rec.self, n.id === 'n1');
    assert.ok(Array.isArray(rec.loops) && rec.loops.length >= 1 && typeof rec.load === 'number', JSON.stringify(rec));
  }

  // a room made on n2 shows in n2's record as n1 reads it
  const put = await fetch(`${nodes[1].url}/api/rooms/cl-room`, { method: 'PUT', body: '{}' });
  assert.ok(put.status === 200 || put.status === 201, `PUT ${put.status}`);
  await waitFor(async () => (await cluster(nodes[0])).nodes.find((x) => x.id === 'n2')?.rooms === 1,
    { timeout: 5000, what: 'n2 reports its room' });

  // kill -9 of n3: the others drop it within its record's expiry and a beat
  nodes[2].kill('SIGKILL');
  const t0 = Date.now();
  for (const n of nodes.slice(0, 2))
    await waitFor(async () => ids(await cluster(n)) === 'n1,n2', { timeout: 6000, what: `${n.id} drops n3` });
  console.log(`n3 dropped from the membership ${Date.now() - t0} ms after kill -9`);

  // Redis goes away: the nodes say so and keep serving their rooms
  await stopRedis(rs);
  for (const n of nodes.slice(0, 2))
    await waitFor(async () => (await cluster(n)).redis === 'down', { timeout: 5000, what: `${n.id} sees Redis down` });
  assert.equal((await get(nodes[1].url, '/healthz')).status, 200);
  assert.ok((await ownRooms(nodes[1])).includes('cl-room'), 'n2 still has its room');

  // Redis back (empty: no persistence): both register again by themselves
  rs = await redis();
  const t1 = Date.now();
  for (const n of nodes.slice(0, 2))
    await waitFor(async () => {
      const c = await cluster(n);
      return c.redis === 'up' && ids(c) === 'n1,n2';
    }, { timeout: 8000, what: `${n.id} registered again` });
  console.log(`registered again ${Date.now() - t1} ms after Redis restarted`);
  assert.equal((await cluster(nodes[0])).nodes.find((x) => x.id === 'n2').rooms, 1);
  for (const n of nodes.slice(0, 2))
    assert.match(logOf(`${n.id}.log`), /Redis unreachable .*serving the rooms we have/);
  // n2 claimed its room again, with a new epoch; a claim taken by another node fences it: the
  // room ends on n2
  let claimV = '';
  await waitFor(async () => /^n2\/\d+$/.test(claimV = await redisCli('GET', 'mcu:room:cl-room')), { what: 'n2 re-claimed its room' });
  console.log(`cl-room's claim after Redis came back: ${claimV}`);
  await redisCli('SET', 'mcu:room:cl-room', 'intruder/1', 'PX', '20000');
  await waitFor(async () => !(await ownRooms(nodes[1])).includes('cl-room'),
    { timeout: 5000, what: 'n2 ends the room another node claimed' });
  assert.match(logOf('n2.log'), /room cl-room: its claim is another node's.*: ending it here/);

  // the epoch: a claim naming n2 but from another placement of the room fences it too
  await fetch(`${nodes[1].url}/api/rooms/ep-room`, { method: 'PUT', body: '{}' });
  await waitFor(async () => /^n2\/\d+$/.test(claimV = await redisCli('GET', 'mcu:room:ep-room')), { what: 'n2 claims ep-room' });
  const epoch = Number(claimV.split('/')[1]);
  await redisCli('SET', 'mcu:room:ep-room', `n2/${epoch + 1000}`, 'PX', '20000');
  await waitFor(async () => !(await ownRooms(nodes[1])).includes('ep-room'),
    { timeout: 5000, what: 'n2 ends the room claimed by another placement' });

  // a node stalled past its claims (SIGSTOP 5.5 s) ends its rooms as soon as it runs again:
  // another node may have taken them meanwhile
  await fetch(`${nodes[0].url}/api/rooms/stall-room`, { method: 'PUT', body: '{}' });
  await waitFor(async () => /^n1\/\d+$/.test(await redisCli('GET', 'mcu:room:stall-room')), { what: 'n1 claims stall-room' });
  nodes[0].kill('SIGSTOP');
  await sleep(5500);
  nodes[0].kill('SIGCONT');
  await waitFor(async () => !(await ownRooms(nodes[0])).includes('stall-room'),
    { timeout: 5000, what: 'n1 ends its rooms after a stall' });
  assert.match(logOf('n1.log'), /room stall-room: this node stalled past its rooms' claims: ending it here/);

  for (const n of nodes.slice(0, 2)) {
    n.kill('SIGTERM');
    assert.deepEqual(await n.exited, { code: 0, sig: null }, `${n.id} exits cleanly`);
  }
  await stopRedis(rs);
});

test('a node without a reachable Redis serves; a malformed --cluster is refused', { timeout: 30000 }, async () => {
  const lone = node('lone', '127.0.0.5', 'redis://127.0.0.1:1');
  await waitFor(async () => (await get(lone.url, '/healthz')).status === 200, { what: 'lone serves' });
  await sleep(1500);
  const c = await cluster(lone);
  assert.equal(c.redis, 'down');
  assert.deepEqual(c.nodes, []);
  lone.kill('SIGTERM');
  assert.deepEqual(await lone.exited, { code: 0, sig: null });

  const bad = node('bad', '127.0.0.6', 'http://127.0.0.1:6379');
  const st = await bad.exited;
  assert.equal(st.code, 2, 'exit status 2 for a bad config');
  assert.match(logOf('bad.log'), /redis:\/\/HOST:PORT/);
});

const MAGENTA = [106, 202, 222], CYAN = [170, 166, 16], GREEN = [145, 54, 34];

test('clients on different nodes meet in one room; the room survives its node', { timeout: 90000 }, async () => {
  let rs = await redis();
  const nodes = [node('r1', '127.0.0.7'), node('r2', '127.0.0.8')];
  for (const n of nodes)
    await waitFor(async () => ids(await cluster(n)) === 'r1,r2', { timeout: 10000, what: `${n.id} sees 2 nodes` });

  const a = participant('Ann', MAGENTA, 600, 'relay-room', { base: nodes[0].url });
  clients.push(a);
  await waitFor(() => a.messages.some((m) => m.type === 'joined'), { timeout: 10000, what: 'Ann joined' });
  const b = participant('Bob', CYAN, 900, 'relay-room', { base: nodes[1].url });
  clients.push(b);
  for (const c of [a, b])
    await waitFor(() => showsColour(c, MAGENTA) && showsColour(c, CYAN), { timeout: 20000, what: `${c.name} sees both` });
  assert.deepEqual(a.errors, []);
  assert.deepEqual(b.errors, []);

  // the room runs on one node only; the other relays
  const where = [];
  for (const n of nodes)
    if ((await ownRooms(n)).includes('relay-room')) where.push(n.id);
  assert.equal(where.length, 1, `the room runs on exactly one node: ${where}`);
  const owner = nodes.find((n) => n.id === where[0]), other = nodes.find((n) => n !== owner);
  const relayed = owner === nodes[0] ? b : a;
  const rooms = (await get(owner.url, '/api/rooms')).json;
  assert.equal(rooms.find((r) => r.name === 'relay-room').participants.length, 2, JSON.stringify(rooms));
  assert.match(logOf(`${other.id}.log`), /a join for room relay-room relayed to node/);
  console.log(`room on ${owner.id}; ${relayed.name} relayed through ${other.id}`);

  // Redis restarted mid-call: the call goes on, and the room stays on one node; a message the
  // relayed client sends meanwhile (its own mute) is held and reaches the room's node after
  await stopRedis(rs);
  const f0 = [a.frames, b.frames];
  await sleep(500);
  relayed.ws.send(JSON.stringify({ type: 'mute', audio: true }));
  await sleep(2000);
  assert.ok(a.frames > f0[0] + 30 && b.frames > f0[1] + 30, `frames while Redis is away: ${f0} -> ${[a.frames, b.frames]}`);
  rs = await redis();
  for (const n of nodes)
    await waitFor(async () => ids(await cluster(n)) === 'r1,r2', { timeout: 8000, what: `${n.id} back` });
  await waitFor(async () => (await redisCli('GET', 'mcu:room:relay-room')).startsWith(`${owner.id}/`), { what: 'the owner re-claimed the room' });
  const f1 = [a.frames, b.frames];
  await sleep(1000);
  assert.ok(a.frames > f1[0] + 15 && b.frames > f1[1] + 15, 'frames after Redis is back');
  const held = await waitFor(async () => (await get(owner.url, '/api/rooms/relay-room')).json?.participants
    ?.find((p) => p.name === relayed.name && p.audio?.muted_by?.includes('self')),
  { timeout: 5000, what: `${relayed.name}'s mute, sent while Redis was away, applied on ${owner.id}` });
  assert.ok(held);
  assert.equal((await cluster(other)).relay_lost, 0, 'no relayed message lost');
  assert.ok(!(await ownRooms(other)).includes('relay-room'), 'not on two nodes');
  assert.deepEqual([a.errors, b.errors], [[], []]);

  // the HTTP API of either node sees the room with its node; calls about it reach that node
  const listed = await waitFor(async () => (await get(other.url, '/api/rooms')).json
    ?.find((r) => r.name === 'relay-room'), { what: `${other.id} lists the room` });
  assert.equal(listed.node, owner.id, JSON.stringify(listed));
  assert.equal(listed.participants.length, 2);
  const detail = await get(other.url, '/api/rooms/relay-room');
  assert.equal(detail.status, 200, JSON.stringify(detail.json));
  const bob = detail.json.participants.find((p) => p.name === 'Bob');
  assert.ok(bob, JSON.stringify(detail.json));
  const post = (base, p, body, method = 'POST') => fetch(base + p, { method, body: body && JSON.stringify(body) });
  const mute = await post(other.url, `/api/rooms/relay-room/participants/${bob.id}/mute`, { audio: true });
  assert.equal(mute.status, 200, await mute.text());
  await waitFor(async () => (await get(owner.url, `/api/rooms/relay-room/participants/${bob.id}`)).json
    ?.audio?.muted_by?.includes('moderator'), { what: 'Bob muted by the call through the other node' });
  const rec = await post(other.url, '/api/rooms/relay-room/recording', {});
  const recBody = await rec.json();
  assert.equal(rec.status, 201, JSON.stringify(recBody));
  await sleep(1000);
  const stop = await post(other.url, '/api/rooms/relay-room/recording', null, 'DELETE');
  const stopBody = await stop.json();
  assert.equal(stop.status, 200, JSON.stringify(stopBody));
  assert.equal(stopBody.state, 'finished');
  console.log(`through ${other.id}: mute 200, recording 201 then 200 (${stopBody.file}, on ${owner.id})`);
  // the listing on either node names the file's node, and its url there serves it
  const file = path.basename(stopBody.file);
  for (const n of [other, owner]) {
    const f = await waitFor(async () => (await get(n.url, '/api/recordings')).json?.find((x) => x.file === file),
      { timeout: 5000, what: `${n.id} lists ${file}` });
    assert.equal(f.node, owner.id, JSON.stringify(f));
    if (n === other) {
      assert.equal(f.url, `${owner.url}/api/recordings/${file}`);
      const dl = await fetch(f.url);
      assert.equal(dl.status, 200);
      assert.equal((await dl.arrayBuffer()).byteLength, f.bytes);
      // asked of the node that does not hold it: redirected to the one that does
      const moved = await fetch(`${other.url}/api/recordings/${file}`, { redirect: 'manual' });
      assert.equal(moved.status, 307);
      assert.equal(moved.headers.get('location'), f.url);
      const via = await fetch(`${other.url}/api/recordings/${file}`);
      assert.equal((await via.arrayBuffer()).byteLength, f.bytes, 'downloaded through the other node');
    }
  }
  assert.equal((await get(other.url, '/api/recordings')).json.filter((x) => x.file === file).length, 1,
    'listed once');

  // placement by load: a new room asked for on the busy node goes to the idle one
  const ownerRec = await waitFor(async () => (await cluster(other)).nodes.find((x) => x.id === owner.id && x.participants === 2),
    { timeout: 5000, what: 'the owner reports 2 participants' });
  assert.ok(ownerRec.encoders >= 1 && ownerRec.encoders <= 2, `the owner's video encoders: ${JSON.stringify(ownerRec)}`);
  const d = participant('Dee', GREEN, 700, 'second-room', { base: owner.url });
  clients.push(d);
  await waitFor(() => d.frames > 0, { timeout: 15000, what: 'Dee in media' });
  assert.ok((await ownRooms(other)).includes('second-room'), 'the second room was placed on the idle node');
  d.close();

  // a relayed connection that leaves its room and joins another: the next join is placed anew
  // (the idle node), not sent on to the first room's node
  const raw = new WebSocket(other.url.replace('http', 'ws') + '/ws');
  const inbox = [];
  raw.on('message', (m) => inbox.push(JSON.parse(m)));
  await new Promise((resolve, reject) => { raw.on('open', resolve); raw.on('error', reject); });
  const said = (type, n = 1) => waitFor(() => inbox.filter((m) => m.type === type).length >= n,
    { timeout: 8000, what: `${type} #${n}: ${JSON.stringify(inbox)}` });
  raw.send(JSON.stringify({ type: 'join', room: 'relay-room', name: 'Hop' }));
  await said('joined');
  raw.send(JSON.stringify({ type: 'leave' }));
  await waitFor(async () => (await get(owner.url, '/api/rooms/relay-room')).json?.participants
    ?.every((p) => p.name !== 'Hop'), { what: 'Hop left relay-room' });
  raw.send(JSON.stringify({ type: 'join', room: 'hop-room', name: 'Hop' }));
  await said('joined', 2);
  assert.ok((await ownRooms(other)).includes('hop-room'), `hop-room runs on ${other.id}, the idle node`);
  assert.ok(!(await ownRooms(owner)).includes('hop-room'), 'not on the first room\'s node');
  assert.equal(inbox.filter((m) => m.type === 'error').length, 0, JSON.stringify(inbox));
  raw.close();

  // a room made by PUT on the owner, with settings of its own (automatic recording, speaker
  // layout): they outlive the owner
  const made = await post(owner.url, '/api/rooms/kept-room', { record: 'webm', layout: 'speaker' }, 'PUT');
  assert.equal(made.status, 201, await made.text());
  await waitFor(async () => (await redisCli('GET', 'mcu:settings:kept-room')).includes('speaker'),
    { what: 'kept-room\'s settings in Redis' });

  // the room's node dies: the relayed client is told; a new client joins through the survivor
  owner.kill('SIGKILL');
  const t0 = Date.now();
  await waitFor(() => relayed.errors.some((e) => e.code === 'node-lost'), { timeout: 8000, what: 'node-lost' });
  console.log(`node-lost after ${Date.now() - t0} ms`);
  const c = participant('Cid', GREEN, 750, 'relay-room', { base: other.url });
  clients.push(c);
  await waitFor(() => c.frames > 0 && showsColour(c, GREEN), { timeout: 10000, what: 'Cid in media' });
  console.log(`a new client in media ${Date.now() - t0} ms after the kill`);
  assert.match(logOf(`${other.id}.log`), /room relay-room placed on node/);
  // kept-room comes back on the survivor with its settings: a new recording starts there
  const e = participant('Eve', GREEN, 800, 'kept-room', { base: other.url });
  clients.push(e);
  await waitFor(() => e.frames > 0, { timeout: 10000, what: 'Eve in media' });
  const kept = await waitFor(async () => {
    const j = (await get(other.url, '/api/rooms/kept-room')).json;
    return j?.recording?.state === 'recording' && j;
  }, { timeout: 8000, what: `kept-room recording on ${other.id}` });
  assert.equal(kept.settings.layout, 'speaker', JSON.stringify(kept.settings));
  assert.equal(kept.settings.record, 'webm');
  assert.ok(fs.readdirSync(path.join(tmp, `rec-${other.id}`)).some((f) => f.startsWith('kept-room')),
    'the new file is in the survivor\'s directory');
  assert.match(logOf(`${other.id}.log`), /room kept-room made here with the settings it was made with/);
  e.close();
  for (const n of [other]) {
    n.kill('SIGTERM');
    assert.deepEqual(await n.exited, { code: 0, sig: null }, `${n.id} exits cleanly`);
  }
  await stopRedis(rs);
});

test('the demo page reconnects to another node when its node dies', { timeout: 90000 }, async () => {
  const rs = await redis();
  const nodes = [node('p1', '127.0.0.9'), node('p2', '127.0.0.10')];
  for (const n of nodes)
    await waitFor(async () => ids(await cluster(n)) === 'p1,p2', { timeout: 10000, what: `${n.id} sees 2 nodes` });
  browser = await launchBrowser();
  const page = await openParticipant(browser, { room: 'page-room', name: 'Pia', color: '#ff0000', tone: 440, base: nodes[0].url });
  const state = () => page.evaluate(() => ({ state: window.mcu.state, node: window.mcu.node,
    nodes: window.mcu.nodes, reconnects: window.mcu.reconnects, errors: window.mcu.errors }));
  const frames = () => page.evaluate(() => window.mcu.pc?.getStats().then((st) => {
    for (const x of st.values()) if (x.type === 'inbound-rtp' && x.kind === 'video') return x.framesDecoded;
    return 0;
  }) ?? 0);
  await waitFor(async () => (await state()).state === 'connected', { timeout: 20000, what: 'the page connected' });
  const s0 = await state();
  assert.deepEqual([...s0.nodes].sort(), nodes.map((n) => n.url).sort(), 'the page knows both nodes');

  nodes[0].kill('SIGKILL'); // the page's own node (and its room's: placed there)
  const t0 = Date.now();
  await waitFor(async () => {
    const s = await state();
    return s.state === 'connected' && s.node === nodes[1].url && s.reconnects >= 1;
  }, { timeout: 20000, interval: 250, what: 'the page back in a call through p2' });
  const back = Date.now() - t0;
  const f = await frames();
  await sleep(1000);
  assert.ok((await frames()) > f + 10, 'the page decodes the mix again');
  console.log(`the page rejoined through p2 ${back} ms after kill -9 of its node: ${JSON.stringify(await state())}`);
  assert.ok(back < 10000, `back after ${back} ms`);
  nodes[1].kill('SIGTERM');
  assert.deepEqual(await nodes[1].exited, { code: 0, sig: null });
  await stopRedis(rs);
});
