/*
 * peer_rtcp.c - RTCP for one peer (RFC 3550 6, RFC 4585, RFC 5104, REMB).
 *
 * In: PLI/FIR ask the engine for a keyframe of this peer's output (the engine coalesces to one
 * per second per encoder); NACKs resend from history (each packet at most once per RTT);
 * REMB moves this peer on the room's ladder of outputs (a lower rung on a slow link: its own
 * smaller encoder, or one shared with others on that rung, instead of slowing everyone); SRs are
 * remembered for our RRs (LSR/DLSR); RRs give the RTT. Out, about once a second: an SR per stream
 * we send (NTP now <-> the RTP time of the media we are sending now), report blocks for what we
 * receive, SDES CNAME, and a REMB telling the browser how much uplink it may use. Media thread
 * only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "net/srtp.h"
#include "rtp/rtcp.h"
#include "rtp/reorder.h"
#include "session/peer.h"
#include "session/room.h"
#include "config.h"
#include "session/env.h"

#define PEER_KF_MIN_US 2000000 /* a peer's keyframe requests are passed on at most this often */

#define RTCP_BUF      1500
#define MAX_NACK_SEQS 256

void peer_rtcp_send(struct peer_tp *tp, uint8_t *buf, size_t len)
{
	peer_tp_send_rtcp(tp, buf, len, RTCP_BUF + SRTP_MAX_TRAILER);
}

static uint32_t our_ssrc(const struct peer *p)
{
	return p->out_video.active ? p->out_video.ssrc : p->out_audio.ssrc;
}

/* ---- in ---- */

/*
 * The browser's estimate of our downlink moves this peer on the room's ladder of outputs
 * (session/ladder.h) where we have no estimate of our own (no transport-cc; peer_cc.c).
 */
static void on_remb(struct peer *p, uint64_t bps)
{
	p->st.remb_received++;
	peer_cc_on_remb(p, bps);
}

static void on_nack(struct peer *p, const struct rtcp_item *it)
{
	uint16_t seqs[MAX_NACK_SEQS];
	int n = rtcp_nack_seqs(it, seqs, MAX_NACK_SEQS);
	p->st.nacks_received++;
	for (int i = 0; i < n; i++)
		peer_out_retransmit(p, seqs[i]);
}

static struct in_stream *stream_of(struct peer *p, uint32_t ssrc)
{
	if (p->in_audio.bound && p->in_audio.ssrc == ssrc)
		return &p->in_audio;
	if (p->in_video.bound && p->in_video.ssrc == ssrc)
		return &p->in_video;
	return NULL;
}

