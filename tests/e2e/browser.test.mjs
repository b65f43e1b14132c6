// browser.test.mjs - three headless Chromium participants in one room, each sending its own
// colour and tone. Each must receive exactly one video and one audio track, keep decoding the
// 1280x720 mix, see the others (and itself) in their grid tiles, hear the others but not
// itself; when one leaves, it disappears from the picture and the mix within 2 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, openParticipant, waitFor, sleep, near } from './lib.mjs';

const people = [
  { name: 'Red', color: '#ff0000', rgb: [255, 0, 0], tone: 440 },
  { name: 'Green', color: '#00ff00', rgb: [0, 255, 0], tone: 740 },
  { name: 'Blue', color: '#0000ff', rgb: [0, 0, 255], tone: 1300 }, // no tone is a difference of two others
];
// 2x2 grid for three: Red top-left, Green top-right, Blue centred on the bottom row.
const tilesOf3 = [[0.25, 0.3], [0.75, 0.3], [0.5, 0.7]];
// 2x1 grid for two: left and right halves.
const tilesOf2 = [[0.25, 0.5], [0.75, 0.5]];

let browser;
after(async () => { if (browser) await browser.close(); });

test('three browsers share one mixed stream', { timeout: 120000 }, async () => {
  browser = await launchBrowser();
  const pages = [];
  for (const p of people) {
    pages.push(await openParticipant(browser, { room: 'e2e', ...p }));
    await sleep(300); // join order = tile order
  }

  // exactly one video and one audio track each
  for (const [i, page] of pages.entries()) {
    const tracks = await waitFor(() => page.evaluate(() => mcu.tracks.length >= 2 && mcu.tracks),
      { what: `${people[i].name} tracks` });
    assert.deepEqual([...tracks].sort(), ['audio', 'video'], `${people[i].name} tracks`);
  }

  // everyone sees the three colours in join order
  for (const [i, page] of pages.entries()) {
    await waitFor(async () => {
      const px = await Promise.all(tilesOf3.map(([x, y]) => page.evaluate(([a, b]) => mcu.pixel(a, b), [x, y])));
      return px.every((c, k) => near(c, people[k].rgb, 70)) && px;
    }, { timeout: 20000, what: `${people[i].name} sees three tiles` });
  }

  // frames keep flowing at the expected resolution (>= 10 fps over 3 s)
  for (const [i, page] of pages.entries()) {
    const a = await page.evaluate(() => mcu.inboundVideo());
    await sleep(3000);
    const b = await page.evaluate(() => mcu.inboundVideo());
    const secs = (b.timestamp - a.timestamp) / 1000;
    const fps = (b.framesDecoded - a.framesDecoded) / secs;
    const kbps = ((b.bytesReceived - a.bytesReceived) * 8) / secs / 1000;
    console.log(`${people[i].name}: ${fps.toFixed(1)} fps decoded, ${b.frameWidth}x${b.frameHeight}, ` +
      `video ${kbps.toFixed(0)} kbit/s received, ${b.packetsLost} packets lost, ${b.freezeCount ?? 0} freezes`);
    assert.equal(b.frameWidth, 1280);
    assert.equal(b.frameHeight, 720);
    assert.ok(fps >= 10, `${people[i].name} decodes ${fps} fps`);
  }

  // everyone hears the others but not themselves (median levels over 1.4 s)
  const freqs = people.map((p) => p.tone);
  for (const [i, page] of pages.entries()) {
    await waitFor(async () => {
      const l = await page.evaluate((f) => mcu.toneLevels(f), freqs);
      return Math.min(...l.filter((_, k) => k !== i)) > -70 && l;
    }, { timeout: 15000, what: `${people[i].name} hears the others` });
    // the median of 7 readings: one glitch (a silent 170 ms window reads -Infinity) must
    // not decide the result
    const readings = [];
    for (let n = 0; n < 7; n++) {
      readings.push(await page.evaluate((f) => mcu.toneLevels(f), freqs));
      await sleep(200);
    }
    const levels = freqs.map((_, k) => readings.map((r) => r[k]).sort((x, y) => x - y)[3]);
    const others = levels.filter((_, k) => k !== i);
    console.log(`${people[i].name} hears (dB): ${levels.map((v) => v.toFixed(1)).join(', ')}`);
    assert.ok(Math.min(...others) > -60, `${people[i].name} hears the others: ${levels}`);
    assert.ok(levels[i] < Math.min(...others) - 15, `${people[i].name} hears itself: ${levels}`);
  }

  // Green leaves: within 2 s the others see a 2x1 grid of Red and Blue and stop hearing Green
  await pages[1].evaluate(() => mcu.leave());
  const t0 = Date.now();
  for (const i of [0, 2]) {
    await waitFor(async () => {
      const px = await Promise.all(tilesOf2.map(([x, y]) => pages[i].evaluate(([a, b]) => mcu.pixel(a, b), [x, y])));
      return near(px[0], people[0].rgb, 70) && near(px[1], people[2].rgb, 70);
    }, { timeout: 2000 - (Date.now() - t0), interval: 100, what: `${people[i].name} sees Green gone` });
  }
  for (const i of [0, 2]) {
    await waitFor(async () => {
      const l = await pages[i].evaluate((f) => mcu.toneLevels(f), freqs);
      return l[1] < Math.max(l[0], l[2]) - 20;
    }, { timeout: Math.max(500, 2500 - (Date.now() - t0)), interval: 100, what: `${people[i].name} stops hearing Green` });
  }
  console.log(`Green gone from picture and mix after ${Date.now() - t0} ms`);
});
