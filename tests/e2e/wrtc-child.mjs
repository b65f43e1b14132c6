// wrtc-child.mjs - a @roamhq/wrtc participant in a process of its own, so a test can kill it
// (SIGKILL: the kernel closes its sockets) or freeze it (SIGSTOP: its TCP connection stays
// open but nothing answers, not even ICE consent checks). Used by killed-client.test.mjs and
// churn.test.mjs.
//
// Child side (`node wrtc-child.mjs '<json config>'`, MCU_URL in the environment): runs
// participants of wrtc-client.mjs one after the other and prints one JSON object per line:
//   {ev:'msg', t, m}     a signaling message from the server (not candidates or answers)
//   {ev:'ready', t, ...} the first mixed video frame arrived (ICE, DTLS, SRTP and mix all work;
//                        audio-only participants: the first mixed audio)
//   {ev:'stat', t, frames, gap, open, w, h, tiles:{name:bool}, tones:{name:dB}}
//                        every `stat_ms`: video frames so far, the longest gap between two
//                        frames that ended in this period, how long since the last frame, and
//                        which of the watched colours (tiles) and tones are in the mix now
//   {ev:'left', t}, {ev:'closed', t}   after a `leave`, a `close`
// and reads commands, one per line on stdin: `join` (a new participant; the config's
// `autojoin` joins at start), `leave` (sends {"type":"leave"} on the WebSocket; the socket and
// the peer connection stay open until `close`), `close` (closes the peer connection and the
// WebSocket: without a leave before, the server sees only the WebSocket close), `exit`.
//
// Parent side (the exports): spawnChild() and, over its events, maxFrameGap() and
// stableSince(); ownServer() and stopServer() (a server on a port of the test's own, so the
// test knows its PID and gets its stderr: ASan/LeakSanitizer reports); the server's
// serverFds(), fdsSettle(), serverRss(), serverCpu(), isAsan() / asanBuild(); getJson() (HTTP
// without keep-alive, so the test holds no socket open in the server while it counts the
// server's file descriptors).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- child side

// Points of a 19x19 grid over the frame that are within tol of the colour on Y, U and V.
function colourPoints(f, yuv, tol = 30) {
  let n = 0;
  const cw = f.width / 2, ch = f.height / 2;
  for (let gy = 1; gy < 20; gy++) {
    for (let gx = 1; gx < 20; gx++) {
      const px = Math.floor((gx / 20) * f.width), py = Math.floor((gy / 20) * f.height);
      const y = f.data[py * f.width + px];
      const u = f.data[f.width * f.height + (py >> 1) * cw + (px >> 1)];
      const v = f.data[f.width * f.height + cw * ch + (py >> 1) * cw + (px >> 1)];
      if (Math.abs(y - yuv[0]) <= tol && Math.abs(u - yuv[1]) <= tol && Math.abs(v - yuv[2]) <= tol) n++;
    }
  }
  return n;
}

// Power (dB) of tone f in int16 samples, Hann-windowed (Goertzel): the window keeps the other
// participants' tones, 300 Hz and more away, from leaking into the bin, so an absent tone
// reads near the codec's noise floor. A full-scale-ish tone (amplitude 8000) reads about 66.
function tonePowerHann(samples, f, rate) {
  const n = samples.length, k = 2 * Math.cos((2 * Math.PI * f) / rate);
  let s1 = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    const s0 = samples[i] * w + k * s1 - s2;
    s2 = s1; s1 = s0;
  }
  return 10 * Math.log10((s1 * s1 + s2 * s2 - k * s1 * s2) / n / n + 1e-9);
}

