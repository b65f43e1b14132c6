/*
 * peer_cc.c - one peer's congestion control, both ways, and the link's say in its rung.
 *
 * Where transport-cc is negotiated (draft-holmer-rmcat-transport-wide-cc-extensions-01):
 *   - Uplink: every packet the browser sends carries a transport-wide sequence number; we note
 *     its arrival (rtp/twcc.c) and send feedback every PEER_CC_FEEDBACK_MS. The browser's own
 *     send-side estimator runs on it (REMB we send still caps it from above).
 *   - Downlink: every packet we send gets the next number of this peer's counter; the browser's
 *     feedback about them drives a send-side estimator (rtp/bwe.c); every PEER_CC_RUNG_MS its
 *     estimate, weighed against what was sent and what arrived (link_rate), moves the peer on
 *     the ladder (session/ladder.h). Browsers send no REMB then.
 *   With config uplink_transport_cc and not transport_cc, only the uplink part runs: our
 *   packets carry no transport-wide seq, so the browser's receive side keeps estimating our
 *   downlink itself and sends REMB.
 * Otherwise the browser's REMB moves the peer on the ladder, capped by what got through when
 * its receiver reports say our video is being lost (peer_cc_on_remb).
 *
 * Threads: the peer's loop, except peer_cc_stamp, which runs wherever the peer's packets are
 * sent (a pool thread of the room's tick while the loop thread waits in the fork, or the loop).
 * The peer owns its twcc_recv, estimator and feedback buffer.
 */
#include <errno.h>
#include <stdlib.h>

#include <glib.h>

#include "log.h"
#include "net/loop.h"
#include "net/srtp.h"
#include "rtp/bwe.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/twcc.h"
#include "config.h"
#include "session/env.h"
#include "session/peer.h"
#include "session/room.h"

#define PEER_CC_FEEDBACK_MS  100  /* libwebrtc's pace */
#define PEER_CC_RUNG_MS      500  /* the ladder's rules expect an estimate every 0.5-1 s */
#define PEER_CC_RUNG_SOON_MS 150  /* sooner where the link falls (link_falls) */
#define PEER_CC_DELIVERED    0.8  /* acknowledged / sent: the link carries what we send */
#define PEER_CC_MAX_LOSS     0.1  /* GCC decreases above 10 % loss, holds below */
#define PEER_CC_RR_LOSS      0.25 /* receiver-report loss above this caps REMB */
/* a receiver-report loss window closed this recently still caps REMB */
#define PEER_CC_RR_FRESH_US (PEER_RR_MAX_US + 1000000)
#define PEER_CC_FB_BUF      1500   /* peer_rtcp_send's buffer size */
#define PEER_CC_FB_LEN      1200   /* a feedback packet at most */
#define PROBE_US            500000 /* how long a probe sends padding */
#define PROBE_TICK_MS       10     /* padding paced in steps of this */
#define PROBE_SETTLE_US     250000 /* the acknowledged rate is read from this into a probe */
#define PROBE_JUDGE_US      250000 /* and judged this long (plus the RTT) after its end */
#define PROBE_HELD          0.85   /* acknowledged / sent during a probe that held */

static void to_rung(struct peer *p, uint64_t bps, int64_t now_us);

/*
 * Audio only, nothing of ours carries a transport-wide seq (video only has it), so no feedback
 * comes back to move the ladder: the last estimate is fed on time instead, and the ladder's
 * timed step up to the lowest rung restarts video (and feedback with it).
 */
static void feed_without_feedback(struct peer *p)
{
	int64_t now = g_get_monotonic_time();
	if (p->cc.bwe && p->rung.cur >= peer_ladder(p)->n &&
	    now - p->cc.rung_fed_us >= PEER_CC_RUNG_MS * 1000) {
		p->cc.rung_fed_us = now;
		to_rung(p, p->cc.estimate, now);
	}
}

static gboolean on_feedback_timer(gpointer data)
{
	struct peer *p = data;
	feed_without_feedback(p);
	uint8_t buf[PEER_CC_FB_BUF + SRTP_MAX_TRAILER];
	uint32_t media = p->in_video.bound ? p->in_video.ssrc : p->in_audio.ssrc;
	uint32_t ours = p->out_video.active ? p->out_video.ssrc : p->out_audio.ssrc;
	int n;
	/* transport-cc is negotiated with BUNDLE only (sdp.h): one transport */
	while (peer_media_ready(p) &&
	       (n = twcc_recv_build(p->cc.in, ours, media, buf, PEER_CC_FB_LEN)) > 0) {
		p->st.twcc_sent++;
		peer_rtcp_send(&p->tp[0], buf, (size_t)n);
	}
	return G_SOURCE_CONTINUE;
}

