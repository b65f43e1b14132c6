// record-more.test.mjs - recording started and stopped by a participant's "record" message
// (allowed by the config's participant_recording; the participants are told "finished" when the
// file is), refused where the config does not allow it,
// and a recording that runs out of disk: a server of its own records into a 400 KiB tmpfs
// (mounted in a private mount namespace with unshare -m), the recording must turn "failed"
// with the reason (No space left on device) in the API status and in the participants'
// "recording" message, while the call itself goes on.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, api, probe, fullDecode, sleep, tmp, PORT, BASE } from './record-lib.mjs';

const { participant } = await import('./wrtc-client.mjs');
const { waitFor } = await import('./lib.mjs');

const BUILD = process.env.BUILD || 'build';
const RED = [81, 90, 240];
const clients = [];
let server;

after(async () => {
  for (const c of clients) c.close();
  if (server && server.proc.exitCode === null) server.proc.kill('SIGTERM');
  setTimeout(() => process.exit(), 1000).unref();
});

async function stopServer() {
  for (const c of clients.splice(0)) c.close();
  if (server.proc.exitCode !== null) return;
  server.proc.kill('SIGTERM');
  const ex = await server.exited;
  assert.equal(ex.code, 0, 'server exits cleanly');
}

// Runs body against a server of its own, stopped even when body fails.
async function withServer(start, body) {
  server = await start();
  try { await body(); } finally { await stopServer(); }
}

function recordingMsgs(c) {
  return c.messages.filter((m) => m.type === 'recording');
}

test('a participant starts and stops a recording when the config allows it', { timeout: 90000 }, async () => {
  const recDir = path.join(tmp, 'by-participant');
  const cfg = path.join(tmp, 'participant.json');
  fs.writeFileSync(cfg, JSON.stringify({ participant_recording: true }));
  await withServer(() => startServer('participant', ['--config', cfg, '--recordings-dir', recDir]), async () => {
  const a = participant('Red', RED, 500, 'prec');
  clients.push(a);
  await waitFor(() => a.frames > 30, { timeout: 20000, what: 'media flowing' });
  a.send({ type: 'record', action: 'start' });
  await waitFor(() => recordingMsgs(a).some((m) => m.state === 'recording'),
    { timeout: 10000, what: 'recording message' });
  const rec = recordingMsgs(a).find((m) => m.state === 'recording');
  assert.match(rec.file, /^prec-\d{8}T\d{6}Z\.webm$/);
  a.send({ type: 'record', action: 'start' });
  await waitFor(() => a.errors.some((e) => e.code === 'already-recording'), { what: 'already-recording' });
  await sleep(4000);
  a.send({ type: 'record', action: 'stop' });
  // "stopping" at once, then "finished" when the writer has finished the file, naming it (the
  // writer may be done first: "finished" still comes after "stopping", never instead).
  await waitFor(() => recordingMsgs(a).some((m) => m.state === 'finished'),
    { timeout: 10000, what: 'the finished message' });
  const states = recordingMsgs(a).map((m) => m.state);
  console.log(`recording messages: ${states.join(', ')}`);
  assert.deepEqual(states.slice(-3), ['recording', 'stopping', 'finished']);
  assert.equal(states.filter((x) => x === 'finished').length, 1, states.join(','));
  assert.equal(recordingMsgs(a).at(-1).file, rec.file);
  const st = await api('GET', '/api/rooms/prec/recording');
  assert.equal(st.data.state, 'finished', 'the API agrees once the message came');
  // Durations are printed with three decimals at most (not 4.0200000000000005).
  const raw = await (await fetch(`${BASE}/api/rooms/prec/recording`)).text();
  assert.match(raw, /"duration_s":\d+(\.\d{1,3})?[,}]/, raw);
  a.send({ type: 'record', action: 'stop' });
  await waitFor(() => a.errors.some((e) => e.code === 'not-recording'), { what: 'not-recording' });
  const file = path.join(recDir, rec.file);
  const info = probe(file);
  assert.deepEqual(info.streams.map((s) => s.codec_name).sort(), ['opus', 'vp8']);
  const dur = Number(info.format.duration);
  assert.ok(dur > 2.5 && dur < 6, `duration ${dur}`);
  fullDecode(file);
  // The message may name the format.
  a.send({ type: 'record', action: 'start', format: 'avi' });
  await waitFor(() => a.errors.some((e) => e.code === 'bad-field'), { what: 'bad-field' });
  a.send({ type: 'record', action: 'start', format: 'mkv' });
  await waitFor(() => recordingMsgs(a).some((m) => m.state === 'recording' && /\.mkv$/.test(m.file)),
    { timeout: 10000, what: 'an mkv recording' });
  await sleep(2000);
  a.send({ type: 'record', action: 'stop' });
  const mkv = recordingMsgs(a).find((m) => /\.mkv$/.test(m.file)).file;
  await waitFor(() => recordingMsgs(a).some((m) => m.state === 'finished' && m.file === mkv),
    { timeout: 10000, what: 'the mkv finished message' });
  await waitFor(async () => (await api('GET', '/api/rooms/prec/recording')).data.file === mkv &&
    (await api('GET', '/api/rooms/prec/recording')).data.state === 'finished',
  { timeout: 10000, what: 'the mkv finished' });
  assert.match(probe(path.join(recDir, mkv)).format.format_name, /matroska/);
  });
});

