// lib.mjs - shared helpers for the end-to-end tests: launching Debian's Chromium headless with
// fake media, opening the demo page with a synthetic participant, polling for conditions, the
// signaling handshake for RTCPeerConnections and running mcu-load.
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

export const URL_BASE = process.env.MCU_URL || 'http://127.0.0.1:18080';

// extraArgs: more Chromium flags (a later flag replaces an earlier one of the same name, e.g.
// '--use-fake-device-for-media-stream=device-count=2' for two fake cameras).
export async function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
      '--disable-features=WebRtcHideLocalIpsWithMdns', ...extraArgs,
    ],
  });
}

// Opens a page that joins `room` as `name`, sending a canvas of `color` and a `tone` (Hz).
// simulcast: send the camera as three layers (the page's simulcast=1); layerControl false: send
// them all, whatever the server asks.
export async function openParticipant(browser, { room, name, color, tone, codec, receive, simulcast,
  layerControl = true, base = URL_BASE }) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`[${name}] page error: ${e}`));
  const q = new URLSearchParams({ room, name, color, tone: String(tone), synthetic: '1', autojoin: '1' });
  if (codec) q.set('codec', codec);
  if (receive) q.set('receive', receive);
  if (simulcast) q.set('simulcast', '1');
  if (simulcast && !layerControl) q.set('layer_control', '0');
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

// A JSON call to the server's HTTP API: {status, json (null without a body), text}.
export async function api(method, path, body) {
  const r = await fetch(`${URL_BASE}${path}`, {
    method, headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null, text };
}

// True when every channel of a is within tol of b.
export function near(a, b, tol) {
  return a && a.every((v, i) => Math.abs(v - b[i]) <= tol);
}

// Wires an RTCPeerConnection (browser or @roamhq/wrtc) to the server's signaling on an open-able
// `ws` WebSocket (the ws package): join on open, offer on joined, the answer, trickle both
// ways. onMessage(m) then sees every message (e.g. to keep errors); receive: the join's
// receive profile (docs/PROTOCOL.md); token: the join's access token; offerExtra(): more fields
// for the offer message (e.g. its "screen"); mungeOffer(sdp): the SDP to set and send instead of
// createOffer()'s (e.g. without its a=group:BUNDLE). Returns a send(msg).
export function wireSignaling(ws, pc, { room, name, receive, token, onMessage, offerExtra, mungeOffer }) {
  const send = (m) => ws.readyState === 1 && ws.send(JSON.stringify(m));
  pc.onicecandidate = (ev) => send({
    type: 'candidate', candidate: ev.candidate ? ev.candidate.candidate : null,
    sdpMid: ev.candidate?.sdpMid, sdpMLineIndex: ev.candidate?.sdpMLineIndex,
  });
  ws.on('open', () => send({ type: 'join', room, name, ...(receive && { receive }), ...(token && { token }) }));
  const handle = async (m) => {
    if (m.type === 'joined') {
      const offer = await pc.createOffer();
      const sdp = mungeOffer ? mungeOffer(offer.sdp) : offer.sdp;
      await pc.setLocalDescription({ type: 'offer', sdp });
      // the SDP set, not pc.localDescription: @roamhq/wrtc's getter can crash the process while
      // gathering rewrites the description on its signaling thread (node-webrtc issue 696)
      send({ type: 'offer', sdp, ...(offerExtra ? offerExtra() : {}) });
    } else if (m.type === 'answer') {
      await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
    } else if (m.type === 'candidate' && m.candidate) {
      await pc.addIceCandidate({ candidate: m.candidate, sdpMid: m.sdpMid,
        sdpMLineIndex: m.sdpMLineIndex });
    }
  };
  // One message at a time, in order: a candidate must not be added while the answer before it
  // is still being applied. A failure is reported as a message of its own (type "local-error")
  // rather than left an unhandled rejection, which fails a whole test file.
  let chain = Promise.resolve();
  ws.on('message', (data) => {
    const m = JSON.parse(data);
    chain = chain.then(() => handle(m)).catch((e) => {
      if (onMessage) onMessage({ type: 'local-error', message: String(e), on: m.type });
    }).then(() => onMessage && onMessage(m));
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