int peer_cc_setup(struct peer *p)
{
	const struct sdp_negotiated *n = &p->neg;
	const struct sdp_neg_media *a = n->audio_index >= 0 ? &n->media[n->audio_index] : NULL;
	const struct sdp_neg_media *v = n->video_index >= 0 ? &n->media[n->video_index] : NULL;
	p->cc.delivered = 1.0;
	p->cc.ext_audio = a && a->twcc ? a->ext_twcc : 0;
	p->cc.ext_video = v && v->twcc ? v->ext_twcc : 0;
	if (!p->cc.ext_audio && !p->cc.ext_video)
		return 0;
	int rc = twcc_recv_alloc(&p->cc.in);
	if (rc == 0 && p->cc.ext_video && p->out_video.active && p->env->cfg->transport_cc) {
		const struct ladder *l = peer_ladder(p);
		struct bwe_cfg bc = {
		    .start_bps = 300000, .min_bps = 30000, .max_bps = l->r[0].bitrate * 2 + 200000};
		rc = bwe_alloc(&p->cc.bwe, &bc);
		p->cc.fb = rc == 0 ? malloc(sizeof(*p->cc.fb)) : NULL;
		rc = rc ?: (p->cc.fb ? 0 : -ENOMEM);
	}
	if (rc == 0)
		p->cc.timer = loop_timer_add(p->env->loop, PEER_CC_FEEDBACK_MS, G_PRIORITY_DEFAULT,
		                             on_feedback_timer, p);
	return rc;
}

void peer_cc_free(struct peer *p)
{
	loop_source_remove(p->env->loop, &p->cc.timer);
	loop_source_remove(p->env->loop, &p->cc.probe.timer);
	twcc_recv_free(&p->cc.in);
	bwe_free(&p->cc.bwe);
	free(p->cc.fb);
	p->cc.fb = NULL;
}

void peer_cc_on_rtp(struct peer *p, const struct rtp_hdr *h, bool video, int64_t now_us)
{
	int id = video ? p->cc.ext_video : p->cc.ext_audio;
	uint16_t seq;
	if (id && p->cc.in && rtp_transport_seq(h, id, &seq) == 0)
		twcc_recv_on_packet(p->cc.in, seq, now_us);
}

bool peer_cc_stamp(struct peer *p, bool video, size_t size, int64_t now_us,
                   uint8_t data[RTP_TRANSPORT_SEQ_LEN], struct rtp_ext_elem *e)
{
	int id = video ? p->cc.ext_video : p->cc.ext_audio;
	if (!id || !p->cc.bwe) /* uplink only: our packets go unnumbered, the browser sends REMB */
		return false;
	uint16_t seq = p->cc.seq++;
	rtp_transport_seq_put(data, seq);
	*e = (struct rtp_ext_elem){.id = (uint8_t)id, .len = RTP_TRANSPORT_SEQ_LEN, .data = data};
	bwe_on_sent(p->cc.bwe, seq, size, now_us);
	p->cc.sent_bytes += size;
	if (p->cc.probe.timer && now_us < p->cc.probe.end)
		p->cc.probe.bytes += size;
	return true;
}

/* ---- probing before a step up (transport-cc) ---- */

static void probe_stop(struct peer *p)
{
	loop_source_remove(p->env->loop, &p->cc.probe.timer);
}

/* Whether the probe held: the link acknowledged what we sent, with no overuse or heavy loss. */
static bool probe_held(struct peer *p)
{
	struct bwe_stats st;
	bwe_get_stats(p->cc.bwe, &st);
	double secs = (double)(p->cc.probe.end - p->cc.probe.start) / 1e6;
	double sent = secs > 0 ? (double)p->cc.probe.bytes * 8 / secs : 0;
	bool held = st.overuses == p->cc.probe.overuses && st.loss < PEER_CC_MAX_LOSS &&
	            (double)p->cc.probe.max_acked >= PROBE_HELD * sent;
	LOG_D(
	    "peer %u: probe %s: sent %.0f bit/s (padding %.0f), acknowledged %llu, overuses %llu, "
	    "loss %.0f %%",
	    p->id, held ? "held" : "failed", sent, p->cc.probe.pad_bps,
	    (unsigned long long)p->cc.probe.max_acked,
	    (unsigned long long)(st.overuses - p->cc.probe.overuses), st.loss * 100);
	return held;
}

