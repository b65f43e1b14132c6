// presentation.test.mjs - a participant presents its screen: two libwebrtc (wrtc) clients, A
// offering a second video track of another colour as its screen (the offer's "screen": that
// m-line's mid). Everyone is told ({"type":"presentation"}), the screen fills the large tile
// of every picture with the cameras in the strip (the room's pin on the screen's source), the
// API shows who presents; when A stops sharing ({"type":"screen","mid":null}) everyone is
// told, the screen leaves the picture and the grid comes back; a moderator's pin set during a
// presentation outlives it. Then the same mid-call, by
// renegotiation (a new offer adds the screen, another removes it; an ICE restart is refused),
// and a presenter without a camera; shared and stopped 18 times on one connection.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { URL_BASE, waitFor } from './lib.mjs';
import { participant, colourAt, showsColour } from './wrtc-client.mjs';

const ROOM = 'pres';
const MAGENTA = [106, 202, 222], CYAN = [170, 166, 16], SCREEN = [210, 16, 146];
const clients = [];
after(() => {
  for (const c of clients) c.close();
  setTimeout(() => process.exit(), 1000).unref(); // libwebrtc's threads keep Node alive
});

const near = colourAt, shows = showsColour;
const idOf = (c) => c.messages.find((m) => m.type === 'joined').id;

test('a shared screen is presented large, and the grid comes back when it stops', { timeout: 90000 }, async () => {
  const a = participant('Presenter', MAGENTA, 600, ROOM, { screen: SCREEN });
  const b = participant('Watcher', CYAN, 900, ROOM);
  clients.push(a, b);
  for (const p of clients)
    await waitFor(() => p.tracks.length >= 2, { timeout: 20000, what: `${p.name} tracks` });
  const ida = idOf(a);
  for (const p of clients)
    await waitFor(() => p.messages.some((m) => m.type === 'presentation' && m.id === ida && m.source),
      { what: `${p.name} told of the presentation` });
  const offer = a.pc.localDescription.sdp;
  assert.match(offer, /m=video[^]*m=video/, 'A offered two video m-lines');
  await waitFor(() => near(b, 0.5, 0.35, SCREEN) && near(a, 0.5, 0.35, SCREEN),
    { timeout: 15000, what: 'the screen large for both' });
  await waitFor(() => shows(b, MAGENTA) && shows(b, CYAN), { timeout: 10000, what: 'the cameras in the strip' });
  // a newcomer is told who presents
  const late = participant('Late', CYAN, 700, ROOM, { mode: 'recvonly' });
  clients.push(late);
  await waitFor(() => late.messages.some((m) => m.type === 'presentation' && m.id === ida),
    { what: 'the newcomer told of the presentation' });
  late.close();
  const r = await (await fetch(`${URL_BASE}/api/rooms/${ROOM}`)).json();
  assert.equal(r.encoders.presentation?.id, ida, JSON.stringify(r.encoders));
  await waitFor(async () => (await (await fetch(`${URL_BASE}/api/rooms/${ROOM}`)).json()).participants.length === 2,
    { what: 'the newcomer gone' });

  a.send({ type: 'screen', mid: null });
  for (const p of [a, b])
    await waitFor(() => p.messages.some((m) => m.type === 'presentation' && m.id === null),
      { what: `${p.name} told it ended` });
  await waitFor(() => !shows(b, SCREEN) && near(b, 0.25, 0.5, MAGENTA) && near(b, 0.75, 0.5, CYAN),
    { timeout: 10000, what: 'the grid back, without the screen' });
  const r2 = await (await fetch(`${URL_BASE}/api/rooms/${ROOM}`)).json();
  assert.equal(r2.encoders.presentation, null);

  // a moderator's pin during a presentation outlives it (it is not undone by the end)
  await a.reoffer(() => ({ screen: a.screenTransceiver.mid }));
  await waitFor(() => a.messages.filter((m) => m.type === 'presentation' && m.id === ida).length === 2,
    { what: 'presenting again (a later offer re-shares it)' });
  const idb = idOf(b);
  const pin = await fetch(`${URL_BASE}/api/rooms/${ROOM}/layout`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ pin: idb }) });
  assert.equal(pin.status, 200, await pin.text());
  a.send({ type: 'screen', mid: null });
  await waitFor(() => a.messages.filter((m) => m.type === 'presentation' && m.id === null).length === 2,
    { what: 'ended again' });
  const r3 = await (await fetch(`${URL_BASE}/api/rooms/${ROOM}`)).json();
  assert.equal(r3.settings.pin, idb, JSON.stringify(r3.settings));
});

