/*
 * peer_in.c - a peer's inbound media: SRTP/SRTCP unprotect, RTP parse, SSRC binding, receiver
 * statistics (RFC 3550 A.1, A.8), RTX unwrapping (RFC 4588), reordering, VP8 (RFC 7741) or H.264
 * (RFC 6184) reassembly, NACK generation and keyframe requests, then into the room's engine with
 * timestamps on the room clock.
 *
 * Timestamp mapping: a stream's first packet anchors its RTP clock to the room time it
 * arrived; later packets are placed by their RTP timestamp difference. The mapping is tracked
 * when packets arrive in order (see track_offset), never from what the reorder buffer releases
 * late or from reordered and retransmitted packets. The engine runs a playout delay behind,
 * which absorbs jitter.
 * Media thread only.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "log.h"
#include "net/srtp.h"
#include "rtp/nack.h"
#include "rtp/reorder.h"
#include "rtp/rtp.h"
#include "rtp/h264_rtp.h"
#include "rtp/vp8_rtp.h"
#include "session/peer.h"
#include "session/room.h"

#define MAX_NACKS_PER_POLL 64

/*
 * Maps an RTP timestamp to the room clock: pts = RTP time + offset, where the offset is the
 * smallest transit (arrival - RTP time) seen over the last one to two seconds ("best": the
 * fastest recent path, which follows sender clock drift) plus the participant's playout delay
 * (session/playout.h: measured from how much later than best its packets arrive, so jitter is
 * absorbed by what it needs). The engine's clock is the room clock itself: a packet is due at
 * its pts. RTP timestamps are extended to 64 bits.
 *
 * Only packets that arrive in order (newer than any before) are measured, when they arrive:
 * a packet the reorder buffer held behind a gap, a reordered one and a NACK retransmission are
 * late by design, not because the path or the sender's clock changed.
 *
 * Audio stays sample-contiguous: each move of its offset is a jump in the source's samples (the
 * mixer skips the overlap or conceals the gap: a click, and a phase jump of a steady tone). Its
 * offset is rounded up to the engine's 20 ms audio grid, so a packet fills one tick exactly
 * and is due when that tick starts (an unaligned packet is due at the start of the earlier of
 * the two ticks it straddles: 10 ms more on average). It moves to best + delay (rounded) in a
 * quiet packet (RFC 6464 level at or below -AUDIO_QUIET_LEVEL dBov, where a jump is inaudible);
 * in speech it moves up only when a packet arrived after it was due and the target agrees, and
 * down only when it is more than AUDIO_SLACK_US above the target (latency for nothing). Clock
 * drift and delay changes thus move it in pauses of speech.
 *
 * Video follows best at once, plus its target delay, or the audio's delay above its own best
 * less PLAYOUT_AV_MAX_US if that is more (lip sync: see playout.h). A frame later than that is
 * shown at the next video tick.
 */
#define OFFSET_WINDOW_US    1000000
#define AUDIO_SLACK_US      20000
#define AUDIO_GRID_US       20000 /* the engine's audio tick */
#define AUDIO_HYSTERESIS_US 3000
#define AUDIO_QUIET_LEVEL   50 /* -dBov */

static int64_t best_offset(const struct in_stream *s)
{
	return s->off_cur < s->off_prev ? s->off_cur : s->off_prev;
}

/* Tracks the smallest transit over a window of one to two seconds. */
static void track_best(struct in_stream *s, int64_t off, int64_t now)
{
	if (now - s->window_start >= OFFSET_WINDOW_US) {
		s->off_prev = s->off_cur;
		s->off_cur = off;
		s->window_start = now;
	} else if (off < s->off_cur) {
		s->off_cur = off;
	}
}

static void move_offset(struct in_stream *s, int64_t to)
{
	if (to > s->offset + 5000 || to < s->offset - 5000)
		s->reanchors++;
	s->offset = to;
}

static int64_t align_up(int64_t t, int64_t grid)
{
	int64_t r = t % grid;
	if (r < 0)
		r += grid;
	return r ? t + grid - r : t;
}

