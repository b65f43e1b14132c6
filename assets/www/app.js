// app.js - the demo page: join a room over WebSocket signaling (docs/PROTOCOL.md), send the
// camera and microphone (or a generated test source), and show the one mixed stream the server
// sends back. Works in Chromium and Firefox; plain JS, no build step. Query parameters (for
// tests and demos):
//   ?room=R&name=N&autojoin=1&synthetic=1&color=%23ff0000&tone=440&token=T&codec=h264&receive=low
//   &viewer=1&screen=%2300ff00&simulcast=1&layer_control=0
// (token: an access token from `mcu token ROOM`, needed when the server has a secret;
// codec: "vp8" or "h264" sends and receives only that video codec, for devices that decode one
// in hardware; default: the browser's order, which the server follows; receive: "low" asks for
// at most 640x360 at 15 fps (a low-power device), "minimal" for 320x180 at 15 fps; viewer:
// join sending nothing, receiving the mix; screen: the colour of the generated screen that
// "Share screen" sends with synthetic=1, instead of asking for one with getDisplayMedia;
// simulcast: the camera at 1280x720 as three layers, of which the server decodes one, and
// which the page pauses as the server asks unless layer_control=0).
// In a call: mute the microphone and camera (the track is disabled and the server told, which
// then drops that media), pick devices (switched with replaceTrack, no renegotiation), see who
// is there, speaking and muted, rename oneself, see the room's recording state; after a network
// drop the page joins again by itself (backoff 1, 2, 4, 8, 10 s), keeping room, name, mutes and
// devices; in a cluster it learns every node from /api/config and, when its node does not
// answer, tries the next one. "Share screen" adds the screen to the call by renegotiation (a new offer on the same
// connection naming its m-line) and the server shows it large for everyone; one presenter at a
// time; a rejoin stops it. window.mcu exposes the state and helpers that the end-to-end tests use.
'use strict';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const flag = (k) => { const v = params.get(k); return v !== null && v !== '' && v !== '0' && v !== 'false'; };
const KINDS = ['audio', 'video'];
const WORD = { audio: 'microphone', video: 'camera' };

const mcu = {
  ws: null, pc: null, id: null, room: null, name: null,
  state: 'idle', // idle, connecting, connected, reconnecting
  participants: new Map(), // id -> name, everyone but us
  speaker: null,
  muteState: new Map(), // id -> {audio, video}: the server's `muted` messages (us included)
  muted: { audio: false, video: false }, // our own mute: what we asked for
  moderatorMuted: { audio: false, video: false }, // held muted by a moderator (as far as we know)
  recording: null, // the room's last `recording` message ({state, file, error})
  recordingFile: '', // the last file name the server gave
  reconnects: 0, // automatic rejoin attempts since the page loaded
  nodes: [], // in a cluster: every node's URL (/api/config), to reconnect to another one
  node: '', // the node we connect to ('' = this page's own server)
  removed: null, // the reason, after a `removed` message
  viewer: false,
  devices: { audio: '', video: '' }, // chosen deviceIds ('' for the default)
  localStream: null,
  remoteStream: new MediaStream(),
  tracks: [], // every track received on this connection (one video and one audio)
  errors: [],
  outputs: [], // every "output" message, in order
  layers: null, // simulcast=1: the layers the server last asked us to send (null: all)
  pendingCandidates: [],
  audioCtx: null,
  synthetic: null,
  conn: null, // the current connection: {ws, pc, joined, ...}
  attempt: 0, // reconnect attempts since the last connected call (the backoff)
  unmuteAt: { audio: 0, video: 0 }, // when we last asked to unmute (waiting for the server)
  share: null, // our screen share: {state: starting, on or stopping, conn, track, timer}
  presenter: null, // the id of who presents a screen (the server's `presentation`), or null
  presentations: [], // every "presentation" message, in order
};
window.mcu = mcu;

function status(text) { $('status').textContent = text; }
function show(el, text) { $(el).textContent = text || ''; $(el).hidden = !text; }
function store(k, v) { try { localStorage.setItem('mcu.' + k, v); } catch (e) { /* private mode */ } }
function stored(k) { try { return localStorage.getItem('mcu.' + k) || ''; } catch (e) { return ''; } }

// ---- rendering ----

function render() {
  renderParticipants();
  renderControls();
  renderShare();
  renderRecording();
}

// Small inline icons (no icon font, no emoji font needed); `off` strikes one through.
const ICONS = {
  mic: 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11z',
  camera: 'M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11z',
  speaker: 'M3 9v6h4l5 5V4L7 9H3zm13.5 3A4.5 4.5 0 0 0 14 7.97v8.05A4.5 4.5 0 0 0 16.5 12zM14 3.23v2.06a7 7 0 0 1 0 13.42v2.06A9 9 0 0 0 14 3.23z',
  screen: 'M20 3H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h5v2H7v2h10v-2h-2v-2h5a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2zm0 13H4V5h16z',
};
function icon(name, off) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '1.1em');
  svg.setAttribute('height', '1.1em');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('fill', 'currentColor');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.appendChild(path);
  if (off) {
    const line = document.createElementNS(NS, 'line');
    for (const [k, v] of Object.entries({ x1: 3, y1: 3, x2: 21, y2: 21, stroke: 'currentColor', 'stroke-width': 2.5 }))
      line.setAttribute(k, v);
    svg.appendChild(line);
  }
  return svg;
}

