// latency.mjs - glass-to-glass delay through the MCU against a direct peer connection, both
// measured in the same headless Chromium on loopback: a participant's generated picture flips
// colour, and the time until another participant's received video shows it is recorded
// (requestVideoFrameCallback + pixel read). The difference of the medians is the delay the
// server adds (playout delay, decode, compose, encode). Run inside a loopback-only namespace
// with the server on 127.0.0.1:18080:  bash bench/latency.sh
import { launchBrowser, openParticipant, waitFor, sleep, URL_BASE } from '../tests/e2e/lib.mjs';

const FLIPS = Number(process.env.FLIPS || 7);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function viaMcu(browser) {
  const a = await openParticipant(browser, { room: 'lat', name: 'A', color: '#ff0000', tone: 440 });
  await sleep(300);
  const b = await openParticipant(browser, { room: 'lat', name: 'B', color: '#0000ff', tone: 700 });
  await waitFor(() => b.evaluate(() => { const p = mcu.pixel(0.25, 0.5); return p && p[0] > 180 && p[2] < 80; }),
    { timeout: 20000, what: 'B sees A' });
  const out = [];
  for (let i = 0; i < FLIPS; i++) {
    const [to, rgb] = i % 2 ? ['#ff0000', [255, 0, 0]] : ['#00ff00', [0, 255, 0]];
    const seen = b.evaluate(([c]) => mcu.waitForColor(0.25, 0.5, c, 60), [rgb]);
    await sleep(50);
    const t0 = await a.evaluate((c) => mcu.setColor(c), to);
    out.push((await seen) - t0);
    await sleep(700);
  }
  return out;
}

async function direct(browser) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${URL_BASE}/`);
  return page.evaluate(async (flips) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640; canvas.height = 360;
    const g = canvas.getContext('2d');
    let color = '#ff0000';
    setInterval(() => { g.fillStyle = color; g.fillRect(0, 0, 640, 360); }, 33);
    const pc1 = new RTCPeerConnection(), pc2 = new RTCPeerConnection();
    pc1.onicecandidate = (e) => e.candidate && pc2.addIceCandidate(e.candidate);
    pc2.onicecandidate = (e) => e.candidate && pc1.addIceCandidate(e.candidate);
    pc1.addTrack(canvas.captureStream(30).getVideoTracks()[0]);
    const video = document.createElement('video');
    video.muted = true; video.autoplay = true;
    document.body.appendChild(video);
    pc2.ontrack = (e) => { video.srcObject = new MediaStream([e.track]); };
    await pc1.setLocalDescription(await pc1.createOffer());
    await pc2.setRemoteDescription(pc1.localDescription);
    await pc2.setLocalDescription(await pc2.createAnswer());
    await pc1.setRemoteDescription(pc2.localDescription);
    const c = document.createElement('canvas');
    const px = () => {
      if (!video.videoWidth) return null;
      c.width = video.videoWidth; c.height = video.videoHeight;
      const cg = c.getContext('2d');
      cg.drawImage(video, 0, 0);
      return cg.getImageData(c.width / 2, c.height / 2, 1, 1).data;
    };
    while (!px()) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2000));
    const out = [];
    for (let i = 0; i < flips; i++) {
      const target = i % 2 ? [255, 0, 0] : [0, 255, 0];
      const seen = new Promise((resolve) => {
        const check = () => {
          const p = px();
          if (p && target.every((v, k) => Math.abs(v - p[k]) < 60)) resolve(performance.now());
          else video.requestVideoFrameCallback(check);
        };
        video.requestVideoFrameCallback(check);
      });
      await new Promise((r) => setTimeout(r, 50));
      const t0 = performance.now();
      color = i % 2 ? '#ff0000' : '#00ff00';
      out.push((await seen) - t0);
      await new Promise((r) => setTimeout(r, 700));
    }
    return out;
  }, FLIPS);
}

const browser = await launchBrowser();
try {
  const p2p = await direct(browser);
  const mcu = await viaMcu(browser);
  console.log(`direct peer connection: median ${median(p2p).toFixed(0)} ms (${p2p.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`through the MCU:        median ${median(mcu).toFixed(0)} ms (${mcu.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`delay added by the MCU: ${(median(mcu) - median(p2p)).toFixed(0)} ms`);
} finally {
  await browser.close();
}
