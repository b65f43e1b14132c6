/*
 * peer_out.c - a peer's outbound media: the engine's mixed packets (shared by every recipient
 * of the same output) get this peer's SSRC, sequence numbers and timestamps, are packetized
 * (RFC 7741 for VP8, RFC 6184 for H.264, RFC 7587 for Opus), remembered for NACK (video),
 * SRTP-protected and sent. A packet is described once (struct rtx_pkt: the shared frame, the part
 * of it carried, the RTP fields) and written straight into the send buffer from the frame (one
 * copy); the NACK history keeps that description with a reference to the frame, so a retransmission
 * is written the same way, byte for byte, with no per-peer copy of what was sent.
 *
 * RTP timestamps come from the engine's media time, the same clock for audio and video, so the
 * SR's NTP/RTP mapping (peer_rtcp.c) lets the browser lip-sync.
 * Media thread only.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "net/srtp.h"
#include "rtp/nack.h"
#include "rtp/rtp.h"
#include "rtp/h264_rtp.h"
#include "rtp/vp8_rtp.h"
#include "session/peer.h"
#include "session/room.h"

#define MAX_RTP_PAYLOAD 1150 /* keeps SRTP packets under ~1200 bytes */
#define RTX_BUDGET_MAX  100  /* retransmissions that may be banked (a burst of loss) */

struct emit_ctx {
	struct peer *p;
	struct rtx_pkt *rp; /* the frame's fields; each part fills in its own */
	int64_t now;
};

uint32_t peer_out_rtp_ts(const struct out_stream *o, int64_t pts_us)
{
	return o->ts_base + (uint32_t)(uint64_t)(pts_us * o->clock / 1000000);
}

/* abs-send-time: 6.18 fixed-point seconds, 24 bits. */
static void abs_send_time(int64_t now_us, uint8_t out[3])
{
	uint64_t t = ((uint64_t)now_us << 18) / 1000000;
	out[0] = (uint8_t)(t >> 16);
	out[1] = (uint8_t)(t >> 8);
	out[2] = (uint8_t)t;
}

/* On the transport of o's m-line (the only one with BUNDLE). */
static void protect_and_send(struct peer *p, const struct out_stream *o, uint8_t *buf, size_t len)
{
	struct peer_tp *tp = o == &p->out_audio ? peer_tp_audio(p) : peer_tp_video(p);
	peer_tp_send_rtp(tp, buf, len, RTP_MAX_PACKET + SRTP_MAX_TRAILER);
}

/* The fields every packet of one frame on stream o shares (the part carried comes later). */
static struct rtx_pkt frame_fields(const struct out_stream *o, struct mix_packet *frame,
                                   int64_t now_us)
{
	struct rtx_pkt rp = {.frame = frame,
	                     .pt = (uint8_t)o->pt,
	                     .ts = peer_out_rtp_ts(o, frame->pts_us),
	                     .ssrc = o->ssrc};
	if (o->ext_abs_send_time) {
		rp.ext_id = (uint8_t)o->ext_abs_send_time;
		rp.ext_len = 3;
		abs_send_time(now_us, rp.ext);
	}
	return rp;
}

/* Writes rp with seq, and the transport-wide seq where transport-cc is on (peer_cc.c). */
static int write_pkt(struct peer *p, const struct rtx_pkt *rp, bool video, uint16_t seq,
                     int64_t now, uint8_t *buf)
{
	uint8_t tseq[RTP_TRANSPORT_SEQ_LEN];
	struct rtp_ext_elem e;
	size_t size = 12 + rp->ext_len + rp->prefix_len + rp->len;
	if (peer_cc_stamp(p, video, size, now, tseq, &e))
		return rtx_pkt_write_ext(rp, seq, &e, buf, RTP_MAX_PACKET);
	return rtx_pkt_write(rp, seq, buf, RTP_MAX_PACKET);
}

static int send_rtp(struct peer *p, struct out_stream *o, const struct rtx_pkt *rp, int64_t now)
{
	uint8_t buf[RTP_MAX_PACKET + SRTP_MAX_TRAILER];
	uint16_t seq = o->seq++;
	int n = write_pkt(p, rp, o == &p->out_video, seq, now, buf);
	if (n < 0)
		return n;
	if (o == &p->out_video && p->rtx) {
		rtx_history_put(p->rtx, seq, rp, now);
		p->rtx_tokens += 0.5;
		if (p->rtx_tokens > RTX_BUDGET_MAX)
			p->rtx_tokens = RTX_BUDGET_MAX;
	}
	o->packets++;
	o->octets += (uint32_t)(rp->prefix_len + rp->len);
	o->last_ts = rp->ts;
	protect_and_send(p, o, buf, (size_t)n);
	return 0;
}

static int emit_video(void *opaque, const uint8_t *desc, size_t desc_len, size_t off, size_t n,
                      bool marker)
{
	struct emit_ctx *c = opaque;
	if (desc_len > RTX_MAX_PREFIX || n > UINT16_MAX)
		return -EINVAL;
	if (desc_len) /* an H.264 single NAL unit packet has no prefix (desc NULL) */
		memcpy(c->rp->prefix, desc, desc_len);
	c->rp->prefix_len = (uint8_t)desc_len;
	c->rp->offset = (uint32_t)off;
	c->rp->len = (uint16_t)n;
	c->rp->marker = marker;
	return send_rtp(c->p, &c->p->out_video, c->rp, c->now);
}

