// churn.test.mjs - many joins and leaves in one room must leak nothing (issue 6). A server of
// the test's own (port 18085, stderr captured: under ASan, LeakSanitizer reports on exit).
// Two @roamhq/wrtc participants stay in the room; a third, in a process of its own
// (wrtc-child.mjs), joins and goes 30 times, in five ways in turn: kill -9 of its process, a
// WebSocket close, a `leave` message (socket and peer connection left open a moment), a close
// right after `joined` (mid-set-up: before ICE/DTLS are done), and a receive-only viewer that
// closes its socket. Each time the two who stay must see it join and leave. Then:
//  - after every cycle the server's fd count is back to what it was with the two alone;
//  - RSS between cycle 5 and the end grows by at most 24 MB (384 MB under ASan: its
//    quarantine keeps freed memory);
//  - once everyone has gone, /api/rooms is empty and fds are back to the count before anyone
//    joined;
//  - SIGTERM ends the server with exit code 0: under the ASan build, a leak makes
//    LeakSanitizer exit non-zero, and the test fails showing its report.
// The mix is 640x360 at 15 fps: the test is about the life cycle of peers and rooms, and a
// small canvas keeps the media loop far from saturating the two shared cores (notably under
// ASan), where a late loop would make every client's media late.
// CHURN_CYCLES overrides the number of cycles, CHURN_CONFIG (JSON) the server's configuration;
// MCU_WRAPPER runs the server under a tool (bench/leak-check.sh: valgrind), with longer waits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  spawnChild, ownServer, stopServer, serverFds, serverRss, serverCpu, fdsSettle, getJson, isAsan, sleep,
} from './wrtc-child.mjs';

const PORT = 18085;
const URL = `http://127.0.0.1:${PORT}`;
const ROOM = 'churn';
const CYCLES = Number(process.env.CHURN_CYCLES || 30);
const A = { name: 'Magenta', yuv: [106, 202, 222], tone: 600 };
const B = { name: 'Cyan', yuv: [170, 166, 16], tone: 900 };
const C = { name: 'Yellow', yuv: [210, 16, 146], tone: 1300 };
// CHURN_MODE=audio-only (bench/leak-check.sh under valgrind): everyone sends and receives
// audio only, so no VP8 is decoded or encoded, and there is no viewer.
const MODE = process.env.CHURN_MODE || 'sendrecv';
const WAYS = ['kill', 'close', 'leave', 'early-close', ...(MODE === 'audio-only' ? [] : ['viewer'])];
const CONFIG = { width: 640, height: 360, fps: 15, ...JSON.parse(process.env.CHURN_CONFIG || '{}') };
const WRAPPED = Boolean(process.env.MCU_WRAPPER);
const SLOW = WRAPPED ? 4 : 1; // timeouts scale

let server, asan;
const kids = [];
let base;
const figures = { cycles: [] };

function child(p, extra = {}) {
  const h = spawnChild({ ...p, room: ROOM, stat_ms: 250, watch: [], opts: { mode: MODE }, ...extra }, { url: URL });
  kids.push(h);
  return h;
}

async function roomPeople() {
  const rooms = await getJson(PORT, '/api/rooms');
  const r = rooms.find((x) => x.name === ROOM);
  return r ? r.participants.map((p) => p.name).sort() : null;
}

async function waitRoom(names, timeout = 10000 * SLOW) {
  const end = Date.now() + timeout;
  let got;
  while (Date.now() < end) {
    got = await roomPeople();
    if (JSON.stringify(got) === JSON.stringify(names)) return got;
    await sleep(100);
  }
  throw new Error(`room should hold ${JSON.stringify(names)}, holds ${JSON.stringify(got)}`);
}

const joinedId = (h, since) => h.waitEvent((e) => e.ev === 'msg' && e.m.type === 'joined', { since, timeout: 20000 * SLOW, what: 'joined' })
  .then((e) => e.m.id);