/* The delay above its best that the participant's audio plays at, or 0 without audio. */
static int64_t audio_delay(const struct peer *p)
{
	const struct in_stream *a = &p->in_audio;
	if (!a->active || !a->bound || !a->base_set)
		return 0;
	int64_t d = a->offset - best_offset(a);
	return d < 0 ? 0 : d;
}

/* Audio's reorder wait: a gap holds later packets only while they stay early enough. */
static void audio_reorder_wait(struct in_stream *s, int64_t delay)
{
	int64_t w = delay - AUDIO_GRID_US;
	w = w < 0 ? 0 : w > AUDIO_REORDER_MAX_US ? AUDIO_REORDER_MAX_US : w;
	reorder_set_wait(s->ro, w);
}

/* level: the packet's RFC 6464 level (-dBov), or -1 if none. */
static void follow_audio(struct peer *p, struct in_stream *s, int64_t off, int64_t now, int level)
{
	int64_t best = best_offset(s);
	int64_t need = best + playout_target_audio(&p->po, now);
	int64_t want = align_up(need, AUDIO_GRID_US);
	bool quiet = level >= AUDIO_QUIET_LEVEL;
	bool late = off > s->offset;
	/* down only by more than AUDIO_HYSTERESIS_US spare, so best's jitter around a grid line
	 * does not move it up and down */
	bool down = want < s->offset && need + AUDIO_HYSTERESIS_US <= want;
	if ((want > s->offset && (quiet || late)) ||
	    (down && (quiet || want < s->offset - AUDIO_SLACK_US))) {
		const char *why = quiet ? "quiet" : late ? "late" : "slack";
		LOG_D("peer %u: audio playout %lld -> %lld ms above its best (%s)", p->id,
		      (long long)(s->offset - best) / 1000, (long long)(want - best) / 1000, why);
		move_offset(s, want);
	}
	audio_reorder_wait(s, s->offset - best);
}

static void follow_video(struct peer *p, struct in_stream *s)
{
	int64_t d = playout_target_video(&p->po), a = audio_delay(p) - PLAYOUT_AV_MAX_US;
	move_offset(s, best_offset(s) + (a > d ? a : d));
}

static void anchor(struct in_stream *s, uint32_t ts, int64_t now)
{
	s->base_set = true;
	s->last_ts = ts;
	s->ext_ts = 0;
	s->offset = s->off_cur = s->off_prev = now;
	s->window_start = now;
}

/* An in-order packet with RTP time ts arrived at room time now. */
static void on_arrival(struct peer *p, struct in_stream *s, uint32_t ts, int64_t now, bool video,
                       int audio_level)
{
	bool first = !s->base_set;
	if (first)
		anchor(s, ts, now);
	s->ext_ts += (int32_t)(ts - s->last_ts);
	s->last_ts = ts;
	int64_t off = now - s->ext_ts * 1000000 / s->clock;
	track_best(s, off, now);
	playout_note(&p->po, video, off - best_offset(s), now);
	if (video)
		follow_video(p, s);
	else if (first) /* nothing to keep contiguous yet */
		s->offset = align_up(off + playout_target_audio(&p->po, now), AUDIO_GRID_US);
	else
		follow_audio(p, s, off, now, audio_level);
}

/* The room time of RTP time ts (of any packet, in order or not). */
static int64_t map_pts(struct in_stream *s, const struct room *r, uint32_t ts)
{
	if (!s->base_set) /* not expected: an in-order packet always comes first */
		anchor(s, ts, room_now(r));
	int64_t ext = s->ext_ts + (int32_t)(ts - s->last_ts);
	return ext * 1000000 / s->clock + s->offset;
}

/* RFC 3550 A.1 (simplified: no probation) and A.8 interarrival jitter. */
static void update_stats(struct in_stream *s, const struct rtp_hdr *h, int64_t now_us)
{
	if (s->packets == 0) {
		s->base_seq = s->max_seq = h->seq;
		s->cycles = 0;
	} else if (seq_newer(h->seq, s->max_seq)) {
		if (h->seq < s->max_seq)
			s->cycles += 65536;
		s->max_seq = h->seq;
	}
	s->received++;
	s->packets++;
	s->bytes += h->payload_len;
	int64_t arrival = now_us * s->clock / 1000000;
	int64_t transit = arrival - h->ts;
	if (s->packets > 1) {
		int64_t d = transit - s->last_transit;
		s->jitter += ((double)(d < 0 ? -d : d) - s->jitter) / 16.0;
	}
	s->last_transit = transit;
}

