/*
 * peer_transport.c - a participant's transports (see struct peer_tp in peer.h): ICE, DTLS and
 * SRTP, one for everything with BUNDLE (RFC 8843), else one per accepted m-line (audio, camera,
 * screen), as an offer without a=group:BUNDLE asks (GStreamer's webrtcbin by default; RFC 9429
 * bundle-policy "balanced" answered without BUNDLE). Each has its own ICE agent, credentials
 * and candidates (tagged with its m-line's mid and index), DTLS association (we are passive,
 * the browser the DTLS client) and SRTP keys; the peer is connected once all of them are.
 * Incoming datagrams are demultiplexed by their first byte (RFC 7983): 20..63 DTLS,
 * 128..191 RTP/RTCP; STUN never reaches us (libnice consumes it). RTP from any transport goes to
 * the peer's streams by SSRC and payload type (peer_in.c); what we send goes on the transport of
 * its m-line (peer_tp_audio/video/screen).
 * With --netsim (a test option), SRTP/SRTCP datagrams pass through an impairment pipe each way
 * (net/netsim.h) between ICE and the demux or the sender; DTLS passes unimpaired.
 * Runs on the peer's room loop only. The peer owns its transports (p->tp[0..ntp)).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "log.h"
#include "net/dtls.h"
#include "net/ice.h"
#include "net/loop.h"
#include "net/netsim.h"
#include "net/srtp.h"
#include "session/env.h"
#include "session/peer.h"
#include "session/room.h"
#include "config.h"

#define HANDSHAKE_TIMEOUT_US (20 * 1000000LL) /* half-open sessions are dropped after this */
/*
 * Consent (RFC 7675's purpose, our own check): a peer that has sent nothing authenticated for
 * this long has vanished (a closed tab, a frozen process). Every WebRTC endpoint sends RTCP at
 * least every few seconds, even a receive-only one; a peer whose downlink is saturated still
 * sends. RFC 7675 expires consent after 30 s; half that frees the others' tiles sooner.
 */
#define PEER_CONSENT_SILENCE_US (15 * 1000000LL)

/* SRTP and SRTCP (RFC 7983: first byte 128..191): what --netsim impairs. */
static bool is_srtp(const uint8_t *data, size_t len)
{
	return len > 0 && data[0] >= 128 && data[0] <= 191;
}

static struct peer_tp *tp_at(struct peer *p, int i)
{
	return i >= 0 && i < p->ntp ? &p->tp[i] : NULL;
}

/* With BUNDLE every m-line, even a screen added by a later offer, is on the one transport. */
struct peer_tp *peer_tp_audio(struct peer *p)
{
	return tp_at(p, p->neg.bundle ? 0 : p->tp_audio);
}

struct peer_tp *peer_tp_video(struct peer *p)
{
	return tp_at(p, p->neg.bundle ? 0 : p->tp_video);
}

struct peer_tp *peer_tp_screen(struct peer *p)
{
	return tp_at(p, p->neg.bundle ? 0 : p->tp_screen);
}

/* The transport of m-line i: the only one with BUNDLE; NULL for an m-line without one. */
static const struct peer_tp *tp_of_mline(const struct peer *p, int mline)
{
	if (p->neg.bundle)
		return p->ntp ? &p->tp[0] : NULL;
	for (int i = 0; i < p->ntp; i++)
		if (p->tp[i].mline == mline)
			return &p->tp[i];
	return NULL;
}

const char *peer_tp_ufrag(const struct peer *p, int mline)
{
	const struct peer_tp *tp = tp_of_mline(p, mline);
	return ice_local_ufrag((tp ? tp : &p->tp[0])->ice);
}

const char *peer_tp_pwd(const struct peer *p, int mline)
{
	const struct peer_tp *tp = tp_of_mline(p, mline);
	return ice_local_pwd((tp ? tp : &p->tp[0])->ice);
}

bool peer_media_ready(const struct peer *p)
{
	for (int i = 0; i < p->ntp; i++)
		if (!p->tp[i].srtp)
			return false;
	return p->ntp > 0;
}

