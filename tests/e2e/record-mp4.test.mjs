// record-mp4.test.mjs - MP4 (H.264 + AAC) recordings of live calls, on a server of its own
// (port 18081, a temporary --recordings-dir). Two @roamhq/wrtc participants, each with its own
// colour and tone, are recorded through the API with {"format":"mp4"}: the file must hold
// h264 + aac for the time it was recorded, decode in full without one error message, show both
// colours in their tiles and both tones, be listed and downloadable as video/mp4; the call goes
// on meanwhile. Bad formats get a 400. Then `mcu --record ROOM=PATH.mp4` on a second server,
// finished by SIGTERM (a clean stop writes the MP4's index). Last, a server whose FFmpeg "has
// no libx264" (an LD_PRELOAD shim hides it) refuses mp4 with a clear message.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, api, probe, decodeErrors, frameAt, audioAt, sleep, close, tmp, BASE,
  joinAndSee, MAGENTA, CYAN, YELLOW,
} from './record-lib.mjs';

const { participant, yuvAt, tonePower } = await import('./wrtc-client.mjs');

const recDir = path.join(tmp, 'recordings');
const clients = [];
let server;

before(async () => { server = await startServer('record-mp4', ['--recordings-dir', recDir]); });
after(async () => {
  for (const c of clients) c.close();
  if (server && server.proc.exitCode === null) server.proc.kill('SIGTERM');
  setTimeout(() => process.exit(), 1000).unref();
});

// Streams, duration (within 1.5 s of [inner, outer], the recorded time seen from the client: from
// the POST's answer to the DELETE's request, and from the POST's request to the DELETE's
// answer; both are the wall time on a quiet machine), a clean full decode, the colours at
// mid-file and the tones in the file. Returns the duration.
function checkFile(file, [inner, outer], width, height, tiles, tones) {
  const info = probe(file);
  assert.match(info.format.format_name, /mp4/);
  assert.deepEqual(info.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  const v = info.streams.find((s) => s.codec_name === 'h264');
  assert.deepEqual([v.width, v.height], [width, height]);
  const dur = Number(info.format.duration);
  console.log(`ffprobe: ${info.format.format_name}, duration ${dur} s, recorded ${inner.toFixed(2)}..${outer.toFixed(2)} s`);
  assert.ok(dur > inner - 1.5 && dur < outer + 1.5, `duration ${dur} vs ${inner}..${outer} s recorded`);
  assert.equal(decodeErrors(file), '', 'a full decode prints no error');
  const f = frameAt(file, dur / 2, width, height);
  for (const [x, y, col] of tiles) assert.ok(close(yuvAt(f, x, y), col), `(${x}, ${y}): ${yuvAt(f, x, y)}`);
  // over the whole file: a loaded test machine starves the clients' audio for a second or two
  const pcm = audioAt(file, 0.5, dur - 1);
  const off = tonePower(pcm, 750, 48000);
  for (const hz of tones) {
    const p = tonePower(pcm, hz, 48000);
    console.log(`tone ${hz} Hz: ${p.toFixed(1)} dB (750 Hz: ${off.toFixed(1)} dB)`);
    assert.ok(p > off + 20, `tone ${hz} Hz in the file`);
  }
  return dur;
}

test('a live call recorded to MP4 through the API', { timeout: 120000 }, async () => {
  const a = participant('Magenta', MAGENTA, 600, 'mp4');
  clients.push(a);
  await sleep(300);
  const b = participant('Cyan', CYAN, 900, 'mp4');
  clients.push(b);
  await joinAndSee(a, [[0.25, 0.5, MAGENTA], [0.75, 0.5, CYAN]]);

  const t0 = Date.now();
  const start = await api('POST', '/api/rooms/mp4/recording', { format: 'mp4' });
  const t0b = Date.now();
  assert.equal(start.status, 201, JSON.stringify(start.data));
  assert.equal(start.data.state, 'recording');
  assert.equal(start.data.format, 'mp4');
  assert.match(start.data.file, /^mp4-\d{8}T\d{6}Z\.mp4$/);
  assert.equal(start.data.path, path.join(recDir, start.data.file));

  const n0 = a.frames;
  await sleep(7000);
  const mid = await api('GET', '/api/rooms/mp4/recording');
  assert.equal(mid.data.state, 'recording');
  assert.ok(mid.data.bytes > 20000 && mid.data.duration_s > 4, JSON.stringify(mid.data));
  assert.ok(a.frames > n0 + 100, `the call goes on while recording (${a.frames - n0} frames)`);
  // neither the file being written nor its temporary name is listed
  const during = (await api('GET', '/api/recordings')).data;
  assert.ok(!during.some((f) => f.file.includes('mp4-')), JSON.stringify(during));

  const t1 = Date.now();
  const stop = await api('DELETE', '/api/rooms/mp4/recording');
  const t1b = Date.now();
  console.log(`POST took ${t0b - t0} ms, DELETE ${t1b - t1} ms`);
  assert.equal(stop.status, 200, JSON.stringify(stop.data));
  assert.equal(stop.data.state, 'finished');
  const file = start.data.path;
  assert.equal(stop.data.bytes, fs.statSync(file).size);
  console.log(`status: ${stop.data.duration_s.toFixed(2)} s, ${stop.data.bytes} bytes, ${stop.data.dropped} dropped`);
  assert.deepEqual(fs.readdirSync(recDir), [start.data.file], 'the temporary file was renamed');
  const dur = checkFile(file, [(t1 - t0b) / 1000, (t1b - t0) / 1000], 1280, 720,
    [[0.25, 0.5, MAGENTA], [0.75, 0.5, CYAN]], [600, 900]);
  assert.ok(Math.abs(dur - stop.data.duration_s) < 0.2, `file ${dur} s, status ${stop.data.duration_s} s`);

  const entry = (await api('GET', '/api/recordings')).data.find((e) => e.file === start.data.file);
  assert.ok(entry);
  assert.equal(entry.bytes, stop.data.bytes);
  const res = await fetch(BASE + entry.url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'video/mp4');
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(file)), 'download is the file');
});