/* Binds the stream to the first SSRC seen; a new SSRC later restarts the stream. */
static void bind_ssrc(struct peer *p, struct in_stream *s, uint32_t ssrc)
{
	if (s->bound && s->ssrc == ssrc)
		return;
	if (s->bound)
		LOG_I("peer %u: inbound SSRC changed %08x -> %08x", p->id, s->ssrc, ssrc);
	s->bound = true;
	s->ssrc = ssrc;
	s->base_set = false;
	s->packets = s->received = s->expected_prior = s->received_prior = 0;
}

/* arrived: when the packet reached us, monotonic (the latency stamp). */
static void deliver_audio(struct peer *p, const uint8_t *pkt, size_t len, int lost, int64_t arrived)
{
	struct rtp_hdr h;
	if (rtp_parse(pkt, len, &h) != RTP_OK || h.payload_len == 0)
		return;
	int level = p->ext_audio_level ? rtp_audio_level(&h, p->ext_audio_level, NULL) : -1;
	int64_t pts = map_pts(&p->in_audio, p->room, h.ts);
	mix_engine_push_audio_at(p->room->eng, p->id, h.payload, h.payload_len, pts, level,
	                         lost > 0, arrived);
}

/* A complete frame of the negotiated codec (VP8 frame or H.264 access unit), or 0. */
static int assemble(struct vp8_asm *vasm, struct h264_asm *hasm, const struct rtp_hdr *h,
                    struct vp8_frame *f)
{
	if (!hasm)
		return vp8_asm_push(vasm, h->seq, h->ts, h->marker, h->payload, h->payload_len, f);
	struct h264_frame hf;
	int rc = h264_asm_push(hasm, h->seq, h->ts, h->marker, h->payload, h->payload_len, &hf);
	if (rc == 1)
		*f = (struct vp8_frame){.data = hf.data,
		                        .size = hf.size,
		                        .ts = hf.ts,
		                        .keyframe = hf.keyframe,
		                        .loss_before = hf.loss_before};
	return rc;
}

/* arrived: when the packet reached us, monotonic; a frame's stamp is its last packet's. The
 * camera's frames go to the peer's source, the screen's to its own. */
static void deliver_video(struct peer *p, const uint8_t *pkt, size_t len, int lost, int64_t arrived,
                          bool screen)
{
	struct rtp_hdr h;
	struct vp8_frame f;
	if (rtp_parse(pkt, len, &h) != RTP_OK)
		return;
	struct in_stream *s = screen ? &p->screen.s : &p->in_video;
	s->asm_arrival = arrived > s->asm_arrival ? arrived : s->asm_arrival;
	int rc = screen ? assemble(p->screen.vasm, p->screen.hasm, &h, &f)
	                : assemble(p->vasm, p->hasm, &h, &f);
	if (rc < 0)
		p->st.frames_dropped++;
	if (rc != 1) {
		s->asm_arrival = rc < 0 ? 0 : s->asm_arrival;
		return;
	}
	p->st.frames_in++;
	int64_t pts = map_pts(s, p->room, f.ts);
	mix_engine_push_video_at(p->room->eng, screen ? p->screen.src : p->id, f.data, f.size, pts,
	                         room_now(p->room), f.loss_before || lost, s->asm_arrival);
	s->asm_arrival = 0;
}

/* Releases what the reorder buffer can release now. */
static void drain(struct peer *p, struct in_stream *s, bool video, int64_t now)
{
	uint16_t seq;
	const uint8_t *pkt;
	size_t len;
	int lost;
	while (s->ro && reorder_pop(s->ro, now, &seq, &pkt, &len, &lost) == 1) {
		int64_t arrived = reorder_popped_arrival(s->ro) + p->room->t0_us; /* monotonic */
		if (video)
			deliver_video(p, pkt, len, lost, arrived, s == &p->screen.s);
		else
			deliver_audio(p, pkt, len, lost, arrived);
	}
}