void peer_out_packet(struct peer *p, const struct mix_packet *pkt)
{
	if (!peer_media_ready(p))
		return;
	/* The history takes references: the engine's packets are refcounted (mix/engine.h). */
	struct mix_packet *frame = (struct mix_packet *)pkt;
	int64_t now = g_get_monotonic_time();
	if (pkt->kind == MIX_VIDEO && p->out_video.active) {
		if (pkt->size > UINT32_MAX)
			return;
		struct rtx_pkt rp = frame_fields(&p->out_video, frame, now);
		struct emit_ctx c = {p, &rp, now};
		if (p->vcodec == SDP_VCODEC_H264) {
			h264_packetize_parts(pkt->data, pkt->size, MAX_RTP_PAYLOAD, emit_video, &c);
			return;
		}
		p->picture_id = (uint16_t)((p->picture_id + 1) & 0x7fff);
		vp8_packetize_parts(pkt->size, MAX_RTP_PAYLOAD, p->picture_id, emit_video, &c);
	} else if (pkt->kind == MIX_AUDIO && p->out_audio.active) {
		if (pkt->size > UINT16_MAX)
			return;
		struct rtx_pkt rp = frame_fields(&p->out_audio, frame, now);
		rp.len = (uint16_t)pkt->size;
		send_rtp(p, &p->out_audio, &rp, now);
	}
}

/*
 * RFC 4588 4: a retransmission on the RTX stream: its own payload type and SSRC, the original
 * sequence number (OSN) before the original payload. false where RTX is not negotiated (the
 * packet is resent as it was) or the OSN does not fit the prefix.
 */
static bool rtx_wrap(const struct out_stream *o, const struct rtx_pkt *rp, uint16_t seq,
                     struct rtx_pkt *out)
{
	if (o->rtx_pt < 0 || rp->prefix_len + 2 > RTX_MAX_PREFIX)
		return false;
	*out = *rp;
	out->pt = (uint8_t)o->rtx_pt;
	out->ssrc = o->rtx_ssrc;
	out->prefix[0] = (uint8_t)(seq >> 8);
	out->prefix[1] = (uint8_t)seq;
	memcpy(out->prefix + 2, rp->prefix, rp->prefix_len);
	out->prefix_len = (uint8_t)(rp->prefix_len + 2);
	return true;
}

void peer_out_retransmit(struct peer *p, uint16_t seq)
{
	const struct rtx_pkt *rp;
	if (!p->rtx || !peer_media_ready(p))
		return;
	/* The budget: half a packet earned per media packet sent, at most RTX_BUDGET_MAX banked,
	 * so retransmissions never exceed half the media sent plus a burst. */
	if (p->rtx_tokens < 1.0) {
		p->st.retransmits_limited++;
		return;
	}
	int64_t min_interval = p->rtt_us > 20000 ? p->rtt_us : 20000;
	int rc = rtx_history_get(p->rtx, seq, g_get_monotonic_time(), min_interval, &rp);
	if (rc == -EAGAIN || rc == -EDQUOT)
		p->st.retransmits_limited++;
	if (rc < 0)
		return;
	uint8_t buf[RTP_MAX_PACKET + SRTP_MAX_TRAILER];
	struct rtx_pkt r;
	bool wrapped = rtx_wrap(&p->out_video, rp, seq, &r);
	int n = write_pkt(p, wrapped ? &r : rp, true, wrapped ? p->out_video.rtx_seq++ : seq,
	                  g_get_monotonic_time(), buf);
	if (n < 0)
		return;
	p->rtx_tokens -= 1.0;
	p->st.retransmits++;
	protect_and_send(p, &p->out_video, buf, (size_t)n);
}

/*
 * A padding-only packet (RFC 3550 5.1: the P bit, the last byte the count) of PAD_BYTES, on the
 * RTX stream where negotiated (libwebrtc's padding; it needs no sequence number of the media),
 * else on the media stream with the next sequence number and the last timestamp. Only with a
 * transport-wide seq: padding is for the estimator (peer_cc.c).
 */
#define PAD_BYTES 224
size_t peer_out_padding(struct peer *p, size_t bytes, int64_t now)
{
	struct out_stream *o = &p->out_video;
	size_t sent = 0;
	while (peer_media_ready(p) && o->active && sent < bytes) {
		bool rtx = o->rtx_pt >= 0;
		uint16_t *seq = rtx ? &o->rtx_seq : &o->seq;
		struct rtp_hdr h = {.pt = (uint8_t)(rtx ? o->rtx_pt : o->pt),
		                    .seq = *seq,
		                    .ts = o->last_ts,
		                    .ssrc = rtx ? o->rtx_ssrc : o->ssrc};
		uint8_t buf[RTP_MAX_PACKET + SRTP_MAX_TRAILER], tseq[RTP_TRANSPORT_SEQ_LEN];
		struct rtp_ext_elem e;
		size_t size = 12 + 8 + PAD_BYTES; /* header, the seq's extension block, padding */
		if (!peer_cc_stamp(p, true, size, now, tseq, &e))
			break;
		int n = rtp_write_ext(buf, RTP_MAX_PACKET, &h, &e, 1, NULL, 0);
		if (n < 0 || (size_t)n + PAD_BYTES > RTP_MAX_PACKET)
			break;
		buf[0] |= 0x20;
		memset(buf + n, 0, PAD_BYTES - 1);
		buf[n + PAD_BYTES - 1] = PAD_BYTES;
		(*seq)++;
		sent += (size_t)n + PAD_BYTES;
		p->st.padding_sent++;
		protect_and_send(p, o, buf, (size_t)n + PAD_BYTES);
	}
	return sent;
}
