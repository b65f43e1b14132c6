/*
 * client.c - one mcu-load participant (see client.h).
 *
 * Life: client_start opens the WebSocket; on open we send join; on joined we create a
 * controlling ICE agent, send the offer (offer.c) and gather (our candidates are trickled as
 * they come); the answer gives the server's ICE credentials, fingerprint and payload types and
 * creates the DTLS association (client, since the server answers a=setup:passive); the
 * server's candidates are trickled to us. ICE connected starts the DTLS handshake; its keys
 * start SRTP, the replay of the clip and the receive statistics. Any failure is final: the
 * client records why, and its transport is torn down at the next tick (never from inside a
 * libnice callback).
 * Datagrams are told apart by their first byte (RFC 7983): 20..63 DTLS, 128..191 RTP/RTCP
 * (RTCP when the second byte is 192..223, RFC 5761); libnice consumes STUN.
 * With --abuse (abuse.h) the client also misbehaves: hooks below hand abuse.c each protected
 * packet and a tick once ICE is connected, and the offer may carry a wrong fingerprint.
 * GLib loop thread only.
 */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "net/dtls.h"
#include "net/ice.h"
#include "net/srtp.h"
#include "offer.h"
#include "rtp/nack.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/vp8_rtp.h"
#include "sigws.h"

#define MAX_RTP_PAYLOAD  1150 /* as the server: SRTP packets stay under ~1200 bytes */
#define RTX_PACKETS      512
#define PLI_MIN_US       500000  /* keyframe requests we serve, at most one per this */
#define PLI_OUT_MIN_US   1000000 /* keyframe requests we send, at most one per this */
#define RTCP_US          1000000
#define ABUSER_LINGER_US 500000
#define PKT_BUF          (RTP_MAX_PACKET + SRTP_MAX_TRAILER)

static uint32_t random_u32(void)
{
	uint32_t v = 0;
	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = g_random_int();
	return v ? v : 1;
}

const char *client_state_name(enum client_state s)
{
	static const char *const names[] = {"new",  "signaling", "offered", "checking",
	                                    "dtls", "media",     "failed",  "closed"};
	return s <= CL_CLOSED ? names[s] : "?";
}

double client_connect_ms(const struct client *c)
{
	return c->t_media ? (c->t_media - c->t_start) / 1000.0 : -1;
}

/* Records the first failure; the transport goes at the next tick. */
static void fail(struct client *c, const char *fmt, const char *arg)
{
	if (c->state == CL_FAILED || c->state == CL_CLOSED)
		return;
	char what[128];
	snprintf(what, sizeof(what), fmt, arg ? arg : "");
	snprintf(c->error, sizeof(c->error), "%s: %s", client_state_name(c->state), what);
	c->state = CL_FAILED;
	c->t_failed = g_get_monotonic_time();
}

/* ---- signaling out ---- */

static void send_json(struct client *c, json_t *msg)
{
	char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (!text || sigws_send(c->ws, text) < 0)
		fail(c, "could not send a signaling message", NULL);
	free(text);
}

static void on_ice_candidate(void *opaque, const char *cand)
{
	struct client *c = opaque;
	if (c->state >= CL_FAILED)
		return;
	send_json(c, json_pack("{s:s, s:s?, s:s, s:i}", "type", "candidate", "candidate", cand,
	                       "sdpMid", "0", "sdpMLineIndex", 0));
}

/* ---- transport ---- */

static void transport_send(struct client *c, const uint8_t *data, size_t len)
{
	if (!c->ice || ice_send(c->ice, data, len) < 0)
		c->n.send_errors++;
}

static void dtls_send(void *opaque, const uint8_t *data, size_t len)
{
	transport_send(opaque, data, len);
}

static void protect_send_rtp(struct client *c, uint8_t *buf, size_t len)
{
	if (srtp_sess_protect_rtp(c->srtp, buf, &len, PKT_BUF) < 0) {
		c->n.srtp_errors++;
		return;
	}
	transport_send(c, buf, len);
	c->n.rtp_sent++;
	abuse_on_protected(c, buf, len);
}

