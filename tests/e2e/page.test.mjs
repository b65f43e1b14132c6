// page.test.mjs - the demo page in a real call (issue 13, "A page people can use"): a headless
// Chromium page ("Pat", a synthetic red picture and 440 Hz tone) and a libwebrtc participant
// ("Walt", cyan, 900 Hz) whose signaling messages we read:
// - the page joins and shows the mix (a screenshot of the page shows both tiles' colours);
// - the participant list shows Walt, follows his rename and shows him muted when he mutes;
// - the page's microphone button: Walt is told (muted, by self) and the tone leaves his mix,
//   and comes back; the camera button takes the page's colour off its tile;
// - a moderator's mute (REST) shows on the page, which does not pretend to unmute;
// - a viewer page (?viewer=1) gets the mix, is told who is muted, and adds no tile;
// - the recording badge while the room is recorded (POST/DELETE of the REST API), then the file;
// - a dropped WebSocket: the page rejoins by itself (new id, mutes kept, the mix plays again);
//   so it does when its peer connection stays 'disconnected' for 4 s (not after a short blip);
// - removed by a moderator: the reason shows and the page does not rejoin;
// - a camera switched in a call (Chromium's fake cameras) goes out through replaceTrack.
// Sharing the screen (a second test: "Sam", red camera, a synthetic green screen, and "Wes"):
// - the button shares (a new offer on the same connection naming the screen's mid): Wes is told
//   who presents and sees the screen large with the cameras in the strip; the page shows it
//   presents; the button stops it (the m-line inactive, a new offer): the screen leaves Wes's
//   picture; a second share recycles the m-line (no fourth); the browser's "Stop sharing"
//   (the track's 'ended') stops it;
// - Wes presents: the button says so and is disabled, a share then is refused (not-allowed), shown;
// - a re-offer the server refuses (offer-failed: its audio m-line changed) is shown, rolled back,
//   the call goes on and a share then works; a rejoin stops the share and says so.
// server-config: {"recordings_dir": "/tmp/mcu-page-e2e"}
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, openParticipant, waitFor, sleep, near, URL_BASE, api } from './lib.mjs';
import { participant, tonePeak, colourAt, showsColour } from './wrtc-client.mjs';

const ROOM = 'page';
const PAT = { name: 'Pat', color: '#ff0000', rgb: [255, 0, 0], tone: 440 };
const WALT = { yuv: [170, 166, 16], rgb: [0, 255, 255], tone: 900 }; // cyan
const LEFT = [0.25, 0.5], RIGHT = [0.75, 0.5]; // the tiles of a 2x1 grid

let browser;
const clients = [];
after(async () => {
  for (const c of clients) c.close();
  if (browser) await browser.close();
  setTimeout(() => process.exit(), 1000).unref(); // libwebrtc's threads keep Node alive
});

// a tone's loudest 100 ms window (wrtc-client.mjs): heard if loud in one, gone if quiet in all
const peak = tonePeak;
const heard = (c, hz) => peak(c, hz, 800) > 50;
const gone = (c, hz) => peak(c, hz, 300) < 35;

const pixel = (page, [x, y]) => page.evaluate(([a, b]) => mcu.pixel(a, b), [x, y]);
const sees = async (page, at, rgb) => near(await pixel(page, at), rgb, 70);
const told = (c, pred) => c.messages.some(pred);
const listText = (page) => page.locator('#participants').innerText();