test('participants may not record by default', { timeout: 60000 }, async () => {
  await withServer(() => startServer('no-participant', ['--recordings-dir', path.join(tmp, 'none')]), async () => {
  const a = participant('Red', RED, 500, 'prec2');
  clients.push(a);
  await waitFor(() => a.messages.some((m) => m.type === 'joined'), { what: 'joined' });
  a.send({ type: 'record', action: 'start' });
  await waitFor(() => a.errors.some((e) => e.code === 'not-allowed'), { what: 'not-allowed' });
  assert.ok(!fs.existsSync(path.join(tmp, 'none')) || fs.readdirSync(path.join(tmp, 'none')).length === 0);
  });
});

// build/mcu in a private mount namespace with DIR a 400 KiB tmpfs.
async function startOnTinyDisk(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const log = path.join(tmp, 'full.server.log');
  const fd = fs.openSync(log, 'w');
  const sh = `mount -t tmpfs -o size=400k tmpfs '${dir}' && exec '${BUILD}/mcu' --bind 127.0.0.1 ` +
    `--port ${PORT} --recordings-dir '${dir}'`;
  const proc = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', sh],
    { stdio: ['ignore', fd, fd] });
  const exited = new Promise((r) => proc.on('exit', (code, sig) => r({ code, sig })));
  for (let i = 0; i < 100; i++) {
    try { await fetch(`http://127.0.0.1:${PORT}/api/config`); return { proc, exited, log }; } catch { }
    await sleep(100);
  }
  throw new Error(`server did not start: ${fs.readFileSync(log, 'utf8')}`);
}

test('a full disk fails the recording with a clear error; the call goes on', { timeout: 90000 }, async () => {
  await withServer(() => startOnTinyDisk(path.join(tmp, 'tiny')), async () => {
  const a = participant('Red', RED, 500, 'full');
  clients.push(a);
  await waitFor(() => a.frames > 30, { timeout: 20000, what: 'media flowing' });
  const start = await api('POST', '/api/rooms/full/recording');
  assert.equal(start.status, 201, JSON.stringify(start.data));
  // 1.5 Mbit/s fills 400 KiB in about 2 s.
  const failed = await waitFor(async () => {
    const r = await api('GET', '/api/rooms/full/recording');
    return r.data.state === 'failed' && r.data;
  }, { timeout: 20000, interval: 250, what: 'the recording to fail' });
  console.log(`failed after ${failed.bytes} bytes: ${failed.error}`);
  assert.match(failed.error, /No space left on device/i);
  await waitFor(() => recordingMsgs(a).some((m) => m.state === 'failed' && /space/i.test(m.error || '')),
    { timeout: 5000, what: 'the participants told' });
  const rooms = (await api('GET', '/api/rooms')).data;
  assert.equal(rooms.find((r) => r.name === 'full').recording?.state ?? 'failed', 'failed');
  // The call goes on.
  const n0 = a.frames;
  await sleep(2000);
  assert.ok(a.frames > n0 + 20, `frames after the failure: ${a.frames - n0}`);
  assert.match(fs.readFileSync(server.log, 'utf8'), /No space left on device/i);
  });
});
