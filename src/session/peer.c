/*
 * peer.c - a participant's life cycle, offer/answer and transport events (see peer.h).
 *
 * Offer: parse and negotiate (sdp), create the ICE agent and the DTLS association (we answer
 * a=setup:passive, so the browser is the DTLS client), reply with the answer, then trickle our
 * candidates. When DTLS completes, SRTP keys are installed and media may flow; the engine gets
 * a recipient for this peer with the directions the offer asked for.
 * Incoming datagrams are demultiplexed by their first byte (RFC 7983): 20..63 DTLS,
 * 128..191 RTP/RTCP; STUN never reaches us (libnice consumes it).
 * With --netsim (a test option), SRTP/SRTCP datagrams pass through an impairment pipe each way
 * (net/netsim.h) between ICE and the demux or the sender; DTLS passes unimpaired.
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
#include "net/ice.h"
#include "net/netsim.h"
#include "net/srtp.h"
#include "rtp/nack.h"
#include "rtp/reorder.h"
#include "rtp/h264_rtp.h"
#include "rtp/vp8_rtp.h"
#include "session/peer.h"
#include "session/room.h"
#include "config.h"
#include "net/loop.h"
#include "session/env.h"

#define ANSWER_MAX           16384
#define HANDSHAKE_TIMEOUT_US (20 * 1000000LL) /* half-open sessions are dropped after this */
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
#define VIDEO_REORDER_WAIT_US 400000
#define VIDEO_REORDER_MIN_US  150000