before(async () => {
  server = await ownServer('churn', PORT, [], CONFIG);
  asan = isAsan(server.pid);
  await sleep(500);
  base = { fds: serverFds(server.pid), ...serverRss(server.pid) };
  console.log(`server pid ${server.pid}${asan ? ' (ASan)' : ''}: ${base.fds.n} fds, RSS ${(base.rssKb / 1024).toFixed(1)} MB before anyone joined`);
});

after(async () => {
  for (const k of kids) k.kill('SIGKILL');
  if (server && server.proc.exitCode === null) server.proc.kill('SIGKILL');
  console.log(`figures: ${JSON.stringify({ ...figures, cycles: undefined })}`);
  setTimeout(() => process.exit(), 500).unref();
});

let a, b;

test(`${CYCLES} join/leave cycles leak no fds and bounded memory`, { timeout: 280000 * SLOW }, async () => {
  a = child(A);
  await a.waitEvent((e) => e.ev === 'ready', { timeout: 30000 * SLOW, what: 'A: first frame' });
  b = child(B);
  await b.waitEvent((e) => e.ev === 'ready', { timeout: 30000 * SLOW, what: 'B: first frame' });
  await waitRoom(['Cyan', 'Magenta']);
  await sleep(1000);
  const two = serverFds(server.pid);
  console.log(`two in: ${two.n} fds ${JSON.stringify(two.kinds)}`);

  let c = null; // the churner's process, reused until killed
  let rss5 = null;
  const t0 = Date.now(), cpu0 = serverCpu(server.pid);
  for (let i = 0; i < CYCLES; i++) {
    const way = WAYS[i % WAYS.length];
    const ts = Date.now();
    const mode = way === 'viewer' ? 'recvonly' : MODE;
    if (!c || way === 'kill' || (c.cfg.opts?.mode || 'sendrecv') !== mode) {
      if (c) { c.send('exit'); await Promise.race([c.exited, sleep(3000)]); c.kill('SIGKILL'); }
      c = child(C, { opts: { mode }, autojoin: true });
    } else {
      c.send('join');
    }
    const id = await joinedId(c, ts);
    if (way === 'early-close') {
      // gone while the offer, ICE and DTLS are under way
      await sleep(50 + 40 * (i % 4));
      c.send('close');
    } else {
      await c.waitEvent((e) => e.ev === 'ready', { since: ts, timeout: 30000 * SLOW, what: `cycle ${i}: first frame` });
      if (way === 'kill') {
        c.kill('SIGKILL');
        c = null;
      } else if (way === 'leave') {
        c.send('leave');
        await c.waitEvent((e) => e.ev === 'left', { since: ts });
        await sleep(300); // the client still sends media to a port that is no more
        c.send('close');
      } else {
        c.send('close');
      }
    }
    // the two who stay see it come and go, and are never dropped themselves
    for (const h of [a, b]) {
      const err = h.msgs('error')[0];
      assert.equal(err, undefined, `cycle ${i}: ${h.name}, who stays, got ${JSON.stringify(err?.m)}`);
      await h.waitEvent((e) => e.ev === 'msg' && e.m.type === 'participant-joined' && e.m.id === id,
        { since: ts - 1000, timeout: 20000 * SLOW, what: `cycle ${i}: participant-joined ${id}` });
      await h.waitEvent((e) => e.ev === 'msg' && e.m.type === 'participant-left' && e.m.id === id,
        { since: ts - 1000, timeout: 20000 * SLOW, what: `cycle ${i}: participant-left ${id}` });
    }
    await waitRoom(['Cyan', 'Magenta']);
    const f = await fdsSettle(server.pid, two.n, 10000);
    const m = serverRss(server.pid);
    const cy = { i, way, ms: Date.now() - ts, fds: f.n, rssMB: +(m.rssKb / 1024).toFixed(1) };
    figures.cycles.push(cy);
    console.log(`cycle ${i} (${way}, peer ${id}): ${cy.ms} ms, ${cy.fds} fds, RSS ${cy.rssMB} MB`);
    if (i === 4) rss5 = m.rssKb;
    assert.ok(f.n <= two.n, `cycle ${i} (${way}): ${f.n} fds, ${two.n} with the two alone; new: ` +
      f.list.filter((l) => !two.list.includes(l)).join(', '));
  }
  const churnS = (Date.now() - t0) / 1000;
  if (c) { c.send('exit'); await Promise.race([c.exited, sleep(3000)]); c.kill('SIGKILL'); }
  const rssEnd = serverRss(server.pid).rssKb;
  const bound = (asan || WRAPPED ? 384 : 24) * 1024;
  figures.churn = {
    cycles: CYCLES, seconds: +churnS.toFixed(1), serverCpuPct: +((serverCpu(server.pid) - cpu0) / churnS * 100).toFixed(0), fdsTwo: two.n,
    rssAfter5MB: rss5 && +(rss5 / 1024).toFixed(1), rssEndMB: +(rssEnd / 1024).toFixed(1),
  };
  console.log(`churn: ${JSON.stringify(figures.churn)}`);
  if (rss5 !== null) assert.ok(rssEnd - rss5 <= bound, `RSS grew by ${rssEnd - rss5} kB from cycle 5 to ${CYCLES}`);
  // the two who stayed were never disturbed
  if (MODE !== 'audio-only') {
    for (const h of [a, b]) assert.ok(h.stat && h.stat.frames > 0 && h.stat.open >= 0 && h.stat.open < 2000,
      `${h.name} still receives video: ${JSON.stringify(h.stat)}`);
  }
});