static gboolean on_probe_timer(gpointer data)
{
	struct peer *p = data;
	int64_t now = g_get_monotonic_time();
	struct bwe_stats st;
	bwe_get_stats(p->cc.bwe, &st);
	if (st.overuses != p->cc.probe.overuses && now < p->cc.probe.end)
		p->cc.probe.end = p->cc.probe.judge_at = now; /* the queue grows: stop at once */
	if (now < p->cc.probe.end) {
		p->cc.probe.pad_owed +=
		    p->cc.probe.pad_bps / 8 * (double)(now - p->cc.probe.last) / 1e6;
		p->cc.probe.last = now;
		if (p->cc.probe.pad_owed > 0)
			p->cc.probe.pad_owed -=
			    (double)peer_out_padding(p, (size_t)p->cc.probe.pad_owed, now);
		return G_SOURCE_CONTINUE;
	}
	if (now < p->cc.probe.judge_at)
		return G_SOURCE_CONTINUE;
	p->cc.probe.timer = 0;
	if (rung_ctl_probe_done(&p->rung, probe_held(p), now) == RUNG_UP)
		peer_apply_rung(p, "link-up");
	return G_SOURCE_REMOVE;
}

/*
 * Probes for the rung above: for PROBE_US, padding that brings what we send up to that rung's
 * bitrate (at least a third of it), paced every PROBE_TICK_MS; stopped at the first overuse the
 * estimator sees (a failed probe costs a short queue, not a frozen picture).
 */
static void probe_start(struct peer *p, int64_t now)
{
	const struct ladder *l = peer_ladder(p);
	double want = l->r[p->rung.cur - 1].bitrate;
	double pad = want - p->cc.sent_bps;
	p->cc.probe.pad_bps = pad > want / 3 ? pad : want / 3;
	p->cc.probe.pad_owed = 0;
	p->cc.probe.start = p->cc.probe.last = now;
	p->cc.probe.end = now + PROBE_US;
	p->cc.probe.judge_at = p->cc.probe.end + PROBE_JUDGE_US + p->rtt_us;
	p->cc.probe.bytes = 0;
	p->cc.probe.max_acked = 0;
	struct bwe_stats st;
	bwe_get_stats(p->cc.bwe, &st);
	p->cc.probe.overuses = st.overuses;
	probe_stop(p);
	p->cc.probe.timer =
	    loop_timer_add(p->env->loop, PROBE_TICK_MS, G_PRIORITY_DEFAULT, on_probe_timer, p);
}

/* The link's estimate (REMB or ours) moves the peer on the ladder. */
static void to_rung(struct peer *p, uint64_t bps, int64_t now_us)
{
	if (!p->room || !p->out_video.active)
		return;
	LOG_D("peer %u: link %llu bit/s, receiver-report loss %.0f %%", p->id,
	      (unsigned long long)bps, p->rr_loss * 100);
	p->rung.probe_first = p->cc.bwe != NULL; /* padding needs transport-cc to be judged */
	enum rung_why w = rung_ctl_estimate(&p->rung, peer_ladder(p), bps, now_us);
	if (w == RUNG_PROBE) {
		probe_start(p, now_us);
		return;
	}
	if (w == RUNG_DOWN)
		probe_stop(p);
	if (w != RUNG_SAME)
		peer_apply_rung(p, w == RUNG_DOWN ? "link-down" : "link-up");
}

/*
 * What the ladder is told the link carries. While what we send arrives (the acknowledged rate
 * at least PEER_CC_DELIVERED of the rate sent, little loss), at least what the current rung
 * needs: the estimate alone starts low and ramps slowly, and a delay-based detector fed by a
 * busy receiver's arrival times sees overuse now and then on a link that carries everything.
 * When it does not arrive, the estimate, but not less than what got through: a bottleneck
 * that drops what exceeds it makes the loss-based estimate fall far below that rate, and the
 * ladder would give up on video. With heavy loss, what got through at once: the loss-based
 * estimate comes down from above by one cut per RTT, a second or more behind the link.
 */