async function childMain() {
  const cfg = JSON.parse(process.argv[2]);
  const WebSocket = (await import('ws')).default;
  const { participant } = await import('./wrtc-client.mjs');
  const out = (o) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + '\n');

  // wrtc-client keeps its WebSocket to itself: watch every socket's events to see the
  // server's messages and to be able to send a leave on the current one.
  let sock = null;
  const emit = WebSocket.prototype.emit;
  WebSocket.prototype.emit = function (ev, ...args) {
    if (ev === 'open') sock = this;
    if (ev === 'message') {
      try {
        const m = JSON.parse(args[0]);
        if (m.type !== 'candidate' && m.type !== 'answer' && m.type !== 'active-speaker') out({ ev: 'msg', m });
      } catch { /* not ours to judge */ }
    }
    return emit.call(this, ev, ...args);
  };

  let c = null, lastT = 0, gap = 0, ready = false, wrapped = null;
  const join = () => {
    c = participant(cfg.name, cfg.yuv, cfg.tone, cfg.room, cfg.opts || {});
    lastT = 0; gap = 0; ready = false; wrapped = null;
  };
  const stat = setInterval(() => {
    if (!c) return;
    const now = Date.now();
    // Time every frame as it reaches JavaScript (wrap the sink's handler once it exists).
    if (c.vsink && wrapped !== c.vsink) {
      wrapped = c.vsink;
      const orig = c.vsink.onframe;
      c.vsink.onframe = (e) => {
        orig(e);
        const t = Date.now();
        if (lastT) gap = Math.max(gap, t - lastT);
        lastT = t;
      };
    }
    const f = c.lastFrame;
    const audioOnly = cfg.opts?.mode === 'audio-only';
    if (!ready && (audioOnly ? c.audio.length > 0 : f && c.frames > 0)) {
      ready = true;
      out({ ev: 'ready', w: f?.width, h: f?.height, tracks: c.tracks });
    }
    const tiles = {}, tones = {};
    for (const w of cfg.watch || []) {
      if (f) tiles[w.name] = colourPoints(f, w.yuv) >= 3;
      if (c.audio.length >= 4800 && c.rate) tones[w.name] = +tonePowerHann(c.audio.slice(-4800), w.tone, c.rate).toFixed(1);
    }
    out({ ev: 'stat', frames: c.frames, gap, open: lastT ? now - lastT : -1, w: f?.width, h: f?.height, tiles, tones });
    gap = 0;
  }, cfg.stat_ms || 200);

  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'join') {
      join();
    } else if (cmd === 'leave') {
      if (sock && sock.readyState === 1) sock.send(JSON.stringify({ type: 'leave' }));
      out({ ev: 'left' });
    } else if (cmd === 'close') {
      const cl = c;
      c = null;
      if (cl) cl.close();
      out({ ev: 'closed' });
    } else if (cmd === 'exit') {
      clearInterval(stat);
      process.exit(0);
    }
  });
  // stdin closed: the parent is gone
  rl.on('close', () => process.exit(0));
  if (cfg.autojoin !== false) join();
}

// ---------------------------------------------------------------- parent side

// Spawns one participant process. Returns a handle with its events (each with t, the child's
// Date.now()), waitEvent(pred, timeout), send(cmd), kill(sig), and `exited` (a promise).
// prefix: a command to run node under (e.g. nsenter into another network namespace).
export function spawnChild(cfg, { url, prefix = [] } = {}) {
  const argv = [...prefix, process.execPath, path.join(HERE, 'wrtc-child.mjs'), JSON.stringify(cfg)];
  const proc = spawn(argv[0], argv.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, MCU_URL: url || process.env.MCU_URL },
  });
  const h = { cfg, name: cfg.name, proc, pid: proc.pid, events: [], stderr: '', waiters: [] };
  h.exited = new Promise((r) => proc.on('exit', (code, sig) => { h.exit = { code, sig }; r(h.exit); }));
  proc.stdin.on('error', () => { }); // a killed child's stdin: EPIPE
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    let e;
    try { e = JSON.parse(line); } catch { return; }
    h.events.push(e);
    if (e.ev === 'stat') h.stat = e;
    for (const w of [...h.waiters]) {
      if (w.pred(e)) { h.waiters.splice(h.waiters.indexOf(w), 1); w.resolve(e); }
    }
  });
  proc.stderr.on('data', (d) => { h.stderr = (h.stderr + d).slice(-4000); });
  h.send = (cmd) => { if (proc.exitCode === null && !proc.killed) proc.stdin.write(cmd + '\n'); };
  h.kill = (sig) => { try { process.kill(proc.pid, sig); } catch { /* gone */ } };
  // Resolves with the first event (already seen since `since`, or coming) that matches.
  h.waitEvent = (pred, { timeout = 20000, since = 0, what = 'event' } = {}) => {
    const seen = h.events.find((e) => e.t >= since && pred(e));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      h.waiters.push(w);
      setTimeout(() => {
        const i = h.waiters.indexOf(w);
        if (i < 0) return;
        h.waiters.splice(i, 1);
        reject(new Error(`${cfg.name}: timed out waiting for ${what} (stderr: ${h.stderr.slice(-500)})`));
      }, timeout).unref();
    });
  };
  h.msgs = (type, since = 0) => h.events.filter((e) => e.ev === 'msg' && e.m.type === type && e.t >= since);
  // Stat events in [from, to].
  h.stats = (from = 0, to = Infinity) => h.events.filter((e) => e.ev === 'stat' && e.t >= from && e.t <= to);
  return h;
}

// The longest time without a video frame in [from, to], from a child's stat events: the gaps
// that ended within each period and the gap still open at each report.
export function maxFrameGap(h, from, to) {
  let m = 0;
  for (const s of h.stats(from, to)) m = Math.max(m, s.gap, s.open);
  return m;
}

// First stat at or after `from` from which `pred` holds in every later stat up to `to`: the
// time a change (a tile or a tone gone) became stable. null if it never did.
export function stableSince(h, pred, from, to = Infinity) {
  let first = null;
  for (const s of h.stats(from, to)) {
    if (pred(s)) { if (first === null) first = s.t; } else first = null;
  }
  return first;
}

