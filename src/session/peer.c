/*
 * peer.c - a participant's life cycle and offer/answer (see peer.h).
 *
 * Offer: parse and negotiate (sdp), set up the streams, start the transports (peer_transport.c:
 * ICE agents and DTLS associations; we answer a=setup:passive, so the browser is the DTLS
 * client), reply with the answer, then trickle our candidates. When DTLS completes, SRTP keys
 * are installed and media may flow; the engine gets a recipient for this peer with the
 * directions the offer asked for.
 * Runs on its room's loop only (net/loop.h); what it needs from above comes in p->env.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <openssl/rand.h>

#include "log.h"
#include "mix/h264.h"
#include "net/dtls.h"
#include "rtp/nack.h"
#include "rtp/reorder.h"
#include "rtp/h264_rtp.h"
#include "rtp/vp8_rtp.h"
#include "session/peer.h"
#include "session/room.h"
#include "config.h"
#include "net/loop.h"
#include "session/env.h"

#define ANSWER_MAX 16384
/*
 * How long a missing packet holds back the packets behind it (audio: AUDIO_REORDER_MAX_US in
 * peer.h, shortened to what the playout delay leaves). Video waits for NACK retransmissions:
 * 400 ms leaves two or three NACK rounds at RTTs up to about 150 ms (a sender refuses to resend
 * a packet within an RTT of the last time, so a second round often fails). A gap given up on
 * costs a keyframe request and a frozen tile until the keyframe comes; a late frame is still
 * shown (the engine decodes late frames at its next tick). Measured with --netsim
 * loss=5,delay=30,jitter=10,reorder=2 (RTT about 70 ms), per participant in a 20 s call: 150 ms
 * gave 3 to 7 keyframe requests (beyond the first) and tiles stalled up to 1.4 s; 400 ms gives 0
 * to 2 and tile stalls under 0.5 s (tests/e2e/impairment.test.mjs). So the wait follows the
 * measured RTT (peer_video_reorder_wait): 4 RTTs + 100 ms, at least 150 and at most 400 ms
 * (380 ms at that RTT; 150 ms on a LAN, where a retransmission takes a few milliseconds).
 */
#define VIDEO_REORDER_MIN_US 150000

int64_t peer_video_reorder_wait(int64_t rtt_us)
{
	int64_t w = 4 * rtt_us + 100000;
	return w < VIDEO_REORDER_MIN_US        ? VIDEO_REORDER_MIN_US
	       : w > PEER_VIDEO_REORDER_MAX_US ? PEER_VIDEO_REORDER_MAX_US
	                                       : w;
}

static uint32_t random_u32(void)
{
	uint32_t v = 0;
	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = (uint32_t)g_random_int();
	return v ? v : 1;
}

int peer_new(struct peer **out, const struct env *env, uint64_t conn, uint32_t id, const char *name)
{
	struct peer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->env = env;
	p->conn = conn;
	p->id = id;
	p->prefer_vcodec = -1;
	p->view.layout = p->view.exclude_self = -1;
	p->view.pin = SIG_NO_ID;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->rtt_us = 50000;
	playout_init(&p->po, (int64_t)env->cfg->playout_delay_min_ms * 1000,
	             (int64_t)env->cfg->playout_delay_ms * 1000);
	kf_limiter_init(&p->pli, 500000);
	kf_limiter_init(&p->screen.pli, 500000);
	p->screen.s.rtx_pt = -1;
	p->out_audio.ssrc = random_u32();
	p->out_video.ssrc = random_u32();
	do
		p->out_video.rtx_ssrc = random_u32();
	while (p->out_video.rtx_ssrc == p->out_video.ssrc);
	p->out_video.rtx_seq = (uint16_t)random_u32();
	p->in_video.rtx_pt = p->out_video.rtx_pt = -1;
	p->out_audio.ts_base = random_u32();
	p->out_video.ts_base = random_u32();
	p->out_audio.seq = (uint16_t)random_u32();
	p->out_video.seq = (uint16_t)random_u32();
	*out = p;
	return 0;
}

void peer_free(struct peer **pp)
{
	struct peer *p = *pp;
	if (!p)
		return;
	peer_transports_free(p); /* first: its --netsim timers deliver into the peer */
	loop_source_remove(p->env->loop, &p->rtcp_timer);
	peer_cc_free(p);
	reorder_free(&p->in_audio.ro);
	reorder_free(&p->in_video.ro);
	vp8_asm_free(&p->vasm);
	h264_asm_free(&p->hasm);
	reorder_free(&p->screen.s.ro);
	vp8_asm_free(&p->screen.vasm);
	h264_asm_free(&p->screen.hasm);
	nack_gen_free(&p->nack);
	rtx_history_free(&p->rtx);
	free(p);
	*pp = NULL;
}

