// ladder.test.mjs - the ladder of outputs. (1) What a device asks for: three headless Chromium
// pages, one as is, one "low-power" (receive at most 640x360 at 15 fps), one "minimal" (320x180
// at 15 fps) and H.264: each decodes the size it asked for at about its frame rate, is told so
// in an `output` message, and /api/rooms shows each one's output and codec; the two small
// rungs cost one encoder each, not one per recipient size asked. (2) What the link carries: a
// @roamhq/wrtc participant in a network namespace of its own, joined to the server's by a veth
// pair (198.18.0.0/24, the range for network tests; nothing leaves the namespaces) whose
// server-side end is shaped with a real tbf at 400 kbit/s: it must move down within 5 s,
// without a long freeze, while two unshaped participants keep their 1280x720 at full rate; when
// the cap lifts it must move up again within 15 s and back to the top. Twice: with the
// browser's REMB deciding (the default), then with the server's own estimator on the client's
// transport-cc feedback (config transport_cc, experimental: looser bounds, see capScenario).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { launchBrowser, openParticipant, waitFor, sleep, URL_BASE } from './lib.mjs';
import { spawnChild, ownServer, stopServer, maxFrameGap, getJson, isAsan } from './wrtc-child.mjs';

let browser, server, holder;
const children = [];
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  if (browser) await browser.close();
  if (server) await stopServer(server, 10000);
  if (holder) holder.kill('SIGKILL');
  try { execFileSync('ip', ['link', 'del', 'mcuS'], { stdio: 'ignore' }); } catch { /* gone */ }
});

async function fps(page) {
  const a = await page.evaluate(() => mcu.inboundVideo());
  await sleep(3000);
  const b = await page.evaluate(() => mcu.inboundVideo());
  return { fps: (b.framesDecoded - a.framesDecoded) / ((b.timestamp - a.timestamp) / 1000), w: b.frameWidth, h: b.frameHeight };
}

test('each device gets the rung its receive profile asks for', { timeout: 120000 }, async () => {
  browser = await launchBrowser();
  const people = [
    { name: 'Best', color: '#ff0000', tone: 440, want: [1280, 720, 30, '1280x720@30', 'vp8'] },
    { name: 'Low', color: '#00ff00', tone: 740, receive: 'low', want: [640, 360, 15, '640x360@15', 'vp8'] },
    { name: 'Tiny', color: '#0000ff', tone: 1300, receive: 'minimal', codec: 'h264', want: [320, 180, 15, '320x180@15', 'h264'] },
  ];
  const pages = [];
  for (const p of people) pages.push(await openParticipant(browser, { room: 'ladder', ...p }));
  for (const [i, page] of pages.entries()) {
    const [w, h, rate, , codec] = people[i].want;
    const out = await waitFor(() => page.evaluate(() => mcu.outputs[0]), { what: `${people[i].name} output message` });
    assert.deepEqual([out.video.width, out.video.height, out.video.fps, out.video.codec, out.reason], [w, h, rate, codec, 'profile']);
    await waitFor(async () => (await page.evaluate(() => mcu.inboundVideo()))?.frameWidth === w,
      { timeout: 20000, what: `${people[i].name} decodes ${w} wide` });
    const f = await fps(page);
    console.log(`${people[i].name}: ${f.w}x${f.h} at ${f.fps.toFixed(1)} fps decoded`);
    assert.deepEqual([f.w, f.h], [w, h]);
    assert.ok(f.fps > rate * 0.6 && f.fps < rate * 1.25, `${people[i].name}: ${f.fps} fps for ${rate}`);
  }
  const room = (await (await fetch(`${URL_BASE}/api/rooms`)).json()).find((r) => r.name === 'ladder');
  const seen = Object.fromEntries(room.participants.map((p) => [p.name, [p.output, p.codec]]));
  assert.deepEqual(seen, Object.fromEntries(people.map((p) => [p.name, [p.want[3], p.want[4]]])));
  for (const page of pages) await page.context().close();
});

// ---- a real bottleneck ----

const HOST = '198.18.0.1', PORT = 18083;
const sh = (...argv) => execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
const RED = [81, 90, 240], GREEN = [145, 54, 34], BLUE = [41, 240, 110];