function badge(name, off, label, cls) {
  const s = document.createElement('span');
  s.className = 'badge ' + cls;
  s.setAttribute('role', 'img');
  s.setAttribute('aria-label', label);
  s.title = label;
  s.appendChild(icon(name, off));
  return s;
}

function renderParticipants() {
  const ul = $('participants');
  ul.textContent = '';
  const add = (id, name, me) => {
    const li = document.createElement('li');
    li.dataset.id = id;
    const n = document.createElement('span');
    n.className = 'pname';
    n.textContent = name;
    li.appendChild(n);
    if (me) {
      li.classList.add('me');
      const y = document.createElement('span');
      y.className = 'you';
      y.textContent = ' (you)';
      li.appendChild(y);
    }
    const m = mcu.muteState.get(id) || { audio: false, video: false };
    const audio = m.audio || (me && mcu.muted.audio), video = m.video || (me && mcu.muted.video);
    if (id === mcu.presenter) {
      li.classList.add('presenting');
      li.appendChild(badge('screen', false, 'presenting a screen', 'presenting'));
    }
    if (id === mcu.speaker) {
      li.classList.add('speaking');
      li.appendChild(badge('speaker', false, 'speaking', 'speaking'));
    }
    if (audio) { li.classList.add('muted-audio'); li.appendChild(badge('mic', true, 'microphone muted', 'mic-off')); }
    if (video) { li.classList.add('muted-video'); li.appendChild(badge('camera', true, 'camera off', 'cam-off')); }
    ul.appendChild(li);
  };
  if (mcu.id) add(mcu.id, mcu.name, true);
  for (const [id, name] of mcu.participants) add(id, name, false);
  $('count').textContent = mcu.id ? `(${mcu.participants.size + 1})` : '';
}

function hasTrack(kind) {
  return !!(mcu.localStream && mcu.localStream.getTracks().some((t) => t.kind === kind));
}

function renderControls() {
  const inCall = mcu.state !== 'idle';
  const viewer = inCall ? mcu.viewer : $('viewer').checked;
  const synthetic = $('synthetic').checked;
  for (const kind of KINDS) {
    const btn = $('mute-' + kind);
    const held = mcu.moderatorMuted[kind];
    const muted = mcu.muted[kind] || held;
    btn.setAttribute('aria-pressed', String(muted));
    btn.classList.toggle('held', held);
    btn.disabled = viewer || (inCall && !hasTrack(kind));
    btn.querySelector('.icon').replaceChildren(icon(kind === 'audio' ? 'mic' : 'camera', muted));
    btn.title = btn.disabled ? `no ${WORD[kind]} in this call`
      : held ? `muted by a moderator: only a moderator can unmute your ${WORD[kind]}`
        : muted ? `your ${WORD[kind]} is off: press to turn it on` : `your ${WORD[kind]} is on: press to turn it off`;
  }
  for (const [sel, kind] of [['mic', 'audio'], ['camera', 'video']])
    $(sel).disabled = viewer || synthetic || (inCall && !hasTrack(kind));
  const held = KINDS.filter((k) => mcu.moderatorMuted[k]).map((k) => WORD[k]);
  show('moderated', held.length ? `A moderator muted your ${held.join(' and ')}. ` +
    `${held.length > 1 ? 'They stay' : 'It stays'} muted until a moderator unmutes you.` : '');
  $('rename').disabled = $('rename-button').disabled = mcu.state !== 'connected' && mcu.state !== 'connecting';
  $('you-send').hidden = viewer;
}

// Who presents (null: nobody): "You", or a participant's name.
function presenterName() {
  if (!mcu.presenter) return null;
  return mcu.presenter === mcu.id ? 'You' : mcu.participants.get(mcu.presenter) || 'Someone';
}