bool peer_wants_video(const struct peer *p)
{
	return p->out_video.active;
}

bool peer_wants_audio(const struct peer *p)
{
	return p->out_audio.active;
}

void peer_fail(struct peer *p, const char *code, const char *msg)
{
	LOG_W("peer %u (%s): %s", p->id, p->name, msg);
	env_send_error(p->env, p->conn, code, msg);
}

const struct ladder *peer_ladder(const struct peer *p)
{
	return p->room ? &p->room->set.ladder : &p->env->cfg->ladder;
}

bool peer_audio_muted(const struct peer *p)
{
	return p->mutes[PEER_MUTE_SELF].audio || p->mutes[PEER_MUTE_MODERATOR].audio;
}

bool peer_video_muted(const struct peer *p)
{
	return p->mutes[PEER_MUTE_SELF].video || p->mutes[PEER_MUTE_MODERATOR].video;
}

enum peer_state peer_state(const struct peer *p)
{
	return p->dtls_dead          ? PEER_FAILED
	       : peer_media_ready(p) ? PEER_CONNECTED
	       : p->have_offer       ? PEER_CONNECTING
	                             : PEER_JOINED;
}

const char *peer_state_name(enum peer_state st)
{
	static const char *const names[PEER_STATES] = {"joined", "connecting", "connected",
	                                               "failed"};
	return st >= 0 && st < PEER_STATES ? names[st] : "unknown";
}

static int bps_of(uint64_t bytes, int64_t us)
{
	return us > 0 ? (int)(bytes * 8000000 / (uint64_t)us) : 0;
}

void peer_rates_update(struct peer *p, int64_t now_us)
{
	struct peer_rates *r = &p->rates;
	uint64_t in[2] = {p->in_audio.bytes, p->in_video.bytes};
	uint64_t out[2] = {p->out_audio.octets, p->out_video.octets};
	for (int k = 0; k < 2 && r->at; k++) {
		r->in_bps[k] = bps_of(in[k] - r->in_bytes[k], now_us - r->at);
		r->out_bps[k] = bps_of((uint32_t)(out[k] - r->out_bytes[k]), now_us - r->at);
	}
	memcpy(r->in_bytes, in, sizeof(in));
	memcpy(r->out_bytes, out, sizeof(out));
	r->at = now_us;
}

static gboolean on_rtcp_timer(gpointer data)
{
	struct peer *p = data;
	int64_t now = g_get_monotonic_time();
	peer_rates_update(p, now);
	if (peer_media_ready(p))
		peer_rtcp_report(p);
	peer_tp_check_consent(p, now);
	return G_SOURCE_CONTINUE;
}

static unsigned add_timer(struct peer *p, unsigned ms, GSourceFunc fn)
{
	return loop_timer_add(p->env->loop, ms, G_PRIORITY_DEFAULT, fn, p);
}

/* ---- offer / answer ---- */

static int setup_streams(struct peer *p)
{
	const struct sdp_negotiated *n = &p->neg;
	int rc = 0;
	if (n->audio_index >= 0) {
		const struct sdp_neg_media *m = &n->media[n->audio_index];
		p->in_audio.active = m->dir == SDP_SENDRECV || m->dir == SDP_RECVONLY;
		p->out_audio.active = m->dir == SDP_SENDRECV || m->dir == SDP_SENDONLY;
		p->in_audio.pt = p->out_audio.pt = m->pt;
		p->in_audio.clock = p->out_audio.clock = 48000;
		p->ext_audio_level = m->ext_audio_level;
		rc = rc ?: reorder_alloc(&p->in_audio.ro, 64, AUDIO_REORDER_MAX_US);
	}
	if (n->video_index >= 0) {
		const struct sdp_neg_media *m = &n->media[n->video_index];
		p->in_video.active = m->dir == SDP_SENDRECV || m->dir == SDP_RECVONLY;
		p->out_video.active = m->dir == SDP_SENDRECV || m->dir == SDP_SENDONLY;
		p->in_video.pt = p->out_video.pt = m->pt;
		p->in_video.rtx_pt = p->out_video.rtx_pt = m->rtx_pt;
		p->in_video.clock = p->out_video.clock = 90000;
		p->out_video.ext_abs_send_time = m->ext_abs_send_time;
		p->vcodec = m->vcodec;
		rc = rc
		         ?: reorder_alloc(&p->in_video.ro, PEER_VIDEO_REORDER_CAP,
		                          PEER_VIDEO_REORDER_MAX_US);
		if (p->vcodec == SDP_VCODEC_H264)
			rc = rc ?: h264_asm_alloc(&p->hasm, PEER_MAX_FRAME);
		else
			rc = rc ?: vp8_asm_alloc(&p->vasm, PEER_MAX_FRAME);
		if (p->vcodec == SDP_VCODEC_H264 && p->in_video.active)
			rc = rc
			         ?: mix_engine_set_source_video_codec(p->room->eng, p->id,
			                                              MIX_VCODEC_H264);
		rc = rc ?: nack_gen_alloc(&p->nack);
		rc = rc ?: rtx_history_alloc(&p->rtx, 1024);
		peer_layers_setup(p);
	}
	return rc ?: peer_screen_setup(p);
}