// A network namespace held by a sleeping process, joined to ours by veth mcuS (ours, HOST) and
// mcuC (its, 198.18.0.2).
async function cappedNamespace() {
  holder = spawn('unshare', ['-n', 'sleep', '1000'], { stdio: 'ignore' });
  await sleep(300);
  sh('ip', 'link', 'add', 'mcuS', 'type', 'veth', 'peer', 'name', 'mcuC');
  sh('ip', 'link', 'set', 'mcuC', 'netns', String(holder.pid));
  sh('ip', 'addr', 'add', `${HOST}/24`, 'dev', 'mcuS');
  sh('ip', 'link', 'set', 'mcuS', 'up');
  sh('nsenter', '-t', String(holder.pid), '-n', 'sh', '-c',
    'ip link set lo up && ip addr add 198.18.0.2/24 dev mcuC && ip link set mcuC up');
  return ['nsenter', '-t', String(holder.pid), '-n'];
}

// The output messages of a child since t, as [t, "WxH@F" | "audio", reason].
function outputs(c, since = 0) {
  return c.msgs('output', since).map((e) => [e.t, e.m.video ? `${e.m.video.width}x${e.m.video.height}@${e.m.video.fps}` : 'audio', e.m.reason]);
}

// Frames per second a child received in [from, to], from its stat events.
function rate(c, from, to) {
  const s = c.stats(from, to);
  return s.length < 2 ? 0 : ((s.at(-1).frames - s[0].frames) * 1000) / (s.at(-1).t - s[0].t);
}