test('the demo page in a call', { timeout: 90000 }, async () => {
  const t0 = Date.now();
  const lap = (what) => console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  browser = await launchBrowser(['--use-fake-device-for-media-stream=device-count=3']);
  const pat = await openParticipant(browser, { room: ROOM, ...PAT });
  await sleep(300); // join order = tile order
  const walt = participant('Walt', WALT.yuv, WALT.tone, ROOM);
  clients.push(walt);

  // joined; the mix shows both
  await waitFor(() => pat.evaluate(() => mcu.state === 'connected' && mcu.tracks.length >= 2),
    { timeout: 20000, what: 'Pat connected' });
  await waitFor(async () => (await sees(pat, LEFT, PAT.rgb)) && (await sees(pat, RIGHT, WALT.rgb)),
    { timeout: 20000, what: 'Pat sees both tiles' });
  const patId = await pat.evaluate(() => mcu.id);
  const waltId = walt.messages.find((m) => m.type === 'joined').id;
  await waitFor(() => heard(walt, PAT.tone), { timeout: 15000, what: "Walt hears Pat's tone" });
  lap('joined, mix shown');

  // a screenshot of the page shows the mix: red and cyan where the tiles are
  const shot = await pat.screenshot();
  const box = await pat.locator('#mix').boundingBox();
  const shown = await pat.evaluate(async ([b64, b, pts]) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    return pts.map(([x, y]) => [...g.getImageData(Math.round(b.x + x * b.width), Math.round(b.y + y * b.height), 1, 1).data.slice(0, 3)]);
  }, [shot.toString('base64'), box, [LEFT, RIGHT]]);
  assert.ok(near(shown[0], PAT.rgb, 80) && near(shown[1], WALT.rgb, 80), `screenshot shows ${JSON.stringify(shown)}`);

  // the participant list: names, (you), a rename, a self-mute
  await waitFor(async () => /Pat \(you\)/.test(await listText(pat)) && /Walt/.test(await listText(pat)),
    { what: 'the list shows Pat (you) and Walt' });
  walt.send({ type: 'rename', name: 'Walter' });
  await waitFor(async () => /Walter/.test(await listText(pat)), { what: 'the list shows the rename' });
  assert.equal(await pat.evaluate((id) => mcu.participants.get(id), waltId), 'Walter');
  walt.send({ type: 'mute', audio: true });
  const waltLi = pat.locator(`#participants li[data-id="${waltId}"]`);
  await waitFor(async () => (await waltLi.getAttribute('class'))?.includes('muted-audio'),
    { what: "Walter's microphone shown muted" });
  assert.equal(await waltLi.locator('[aria-label="microphone muted"]').count(), 1);
  assert.deepEqual(await pat.evaluate((id) => mcu.muteState.get(id), waltId), { audio: true, video: false });
  lap('list, rename, mute shown');

  // the page's microphone button: Walt is told and no longer hears the tone; then back
  const mic = pat.locator('#mute-audio'), cam = pat.locator('#mute-video');
  assert.equal(await mic.getAttribute('aria-pressed'), 'false');
  await mic.click();
  assert.equal(await mic.getAttribute('aria-pressed'), 'true');
  await waitFor(() => told(walt, (m) => m.type === 'muted' && m.id === patId && m.audio === true && m.by === 'self'),
    { what: "Walt told of Pat's mute" });
  await waitFor(() => gone(walt, PAT.tone), { timeout: 2000, interval: 25, what: "Pat's tone leaves Walt's mix" });
  await sleep(600);
  assert.ok(peak(walt, PAT.tone, 600) < 35, `Pat's tone stays out (${peak(walt, PAT.tone, 600).toFixed(1)} dB)`);
  assert.deepEqual(await pat.evaluate(() => mcu.muted), { audio: true, video: false });
  assert.ok(/microphone muted/.test(await pat.locator('#participants li.me').innerHTML()), 'Pat shown muted');
  await mic.click();
  assert.equal(await mic.getAttribute('aria-pressed'), 'false');
  await waitFor(() => heard(walt, PAT.tone), { timeout: 4000, interval: 50, what: "Pat's tone back" });
  // the camera button: Pat's colour leaves its tile (the placeholder), and comes back
  await cam.click();
  assert.equal(await cam.getAttribute('aria-pressed'), 'true');
  await waitFor(async () => !(await sees(pat, LEFT, PAT.rgb)), { timeout: 3000, what: "Pat's colour off its tile" });
  await cam.click();
  await waitFor(() => sees(pat, LEFT, PAT.rgb), { timeout: 5000, what: "Pat's colour back" });
  lap('mute buttons');

  // a moderator mutes Pat: shown, and the page does not pretend to unmute
  assert.equal((await api('POST', `/api/rooms/${ROOM}/participants/${patId}/mute`, { audio: true })).status, 200);
  await waitFor(() => pat.evaluate(() => mcu.moderatorMuted.audio), { what: 'moderator mute shown' });
  assert.equal(await mic.getAttribute('aria-pressed'), 'true');
  assert.match(await pat.locator('#moderated').innerText(), /moderator/);
  await mic.click(); // cannot lift it
  assert.equal(await mic.getAttribute('aria-pressed'), 'true');
  assert.equal(await pat.evaluate(() => mcu.localStream.getAudioTracks()[0].enabled), false);
  assert.match(await pat.locator('#notice').innerText(), /Only a moderator/);
  await api('POST', `/api/rooms/${ROOM}/participants/${patId}/mute`, { audio: false });
  await waitFor(async () => (await mic.getAttribute('aria-pressed')) === 'false', { what: 'moderator unmute shown' });
  assert.equal(await pat.isVisible('#moderated'), false);
  assert.equal(await pat.evaluate(() => mcu.localStream.getAudioTracks()[0].enabled), true);
  lap('moderator mute');

  // a viewer: gets the mix and is told Walter is muted; adds no tile to the others' mix
  const vctx = await browser.newContext();
  const viewer = await vctx.newPage();
  viewer.on('pageerror', (e) => console.log(`[viewer] page error: ${e}`));
  await viewer.goto(`${URL_BASE}/?room=${ROOM}&name=Vera&viewer=1&autojoin=1`);
  await waitFor(() => viewer.evaluate(() => mcu.state === 'connected' && mcu.tracks.length >= 2),
    { timeout: 20000, what: 'viewer connected' });
  await waitFor(async () => (await sees(viewer, LEFT, PAT.rgb)) && (await sees(viewer, RIGHT, WALT.rgb)),
    { timeout: 15000, what: 'the viewer sees the mix' });
  assert.deepEqual(await viewer.evaluate(() => mcu.localStream), null);
  assert.equal(await viewer.locator('#mute-audio').isDisabled(), true);
  await waitFor(async () => (await viewer.locator(`#participants li[data-id="${waltId}"]`).getAttribute('class'))?.includes('muted-audio'),
    { what: 'the viewer sees Walter muted' });
  const senders = await viewer.evaluate(() => mcu.pc.getTransceivers().map((t) => t.currentDirection));
  assert.deepEqual(senders, ['recvonly', 'recvonly']);
  await waitFor(async () => /Vera/.test(await listText(pat)), { what: 'Pat lists Vera' });
  for (let i = 0; i < 5; i++) { // still two tiles: red and cyan halves
    assert.ok(await sees(pat, LEFT, PAT.rgb) && await sees(pat, RIGHT, WALT.rgb), 'the viewer added no tile');
    await sleep(300);
  }
  await vctx.close();
  lap('viewer');

  // the recording badge
  assert.equal(await pat.isVisible('#rec-badge'), false);
  let r = await api('POST', `/api/rooms/${ROOM}/recording`);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const file = r.json.file;
  await waitFor(() => pat.isVisible('#rec-badge'), { timeout: 5000, what: 'REC badge' });
  assert.match(await pat.locator('#rec-badge').innerText(), /REC/);
  await sleep(1000);
  r = await api('DELETE', `/api/rooms/${ROOM}/recording`);
  assert.equal(r.status, 200);
  await waitFor(async () => !(await pat.isVisible('#rec-badge')), { timeout: 5000, what: 'REC badge gone' });
  assert.match(await pat.locator('#rec-info').innerText(), new RegExp(file.replace(/\./g, '\\.')));
  lap('recording');

  // a dropped WebSocket: the page joins again by itself, keeping its camera mute
  await cam.click();
  await waitFor(() => told(walt, (m) => m.type === 'muted' && m.id === patId && m.video === true),
    { what: "Walt told of Pat's camera" });
  await pat.evaluate(() => mcu.ws.close());
  await waitFor(async () => /Reconnecting/.test(await pat.locator('#status').innerText()), { timeout: 2000, what: 'Reconnecting… shown' });
  await waitFor(() => pat.evaluate(() => mcu.state === 'connected' && mcu.tracks.length >= 2),
    { timeout: 15000, what: 'Pat reconnected' });
  const again = await pat.evaluate(() => ({ id: mcu.id, reconnects: mcu.reconnects, muted: mcu.muted }));
  assert.notEqual(again.id, patId);
  assert.equal(again.reconnects, 1);
  assert.deepEqual(again.muted, { audio: false, video: true });
  await waitFor(() => told(walt, (m) => m.type === 'participant-left' && m.id === patId) &&
    told(walt, (m) => m.type === 'participant-joined' && m.id === again.id) &&
    told(walt, (m) => m.type === 'muted' && m.id === again.id && m.video === true),
  { what: 'Walt sees Pat leave and come back, camera muted' });
  // Walter is now first: his colour on the left of Pat's new mix, which plays
  await waitFor(() => sees(pat, LEFT, WALT.rgb), { timeout: 10000, what: 'the mix again' });
  const f1 = (await pat.evaluate(() => mcu.inboundVideo())).framesDecoded;
  await sleep(1000);
  assert.ok((await pat.evaluate(() => mcu.inboundVideo())).framesDecoded > f1 + 10, 'frames flow');
  assert.match(await listText(pat), /Walter/);
  lap('reconnected');

  // the peer connection 'disconnected': a blip is waited out; one that lasts 4 s means a rejoin
  // (the browser's state is faked: this loopback cannot lose packets)
  const fake = (st) => pat.evaluate((s) => {
    Object.defineProperty(mcu.pc, 'connectionState', { get: () => s, configurable: true });
    mcu.pc.dispatchEvent(new Event('connectionstatechange'));
  }, st);
  await fake('disconnected');
  await sleep(500);
  await fake('connected');
  await sleep(4500);
  assert.deepEqual(await pat.evaluate(() => [mcu.id, mcu.reconnects, mcu.state]), [again.id, 1, 'connected']);
  await fake('disconnected');
  await waitFor(async () => /Reconnecting/.test(await pat.locator('#status').innerText()),
    { timeout: 6000, interval: 100, what: 'Reconnecting… after 4 s disconnected' });
  await waitFor(() => pat.evaluate((id) => mcu.state === 'connected' && mcu.reconnects === 2 && mcu.id !== id, again.id),
    { timeout: 10000, what: 'rejoined after the media connection was lost' });
  again.id = await pat.evaluate(() => mcu.id);
  await waitFor(() => sees(pat, LEFT, WALT.rgb), { timeout: 10000, what: 'the mix again' });
  lap('rejoined after a lost media connection');

  // removed by a moderator: told why, and no rejoin
  r = await api('DELETE', `/api/rooms/${ROOM}/participants/${again.id}`);
  assert.equal(r.status, 200);
  await waitFor(() => pat.evaluate(() => mcu.removed), { what: 'Pat removed' });
  assert.match(await pat.locator('#notice').innerText(), /removed/);
  await sleep(2500);
  const end = await pat.evaluate(() => ({ state: mcu.state, reconnects: mcu.reconnects, ws: mcu.ws }));
  assert.deepEqual(end, { state: 'idle', reconnects: 2, ws: null });
  assert.equal(await pat.locator('#join').isDisabled(), false);
  lap('removed');
  await pat.context().close();

  // a camera switched in a call goes out on the same sender (fake cameras)
  const cctx = await browser.newContext();
  const cam2 = await cctx.newPage();
  cam2.on('pageerror', (e) => console.log(`[camera] page error: ${e}`));
  await cam2.goto(`${URL_BASE}/?room=${ROOM}&name=Cam&autojoin=1`);
  await waitFor(() => cam2.evaluate(() => mcu.state === 'connected'), { timeout: 20000, what: 'camera page connected' });
  const cams = await waitFor(() => cam2.evaluate(() => {
    const o = [...document.querySelectorAll('#camera option')].filter((x) => x.value).map((x) => [x.value, x.text]);
    return o.length >= 3 && o;
  }), { what: 'three cameras listed' });
  assert.ok(await cam2.locator('#mic option').count() >= 2, 'microphones listed');
  const before = await cam2.evaluate(() => mcu.senderTracks().video);
  // Chromium's fake_device_1 gives Y16 frames, which its encoder drops: switch to fake_device_2
  const other = cams.find(([, label]) => label === 'fake_device_2')[0];
  assert.notEqual(before.deviceId, other);
  await cam2.selectOption('#camera', other);
  await waitFor(async () => (await cam2.evaluate(() => mcu.senderTracks().video))?.deviceId === other,
    { what: 'the sender sends the other camera' });
  const sent = () => cam2.evaluate(async () => {
    for (const s of (await mcu.pc.getStats()).values()) if (s.type === 'outbound-rtp' && s.kind === 'video') return s.framesEncoded;
    return 0;
  });
  const e1 = await sent();
  await sleep(1000);
  assert.ok((await sent()) > e1 + 5, 'video still goes out');
  assert.deepEqual(await cam2.evaluate(() => mcu.errors), []);
  assert.equal(await cam2.evaluate(() => mcu.reconnects), 0);
  lap('camera switched');
});

