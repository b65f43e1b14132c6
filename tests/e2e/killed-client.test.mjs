// killed-client.test.mjs - participants that die mid-call without leaving (issue 6). Three
// @roamhq/wrtc participants, each in a process of its own (wrtc-child.mjs), in one room of a
// server of the test's own (port 18083, so its PID is known).
//  a) kill -9 one: the kernel closes its TCP socket, so the server must see the WebSocket close
//     at once: the others get participant-left, its tile leaves their mix and its tone their
//     audio within 3 s, and their video never stops for more than 1 s.
//  b) SIGSTOP one: its TCP connection stays open (the kernel still acknowledges), and it sends
//     nothing. Only consent can remove it (the server drops a peer that sent nothing
//     authenticated for 15 s; RFC 7675 allows 30 s): within 35 s, with an `ice-failed` error
//     for it and participant-left for the others, whose video never stalls meanwhile.
//  c) everyone gone: the room is freed, the server's open file descriptors are back to the
//     count before anyone joined, its RSS is within 32 MB of that before (384 MB under ASan,
//     whose quarantine holds freed memory), and a SIGTERM ends it with exit code 0 (under
//     ASan: no leak report).
// Under the ASan build the mix is 640x360 at 15 fps: the media loop runs ICE, DTLS, signaling
// and the mixing tick, and must keep up on two shared cores.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  spawnChild, ownServer, stopServer, serverFds, serverRss, fdsSettle, getJson, maxFrameGap,
  stableSince, isAsan, asanBuild, serverCpu, sleep,
} from './wrtc-child.mjs';

const PORT = 18083;
const URL = `http://127.0.0.1:${PORT}`;
const ROOM = 'killed';
const PEOPLE = [
  { name: 'Magenta', yuv: [106, 202, 222], tone: 600 },
  { name: 'Cyan', yuv: [170, 166, 16], tone: 900 },
  { name: 'Yellow', yuv: [210, 16, 146], tone: 1300 },
];
// A tone is in the mix when its power (wrtc-child's Hann-windowed Goertzel over the last 100 ms
// of int16 samples) is above TONE_ON_DB, and out of it below TONE_OFF_DB: measured, a tone in
// the others' audio reads 57..67, a gone participant's tone -60..37 (codec noise).
const TONE_ON_DB = 52, TONE_OFF_DB = 48;
const KILL_BOUND_MS = 3000; // kill -9: participant-left, tile and tone gone
const CONSENT_BOUND_MS = 35000; // SIGSTOP: RFC 7675 consent expiry (30 s) plus margin
const CONSENT_SILENCE_MS = 15000; // the server's PEER_CONSENT_SILENCE_US
const MAX_GAP_MS = 1000; // no observer's video stops for longer than this

let server, RSS_BOUND_KB;
const kids = [];
const figures = {};
let base; // the server before anyone joined

function child(p, extra = {}) {
  const h = spawnChild({
    ...p, room: ROOM, stat_ms: 100, watch: PEOPLE, ...extra,
  }, { url: URL });
  kids.push(h);
  return h;
}

// Resolves once h's mix has held, for 1 s, exactly the tiles of `names` (among the watched
// colours, h's own included) and the tones of the others in `names`, and none of the tones of
// those not in `names`. (h's own tone: mix-minus is wrtc.test.mjs's business; it reads up to
// 42 here, 20 dB under the others.)
async function mixShows(h, names, timeout = 25000) {
  const ok = (s) => h.cfg.watch.every((w) => {
    if (s.tiles[w.name] !== names.includes(w.name)) return false;
    if (w.name === h.name) return true;
    return names.includes(w.name) ? s.tones[w.name] > TONE_ON_DB : s.tones[w.name] < TONE_OFF_DB;
  });
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    const since = stableSince(h, ok, Date.now() - 1000);
    const first = h.stats(Date.now() - 1000)[0];
    if (since !== null && first && since <= first.t) return h.stat;
    await sleep(200);
  }
  throw new Error(`${h.name} should see ${names.join(', ')} and hear them (but itself): last stat ${JSON.stringify(h.stat)}`);
}