int peer_send_answer(struct peer *p, const struct sdp_session *offer)
{
	char cname[32], stream[32];
	snprintf(cname, sizeof(cname), "mcu-%u", p->id);
	snprintf(stream, sizeof(stream), "mcu-mix-%u", p->id);
	struct sdp_answer_params ap = {
	    .ice_ufrag = peer_tp_ufrag(p, -1),
	    .ice_pwd = peer_tp_pwd(p, -1),
	    .fingerprint = dtls_cert_fingerprint(p->env->cert),
	    .audio_ssrc = p->out_audio.ssrc,
	    .video_ssrc = p->out_video.ssrc,
	    .video_rtx_ssrc = p->out_video.rtx_ssrc,
	    .cname = cname,
	    .stream_id = stream,
	    .ip = "0.0.0.0",
	    .port = 9,
	};
	for (int i = 0; i < p->neg.nmedia && !p->neg.bundle; i++) {
		ap.media_ice_ufrag[i] = peer_tp_ufrag(p, i);
		ap.media_ice_pwd[i] = peer_tp_pwd(p, i);
	}
	char *text = malloc(ANSWER_MAX);
	if (!text)
		return -ENOMEM;
	int n = sdp_write_answer(offer, &p->neg, &ap, text, ANSWER_MAX);
	if (n > 0)
		env_send(p->env, p->conn, sig_answer(text));
	free(text);
	return n < 0 ? n : 0;
}

static void tell_output(struct peer *p, const char *reason);

/*
 * A peer that sends nothing (a recv-only viewer) is not a tile or a voice in the mix: only a
 * recipient. Everyone who sends something stays a source (audio-only shows a placeholder).
 */
static int add_recipient(struct peer *p)
{
	if (!p->in_audio.active && !p->in_video.active)
		mix_engine_remove_source(p->room->eng, p->id);
	const struct ladder *l = peer_ladder(p);
	rung_ctl_init(&p->rung, ladder_ceiling(l, &p->profile), g_get_monotonic_time());
	const struct rung *r = &l->r[p->rung.cur];
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	o.self = p->id;
	o.video = p->out_video.active;
	o.audio = p->out_audio.active;
	o.video_codec = p->vcodec == SDP_VCODEC_H264 ? MIX_VCODEC_H264 : MIX_VCODEC_VP8;
	o.width = r->width;
	o.height = r->height;
	o.fps = r->fps;
	o.video_bitrate = r->bitrate;
	o.audio_bitrate = peer_audio_bitrate(p);
	o.layout = p->view.layout;
	o.exclude_self = p->view.exclude_self;
	o.pin = p->view.pin == SIG_NO_ID ? MIX_NO_SOURCE : p->view.pin;
	if (!o.video && !o.audio)
		return 0;
	int rc = mix_engine_add_recipient(p->room->eng, p->id, &o);
	if (rc == 0 && o.video)
		tell_output(p, "profile");
	return rc;
}

const char *peer_vcodec_name(const struct peer *p)
{
	return p->vcodec == SDP_VCODEC_H264 ? "h264" : "vp8";
}

/* The rung p receives now, or NULL for audio only. */
static const struct rung *current_rung(const struct peer *p)
{
	const struct ladder *l = peer_ladder(p);
	return p->rung.cur < l->n ? &l->r[p->rung.cur] : NULL;
}

int peer_audio_bitrate(const struct peer *p)
{
	if (!p->out_audio.active)
		return 0;
	if (!p->out_video.active)
		return p->env->cfg->audio_bitrate;
	return ladder_abitrate(peer_ladder(p), p->rung.cur);
}

/* {"type":"output"} to the participant: the video and audio bitrate it now receives. */
static void tell_output(struct peer *p, const char *reason)
{
	const struct rung *r = current_rung(p);
	env_send(p->env, p->conn,
	         sig_output(r ? r->width : 0, r ? r->height : 0, r ? r->fps : 0, r ? r->bitrate : 0,
	                    peer_vcodec_name(p), peer_audio_bitrate(p), reason));
	if (p->env->ops->changed)
		p->env->ops->changed(p->env->up);
}