// Renegotiation: the screen added mid-call by a second offer on the same connection, as a page
// does (addTransceiver, then a new offer naming its mid), and removed by a third (the
// transceiver inactive). A new offer that would restart ICE is refused, and the call goes on.
test('a screen added and removed by renegotiation', { timeout: 90000 }, async () => {
  const room = 'pres-reneg';
  const a = participant('Sharer', MAGENTA, 600, room);
  const b = participant('Viewer', CYAN, 900, room);
  clients.push(a, b);
  for (const p of [a, b])
    await waitFor(() => p.tracks.length >= 2, { timeout: 20000, what: `${p.name} tracks` });
  await waitFor(() => near(b, 0.25, 0.5, MAGENTA) && near(b, 0.75, 0.5, CYAN),
    { timeout: 15000, what: 'the grid' });
  const ida = idOf(a);
  const answers = () => a.messages.filter((m) => m.type === 'answer');
  const ufrag = (sdp) => sdp.match(/a=ice-ufrag:(\S+)/)[1];

  await a.shareScreen(SCREEN);
  for (const p of [a, b])
    await waitFor(() => p.messages.some((m) => m.type === 'presentation' && m.id === ida && m.source),
      { what: `${p.name} told of the presentation` });
  await waitFor(() => answers().length === 2, { what: 'the second answer' });
  const [first, second] = answers().map((m) => m.sdp);
  assert.equal(ufrag(second), ufrag(first), 'the answer keeps our ICE credentials');
  assert.equal((second.match(/^m=/gm) || []).length, 3, 'one m-line per offered m-line');
  assert.match(second, /a=mid:2\r\n(?:.*\r\n)*?a=recvonly/, 'the screen m-line received');
  await waitFor(() => near(b, 0.5, 0.35, SCREEN) && near(a, 0.5, 0.35, SCREEN),
    { timeout: 15000, what: 'the screen large for both' });
  const r = await (await fetch(`${URL_BASE}/api/rooms/${room}`)).json();
  assert.equal(r.encoders.presentation?.id, ida);

  await a.unshareScreen();
  for (const p of [a, b])
    await waitFor(() => p.messages.some((m) => m.type === 'presentation' && m.id === null),
      { what: `${p.name} told it ended` });
  await waitFor(() => !shows(b, SCREEN) && near(b, 0.25, 0.5, MAGENTA) && near(b, 0.75, 0.5, CYAN),
    { timeout: 10000, what: 'the grid back' });

  // shared and stopped again and again: each screen has new SSRCs, and each stopped one gives
  // its SRTP stream back (more than the 16 a peer may have at once, if it did not)
  for (let i = 2; i <= 18; i++) {
    await a.shareScreen(SCREEN);
    await waitFor(() => a.messages.filter((m) => m.type === 'presentation' && m.id === ida).length === i,
      { what: `share ${i}` });
    await waitFor(() => near(b, 0.5, 0.35, SCREEN), { timeout: 15000, what: `screen ${i} large` });
    await a.unshareScreen();
    await waitFor(() => a.messages.filter((m) => m.type === 'presentation' && m.id === null).length === i,
      { what: `unshare ${i}` });
  }
  const counters = (await (await fetch(`${URL_BASE}/api/rooms/${room}/participants/${ida}`)).json()).counters;
  assert.equal(counters.srtp_errors, 0, JSON.stringify(counters));

  // an ICE restart is refused; the session goes on as negotiated
  a.pc.restartIce?.();
  await a.pc.setLocalDescription(await a.pc.createOffer({ iceRestart: true }));
  a.send({ type: 'offer', sdp: a.pc.localDescription.sdp });
  await waitFor(() => a.errors.some((e) => e.code === 'offer-failed' && /ICE restart/.test(e.message)),
    { what: 'the ICE restart refused' });
  const frames = b.frames;
  await waitFor(() => b.frames > frames + 10 && near(b, 0.25, 0.5, MAGENTA), { what: 'media still flowing' });
  assert.equal(a.errors.filter((e) => e.code !== 'offer-failed').length, 0, JSON.stringify(a.errors));
});

// A presenter without a camera (audio and the screen only): the screen takes the policy's codec
// and is shown large; the presenter hears the room.
// The offer without the a=ssrc lines of m-line mid (Firefox-like, or a stack that omits them).
function withoutSsrcs(sdp, mid) {
  return sdp.split(/(?=^m=)/m).map((sec) => (sec.includes(`a=mid:${mid}\r\n`)
    ? sec.split('\r\n').filter((l) => !l.startsWith('a=ssrc')).join('\r\n') : sec)).join('');
}

test('a screen whose m-line lists no a=ssrc is bound by its mid', { timeout: 60000 }, async () => {
  const room = 'pres-nossrc';
  const a = participant('Sharer', MAGENTA, 600, room);
  const b = participant('Looker', CYAN, 900, room);
  clients.push(a, b);
  await waitFor(() => a.tracks.length >= 2 && b.tracks.length >= 2, { timeout: 20000, what: 'tracks' });
  let sent = '';
  await a.shareScreen(SCREEN, (sdp, mid) => (sent = withoutSsrcs(sdp, mid)));
  const mid = a.screenTransceiver.mid;
  const sec = sent.split(/(?=^m=)/m).find((s) => s.includes(`a=mid:${mid}\r\n`));
  assert.ok(sec && !/a=ssrc/.test(sec) && /urn:ietf:params:rtp-hdrext:sdes:mid/.test(sec),
    'the screen m-line sent has no a=ssrc, and the mid extension');
  await waitFor(() => b.messages.some((m) => m.type === 'presentation' && m.id === idOf(a)),
    { what: 'told of the presentation' });
  await waitFor(() => near(b, 0.5, 0.35, SCREEN), { timeout: 15000, what: 'the screen large' });
  await waitFor(() => shows(b, MAGENTA), { timeout: 10000, what: 'the camera in the strip' });
  assert.equal(a.errors.length, 0, JSON.stringify(a.errors));
});

test('a participant without a camera presents its screen', { timeout: 60000 }, async () => {
  const room = 'pres-nocam';
  const a = participant('Voice', MAGENTA, 600, room, { mode: 'audio-only', screen: SCREEN });
  const b = participant('Viewer', CYAN, 900, room);
  clients.push(a, b);
  await waitFor(() => b.tracks.length >= 2 && a.tracks.length >= 1, { timeout: 20000, what: 'tracks' });
  const ida = idOf(a);
  await waitFor(() => b.messages.some((m) => m.type === 'presentation' && m.id === ida),
    { what: 'told of the presentation' });
  await waitFor(() => near(b, 0.5, 0.35, SCREEN), { timeout: 15000, what: 'the screen large' });
  assert.equal(a.errors.length, 0, JSON.stringify(a.errors));
});