// One run of the cap scenario on a server of its own (config: its --config object), held to
// the bounds of the issue: down within 5 s with no freeze over 1 s (transport-cc: 5 s, see
// below), back up within 15 s of the lift and at the top, the others unaffected. With
// transport-cc it must also exchange feedback both ways and probe with padding before each
// step up.
async function capScenario(prefix, label, config) {
  server = await ownServer(`ladder-tbf-${label}`, PORT, [], config, {}, HOST);
  const url = `http://${HOST}:${PORT}`;
  const cfg = (name, yuv, tone) => ({ name, yuv, tone, room: 'tbf', stat_ms: 200 });
  const red = spawnChild(cfg('Red', RED, 440), { url });
  const green = spawnChild(cfg('Green', GREEN, 740), { url });
  const capped = spawnChild(cfg('Capped', BLUE, 1300), { url, prefix });
  const kids = [red, green, capped];
  children.push(...kids);
  for (const c of kids) await c.waitEvent((e) => e.ev === 'ready', { timeout: 30000, what: 'ready' });
  await sleep(8000);
  assert.equal(capped.stat.w, 1280, 'the capped one starts at the top');

  const tCap = Date.now();
  sh('tc', 'qdisc', 'add', 'dev', 'mcuS', 'root', 'tbf', 'rate', '400kbit', 'burst', '16kbit', 'latency', '200ms');
  const down = await capped.waitEvent((e) => e.ev === 'msg' && e.m.type === 'output' && e.m.reason === 'link-down',
    { since: tCap, timeout: 20000, what: 'a move down' });
  const downS = (down.t - tCap) / 1000;
  await sleep(20000); // under the cap: the rung holds or probes and comes back
  const tLift = Date.now();
  const capGap = maxFrameGap(capped, tCap, tLift);
  const othersFps = [red, green].map((c) => rate(c, tCap + 2000, tLift));
  const othersGap = Math.max(...[red, green].map((c) => maxFrameGap(c, tCap, tLift)));
  const othersW = [red, green].map((c) => c.stat.w);
  const capW = capped.stats(tLift - 3000, tLift).map((s) => s.w);
  sh('tc', 'qdisc', 'del', 'dev', 'mcuS', 'root');
  const movesSoFar = () => JSON.stringify(outputs(capped, tCap).map(([t, o, r]) => [((t - tCap) / 1000).toFixed(1), o, r]));
  const up = await (capped.waitEvent((e) => e.ev === 'msg' && e.m.type === 'output' && e.m.reason === 'link-up',
    { since: tLift, timeout: 30000, what: 'a move up' }).catch((err) => {
    console.log(`[${label}] no move up; lifted at ${((tLift - tCap) / 1000).toFixed(1)} s, moves: ${movesSoFar()}`);
    throw err;
  }));
  const top = up && await (capped.waitEvent((e) => e.ev === 'msg' && e.m.type === 'output' && e.m.video?.width === 1280,
    { since: tLift, timeout: 45000, what: 'back at the top' }));
  if (top) await (capped.waitEvent((e) => e.ev === 'stat' && e.w === 1280, { since: top.t, timeout: 10000, what: '1280 wide frames' }));
  const upGap = maxFrameGap(capped, tLift, Date.now());
  const secs = (e) => (e ? `${((e.t - tLift) / 1000).toFixed(1)} s` : 'never (in 30 s)');

  console.log(`[${label}] moves: ${movesSoFar()}`);
  console.log(`[${label}] down ${downS.toFixed(1)} s after the cap; longest frame gap under the cap ${capGap} ms; ` +
    `widths in the last 3 s of the cap ${[...new Set(capW)].join('/')}`);
  console.log(`[${label}] first move up ${secs(up)} after the lift, top after ${secs(top)}; ` +
    `longest gap after the lift ${upGap} ms`);
  console.log(`[${label}] others under the cap: ${othersFps.map((f) => f.toFixed(1)).join(', ')} fps, ` +
    `${othersW.join(', ')} wide, longest gap ${othersGap} ms`);
  // An ASan server runs a few times slower: looser bounds for frame rates and gaps there.
  const slow = isAsan(server.pid);
  assert.ok(downS <= 5, `moved down after ${downS} s`);
  // The bound is 1 s; runs here measured 0.43-0.94 s (ASan 0.84 s): 1.2 s leaves room
  // for a loaded CI machine without hiding a regression to several seconds.
  // transport-cc (opt-in) is held to the 5 s it had before: it still froze 3.1 s in one ASan
  // CI run of six (a switch keyframe lost, then the PLI's keyframe held by the 1 s encoder gap)
  const freezeMax = config?.transport_cc ? 5000 : slow ? 2000 : 1200;
  assert.ok(capGap <= freezeMax, `a freeze of ${capGap} ms under the cap`);
  assert.ok(capW.every((w) => w < 1280), `still ${capW} wide under the cap`);
  // transport-cc: a failed padding probe under the cap is tried again 5 s later, so the first
  // step after the lift comes within about 6 s (runs here: 3.0-3.9 s, ASan too)
  assert.ok((up.t - tLift) / 1000 <= 15, 'moved up within 15 s of the lift');
  assert.ok(othersFps.every((f) => f >= (slow ? 10 : 20)), `the others: ${othersFps} fps`);
  assert.deepEqual(othersW, [1280, 1280]);
  assert.ok(othersGap < (slow ? 2000 : 1000), `the others' longest gap ${othersGap} ms`);
  // audio keeps priority: the Opus bitrate follows the rung (the default ladder's 32, 32, 24, 16)
  const abps = { 1280: 32000, 640: 32000, '640@15': 24000, 320: 16000 };
  for (const e of capped.msgs('output', tCap)) {
    const v = e.m.video, key = v && (v.fps === 15 && v.width === 640 ? '640@15' : v.width);
    assert.equal(e.m.audio_bitrate, v ? abps[key] : 16000, `audio bitrate of ${JSON.stringify(e.m)}`);
  }
  const room = (await getJson(PORT, '/api/rooms', HOST)).find((r) => r.name === 'tbf');
  assert.equal(room.participants.find((p) => p.name === 'Capped').output, '1280x720@30');
  // which estimate moved it: REMB, or the server's own from transport-cc feedback
  const peers = (await getJson(PORT, '/api/stats', HOST)).peers;
  console.log(`[${label}] transport-cc feedback: ${peers.twcc_sent} sent, ${peers.twcc_received} received; ` +
    `REMB received ${peers.remb_received}; padding sent ${peers.padding_sent}, RTX in ${peers.rtx_in} ` +
    `(padding only ${peers.rtx_padding})`);
  // libwebrtc probes its uplink at the start with padding on RTX: we must take it as padding
  // (rtp_rtx_unwrap), not as a repair or an error
  assert.ok(peers.rtx_padding > 0, `no RTX padding seen: ${JSON.stringify(peers)}`);
  if (config?.transport_cc) {
    assert.ok(peers.twcc_sent > 100 && peers.twcc_received > 100 && peers.remb_received === 0, JSON.stringify(peers));
    assert.ok(peers.padding_sent > 0, 'no padding probe before the steps up');
  } else {
    assert.ok(peers.twcc_sent === 0 && peers.remb_received > 10 && peers.padding_sent === 0,
      JSON.stringify(peers));
  }
  for (const c of kids) c.kill('SIGKILL');
  await stopServer(server, 10000);
  server = null;
}

test('a recipient behind a 400 kbit/s tbf moves down and back up; the others are unaffected', { timeout: 300000 }, async () => {
  const prefix = await cappedNamespace();
  await capScenario(prefix, 'remb', null);
  await capScenario(prefix, 'transport-cc', { transport_cc: true });
});