void peer_tp_send(struct peer_tp *tp, const uint8_t *data, size_t len)
{
	if (!tp || !tp->ice)
		return;
	if (tp->ns_out && is_srtp(data, len))
		netsim_push(tp->ns_out, data, len); /* sent by on_netsim_out when due, or dropped */
	else
		ice_send(tp->ice, data, len);
}

void peer_tp_send_rtp(struct peer_tp *tp, uint8_t *buf, size_t len, size_t cap)
{
	if (tp && tp->srtp && srtp_sess_protect_rtp(tp->srtp, buf, &len, cap) == 0)
		peer_tp_send(tp, buf, len);
}

void peer_tp_send_rtcp(struct peer_tp *tp, uint8_t *buf, size_t len, size_t cap)
{
	if (tp && tp->srtp && srtp_sess_protect_rtcp(tp->srtp, buf, &len, cap) == 0)
		peer_tp_send(tp, buf, len);
}

/* ---- transport events ---- */

/* A dead transport: report it and take the peer out of its room. */
static void fail_transport(struct peer *p, const char *code, const char *msg)
{
	peer_fail(p, code, msg);
	p->env->ops->peer_ended(p->env->up, p);
}

static bool all_gathered(const struct peer *p)
{
	for (int i = 0; i < p->ntp; i++)
		if (!p->tp[i].gathered)
			return false;
	return true;
}

/* Our candidate, tagged with its transport's m-line; the end of candidates once every
 * transport is done gathering. */
static void on_candidate(void *opaque, const char *candidate)
{
	struct peer_tp *tp = opaque;
	struct peer *p = tp->p;
	const char *mid = p->neg.media[tp->mline].mid;
	if (!candidate) {
		tp->gathered = true;
		if (!all_gathered(p))
			return;
	}
	env_send(p->env, p->conn, sig_candidate(candidate, mid, tp->mline));
}

static void on_ice_state(void *opaque, enum ice_state st)
{
	struct peer_tp *tp = opaque;
	struct peer *p = tp->p;
	if (st == ICE_CONNECTED) {
		LOG_I("peer %u (%s): ICE connected%s%s", p->id, p->name,
		      p->ntp > 1 ? " on mid " : "", p->ntp > 1 ? p->neg.media[tp->mline].mid : "");
	} else if (st == ICE_FAILED) {
		p->env->ops->count(p->env->up, ENV_ICE_FAILED);
		fail_transport(p, "ice-failed", "ICE failed or consent expired; you left the room");
	}
}

static void install_srtp(struct peer_tp *tp)
{
	struct peer *p = tp->p;
	struct srtp_keys keys;
	if (dtls_conn_srtp_keys(tp->dtls, &keys) < 0 || srtp_sess_new(&tp->srtp, &keys) < 0) {
		fail_transport(p, "dtls-failed", "could not set up SRTP keys; you left the room");
		return;
	}
	if (!peer_media_ready(p))
		return; /* another transport's handshake is still going */
	p->heard_us = g_get_monotonic_time();
	LOG_I("peer %u (%s): DTLS done, SRTP profile %d%s", p->id, p->name, keys.profile,
	      p->ntp > 1 ? " (one transport per m-line, no BUNDLE)" : "");
	peer_request_keyframe(p);
	if (p->room)
		mix_engine_request_join_keyframe(p->room->eng, p->id);
}