int64_t peer_video_reorder_wait(int64_t rtt_us)
{
	int64_t w = 4 * rtt_us + 100000;
	return w < VIDEO_REORDER_MIN_US    ? VIDEO_REORDER_MIN_US
	       : w > VIDEO_REORDER_WAIT_US ? VIDEO_REORDER_WAIT_US
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
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->rtt_us = 50000;
	playout_init(&p->po, (int64_t)env->cfg->playout_delay_min_ms * 1000,
	             (int64_t)env->cfg->playout_delay_ms * 1000);
	kf_limiter_init(&p->pli, 500000);
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

/* Logs what the impairment pipes did to this peer's packets. */
static void log_netsim(const struct peer *p)
{
	struct netsim_stats in, out;
	if (!p->ns_in && !p->ns_out)
		return;
	netsim_get_stats(p->ns_in, &in);
	netsim_get_stats(p->ns_out, &out);
	LOG_I("peer %u (%s): netsim in: %llu packets, %llu lost, %llu reordered, %llu over the "
	      "queue, %llu delivered; out: %llu packets, %llu lost, %llu reordered, %llu over the "
	      "queue, %llu delivered",
	      p->id, p->name, (unsigned long long)in.in, (unsigned long long)in.dropped,
	      (unsigned long long)in.reordered, (unsigned long long)in.overflow,
	      (unsigned long long)in.delivered, (unsigned long long)out.in,
	      (unsigned long long)out.dropped, (unsigned long long)out.reordered,
	      (unsigned long long)out.overflow, (unsigned long long)out.delivered);
}

void peer_free(struct peer **pp)
{
	struct peer *p = *pp;
	if (!p)
		return;
	log_netsim(p);
	netsim_free(&p->ns_in); /* first: their timers deliver into the peer */
	netsim_free(&p->ns_out);
	loop_source_remove(p->env->loop, &p->dtls_timer);
	loop_source_remove(p->env->loop, &p->rtcp_timer);
	peer_cc_free(p);
	ice_free(&p->ice);
	dtls_conn_free(&p->dtls);
	srtp_sess_free(&p->srtp);
	reorder_free(&p->in_audio.ro);
	reorder_free(&p->in_video.ro);
	vp8_asm_free(&p->vasm);
	h264_asm_free(&p->hasm);
	nack_gen_free(&p->nack);
	rtx_history_free(&p->rtx);
	for (int i = 0; i < p->npending; i++)
		free(p->pending[i]);
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

/* SRTP and SRTCP (RFC 7983: first byte 128..191): what --netsim impairs. */
static bool is_srtp(const uint8_t *data, size_t len)
{
	return len > 0 && data[0] >= 128 && data[0] <= 191;
}

void peer_transport_send(struct peer *p, const uint8_t *data, size_t len)
{
	if (!p->ice)
		return;
	if (p->ns_out && is_srtp(data, len))
		netsim_push(p->ns_out, data, len); /* sent by on_netsim_out when due, or dropped */
	else
		ice_send(p->ice, data, len);
}

/* ---- transport events ---- */

static void fail(struct peer *p, const char *code, const char *msg)
{
	LOG_W("peer %u (%s): %s", p->id, p->name, msg);
	env_send_error(p->env, p->conn, code, msg);
}

/* A dead transport: report it and take the peer out of its room. */
static void fail_transport(struct peer *p, const char *code, const char *msg)
{
	fail(p, code, msg);
	p->env->ops->peer_ended(p->env->up, p);
}

static void on_candidate(void *opaque, const char *candidate)
{
	struct peer *p = opaque;
	const char *mid =
	    p->neg.media[p->neg.audio_index >= 0 ? p->neg.audio_index : p->neg.video_index].mid;
	int mline = p->neg.audio_index >= 0 ? p->neg.audio_index : p->neg.video_index;
	env_send(p->env, p->conn, sig_candidate(candidate, mid, mline));
}

static void on_ice_state(void *opaque, enum ice_state st)
{
	struct peer *p = opaque;
	if (st == ICE_CONNECTED) {
		LOG_I("peer %u (%s): ICE connected", p->id, p->name);
	} else if (st == ICE_FAILED) {
		p->env->ops->count(p->env->up, ENV_ICE_FAILED);
		fail_transport(p, "ice-failed", "ICE failed or consent expired; you left the room");
	}
}

static void install_srtp(struct peer *p)
{
	struct srtp_keys keys;
	if (dtls_conn_srtp_keys(p->dtls, &keys) < 0 || srtp_sess_new(&p->srtp, &keys) < 0) {
		fail_transport(p, "dtls-failed", "could not set up SRTP keys; you left the room");
		return;
	}
	LOG_I("peer %u (%s): DTLS done, SRTP profile %d", p->id, p->name, keys.profile);
	peer_request_keyframe(p);
	if (p->room)
		mix_engine_request_join_keyframe(p->room->eng, p->id);
}

static void on_dtls_datagram(struct peer *p, const uint8_t *data, size_t len)
{
	int rc = dtls_conn_recv(p->dtls, data, len);
	if (rc == 1) {
		install_srtp(p);
	} else if (rc == -ECONNRESET && !p->dtls_dead) { /* close_notify: the peer hung up */
		p->dtls_dead = true;
		LOG_I("peer %u (%s): DTLS closed by the peer", p->id, p->name);
		p->env->ops->peer_ended(p->env->up, p);
	} else if (rc < 0 && !p->dtls_dead) { /* errors are sticky: report once */
		p->dtls_dead = true;
		p->env->ops->count(p->env->up, ENV_DTLS_FAILED);
		fail_transport(p, "dtls-failed",
		               rc == -EPERM
		                   ? "the DTLS certificate does not match the SDP fingerprint"
		                   : "the DTLS association failed; you left the room");
	}
}

/* One datagram from the transport (through the impairment pipe, if any). */
static void demux(void *opaque, uint8_t *data, size_t len)
{
	struct peer *p = opaque;
	if (len == 0)
		return;
	if (data[0] >= 20 && data[0] <= 63) {
		p->st.dtls_in++;
		if (p->dtls)
			on_dtls_datagram(p, data, len);
	} else if (data[0] >= 128 && data[0] <= 191 && p->srtp) {
		peer_in_datagram(p, data, len);
	} else {
		p->st.rtp_dropped++;
	}
}

static void on_recv(void *opaque, uint8_t *data, size_t len)
{
	struct peer *p = opaque;
	if (p->ns_in && is_srtp(data, len))
		netsim_push(p->ns_in, data, len); /* handed to demux() when due, or dropped */
	else
		demux(p, data, len);
}

static void on_netsim_out(void *opaque, uint8_t *data, size_t len)
{
	struct peer *p = opaque;
	if (p->ice)
		ice_send(p->ice, data, len);
}

/*
 * --netsim: one pipe for what this peer receives and one for what it sends, each with its own
 * PRNG seeded from the spec's seed, the peer id and the direction (reproducible per peer).
 * The spec was checked at start-up (main.c), so a parse error here is not expected.
 */
static int setup_netsim(struct peer *p)
{
	const char *spec = p->env->cfg->netsim;
	struct netsim_cfg c;
	char err[256];
	if (!spec[0])
		return 0;
	int rc = netsim_parse(spec, &c, err, sizeof(err));
	if (rc < 0) {
		LOG_E("netsim: %s", err);
		return rc;
	}
	uint64_t seed = c.seed;
	c.seed = seed ^ ((uint64_t)p->id << 1);
	rc = netsim_new(&p->ns_in, loop_ctx(p->env->loop), &c, demux, p);
	c.seed = seed ^ ((uint64_t)p->id << 1 | 1);
	return rc ?: netsim_new(&p->ns_out, loop_ctx(p->env->loop), &c, on_netsim_out, p);
}

static void dtls_send(void *opaque, const uint8_t *data, size_t len)
{
	peer_transport_send(opaque, data, len);
}

/* Retransmits DTLS flights and gives up on half-open sessions. */
static gboolean on_dtls_timer(gpointer data)
{
	struct peer *p = data;
	if (!p->dtls || dtls_conn_done(p->dtls)) {
		p->dtls_timer = 0;
		return G_SOURCE_REMOVE;
	}
	int64_t due = dtls_conn_timeout_us(p->dtls);
	if (due == 0 && dtls_conn_on_timeout(p->dtls) == -ETIMEDOUT)
		goto give_up;
	if (g_get_monotonic_time() - p->offer_us > HANDSHAKE_TIMEOUT_US)
		goto give_up;
	return G_SOURCE_CONTINUE;
give_up:
	if (!p->dtls_dead) {
		p->dtls_dead = true;
		p->env->ops->count(p->env->up, ENV_DTLS_FAILED);
		fail_transport(p, "dtls-failed", "the DTLS handshake did not complete in time");
	}
	p->dtls_timer = 0;
	return G_SOURCE_REMOVE;
}

static gboolean on_rtcp_timer(gpointer data)
{
	struct peer *p = data;
	if (p->srtp)
		peer_rtcp_report(p);
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
		rc = rc ?: reorder_alloc(&p->in_video.ro, 512, VIDEO_REORDER_WAIT_US);
		if (p->vcodec == SDP_VCODEC_H264)
			rc = rc ?: h264_asm_alloc(&p->hasm, 4 << 20);
		else
			rc = rc ?: vp8_asm_alloc(&p->vasm, 4 << 20);
		if (p->vcodec == SDP_VCODEC_H264 && p->in_video.active)
			rc = rc
			         ?: mix_engine_set_source_video_codec(p->room->eng, p->id,
			                                              MIX_VCODEC_H264);
		rc = rc ?: nack_gen_alloc(&p->nack);
		rc = rc ?: rtx_history_alloc(&p->rtx, 1024);
	}
	return rc;
}

static int start_transport(struct peer *p, const struct sdp_session *offer)
{
	const struct mcu_config *c = p->env->cfg;
	struct ice_callbacks cb = {.opaque = p,
	                           .on_candidate = on_candidate,
	                           .on_state = on_ice_state,
	                           .on_recv = on_recv};
	p->offer_us = g_get_monotonic_time();
	int rc = setup_netsim(p);
	rc = rc ?: ice_new(&p->ice, loop_ctx(p->env->loop), c->bind, c->public_ip, &cb);
	rc = rc ?: ice_set_remote_credentials(p->ice, p->neg.ice_ufrag, p->neg.ice_pwd);
	rc = rc
	         ?: dtls_conn_new(&p->dtls, p->env->cert, DTLS_SERVER, p->neg.fp_alg, p->neg.fp,
	                          dtls_send, p);
	if (rc < 0)
		return rc;
	for (int i = 0; i < offer->nmedia; i++)
		for (int k = 0; k < offer->media[i].ncandidates; k++)
			ice_add_remote_candidate(p->ice, offer->media[i].candidates[k]);
	for (int i = 0; i < p->npending; i++) {
		ice_add_remote_candidate(p->ice, p->pending[i]);
		free(p->pending[i]);
	}
	p->npending = 0;
	p->dtls_timer = add_timer(p, 50, on_dtls_timer);
	p->rtcp_timer = add_timer(p, 1000, on_rtcp_timer);
	return 0;
}

static int send_answer(struct peer *p, const struct sdp_session *offer)
{
	char cname[32], stream[32];
	snprintf(cname, sizeof(cname), "mcu-%u", p->id);
	snprintf(stream, sizeof(stream), "mcu-mix-%u", p->id);
	struct sdp_answer_params ap = {
	    .ice_ufrag = ice_local_ufrag(p->ice),
	    .ice_pwd = ice_local_pwd(p->ice),
	    .fingerprint = dtls_cert_fingerprint(p->env->cert),
	    .audio_ssrc = p->out_audio.ssrc,
	    .video_ssrc = p->out_video.ssrc,
	    .video_rtx_ssrc = p->out_video.rtx_ssrc,
	    .cname = cname,
	    .stream_id = stream,
	    .ip = "0.0.0.0",
	    .port = 9,
	};
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
	const struct ladder *l = &p->env->cfg->ladder;
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
	const struct ladder *l = &p->env->cfg->ladder;
	return p->rung.cur < l->n ? &l->r[p->rung.cur] : NULL;
}

int peer_audio_bitrate(const struct peer *p)
{
	if (!p->out_audio.active)
		return 0;
	if (!p->out_video.active)
		return p->env->cfg->audio_bitrate;
	return ladder_abitrate(&p->env->cfg->ladder, p->rung.cur);
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
	const struct ladder *l = &p->env->cfg->ladder;
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
	fail(p, "video-codec-unsupported",
	     p->neg.video_refused_h264
	         ? "video offered only as H.264, and this server's FFmpeg has no libx264 encoder: "
	           "joined without video (offer VP8 to send and receive video)"
	         : "video offered without VP8 or H.264 (packetization-mode 1, Constrained "
	           "Baseline or Baseline): joined without video");
}

void peer_on_offer(struct peer *p, const char *sdp)
{
	char err[256];
	if (p->have_offer) {
		fail(p, "offer-failed", "renegotiation is not supported: leave and join again");
		return;
	}
	struct sdp_session *offer = calloc(1, sizeof(*offer));
	if (!offer) {
		fail(p, "offer-failed", "out of memory");
		return;
	}
	struct sdp_policy pol = {
	    .h264 = mix_h264_available(),
	    .transport_cc = p->env->cfg->transport_cc || p->env->cfg->uplink_transport_cc,
	    .rtx = p->env->cfg->rtx,
	    .opus_dtx = p->env->cfg->opus_dtx,
	    .prefer_set = p->prefer_vcodec >= 0,
	    .prefer = p->prefer_vcodec == SDP_VCODEC_H264 ? SDP_VCODEC_H264 : SDP_VCODEC_VP8};
	int rc = sdp_parse(sdp, strlen(sdp), offer, err, sizeof(err));
	if (rc == 0)
		rc = sdp_negotiate(offer, &pol, &p->neg, err, sizeof(err));
	if (rc < 0) {
		fail(p, "bad-sdp", err);
		free(offer);
		return;
	}
	tell_video_refused(p);
	p->have_offer = true;
	rc = setup_streams(p);
	rc = rc ?: peer_cc_setup(p);
	rc = rc ?: start_transport(p, offer);
	rc = rc ?: send_answer(p, offer);
	rc = rc ?: add_recipient(p);
	rc = rc ?: ice_gather(p->ice);
	if (rc < 0)
		fail(p, "offer-failed", "could not set up the media session");
	else
		LOG_I("peer %u (%s): answered (audio %s, video %s)", p->id, p->name,
		      p->neg.audio_index >= 0 ? sdp_dir_name(p->neg.media[p->neg.audio_index].dir)
		                              : "none",
		      p->neg.video_index >= 0 ? sdp_dir_name(p->neg.media[p->neg.video_index].dir)
		                              : "none");
	free(offer);
}

void peer_on_candidate(struct peer *p, const char *candidate)
{
	if (!candidate || !candidate[0])
		return; /* end of candidates: libnice keeps checking what it has */
	if (p->ice) {
		if (ice_add_remote_candidate(p->ice, candidate) == -ENOSPC)
			fail(p, "too-many-candidates", "candidate limit reached");
		return;
	}
	if (p->npending == PEER_MAX_PENDING_CANDIDATES) {
		fail(p, "too-many-candidates", "candidate limit reached");
		return;
	}
	p->pending[p->npending] = strdup(candidate);
	if (p->pending[p->npending])
		p->npending++;
}