// A server of the test's own: stdout and stderr into one log file (ASan and LeakSanitizer
// write their reports to stderr). Resolves once it answers HTTP.
// `config`: an object written as the server's --config file (e.g. a smaller canvas); `env`:
// extra environment for the server only.
// `host`: the address it binds (and is asked on).
export async function ownServer(name, port, args = [], config = null, env = {}, host = '127.0.0.1') {
  const BUILD = process.env.BUILD || 'build';
  const logdir = path.join(BUILD, 'tests', 'logs', 'e2e');
  fs.mkdirSync(logdir, { recursive: true });
  const log = path.join(logdir, `${name}.own-server.log`);
  if (config) {
    const cfgPath = path.join(logdir, `${name}.own-server.json`);
    fs.writeFileSync(cfgPath, JSON.stringify(config));
    args = ['--config', cfgPath, ...args];
  }
  // MCU_TEST_ARGS: extra server flags to look into a failure, e.g. "--log-level debug"
  args = [...args, ...(process.env.MCU_TEST_ARGS || '').split(' ').filter(Boolean)];
  const fd = fs.openSync(log, 'w');
  // MCU_WRAPPER: a command to run the server under, e.g. valgrind (bench/leak-check.sh); it
  // must exec the server in the same process (valgrind does), so the PID is the server's.
  const wrap = (process.env.MCU_WRAPPER || '').split(' ').filter(Boolean);
  const argv = [...wrap, `${BUILD}/mcu`, '--bind', host, '--port', String(port), '--log-level', 'info', ...args];
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  fs.closeSync(fd);
  const s = { proc, pid: proc.pid, log, port, url: `http://${host}:${port}` };
  s.exited = new Promise((r) => proc.on('exit', (code, sig) => r({ code, sig })));
  s.logText = () => fs.readFileSync(log, 'utf8');
  for (let i = 0; i < (wrap.length ? 1200 : 200); i++) {
    try { await getJson(port, '/api/config', host); return s; } catch { /* not yet */ }
    if (proc.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`server ${name} did not start: ${s.logText().slice(-2000)}`);
}

// Stops the server with SIGTERM; returns {code, sig, report} where report is the sanitizer
// report (from the first "==PID==ERROR" or "SUMMARY:" line), if any, or the log's tail.
export async function stopServer(s, timeoutMs = 60000) {
  s.proc.kill('SIGTERM');
  const res = await Promise.race([s.exited, sleep(timeoutMs).then(() => null)]);
  if (!res) {
    s.proc.kill('SIGKILL');
    const r = await s.exited;
    return { ...r, timedOut: true, report: s.logText().slice(-3000) };
  }
  const text = s.logText();
  const i = text.search(/^=+\d+=+ERROR|^SUMMARY: |runtime error:/m);
  return { ...res, report: i >= 0 ? text.slice(i, i + 12000) : text.slice(-3000) };
}

// GET over a fresh connection that is closed after the reply (no keep-alive socket left in
// the server to skew its fd count).
export function getJson(port, p, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: p, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  });
}

// The server's open file descriptors: {n, kinds: {socket: n, anon_inode:[eventfd]: n, ...}, list}.
export function serverFds(pid) {
  const dir = `/proc/${pid}/fd`;
  const list = [];
  for (const fd of fs.readdirSync(dir)) {
    let target;
    try { target = fs.readlinkSync(`${dir}/${fd}`); } catch { continue; } // closed meanwhile
    list.push(`${fd} -> ${target}`);
  }
  const kinds = {};
  for (const l of list) {
    const k = l.split(' -> ')[1].replace(/^(socket|pipe):\[\d+\]$/, '$1').replace(/^\/.*/, 'file');
    kinds[k] = (kinds[k] || 0) + 1;
  }
  return { n: list.length, kinds, list };
}

// VmRSS in kB, and the number of threads.
export function serverRss(pid) {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKb: Number(/VmRSS:\s+(\d+)/.exec(st)[1]), threads: Number(/Threads:\s+(\d+)/.exec(st)[1]) };
}

// True if $BUILD/mcu is built with AddressSanitizer (before starting it).
export function asanBuild() {
  try {
    return fs.readFileSync(`${process.env.BUILD || 'build'}/mcu`).includes('__asan_init');
  } catch { return false; }
}

// CPU seconds (user + system) the process has used.
export function serverCpu(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

// True if the server runs with AddressSanitizer (libasan mapped, or its symbols in the binary).
export function isAsan(pid) {
  const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
  if (/libasan|libclang_rt\.asan/.test(maps)) return true;
  try {
    return fs.readFileSync(`/proc/${pid}/exe`).includes('__asan_init');
  } catch { return false; }
}

// Waits until the server's fd count is at most `target` (sockets close asynchronously:
// libnice closes an agent's sockets from its main loop after nice_agent_close_async).
export async function fdsSettle(pid, target, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  let f = serverFds(pid);
  while (f.n > target && Date.now() < end) {
    await sleep(250);
    f = serverFds(pid);
  }
  return f;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await childMain();
