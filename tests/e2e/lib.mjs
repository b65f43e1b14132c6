// lib.mjs - shared helpers for the end-to-end tests: launching Debian's Chromium headless with
// fake media, opening the demo page with a synthetic participant, and polling for conditions.
import { chromium } from 'playwright-core';

export const URL_BASE = process.env.MCU_URL || 'http://127.0.0.1:18080';

export async function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
}

// Opens a page that joins `room` as `name`, sending a canvas of `color` and a `tone` (Hz).
export async function openParticipant(browser, { room, name, color, tone }) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`[${name}] page error: ${e}`));
  const q = new URLSearchParams({ room, name, color, tone: String(tone), synthetic: '1', autojoin: '1' });
  await page.goto(`${URL_BASE}/?${q}`);
  return page;
}

export async function waitFor(fn, { timeout = 15000, interval = 200, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// True when every channel of a is within tol of b.
export function near(a, b, tol) {
  return a && a.every((v, i) => Math.abs(v - b[i]) <= tol);
}