async function roomPeople() {
  const rooms = await getJson(PORT, '/api/rooms');
  const r = rooms.find((x) => x.name === ROOM);
  return r ? r.participants.map((p) => p.name).sort() : null;
}

before(async () => {
  // ASan makes the server several times slower: a smaller mix keeps its media loop on time
  server = await ownServer('killed-client', PORT, [], asanBuild() ? { width: 640, height: 360, fps: 15 } : null);
  await sleep(500);
  base = { fds: serverFds(server.pid), ...serverRss(server.pid) };
  RSS_BOUND_KB = (isAsan(server.pid) ? 384 : 32) * 1024;
  console.log(`server pid ${server.pid}, before anyone joined: ${base.fds.n} fds ${JSON.stringify(base.fds.kinds)}, ` +
    `RSS ${(base.rssKb / 1024).toFixed(1)} MB, ${base.threads} threads`);
});

after(async () => {
  for (const k of kids) k.kill('SIGKILL');
  if (server && server.proc.exitCode === null) server.proc.kill('SIGKILL');
  console.log(`figures: ${JSON.stringify(figures)}`);
  setTimeout(() => process.exit(), 500).unref();
});

let magenta, cyan, yellow;

test('three participants, each in its own process, see and hear each other', { timeout: 90000 }, async () => {
  magenta = child(PEOPLE[0]);
  await magenta.waitEvent((e) => e.ev === 'msg' && e.m.type === 'joined', { what: 'joined' });
  cyan = child(PEOPLE[1]);
  await cyan.waitEvent((e) => e.ev === 'msg' && e.m.type === 'joined', { what: 'joined' });
  yellow = child(PEOPLE[2]);
  for (const h of [magenta, cyan, yellow]) {
    const r = await h.waitEvent((e) => e.ev === 'ready', { timeout: 30000, what: 'first mixed frame' });
    assert.deepEqual([...r.tracks].sort(), ['audio', 'video']);
  }
  for (const h of [magenta, cyan, yellow])
    await mixShows(h, PEOPLE.map((p) => p.name), 30000);
  for (const h of [magenta, cyan, yellow])
    console.log(`${h.name}: ${h.stat.w}x${h.stat.h}, tiles ${JSON.stringify(h.stat.tiles)}, tones ${JSON.stringify(h.stat.tones)}`);
  assert.deepEqual(await roomPeople(), ['Cyan', 'Magenta', 'Yellow']);
  const c0 = serverCpu(server.pid);
  await sleep(2000);
  figures.cpuPct3 = Math.round((serverCpu(server.pid) - c0) / 2 * 100);
  const f = serverFds(server.pid), m = serverRss(server.pid);
  figures.in3 = { fds: f.n, rssMB: +(m.rssKb / 1024).toFixed(1), threads: m.threads };
  console.log(`with three in: ${f.n} fds ${JSON.stringify(f.kinds)}, RSS ${(m.rssKb / 1024).toFixed(1)} MB, ` +
    `${m.threads} threads, server CPU ${figures.cpuPct3}%`);
  assert.ok(f.n > base.fds.n, 'three participants hold sockets in the server');
});