/*
 * An RTX packet (RFC 4588) repairing our inbound video: the packet it carries, rewritten in place
 * into data (*h parsed again), or false: a padding-only probe (its transport-wide seq is noted
 * for feedback first), or nothing to repair yet.
 */
static bool rtx_in(struct peer *p, uint8_t **data, size_t *len, struct rtp_hdr *h)
{
	struct in_stream *s = &p->in_video;
	peer_cc_on_rtp(p, h, true, g_get_monotonic_time());
	if (h->payload_len == 0) {
		p->st.rtx_padding++;
		return false;
	}
	if (!s->bound || rtp_rtx_unwrap(*data, *len, h, (uint8_t)s->pt, s->ssrc, data, len) < 0 ||
	    rtp_parse(*data, *len, h) != RTP_OK) {
		p->st.rtp_dropped++;
		return false;
	}
	p->st.rtx_in++;
	return true;
}

/*
 * A screen whose m-line lists no a=ssrc: whether h, from an SSRC not seen yet, is one of its
 * streams (then learnt): it names the screen's mid (sdes:mid, which libwebrtc sends until we
 * report on the SSRC; we never report on the screen's) or, without BUNDLE, came on the screen's
 * own transport.
 */
static bool learn_screen_ssrc(struct peer *p, struct peer_tp *tp, const struct rtp_hdr *h)
{
	struct screen_in *sc = &p->screen;
	if (!sc->on || !sc->learn || sc->nssrcs == SDP_MAX_SSRCS || p->neg.screen_index < 0)
		return false;
	const struct sdp_neg_media *m = &p->neg.media[p->neg.screen_index];
	const uint8_t *d;
	size_t n;
	bool ours = p->neg.bundle ? m->ext_mid && rtp_ext_find(h, m->ext_mid, &d, &n) == 0 &&
	                                n == strlen(m->mid) && !memcmp(d, m->mid, n)
	                          : tp == peer_tp_screen(p);
	if (!ours)
		return false;
	sc->ssrcs[sc->nssrcs++] = h->ssrc;
	LOG_I("peer %u (%s): the screen's SSRC %08x learnt (%s)", p->id, p->name, h->ssrc,
	      p->neg.bundle ? "sdes:mid" : "its transport");
	return true;
}

/* A packet of the screen's m-line (by its SSRC), while it is shared. */
static bool is_screen_packet(struct peer *p, struct peer_tp *tp, const struct rtp_hdr *h)
{
	for (int i = 0; i < p->screen.nssrcs; i++)
		if (h->ssrc == p->screen.ssrcs[i])
			return true;
	return learn_screen_ssrc(p, tp, h);
}

/* The stream an RTP packet (not an RTX repair) belongs to, or NULL: the screen's by its SSRCs
 * (its RTX and a stopped screen's packets: NULL), else audio or camera by payload type. */
static struct in_stream *stream_of(struct peer *p, const struct rtp_hdr *h, bool screen)
{
	if (screen)
		return p->screen.on && h->pt == p->screen.s.pt ? &p->screen.s : NULL;
	if (p->in_audio.active && h->pt == p->in_audio.pt)
		return &p->in_audio;
	if (p->in_video.active && h->pt == p->in_video.pt)
		return &p->in_video;
	return NULL;
}

/*
 * Every packet goes through one path. The screen's packets are told by their SSRCs before
 * anything else, so that its RTX (which shares the camera's payload types) never repairs the
 * camera; they get no NACK (a loss waits for a keyframe).
 */