test('bad formats get a 400', { timeout: 30000 }, async () => {
  for (const format of ['avi', 'MP4', 'mov', 4, '']) {
    const r = await api('POST', '/api/rooms/mp4/recording', { format });
    assert.equal(r.status, 400, `${JSON.stringify(format)}: ${r.status}`);
    assert.equal(r.data.error, 'bad-field');
    assert.match(r.data.message, /"mp4"/);
  }
  assert.equal((await api('GET', '/api/rooms/mp4/recording')).data.state, 'finished');
  assert.equal((await api('GET', '/api/recordings/nothing.mp4')).status, 404);
  assert.equal((await api('GET', '/api/recordings/.mp4-x.mp4.part')).status, 404);
});

test('mcu --record ROOM=PATH.mp4, finished by SIGTERM', { timeout: 90000 }, async () => {
  for (const c of clients.splice(0)) c.close();
  server.proc.kill('SIGTERM');
  assert.equal((await server.exited).code, 0);
  const out = path.join(tmp, 'op', 'standup.mp4');
  fs.mkdirSync(path.dirname(out));
  server = await startServer('record-mp4-cli', ['--recordings-dir', recDir, '--record', `standup=${out}`]);
  const c = participant('Yellow', YELLOW, 1200, 'standup');
  clients.push(c);
  await joinAndSee(c, [[0.5, 0.5, YELLOW]]);
  const t0 = Date.now();
  await sleep(6000);
  const st = (await api('GET', '/api/rooms/standup/recording')).data;
  assert.equal(st.format, 'mp4');
  assert.equal(st.path, out);
  server.proc.kill('SIGTERM');
  assert.equal((await server.exited).code, 0);
  // the recording started when the room was created, a little before the tiles were seen
  const seen = (Date.now() - t0) / 1000;
  assert.deepEqual(fs.readdirSync(path.dirname(out)), ['standup.mp4']);
  checkFile(out, [seen, seen + 15], 1280, 720, [[0.5, 0.5, YELLOW]], [1200]);
});

// avcodec_find_encoder_by_name("libx264") answers NULL, as in an FFmpeg built without it.
const SHIM = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
typedef const void *(*find_fn)(const char *);
const void *avcodec_find_encoder_by_name(const char *name)
{
	find_fn real = (find_fn)dlsym(RTLD_NEXT, "avcodec_find_encoder_by_name");
	return strcmp(name, "libx264") ? real(name) : NULL;
}
`;

test('without libx264, mp4 is refused with a clear error', { timeout: 60000 }, async () => {
  for (const c of clients.splice(0)) c.close();
  if (server.proc.exitCode === null) {
    server.proc.kill('SIGTERM');
    await server.exited;
  }
  fs.writeFileSync(path.join(tmp, 'no264.c'), SHIM);
  const so = path.join(tmp, 'no264.so');
  execFileSync('cc', ['-shared', '-fPIC', '-o', so, path.join(tmp, 'no264.c'), '-ldl']);
  const out = path.join(tmp, 'op', 'no264.mp4');
  server = await startServer('record-mp4-no264', ['--recordings-dir', recDir, '--record', `no264=${out}`],
    // An ASan server wants its runtime first in the library list; the shim comes before it.
    { LD_PRELOAD: so, ASAN_OPTIONS: [process.env.ASAN_OPTIONS, 'verify_asan_link_order=0'].filter(Boolean).join(':') });
  const r = await api('POST', '/api/rooms/anything/recording', { format: 'mp4' });
  assert.equal(r.status, 501, JSON.stringify(r.data));
  assert.equal(r.data.error, 'unsupported-format');
  assert.match(r.data.message, /this FFmpeg has no libx264 encoder/);
  // webm still works, and --record ROOM=PATH.mp4 logs why it cannot record
  const c = participant('Yellow', YELLOW, 1200, 'no264');
  clients.push(c);
  await joinAndSee(c, [[0.5, 0.5, YELLOW]]);
  const w = await api('POST', '/api/rooms/no264/recording', { format: 'webm' });
  assert.equal(w.status, 201, JSON.stringify(w.data));
  assert.equal((await api('DELETE', '/api/rooms/no264/recording')).data.state, 'finished');
  assert.ok(!fs.existsSync(out));
  assert.match(fs.readFileSync(server.log, 'utf8'), /room no264: cannot record: this FFmpeg has no libx264 encoder/);
});