// Times (ms after t0) at which each observer got participant-left for `id`, stopped seeing the
// colour of `who` and stopped hearing its tone (for good).
async function departure(observers, who, id, t0, timeout) {
  const out = {};
  for (const h of observers) {
    const left = await h.waitEvent((e) => e.ev === 'msg' && e.m.type === 'participant-left' && e.m.id === id,
      { since: t0, timeout, what: `participant-left ${who}` });
    // the mix must then stay without the tile and the tone for 2 s
    await sleep(Math.max(0, left.t + 2500 - Date.now()));
    const tileGone = stableSince(h, (s) => s.tiles[who] === false, t0);
    const toneGone = stableSince(h, (s) => s.tones[who] < TONE_OFF_DB, t0);
    out[h.name] = { left: left.t - t0, tileGone: tileGone && tileGone - t0, toneGone: toneGone && toneGone - t0 };
    // a trace for the log: [ms after t0, tile seen, tone dB] every ~200 ms
    const trace = h.stats(t0 - 300).filter((_, i) => i % 2 === 0).slice(0, 40)
      .map((s) => `${s.t - t0}:${s.tiles[who] ? 'T' : '-'}${Math.round(s.tones[who])}`);
    console.log(`  ${h.name} sees ${who}: ${trace.join(' ')}`);
  }
  return out;
}

test('a) kill -9: the others see the participant leave at once, and never stall', { timeout: 60000 }, async () => {
  const id = cyan.events.find((e) => e.ev === 'msg' && e.m.type === 'joined').m.id;
  await sleep(1000);
  const t0 = Date.now();
  cyan.kill('SIGKILL');
  const d = await departure([magenta, yellow], 'Cyan', id, t0, 20000);
  const t1 = Date.now();
  const gaps = Object.fromEntries([magenta, yellow].map((h) => [h.name, maxFrameGap(h, t0, t1)]));
  console.log(`kill -9 Cyan (peer ${id}): ${JSON.stringify(d)}; longest video gap after: ${JSON.stringify(gaps)} ms`);
  figures.kill9 = { ...d, gaps };
  for (const [name, x] of Object.entries(d)) {
    assert.ok(x.left <= KILL_BOUND_MS, `${name}: participant-left after ${x.left} ms`);
    assert.ok(x.tileGone !== null && x.tileGone <= KILL_BOUND_MS, `${name}: Cyan's tile gone after ${x.tileGone} ms`);
    assert.ok(x.toneGone !== null && x.toneGone <= KILL_BOUND_MS, `${name}: Cyan's tone gone after ${x.toneGone} ms`);
  }
  for (const [name, g] of Object.entries(gaps)) assert.ok(g <= MAX_GAP_MS, `${name}: no video for ${g} ms`);
  for (const h of [magenta, yellow]) assert.deepEqual(h.msgs('error').map((e) => e.m), [], `${h.name} got errors`);
  await mixShows(magenta, ['Magenta', 'Yellow']);
  await mixShows(yellow, ['Magenta', 'Yellow']);
  assert.deepEqual(await roomPeople(), ['Magenta', 'Yellow']);
});

