// nobundle.test.mjs - offers without a=group:BUNDLE (RFC 8843 is optional for a client): one
// ICE agent, DTLS and SRTP per m-line. Three participants on two independent stacks share a
// room:
// - Bun: libwebrtc (@roamhq/wrtc) with max-bundle, as every other test (the reference);
// - Sep: libwebrtc with bundlePolicy 'balanced' and the a=group:BUNDLE line removed from its
//   offer before setLocalDescription: it then runs one transport per m-line (getStats shows
//   two "transport" entries);
// - Gst: GStreamer's webrtcbin (tests/e2e/webrtcbin-client.py) with bundle-policy none, bridged
//   to the server's WebSocket here (its stdin/stdout speak the protocol's JSON).
// Each must get an answer without a BUNDLE group whose m-lines have ICE credentials of their
// own, connect, decode the 1280x720 mix and hear the others' tones; the server's API shows each
// participant connected, sending us audio and video and receiving both; Bun's mix shows Sep's
// and Gst's tiles.
// NOBUNDLE_WITH_BUNDLE=1 runs the same test with BUNDLE everywhere (Sep keeps its group, Gst
// max-bundle): a check of the harness (the webrtcbin client, its bridge, the assertions) on a
// server without non-BUNDLE support.
// Needs GStreamer's Python bindings and plugins (make deps): without them the test FAILS.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { URL_BASE, waitFor, sleep, api } from './lib.mjs';
import { participant, showsColour, tonePeak } from './wrtc-client.mjs';

