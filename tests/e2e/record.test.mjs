// record.test.mjs - recording live calls through the HTTP API, on a server of its own
// (port 18081, a temporary --recordings-dir). Two @roamhq/wrtc participants, each with its own
// colour and tone, are recorded; the file must hold VP8 + Opus for the time it was recorded,
// show both colours in their tiles and both tones, be listed and downloadable. Then: bad
// requests, a recording with its own encoder (640x360 MKV) while a second room records at the
// room's size, and SIGTERM finishing a recording that is still running (duration written).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, api, probe, fullDecode, frameAt, audioAt, sleep, close, tmp, joinAndSee, MAGENTA, CYAN, YELLOW,
} from './record-lib.mjs';

const { participant, yuvAt, tonePower } = await import('./wrtc-client.mjs');

const recDir = path.join(tmp, 'recordings');
const clients = [];
let server;

before(async () => { server = await startServer('record', ['--recordings-dir', recDir]); });
after(async () => {
  for (const c of clients) c.close();
  if (server && server.proc.exitCode === null) server.proc.kill('SIGTERM');
  setTimeout(() => process.exit(), 1000).unref();
});

test('a live call recorded through the API', { timeout: 120000 }, async () => {
  const a = participant('Magenta', MAGENTA, 600, 'rec');
  clients.push(a);
  await sleep(300);
  const b = participant('Cyan', CYAN, 900, 'rec');
  clients.push(b);
  await joinAndSee(a, [[0.25, 0.5, MAGENTA], [0.75, 0.5, CYAN]]);

  const t0 = Date.now();
  const start = await api('POST', '/api/rooms/rec/recording');
  assert.equal(start.status, 201, JSON.stringify(start.data));
  assert.equal(start.data.state, 'recording');
  assert.match(start.data.file, /^rec-\d{8}T\d{6}Z\.webm$/);
  assert.equal(start.data.path, path.join(recDir, start.data.file));
  const rooms = (await api('GET', '/api/rooms')).data;
  assert.equal(rooms.find((r) => r.name === 'rec').recording.file, start.data.file);
  const again = await api('POST', '/api/rooms/rec/recording');
  assert.equal(again.status, 409);
  assert.equal(again.data.error, 'already-recording');

  await sleep(7000);
  const mid = await api('GET', '/api/rooms/rec/recording');
  assert.equal(mid.status, 200);
  assert.equal(mid.data.state, 'recording');
  assert.ok(mid.data.bytes > 20000 && mid.data.duration_s > 4, JSON.stringify(mid.data));
  // not listed while it is being written
  assert.ok(!(await api('GET', '/api/recordings')).data.some((f) => f.file === start.data.file));

  const stop = await api('DELETE', '/api/rooms/rec/recording');
  const t1 = Date.now();
  assert.equal(stop.status, 200, JSON.stringify(stop.data));
  assert.equal(stop.data.state, 'finished');
  assert.equal(stop.data.bytes, fs.statSync(start.data.path).size);
  const wall = (t1 - t0) / 1000;
  console.log(`recorded ${wall.toFixed(2)} s wall, status says ${stop.data.duration_s.toFixed(2)} s, ` +
    `${stop.data.bytes} bytes, ${stop.data.dropped} dropped`);

  const file = start.data.path;
  const info = probe(file);
  const kinds = info.streams.map((s) => s.codec_name).sort();
  assert.deepEqual(kinds, ['opus', 'vp8']);
  const v = info.streams.find((s) => s.codec_name === 'vp8');
  assert.equal(v.width, 1280);
  assert.equal(v.height, 720);
  const dur = Number(info.format.duration);
  console.log(`ffprobe: ${info.format.format_name}, duration ${dur} s`);
  assert.ok(Math.abs(dur - wall) < 1.5, `duration ${dur} vs ${wall} s recorded`);
  fullDecode(file);
  const f = frameAt(file, dur / 2, 1280, 720);
  assert.ok(close(yuvAt(f, 0.25, 0.5), MAGENTA), `left tile ${yuvAt(f, 0.25, 0.5)}`);
  assert.ok(close(yuvAt(f, 0.75, 0.5), CYAN), `right tile ${yuvAt(f, 0.75, 0.5)}`);
  const pcm = audioAt(file, dur / 2, 1);
  const p600 = tonePower(pcm, 600, 48000), p900 = tonePower(pcm, 900, 48000), p750 = tonePower(pcm, 750, 48000);
  console.log(`tones in the file: 600 Hz ${p600.toFixed(1)} dB, 900 Hz ${p900.toFixed(1)} dB, 750 Hz ${p750.toFixed(1)} dB`);
  assert.ok(p600 > p750 + 20 && p900 > p750 + 20);

  const list = (await api('GET', '/api/recordings')).data;
  const entry = list.find((e) => e.file === start.data.file);
  assert.ok(entry, JSON.stringify(list));
  assert.equal(entry.bytes, stop.data.bytes);
  const dl = await api('GET', entry.url);
  assert.equal(dl.status, 200);
  assert.ok(dl.data.equals(fs.readFileSync(file)), 'download is the file');
  const after2 = await api('GET', '/api/rooms/rec/recording');
  assert.equal(after2.data.state, 'finished');
  // the call went on
  const n0 = a.frames;
  await sleep(1000);
  assert.ok(a.frames > n0 + 10);
});