test('b) SIGSTOP: ICE consent freshness removes a participant that vanished without a TCP close', { timeout: 90000 }, async () => {
  cyan = child(PEOPLE[1]);
  await cyan.waitEvent((e) => e.ev === 'ready', { timeout: 30000, what: 'Cyan again: first frame' });
  await mixShows(magenta, ['Magenta', 'Cyan', 'Yellow']);
  await mixShows(yellow, ['Magenta', 'Cyan', 'Yellow']);
  const id = cyan.events.find((e) => e.ev === 'msg' && e.m.type === 'joined').m.id;
  await sleep(1000);
  const t0 = Date.now();
  cyan.kill('SIGSTOP');
  // still in the room while consent has not yet expired: only a consent check can tell
  await sleep(2000);
  assert.deepEqual(await roomPeople(), ['Cyan', 'Magenta', 'Yellow'], 'a frozen client is not dropped on a whim');
  const d = await departure([magenta, yellow], 'Cyan', id, t0, CONSENT_BOUND_MS + 10000);
  const t1 = Date.now();
  const gaps = Object.fromEntries([magenta, yellow].map((h) => [h.name, maxFrameGap(h, t0, t1)]));
  // the frozen child has the error in its socket's receive queue: wake it up to read it
  cyan.kill('SIGCONT');
  const err = await cyan.waitEvent((e) => e.ev === 'msg' && e.m.type === 'error', { since: t0, timeout: 10000, what: 'ice-failed' })
    .catch(() => null);
  cyan.kill('SIGKILL');
  console.log(`SIGSTOP Cyan (peer ${id}): ${JSON.stringify(d)}; longest video gap meanwhile: ${JSON.stringify(gaps)} ms; ` +
    `error to the frozen client: ${JSON.stringify(err?.m)}`);
  figures.sigstop = { ...d, gaps, error: err?.m?.code };
  for (const [name, x] of Object.entries(d)) {
    assert.ok(x.left <= CONSENT_BOUND_MS, `${name}: participant-left after ${x.left} ms`);
    // the server's own check (15 s of silence), not a lost keepalive or two
    assert.ok(x.left >= CONSENT_SILENCE_MS - 1000, `${name}: participant-left after only ${x.left} ms`);
    assert.ok(x.tileGone !== null && x.tileGone <= x.left + KILL_BOUND_MS, `${name}: Cyan's tile gone after ${x.tileGone} ms`);
    assert.ok(x.toneGone !== null && x.toneGone <= CONSENT_BOUND_MS, `${name}: Cyan's tone gone after ${x.toneGone} ms`);
  }
  for (const [name, g] of Object.entries(gaps)) assert.ok(g <= MAX_GAP_MS, `${name}: no video for ${g} ms`);
  assert.equal(err?.m?.code, 'ice-failed', 'the vanished client is told why it was removed');
  for (const h of [magenta, yellow]) assert.deepEqual(h.msgs('error').map((e) => e.m), [], `${h.name} got errors`);
  await mixShows(magenta, ['Magenta', 'Yellow']);
  await mixShows(yellow, ['Magenta', 'Yellow']);
  assert.deepEqual(await roomPeople(), ['Magenta', 'Yellow']);
});

test('c) everyone gone: room freed, fds back to the count before, RSS bounded, clean exit', { timeout: 90000 }, async () => {
  magenta.send('leave');
  await sleep(300);
  magenta.send('close');
  yellow.send('close');
  const end = Date.now() + 10000;
  let rooms;
  while (Date.now() < end && (rooms = await getJson(PORT, '/api/rooms')).length) await sleep(200);
  assert.deepEqual(rooms, [], 'the room is freed');
  for (const k of kids) k.send('exit');
  await Promise.all(kids.map((k) => Promise.race([k.exited, sleep(5000)])));
  const f = await fdsSettle(server.pid, base.fds.n);
  await sleep(1000);
  const m = serverRss(server.pid);
  const extra = f.list.filter((l) => !base.fds.list.includes(l));
  figures.after = { fds: f.n, fdsBefore: base.fds.n, rssMB: +(m.rssKb / 1024).toFixed(1), rssBeforeMB: +(base.rssKb / 1024).toFixed(1), threads: m.threads, threadsBefore: base.threads };
  console.log(`after everyone left: ${f.n} fds (before ${base.fds.n}) ${JSON.stringify(f.kinds)}; ` +
    `new: ${JSON.stringify(extra)}; RSS ${(m.rssKb / 1024).toFixed(1)} MB (before ${(base.rssKb / 1024).toFixed(1)} MB), ` +
    `${m.threads} threads (before ${base.threads})`);
  assert.ok(f.n <= base.fds.n, `fds: ${f.n} now, ${base.fds.n} before anyone joined; new: ${extra.join(', ')}`);
  assert.ok(m.rssKb - base.rssKb <= RSS_BOUND_KB, `RSS grew by ${m.rssKb - base.rssKb} kB`);
  assert.ok(m.threads <= base.threads, `${m.threads} threads now, ${base.threads} before`);
  const res = await stopServer(server);
  figures.exit = res.code;
  assert.equal(res.code, 0, `the server exited with ${res.code} (${res.sig || ''}):\n${res.report}`);
  assert.doesNotMatch(server.logText(), /LeakSanitizer|AddressSanitizer|runtime error:/, 'no sanitizer report');
});