const ROOM = 'nobundle';
const WITH_BUNDLE = process.env.NOBUNDLE_WITH_BUNDLE === '1';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.join(HERE, 'webrtcbin-client.py');
// Debian's python3, which has python3-gi (a python3 earlier on PATH, e.g. pyenv's, may not);
// NOBUNDLE_PYTHON: another interpreter
const PY = process.env.NOBUNDLE_PYTHON || (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

const MAGENTA = [106, 202, 222], CYAN = [170, 166, 16];
// webrtcbin's videotestsrc solid-color 0xffff0000 (red) as I420 after the server's mix
const RED = [81, 90, 240];
const TONE = { Bun: 600, Sep: 900, Gst: 750 };

const clients = [];
after(async () => {
  for (const c of clients) await c.close();
  // libwebrtc's threads keep Node alive after close(): exit once the results are out.
  setTimeout(() => process.exit(), 1000).unref();
});

// Fails (never skips) when GStreamer's Python bindings or a plugin the client needs are missing.
function checkGstreamer() {
  const els = ['webrtcbin', 'nicesrc', 'dtlssrtpenc', 'srtpenc', 'vp8enc', 'vp8dec', 'opusenc',
    'opusdec', 'rtpvp8pay', 'rtpvp8depay', 'rtpopuspay', 'rtpopusdepay', 'videotestsrc',
    'audiotestsrc', 'videoconvert', 'audioconvert', 'audioresample', 'appsink'];
  const code = `
import gi
for ns in ('Gst', 'GstWebRTC', 'GstSdp', 'GstVideo'): gi.require_version(ns, '1.0')
from gi.repository import Gst, GstWebRTC, GstSdp, GstVideo
Gst.init(None)
missing = [e for e in ${JSON.stringify(els)} if not Gst.ElementFactory.find(e)]
if missing: raise SystemExit('missing GStreamer elements: ' + ' '.join(missing))
`;
  const r = spawnSync(PY, ['-c', code], { encoding: 'utf8' });
  assert.equal(r.status, 0,
    `GStreamer's Python bindings or plugins are missing (${PY}: ${(r.stderr || r.error || '').toString().trim().split('\n').pop()}): ` +
    'install python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0 ' +
    'gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice (make deps)');
}

// The webrtcbin client, its stdout/stdin bridged to a WebSocket of its own: join sent here, its
// offer and candidates held until "joined", every server message passed on to it.
function gstParticipant(name, { policy, color, freq, listen }) {
  const c = { name, status: null, offer: null, messages: [], errors: [], sent: [], stderr: [], exit: null };
  const proc = spawn(PY, [SCRIPT, '--bundle-policy', policy, '--color', color,
    '--freq', String(freq), '--listen', listen.join(','), '--status-ms', '500',
    '--local-address', new URL(URL_BASE).hostname],
  { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise((r) => proc.on('exit', (code, sig) => { c.exit = { code, sig }; r(); }));
  proc.stdin.on('error', () => {}); // it may be gone before a late server message
  readline.createInterface({ input: proc.stderr }).on('line', (l) => {
    c.stderr.push(l);
    if (c.stderr.length > 200) c.stderr.shift();
  });
  const ws = new WebSocket(URL_BASE.replace('http', 'ws') + '/ws');
  let joined = false;
  const held = [];
  const send = (m) => ws.readyState === 1 && ws.send(JSON.stringify(m));
  ws.on('open', () => send({ type: 'join', room: ROOM, name }));
  ws.on('message', (data) => {
    const m = JSON.parse(data);
    c.messages.push(m);
    if (m.type === 'error') c.errors.push(m);
    if (m.type === 'joined') {
      joined = true;
      held.splice(0).forEach(send);
    }
    if (proc.stdin.writable) proc.stdin.write(JSON.stringify(m) + '\n');
  });
  readline.createInterface({ input: proc.stdout }).on('line', (l) => {
    let m;
    try { m = JSON.parse(l); } catch { c.errors.push({ type: 'client-output', line: l }); return; }
    if (m.type === 'status') c.status = m;
    else if (m.type === 'client-error') c.errors.push(m);
    else if (m.type === 'offer' || m.type === 'candidate') {
      if (m.type === 'offer') c.offer = m.sdp;
      c.sent.push(m);
      if (joined) send(m); else held.push(m);
    }
  });
  c.close = async () => {
    ws.close();
    proc.stdin.end();
    if (c.exit) return;
    proc.kill('SIGTERM');
    const late = setTimeout(() => proc.kill('SIGKILL'), 8000);
    await exited;
    clearTimeout(late);
  };
  c.exited = exited;
  return c;
}

const stripBundle = (sdp) => sdp.replace(/^a=group:BUNDLE[^\r\n]*\r?\n/m, '');
// The m-sections of an SDP: [{kind, port, mid, ufrag, pwd, fingerprint, candidates}]
function sections(sdp) {
  return sdp.split(/\r?\nm=/).slice(1).map((s) => ({
    kind: s.split(' ')[0],
    port: Number(s.split(' ')[1]),
    mid: (s.match(/^a=mid:(\S+)/m) || [])[1],
    ufrag: (s.match(/^a=ice-ufrag:(\S+)/m) || [])[1],
    pwd: (s.match(/^a=ice-pwd:(\S+)/m) || [])[1],
    fingerprint: (s.match(/^a=fingerprint:\S+ (\S+)/m) || [])[1],
    candidates: (s.match(/^a=candidate:/gm) || []).length,
  }));
}
// What the server must cope with in an offer without BUNDLE: per m-line credentials (shared or
// not), fingerprint, port.
const describe = (ms) => JSON.stringify(ms.map(({ kind, port, mid, ufrag, pwd, fingerprint, candidates }) =>
  ({ kind, port, mid, ufrag, pwd: pwd && `${pwd.slice(0, 4)}..`, fingerprint: fingerprint && `${fingerprint.slice(0, 8)}..`, candidates })));
const session = (sdp) => sdp.split(/\r?\nm=/)[0];
const answerOf = (c) => c.messages.find((m) => m.type === 'answer');

// The server's reply to each offer ({name: what}): the answers' SDPs by name, or a failure
// naming every offer refused (bad-sdp: the server does not take offers without BUNDLE).
async function answers(cs) {
  const got = {};
  for (const [c, what] of cs) {
    got[c.name] = await waitFor(() => c.messages.find((m) => m.type === 'answer' || m.type === 'error') ||
      c.errors.find((m) => m.type === 'client-error' || m.type === 'local-error'),
    { timeout: 20000, what: `${c.name}'s answer` });
    got[c.name].what = what;
  }
  const bad = Object.entries(got).filter(([, m]) => m.type === 'error' && m.code === 'bad-sdp');
  if (bad.length)
    assert.fail(`the server refused with bad-sdp the offer of ${bad.map(([n, m]) => `${n} (${m.what}): "${m.message}"`).join('; ')}. ` +
      'It must accept an offer without a=group:BUNDLE (one ICE agent, DTLS and SRTP per m-line)');
  for (const [n, m] of Object.entries(got)) assert.equal(m.type, 'answer', `${n} (${m.what}): ${JSON.stringify(m)}`);
  return Object.fromEntries(Object.entries(got).map(([n, m]) => [n, m.sdp]));
}

async function transportsOf(pc) {
  const out = [];
  (await pc.getStats()).forEach((r) => { if (r.type === 'transport') out.push(r); });
  return out;
}
const wrtcConnected = (c) => c.pc.connectionState === 'connected' ||
  (c.pc.connectionState === undefined && ['connected', 'completed'].includes(c.pc.iceConnectionState));

test('offers without BUNDLE: libwebrtc and webrtcbin, one transport per m-line', { timeout: 90000 }, async () => {
  checkGstreamer();
  const t0 = Date.now();
  const bun = participant('Bun', MAGENTA, TONE.Bun, ROOM);
  clients.push(bun);
  const sep = participant('Sep', CYAN, TONE.Sep, ROOM, WITH_BUNDLE ? {} :
    { bundlePolicy: 'balanced', mungeOffer: stripBundle });
  clients.push(sep);
  const gst = gstParticipant('Gst', { policy: WITH_BUNDLE ? 'max-bundle' : 'none', color: '0xffff0000',
    freq: TONE.Gst, listen: [TONE.Bun, TONE.Sep, TONE.Gst] });
  clients.push(gst);
  const fail = (c) => (e) => {
    if (c.stderr) {
      console.log(`${c.name} stderr (last lines):\n  ${c.stderr.slice(-30).join('\n  ')}`);
      console.log(`${c.name} sent: ${JSON.stringify(c.sent.filter((m) => m.type === 'candidate'))}`);
      console.log(`${c.name} got: ${JSON.stringify(c.messages.filter((m) => m.type !== 'answer'))}`);
      console.log(`${c.name} status: ${JSON.stringify({ ...c.status, grid: undefined })}`);
    }
    throw e;
  };

  // the offers
  await waitFor(() => gst.offer || gst.exit, { timeout: 15000, what: 'the webrtcbin offer' })
    .catch(fail(gst));
  assert.ok(gst.offer, `the webrtcbin client exited before its offer: ${JSON.stringify(gst.exit)}, ${JSON.stringify(gst.errors)}`);
  console.log(`Gst offer:\n${gst.offer}`);
  assert.deepEqual(sections(gst.offer).map((s) => s.kind), ['audio', 'video']);
  await waitFor(() => sep.pc.localDescription, { what: "Sep's offer" });
  const sepOffer = sep.pc.localDescription.sdp;
  for (const [c, sdp] of [[sep, sepOffer], [gst, gst.offer]]) {
    console.log(`${c.name} offer m-lines: ${describe(sections(sdp))}, ` +
      `session-level ufrag ${(session(sdp).match(/a=ice-ufrag:(\S+)/) || [])[1] || '-'}`);
    if (WITH_BUNDLE) assert.match(sdp, /^a=group:BUNDLE /m, `${c.name}'s offer bundles`);
    else assert.doesNotMatch(sdp, /^a=group:BUNDLE/m, `${c.name}'s offer must have no a=group:BUNDLE`);
  }

  // the answers: without BUNDLE, no group and ICE credentials per m-line
  const answered = await answers([[bun, 'libwebrtc max-bundle'],
    [sep, WITH_BUNDLE ? 'libwebrtc max-bundle' : 'libwebrtc, BUNDLE group removed'],
    [gst, WITH_BUNDLE ? 'webrtcbin max-bundle' : 'webrtcbin bundle-policy none']]).catch(fail(gst));
  for (const [n, sdp] of Object.entries(answered)) {
    const ms = sections(sdp);
    console.log(`${n} answer m-lines: ${describe(ms)}`);
    if (n === 'Bun' || WITH_BUNDLE) {
      assert.match(sdp, /^a=group:BUNDLE /m, `${n}'s answer bundles`);
      continue;
    }
    assert.doesNotMatch(sdp, /^a=group:BUNDLE/m, `${n}'s answer to an offer without BUNDLE has no BUNDLE group`);
    assert.equal(ms.length, 2, `${n}'s answer has the offer's two m-lines`);
    for (const m of ms) {
      assert.ok(m.ufrag && m.pwd, `${n}'s answer: m-line ${m.mid} has its a=ice-ufrag and a=ice-pwd`);
      assert.doesNotMatch(sdp.split(/\r?\nm=/).slice(1).find((s) => s.includes(`a=mid:${m.mid}`)),
        /^a=bundle-only/m, `${n}'s answer: m-line ${m.mid} is not bundle-only`);
    }
    assert.notEqual(ms[0].ufrag, ms[1].ufrag, `${n}'s answer: each m-line has an ICE agent (ufrag) of its own`);
  }

  // connected; Sep and Gst on two transports (one per m-line), Bun on one
  await waitFor(() => wrtcConnected(bun) && wrtcConnected(sep) && gst.status?.connection === 'connected',
    { timeout: 20000, what: 'all three connected' }).catch(fail(gst));
  console.log(`connected after ${Date.now() - t0} ms`);
  const want = WITH_BUNDLE ? 1 : 2;
  for (const [c, n] of [[bun, 1], [sep, want]]) {
    const tr = await waitFor(async () => {
      const t = await transportsOf(c.pc);
      return t.length === n && t.every((x) => x.dtlsState === 'connected') && t;
    }, { timeout: 10000, what: `${c.name}: ${n} connected transport(s) in getStats` }).catch(async (e) => {
      console.log(`${c.name} transports: ${JSON.stringify(await transportsOf(c.pc))}`);
      throw e;
    });
    console.log(`${c.name} transports: ${JSON.stringify(tr.map((x) => ({ id: x.id, dtls: x.dtlsState, pair: x.selectedCandidatePairId })))}`);
  }
  const gtr = gst.status.transports;
  console.log(`Gst transports: ${JSON.stringify(gtr)}, candidates sent per m-line ${JSON.stringify(gst.status.local_candidates)}, ` +
    `received per m-line ${JSON.stringify(gst.status.remote_candidates)}`);
  assert.equal(gtr.length, want, `Gst has ${want} DTLS transport(s): ${JSON.stringify(gtr)}`);
  if (!WITH_BUNDLE) assert.deepEqual(gtr.map((x) => x.mlines), [[0], [1]], 'Gst: one transport per m-line');
  await waitFor(() => gst.status.transports.every((x) => x.dtls === 'connected'),
    { timeout: 10000, what: "Gst's transports DTLS-connected" });
  const candsByMline = (c) => c.sent.filter((m) => m.type === 'candidate' && m.candidate)
    .reduce((o, m) => ({ ...o, [`${m.sdpMid}/${m.sdpMLineIndex}`]: (o[`${m.sdpMid}/${m.sdpMLineIndex}`] || 0) + 1 }), {});
  console.log(`Gst candidates sent by sdpMid/sdpMLineIndex: ${JSON.stringify(candsByMline(gst))}`);
  const srvCands = (c) => c.messages.filter((m) => m.type === 'candidate')
    .map((m) => (m.candidate ? `${m.sdpMid}/${m.sdpMLineIndex}` : 'end'));
  for (const c of [sep, gst]) console.log(`${c.name}: server candidates by sdpMid/sdpMLineIndex: ${JSON.stringify(srvCands(c))}`);
  // the server's candidates name their m-line consistently (mid and index agree) and, without
  // BUNDLE, every m-line gets some (trickled with its mid and index, or in the answer)
  for (const c of [bun, sep, gst]) {
    const ms = sections(answered[c.name]);
    for (const m of c.messages.filter((x) => x.type === 'candidate' && x.candidate)) {
      assert.ok(m.sdpMid !== undefined || m.sdpMLineIndex !== undefined, `${c.name}: a server candidate names its m-line: ${JSON.stringify(m)}`);
      if (m.sdpMid !== undefined && m.sdpMLineIndex !== undefined)
        assert.equal(ms[m.sdpMLineIndex]?.mid, m.sdpMid, `${c.name}: a server candidate's sdpMid and sdpMLineIndex agree: ${JSON.stringify(m)}`);
    }
    if (c === bun || WITH_BUNDLE) continue;
    ms.forEach((m, i) => assert.ok(m.candidates > 0 || c.messages.some((x) => x.type === 'candidate' && x.candidate &&
      (x.sdpMLineIndex === i || (x.sdpMLineIndex === undefined && x.sdpMid === m.mid))),
    `${c.name}: the server gives candidates for m-line ${i} (mid ${m.mid}): ${JSON.stringify(srvCands(c))}`));
  }
  console.log(`Sep's candidates per m-line (its local description): ${describe(sections(sep.pc.localDescription.sdp))}`);

  // everyone decodes the mix and gets audio
  await waitFor(() => bun.frames > 20 && sep.frames > 20 && gst.status.video_frames > 20 &&
    bun.audio.length > 48000 && sep.audio.length > 48000 && gst.status.audio_samples > 48000,
  { timeout: 15000, what: 'frames and audio of the mix for everyone' }).catch(fail(gst));
  for (const c of [bun, sep])
    assert.deepEqual([c.lastFrame.width, c.lastFrame.height], [1280, 720], `${c.name}'s mix size`);
  assert.deepEqual(gst.status.video_size, [1280, 720], "Gst's mix size");

  // each sees the others' tiles
  const gstSees = (yuv) => (gst.status.grid || []).flat().some((p) => p.every((v, i) => Math.abs(v - yuv[i]) <= 25));
  await waitFor(() => showsColour(bun, CYAN) && showsColour(bun, RED) && showsColour(sep, MAGENTA) &&
    showsColour(sep, RED) && gstSees(MAGENTA) && gstSees(CYAN),
  { timeout: 15000, what: 'each participant sees the others\' tiles' }).catch((e) => {
    const near = (c) => c.lastFrame && [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]]
      .map(([x, y]) => { const px = Math.floor(x * c.lastFrame.width), py = Math.floor(y * c.lastFrame.height);
        const f = c.lastFrame, cw = f.width / 2;
        return [f.data[py * f.width + px], f.data[f.width * f.height + (py >> 1) * cw + (px >> 1)],
          f.data[f.width * f.height * 1.25 + (py >> 1) * cw + (px >> 1)]]; });
    console.log(`Bun tiles ${JSON.stringify(near(bun))}, Sep tiles ${JSON.stringify(near(sep))}, ` +
      `Gst grid row 2: ${JSON.stringify(gst.status.grid?.[2])}, row 6: ${JSON.stringify(gst.status.grid?.[6])}`);
    throw e;
  });
  console.log(`everyone sees the others after ${Date.now() - t0} ms`);

  // the mix keeps coming: >= 10 fps decoded by each over 2 s, audio samples at ~48 kHz
  const before = { Bun: bun.frames, Sep: sep.frames, Gst: gst.status.video_frames };
  const g0 = gst.status, tw = Date.now();
  await sleep(2000);
  const g1 = gst.status, sec = (Date.now() - tw) / 1000, gsec = g1.t - g0.t;
  const fps = { Bun: (bun.frames - before.Bun) / sec, Sep: (sep.frames - before.Sep) / sec,
    Gst: (g1.video_frames - g0.video_frames) / gsec };
  const gstRate = (g1.audio_samples - g0.audio_samples) / gsec;
  console.log(`fps of the mix: ${JSON.stringify(Object.fromEntries(Object.entries(fps).map(([k, v]) => [k, +v.toFixed(1)])))}, ` +
    `Gst audio ${gstRate.toFixed(0)} samples/s`);
  for (const [n, v] of Object.entries(fps)) assert.ok(v >= 10, `${n} decodes the mix at ${v.toFixed(1)} fps`);
  assert.ok(gstRate > 40000, `Gst gets ${gstRate.toFixed(0)} audio samples/s of the mix`);

  // each hears the others' tones, not its own
  for (const c of [bun, sep]) {
    const own = tonePeak(c, TONE[c.name], 1000);
    const others = Object.keys(TONE).filter((n) => n !== c.name).map((n) => [n, tonePeak(c, TONE[n], 1000)]);
    console.log(`${c.name} hears: own ${own.toFixed(1)} dB, ${others.map(([n, v]) => `${n} ${v.toFixed(1)} dB`).join(', ')}`);
    for (const [n, v] of others) assert.ok(v > own + 15, `${c.name} hears ${n} (${v} dB, own tone ${own} dB)`);
  }
  const gt = gst.status.tones;
  console.log(`Gst hears (dB): ${JSON.stringify(gt)}, rms ${gst.status.audio_rms_db} dBFS`);
  for (const n of ['Bun', 'Sep'])
    assert.ok(gt[TONE[n]] > gt[TONE.Gst] + 15, `Gst hears ${n}: ${JSON.stringify(gt)}`);

  // the server's view: all three connected, sending us audio and video, receiving both
  const room = await api('GET', `/api/rooms/${ROOM}`);
  assert.equal(room.status, 200, room.text);
  const people = room.json.participants;
  assert.deepEqual(people.map((p) => p.name).sort(), ['Bun', 'Gst', 'Sep']);
  for (const p of people) {
    const one = await api('GET', `/api/rooms/${ROOM}/participants/${p.id}`);
    assert.equal(one.status, 200, one.text);
    const q = one.json;
    console.log(`server: ${q.name} ${q.state}, in a ${q.audio.bitrate_in} v ${q.video.bitrate_in} bit/s, ` +
      `out a ${q.audio.bitrate_out} v ${q.video.bitrate_out} bit/s, rtp_in ${q.counters.rtp_in}, frames_in ${q.counters.frames_in}, ` +
      `srtp_errors ${q.counters.srtp_errors}`);
    assert.equal(q.state, 'connected', `${q.name}: server state`);
    for (const k of ['audio', 'video']) {
      assert.ok(q[k].receiving && q[k].bitrate_in > 0, `${q.name}: the server receives its ${k}: ${JSON.stringify(q[k])}`);
      assert.ok(q[k].bitrate_out > 0, `${q.name}: the server sends it ${k}: ${JSON.stringify(q[k])}`);
    }
    assert.ok(q.counters.frames_in > 0, `${q.name}: video frames in: ${JSON.stringify(q.counters)}`);
  }
  for (const c of clients) assert.deepEqual(c.errors, [], `${c.name}: no errors`);

  // the webrtcbin client leaves cleanly on SIGTERM
  await gst.close();
  assert.deepEqual(gst.exit, { code: 0, sig: null }, `the webrtcbin client's exit on SIGTERM: ${gst.stderr.slice(-10).join('\n')}`);
  console.log(`done after ${Date.now() - t0} ms`);
});
