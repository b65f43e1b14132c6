// control.test.mjs - moderation of a call through the REST API and over the WebSocket, with
// three libwebrtc (wrtc) participants, each sending its own colour and tone, on a server with
// a secret (so the REST calls need an admin token, and only a participant whose token has the
// admin role may moderate others over the WebSocket):
// - GET /api/rooms/{room} and /participants show everyone, their media state and the encoders;
// - a moderator's mute (REST) takes a tone out of the others' mix within 1 s, and tells
//   everyone; unmuted, it comes back; a muted camera leaves the picture (its tile shows the
//   placeholder) and comes back;
// - mute all but one; rename (everyone is told; the API shows it);
// - a participant mutes itself (WebSocket); a participant without the admin role may not mute
//   others; one with it may;
// - /metrics (promtool check metrics) shows the peers by state, the encoders by codec and size,
//   the bit rates and the refused moderation by error code;
// - DELETE removes a participant: it gets "removed" and its socket closes, the others get
//   participant-left, and its colour and tone leave the mix;
// - PUT makes a room with its own settings (layout, size, limit, automatic recording, idle
//   timeout), DELETE ends it (everyone removed, the recording finished: ffprobe reads it), and
//   an empty room made by PUT goes after its idle timeout;
// - layouts: the room pins a participant (REST, and an admin over the WebSocket: everyone is
//   told), a participant picks its own view (a second encoder; back to the room's), a
//   moderator sets a participant's view.
// server-config: {"secret": "control-e2e-secret", "tile_names": true, "recordings_dir": "/tmp/mcu-control-e2e"}
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { URL_BASE, waitFor, sleep } from './lib.mjs';
import { participant, tonePeak, colourAt, showsColour } from './wrtc-client.mjs';
import { checkMetrics } from './promtool.mjs';

const ROOM = 'ctl';
const BUILD = process.env.BUILD || 'build';
const SECRET = 'control-e2e-secret';
const clients = [];
after(() => {
  for (const c of clients) c.close();
  setTimeout(() => process.exit(), 1000).unref(); // libwebrtc's threads keep Node alive
});

