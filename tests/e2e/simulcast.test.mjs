// simulcast.test.mjs - Chromium pages sending simulcast (the demo page's simulcast=1: rids q,
// h and f at 320x180, 640x360 and 1280x720) in a room whose picture is 640x360, with a
// libwebrtc participant. The server binds the layers by their rid extensions, learns their
// sizes from their keyframes, decodes only the one a page's tile needs and switches when the
// tile changes:
// - in the 2x2 grid (320x180 tiles): the smallest layer, q, for both;
// - Sim pinned (the speaker layout's 640x288 large tile): h for Sim, q for Raw in the strip;
// - back in the grid: q again; then Raw pinned: h for Raw.
// Asking for no more than we use: "Sim" joined with layer_control and is told to send q only
// in the grid, h only when pinned (the others stop reaching the server). "Raw" did not: it
// gets the fallback, a REMB cap at about what q needs, under which Chromium drops h and f (how
// long that takes is printed); pinned, the cap is lifted and h comes back as Chromium's
// estimate ramps. The uplinks are printed. The others see both pages' colours all along.
// GET .../participants/{id} shows the layers, the one decoded, the switches and the REMB.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, openParticipant, waitFor, sleep, api } from './lib.mjs';
import { participant, colourAt } from './wrtc-client.mjs';

const ROOM = 'sim';
// the pages' canvases as libwebrtc receives them (Chromium: BT.709, full range)
const RED = [54, 99, 255];
let browser;
const clients = [];
after(async () => {
  for (const c of clients) c.close();
  if (browser) await browser.close();
  setTimeout(() => process.exit(), 1000).unref(); // libwebrtc's threads keep Node alive
});