static int protect_send_rtcp(struct client *c, uint8_t *buf, size_t len)
{
	if (srtp_sess_protect_rtcp(c->srtp, buf, &len, PKT_BUF) < 0) {
		c->n.srtp_errors++;
		return -1;
	}
	transport_send(c, buf, len);
	c->n.rtcp_sent++;
	abuse_on_protected(c, buf, len);
	return 0;
}

void client_send_raw(struct client *c, const uint8_t *data, size_t len)
{
	transport_send(c, data, len);
}

int client_send_rtcp(struct client *c, uint8_t *buf, size_t len)
{
	return c->srtp ? protect_send_rtcp(c, buf, len) : -1;
}

static void start_media(struct client *c)
{
	struct srtp_keys keys;
	int64_t now = g_get_monotonic_time();
	if (dtls_conn_srtp_keys(c->dtls, &keys) < 0 || srtp_sess_new(&c->srtp, &keys) < 0 ||
	    rtx_history_alloc(&c->rtx, RTX_PACKETS) < 0) {
		fail(c, "SRTP setup failed", NULL);
		return;
	}
	replay_init(&c->replay, c->env->clip, now, random_u32(), random_u32());
	c->state = CL_MEDIA;
	c->t_media = now;
	c->t_last_rtcp = now;
}

static void on_dtls(struct client *c, const uint8_t *data, size_t len)
{
	if (!c->dtls)
		return;
	int rc = dtls_conn_recv(c->dtls, data, len);
	if (rc == 1)
		start_media(c);
	else if (rc < 0)
		fail(c, "DTLS failed (%s)",
		     rc == -EPERM ? "fingerprint mismatch" : "alert or error");
}

/* ---- RTCP in ---- */

static void on_nack(struct client *c, const struct rtcp_item *it, int64_t now)
{
	uint16_t seqs[256];
	int n = rtcp_nack_seqs(it, seqs, 256);
	c->n.nack_in++;
	for (int i = 0; i < n; i++) {
		const struct rtx_pkt *rp;
		if (rtx_history_get(c->rtx, seqs[i], now, 20000, &rp) < 0)
			continue;
		uint8_t buf[PKT_BUF];
		int len = rtx_pkt_write(rp, seqs[i], buf, RTP_MAX_PACKET);
		if (len < 0)
			continue;
		protect_send_rtp(c, buf, (size_t)len);
		c->n.rtx_sent++;
	}
}

static void on_keyframe_request(struct client *c, int64_t now)
{
	if (now - c->t_last_pli < PLI_MIN_US)
		return;
	c->t_last_pli = now;
	replay_skip_to_keyframe(&c->replay);
}

/* The server's report blocks about our streams: its view of our uplink's loss. */
static void on_reports(struct client *c, const struct rtcp_item *it)
{
	for (int i = 0; i < it->n_reports; i++) {
		const struct rtcp_report *r = &it->reports[i];
		int k = r->ssrc == c->video_ssrc ? 0 : r->ssrc == c->audio_ssrc ? 1 : -1;
		if (k < 0)
			continue;
		c->up[k].have = true;
		c->up[k].lost = r->cumulative_lost;
		c->up[k].ext_max = r->ext_highest_seq;
	}
}

static int on_rtcp_item(void *opaque, const struct rtcp_item *it)
{
	struct client *c = opaque;
	int64_t now = g_get_monotonic_time();
	switch (it->kind) {
	case RTCP_NACK:
		if (it->media_ssrc == c->video_ssrc)
			on_nack(c, it, now);
		break;
	case RTCP_PLI:
	case RTCP_FIR:
		if (it->kind == RTCP_PLI)
			c->n.pli_in++;
		else
			c->n.fir_in++;
		on_keyframe_request(c, now);
		break;
	case RTCP_REMB:
		c->n.remb_in++;
		break;
	case RTCP_SR:
		c->n.sr_in++;
		c->sr_ntp_mid = (it->ntp >> 16) & 0xffffffffu;
		c->sr_at_us = now;
		on_reports(c, it);
		break;
	case RTCP_RR:
		on_reports(c, it);
		break;
	default:
		break;
	}
	return 0;
}

