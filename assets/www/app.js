// app.js - the demo page: join a room over WebSocket signaling (docs/PROTOCOL.md), send the
// camera and microphone (or a generated test source), and show the one mixed stream the server
// sends back. Works in Chromium and Firefox. Query parameters (for tests and demos):
//   ?room=R&name=N&autojoin=1&synthetic=1&color=%23ff0000&tone=440&token=T&codec=h264&receive=low
// (token: an access token from `mcu token ROOM`, needed when the server has a secret;
// codec: "vp8" or "h264" sends and receives only that video codec, for devices that decode one
// in hardware; default: the browser's order, which the server follows; receive: "low" asks for
// at most 640x360 at 15 fps (a low-power device), "minimal" for 320x180 at 15 fps).
// window.mcu exposes the state and helpers that the end-to-end tests use.
'use strict';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const mcu = {
  ws: null, pc: null, id: null, room: null,
  participants: new Map(), // id -> name
  speaker: null,
  remoteStream: new MediaStream(),
  tracks: [], // every track received (the test checks there is one video and one audio)
  errors: [],
  outputs: [], // every "output" message, in order
  pendingCandidates: [],
  audioCtx: null,
  synthetic: null,
};
window.mcu = mcu;

function status(text) { $('status').textContent = text; }

function renderParticipants() {
  const ul = $('participants');
  ul.textContent = '';
  const add = (id, name, me) => {
    const li = document.createElement('li');
    li.textContent = name + (me ? ' (you)' : '');
    if (id === mcu.speaker) li.classList.add('speaking');
    ul.appendChild(li);
  };
  if (mcu.id) add(mcu.id, $('name').value, true);
  for (const [id, name] of mcu.participants) add(id, name, false);
}

// A generated source: a canvas of one colour with a moving bar and the name, and a sine tone.
function syntheticMedia(color, tone, name) {
  const canvas = document.createElement('canvas');
  canvas.width = 640; canvas.height = 360;
  const g = canvas.getContext('2d');
  let frame = 0;
  const draw = () => {
    g.fillStyle = mcu.synthetic ? mcu.synthetic.color : color; g.fillRect(0, 0, 640, 360);
    g.fillStyle = 'rgba(0,0,0,0.5)'; g.fillRect((frame * 4) % 640, 0, 16, 40);
    g.fillStyle = '#000'; g.font = '28px sans-serif'; g.fillText(name, 12, 348);
    frame++;
  };
  draw();
  const timer = setInterval(draw, 33);
  const video = canvas.captureStream(30).getVideoTracks()[0];
  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  osc.frequency.value = tone;
  const gain = ctx.createGain();
  gain.gain.value = 0.25;
  const dest = ctx.createMediaStreamDestination();
  osc.connect(gain).connect(dest);
  osc.start();
  mcu.synthetic = { timer, ctx, canvas, color };
  return new MediaStream([video, dest.stream.getAudioTracks()[0]]);
}

async function localMedia() {
  if ($('synthetic').checked) {
    const color = params.get('color') || '#3366cc';
    const tone = Number(params.get('tone') || 440);
    return syntheticMedia(color, tone, $('name').value);
  }
  return navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
}

function send(msg) {
  if (mcu.ws && mcu.ws.readyState === WebSocket.OPEN) mcu.ws.send(JSON.stringify(msg));
}

async function iceServers() {
  try {
    const token = params.get('token');
    const r = await fetch('/api/config',
      token ? { headers: { Authorization: 'Bearer ' + token } } : {});
    return (await r.json()).iceServers || [];
  } catch (e) {
    return [];
  }
}

// Restricts the video transceiver to one codec ("vp8" or "h264"; "" leaves the browser's list).
function onlyCodec(pc, codec) {
  if (!codec) return;
  const mime = codec === 'h264' ? 'video/h264' : 'video/vp8';
  const caps = RTCRtpReceiver.getCapabilities('video').codecs
    .filter((c) => c.mimeType.toLowerCase() === mime);
  if (caps.length === 0) throw new Error(`this browser cannot do ${codec} video`);
  for (const tr of pc.getTransceivers())
    if (tr.receiver.track.kind === 'video') tr.setCodecPreferences(caps);
}