void peer_rung_name(const struct peer *p, char *buf, size_t n)
{
	const struct rung *r = p->out_video.active ? current_rung(p) : NULL;
	if (r)
		snprintf(buf, n, "%dx%d@%d", r->width, r->height, r->fps);
	else
		snprintf(buf, n, "audio");
}

void peer_apply_rung(struct peer *p, const char *reason)
{
	const struct ladder *l = peer_ladder(p);
	if (!p->room || !p->out_video.active)
		return;
	bool on = p->rung.cur < l->n;
	const struct rung *r = &l->r[on ? p->rung.cur : l->n - 1];
	mix_engine_set_recipient_video(p->room->eng, p->id, on, r->width, r->height, r->fps,
	                               r->bitrate);
	/* a keyframe request after the switch is about the new output (its first keyframe lost on
	 * the congested link that moved it): passed on at once, not held by the old stream's */
	p->last_kf_req = 0;
	int abps = peer_audio_bitrate(p);
	if (abps)
		mix_engine_set_recipient_audio_bitrate(p->room->eng, p->id, abps);
	char name[32];
	peer_rung_name(p, name, sizeof(name));
	LOG_I("peer %u (%s): output %s, audio %d kbit/s (%s)", p->id, p->name, name, abps / 1000,
	      reason);
	tell_output(p, reason);
}

/* A video m-line we could not take: the peer joins without video, and is told why. */
static void tell_video_refused(struct peer *p)
{
	if (p->neg.video_refused_index < 0 || p->neg.video_index >= 0)
		return;
	peer_fail(
	    p, "video-codec-unsupported",
	    p->neg.video_refused_h264
	        ? "video offered only as H.264, and this server's FFmpeg has no libx264 encoder: "
	          "joined without video (offer VP8 to send and receive video)"
	        : "video offered without VP8 or H.264 (packetization-mode 1, Constrained "
	          "Baseline or Baseline): joined without video");
}

/* Our policy for p's offers: the codecs and feedback this server takes, and the screen. */
static void offer_policy(const struct peer *p, const char *screen_mid, struct sdp_policy *pol)
{
	const struct mcu_config *c = p->env->cfg;
	*pol = (struct sdp_policy){.h264 = mix_h264_available(),
	                           .transport_cc = c->transport_cc || c->uplink_transport_cc,
	                           .rtx = c->rtx,
	                           .opus_dtx = c->opus_dtx,
	                           .simulcast = c->simulcast,
	                           .prefer_set = p->prefer_vcodec >= 0,
	                           .prefer = p->prefer_vcodec == SDP_VCODEC_H264 ? SDP_VCODEC_H264
	                                                                         : SDP_VCODEC_VP8};
	snprintf(pol->screen_mid, sizeof(pol->screen_mid), "%s", screen_mid ? screen_mid : "");
}

/* The first offer: streams, transport, answer, the engine's recipient, then gathering. */
static void first_offer(struct peer *p, const struct sdp_session *offer)
{
	tell_video_refused(p);
	p->have_offer = true;
	int rc = setup_streams(p);
	rc = rc ?: peer_cc_setup(p);
	rc = rc ?: peer_transports_start(p, offer);
	if (rc == 0)
		p->rtcp_timer = add_timer(p, 1000, on_rtcp_timer);
	rc = rc ?: peer_send_answer(p, offer);
	rc = rc ?: add_recipient(p);
	rc = rc ?: peer_transports_gather(p);
	if (rc < 0)
		peer_fail(p, "offer-failed", "could not set up the media session");
	else
		LOG_I("peer %u (%s): answered (audio %s, video %s)", p->id, p->name,
		      p->neg.audio_index >= 0 ? sdp_dir_name(p->neg.media[p->neg.audio_index].dir)
		                              : "none",
		      p->neg.video_index >= 0 ? sdp_dir_name(p->neg.media[p->neg.video_index].dir)
		                              : "none");
}

void peer_on_offer(struct peer *p, const char *sdp, const char *screen_mid)
{
	char err[256];
	struct sdp_session *offer = calloc(1, sizeof(*offer));
	struct sdp_negotiated *neg = malloc(sizeof(*neg));
	if (!offer || !neg) {
		peer_fail(p, "offer-failed", "out of memory");
		goto out;
	}
	struct sdp_policy pol;
	offer_policy(p, screen_mid, &pol);
	int rc = sdp_parse(sdp, strlen(sdp), offer, err, sizeof(err));
	if (rc == 0)
		rc = sdp_negotiate(offer, &pol, neg, err, sizeof(err));
	if (rc < 0)
		peer_fail(p, "bad-sdp", err);
	else if (p->have_offer)
		peer_reoffer(p, offer, neg);
	else {
		p->neg = *neg;
		first_offer(p, offer);
	}
out:
	free(neg);
	free(offer);
}