static void on_dtls_datagram(struct peer_tp *tp, const uint8_t *data, size_t len)
{
	struct peer *p = tp->p;
	int rc = dtls_conn_recv(tp->dtls, data, len);
	if (rc == 1) {
		install_srtp(tp);
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

/* One datagram from a transport (through the impairment pipe, if any). */
static void demux(void *opaque, uint8_t *data, size_t len)
{
	struct peer_tp *tp = opaque;
	struct peer *p = tp->p;
	if (len == 0)
		return;
	if (data[0] >= 20 && data[0] <= 63) {
		p->st.dtls_in++;
		if (tp->dtls)
			on_dtls_datagram(tp, data, len);
	} else if (data[0] >= 128 && data[0] <= 191 && tp->srtp) {
		peer_in_datagram(p, tp, data, len);
	} else {
		p->st.rtp_dropped++;
	}
}

static void on_recv(void *opaque, uint8_t *data, size_t len)
{
	struct peer_tp *tp = opaque;
	if (tp->ns_in && is_srtp(data, len))
		netsim_push(tp->ns_in, data, len); /* handed to demux() when due, or dropped */
	else
		demux(tp, data, len);
}

static void on_netsim_out(void *opaque, uint8_t *data, size_t len)
{
	struct peer_tp *tp = opaque;
	if (tp->ice)
		ice_send(tp->ice, data, len);
}

/*
 * --netsim: one pipe for what this transport receives and one for what it sends, each with its
 * own PRNG seeded from the spec's seed, the peer id, the transport and the direction
 * (reproducible per peer). The spec was checked at start-up (main.c), so a parse error here is
 * not expected.
 */
static int setup_netsim(struct peer_tp *tp, int index)
{
	struct peer *p = tp->p;
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
	uint64_t seed = c.seed ^ ((uint64_t)index << 40);
	c.seed = seed ^ ((uint64_t)p->id << 1);
	rc = netsim_new(&tp->ns_in, loop_ctx(p->env->loop), &c, demux, tp);
	c.seed = seed ^ ((uint64_t)p->id << 1 | 1);
	return rc ?: netsim_new(&tp->ns_out, loop_ctx(p->env->loop), &c, on_netsim_out, tp);
}

static void dtls_send(void *opaque, const uint8_t *data, size_t len)
{
	peer_tp_send(opaque, data, len);
}

/* Whether every transport's ICE connected. */
static bool ice_all_connected(const struct peer *p)
{
	for (int i = 0; i < p->ntp; i++)
		if (ice_get_state(p->tp[i].ice) != ICE_CONNECTED)
			return false;
	return true;
}

/*
 * The handshake did not finish in time. Before ICE connects no DTLS packet can pass, so a peer
 * whose ICE never connected failed ICE (not DTLS); one whose ICE failed was reported already.
 */
static void handshake_timed_out(struct peer *p)
{
	for (int i = 0; i < p->ntp; i++)
		if (ice_get_state(p->tp[i].ice) == ICE_FAILED)
			return;
	if (p->dtls_dead)
		return;
	p->dtls_dead = true;
	if (!ice_all_connected(p)) {
		p->env->ops->count(p->env->up, ENV_ICE_FAILED);
		fail_transport(p, "ice-failed", "ICE did not connect in time; you left the room");
		return;
	}
	p->env->ops->count(p->env->up, ENV_DTLS_FAILED);
	fail_transport(p, "dtls-failed", "the DTLS handshake did not complete in time");
}

/* Retransmits DTLS flights and gives up on half-open sessions. */
static gboolean on_dtls_timer(gpointer data)
{
	struct peer *p = data;
	int64_t limit = p->env->handshake_us ? p->env->handshake_us : HANDSHAKE_TIMEOUT_US;
	bool pending = false, expired = false;
	for (int i = 0; i < p->ntp; i++) {
		struct peer_tp *tp = &p->tp[i];
		if (dtls_conn_done(tp->dtls))
			continue;
		pending = true;
		if (dtls_conn_timeout_us(tp->dtls) == 0 &&
		    dtls_conn_on_timeout(tp->dtls) == -ETIMEDOUT)
			expired = true;
	}
	if (pending && (expired || g_get_monotonic_time() - p->offer_us > limit))
		handshake_timed_out(p);
	if (!pending || p->dtls_dead) {
		p->dtls_timer = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

void peer_tp_check_consent(struct peer *p, int64_t now_us)
{
	if (p->dtls_dead || !peer_media_ready(p) || now_us - p->heard_us < PEER_CONSENT_SILENCE_US)
		return;
	p->dtls_dead = true; /* once */
	LOG_W("peer %u (%s): nothing heard for %lld s: consent expired", p->id, p->name,
	      (long long)((now_us - p->heard_us) / 1000000));
	p->env->ops->count(p->env->up, ENV_ICE_FAILED);
	fail_transport(p, "ice-failed", "nothing heard from you for 15 s; you left the room");
}

/* ---- set-up ---- */

/* The transport whose m-line is mid (else the m-line index mline); the only one with BUNDLE. */
static struct peer_tp *tp_for_candidate(struct peer *p, const char *mid, int mline)
{
	if (mid && mid[0]) { /* the mid names the m-line (-1: none of ours) */
		mline = -1;
		for (int i = 0; i < p->neg.nmedia && mline < 0; i++)
			if (!strcmp(p->neg.media[i].mid, mid))
				mline = i;
	} else if (mline < 0) { /* naming neither: the first */
		return p->ntp ? &p->tp[0] : NULL;
	}
	return (struct peer_tp *)tp_of_mline(p, mline);
}

/* Gives a candidate to its transport; -ENOSPC at the agent's limit (told to the peer). */
static void add_candidate(struct peer *p, const char *candidate, const char *mid, int mline)
{
	struct peer_tp *tp = tp_for_candidate(p, mid, mline);
	if (!tp) /* a rejected m-line's: it has no transport */
		return;
	if (ice_add_remote_candidate(tp->ice, candidate) == -ENOSPC)
		peer_fail(p, "too-many-candidates", "candidate limit reached");
}

/* The m-lines that get a transport: the bundle's first accepted one, else every accepted one
 * (the audio, camera and screen m-lines, in m-line order). Fills p->tp_* and p->ntp. */
static void plan_transports(struct peer *p)
{
	const struct sdp_negotiated *n = &p->neg;
	int *role[3] = {&p->tp_audio, &p->tp_video, &p->tp_screen};
	int idx[3] = {n->audio_index, n->video_index, n->screen_index};
	p->ntp = 0;
	p->tp_audio = p->tp_video = p->tp_screen = -1;
	for (int m = 0; m < n->nmedia && p->ntp < PEER_MAX_TRANSPORTS; m++) {
		bool used = false;
		for (int r = 0; r < 3; r++)
			if (idx[r] == m) {
				*role[r] = n->bundle && p->ntp ? 0 : p->ntp;
				used = true;
			}
		if (used && (!n->bundle || p->ntp == 0))
			p->tp[p->ntp++] = (struct peer_tp){.p = p, .mline = m};
	}
}

static int start_one(struct peer_tp *tp, int index)
{
	struct peer *p = tp->p;
	const struct mcu_config *c = p->env->cfg;
	const struct sdp_neg_media *m = &p->neg.media[tp->mline];
	struct ice_callbacks cb = {.opaque = tp,
	                           .on_candidate = on_candidate,
	                           .on_state = on_ice_state,
	                           .on_recv = on_recv};
	const char *ufrag = p->neg.bundle ? p->neg.ice_ufrag : m->ice_ufrag;
	const char *pwd = p->neg.bundle ? p->neg.ice_pwd : m->ice_pwd;
	const char *fp_alg = p->neg.bundle ? p->neg.fp_alg : m->fp_alg;
	const char *fp = p->neg.bundle ? p->neg.fp : m->fp;
	int rc = setup_netsim(tp, index);
	rc = rc ?: ice_new(&tp->ice, loop_ctx(p->env->loop), c->bind, c->public_ip, &cb);
	rc = rc ?: ice_set_remote_credentials(tp->ice, ufrag, pwd);
	return rc ?: dtls_conn_new(&tp->dtls, p->env->cert, DTLS_SERVER, fp_alg, fp, dtls_send, tp);
}

int peer_transports_start(struct peer *p, const struct sdp_session *offer)
{
	p->offer_us = g_get_monotonic_time();
	plan_transports(p);
	if (p->ntp == 0)
		return -EINVAL;
	for (int i = 0; i < p->ntp; i++) {
		int rc = start_one(&p->tp[i], i);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < offer->nmedia; i++)
		for (int k = 0; k < offer->media[i].ncandidates; k++)
			add_candidate(p, offer->media[i].candidates[k], offer->media[i].mid, i);
	for (int i = 0; i < p->npending; i++) {
		struct pending_candidate *c = &p->pending[i];
		add_candidate(p, c->candidate, c->mid, c->mline);
		free(c->candidate);
	}
	p->npending = 0;
	p->dtls_timer = loop_timer_add(p->env->loop, 50, G_PRIORITY_DEFAULT, on_dtls_timer, p);
	return 0;
}

int peer_transports_gather(struct peer *p)
{
	for (int i = 0; i < p->ntp; i++) {
		int rc = ice_gather(p->tp[i].ice);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void peer_on_candidate(struct peer *p, const char *candidate, const char *mid, int mline)
{
	if (!candidate || !candidate[0])
		return; /* end of candidates: libnice keeps checking what it has */
	if (p->ntp) {
		add_candidate(p, candidate, mid, mline);
		return;
	}
	if (p->npending == PEER_MAX_PENDING_CANDIDATES) {
		peer_fail(p, "too-many-candidates", "candidate limit reached");
		return;
	}
	struct pending_candidate *c = &p->pending[p->npending];
	c->candidate = strdup(candidate);
	snprintf(c->mid, sizeof(c->mid), "%s", mid ? mid : "");
	c->mline = mline;
	if (c->candidate)
		p->npending++;
}

/* ---- tear-down ---- */

/* Logs what the impairment pipes did to this peer's packets (all its transports together). */
static void log_netsim(const struct peer *p)
{
	struct netsim_stats in = {0}, out = {0};
	bool any = false;
	for (int i = 0; i < p->ntp; i++) {
		const struct peer_tp *tp = &p->tp[i];
		struct netsim_stats a, b;
		if (!tp->ns_in && !tp->ns_out)
			continue;
		any = true;
		netsim_get_stats(tp->ns_in, &a);
		netsim_get_stats(tp->ns_out, &b);
		in.in += a.in, in.dropped += a.dropped, in.reordered += a.reordered;
		in.overflow += a.overflow, in.delivered += a.delivered;
		out.in += b.in, out.dropped += b.dropped, out.reordered += b.reordered;
		out.overflow += b.overflow, out.delivered += b.delivered;
	}
	if (!any)
		return;
	LOG_I("peer %u (%s): netsim in: %llu packets, %llu lost, %llu reordered, %llu over the "
	      "queue, %llu delivered; out: %llu packets, %llu lost, %llu reordered, %llu over the "
	      "queue, %llu delivered",
	      p->id, p->name, (unsigned long long)in.in, (unsigned long long)in.dropped,
	      (unsigned long long)in.reordered, (unsigned long long)in.overflow,
	      (unsigned long long)in.delivered, (unsigned long long)out.in,
	      (unsigned long long)out.dropped, (unsigned long long)out.reordered,
	      (unsigned long long)out.overflow, (unsigned long long)out.delivered);
}

void peer_transports_free(struct peer *p)
{
	log_netsim(p);
	for (int i = 0; i < p->ntp; i++) { /* the pipes first: their timers deliver into the peer */
		netsim_free(&p->tp[i].ns_in);
		netsim_free(&p->tp[i].ns_out);
	}
	loop_source_remove(p->env->loop, &p->dtls_timer);
	for (int i = 0; i < p->ntp; i++) {
		ice_free(&p->tp[i].ice);
		dtls_conn_free(&p->tp[i].dtls);
		srtp_sess_free(&p->tp[i].srtp);
	}
	p->ntp = 0;
	for (int i = 0; i < p->npending; i++)
		free(p->pending[i].candidate);
	p->npending = 0;
}