test('the page shares its screen', { timeout: 150000 }, async () => {
  const room = 'page-share';
  // Chromium sends a canvas's colours as BT.709 full-range YUV (a libwebrtc receiver sees them so)
  const GREEN = { css: '#00ff00', rgb: [0, 255, 0], yuv: [182, 30, 12] };
  const RED = [54, 99, 255]; // Sam's camera (PAT.color)
  const MAGENTA = [106, 202, 222];
  const CENTRE = [0.5, 0.35]; // in the large tile of a presentation
  const t0 = Date.now();
  const lap = (what) => console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  browser ||= await launchBrowser();
  const ctx = await browser.newContext();
  const sam = await ctx.newPage();
  sam.on('pageerror', (e) => console.log(`[Sam] page error: ${e}`));
  const q = new URLSearchParams({ room, name: 'Sam', color: PAT.color, tone: '440', synthetic: '1', autojoin: '1', screen: GREEN.css });
  await sam.goto(`${URL_BASE}/?${q}`);
  await waitFor(() => sam.evaluate(() => mcu.state === 'connected' && mcu.tracks.length >= 2),
    { timeout: 20000, what: 'Sam connected' });
  const wes = participant('Wes', WALT.yuv, WALT.tone, room);
  clients.push(wes);
  await waitFor(() => wes.tracks.length >= 2 && colourAt(wes, ...RIGHT, WALT.yuv),
    { timeout: 20000, what: 'Wes sees the grid' });
  const samId = await sam.evaluate(() => mcu.id);
  const wesId = wes.messages.find((m) => m.type === 'joined').id;

  const btn = sam.locator('#share');
  const label = () => btn.locator('.label').innerText();
  const presented = (id) => wes.messages.filter((m) => m.type === 'presentation' && m.id === id && (id === null || m.source)).length;
  const state = () => sam.evaluate(() => (mcu.share ? mcu.share.state : null));
  const transceivers = () => sam.evaluate(() => mcu.pc.getTransceivers().map((t) => t.direction));
  const mLines = () => sam.evaluate(() => mcu.pc.localDescription.sdp.match(/^m=.*$/gm));
  await waitFor(async () => !(await btn.isDisabled()), { what: 'the share button enabled' });
  assert.equal(await label(), 'Share screen');
  assert.equal(await sam.isVisible('#presenting'), false);
  assert.ok(!showsColour(wes, GREEN.yuv), 'no screen before sharing');

  // shared with the button: Wes told, the screen large in his picture, the cameras in the strip
  await btn.click();
  await waitFor(() => presented(samId) === 1, { what: 'Wes told Sam presents' });
  await waitFor(() => colourAt(wes, ...CENTRE, GREEN.yuv), { timeout: 15000, what: "the screen large in Wes's picture" });
  await waitFor(() => showsColour(wes, WALT.yuv) && showsColour(wes, RED), { timeout: 10000, what: 'the cameras in the strip' });
  await waitFor(async () => (await state()) === 'on', { what: 'Sam presenting' });
  assert.equal(await btn.getAttribute('aria-pressed'), 'true');
  assert.equal(await label(), 'Stop sharing');
  assert.match(await sam.locator('#presenting').innerText(), /You are presenting/);
  assert.equal(await sam.locator('#participants li.me.presenting [aria-label="presenting a screen"]').count(), 1);
  await waitFor(() => sees(sam, CENTRE, GREEN.rgb), { timeout: 10000, what: "the screen in Sam's own mix" });
  assert.deepEqual(await transceivers(), ['sendrecv', 'sendrecv', 'sendonly']);
  lap('shared');

  // stopped with the button: Wes told, the screen leaves his picture, the grid is back
  await btn.click();
  await waitFor(() => presented(null) === 1, { what: 'Wes told the presentation ended' });
  await waitFor(() => !showsColour(wes, GREEN.yuv) && colourAt(wes, ...RIGHT, WALT.yuv),
    { timeout: 10000, what: "the screen gone from Wes's picture" });
  await waitFor(async () => (await state()) === null && (await label()) === 'Share screen', { what: 'Sam not presenting' });
  assert.equal(await btn.getAttribute('aria-pressed'), 'false');
  assert.equal(await sam.isVisible('#presenting'), false);
  // the server rejects the inactive m-line (port 0): Chromium stops that transceiver
  const stopped = await mLines();
  assert.equal(stopped.length, 3);
  assert.match(await sam.evaluate(() => mcu.pc.remoteDescription.sdp), /m=video 0 /, 'the screen m-line rejected');
  lap('stopped');

  // shared again on the same m-line; ended from the browser's UI (the track's 'ended')
  await btn.click();
  await waitFor(() => presented(samId) === 2, { what: 'Wes told Sam presents again' });
  await waitFor(() => colourAt(wes, ...CENTRE, GREEN.yuv), { timeout: 15000, what: 'the screen large again' });
  assert.deepEqual(await transceivers(), ['sendrecv', 'sendrecv', 'sendonly']);
  assert.equal((await mLines()).length, 3, 'the m-line recycled, none added');
  await sam.evaluate(() => mcu.share.track.dispatchEvent(new Event('ended')));
  await waitFor(() => presented(null) === 2, { what: 'ended from the browser: Wes told' });
  await waitFor(() => !showsColour(wes, GREEN.yuv), { timeout: 10000, what: 'the screen gone again' });
  await waitFor(async () => (await state()) === null, { what: 'Sam not presenting' });
  lap('shared again, ended by the browser');

  // Wes presents: the button says who and is disabled; a share anyway is refused and shown
  await wes.shareScreen(MAGENTA);
  await waitFor(async () => (await btn.isDisabled()) && /Wes is presenting/.test(await label()),
    { what: 'the button names Wes' });
  assert.match(await sam.locator('#presenting').innerText(), /Wes is presenting/);
  assert.equal(await sam.evaluate(() => mcu.presenter), wesId);
  await waitFor(() => colourAt(wes, ...CENTRE, MAGENTA), { timeout: 15000, what: "Wes's screen large" });
  await sam.evaluate(() => mcu.startShare()); // as if clicked just before Wes's presentation arrived
  await waitFor(() => sam.evaluate(() => mcu.errors.some((e) => e.code === 'not-allowed')), { what: 'not-allowed' });
  await waitFor(async () => (await state()) === null, { what: "Sam's share stopped" });
  assert.match(await sam.locator('#notice').innerText(), /not shown/);
  assert.equal(presented(samId), 2);
  assert.ok(colourAt(wes, ...CENTRE, MAGENTA) && !showsColour(wes, GREEN.yuv), "Wes's screen stays");
  await wes.unshareScreen();
  await waitFor(async () => !(await btn.isDisabled()) && (await label()) === 'Share screen', { what: 'the button back' });
  lap('one presenter at a time');

  // a re-offer refused (offer-failed: the next offer's audio m-line is changed on its way out):
  // shown, rolled back, the call goes on
  await sam.evaluate(() => {
    const ws = mcu.ws, send = ws.send.bind(ws);
    ws.send = (data) => {
      const m = JSON.parse(data);
      if (m.type !== 'offer') return send(data);
      delete ws.send; // once
      return send(JSON.stringify({ ...m, sdp: m.sdp.replace('a=sendrecv', 'a=recvonly') }));
    };
  });
  await btn.click();
  await waitFor(() => sam.evaluate(() => mcu.errors.some((e) => e.code === 'offer-failed')), { what: 'offer-failed' });
  await waitFor(async () => (await state()) === null, { what: 'the share undone' });
  assert.match(await sam.locator('#notice').innerText(), /Could not share your screen: .*audio or camera m-line/);
  assert.deepEqual(await sam.evaluate(() => [mcu.state, mcu.reconnects, mcu.pc.signalingState]), ['connected', 0, 'stable']);
  const frames = wes.frames;
  await waitFor(() => wes.frames > frames + 10 && colourAt(wes, ...LEFT, RED), { what: "Sam's camera still flows" });
  assert.equal(presented(samId), 2);
  // a share then works, on the same m-line
  await btn.click();
  await waitFor(() => presented(samId) === 3, { what: 'Sam presents after the refused offer' });
  await waitFor(() => colourAt(wes, ...CENTRE, GREEN.yuv), { timeout: 15000, what: 'the screen large' });
  assert.deepEqual(await transceivers(), ['sendrecv', 'sendrecv', 'sendonly'], 'the rolled back transceiver reused');
  assert.equal((await mLines()).length, 3);
  lap('offer-failed');

  // a rejoin ends the share, and says so
  await sam.evaluate(() => mcu.ws.close());
  await waitFor(() => presented(null) === 4, { what: 'Wes told the presentation ended' });
  await waitFor(async () => /Screen sharing stopped/.test(await sam.locator('#notice').innerText()), { what: 'the notice' });
  assert.equal(await state(), null);
  await waitFor(() => sam.evaluate(() => mcu.state === 'connected' && mcu.reconnects === 1), { timeout: 15000, what: 'Sam rejoined' });
  await waitFor(async () => !(await btn.isDisabled()) && (await label()) === 'Share screen', { what: 'the button after the rejoin' });
  await waitFor(() => !showsColour(wes, GREEN.yuv), { timeout: 10000, what: 'the screen gone after the rejoin' });
  const newId = await sam.evaluate(() => mcu.id);
  assert.notEqual(newId, samId);
  await btn.click();
  await waitFor(() => presented(newId) === 1, { what: 'Sam presents after the rejoin' });
  await waitFor(() => colourAt(wes, ...CENTRE, GREEN.yuv), { timeout: 15000, what: 'the screen large after the rejoin' });
  await btn.click();
  await waitFor(() => presented(null) === 5 && !showsColour(wes, GREEN.yuv), { timeout: 10000, what: 'stopped after the rejoin' });
  assert.deepEqual(await sam.evaluate(() => mcu.errors.map((e) => e.code)), ['not-allowed', 'offer-failed']);
  lap('rejoin');
  await ctx.close();
});
