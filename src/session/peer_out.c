/*
 * peer_out.c - a peer's outbound media: the engine's mixed packets (shared by every recipient
 * of the same output) get this peer's SSRC, sequence numbers and timestamps, are packetized
 * (RFC 7741 for VP8, RFC 7587 for Opus), remembered for NACK (video), SRTP-protected and sent.
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
#include "rtp/vp8_rtp.h"
#include "session/peer.h"
#include "session/room.h"

#define MAX_RTP_PAYLOAD 1150 /* keeps SRTP packets under ~1200 bytes */
#define RTX_BUDGET_MAX  100  /* retransmissions that may be banked (a burst of loss) */

struct emit_ctx {
	struct peer *p;
	uint32_t ts;
};

uint32_t peer_out_rtp_ts(const struct out_stream *o, int64_t pts_us)
{
	return o->ts_base + (uint32_t)(uint64_t)(pts_us * o->clock / 1000000);
}

/* abs-send-time: 6.18 fixed-point seconds, 24 bits. */
static void abs_send_time(uint8_t out[3])
{
	uint64_t t = ((uint64_t)g_get_monotonic_time() << 18) / 1000000;
	out[0] = (uint8_t)(t >> 16);
	out[1] = (uint8_t)(t >> 8);
	out[2] = (uint8_t)t;
}

static void protect_and_send(struct peer *p, uint8_t *buf, size_t len)
{
	if (srtp_sess_protect_rtp(p->srtp, buf, &len, RTP_MAX_PACKET + SRTP_MAX_TRAILER) == 0)
		peer_transport_send(p, buf, len);
}

static int send_rtp(struct peer *p, struct out_stream *o, uint32_t ts, bool marker,
                    const uint8_t *payload, size_t len)
{
	uint8_t buf[RTP_MAX_PACKET + SRTP_MAX_TRAILER];
	struct rtp_hdr h = {
	    .marker = marker, .pt = (uint8_t)o->pt, .seq = o->seq++, .ts = ts, .ssrc = o->ssrc};
	uint8_t ext[3];
	int ext_id = o->ext_abs_send_time;
	if (ext_id)
		abs_send_time(ext);
	int n = rtp_write(buf, RTP_MAX_PACKET, &h, ext_id, ext, ext_id ? 3 : 0, payload, len);
	if (n < 0)
		return n;
	if (o == &p->out_video && p->rtx) {
		rtx_history_put(p->rtx, h.seq, buf, (size_t)n, g_get_monotonic_time());
		p->rtx_tokens += 0.5;
		if (p->rtx_tokens > RTX_BUDGET_MAX)
			p->rtx_tokens = RTX_BUDGET_MAX;
	}
	o->packets++;
	o->octets += (uint32_t)len;
	protect_and_send(p, buf, (size_t)n);
	return 0;
}

static int emit_video(void *opaque, const uint8_t *payload, size_t len, bool marker)
{
	struct emit_ctx *c = opaque;
	return send_rtp(c->p, &c->p->out_video, c->ts, marker, payload, len);
}

void peer_out_packet(struct peer *p, const struct mix_packet *pkt)
{
	if (!p->srtp)
		return;
	if (pkt->kind == MIX_VIDEO && p->out_video.active) {
		struct emit_ctx c = {p, peer_out_rtp_ts(&p->out_video, pkt->pts_us)};
		p->picture_id = (uint16_t)((p->picture_id + 1) & 0x7fff);
		vp8_packetize(pkt->data, pkt->size, MAX_RTP_PAYLOAD, p->picture_id, pkt->keyframe,
		              emit_video, &c);
	} else if (pkt->kind == MIX_AUDIO && p->out_audio.active) {
		send_rtp(p, &p->out_audio, peer_out_rtp_ts(&p->out_audio, pkt->pts_us), false,
		         pkt->data, pkt->size);
	}
}

void peer_out_retransmit(struct peer *p, uint16_t seq)
{
	const uint8_t *pkt;
	size_t len;
	if (!p->rtx || !p->srtp)
		return;
	/* The budget: half a packet earned per media packet sent, at most RTX_BUDGET_MAX banked,
	 * so retransmissions never exceed half the media sent plus a burst. */
	if (p->rtx_tokens < 1.0) {
		p->st.retransmits_limited++;
		return;
	}
	int64_t min_interval = p->rtt_us > 20000 ? p->rtt_us : 20000;
	int rc = rtx_history_get(p->rtx, seq, g_get_monotonic_time(), min_interval, &pkt, &len);
	if (rc == -EAGAIN || rc == -EDQUOT)
		p->st.retransmits_limited++;
	if (rc < 0)
		return;
	uint8_t buf[RTP_MAX_PACKET + SRTP_MAX_TRAILER];
	memcpy(buf, pkt, len);
	p->rtx_tokens -= 1.0;
	p->st.retransmits++;
	protect_and_send(p, buf, len);
}