static void on_srtp(struct client *c, uint8_t *data, size_t len)
{
	if (rtp_is_rtcp(data, len)) {
		if (srtp_sess_unprotect_rtcp(c->srtp, data, &len) < 0) {
			c->n.srtp_errors++;
			return;
		}
		c->n.rtcp_in++;
		rtcp_parse(data, len, on_rtcp_item, c);
		return;
	}
	if (!c->env->recv)
		return;
	if (srtp_sess_unprotect_rtp(c->srtp, data, &len) < 0) {
		c->n.srtp_errors++;
		return;
	}
	recv_on_rtp(&c->rcv, data, len, g_get_monotonic_time());
}

static void on_ice_recv(void *opaque, uint8_t *data, size_t len)
{
	struct client *c = opaque;
	if (len == 0 || c->state >= CL_FAILED)
		return;
	if (data[0] >= 20 && data[0] <= 63)
		on_dtls(c, data, len);
	else if (data[0] >= 128 && data[0] <= 191 && c->srtp)
		on_srtp(c, data, len);
}

static void on_ice_state(void *opaque, enum ice_state st)
{
	struct client *c = opaque;
	if (st == ICE_FAILED) {
		fail(c, "ICE failed", NULL);
	} else if (st == ICE_CONNECTED && c->state == CL_CHECKING) {
		c->state = CL_DTLS;
		if (c->dtls_client && dtls_conn_start(c->dtls) < 0)
			fail(c, "DTLS could not start", NULL);
	}
}

/* ---- signaling in ---- */

static void on_joined(struct client *c, json_t *msg)
{
	const char *id = json_string_value(json_object_get(msg, "id"));
	snprintf(c->id, sizeof(c->id), "%s", id ? id : "?");
	struct ice_callbacks cb = {.opaque = c,
	                           .on_candidate = on_ice_candidate,
	                           .on_state = on_ice_state,
	                           .on_recv = on_ice_recv};
	/* no consent checks of our own: libnice's expire after 10 s without answers (browsers
	 * wait 30 s), so a server that drops a few of them under load would look like an ICE
	 * failure of ours; the server's own consent checks are answered as usual */
	struct ice_opts io = {.role = ICE_CONTROLLING, .no_checks = true};
	if (ice_new_opts(&c->ice, c->env->ctx, c->env->bind_ip, NULL, &io, &cb) < 0) {
		fail(c, "cannot create the ICE agent", NULL);
		return;
	}
	char cname[32], sdp[OFFER_MAX], wrong_fp[100];
	snprintf(cname, sizeof(cname), "load-%d", c->index);
	if (c->abuse.mode == ABUSE_WRONG_FP)
		abuse_fingerprint(wrong_fp, sizeof(wrong_fp));
	struct offer_params p = {.ice_ufrag = ice_local_ufrag(c->ice),
	                         .ice_pwd = ice_local_pwd(c->ice),
	                         .fingerprint = c->abuse.mode == ABUSE_WRONG_FP
	                                            ? wrong_fp
	                                            : dtls_cert_fingerprint(c->env->cert),
	                         .audio_ssrc = c->audio_ssrc,
	                         .video_ssrc = c->video_ssrc,
	                         .cname = cname,
	                         .session_id = ((uint64_t)random_u32() << 31) | random_u32(),
	                         .send = c->env->send};
	if (offer_write(sdp, sizeof(sdp), &p) < 0) {
		fail(c, "offer too long", NULL);
		return;
	}
	send_json(c, json_pack("{s:s, s:s}", "type", "offer", "sdp", sdp));
	c->state = CL_OFFERED;
	if (ice_gather(c->ice) < 0)
		fail(c, "ICE gathering failed", NULL);
}

static void on_answer(struct client *c, json_t *msg)
{
	const char *sdp = json_string_value(json_object_get(msg, "sdp"));
	struct answer_info a;
	char err[256] = "";
	if (!sdp || answer_parse(sdp, &a, err, sizeof(err)) < 0) {
		fail(c, "bad answer: %s", err);
		return;
	}
	if (a.video_pt != OFFER_VIDEO_PT || a.audio_pt != OFFER_AUDIO_PT) {
		fail(c, "the answer rejected VP8 or Opus", NULL);
		return;
	}
	c->video_pt = a.video_pt;
	c->audio_pt = a.audio_pt;
	c->dtls_client = a.dtls_client;
	if (ice_set_remote_credentials(c->ice, a.ice_ufrag, a.ice_pwd) < 0 ||
	    dtls_conn_new(&c->dtls, c->env->cert, a.dtls_client ? DTLS_CLIENT : DTLS_SERVER,
	                  a.fp_alg, a.fp, dtls_send, c) < 0) {
		fail(c, "cannot apply the answer", NULL);
		return;
	}
	for (int i = 0; i < a.ncandidates; i++)
		ice_add_remote_candidate(c->ice, a.candidates[i]);
	c->state = CL_CHECKING;
}