function canShare() {
  return !!mcu.synthetic || !!(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
}

// The share button: "Share screen", "Stop sharing", or who presents instead (one at a time).
function renderShare() {
  const btn = $('share');
  const st = shareState();
  const who = presenterName();
  const other = who && who !== 'You' ? who : null;
  const sharing = st === 'starting' || st === 'on';
  btn.setAttribute('aria-pressed', String(sharing));
  btn.disabled = st === 'stopping' ||
    (st === 'off' && (mcu.state !== 'connected' || mcu.viewer || !canShare() || !!other));
  btn.querySelector('.icon').replaceChildren(icon('screen', false));
  btn.querySelector('.label').textContent = st === 'stopping' ? 'Stopping…' : sharing ? 'Stop sharing'
    : other ? `${other} is presenting` : 'Share screen';
  btn.title = sharing ? 'Stop showing your screen to everyone'
    : st === 'stopping' ? 'Your screen is being taken off'
      : mcu.viewer ? 'Watching only: you send nothing'
        : !canShare() ? 'This browser cannot share its screen here'
          : other ? `${other} is presenting: one screen at a time`
            : mcu.state !== 'connected' ? 'Join a call to share your screen' : 'Show your screen to everyone, large';
  show('presenting', st === 'starting' ? 'Starting to share your screen…'
    : st === 'on' ? 'You are presenting your screen to everyone.'
      : other ? `${other} is presenting their screen.` : '');
}

function renderRecording() {
  const r = mcu.recording;
  const live = !!r && (r.state === 'starting' || r.state === 'recording');
  const badgeEl = $('rec-badge');
  badgeEl.hidden = !live;
  badgeEl.title = live ? 'This call is being recorded' : '';
  const file = mcu.recordingFile;
  let info = '';
  if (live) info = r.state === 'starting' ? 'Recording starts…' : `Recording${file ? ': ' + file : '…'}`;
  else if (r && (r.state === 'stopping' || r.state === 'finished')) info = `Recording finished${file ? ': ' + file : ''}`;
  else if (r && r.state === 'failed') info = `Recording failed${file ? ' (' + file + ')' : ''}: ${r.error || 'unknown error'}`;
  show('rec-info', info);
}

// ---- local media ----

// A generated source: a canvas of one colour with a moving bar and the name, and a sine tone.
function syntheticMedia(color, tone, name) {
  const canvas = document.createElement('canvas');
  const W = SIMULCAST ? 1280 : 640, H = W * 9 / 16; // simulcast: large enough for 3 layers
  canvas.width = W; canvas.height = H;
  const g = canvas.getContext('2d');
  let frame = 0;
  const draw = () => {
    g.fillStyle = mcu.synthetic ? mcu.synthetic.color : color; g.fillRect(0, 0, W, H);
    g.fillStyle = 'rgba(0,0,0,0.5)'; g.fillRect((frame * 4) % W, 0, W / 40, H / 9);
    g.fillStyle = '#000'; g.font = `${H / 13}px sans-serif`; g.fillText(mcu.name || name, 12, H - 12);
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

// simulcast=1: the camera goes out as three layers (rids q, h, f at 1/4, 1/2 and full size)
// and the server decodes the one its tile needs (docs/PROTOCOL.md, "Simulcast").
const SIMULCAST = flag('simulcast');
const LAYER_CONTROL = SIMULCAST && params.get('layer_control') !== '0'; // 0: send every layer
const LAYERS = [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 },
  { rid: 'f' }];
// Sends only the layers in `rids` (setParameters: no renegotiation); mcu.layers keeps the
// last list for the tests.
async function setActiveLayers(conn, rids) {
  const sender = conn.tr && conn.tr.video && conn.tr.video.sender;
  if (!sender || !sender.track) return;
  const p = sender.getParameters();
  if (!p.encodings || p.encodings.length < 2) return;
  for (const e of p.encodings) e.active = rids.includes(e.rid);
  try {
    await sender.setParameters(p);
    mcu.layers = rids;
  } catch (e) {
    mcu.errors.push({ code: 'layers', message: String(e) });
  }
}
const VIDEO = SIMULCAST ? { width: 1280, height: 720 } : { width: 640, height: 360 };
const constraint = (kind, id) => (kind === 'audio' ? (id ? { deviceId: { exact: id } } : true)
  : { ...VIDEO, ...(id && { deviceId: { exact: id } }) });

async function localMedia() {
  if (mcu.viewer) return null;
  if ($('synthetic').checked) {
    const color = params.get('color') || '#3366cc';
    const tone = Number(params.get('tone') || 440);
    return syntheticMedia(color, tone, $('name').value);
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
    throw new Error('this browser gives no camera or microphone here (the page needs https or localhost)');
  const gum = (c) => navigator.mediaDevices.getUserMedia(c);
  let first;
  // the chosen devices; then the defaults (a chosen one may be gone); then one kind alone
  for (const c of [{ audio: constraint('audio', mcu.devices.audio), video: constraint('video', mcu.devices.video) },
    { audio: true, video: VIDEO }, { audio: true }, { video: VIDEO }]) {
    try {
      const s = await gum(c);
      if (!c.video || !c.audio) status(`Joining without a ${c.audio ? 'camera' : 'microphone'} (${first.message})`);
      return s;
    } catch (e) {
      first = first || e;
      if (e.name === 'NotAllowedError') break; // refused: asking again will not help
    }
  }
  throw new Error(`no microphone or camera could be opened (${first.name}: ${first.message}); ` +
    'tick "watch only" to join as a viewer');
}

function stopLocal() {
  if (mcu.synthetic) { clearInterval(mcu.synthetic.timer); mcu.synthetic.ctx.close(); }
  if (mcu.localStream) mcu.localStream.getTracks().forEach((t) => t.stop());
  mcu.localStream = null;
  mcu.synthetic = null;
  $('self').srcObject = null;
}

// Enables each local track unless we muted it or the server says it is muted (a moderator's
// mute holds until a moderator lifts it: then the server's state stays muted after ours is off).
function applyMutes() {
  const me = mcu.id ? mcu.muteState.get(mcu.id) : null;
  for (const kind of KINDS) {
    const server = !!(me && me[kind]);
    const waiting = Date.now() - mcu.unmuteAt[kind] < 1500; // our unmute not answered yet
    mcu.moderatorMuted[kind] = server && !mcu.muted[kind] && !waiting;
    const on = !mcu.muted[kind] && !server;
    if (mcu.localStream) for (const t of mcu.localStream.getTracks()) if (t.kind === kind) t.enabled = on;
  }
}

function setMuted(kind, muted) {
  if (mcu.viewer && mcu.state !== 'idle') return;
  if (mcu.moderatorMuted[kind] && !muted) {
    show('notice', `Only a moderator can unmute your ${WORD[kind]}.`);
    return;
  }
  mcu.muted[kind] = muted;
  if (!muted) {
    mcu.unmuteAt[kind] = Date.now();
    setTimeout(() => { applyMutes(); render(); }, 1600); // a moderator's mute shows if it holds
  }
  send({ type: 'mute', [kind]: muted });
  applyMutes();
  render();
}

// Device lists, refreshed on devicechange (labels appear once the page may use a device).
async function refreshDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
  let list;
  try { list = await navigator.mediaDevices.enumerateDevices(); } catch (e) { return; }
  for (const [sel, kind, word] of [['mic', 'audioinput', 'Microphone'], ['camera', 'videoinput', 'Camera']]) {
    const el = $(sel);
    const want = mcu.devices[kind === 'audioinput' ? 'audio' : 'video'];
    el.textContent = '';
    el.appendChild(new Option('default', ''));
    let n = 0;
    for (const d of list) {
      if (d.kind !== kind || !d.deviceId || d.deviceId === 'default' || d.deviceId === 'communications') continue;
      el.appendChild(new Option(d.label || `${word} ${++n}`, d.deviceId));
    }
    el.value = [...el.options].some((o) => o.value === want) ? want : '';
  }
}

// The devices in use, as chosen (after getUserMedia or a switch).
function noteDevices() {
  if (!mcu.localStream || mcu.synthetic) return;
  for (const t of mcu.localStream.getTracks()) {
    const id = t.getSettings ? t.getSettings().deviceId : '';
    if (id) mcu.devices[t.kind] = id;
  }
}

// Switches to another microphone or camera: in a call, a new track goes to the same sender
// (RTCRtpSender.replaceTrack: no renegotiation); otherwise the choice applies at the next join.
async function switchDevice(kind, deviceId) {
  mcu.devices[kind] = deviceId;
  store('device.' + kind, deviceId);
  const old = mcu.localStream && mcu.localStream.getTracks().find((t) => t.kind === kind);
  if (!old || mcu.synthetic) return null;
  const open = async () => (await navigator.mediaDevices.getUserMedia({ [kind]: constraint(kind, deviceId) })).getTracks()[0];
  let track;
  try {
    track = await open();
  } catch (e) {
    if (kind !== 'video') { show('notice', `Could not open that ${WORD[kind]}: ${e.message}`); return null; }
    old.stop(); // a phone opens one camera at a time
    try {
      track = await open();
    } catch (e2) {
      show('notice', `Could not open that ${WORD[kind]}: ${e2.message}`);
      track = (await navigator.mediaDevices.getUserMedia({ video: VIDEO })).getTracks()[0]; // the default
    }
  }
  if (!mcu.localStream) { track.stop(); return null; } // left meanwhile
  mcu.localStream.removeTrack(old);
  mcu.localStream.addTrack(track);
  watchTrack(track);
  applyMutes();
  const tr = mcu.conn && mcu.conn.tr && mcu.conn.tr[kind];
  if (tr) await tr.sender.replaceTrack(track);
  old.stop(); // after the sender has let go of it
  $('self').srcObject = mcu.localStream;
  refreshDevices();
  return track;
}

// A device unplugged mid-call: fall back to the default one.
function watchTrack(t) {
  t.addEventListener('ended', () => {
    if (mcu.localStream && mcu.localStream.getTracks().includes(t) && mcu.state !== 'idle')
      switchDevice(t.kind, '').catch(() => {});
  });
}

// ---- signaling and the peer connection ----

function send(msg) {
  if (mcu.ws && mcu.ws.readyState === WebSocket.OPEN) mcu.ws.send(JSON.stringify(msg));
}

async function iceServers() {
  try {
    const token = params.get('token');
    const r = await fetch('/api/config',
      token ? { headers: { Authorization: 'Bearer ' + token } } : {});
    const cfg = await r.json();
    if (Array.isArray(cfg.nodes)) mcu.nodes = cfg.nodes; // kept if this server dies
    return cfg.iceServers || [];
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

const live = (conn) => conn === mcu.conn;

// One transceiver per kind: sendrecv with our track, or recvonly (a viewer, or no such device).
async function startCall(conn) {
  const pc = new RTCPeerConnection({ iceServers: await iceServers(), bundlePolicy: 'max-bundle' });
  if (!live(conn)) { pc.close(); return; }
  conn.pc = pc;
  mcu.pc = pc;
  const s = mcu.localStream;
  conn.tr = {};
  for (const kind of KINDS) {
    const track = s && s.getTracks().find((t) => t.kind === kind);
    const layers = SIMULCAST && kind === 'video' ? { sendEncodings: LAYERS } : {};
    conn.tr[kind] = pc.addTransceiver(track || kind,
      track ? { direction: 'sendrecv', streams: [s], ...layers } : { direction: 'recvonly' });
  }
  onlyCodec(pc, $('codec').value);
  pc.ontrack = (ev) => {
    if (!live(conn)) return;
    mcu.tracks.push(ev.track.kind);
    mcu.remoteStream.addTrack(ev.track);
    $('mix').srcObject = mcu.remoteStream;
  };
  pc.onicecandidate = (ev) => live(conn) && send({
    type: 'candidate',
    candidate: ev.candidate ? ev.candidate.candidate : null,
    sdpMid: ev.candidate ? ev.candidate.sdpMid : undefined,
    sdpMLineIndex: ev.candidate ? ev.candidate.sdpMLineIndex : undefined,
  });
  pc.onconnectionstatechange = () => {
    if (!live(conn)) return;
    const st = pc.connectionState;
    clearTimeout(conn.discTimer);
    if (st === 'connected') {
      clearTimeout(conn.timer);
      mcu.state = 'connected';
      mcu.attempt = 0;
      status(`In room ${mcu.room}` + (mcu.viewer ? ', watching' : '') + '.');
      render();
    } else if (st === 'failed') {
      lost('the media connection failed');
    } else if (st === 'disconnected') { // often recovers by itself; give it a few seconds
      status('Connection interrupted…');
      conn.discTimer = setTimeout(() => live(conn) && pc.connectionState !== 'connected' &&
        lost('the media connection was lost'), 4000);
    }
  };
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  if (live(conn)) send({ type: 'offer', sdp: pc.localDescription.sdp });
}

// A later offer on the same connection, once the one before is answered (one at a time):
// extra() gives more fields once the offer is set (a new transceiver has its mid only then).
// Resolves when answered; rejects when refused (offer-failed: rolled back, nothing changed).
function renegotiate(conn, extra) {
  const next = async () => {
    if (!live(conn)) throw new Error('the call reconnected');
    const answered = new Promise((resolve, reject) => { conn.answerWait = { resolve, reject }; });
    answered.catch(() => {}); // handled by our caller; not "unhandled" if the offer throws first
    await conn.pc.setLocalDescription(await conn.pc.createOffer());
    send({ type: 'offer', sdp: conn.pc.localDescription.sdp, ...extra() });
    return answered;
  };
  conn.offers = conn.offers.catch(() => {}).then(next);
  return conn.offers;
}

// An offer refused after the call was set up: the session goes on as negotiated before. An
// unanswered offer is rolled back; a screen that was answered but not taken is stopped.
async function reofferFailed(conn, msg) {
  const wait = conn.answerWait;
  if (wait && conn.pc.signalingState === 'have-local-offer') {
    conn.answerWait = null;
    await conn.pc.setLocalDescription({ type: 'rollback' });
    wait.reject(new Error(msg.message));
  } else if (mcu.share && mcu.share.state !== 'stopping') {
    stopShare(`Your screen is not shown: ${msg.message}`); // not awaited: it waits for an answer
  } else {
    show('notice', `The server refused a change to the call: ${msg.message}`);
  }
}

// ---- sharing the screen ----
// A second video transceiver, sendonly, named as the "screen" of a new offer. Stopping makes
// it inactive, with another offer. The server rejects an inactive extra m-line (port 0), which
// stops that transceiver: the next share then adds one, which the browser puts on the same
// m-line (JSEP recycles a rejected one); a transceiver not stopped (an offer rolled back) is
// reused. Either way the offer keeps three m-lines.

const shareState = () => (mcu.share ? mcu.share.state : 'off');

// The screen's transceiver if it can send again (not stopped by a rejected m-line), or null.
function screenTransceiver(conn) {
  const tr = conn.screenTr;
  return tr && conn.pc.getTransceivers().includes(tr) && tr.currentDirection !== 'stopped' &&
    tr.direction !== 'stopped' ? tr : null;
}

// A generated screen (synthetic mode): a canvas of one colour, redrawn at 5 fps so frames flow.
function syntheticScreen(share, color) {
  const canvas = document.createElement('canvas');
  canvas.width = 640; canvas.height = 360;
  const g = canvas.getContext('2d');
  let frame = 0;
  const draw = () => {
    g.fillStyle = color; g.fillRect(0, 0, 640, 360);
    g.fillStyle = 'rgba(0,0,0,0.5)'; g.fillRect((frame++ * 16) % 640, 344, 16, 16); // motion, bottom edge
  };
  draw();
  share.timer = setInterval(draw, 200);
  return canvas.captureStream(5).getVideoTracks()[0];
}

async function screenTrack(share) {
  if (mcu.synthetic) return syntheticScreen(share, params.get('screen') || '#2e8b57');
  if (!canShare()) throw new Error('this browser cannot share its screen here');
  return (await navigator.mediaDevices.getDisplayMedia({ video: true })).getVideoTracks()[0];
}

function releaseScreen(share) {
  clearInterval(share.timer);
  if (share.track) share.track.stop();
}

async function startShare() {
  const conn = mcu.conn;
  if (mcu.share || mcu.state !== 'connected' || mcu.viewer || !conn || !conn.pc) return;
  const share = { state: 'starting', conn, track: null, timer: null };
  mcu.share = share;
  show('notice', '');
  renderShare();
  const current = () => mcu.share === share && share.state === 'starting' && live(conn);
  try {
    share.track = await screenTrack(share);
    if (!current()) { releaseScreen(share); return; }
    share.track.addEventListener('ended', () => mcu.share === share && stopShare()); // the browser's "Stop sharing"
    let tr = screenTransceiver(conn);
    if (tr) { // an earlier share's
      tr.direction = 'sendonly';
      await tr.sender.replaceTrack(share.track);
    } else {
      tr = conn.screenTr = conn.pc.addTransceiver(share.track, { direction: 'sendonly' });
      onlyCodec(conn.pc, $('codec').value);
    }
    if (!current()) return;
    await renegotiate(conn, () => ({ screen: tr.mid }));
  } catch (e) {
    if (!current()) return;
    releaseScreen(share);
    const tr = live(conn) && screenTransceiver(conn);
    if (tr) tr.direction = 'inactive';
    mcu.share = null;
    show('notice', `Could not share your screen: ${e.message}`);
    renderShare();
  }
}

// Stops sharing: the m-line inactive and a new offer without "screen". notice: why, if not asked.
async function stopShare(notice) {
  const share = mcu.share;
  if (!share || share.state === 'stopping') return;
  share.state = 'stopping';
  if (notice) show('notice', notice);
  releaseScreen(share);
  renderShare();
  const { conn } = share, tr = live(conn) && screenTransceiver(conn);
  try {
    if (tr && tr.direction !== 'inactive') {
      tr.direction = 'inactive';
      await tr.sender.replaceTrack(null);
      await renegotiate(conn, () => ({}));
    }
  } catch (e) {
    if (live(conn)) send({ type: 'screen', mid: null }); // the server stops presenting it anyway
  }
  if (mcu.share === share) { mcu.share = null; renderShare(); }
}

// The connection is gone: so is the share (a rejoin starts without it). True if there was one.
function dropShare() {
  const share = mcu.share;
  if (!share) return false;
  releaseScreen(share);
  mcu.share = null;
  return true;
}

// Errors after which joining again would only fail again.
const FATAL = new Set(['unauthorized', 'room-full', 'server-full', 'bad-field', 'missing-field',
  'bad-json', 'already-joined', 'bad-sdp', 'unknown-type']);

async function onMessage(conn, msg) {
  switch (msg.type) {
    case 'joined': {
      conn.joined = true;
      mcu.id = msg.id;
      mcu.room = msg.room;
      mcu.participants.clear();
      for (const p of msg.participants) mcu.participants.set(p.id, p.name);
      const mutes = {};
      for (const kind of KINDS) if (mcu.muted[kind] && !mcu.viewer) mutes[kind] = true;
      if (Object.keys(mutes).length) send({ type: 'mute', ...mutes }); // kept over a rejoin
      status(`Joined room ${msg.room}, connecting media…`);
      render();
      try {
        await startCall(conn);
      } catch (e) { // e.g. a codec this browser lacks: joining again would fail the same way
        if (!live(conn)) break;
        mcu.errors.push({ code: 'client', message: String(e) });
        endCall('Error: ' + e.message);
      }
      break;
    }
    case 'answer': { // the first offer's, or a later one's (renegotiate)
      if (!conn.pc) break;
      const wait = conn.answerWait;
      conn.answerWait = null;
      try {
        await conn.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      } catch (e) {
        if (wait) wait.reject(e);
        throw e;
      }
      for (const c of conn.pending.splice(0)) await conn.pc.addIceCandidate(c);
      if (wait) wait.resolve();
      break;
    }
    case 'candidate': {
      const c = msg.candidate ? { candidate: msg.candidate, sdpMid: msg.sdpMid, sdpMLineIndex: msg.sdpMLineIndex } : null;
      if (!c) break;
      if (conn.pc && conn.pc.remoteDescription) await conn.pc.addIceCandidate(c);
      else conn.pending.push(c);
      break;
    }
    case 'participant-joined':
      mcu.participants.set(msg.id, msg.name);
      renderParticipants();
      break;
    case 'participant-left':
      mcu.participants.delete(msg.id);
      mcu.muteState.delete(msg.id);
      if (mcu.speaker === msg.id) mcu.speaker = null;
      renderParticipants();
      break;
    case 'active-speaker':
      mcu.speaker = msg.id;
      renderParticipants();
      break;
    case 'muted':
      mcu.muteState.set(msg.id, { audio: !!msg.audio, video: !!msg.video });
      if (msg.id === mcu.id) {
        if (msg.by === 'self') mcu.unmuteAt = { audio: 0, video: 0 }; // our change is answered
        applyMutes();
        if (msg.by === 'moderator') show('notice', '');
      }
      render();
      break;
    case 'renamed':
      if (msg.id === mcu.id) {
        mcu.name = msg.name;
        $('name').value = msg.name;
        $('rename').value = msg.name;
        store('name', msg.name);
      } else {
        mcu.participants.set(msg.id, msg.name);
      }
      renderParticipants();
      renderShare(); // the presenter's name
      break;
    case 'recording':
      mcu.recording = { state: msg.state, file: msg.file, error: msg.error };
      if (msg.file) mcu.recordingFile = msg.file;
      renderRecording();
      break;
    case 'removed':
      mcu.removed = msg.reason || 'removed';
      endCall(`Removed from the call: ${mcu.removed}`);
      show('notice', `You were removed from the call: ${mcu.removed}. Press Join to join again.`);
      break;
    case 'layers': // the simulcast layers the server uses: pause the others
      await setActiveLayers(conn, msg.active || []);
      break;
    case 'presentation': // who presents a screen (null: nobody)
      mcu.presentations.push(msg);
      mcu.presenter = msg.id || null;
      if (shareState() === 'starting' && msg.id === mcu.id) mcu.share.state = 'on';
      else if (shareState() === 'on' && msg.id !== mcu.id) stopShare('Your screen is no longer presented.');
      render();
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
      if (msg.code === 'offer-failed' && conn.pc && conn.pc.remoteDescription) {
        await reofferFailed(conn, msg); // a later offer (the screen): the call goes on
      } else if (msg.code === 'not-allowed' && shareState() === 'starting') { // one presenter at a time
        stopShare(`Your screen is not shown: ${msg.message}.`);
      } else if (FATAL.has(msg.code) && (!conn.joined || msg.code === 'bad-sdp')) {
        endCall(`Could not join: ${msg.message} (${msg.code})`);
      } else if (['ice-failed', 'dtls-failed', 'server-busy', 'offer-failed'].includes(msg.code)) {
        lost(msg.message);
      } else {
        status('Error: ' + msg.message + ' (' + msg.code + ')');
      }
      break;
  }
}

// The receive profiles the page offers (docs/PROTOCOL.md, join).
const RECEIVE = {
  low: { max_width: 640, max_height: 360, max_fps: 15 },
  minimal: { max_width: 320, max_height: 180, max_fps: 15 },
};

// Opens one connection (WebSocket, then the peer connection once joined).
function connect() {
  const conn = { ws: null, pc: null, joined: false, pending: [], tr: null,
    inbox: Promise.resolve(), offers: Promise.resolve(), answerWait: null, screenTr: null };
  mcu.conn = conn;
  mcu.pendingCandidates = conn.pending;
  mcu.tracks = [];
  mcu.remoteStream = new MediaStream();
  const base = new URL(mcu.node || location.origin);
  const ws = new WebSocket((base.protocol === 'https:' ? 'wss' : 'ws') + '://' + base.host + '/ws');
  conn.ws = ws;
  mcu.ws = ws;
  const token = params.get('token');
  ws.onopen = () => {
    if (!live(conn)) return;
    conn.open = true;
    const msg = { type: 'join', room: mcu.room, name: mcu.name };
    if (token) msg.token = token;
    if (LAYER_CONTROL) msg.layer_control = true; // we pause the layers the server does not use
    const receive = { ...(RECEIVE[$('receive').value] || {}) };
    if ($('codec').value) receive.codec = $('codec').value;
    if (Object.keys(receive).length) msg.receive = receive;
    send(msg);
  };
  ws.onmessage = (ev) => {
    if (!live(conn)) return;
    let msg;
    try { msg = JSON.parse(ev.data); } catch (e) { return; }
    // one message at a time, in order (an answer is set before a following error is seen);
    // so a handler must not wait for a later message
    conn.inbox = conn.inbox.then(() => live(conn) && onMessage(conn, msg)).catch((e) => {
      if (!live(conn)) return;
      mcu.errors.push({ code: 'client', message: String(e) });
      status('Error: ' + e);
    });
  };
  ws.onclose = () => {
    if (!live(conn)) return;
    if (!conn.open) nextNode(); // this node does not answer: try another one of the cluster
    lost('the connection to the server closed');
  };
  // a join that does not get its media connected in time is tried again
  conn.timer = setTimeout(() => live(conn) && mcu.state !== 'connected' &&
    lost('the call did not connect'), 25000);
}

// Closes the current connection (telling the server if it still listens), keeps local media.
// Returns whether a screen share ended with it.
function closeConnection() {
  const conn = mcu.conn;
  mcu.conn = null;
  const shared = dropShare();
  if (conn) {
    if (conn.answerWait) conn.answerWait.reject(new Error('the connection closed'));
    clearTimeout(conn.timer);
    clearTimeout(conn.discTimer);
    if (conn.pc) conn.pc.close();
    if (conn.ws) {
      if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify({ type: 'leave' }));
      conn.ws.close(1000);
    }
  }
  for (const t of mcu.remoteStream.getTracks()) t.stop();
  $('mix').srcObject = null;
  Object.assign(mcu, { ws: null, pc: null, id: null, speaker: null, presenter: null });
  mcu.participants.clear();
  mcu.muteState.clear();
  if (mcu.recording && mcu.recording.state !== 'finished' && mcu.recording.state !== 'failed')
    mcu.recording = null; // the room tells a newcomer if it is still being recorded
  applyMutes();
  return shared;
}

// In a cluster, the next node to connect to (after one that did not answer).
function nextNode() {
  if (mcu.nodes.length < 2) return;
  const i = mcu.nodes.indexOf(mcu.node || location.origin);
  mcu.node = mcu.nodes[(i + 1) % mcu.nodes.length];
}

// An unexpected end of the connection: join again after a backoff of 1, 2, 4, 8, 10, 10... s.
function lost(why) {
  if (mcu.state === 'idle') return;
  if (closeConnection()) show('notice', 'Screen sharing stopped: the call reconnected. Share again once it is back.');
  const delay = Math.min(10000, 1000 * 2 ** mcu.attempt);
  mcu.attempt = Math.min(mcu.attempt + 1, 10);
  mcu.state = 'reconnecting';
  status(`Reconnecting… (${why}; trying again in ${delay / 1000} s)`);
  clearTimeout(mcu.retryTimer);
  mcu.retryTimer = setTimeout(() => {
    mcu.retryTimer = null;
    mcu.reconnects++;
    status(`Reconnecting… (attempt ${mcu.attempt})`);
    connect();
  }, delay);
  render();
}

function setForm(inCall) {
  for (const id of ['room', 'name', 'viewer', 'synthetic', 'codec', 'receive']) $(id).disabled = inCall;
  $('join').disabled = inCall;
  $('leave').disabled = !inCall;
}

async function join(room, name) {
  if (mcu.state !== 'idle') return;
  Object.assign(mcu, { room, name, viewer: $('viewer').checked, removed: null, attempt: 0, state: 'connecting' });
  store('name', name);
  $('rename').value = name;
  show('notice', '');
  setForm(true);
  status('Starting…');
  render();
  try {
    mcu.localStream = await localMedia();
  } catch (e) {
    mcu.errors.push({ code: 'client', message: String(e) });
    mcu.state = 'idle';
    setForm(false);
    status('Error: ' + e.message);
    render();
    return;
  }
  if (mcu.state !== 'connecting') { stopLocal(); return; } // left meanwhile
  if (mcu.localStream) {
    mcu.localStream.getTracks().forEach(watchTrack);
    noteDevices();
    refreshDevices();
  }
  $('self').srcObject = mcu.localStream;
  applyMutes();
  connect();
  render();
}

function endCall(text) {
  clearTimeout(mcu.retryTimer);
  mcu.retryTimer = null;
  closeConnection();
  stopLocal();
  mcu.state = 'idle';
  mcu.moderatorMuted = { audio: false, video: false };
  setForm(false);
  status(text);
  render();
}

function leave() { endCall('Left.'); }

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
  const track = mcu.remoteStream.getAudioTracks()[0];
  if (!track) throw new Error('no audio received yet');
  if (mcu.analysedTrack !== track) { // first call, or a new connection since
    if (!mcu.audioCtx) mcu.audioCtx = new AudioContext();
    if (mcu.audioSource) mcu.audioSource.disconnect();
    if (!mcu.audioEl) { mcu.audioEl = new Audio(); mcu.audioEl.muted = true; }
    mcu.audioEl.srcObject = mcu.remoteStream; // Chromium needs the stream on an element to pull audio
    mcu.audioEl.play().catch(() => {});
    mcu.analyser = mcu.audioCtx.createAnalyser();
    mcu.analyser.fftSize = 8192;
    mcu.analyser.smoothingTimeConstant = 0; // each reading is the last 170 ms only
    mcu.audioSource = mcu.audioCtx.createMediaStreamSource(new MediaStream([track]));
    mcu.audioSource.connect(mcu.analyser);
    mcu.analysedTrack = track;
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

// The track each of our senders sends now (null when none), e.g. after a device switch.
mcu.senderTracks = () => {
  const tr = mcu.conn && mcu.conn.tr;
  const out = {};
  for (const kind of KINDS) {
    const t = tr && tr[kind] && tr[kind].sender.track;
    out[kind] = t ? { id: t.id, label: t.label, enabled: t.enabled, deviceId: t.getSettings().deviceId || null } : null;
  }
  return out;
};

mcu.join = join;
mcu.leave = leave;
mcu.setMuted = setMuted;
mcu.switchDevice = switchDevice;
mcu.startShare = startShare;
mcu.stopShare = stopShare;
mcu.refreshDevices = refreshDevices;

// ---- wiring ----

$('join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  join($('room').value, $('name').value);
});
$('leave').addEventListener('click', leave);
for (const kind of KINDS) $('mute-' + kind).addEventListener('click', () => setMuted(kind, !(mcu.muted[kind] || mcu.moderatorMuted[kind])));
$('mic').addEventListener('change', () => switchDevice('audio', $('mic').value).catch((e) => show('notice', String(e))));
$('camera').addEventListener('change', () => switchDevice('video', $('camera').value).catch((e) => show('notice', String(e))));
$('share').addEventListener('click', () => (mcu.share ? stopShare() : startShare()));
$('viewer').addEventListener('change', renderControls);
$('synthetic').addEventListener('change', renderControls);
$('rename-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = $('rename').value.trim();
  if (!name || name === mcu.name) return;
  if (mcu.id) send({ type: 'rename', name }); // the page follows the server's `renamed`
  else { mcu.name = name; $('name').value = name; renderParticipants(); }
});
if (navigator.mediaDevices && navigator.mediaDevices.addEventListener)
  navigator.mediaDevices.addEventListener('devicechange', refreshDevices);

$('name').value = stored('name');
mcu.devices = { audio: stored('device.audio'), video: stored('device.video') };
if (params.get('room')) $('room').value = params.get('room');
if (params.get('name')) $('name').value = params.get('name');
if (flag('synthetic')) $('synthetic').checked = true;
if (flag('viewer')) $('viewer').checked = true;
if (params.get('codec')) $('codec').value = params.get('codec');
if (params.get('receive')) $('receive').value = params.get('receive');
refreshDevices();
render();
if (flag('autojoin')) join($('room').value, $('name').value);