async function startCall() {
  const stream = await localMedia();
  $('self').srcObject = stream;
  const pc = new RTCPeerConnection({ iceServers: await iceServers(), bundlePolicy: 'max-bundle' });
  mcu.pc = pc;
  for (const t of stream.getTracks()) pc.addTrack(t, stream);
  onlyCodec(pc, $('codec').value);
  pc.ontrack = (ev) => {
    mcu.tracks.push(ev.track.kind);
    mcu.remoteStream.addTrack(ev.track);
    $('mix').srcObject = mcu.remoteStream;
  };
  pc.onicecandidate = (ev) => send({
    type: 'candidate',
    candidate: ev.candidate ? ev.candidate.candidate : null,
    sdpMid: ev.candidate ? ev.candidate.sdpMid : undefined,
    sdpMLineIndex: ev.candidate ? ev.candidate.sdpMLineIndex : undefined,
  });
  pc.onconnectionstatechange = () => status('Connection: ' + pc.connectionState);
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  send({ type: 'offer', sdp: pc.localDescription.sdp });
}

async function onMessage(msg) {
  switch (msg.type) {
    case 'joined':
      mcu.id = msg.id;
      for (const p of msg.participants) mcu.participants.set(p.id, p.name);
      renderParticipants();
      status('Joined room ' + msg.room + ', connecting media…');
      await startCall();
      break;
    case 'answer':
      await mcu.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      for (const c of mcu.pendingCandidates.splice(0)) await mcu.pc.addIceCandidate(c);
      break;
    case 'candidate': {
      const c = msg.candidate ? { candidate: msg.candidate, sdpMid: msg.sdpMid, sdpMLineIndex: msg.sdpMLineIndex } : null;
      if (!c) break;
      if (mcu.pc && mcu.pc.remoteDescription) await mcu.pc.addIceCandidate(c);
      else mcu.pendingCandidates.push(c);
      break;
    }
    case 'participant-joined':
      mcu.participants.set(msg.id, msg.name);
      renderParticipants();
      break;
    case 'participant-left':
      mcu.participants.delete(msg.id);
      renderParticipants();
      break;
    case 'active-speaker':
      mcu.speaker = msg.id;
      renderParticipants();
      break;
    case 'output': { // the video the server now sends us (null: audio only)
      mcu.outputs.push(msg);
      const v = msg.video;
      status(v ? `Receiving ${v.width}x${v.height} at ${v.fps} fps (${v.codec}, ${msg.reason})`
        : `Receiving audio only (${msg.reason})`);
      break;
    }
    case 'error':
      mcu.errors.push(msg);
      status('Error: ' + msg.message + ' (' + msg.code + ')');
      break;
  }
}

// The receive profiles the page offers (docs/PROTOCOL.md, join).
const RECEIVE = {
  low: { max_width: 640, max_height: 360, max_fps: 15 },
  minimal: { max_width: 320, max_height: 180, max_fps: 15 },
};

function join(room, name) {
  mcu.room = room;
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  mcu.ws = new WebSocket(proto + '://' + location.host + '/ws');
  const token = params.get('token');
  const msg = { type: 'join', room, name };
  if (token) msg.token = token;
  const receive = { ...(RECEIVE[$('receive').value] || {}) };
  if ($('codec').value) receive.codec = $('codec').value;
  if (Object.keys(receive).length) msg.receive = receive;
  mcu.ws.onopen = () => send(msg);
  mcu.ws.onmessage = (ev) => onMessage(JSON.parse(ev.data)).catch((e) => {
    mcu.errors.push({ code: 'client', message: String(e) });
    status('Error: ' + e);
  });
  mcu.ws.onclose = () => status('Disconnected.');
  $('join').disabled = true;
  $('leave').disabled = false;
}

function leave() {
  send({ type: 'leave' });
  if (mcu.pc) mcu.pc.close();
  if (mcu.ws) mcu.ws.close();
  if (mcu.synthetic) { clearInterval(mcu.synthetic.timer); mcu.synthetic.ctx.close(); }
  for (const v of ['self', 'mix']) {
    const s = $(v).srcObject;
    if (s) s.getTracks().forEach((t) => t.stop());
    $(v).srcObject = null;
  }
  Object.assign(mcu, { pc: null, ws: null, id: null, synthetic: null });
  mcu.participants.clear();
  mcu.remoteStream = new MediaStream();
  renderParticipants();
  $('join').disabled = false;
  $('leave').disabled = true;
  status('Left.');
}