static void on_remote_candidate(struct client *c, json_t *msg)
{
	json_t *cand = json_object_get(msg, "candidate");
	if (!c->ice)
		return;
	if (json_is_string(cand) && json_string_length(cand) > 0)
		ice_add_remote_candidate(c->ice, json_string_value(cand));
	else
		ice_remote_gathering_done(c->ice);
}

/* Server errors that end the session (see docs/PROTOCOL.md). */
static bool fatal_error(const char *code)
{
	static const char *const fatal[] = {"room-full",   "server-full",  "server-busy",
	                                    "bad-sdp",     "offer-failed", "ice-failed",
	                                    "dtls-failed", "not-joined",   "too-many-candidates"};
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		if (code && !strcmp(code, fatal[i]))
			return true;
	return false;
}

static void on_error(struct client *c, const char *code)
{
	snprintf(c->server_error, sizeof(c->server_error), "%s", code ? code : "?");
	if (fatal_error(code))
		fail(c, "server error %s", code);
}

static void on_ws_message(void *opaque, const char *text, size_t len)
{
	struct client *c = opaque;
	json_t *msg = json_loadb(text, len, 0, NULL);
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!type)
		type = "";
	if (c->state >= CL_FAILED) { /* the server's reason may follow our own failure */
		if (!strcmp(type, "error"))
			on_error(c, json_string_value(json_object_get(msg, "code")));
	} else if (!strcmp(type, "joined") && c->state == CL_SIGNALING)
		on_joined(c, msg);
	else if (!strcmp(type, "answer") && c->state == CL_OFFERED)
		on_answer(c, msg);
	else if (!strcmp(type, "candidate"))
		on_remote_candidate(c, msg);
	else if (!strcmp(type, "error"))
		on_error(c, json_string_value(json_object_get(msg, "code")));
	json_decref(msg);
}

static void on_ws_open(void *opaque)
{
	struct client *c = opaque;
	if (c->state != CL_NEW)
		return;
	c->state = CL_SIGNALING;
	send_json(c,
	          json_pack("{s:s, s:s, s:s}", "type", "join", "room", c->room, "name", c->name));
}

static void on_ws_close(void *opaque, const char *why)
{
	struct client *c = opaque;
	fail(c, "signaling closed (%s)", why);
}

/* ---- media out ---- */

struct emit_ctx {
	struct client *c;
	struct rtx_pkt rp; /* the frame's fields; each part fills in its own */
	int64_t now;
};

/* abs-send-time: 6.18 fixed-point seconds, 24 bits. */
static void abs_send_time(int64_t now_us, uint8_t out[3])
{
	uint64_t t = ((uint64_t)now_us << 18) / 1000000;
	out[0] = (uint8_t)(t >> 16);
	out[1] = (uint8_t)(t >> 8);
	out[2] = (uint8_t)t;
}

/* One packet of a frame, written from the frame (as the server does: src/session/peer_out.c). */
static int emit_video(void *opaque, const uint8_t *desc, size_t desc_len, size_t off, size_t n,
                      bool marker)
{
	struct emit_ctx *e = opaque;
	struct client *c = e->c;
	uint8_t buf[PKT_BUF];
	if (desc_len > RTX_MAX_PREFIX || n > UINT16_MAX)
		return -EINVAL;
	memcpy(e->rp.prefix, desc, desc_len);
	e->rp.prefix_len = (uint8_t)desc_len;
	e->rp.offset = (uint32_t)off;
	e->rp.len = (uint16_t)n;
	e->rp.marker = marker;
	uint16_t seq = c->vseq++;
	int len = rtx_pkt_write(&e->rp, seq, buf, RTP_MAX_PACKET);
	if (len < 0)
		return len;
	rtx_history_put(c->rtx, seq, &e->rp, e->now);
	protect_send_rtp(c, buf, (size_t)len);
	return 0;
}