static uint32_t ntp_mid_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ntp = rtcp_ntp_from_us((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	return (uint32_t)(ntp >> 16);
}

/*
 * Loss of our video from its receiver reports (RFC 3550 6.4.1), and what we sent meanwhile:
 * the rate that got through (peer_cc.c). Over windows of at least PEER_RR_WINDOW_US and
 * PEER_RR_WINDOW_PKTS packets, from the cumulative counters: one report's fraction lost covers
 * a dozen packets every 200 ms, where 5 % random loss (or reordering) reads as 25-50 % now and
 * then, and a ladder that believed it would move for nothing.
 */
static void on_video_loss(struct peer *p, const struct rtcp_report *rb)
{
	int64_t now = g_get_monotonic_time();
	uint32_t octets = p->out_video.octets;
	int64_t expected = (int64_t)(uint32_t)(rb->ext_highest_seq - p->rr_seq);
	bool open = p->rr_from > 0 && expected < 1 << 20;
	if (open && now - p->rr_from < PEER_RR_MAX_US &&
	    (now - p->rr_from < PEER_RR_WINDOW_US || expected < PEER_RR_WINDOW_PKTS))
		return; /* the window is still open */
	if (open && expected > 0) {
		int64_t lost = (int64_t)rb->cumulative_lost - p->rr_lost;
		lost = lost < 0 ? 0 : lost > expected ? expected : lost;
		p->rr_loss = (double)lost / (double)expected;
		p->st.packets_lost_out += (uint64_t)lost;
		p->rr_sent_bps =
		    (double)(uint32_t)(octets - p->rr_octets) * 8e6 / (double)(now - p->rr_from);
		p->rr_at = now;
	}
	p->rr_from = now;
	p->rr_octets = octets;
	p->rr_seq = rb->ext_highest_seq;
	p->rr_lost = rb->cumulative_lost;
}

/* RTT from a report block about one of our streams (RFC 3550 6.4.1), and video loss. */
static void on_report(struct peer *p, const struct rtcp_report *rb)
{
	if (rb->ssrc == p->out_video.ssrc && p->out_video.active)
		on_video_loss(p, rb);
	if (rb->lsr == 0 || (rb->ssrc != p->out_video.ssrc && rb->ssrc != p->out_audio.ssrc))
		return;
	uint32_t rtt = ntp_mid_now() - rb->lsr - rb->dlsr; /* 1/65536 s */
	if (rtt < 65536 * 5) {
		p->rtt_us = (int64_t)rtt * 1000000 / 65536;
		peer_cc_on_rtt(p, p->rtt_us);
		reorder_set_wait(p->in_video.ro, peer_video_reorder_wait(p->rtt_us));
	}
}

/*
 * A PLI/FIR from this recipient. The engine makes at most one keyframe per second per encoder,
 * but encoders are shared: one peer asking all the time would give every other recipient a
 * keyframe a second. So each peer's requests are passed on at most once per PEER_KF_MIN_US.
 */
static void on_keyframe_request(struct peer *p)
{
	int64_t now = g_get_monotonic_time();
	if (p->last_kf_req && now - p->last_kf_req < PEER_KF_MIN_US) {
		p->st.plis_limited++;
		return;
	}
	p->last_kf_req = now;
	if (p->room)
		mix_engine_request_keyframe(p->room->eng, p->id);
}

static int on_item(void *opaque, const struct rtcp_item *it)
{
	struct peer *p = opaque;
	struct in_stream *s;
	switch (it->kind) {
	case RTCP_PLI:
	case RTCP_FIR:
		p->st.plis_received++;
		on_keyframe_request(p);
		break;
	case RTCP_NACK:
		on_nack(p, it);
		break;
	case RTCP_REMB:
		on_remb(p, it->remb_bps);
		break;
	case RTCP_TWCC:
		peer_cc_on_feedback(p, it);
		break;
	case RTCP_SR:
		if ((s = stream_of(p, it->sender_ssrc)) && p->room) {
			s->last_sr_mid = (uint32_t)(it->ntp >> 16);
			s->last_sr_at = room_now(p->room);
		}
		/* an SR carries report blocks too */
		__attribute__((fallthrough));
	case RTCP_RR:
		for (int i = 0; i < it->n_reports; i++)
			on_report(p, &it->reports[i]);
		break;
	default:
		break;
	}
	return 0;
}

void peer_rtcp_in(struct peer *p, const uint8_t *data, size_t len)
{
	if (rtcp_parse(data, len, on_item, p) < 0)
		p->st.rtp_dropped++;
}

/* ---- out ---- */

/* A report block for an inbound stream (RFC 3550 6.4.1, A.3). */
static int report_block(struct peer *p, struct in_stream *s, struct rtcp_report *rb)
{
	if (!s->bound || s->packets == 0)
		return 0;
	uint32_t ext_max = s->cycles + s->max_seq;
	uint32_t expected = ext_max - s->base_seq + 1;
	int64_t lost = (int64_t)expected - s->received;
	uint32_t exp_int = expected - s->expected_prior, rec_int = s->received - s->received_prior;
	int64_t lost_int = (int64_t)exp_int - rec_int;
	s->expected_prior = expected;
	s->received_prior = s->received;
	s->loss = exp_int && lost_int > 0 ? (double)lost_int / exp_int : 0;
	p->st.packets_lost_in += lost_int > 0 ? (uint64_t)lost_int : 0;
	*rb = (struct rtcp_report){
	    .ssrc = s->ssrc,
	    .fraction_lost = (uint8_t)(exp_int && lost_int > 0 ? (lost_int << 8) / exp_int : 0),
	    .cumulative_lost = (int32_t)(lost > 0x7fffff    ? 0x7fffff
	                                 : lost < -0x800000 ? -0x800000
	                                                    : lost),
	    .ext_highest_seq = ext_max,
	    .jitter = (uint32_t)s->jitter,
	    .lsr = s->last_sr_mid,
	    .dlsr = s->last_sr_mid
	                ? (uint32_t)((room_now(p->room) - s->last_sr_at) * 65536 / 1000000)
	                : 0,
	};
	return 1;
}

static int sender_report(struct peer *p, struct out_stream *o, uint8_t *buf, size_t cap,
                         const struct rtcp_report *rep, int nrep)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ntp = rtcp_ntp_from_us((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	uint32_t rtp = peer_out_rtp_ts(o, room_media_now(p->room));
	return rtcp_write_sr(buf, cap, o->ssrc, ntp, rtp, o->packets, o->octets, rep, nrep);
}

/* Appends SDES and, when we receive video, a REMB for the browser's uplink. */
static int append_sdes_remb(struct peer *p, uint32_t ssrc, uint8_t *buf, size_t cap, bool remb)
{
	char cname[32];
	snprintf(cname, sizeof(cname), "mcu-%u", p->id);
	int n = rtcp_write_sdes_cname(buf, cap, ssrc, cname);
	if (n < 0 || !remb || !p->in_video.bound)
		return n;
	uint32_t ssrcs[1] = {p->in_video.ssrc};
	int m =
	    rtcp_write_remb(buf + n, cap - (size_t)n, ssrc,
	                    peer_layers_remb(p, (uint64_t)p->env->cfg->uplink_bitrate), ssrcs, 1);
	return m < 0 ? m : n + m;
}

/* An SR for o (NULL: an RR) with rep, SDES and maybe a REMB, on tp. */
static void send_compound(struct peer *p, struct peer_tp *tp, struct out_stream *o,
                          const struct rtcp_report *rep, int nrep, bool remb)
{
	uint8_t buf[RTCP_BUF + SRTP_MAX_TRAILER];
	uint32_t ssrc = o ? o->ssrc : our_ssrc(p);
	int n = o ? sender_report(p, o, buf, RTCP_BUF, rep, nrep)
	          : rtcp_write_rr(buf, RTCP_BUF, ssrc, rep, nrep);
	if (n < 0)
		return;
	int m = append_sdes_remb(p, ssrc, buf + n, RTCP_BUF - (size_t)n, remb);
	if (m > 0)
		peer_rtcp_send(tp, buf, (size_t)(n + m));
}

/* Whether o has sent something to report on. */
static bool sending(const struct out_stream *o)
{
	return o->active && o->packets;
}

/* One transport for everything (BUNDLE): the report blocks go in the first SR (or an RR). */
static void report_bundled(struct peer *p, const struct rtcp_report *rep, int nrep)
{
	struct peer_tp *tp = &p->tp[0];
	bool sent = false;
	if (sending(&p->out_video)) {
		send_compound(p, tp, &p->out_video, rep, nrep, true);
		sent = true;
	}
	if (sending(&p->out_audio)) {
		send_compound(p, tp, &p->out_audio, sent ? NULL : rep, sent ? 0 : nrep, !sent);
		sent = true;
	}
	if (!sent)
		send_compound(p, tp, NULL, rep, nrep, true);
}

/* One transport per m-line: each reports its own streams (the REMB goes with the video). */
static void report_split(struct peer *p, const struct rtcp_report *rv, int nv,
                         const struct rtcp_report *ra, int na)
{
	struct peer_tp *v = peer_tp_video(p), *a = peer_tp_audio(p);
	if (v && (sending(&p->out_video) || nv))
		send_compound(p, v, sending(&p->out_video) ? &p->out_video : NULL, rv, nv, true);
	if (a && (sending(&p->out_audio) || na))
		send_compound(p, a, sending(&p->out_audio) ? &p->out_audio : NULL, ra, na, !v);
}

void peer_rtcp_report(struct peer *p)
{
	if (!p->room)
		return;
	struct rtcp_report rep[2];
	int nv = report_block(p, &p->in_video, &rep[0]);
	int na = report_block(p, &p->in_audio, &rep[nv]);
	if (p->neg.bundle)
		report_bundled(p, rep, nv + na);
	else
		report_split(p, rep, nv, rep + nv, na);
}

void peer_rtcp_send_nack(struct peer *p, const uint16_t *seqs, int n)
{
	uint8_t buf[RTCP_BUF + SRTP_MAX_TRAILER];
	int len = rtcp_write_rr(buf, RTCP_BUF, our_ssrc(p), NULL, 0);
	if (len < 0)
		return;
	int m = rtcp_write_nack(buf + len, RTCP_BUF - (size_t)len, our_ssrc(p), p->in_video.ssrc,
	                        seqs, n);
	if (m < 0)
		return;
	p->st.nacks_sent++;
	peer_rtcp_send(peer_tp_video(p), buf, (size_t)(len + m));
}

void peer_rtcp_send_pli(struct peer *p, uint32_t media_ssrc)
{
	uint8_t buf[RTCP_BUF + SRTP_MAX_TRAILER];
	int len = rtcp_write_rr(buf, RTCP_BUF, our_ssrc(p), NULL, 0);
	if (len < 0)
		return;
	int m = rtcp_write_pli(buf + len, RTCP_BUF - (size_t)len, our_ssrc(p), media_ssrc);
	if (m < 0)
		return;
	p->st.plis_sent++;
	bool screen = p->screen.on && p->screen.s.bound && media_ssrc == p->screen.s.ssrc;
	peer_rtcp_send(screen ? peer_tp_screen(p) : peer_tp_video(p), buf, (size_t)(len + m));
}