function token(room, role = 'participant') {
  const r = spawnSync(`${BUILD}/mcu`, ['token', room, '--role', role],
    { env: { ...process.env, MCU_SECRET: SECRET }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}
const ADMIN = token(ROOM, 'admin');

async function api(method, path, body, auth = ADMIN) {
  const r = await fetch(`${URL_BASE}${path}`, {
    method, headers: { Authorization: `Bearer ${auth}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

const COLOURS = { A: [106, 202, 222], B: [170, 166, 16], C: [145, 54, 34] };
const TONES = { A: 600, B: 900, C: 1500 };

const shows = showsColour;

// a tone's loudest 100 ms window (wrtc-client.mjs): heard if loud in one, gone if quiet in all
const peak = tonePeak;
const HEARD = 50, GONE = 35; // dB: a mixed tone is ~70, an absent one under ~25
const heard = (c, hz) => peak(c, hz, 800) > HEARD;
const heardNow = (c, hz) => peak(c, hz, 300) > HEARD; // in the last window: (back) on now
const gone = (c, hz) => peak(c, hz, 300) < GONE;

// Waits until cond(), returns how long it took (ms).
async function within(cond, ms, what) {
  const t0 = Date.now();
  await waitFor(cond, { timeout: ms, interval: 25, what });
  const took = Date.now() - t0;
  console.log(`${what}: ${took} ms`);
  return took;
}

const idOf = (c) => c.messages.find((m) => m.type === 'joined').id;

test('moderation through REST and the WebSocket', { timeout: 120000 }, async () => {
  const a = participant('A', COLOURS.A, TONES.A, ROOM, { token: token(ROOM) });
  const b = participant('B', COLOURS.B, TONES.B, ROOM, { token: token(ROOM) });
  const c = participant('C', COLOURS.C, TONES.C, ROOM, { token: ADMIN });
  clients.push(a, b, c);
  for (const p of clients)
    await waitFor(() => p.tracks.length >= 2, { timeout: 20000, what: `${p.name} tracks` });
  await waitFor(() => shows(c, COLOURS.A) && shows(c, COLOURS.B),
    { timeout: 20000, what: 'C sees A and B' });
  await waitFor(() => heard(c, TONES.A) && heard(c, TONES.B),
    { timeout: 20000, what: 'C hears A and B' });
  const [ida, idb, idc] = [a, b, c].map(idOf);

  // the room as the API shows it (bit rates once a second has been measured)
  let r;
  await waitFor(async () => {
    r = await api('GET', `/api/rooms/${ROOM}`);
    return r.json.participants.every((p) => p.video.bitrate_in > 0 && p.video.bitrate_out > 0);
  }, { timeout: 5000, what: 'bit rates in the API' });
  assert.equal(r.status, 200);
  assert.equal(r.json.participants.length, 3);
  assert.ok(r.json.encoders.video >= 1 && r.json.encoders.audio >= 1, JSON.stringify(r.json.encoders));
  const pa = r.json.participants.find((p) => p.id === ida);
  assert.equal(pa.state, 'connected');
  assert.equal(pa.audio.receiving, true);
  assert.equal(pa.audio.muted, false);
  assert.equal(pa.video.visible, true);
  assert.ok(pa.audio.bitrate_in > 0 && pa.video.bitrate_in > 0, JSON.stringify(pa));
  assert.ok(pa.video.bitrate_out > 0, JSON.stringify(pa));
  r = await api('GET', `/api/rooms/${ROOM}/participants/${idc}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.admin, true);
  assert.ok(r.json.counters.rtp_in > 0);
  assert.equal((await api('GET', `/api/rooms/${ROOM}/participants/999999`)).status, 404);
  assert.equal((await api('GET', `/api/rooms/nope/participants`)).status, 401); // ctl's token
  assert.equal((await api('GET', `/api/rooms/nope/participants`, undefined, token('*', 'admin'))).status, 404);
  assert.equal((await api('POST', `/api/rooms/${ROOM}/participants/${ida}/mute`, { audio: 'yes' })).status, 400);
  const noToken = await fetch(`${URL_BASE}/api/rooms/${ROOM}`);
  assert.equal(noToken.status, 401);

  // a moderator mutes A's microphone: its tone leaves B's and C's mix within 1 s
  r = await api('POST', `/api/rooms/${ROOM}/participants/${ida}/mute`, { audio: true });
  assert.equal(r.status, 200);
  assert.equal(r.json.audio.muted, true);
  assert.deepEqual(r.json.audio.muted_by, ['moderator']);
  // quiet over the last 300 ms within 1.3 s: gone within 1 s of the reply
  const t = await within(() => gone(c, TONES.A) && gone(b, TONES.A), 1300,
    "A's tone leaves the mix");
  console.log(`A's tone left the mix at most ${Math.max(0, t - 300)} ms after the mute's reply`);
  await sleep(1000);
  assert.ok(peak(c, TONES.A, 1000) < GONE, `A's tone stays out (${peak(c, TONES.A, 1000)} dB)`);
  assert.ok(heard(c, TONES.B), 'B still heard');
  for (const p of clients)
    await waitFor(() => p.messages.some((m) => m.type === 'muted' && m.id === ida && m.audio === true &&
      m.by === 'moderator'), { what: `${p.name} told of A's mute` });
  await api('POST', `/api/rooms/${ROOM}/participants/${ida}/mute`, { audio: false });
  await within(() => heardNow(c, TONES.A), 3000, "A's tone back");

  // B's camera muted: its colour leaves the picture, and comes back
  await api('POST', `/api/rooms/${ROOM}/participants/${idb}/mute`, { video: true });
  await within(() => !shows(c, COLOURS.B), 2000, "B's colour leaves C's picture");
  r = await api('GET', `/api/rooms/${ROOM}/participants`);
  const pb = r.json.find((p) => p.id === idb);
  assert.equal(pb.video.muted, true);
  assert.equal(pb.video.visible, false);
  assert.equal(pb.audio.muted, false);
  await api('POST', `/api/rooms/${ROOM}/participants/${idb}/mute`, { video: false });
  await within(() => shows(c, COLOURS.B), 5000, "B's colour back");

  // rename
  r = await api('POST', `/api/rooms/${ROOM}/participants/${ida}`, { name: 'Alice' });
  assert.equal(r.status, 200);
  assert.equal(r.json.name, 'Alice');
  await waitFor(() => b.messages.some((m) => m.type === 'renamed' && m.id === ida && m.name === 'Alice'));
  assert.equal((await api('POST', `/api/rooms/${ROOM}/participants/${ida}`, { name: '' })).status, 400);

  // all but C muted
  r = await api('POST', `/api/rooms/${ROOM}/mute`, { audio: true, except: idc });
  assert.equal(r.status, 200);
  assert.equal(r.json.changed, 2);
  await within(() => gone(c, TONES.A) && gone(c, TONES.B), 1300, 'all but C muted');
  assert.ok(heard(a, TONES.C), 'C is still heard');
  await api('POST', `/api/rooms/${ROOM}/mute`, { audio: false });
  await within(() => heardNow(c, TONES.A) && heardNow(c, TONES.B), 3000, 'all unmuted');

  // over the WebSocket: B mutes itself; A (no admin role) may not mute C; C (admin) mutes A
  b.send({ type: 'mute', audio: true });
  await within(() => gone(c, TONES.B), 1300, "B's self-mute");
  await waitFor(() => c.messages.some((m) => m.type === 'muted' && m.id === idb && m.by === 'self'));
  a.send({ type: 'mute', id: idc, audio: true });
  await waitFor(() => a.errors.some((e) => e.code === 'not-allowed'), { what: 'not-allowed' });
  assert.ok(heard(a, TONES.C), 'C was not muted');
  c.send({ type: 'mute', id: ida, audio: true });
  await within(() => gone(c, TONES.A), 1300, 'C mutes A');
  b.send({ type: 'mute', audio: false });
  c.send({ type: 'mute', id: ida, audio: false });
  await within(() => heardNow(c, TONES.A) && heardNow(c, TONES.B), 3000, 'both back');

  // what /metrics shows now (promtool judges it)
  const scrape = await fetch(`${URL_BASE}/metrics`, { headers: { Authorization: `Bearer ${token('*', 'admin')}` } });
  assert.equal(scrape.status, 200);
  const text = await scrape.text();
  const lint = checkMetrics(text);
  assert.ok(lint.ok, lint.out);
  assert.match(text, /^mcu_peers\{state="connected"\} 3$/m);
  assert.match(text, /^mcu_errors_by_code_total\{code="not-allowed"\} [1-9]/m);
  assert.match(text, /^mcu_video_encoders\{codec="vp8",width="1280",height="720",fps="30"\} 1$/m);
  const inVideo = Number(text.match(/^mcu_media_in_bytes_per_second\{medium="video"\} (\S+)$/m)?.[1]);
  assert.ok(inVideo > 10000, `video in ${inVideo} B/s`);
  assert.match(text, /^mcu_loop_lag_seconds\{loop="0"\} /m);

  // A removed: told why, its socket closed; the others see it leave the picture and the mix
  const closed = new Promise((res) => a.ws.on('close', (code) => res(code)));
  r = await api('DELETE', `/api/rooms/${ROOM}/participants/${ida}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.removed, ida);
  assert.equal(await closed, 1000);
  const removed = a.messages.find((m) => m.type === 'removed');
  assert.ok(removed && removed.reason, JSON.stringify(a.messages.slice(-3)));
  for (const p of [b, c])
    await waitFor(() => p.messages.some((m) => m.type === 'participant-left' && m.id === ida));
  await within(() => !shows(c, COLOURS.A) && gone(c, TONES.A), 2000, 'A leaves the mix');
  r = await api('GET', `/api/rooms/${ROOM}/participants`);
  assert.deepEqual(r.json.map((p) => p.id).sort(), [idb, idc].sort());
  // over the WebSocket: C removes B
  c.send({ type: 'kick', id: idb, reason: 'test over' });
  await waitFor(() => b.messages.some((m) => m.type === 'removed' && m.reason === 'test over'));
  await waitFor(() => c.messages.some((m) => m.type === 'participant-left' && m.id === idb));
});

test('rooms made with settings (PUT) and ended (DELETE) through REST', { timeout: 90000 }, async () => {
  const room = 'ctl-put';
  const admin = token('*', 'admin');
  const put = (name, body) => api('PUT', `/api/rooms/${name}`, body, admin);
  let r = await put(room, { layout: 'speaker', width: 640, height: 360, max_participants: 2,
    record: true, idle_timeout_s: 1 });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal(r.json.settings.layout, 'speaker');
  assert.equal(r.json.settings.width, 640);
  assert.equal(r.json.settings.held, true);
  assert.equal((await put(room, {})).status, 409);
  r = await put('ctl-bad', { layout: 'spekaer' });
  assert.equal(r.status, 400);
  assert.match(r.json.message, /layout/);
  assert.equal((await put('ctl-bad', { widht: 640 })).status, 400);
  assert.equal((await api('GET', '/api/rooms/ctl-bad', undefined, admin)).status, 404);

  // two fit, a third is refused; they get the room's 640x360, and it records itself
  const a = participant('PA', COLOURS.A, TONES.A, room, { token: token(room) });
  const b = participant('PB', COLOURS.B, TONES.B, room, { token: token(room) });
  clients.push(a, b);
  for (const p of [a, b])
    await waitFor(() => p.lastFrame && p.lastFrame.width === 640 && p.lastFrame.height === 360,
      { timeout: 20000, what: `${p.name} gets 640x360` });
  const c = participant('PC', COLOURS.C, TONES.C, room, { token: token(room) });
  clients.push(c);
  await waitFor(() => c.errors.some((e) => e.code === 'room-full'), { what: 'room-full' });
  r = await api('GET', `/api/rooms/${room}`, undefined, admin);
  assert.equal(r.json.participants.length, 2);
  assert.equal(r.json.recording?.state, 'recording', JSON.stringify(r.json.recording));
  const file = r.json.recording.file;

  // ended: both removed and disconnected, the recording finished
  const closed = [a, b].map((p) => new Promise((res) => p.ws.on('close', res)));
  r = await api('DELETE', `/api/rooms/${room}`, undefined, admin);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { ended: room, removed: 2 });
  await Promise.all(closed);
  for (const p of [a, b])
    assert.ok(p.messages.some((m) => m.type === 'removed' && /ended/.test(m.reason)));
  await waitFor(async () => {
    const rec = await api('GET', `/api/rooms/${room}/recording`, undefined, admin);
    return rec.json.file === file && rec.json.state === 'finished' && rec.json.duration_s > 0.5;
  }, { timeout: 10000, what: 'the recording finished' });
  assert.equal((await api('GET', `/api/rooms/${room}`, undefined, admin)).status, 404);
  const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width',
    '-of', 'csv=p=0', `/tmp/mcu-control-e2e/${file}`], { encoding: 'utf8' });
  assert.equal(probe.status, 0, probe.stderr);
  assert.match(probe.stdout, /vp8,640/);
  assert.match(probe.stdout, /opus/);

  // an empty room made by PUT goes after its idle timeout
  assert.equal((await put('ctl-idle', { idle_timeout_s: 1 })).status, 201);
  assert.equal((await api('GET', '/api/rooms/ctl-idle', undefined, admin)).status, 200);
  await waitFor(async () => (await api('GET', '/api/rooms/ctl-idle', undefined, admin)).status === 404,
    { timeout: 5000, what: 'the idle room freed' });
});

test('layouts: the room pins a participant large, a participant picks its own view', { timeout: 90000 }, async () => {
  const room = 'ctl-lay';
  const admin = token(room, 'admin');
  const a = participant('LA', COLOURS.A, TONES.A, room, { token: token(room) });
  const b = participant('LB', COLOURS.B, TONES.B, room, { token: token(room) });
  const c = participant('LC', COLOURS.C, TONES.C, room, { token: admin });
  clients.push(a, b, c);
  for (const p of [a, b, c])
    await waitFor(() => p.tracks.length >= 2, { timeout: 20000, what: `${p.name} tracks` });
  const [ida, idb] = [a, b].map(idOf);
  // What fills the large tile of the speaker layout (its centre), or the grid's first tile.
  const near = colourAt;
  await waitFor(() => near(c, 0.25, 0.25, COLOURS.A), { timeout: 20000, what: 'grid, A first' });

  // the room pins B: B large for everyone, one shared view
  let r = await api('POST', `/api/rooms/${room}/layout`, { pin: idb }, admin);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.settings.pin, idb);
  for (const p of [a, b, c])
    await waitFor(() => p.messages.some((m) => m.type === 'layout' && m.pin === idb), { what: `${p.name} told` });
  await within(() => near(c, 0.5, 0.35, COLOURS.B) && near(a, 0.5, 0.35, COLOURS.B), 5000, 'B large');
  r = await api('GET', `/api/rooms/${room}`, undefined, admin);
  assert.equal(r.json.encoders.video, 1, JSON.stringify(r.json.encoders));

  // C picks its own view: A pinned for C only (a second encoder), then back to the room's
  c.send({ type: 'view', pin: ida });
  await within(() => near(c, 0.5, 0.35, COLOURS.A), 5000, 'A large for C');
  assert.ok(near(a, 0.5, 0.35, COLOURS.B), 'the others keep the room view');
  r = await api('GET', `/api/rooms/${room}`, undefined, admin);
  assert.equal(r.json.encoders.video, 2, JSON.stringify(r.json.encoders));
  assert.equal(r.json.participants.find((p) => p.id === idOf(c)).view.pin, ida);
  c.send({ type: 'view' });
  await within(() => near(c, 0.5, 0.35, COLOURS.B), 5000, 'C back on the room view');

  // a participant without the admin role may not change the room's layout; C (admin) may
  a.send({ type: 'layout', layout: 'grid' });
  await waitFor(() => a.errors.some((e) => e.code === 'not-allowed'), { what: 'not-allowed' });
  c.send({ type: 'layout', layout: 'grid', pin: null });
  await within(() => near(a, 0.25, 0.25, COLOURS.A) && near(a, 0.75, 0.25, COLOURS.B), 5000, 'grid again');
  r = await api('GET', `/api/rooms/${room}`, undefined, admin);
  assert.equal(r.json.settings.layout, 'grid');
  assert.equal(r.json.settings.pin, null);
  // a moderator sets B's view through REST: speaker layout, C large
  r = await api('POST', `/api/rooms/${room}/participants/${idb}/view`, { layout: 'speaker', pin: idOf(c) }, admin);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  await within(() => near(b, 0.5, 0.35, COLOURS.C), 5000, 'C large for B');
  assert.equal((await api('POST', `/api/rooms/${room}/layout`, { layout: 'tiles' }, admin)).status, 400);
  assert.equal((await api('POST', `/api/rooms/${room}/layout`, { pin: '999999' }, admin)).status, 404);
  for (const p of [a, b, c]) p.close();
});