/* A video frame: copied once into a refcounted frame the NACK history keeps parts of. */
static void send_video(struct client *c, const struct replay_pkt *p, int64_t now)
{
	struct emit_ctx e = {.c = c,
	                     .now = now,
	                     .rp = {.frame = mix_packet_copy(p->data, p->size),
	                            .pt = OFFER_VIDEO_PT,
	                            .ts = p->rtp_ts,
	                            .ssrc = c->video_ssrc,
	                            .ext_id = OFFER_EXT_ABS_SEND,
	                            .ext_len = 3}};
	if (!e.rp.frame)
		return;
	abs_send_time(now, e.rp.ext);
	c->picture_id = (uint16_t)((c->picture_id + 1) & 0x7fff);
	vp8_packetize_parts(p->size, MAX_RTP_PAYLOAD, c->picture_id, emit_video, &e);
	mix_packet_unref(&e.rp.frame); /* the history holds what it needs */
}

static void send_audio(struct client *c, const struct replay_pkt *p)
{
	uint8_t buf[PKT_BUF];
	/* RFC 6464: V (voice activity) then the level; voice when louder than -60 dBov */
	uint8_t level = (uint8_t)(p->level | (p->level < 60 ? 0x80 : 0));
	struct rtp_hdr h = {
	    .pt = OFFER_AUDIO_PT, .seq = c->aseq++, .ts = p->rtp_ts, .ssrc = c->audio_ssrc};
	int n = rtp_write(buf, RTP_MAX_PACKET, &h, OFFER_EXT_LEVEL, &level, 1, p->data, p->size);
	if (n > 0)
		protect_send_rtp(c, buf, (size_t)n);
}

static void send_due(struct client *c, int64_t now)
{
	struct replay_pkt p;
	while (replay_next(&c->replay, now, &p)) {
		if (p.kind == REPLAY_AUDIO) {
			send_audio(c, &p);
			continue;
		}
		send_video(c, &p, now);
	}
}

/* ---- RTCP out ---- */

static void report_block(const struct client *c, const struct recv_seq *s, int64_t now,
                         struct rtcp_report *r)
{
	memset(r, 0, sizeof(*r));
	r->ssrc = s->ssrc;
	recv_seq_report(s, &r->cumulative_lost, &r->ext_highest_seq);
	if (c->sr_at_us) {
		r->lsr = (uint32_t)c->sr_ntp_mid;
		r->dlsr = (uint32_t)((now - c->sr_at_us) * 65536 / 1000000);
	}
}

static void send_rtcp(struct client *c, int64_t now)
{
	uint8_t buf[PKT_BUF];
	struct rtcp_report rep[2];
	int nrep = 0, n;
	if (c->rcv.vseq.started)
		report_block(c, &c->rcv.vseq, now, &rep[nrep++]);
	if (c->rcv.aseq.started)
		report_block(c, &c->rcv.aseq, now, &rep[nrep++]);
	uint32_t me = c->env->send ? c->video_ssrc : c->audio_ssrc;
	if (c->env->send) {
		int64_t media_us = now - c->replay.start_us + c->replay.vbase;
		uint32_t ts = c->replay.vts0 + (uint32_t)(media_us * 90 / 1000);
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		uint64_t ntp = rtcp_ntp_from_us((int64_t)rt.tv_sec * 1000000 + rt.tv_nsec / 1000);
		n = rtcp_write_sr(buf, RTP_MAX_PACKET, me, ntp, ts, 0, 0, rep, nrep);
	} else {
		n = rtcp_write_rr(buf, RTP_MAX_PACKET, me, rep, nrep);
	}
	char cname[32];
	snprintf(cname, sizeof(cname), "load-%d", c->index);
	int m = n > 0 ? rtcp_write_sdes_cname(buf + n, RTP_MAX_PACKET - (size_t)n, me, cname) : -1;
	if (m > 0)
		protect_send_rtcp(c, buf, (size_t)(n + m));
}

