// h264.test.mjs - H.264 both ways with real headless Chromium: two pages send and receive VP8,
// a third is restricted to H.264 (setCodecPreferences, and receive.codec "h264" in its join).
// Everyone must see the three colours in their tiles and hear the others; the H.264 page's
// getStats must show H.264 sent and H.264 received and decoded at 1280x720, the others VP8,
// and every page's uplink estimate (availableOutgoingBitrate) must have grown on the server's
// REMB and reports.
// Then a server whose FFmpeg "has no libx264" (an LD_PRELOAD shim hides it): the H.264-only
// page is told `video-codec-unsupported` and still takes part with audio.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, openParticipant, waitFor, sleep, near } from './lib.mjs';
import { startServer, tmp, BASE } from './record-lib.mjs';

const people = [
  { name: 'Red', color: '#ff0000', rgb: [255, 0, 0], tone: 440 },
  { name: 'Green', color: '#00ff00', rgb: [0, 255, 0], tone: 740 },
  { name: 'Blue', color: '#0000ff', rgb: [0, 0, 255], tone: 1300, codec: 'h264' },
];
const tilesOf3 = [[0.25, 0.3], [0.75, 0.3], [0.5, 0.7]];

let browser, server;
after(async () => {
  if (browser) await browser.close();
  if (server && server.proc.exitCode === null) server.proc.kill('SIGTERM');
});

test('VP8 and H.264 participants in one room', { timeout: 120000 }, async () => {
  browser = await launchBrowser();
  const pages = [];
  for (const p of people) {
    pages.push(await openParticipant(browser, { room: 'h264', ...p }));
    await sleep(300); // join order = tile order
  }
  for (const [i, page] of pages.entries()) {
    await waitFor(async () => {
      const px = await Promise.all(tilesOf3.map(([x, y]) => page.evaluate(([a, b]) => mcu.pixel(a, b), [x, y])));
      return px.every((c, k) => near(c, people[k].rgb, 70)) && px;
    }, { timeout: 20000, what: `${people[i].name} sees three tiles` });
  }
  for (const [i, page] of pages.entries()) {
    const codecs = await page.evaluate(() => mcu.videoCodecs());
    const want = people[i].codec === 'h264' ? 'video/H264' : 'video/VP8';
    assert.deepEqual(codecs, { in: want, out: want }, `${people[i].name}: ${JSON.stringify(codecs)}`);
    const a = await page.evaluate(() => mcu.inboundVideo());
    await sleep(3000);
    const b = await page.evaluate(() => mcu.inboundVideo());
    const fps = (b.framesDecoded - a.framesDecoded) / ((b.timestamp - a.timestamp) / 1000);
    console.log(`${people[i].name}: ${codecs.in} in, ${fps.toFixed(1)} fps decoded, ` +
      `${b.frameWidth}x${b.frameHeight}, ${b.packetsLost} lost, ${b.freezeCount ?? 0} freezes, ` +
      `decoder ${b.decoderImplementation}`);
    assert.equal(b.frameWidth, 1280);
    assert.equal(b.frameHeight, 720);
    assert.ok(fps >= 10, `${people[i].name} decodes ${fps} fps`);
    assert.deepEqual(await page.evaluate(() => mcu.errors), []);
    // the browser's uplink estimate follows the REMB the server sends (uplink_bitrate) and the
    // loss in its receiver reports: it must have grown from its 300 kbit/s start
    const up = await page.evaluate(() => mcu.outgoingBitrate());
    console.log(`${people[i].name}: uplink estimate ${(up / 1000).toFixed(0)} kbit/s`);
    assert.ok(up > 500000, `${people[i].name}: uplink estimate ${up}`);
  }
  const freqs = people.map((p) => p.tone);
  for (const [i, page] of pages.entries()) {
    const levels = await waitFor(async () => {
      const l = await page.evaluate((f) => mcu.toneLevels(f), freqs);
      return Math.min(...l.filter((_, k) => k !== i)) > -60 && l;
    }, { timeout: 15000, what: `${people[i].name} hears the others` });
    console.log(`${people[i].name} hears (dB): ${levels.map((v) => v.toFixed(1)).join(', ')}`);
  }
  for (const page of pages) await page.context().close();
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

test('without libx264, an H.264-only page is told and joins with audio', { timeout: 60000 }, async () => {
  fs.writeFileSync(path.join(tmp, 'no264.c'), SHIM);
  const so = path.join(tmp, 'no264.so');
  execFileSync('cc', ['-shared', '-fPIC', '-o', so, path.join(tmp, 'no264.c'), '-ldl']);
  server = await startServer('h264-no264', [], {
    LD_PRELOAD: so,
    ASAN_OPTIONS: [process.env.ASAN_OPTIONS, 'verify_asan_link_order=0'].filter(Boolean).join(':'),
  });
  const blue = await openParticipant(browser, { room: 'no264', ...people[2], base: BASE });
  const red = await openParticipant(browser, { room: 'no264', ...people[0], base: BASE });
  const errs = await waitFor(() => blue.evaluate(() => mcu.errors.length > 0 && mcu.errors),
    { what: 'an error for the H.264-only page' });
  assert.equal(errs[0].code, 'video-codec-unsupported');
  assert.match(errs[0].message, /libx264/);
  // Red still hears Blue: Blue takes part with audio
  const l = await waitFor(async () => {
    // (toneLevels throws until the mixed audio track has arrived)
    const l = await red.evaluate((f) => mcu.toneLevels(f), [people[2].tone, people[0].tone]).catch(() => null);
    return l && l[0] > -60 && l;
  }, { timeout: 15000, what: 'Red hears Blue' });
  console.log(`Red hears Blue at ${l[0].toFixed(1)} dB`);
  assert.deepEqual(await red.evaluate(() => mcu.errors), []);
});
