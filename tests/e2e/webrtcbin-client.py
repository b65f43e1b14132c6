#!/usr/bin/python3
"""webrtcbin-client.py - a participant on GStreamer's webrtcbin (a third WebRTC stack, next to
Chromium and libwebrtc), driven over newline-delimited JSON on stdin/stdout.

It sends a videotestsrc picture (VP8) and an audiotestsrc sine (Opus), and receives the server's
mix: VP8 decoded with vp8dec (frames counted, the picture's Y, U, V sampled on a 16 x 9 grid of
points), Opus decoded with opusdec (buffers and samples counted, level and the power of chosen
tones measured).

stdout, one JSON object a line:
  {"type": "offer", "sdp": ...}                           send to the server as is
  {"type": "candidate", "candidate", "sdpMid", "sdpMLineIndex"}   idem (candidate null: the end)
  {"type": "status", ...}                                 every --status-ms (see status())
  {"type": "client-error", "message": ...}                something failed here
stdin: the server's messages (docs/PROTOCOL.md) as they come: "answer" and "candidate" are
used, others ignored. The caller sends "join" and holds the offer until "joined".

webrtcbin's candidates: on-ice-candidate gives (mlineindex, candidate); sent with that
sdpMLineIndex and the a=mid of that m-line in our offer. A server candidate goes to
add-ice-candidate with its sdpMLineIndex, or the index of its sdpMid, or 0.

Exits 0 on stdin EOF, SIGTERM or SIGINT (after tearing the pipeline down, at most 5 s), 1 on a
pipeline error, 3 when GStreamer's Python bindings are missing.
"""
import argparse
import array
import json
import math
import os
import signal
import sys
import threading
import time

try:
    import gi
    gi.require_version('Gst', '1.0')
    gi.require_version('GstWebRTC', '1.0')
    gi.require_version('GstSdp', '1.0')
    gi.require_version('GstVideo', '1.0')
    from gi.repository import GLib, Gst, GstSdp, GstVideo, GstWebRTC  # noqa: E402
except (ImportError, ValueError) as e:
    msg = (f'GStreamer Python bindings missing ({e}): install python3-gi gir1.2-gstreamer-1.0 '
           'gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0 (make deps)')
    print(json.dumps({'type': 'client-error', 'message': msg}), flush=True)
    print(msg, file=sys.stderr)
    sys.exit(3)

GRID_X, GRID_Y = 16, 9

out_lock = threading.RLock()


def emit(obj):
    line = json.dumps(obj)
    with out_lock:
        try:
            sys.stdout.write(line + '\n')
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):
            os._exit(0)  # nobody reads us any more


def log(*a):
    print('webrtcbin-client:', *a, file=sys.stderr, flush=True)


def goertzel_db(samples, hz, rate):
    """Power (dB) of hz in samples (ints), as tonePower() in wrtc-client.mjs."""
    n = len(samples)
    if n == 0:
        return None
    k = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + k * s1 - s2
        s2 = s1
        s1 = s0
    return 10 * math.log10((s1 * s1 + s2 * s2 - k * s1 * s2) / n / n + 1e-9)