/* A keyframe request for the mix, when the receiver lost video or its decoder waits. */
static void send_pli(struct client *c, int64_t now)
{
	uint8_t buf[PKT_BUF];
	if (!c->rcv.want_keyframe || !c->rcv.vseq.started || now - c->t_pli_out < PLI_OUT_MIN_US)
		return;
	c->rcv.want_keyframe = false;
	c->t_pli_out = now;
	uint32_t me = c->env->send ? c->video_ssrc : c->audio_ssrc;
	int n = rtcp_write_pli(buf, RTP_MAX_PACKET, me, c->rcv.vseq.ssrc);
	if (n > 0) {
		protect_send_rtcp(c, buf, (size_t)n);
		c->n.pli_out++;
	}
}

/* ---- life ---- */

int client_new(struct client **out, const struct client_env *env, int index, const char *room,
               const char *name, bool decode)
{
	struct client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->env = env;
	c->index = index;
	c->decode = decode;
	snprintf(c->room, sizeof(c->room), "%s", room);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->audio_ssrc = random_u32();
	c->video_ssrc = random_u32();
	c->aseq = (uint16_t)random_u32();
	c->vseq = (uint16_t)random_u32();
	int rc = recv_init(&c->rcv, OFFER_VIDEO_PT, OFFER_AUDIO_PT, env->freeze_us, decode);
	if (rc < 0) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int client_set_abuse(struct client *c, enum abuse_mode mode)
{
	abuse_free(&c->abuse);
	return abuse_init(&c->abuse, mode);
}

int client_start(struct client *c, int64_t now_us)
{
	static const struct sigws_callbacks cb = {
	    .on_open = on_ws_open, .on_message = on_ws_message, .on_close = on_ws_close};
	c->t_start = now_us;
	int rc = sigws_connect(c->env->ws, c->env->url, &cb, c, &c->ws);
	if (rc < 0)
		fail(c, "bad signaling URL", NULL);
	return rc;
}

static void teardown(struct client *c)
{
	if (c->ws) {
		c->n.ws_dropped = sigws_dropped(c->ws);
		sigws_close(c->ws);
		c->ws = NULL; /* owned by the sigws until it is freed */
	}
	ice_free(&c->ice);
	srtp_sess_free(&c->srtp);
	dtls_conn_free(&c->dtls);
}

static void dtls_timer(struct client *c)
{
	if (!c->dtls || dtls_conn_done(c->dtls) || dtls_conn_timeout_us(c->dtls) != 0)
		return;
	if (dtls_conn_on_timeout(c->dtls) < 0)
		fail(c, "DTLS handshake timed out", NULL);
}

void client_tick(struct client *c, int64_t now_us)
{
	/* an abuser keeps its WebSocket a moment to hear the server's error (e.g. dtls-failed) */
	if (c->state == CL_FAILED && (c->ws || c->ice) &&
	    (c->abuse.mode == ABUSE_NONE || now_us - c->t_failed > ABUSER_LINGER_US))
		teardown(c);
	if (c->state >= CL_FAILED)
		return;
	if (c->state < CL_MEDIA && now_us - c->t_start > c->env->connect_us) {
		fail(c, "not connected in time", NULL);
		return;
	}
	if (c->state == CL_DTLS || c->state == CL_CHECKING)
		dtls_timer(c);
	if (c->abuse.mode != ABUSE_NONE && (c->state == CL_DTLS || c->state == CL_MEDIA))
		abuse_tick(c, now_us);
	if (c->state != CL_MEDIA)
		return;
	if (c->env->send)
		send_due(c, now_us);
	if (now_us - c->t_last_rtcp >= RTCP_US) {
		c->t_last_rtcp = now_us;
		send_rtcp(c, now_us);
	}
	send_pli(c, now_us);
}

void client_stop(struct client *c)
{
	if (c->state < CL_FAILED)
		c->state = CL_CLOSED;
	if (c->ws) { /* the server drops the peer on close; the transport goes in client_free */
		c->n.ws_dropped = sigws_dropped(c->ws);
		sigws_close(c->ws);
		c->ws = NULL;
	}
}

void client_free(struct client **cp)
{
	struct client *c = *cp;
	if (!c)
		return;
	teardown(c);
	rtx_history_free(&c->rtx);
	recv_free(&c->rcv);
	abuse_free(&c->abuse);
	free(c);
	*cp = NULL;
}