test('everyone gone: room freed, fds back, clean exit (no leak report under ASan)', { timeout: 120000 }, async () => {
  a.send('leave');
  await sleep(200);
  a.send('close');
  b.kill('SIGKILL');
  const end = Date.now() + 10000;
  let rooms;
  while (Date.now() < end + 10000 * (SLOW - 1) && (rooms = await getJson(PORT, '/api/rooms')).length) await sleep(200);
  assert.deepEqual(rooms, [], 'the room is freed');
  for (const k of kids) k.send('exit');
  await Promise.all(kids.map((k) => Promise.race([k.exited, sleep(5000)])));
  const f = await fdsSettle(server.pid, base.fds.n);
  await sleep(500);
  const m = serverRss(server.pid);
  assert.ok(m.threads <= base.threads, `${m.threads} threads now, ${base.threads} before`);
  figures.after = { fds: f.n, fdsBefore: base.fds.n, rssMB: +(m.rssKb / 1024).toFixed(1), rssBeforeMB: +(base.rssKb / 1024).toFixed(1) };
  console.log(`after everyone left: ${f.n} fds (before ${base.fds.n}), RSS ${(m.rssKb / 1024).toFixed(1)} MB ` +
    `(before ${(base.rssKb / 1024).toFixed(1)} MB)`);
  assert.ok(f.n <= base.fds.n, `fds: ${f.n} now, ${base.fds.n} before anyone joined; new: ` +
    f.list.filter((l) => !base.fds.list.includes(l)).join(', '));
  const t = Date.now();
  const res = await stopServer(server, asan || WRAPPED ? 120000 : 30000);
  figures.exit = { code: res.code, sig: res.sig, ms: Date.now() - t };
  console.log(`SIGTERM: exit ${res.code}${res.sig ? ` (${res.sig})` : ''} after ${Date.now() - t} ms`);
  assert.equal(res.timedOut, undefined, `the server did not exit within the time after SIGTERM:\n${res.report}`);
  assert.equal(res.code, 0, `the server exited with ${res.code} (${res.sig || ''}); report:\n${res.report}`);
  assert.doesNotMatch(server.logText(), /LeakSanitizer|AddressSanitizer|runtime error:/, 'no sanitizer report');
});