// ---- helpers for tests: what the received mix looks and sounds like ----

// Average RGB of a small square of the received video at (x, y) in [0,1] coordinates.
mcu.pixel = (x, y) => {
  const v = $('mix');
  if (!v.videoWidth) return null;
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0);
  const px = Math.floor(x * c.width), py = Math.floor(y * c.height);
  const d = g.getImageData(px - 4, py - 4, 9, 9).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
  const n = d.length / 4;
  return sum.map((s) => Math.round(s / n));
};

// Level (dB) of the received audio at each of the given frequencies.
mcu.toneLevels = async (freqs) => {
  if (mcu.remoteStream.getAudioTracks().length === 0) throw new Error('no audio received yet');
  if (!mcu.audioCtx) {
    mcu.audioCtx = new AudioContext();
    const el = new Audio();
    el.muted = true;
    el.srcObject = mcu.remoteStream; // Chromium needs the stream on an element to pull audio
    el.play().catch(() => {});
    mcu.audioEl = el;
    mcu.analyser = mcu.audioCtx.createAnalyser();
    mcu.analyser.fftSize = 8192;
    mcu.analyser.smoothingTimeConstant = 0; // each reading is the last 170 ms only
    mcu.audioCtx.createMediaStreamSource(mcu.remoteStream).connect(mcu.analyser);
    await new Promise((r) => setTimeout(r, 500));
  }
  const bins = new Float32Array(mcu.analyser.frequencyBinCount);
  mcu.analyser.getFloatFrequencyData(bins);
  const hz = mcu.audioCtx.sampleRate / mcu.analyser.fftSize;
  return freqs.map((f) => {
    const i = Math.round(f / hz);
    return Math.max(bins[i - 1], bins[i], bins[i + 1]);
  });
};

mcu.inboundVideo = async () => {
  const stats = await mcu.pc.getStats();
  for (const s of stats.values()) if (s.type === 'inbound-rtp' && s.kind === 'video') return s;
  return null;
};

// The browser's estimate of its uplink (bit/s; the selected candidate pair's
// availableOutgoingBitrate): with transport-cc it runs on the server's feedback.
mcu.outgoingBitrate = async () => {
  const stats = await mcu.pc.getStats();
  for (const s of stats.values()) if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate) return s.availableOutgoingBitrate;
  return null;
};

// The video codecs in use: { in: 'video/H264', out: 'video/VP8' } (null where none).
mcu.videoCodecs = async () => {
  const stats = await mcu.pc.getStats();
  const mime = (s) => (s && s.codecId && stats.get(s.codecId) ? stats.get(s.codecId).mimeType : null);
  let inb = null, outb = null;
  for (const s of stats.values()) {
    if (s.kind !== 'video') continue;
    if (s.type === 'inbound-rtp') inb = s;
    if (s.type === 'outbound-rtp') outb = s;
  }
  return { in: mime(inb), out: mime(outb) };
};

// Changes the colour of the generated picture; returns the time of the change (ms).
mcu.setColor = (c) => { mcu.synthetic.color = c; return performance.timeOrigin + performance.now(); };

// Resolves with the time (ms) at which the received mix first shows `rgb` at (x, y).
mcu.waitForColor = (x, y, rgb, tol) => new Promise((resolve) => {
  const v = $('mix');
  const check = () => {
    const p = mcu.pixel(x, y);
    if (p && p.every((c, i) => Math.abs(c - rgb[i]) <= tol)) resolve(performance.timeOrigin + performance.now());
    else v.requestVideoFrameCallback(check);
  };
  v.requestVideoFrameCallback(check);
});

mcu.join = join;
mcu.leave = leave;

$('join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  join($('room').value, $('name').value);
});
$('leave').addEventListener('click', leave);
if (params.get('room')) $('room').value = params.get('room');
if (params.get('name')) $('name').value = params.get('name');
if (params.get('synthetic')) $('synthetic').checked = true;
if (params.get('codec')) $('codec').value = params.get('codec');
if (params.get('receive')) $('receive').value = params.get('receive');
if (params.get('autojoin')) join($('room').value, $('name').value);