class Client:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.rc = 0
        self.t0 = time.monotonic()
        self.mids = []            # a=mid of each m-line of our offer
        self.offer_sdp = None
        self.answer_set = None    # None, True, or an error string
        self.video_frames = 0
        self.video_sample = None  # the latest decoded frame (Gst.Sample)
        self.audio_buffers = 0
        self.audio_samples = 0
        self.audio_tail = array.array('h')  # the last second of mixed audio, 48 kHz mono
        self.media_lock = threading.Lock()
        self.local_cands = {}     # sdpMLineIndex -> count of candidates we sent
        self.remote_cands = {}    # sdpMLineIndex -> count of server candidates added
        self.remote_end = False
        self.local_end = False
        self.pads = []            # kinds of the receive pads webrtcbin added
        self.stopping = False
        self.offer_sent = False
        self.held_cands = []      # candidates gathered before the offer went out

        a = args
        audio = (f'audiotestsrc is-live=true wave=sine freq={a.freq} volume={a.volume} ! '
                 'audio/x-raw,rate=48000,channels=1 ! audioconvert ! audioresample ! '
                 'opusenc bitrate=32000 ! rtpopuspay pt=111 ! '
                 'application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! '
                 'webrtc.sink_0')
        video = (f'videotestsrc is-live=true pattern={a.pattern} foreground-color={a.color} ! '
                 f'video/x-raw,width={a.width},height={a.height},framerate={a.fps}/1 ! '
                 'videoconvert ! vp8enc deadline=1 keyframe-max-dist=60 target-bitrate=400000 ! '
                 'rtpvp8pay pt=96 picture-id-mode=15-bit ! '
                 'application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000,'
                 'rtcp-fb-nack-pli=true,rtcp-fb-nack=true,rtcp-fb-ccm-fir=true ! webrtc.sink_1')
        desc = (f'webrtcbin name=webrtc bundle-policy={a.bundle_policy} latency=100 '
                f'{audio} {video}')
        log('pipeline:', desc)
        self.pipe = Gst.parse_launch(desc)
        self.webrtc = self.pipe.get_by_name('webrtc')
        # kept for the process's life: webrtcbin 1.22 hands its ICE object out floating, and
        # PyGObject sinks it, so freeing this wrapper would free webrtcbin's agent
        self.ice = ice = self.webrtc.get_property('ice-agent')
        ice.set_property('ice-tcp', a.ice_tcp)
        # libnice gathers no loopback address unless told to (the e2e tests run in a network
        # namespace with only lo)
        for addr in a.local_address:
            ice.emit('add-local-ip-address', addr)
        self.webrtc.connect('on-negotiation-needed', self.on_negotiation_needed)
        self.webrtc.connect('on-ice-candidate', self.on_ice_candidate)
        self.webrtc.connect('pad-added', self.on_pad_added)
        self.webrtc.connect('notify::ice-gathering-state', self.on_gathering)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect('message', self.on_bus)

    # ---- signaling out ----

    def on_negotiation_needed(self, element):
        if self.offer_sdp is not None:
            return  # one offer only: this client never renegotiates
        promise = Gst.Promise.new_with_change_func(self.on_offer_created, element, None)
        element.emit('create-offer', None, promise)

    def on_offer_created(self, promise, element, _):
        promise.wait()
        reply = promise.get_reply()
        offer = reply.get_value('offer') if reply else None
        if offer is None:
            self.fail(f'create-offer failed: {reply.to_string() if reply else "no reply"}')
            return
        sdp = offer.sdp.as_text()
        self.offer_sdp = sdp
        # a=mid of each m-section, from the text (GstSdp.SDPMessage.get_media() through
        # PyGObject crashes in 1.22)
        self.mids = []
        for line in sdp.splitlines():
            if line.startswith('m='):
                self.mids.append(None)
            elif line.startswith('a=mid:') and self.mids:
                self.mids[-1] = line[len('a=mid:'):].strip()
        # printed once set: an answer must not come back before; the candidates gathering
        # produces meanwhile wait for it (on_ice_candidate)
        def set_done(p, _a, _b):
            p.wait()
            r = p.get_reply()
            if r is not None and r.has_field('error'):
                self.fail(f'set-local-description: {r.get_value("error")}')
                return
            with out_lock:
                self.offer_sent = True
                held, self.held_cands = self.held_cands, []
                emit({'type': 'offer', 'sdp': sdp})
                for c in held:
                    emit(c)
        element.emit('set-local-description', offer,
                     Gst.Promise.new_with_change_func(set_done, None, None))

    def on_ice_candidate(self, element, mline, candidate):
        if candidate.startswith('a='):
            candidate = candidate[2:]
        if not candidate:
            return
        mid = self.mids[mline] if mline < len(self.mids) else None
        self.local_cands[mline] = self.local_cands.get(mline, 0) + 1
        self.send_after_offer({'type': 'candidate', 'candidate': candidate, 'sdpMid': mid,
                               'sdpMLineIndex': mline})

    def send_after_offer(self, m):
        with out_lock:
            if not self.offer_sent:
                self.held_cands.append(m)
                return
        emit(m)

    def on_gathering(self, element, _pspec):
        state = element.get_property('ice-gathering-state')
        if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE and not self.local_end:
            self.local_end = True
            self.send_after_offer({'type': 'candidate', 'candidate': None})

    # ---- signaling in ----

    def on_line(self, line):
        line = line.strip()
        if not line or self.stopping:
            return False
        try:
            m = json.loads(line)
        except ValueError as e:
            log('bad input line:', e, line[:200])
            return False
        t = m.get('type')
        if t == 'answer':
            self.set_answer(m.get('sdp') or '')
        elif t == 'candidate':
            self.add_candidate(m)
        elif t == 'error':
            log('server error:', json.dumps(m))
        return False

    def set_answer(self, sdp):
        res, msg = GstSdp.SDPMessage.new_from_text(sdp)
        if res != GstSdp.SDPResult.OK:
            self.fail(f'the answer does not parse ({res})')
            return
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)

        def done(promise, _a, _b):
            promise.wait()
            reply = promise.get_reply()
            err = reply.get_value('error') if reply and reply.has_field('error') else None
            if err is not None:
                self.answer_set = str(err.message if hasattr(err, 'message') else err)
                emit({'type': 'client-error',
                      'message': f'set-remote-description: {self.answer_set}'})
            else:
                self.answer_set = True
        self.webrtc.emit('set-remote-description', answer,
                         Gst.Promise.new_with_change_func(done, None, None))

    def add_candidate(self, m):
        cand = m.get('candidate')
        if not cand:
            self.remote_end = True  # webrtcbin 1.22 has no end-of-candidates to give
            return
        idx = m.get('sdpMLineIndex')
        if not isinstance(idx, int):
            mid = m.get('sdpMid')
            idx = self.mids.index(mid) if mid in self.mids else 0
        self.remote_cands[idx] = self.remote_cands.get(idx, 0) + 1
        self.webrtc.emit('add-ice-candidate', idx, cand)

    # ---- media in ----

    def on_pad_added(self, element, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        media = caps.get_structure(0).get_string('media') if caps and caps.get_size() else None
        log('receive pad', pad.get_name(), caps.to_string() if caps else None)
        if media == 'video':
            desc = ('queue ! rtpvp8depay request-keyframe=true wait-for-keyframe=true ! vp8dec ! '
                    'appsink name=vsink emit-signals=true sync=false max-buffers=2 drop=true '
                    'caps=video/x-raw,format=I420')
            name = 'vsink'
        elif media == 'audio':
            desc = ('queue ! rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample ! '
                    'audio/x-raw,format=S16LE,channels=1,rate=48000 ! '
                    'appsink name=asink emit-signals=true sync=false')
            name = 'asink'
        else:
            desc, name = 'fakesink', None
        self.pads.append(media)
        b = Gst.parse_bin_from_description(desc, True)
        self.pipe.add(b)
        if name:
            sink = b.get_by_name(name)
            sink.connect('new-sample', self.on_video if media == 'video' else self.on_audio)
        b.sync_state_with_parent()
        r = pad.link(b.get_static_pad('sink'))
        if r != Gst.PadLinkReturn.OK:
            self.fail(f'linking the {media} receive pad: {r}')

    def on_video(self, sink):
        sample = sink.emit('pull-sample')
        with self.media_lock:
            self.video_frames += 1
            self.video_sample = sample
        return Gst.FlowReturn.OK

    def on_audio(self, sink):
        sample = sink.emit('pull-sample')
        buf = sample.get_buffer()
        data = buf.extract_dup(0, buf.get_size())
        s = array.array('h')
        s.frombytes(data[:len(data) - len(data) % 2])
        with self.media_lock:
            self.audio_buffers += 1
            self.audio_samples += len(s)
            self.audio_tail.extend(s)
            if len(self.audio_tail) > 48000:
                del self.audio_tail[:len(self.audio_tail) - 48000]
        return Gst.FlowReturn.OK

    # ---- status ----

    def frame_grid(self, sample):
        """Y, U, V at the centres of a 16 x 9 grid of the frame, with its size."""
        caps = sample.get_caps()
        info = GstVideo.VideoInfo.new_from_caps(caps)
        w, h = info.width, info.height
        buf = sample.get_buffer()
        meta = GstVideo.buffer_get_video_meta(buf)
        if meta is not None:
            offs, strides = list(meta.offset), list(meta.stride)
        else:
            offs, strides = list(info.offset), list(info.stride)
        grid = []
        for gy in range(GRID_Y):
            row = []
            y = int((gy + 0.5) / GRID_Y * h)
            for gx in range(GRID_X):
                x = int((gx + 0.5) / GRID_X * w)
                px = []
                for plane, (xx, yy) in enumerate([(x, y), (x >> 1, y >> 1), (x >> 1, y >> 1)]):
                    b = buf.extract_dup(offs[plane] + yy * strides[plane] + xx, 1)
                    px.append(b[0] if b else -1)
                row.append(px)
            grid.append(row)
        return [w, h], grid

    def transports(self):
        """The distinct DTLS transports of our transceivers: [{session, dtls, ice, mlines}]."""
        seen = {}
        i = 0
        while True:
            tr = self.webrtc.emit('get-transceiver', i)
            if tr is None:
                break
            rcv = tr.get_property('receiver')
            dtls = rcv.get_property('transport') if rcv else None
            if dtls is not None:
                sid = dtls.get_property('session-id')
                if sid not in seen:
                    ice = dtls.get_property('transport')
                    seen[sid] = {
                        'session': sid,
                        'dtls': dtls.get_property('state').value_nick,
                        'ice': ice.get_property('state').value_nick if ice else None,
                        'mlines': []}
                seen[sid]['mlines'].append(tr.get_property('mlineindex'))
            i += 1
        return list(seen.values())

    def status(self):
        if self.stopping:
            return False
        w = self.webrtc
        with self.media_lock:
            frames, sample = self.video_frames, self.video_sample
            abufs, asamples = self.audio_buffers, self.audio_samples
            tail = self.audio_tail[-48000:]
        st = {
            'type': 'status', 't': round(time.monotonic() - self.t0, 3),
            'video_frames': frames, 'audio_buffers': abufs, 'audio_samples': asamples,
            'ice': w.get_property('ice-connection-state').value_nick,
            'connection': w.get_property('connection-state').value_nick,
            'gathering': w.get_property('ice-gathering-state').value_nick,
            'signaling': w.get_property('signaling-state').value_nick,
            'answer_set': self.answer_set, 'pads': self.pads,
            'local_candidates': {str(k): v for k, v in sorted(self.local_cands.items())},
            'remote_candidates': {str(k): v for k, v in sorted(self.remote_cands.items())},
            'remote_end': self.remote_end,
        }
        try:
            st['transports'] = self.transports()
        except Exception as e:  # noqa: BLE001 - a status is best effort
            st['transports_error'] = str(e)
        if sample is not None:
            try:
                st['video_size'], st['grid'] = self.frame_grid(sample)
            except Exception as e:  # noqa: BLE001
                st['grid_error'] = str(e)
        if len(tail):
            rms = math.sqrt(sum(x * x for x in tail) / len(tail))
            st['audio_rms_db'] = round(20 * math.log10(rms / 32768 + 1e-9), 1)
            tones = {}
            for hz in self.args.listen:
                # the loudest 100 ms window of the last second (senders on a busy machine
                # run late: a tone counts as heard if it was loud in some window)
                best = None
                for i in range(0, len(tail) - 4799, 4800):
                    db = goertzel_db(tail[i:i + 4800], hz, 48000)
                    best = db if best is None else max(best, db)
                tones['%g' % hz] = None if best is None else round(best, 1)
            st['tones'] = tones
        emit(st)
        return True

    # ---- lifetime ----

    def on_bus(self, _bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            self.fail(f'{msg.src.get_name()}: {err.message} ({dbg})')
        elif msg.type == Gst.MessageType.WARNING:
            err, dbg = msg.parse_warning()
            log('warning:', msg.src.get_name(), err.message, dbg)

    def fail(self, message):
        emit({'type': 'client-error', 'message': message})
        log('error:', message)
        self.rc = 1
        GLib.idle_add(self.quit)

    def quit(self, *_):
        self.stopping = True
        self.loop.quit()
        return False

    def run(self):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, self.quit)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, self.quit)

        def reader():
            for line in sys.stdin:
                GLib.idle_add(self.on_line, line)
            GLib.idle_add(self.quit)  # EOF: the caller is gone or done
        threading.Thread(target=reader, daemon=True).start()
        GLib.timeout_add(self.args.status_ms, self.status)
        if self.pipe.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self.fail('the pipeline does not start')
        self.loop.run()
        # Teardown: webrtcbin (libnice, DTLS) can hang on the way down; never more than 5 s.
        watchdog = threading.Timer(5.0, lambda: os._exit(self.rc))
        watchdog.daemon = True
        watchdog.start()
        self.pipe.set_state(Gst.State.NULL)
        return self.rc


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--bundle-policy', choices=['none', 'max-bundle', 'max-compat', 'balanced'],
                   default='max-bundle')
    p.add_argument('--pattern', default='solid-color', help='videotestsrc pattern (its nick)')
    p.add_argument('--color', default='0xffff0000',
                   help='videotestsrc foreground-color, 0xAARRGGBB (solid-color and others)')
    p.add_argument('--freq', type=float, default=440.0, help='the sine we send, Hz')
    p.add_argument('--volume', type=float, default=0.25, help='its amplitude, 0..1')
    p.add_argument('--width', type=int, default=640)
    p.add_argument('--height', type=int, default=360)
    p.add_argument('--fps', type=int, default=15)
    p.add_argument('--listen', default='',
                   help='comma-separated tones (Hz) whose power in the mix the status reports')
    p.add_argument('--status-ms', type=int, default=1000)
    p.add_argument('--local-address', action='append', default=[],
                   help='an address for ICE to gather on (repeatable), e.g. 127.0.0.1: libnice '
                   'skips loopback addresses by itself')
    p.add_argument('--ice-tcp', action='store_true', help='gather ICE-TCP candidates too')
    args = p.parse_args()
    args.listen = [float(x) for x in args.listen.split(',') if x]
    Gst.init(None)
    rc = Client(args).run()
    sys.stdout.flush()
    sys.stderr.flush()
    # no finalizers: the pipeline is down, and the ICE wrapper (see Client) must not be freed
    os._exit(rc)


if __name__ == '__main__':
    sys.exit(main())