// A participant as the API shows it.
async function who(id) {
  const r = await api('GET', `/api/rooms/${ROOM}/participants/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}
const layersOf = async (id) => (await who(id)).simulcast;
const decoding = (id, rid) => waitFor(async () => {
  const l = await layersOf(id);
  return l && l.decoding === rid && l.wanted === rid && l;
}, { timeout: 30000, what: `layer ${rid} decoded` });
// packets of each layer reaching the server over `ms`
async function packetsOver(id, ms) {
  const a = await layersOf(id);
  await sleep(ms);
  const b = await layersOf(id);
  return Object.fromEntries(b.layers.map((l, i) => [l.rid, l.packets - a.layers[i].packets]));
}

// Whether the page's colour shows somewhere in c's picture (its tile moves with the layout).
const seesRed = (c) => [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.5, 0.35]]
  .some(([x, y]) => colourAt(c, x, y, RED));

test('the layer decoded follows the tile of a simulcast sender', { timeout: 150000 }, async () => {
  const put = await api('PUT', `/api/rooms/${ROOM}`, { width: 640, height: 360 });
  assert.ok(put.status === 200 || put.status === 201, put.text);
  browser = await launchBrowser();
  const sim = await openParticipant(browser,
    { room: ROOM, name: 'Sim', color: '#ff0000', tone: 440, simulcast: true });
  const raw = await openParticipant(browser,
    { room: ROOM, name: 'Raw', color: '#0000ff', tone: 550, simulcast: true, layerControl: false });
  const b = participant('Bea', [170, 166, 16], 900, ROOM);
  clients.push(b);
  const idOf = (page) => waitFor(() => page.evaluate(() => window.mcu.id), { timeout: 20000, what: 'joined' });
  const id = await idOf(sim), rawId = await idOf(raw);
  const offer = await sim.evaluate(() => window.mcu.pc.localDescription.sdp);
  assert.match(offer, /a=simulcast:send q;h;f/, 'the page offers three layers');
  const answer = await waitFor(() => sim.evaluate(() => window.mcu.pc.remoteDescription?.sdp),
    { what: 'the answer' });
  assert.match(answer, /a=simulcast:recv q;h;f/, 'the server answers that it receives them');

  // every layer bound with its size; the grid's 320x180 tile needs q
  const sizes = { q: [320, 180], h: [640, 360], f: [1280, 720] };
  for (const pid of [id, rawId])
    await waitFor(async () => (await layersOf(pid)).layers.filter((x) => x.width).length === 3,
      { timeout: 30000, what: 'the three layers\' sizes' });
  let s = await decoding(id, 'q');
  console.log('Sim in the grid:', JSON.stringify(s));
  for (const x of s.layers)
    assert.deepEqual([x.width, x.height], sizes[x.rid], `layer ${x.rid}'s size`);
  assert.ok(s.dropped > 0, 'the other layers were dropped');
  await decoding(rawId, 'q');
  await waitFor(() => seesRed(b), { timeout: 15000, what: 'Sim seen in the grid' });

  // asking for no more than we use: Sim is told to send q only; Raw, without layer_control,
  // gets the fallback: a REMB cap at about what q needs, under which Chromium drops h and f
  await waitFor(() => sim.evaluate(() => JSON.stringify(window.mcu.layers) === '["q"]'),
    { what: 'Sim asked to send q only' });
  const capped = await waitFor(async () => {
    const l = await layersOf(rawId);
    return !l.layer_control && l.remb < 1500000 && l;
  }, { timeout: 15000, what: 'a REMB cap for Raw' });
  const q = capped.layers.find((l) => l.rid === 'q');
  console.log(`Raw's REMB cap: ${capped.remb} bit/s (q at ${q.bitrate} bit/s)`);
  assert.ok(capped.remb >= q.bitrate && capped.remb < 1000000, JSON.stringify(capped));
  const t0 = Date.now();
  await waitFor(async () => {
    const pk = await packetsOver(rawId, 1000);
    return pk.q > 10 && pk.h === 0 && pk.f === 0;
  }, { timeout: 30000, what: 'Raw drops h and f under the REMB cap' });
  console.log(`Raw sends q only ${Date.now() - t0} ms after the cap`);
  await sleep(2000); // paused layers drain
  const simPk = await packetsOver(id, 2000), rawPk = await packetsOver(rawId, 2000);
  console.log('packets in 2 s, Sim:', JSON.stringify(simPk), 'Raw:', JSON.stringify(rawPk));
  assert.ok(simPk.q > 20 && simPk.h === 0 && simPk.f === 0, JSON.stringify(simPk));
  assert.ok(rawPk.q > 20 && rawPk.h === 0 && rawPk.f === 0, JSON.stringify(rawPk));
  const simIn = (await who(id)).video.bitrate_in, rawIn = (await who(rawId)).video.bitrate_in;
  console.log(`uplink: Sim ${(simIn / 1000).toFixed(0)} kbit/s (layers message), Raw ` +
    `${(rawIn / 1000).toFixed(0)} kbit/s (REMB cap ${(capped.remb / 1000).toFixed(0)} kbit/s)`);
  assert.ok(rawIn > 0 && rawIn < capped.remb * 1.25, `Raw ${rawIn} bit/s under a ${capped.remb} cap`);

  // Sim pinned: the large tile (640x288) needs h; Raw in the strip stays on q
  assert.equal((await api('POST', `/api/rooms/${ROOM}/layout`, { pin: id })).status, 200);
  s = await decoding(id, 'h');
  console.log('Sim pinned:', JSON.stringify(s));
  assert.ok(s.switches >= 1, JSON.stringify(s));
  await waitFor(() => colourAt(b, 0.5, 0.35, RED), { timeout: 10000, what: 'Sim large for Bea' });
  await waitFor(() => sim.evaluate(() => JSON.stringify(window.mcu.layers) === '["h"]'),
    { what: 'Sim asked to send h only' });
  assert.equal((await layersOf(rawId)).decoding, 'q');
  const switches = s.switches;

  // back to the grid: down to q again
  assert.equal((await api('POST', `/api/rooms/${ROOM}/layout`, { pin: null })).status, 200);
  s = await decoding(id, 'q');
  assert.ok(s.switches > switches, JSON.stringify(s));
  await waitFor(() => seesRed(b), { timeout: 10000, what: 'Sim seen in the grid again' });

  // Raw pinned: h wanted, the cap lifted, and Chromium brings h back as its estimate ramps
  assert.equal((await api('POST', `/api/rooms/${ROOM}/layout`, { pin: rawId })).status, 200);
  const t1 = Date.now();
  await waitFor(async () => (await layersOf(rawId)).wanted === 'h', { what: 'Raw wants h' });
  s = await decoding(rawId, 'h');
  console.log(`Raw pinned: decoding h ${Date.now() - t1} ms after the pin (REMB ${s.remb}, ` +
    `uplink ${(await who(rawId)).video.bitrate_in} bit/s)`);
  assert.equal((await api('POST', `/api/rooms/${ROOM}/layout`, { pin: null })).status, 200);
  // the pages get the mix
  for (const page of [sim, raw]) {
    const frames = await page.evaluate(() => window.mcu.pc.getStats().then((st) => {
      for (const x of st.values()) if (x.type === 'inbound-rtp' && x.kind === 'video') return x.framesDecoded;
      return 0;
    }));
    assert.ok(frames > 0, 'a page decodes the mix');
  }
});