test('bad recording requests', { timeout: 30000 }, async () => {
  assert.equal((await api('POST', '/api/rooms/nobody/recording')).status, 404);
  assert.equal((await api('DELETE', '/api/rooms/nobody/recording')).status, 404);
  assert.equal((await api('GET', '/api/rooms/nobody/recording')).status, 404);
  assert.equal((await api('DELETE', '/api/rooms/rec/recording')).status, 404);
  assert.equal((await api('POST', '/api/rooms/rec/recording', { format: 'avi' })).status, 400);
  assert.equal((await api('POST', '/api/rooms/rec/recording', { width: 641, height: 360 })).status, 400);
  assert.equal((await api('POST', '/api/rooms/rec/recording', { width: 640 })).status, 400);
  assert.equal((await api('POST', '/api/rooms/rec/recording', 'not json')).status, 400);
  assert.equal((await api('POST', '/api/rooms/a%2F..%2Fb/recording')).status, 404);
  assert.equal((await api('GET', '/api/recordings/..%2F..%2Fetc%2Fpasswd')).status, 404);
  assert.equal((await api('GET', '/api/recordings/.hidden.webm')).status, 404);
  assert.equal((await api('GET', '/api/recordings/nothing.webm')).status, 404);
  // nothing was written outside the directory
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f !== 'recordings' && !f.endsWith('.log')), []);
});

test('two rooms at once, one with its own encoder; SIGTERM finishes a running recording',
  { timeout: 120000 }, async () => {
    const c = participant('Yellow', YELLOW, 1200, 'rec2');
    clients.push(c);
    await joinAndSee(c, [[0.5, 0.5, YELLOW]]);
    const [r1, r2] = await Promise.all([
      api('POST', '/api/rooms/rec/recording', { format: 'mkv', width: 640, height: 360, bitrate: 500000 }),
      api('POST', '/api/rooms/rec2/recording'),
    ]);
    assert.equal(r1.status, 201, JSON.stringify(r1.data));
    assert.equal(r2.status, 201, JSON.stringify(r2.data));
    assert.match(r1.data.file, /^rec-.*\.mkv$/);
    const rooms = (await api('GET', '/api/rooms')).data;
    assert.ok(rooms.every((r) => r.recording && r.recording.state === 'recording'), JSON.stringify(rooms));
    await sleep(6000);
    const s1 = await api('DELETE', '/api/rooms/rec/recording');
    assert.equal(s1.data.state, 'finished');
    const p1 = probe(r1.data.path);
    assert.match(p1.format.format_name, /matroska/);
    const v1 = p1.streams.find((s) => s.codec_name === 'vp8');
    assert.deepEqual([v1.width, v1.height], [640, 360]);
    const f = frameAt(r1.data.path, 3, 640, 360);
    assert.ok(close(yuvAt(f, 0.25, 0.5), MAGENTA) && close(yuvAt(f, 0.75, 0.5), CYAN));
    fullDecode(r1.data.path);

    // rec2 is still recording: SIGTERM must finish its file (duration and cues written)
    const t = Date.now();
    server.proc.kill('SIGTERM');
    const ex = await server.exited;
    console.log(`server exit after SIGTERM: ${JSON.stringify(ex)} in ${Date.now() - t} ms`);
    assert.equal(ex.code, 0);
    const p2 = probe(r2.data.path);
    const d2 = Number(p2.format.duration);
    assert.ok(d2 > 5, `rec2 duration ${p2.format.duration}`);
    const head = fs.readFileSync(r2.data.path);
    assert.ok(head.includes(Buffer.from([0x1c, 0x53, 0xbb, 0x6b])), 'Cues element written');
    const v2 = p2.streams.find((s) => s.codec_name === 'vp8');
    assert.deepEqual([v2.width, v2.height], [1280, 720]);
    const f2 = frameAt(r2.data.path, 2, 1280, 720);
    assert.ok(close(yuvAt(f2, 0.5, 0.5), YELLOW), `rec2 tile ${yuvAt(f2, 0.5, 0.5)}`);
    fullDecode(r2.data.path);
  });