static void on_rtp(struct peer *p, struct peer_tp *tp, uint8_t *data, size_t len)
{
	struct rtp_hdr h;
	enum rtp_drop why = rtp_parse(data, len, &h);
	if (why != RTP_OK || !p->room) {
		p->st.rtp_dropped++;
		return;
	}
	bool screen = is_screen_packet(p, tp, &h);
	bool camera = h.pt == p->in_video.pt || h.pt == p->in_video.rtx_pt;
	if (!screen && camera && p->in_video.active && p->layers.n && !peer_layers_admit(p, &h))
		return; /* another simulcast layer than the one decoded */
	bool repair =
	    !screen && p->in_video.active && p->in_video.rtx_pt >= 0 && h.pt == p->in_video.rtx_pt;
	if (repair && !rtx_in(p, &data, &len, &h))
		return;
	struct in_stream *s = stream_of(p, &h, screen);
	bool audio = s == &p->in_audio;
	if (!repair && (s || screen)) /* an RTX repair was noted by rtx_in */
		peer_cc_on_rtp(p, &h, !audio, g_get_monotonic_time());
	if (!s) {
		if (screen)
			p->st.rtp_dropped++;
		else
			p->st.unknown_ssrc++;
		return;
	}
	int64_t now = room_now(p->room);
	bind_ssrc(p, s, h.ssrc);
	if (s->packets == 0 || seq_newer(h.seq, s->max_seq)) {
		int level = audio && p->ext_audio_level
		                ? rtp_audio_level(&h, p->ext_audio_level, NULL)
		                : -1;
		if (audio && s->packets > 0 && (uint16_t)(h.seq - s->max_seq) > 1)
			playout_note_loss(&p->po, now);
		on_arrival(p, s, h.ts, now, !audio, level);
	}
	update_stats(s, &h, now);
	if (s == &p->in_video)
		nack_gen_on_packet(p->nack, h.seq, now);
	if (reorder_push(s->ro, h.seq, data, len, now) < 0)
		p->st.rtp_dropped++;
	drain(p, s, !audio, now);
}

void peer_in_datagram(struct peer *p, struct peer_tp *tp, uint8_t *data, size_t len)
{
	size_t n = len;
	if (rtp_is_rtcp(data, len)) {
		if (srtp_sess_unprotect_rtcp(tp->srtp, data, &n) < 0) {
			p->st.srtp_errors++;
			return;
		}
		p->st.rtcp_in++;
		p->heard_us = g_get_monotonic_time();
		peer_rtcp_in(p, data, n);
		return;
	}
	if (srtp_sess_unprotect_rtp(tp->srtp, data, &n) < 0) {
		p->st.srtp_errors++;
		return;
	}
	p->st.rtp_in++;
	p->heard_us = g_get_monotonic_time();
	on_rtp(p, tp, data, n);
}

int peer_in_restart_video(struct peer *p)
{
	struct reorder *ro = NULL;
	struct vp8_asm *vasm = NULL;
	struct nack_gen *nack = NULL;
	int rc = reorder_alloc(&ro, PEER_VIDEO_REORDER_CAP, peer_video_reorder_wait(p->rtt_us));
	rc = rc ?: vp8_asm_alloc(&vasm, PEER_MAX_FRAME);
	rc = rc ?: nack_gen_alloc(&nack);
	if (rc < 0) {
		reorder_free(&ro);
		vp8_asm_free(&vasm);
		nack_gen_free(&nack);
		return rc;
	}
	reorder_free(&p->in_video.ro);
	vp8_asm_free(&p->vasm);
	nack_gen_free(&p->nack);
	p->in_video.ro = ro;
	p->vasm = vasm;
	p->nack = nack;
	p->in_video.bound = false; /* bound again, with fresh statistics, by the next packet */
	return 0;
}

void peer_request_keyframe(struct peer *p)
{
	kf_limiter_request(&p->pli);
}

void peer_request_screen_keyframe(struct peer *p)
{
	kf_limiter_request(&p->screen.pli);
}

void peer_in_poll(struct peer *p)
{
	if (!peer_media_ready(p) || !p->room)
		return;
	int64_t now = room_now(p->room);
	drain(p, &p->in_audio, false, now);
	drain(p, &p->in_video, true, now);
	if (p->nack && p->in_video.bound) {
		uint16_t seqs[MAX_NACKS_PER_POLL];
		int n = nack_gen_collect(p->nack, now, p->rtt_us, seqs, MAX_NACKS_PER_POLL);
		if (n > 0)
			peer_rtcp_send_nack(p, seqs, n);
	}
	if (p->in_video.bound && kf_limiter_poll(&p->pli, now))
		peer_rtcp_send_pli(p, p->in_video.ssrc);
	peer_layers_poll(p, now);
	if (p->screen.on) {
		drain(p, &p->screen.s, true, now);
		if (p->screen.s.bound && kf_limiter_poll(&p->screen.pli, now))
			peer_rtcp_send_pli(p, p->screen.s.ssrc);
	}
}
