// lib.mjs - shared helpers for the end-to-end tests: launching Debian's Chromium headless with
// fake media, opening the demo page with a synthetic participant, polling for conditions, the
// signaling handshake for RTCPeerConnections and running mcu-load.
import { spawn } from 'node:child_process';
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
export async function openParticipant(browser, { room, name, color, tone, codec, receive, base = URL_BASE }) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`[${name}] page error: ${e}`));
  const q = new URLSearchParams({ room, name, color, tone: String(tone), synthetic: '1', autojoin: '1' });
  if (codec) q.set('codec', codec);
  if (receive) q.set('receive', receive);
  await page.goto(`${base}/?${q}`);
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

// Wires an RTCPeerConnection (browser or @roamhq/wrtc) to the server's signaling on an open-able
// `ws` WebSocket (the ws package): join on open, offer on joined, the answer, trickle both
// ways. onMessage(m) then sees every message (e.g. to keep errors); receive: the join's
// receive profile (docs/PROTOCOL.md). Returns a send(msg).
export function wireSignaling(ws, pc, { room, name, receive, onMessage }) {
  const send = (m) => ws.readyState === 1 && ws.send(JSON.stringify(m));
  pc.onicecandidate = (ev) => send({
    type: 'candidate', candidate: ev.candidate ? ev.candidate.candidate : null,
    sdpMid: ev.candidate?.sdpMid, sdpMLineIndex: ev.candidate?.sdpMLineIndex,
  });
  ws.on('open', () => send(receive ? { type: 'join', room, name, receive } : { type: 'join', room, name }));
  ws.on('message', async (data) => {
    const m = JSON.parse(data);
    if (m.type === 'joined') {
      await pc.setLocalDescription(await pc.createOffer());
      send({ type: 'offer', sdp: pc.localDescription.sdp });
    } else if (m.type === 'answer') {
      await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
    } else if (m.type === 'candidate' && m.candidate) {
      await pc.addIceCandidate({ candidate: m.candidate, sdpMid: m.sdpMid,
        sdpMLineIndex: m.sdpMLineIndex });
    }
    if (onMessage) onMessage(m);
  });
  return send;
}

// Runs build/mcu-load (BUILD) with args; resolves with its exit code or signal and its whole
// output (stdout and stderr). Killed after 60 s.
export function runLoad(args) {
  return new Promise((resolve) => {
    const p = spawn(`${process.env.BUILD || 'build'}/mcu-load`, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 60000);
    p.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out }); });
  });
}
