/*
 * peer_in.c - a peer's inbound media: SRTP/SRTCP unprotect, RTP parse, SSRC binding, receiver
 * statistics (RFC 3550 A.1, A.8), reordering, VP8 reassembly (RFC 7741), NACK generation and
 * keyframe requests, then into the room's engine with timestamps on the room clock.
 *
 * Timestamp mapping: a stream's first packet anchors its RTP clock to the room time it
 * arrived; later packets are placed by their RTP timestamp difference. The engine runs a
 * playout delay behind, which absorbs jitter.
 * Media thread only.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "net/srtp.h"
#include "rtp/nack.h"
#include "rtp/reorder.h"
#include "rtp/rtp.h"
#include "rtp/vp8_rtp.h"
#include "session/peer.h"
#include "session/room.h"

#define MAX_NACKS_PER_POLL 64

/*
 * Maps an RTP timestamp to the room clock: pts = RTP time + the smallest transit offset
 * (arrival - RTP time) seen over the last one to two seconds. Following the fastest transit
 * adds no delay beyond the playout delay and ignores ordinary jitter (a late packet does not
 * move the mapping; the engine conceals it if it misses its tick). A packet later than half
 * the playout delay moves the mapping at once (a slow sender clock would otherwise lose
 * packets until the window turns). RTP timestamps are extended to 64 bits.
 */
#define OFFSET_WINDOW_US 1000000
#define LATE_MARGIN_US 20000

static void track_offset(struct in_stream *s, int64_t rtp_us, int64_t now, int64_t late_max)
{
	int64_t off = now - rtp_us;
	if (off - s->offset > late_max) {
		/* later than the playout delay allows: the sender's clock is slow, or the path or
		 * the machine got slower. Follow it now, with LATE_MARGIN_US to spare so the next
		 * jitter spike does not move it again, rather than lose every packet until the
		 * window turns. */
		s->off_cur = s->off_prev = off + LATE_MARGIN_US;
		s->window_start = now;
	} else if (now - s->window_start >= OFFSET_WINDOW_US) {
		s->off_prev = s->off_cur;
		s->off_cur = off;
		s->window_start = now;
	} else if (off < s->off_cur) {
		s->off_cur = off;
	}
	int64_t best = s->off_cur < s->off_prev ? s->off_cur : s->off_prev;
	if (best > s->offset + 5000 || best < s->offset - 5000)
		s->reanchors++;
	s->offset = best;
}

static int64_t map_pts(struct in_stream *s, const struct room *r, uint32_t ts)
{
	int64_t now = room_now(r);
	if (!s->base_set) {
		s->base_set = true;
		s->last_ts = ts;
		s->ext_ts = 0;
		s->offset = s->off_cur = s->off_prev = now;
		s->window_start = now;
	}
	s->ext_ts += (int32_t)(ts - s->last_ts);
	s->last_ts = ts;
	int64_t rtp_us = s->ext_ts * 1000000 / s->clock;
	track_offset(s, rtp_us, now, r->delay_us / 2);
	return rtp_us + s->offset;
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

static void deliver_audio(struct peer *p, const uint8_t *pkt, size_t len)
{
	struct rtp_hdr h;
	if (rtp_parse(pkt, len, &h) != RTP_OK || h.payload_len == 0)
		return;
	int level = p->ext_audio_level ? rtp_audio_level(&h, p->ext_audio_level, NULL) : -1;
	int64_t pts = map_pts(&p->in_audio, p->room, h.ts);
	mix_engine_push_audio(p->room->eng, p->id, h.payload, h.payload_len, pts, level);
}

static void deliver_video(struct peer *p, const uint8_t *pkt, size_t len, int lost)
{
	struct rtp_hdr h;
	struct vp8_frame f;
	if (rtp_parse(pkt, len, &h) != RTP_OK)
		return;
	int rc = vp8_asm_push(p->vasm, h.seq, h.ts, h.marker, h.payload, h.payload_len, &f);
	if (rc < 0)
		p->st.frames_dropped++;
	if (rc != 1)
		return;
	p->st.frames_in++;
	int64_t pts = map_pts(&p->in_video, p->room, f.ts);
	mix_engine_push_video(p->room->eng, p->id, f.data, f.size, pts, f.loss_before || lost);
}

/* Releases what the reorder buffer can release now. */
static void drain(struct peer *p, struct in_stream *s, bool video, int64_t now)
{
	uint16_t seq;
	const uint8_t *pkt;
	size_t len;
	int lost;
	while (s->ro && reorder_pop(s->ro, now, &seq, &pkt, &len, &lost) == 1) {
		if (video)
			deliver_video(p, pkt, len, lost);
		else
			deliver_audio(p, pkt, len);
	}
}

static void on_rtp(struct peer *p, const uint8_t *data, size_t len)
{
	struct rtp_hdr h;
	enum rtp_drop why = rtp_parse(data, len, &h);
	if (why != RTP_OK || !p->room) {
		p->st.rtp_dropped++;
		return;
	}
	struct in_stream *s = NULL;
	bool video = false;
	if (p->in_audio.active && h.pt == p->in_audio.pt)
		s = &p->in_audio;
	else if (p->in_video.active && h.pt == p->in_video.pt)
		s = &p->in_video, video = true;
	if (!s) {
		p->st.unknown_ssrc++;
		return;
	}
	int64_t now = room_now(p->room);
	bind_ssrc(p, s, h.ssrc);
	update_stats(s, &h, now);
	if (video)
		nack_gen_on_packet(p->nack, h.seq, now);
	if (reorder_push(s->ro, h.seq, data, len, now) < 0)
		p->st.rtp_dropped++;
	drain(p, s, video, now);
}

void peer_in_datagram(struct peer *p, uint8_t *data, size_t len)
{
	size_t n = len;
	if (rtp_is_rtcp(data, len)) {
		if (srtp_sess_unprotect_rtcp(p->srtp, data, &n) < 0) {
			p->st.srtp_errors++;
			return;
		}
		p->st.rtcp_in++;
		peer_rtcp_in(p, data, n);
		return;
	}
	if (srtp_sess_unprotect_rtp(p->srtp, data, &n) < 0) {
		p->st.srtp_errors++;
		return;
	}
	p->st.rtp_in++;
	on_rtp(p, data, n);
}

void peer_request_keyframe(struct peer *p)
{
	kf_limiter_request(&p->pli);
}

void peer_in_poll(struct peer *p)
{
	if (!p->srtp || !p->room)
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
		peer_rtcp_send_pli(p);
}