static uint64_t link_rate(struct peer *p, int64_t now_us)
{
	struct bwe_stats st;
	bwe_get_stats(p->cc.bwe, &st);
	double secs = (double)(now_us - p->cc.rung_fed_us) / 1e6;
	double sent_bps = secs > 0 ? (double)p->cc.sent_bytes * 8 / secs : 0;
	p->cc.sent_bytes = 0;
	p->cc.sent_bps = sent_bps;
	/* acknowledged / sent, smoothed: one window's keyframe burst or jitter is no bottleneck */
	/* (acked_bps is 0 until the estimator has seen BWE_ACKED_US of arrivals: unknown, not 0) */
	double ratio = sent_bps > 0 && st.acked_bps > 0 ? (double)st.acked_bps / sent_bps : 1.0;
	p->cc.delivered = 0.7 * p->cc.delivered + 0.3 * (ratio < 1.0 ? ratio : 1.0);
	bool delivered = st.loss < PEER_CC_MAX_LOSS && p->cc.delivered >= PEER_CC_DELIVERED;
	uint64_t v = p->cc.estimate > st.acked_bps ? p->cc.estimate : st.acked_bps;
	const struct ladder *l = peer_ladder(p);
	if (delivered && p->rung.cur < l->n) {
		uint64_t need = ladder_need(l, p->rung.cur);
		v = v > need ? v : need;
	} else if (st.loss >= PEER_CC_MAX_LOSS && st.acked_bps > 0) {
		/* not below the lowest rung, as for REMB */
		uint64_t lowest = ladder_need(l, l->n - 1);
		v = st.acked_bps > lowest ? st.acked_bps : lowest;
	}
	return v;
}

/*
 * Whether heavy loss says a bottleneck drops what we send: feed the ladder now. (Not on the
 * estimate alone: it starts at 300 kbit/s and ramps for many seconds on a link that carries
 * everything; link_rate weighs it against delivery.)
 */
static bool link_falls(struct peer *p)
{
	struct bwe_stats st;
	bwe_get_stats(p->cc.bwe, &st);
	return p->rung.cur < peer_ladder(p)->n && st.loss >= PEER_CC_MAX_LOSS;
}

void peer_cc_on_feedback(struct peer *p, const struct rtcp_item *it)
{
	p->st.twcc_received++;
	if (!p->cc.bwe || twcc_parse_fci(it->fci, it->fci_len, p->cc.fb) < 0)
		return;
	const struct twcc_fb *fb = p->cc.fb;
	for (int i = 0; i < fb->count; i++)
		bwe_on_result(p->cc.bwe, fb->pkts[i].seq, fb->pkts[i].received,
		              fb->pkts[i].arrival_us);
	int64_t now = g_get_monotonic_time();
	bwe_on_feedback_end(p->cc.bwe, now);
	p->cc.estimate = bwe_estimate(p->cc.bwe);
	if (p->cc.probe.timer && now >= p->cc.probe.start + PROBE_SETTLE_US) {
		struct bwe_stats st;
		bwe_get_stats(p->cc.bwe, &st);
		if (st.acked_bps > p->cc.probe.max_acked)
			p->cc.probe.max_acked = st.acked_bps;
	}
	if (now - p->cc.rung_fed_us >= PEER_CC_RUNG_MS * 1000 ||
	    (now - p->cc.rung_fed_us >= PEER_CC_RUNG_SOON_MS * 1000 && link_falls(p))) {
		uint64_t v = link_rate(p, now);
		p->cc.rung_fed_us = now;
		to_rung(p, v, now);
	}
}

/*
 * The browser's REMB is delay-based only: once a bottleneck's queue is full and drops what
 * exceeds it, the delay stops growing and REMB stops falling. So where its receiver reports
 * say more than PEER_CC_RR_LOSS of our video was lost lately, what got through (what we sent
 * times what arrived) caps the estimate (RFC 3550 receiver-report loss).
 */
void peer_cc_on_remb(struct peer *p, uint64_t bps)
{
	if (p->cc.bwe) /* our own estimate, where we have one, says more than the browser's */
		return;
	int64_t now = g_get_monotonic_time();
	if (p->rr_loss > PEER_CC_RR_LOSS && now - p->rr_at < PEER_CC_RR_FRESH_US) {
		uint64_t through = (uint64_t)(p->rr_sent_bps * (1.0 - p->rr_loss));
		/* not below the lowest rung: one report's window can hold a rung switch's burst */
		const struct ladder *l = peer_ladder(p);
		uint64_t lowest = ladder_need(l, l->n - 1);
		through = through > lowest ? through : lowest;
		bps = through < bps ? through : bps;
	}
	to_rung(p, bps, now);
}

void peer_cc_on_rtt(struct peer *p, int64_t rtt_us)
{
	bwe_on_rtt(p->cc.bwe, rtt_us);
}
