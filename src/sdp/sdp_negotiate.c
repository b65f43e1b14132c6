/*
 * sdp_negotiate.c - our answer policy applied to a parsed offer (RFC 8829 JSEP 5.3.1).
 *
 * Accepts the first audio m-line offering opus/48000 and the first video m-line offering
 * VP8/90000 or, if the policy allows, H.264/90000 in packetization-mode 1 with a (Constrained)
 * Baseline profile-level-id (RFC 6184 8.1; the offerer's first matching payload type; between
 * the two codecs the policy's preference, else the offer's order), on UDP/TLS/RTP/SAVPF (or
 * RTP/SAVPF), with rtcp-mux (RFC 5761, required) and inside the offer's BUNDLE group (RFC 8843)
 * when it has one. Every other m-line (more audio/video, data channels, other codecs) is rejected.
 * Our direction mirrors the offer (RFC 3264 6.1). Header extensions: ssrc-audio-level
 * (RFC 6464) on audio, abs-send-time on video, ids 1..14 only (one-byte form, RFC 8285).
 * Feedback on video: nack, nack pli, ccm fir, goog-remb if offered; transport-cc (with its header
 * extension, on video only) when the policy allows it and the m-line offers both. The sdes:mid
 * extension (RFC 8843 15.2) where offered, and on video rtp-stream-id / repaired-rtp-stream-id
 * (RFC 8852). Simulcast (RFC 8853, RFC 8851 rids) on the camera m-line only, where the policy
 * allows it, the codec is VP8 and the offer has the rid extension (choose_simulcast).
 * ICE credentials (RFC 8839) and the DTLS fingerprint/setup (RFC 8122, RFC 8842) come from
 * the BUNDLE-tagged accepted m-line, else the session level. An offer without a=group:BUNDLE gets
 * one transport per accepted m-line (neg->bundle false): each accepted m-line's own ICE/DTLS
 * parameters, checked, and no transport-cc (one sequence space per peer, not per transport); a
 * port 0 m-line is then rejected even with a=bundle-only (RFC 8843 6: only in a BUNDLE group).
 * Pure function, any thread; reads *offer, fills the caller's *neg.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sdp/sdp.h"

#define URI_AUDIO_LEVEL   "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define URI_ABS_SEND_TIME "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

static int nfail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int nfail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const char *sdp_dir_name(enum sdp_dir d)
{
	switch (d) {
	case SDP_SENDRECV:
		return "sendrecv";
	case SDP_SENDONLY:
		return "sendonly";
	case SDP_RECVONLY:
		return "recvonly";
	case SDP_INACTIVE:
		return "inactive";
	}
	return "inactive";
}

/* RFC 3264 6.1: the answer's direction for an offered one. */
static enum sdp_dir mirror(enum sdp_dir d)
{
	switch (d) {
	case SDP_SENDONLY:
		return SDP_RECVONLY;
	case SDP_RECVONLY:
		return SDP_SENDONLY;
	default:
		return d;
	}
}

static bool in_bundle(const struct sdp_session *o, const char *mid)
{
	for (int i = 0; i < o->nbundle; i++)
		if (mid[0] && strcmp(o->bundle[i], mid) == 0)
			return true;
	return false;
}

static bool usable_transport(const struct sdp_session *o, const struct sdp_media *m)
{
	if (strcmp(m->proto, "UDP/TLS/RTP/SAVPF") != 0 && strcmp(m->proto, "RTP/SAVPF") != 0)
		return false;
	if (m->port == 0 && !m->bundle_only)
		return false;
	if (o->nbundle == 0) /* a=bundle-only outside any BUNDLE group: port 0 rejects it */
		return m->port != 0;
	return in_bundle(o, m->mid);
}

/* The offerer's first payload type carrying name/clock, or NULL. */
static const struct sdp_codec *find_codec(const struct sdp_media *m, const char *name, int clock)
{
	for (int i = 0; i < m->ncodecs; i++)
		if (strcasecmp(m->codecs[i].name, name) == 0 && m->codecs[i].clock == clock)
			return &m->codecs[i];
	return NULL;
}

bool sdp_fmtp_get(const char *fmtp, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	for (const char *p = fmtp; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > klen && p[klen] == '=' && strncasecmp(p, key, klen) == 0) {
			size_t v = n - klen - 1;
			if (v >= cap)
				return false;
			memcpy(out, p + klen + 1, v);
			out[v] = '\0';
			return true;
		}
		p = end;
	}
	return false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool sdp_h264_fmtp_ok(const char *fmtp, bool *constrained)
{
	char v[16];
	if (!sdp_fmtp_get(fmtp, "packetization-mode", v, sizeof(v)) || strcmp(v, "1") != 0)
		return false;
	/* RFC 6184 8.1: absent means 42000A (Baseline, level 1) */
	if (!sdp_fmtp_get(fmtp, "profile-level-id", v, sizeof(v)))
		snprintf(v, sizeof(v), "42000a");
	if (strlen(v) != 6)
		return false;
	int b[3];
	for (int i = 0; i < 3; i++) {
		int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		b[i] = hi << 4 | lo;
	}
	int idc = b[0], iop = b[1];
	bool cb = (idc == 0x42 && (iop & 0x40)) || (idc == 0x4d && (iop & 0x80)) ||
	          (idc == 0x58 && (iop & 0xc0) == 0xc0);
	if (constrained)
		*constrained = cb;
	return cb || idc == 0x42;
}

/* The offerer's first H.264 payload type we take, Constrained Baseline before Baseline. */
static const struct sdp_codec *find_h264(const struct sdp_media *m)
{
	const struct sdp_codec *baseline = NULL;
	for (int i = 0; i < m->ncodecs; i++) {
		const struct sdp_codec *c = &m->codecs[i];
		bool cb;
		if (strcasecmp(c->name, "H264") != 0 || c->clock != 90000 ||
		    !sdp_h264_fmtp_ok(c->fmtp, &cb))
			continue;
		if (cb)
			return c;
		if (!baseline)
			baseline = c;
	}
	return baseline;
}

/* The answer's fmtp for an accepted H.264 payload type: the offer's profile, level and mode. */
static void h264_answer_fmtp(const struct sdp_codec *c, char *out, size_t cap)
{
	char plid[16] = "42000a", asym[8];
	sdp_fmtp_get(c->fmtp, "profile-level-id", plid, sizeof(plid));
	bool la = sdp_fmtp_get(c->fmtp, "level-asymmetry-allowed", asym, sizeof(asym)) &&
	          strcmp(asym, "1") == 0;
	snprintf(out, cap, "%spacketization-mode=1;profile-level-id=%s",
	         la ? "level-asymmetry-allowed=1;" : "", plid);
}

static int codec_index(const struct sdp_media *m, const struct sdp_codec *c)
{
	return c ? (int)(c - m->codecs) : SDP_MAX_CODECS;
}

/* The video codec of m under the policy, or NULL. */
static const struct sdp_codec *choose_video(const struct sdp_media *m, const struct sdp_policy *pol)
{
	const struct sdp_codec *vp8 = find_codec(m, "VP8", 90000);
	const struct sdp_codec *h264 = pol && pol->h264 ? find_h264(m) : NULL;
	if (!vp8 || !h264)
		return vp8 ? vp8 : h264;
	if (pol->prefer_set)
		return pol->prefer == SDP_VCODEC_H264 ? h264 : vp8;
	return codec_index(m, h264) < codec_index(m, vp8) ? h264 : vp8;
}

/* RFC 4588 8.6: the offer's rtx/90000 payload type whose apt is pt, or -1. */
static int find_rtx(const struct sdp_media *m, int pt)
{
	char apt[8];
	for (int i = 0; i < m->ncodecs; i++) {
		const struct sdp_codec *c = &m->codecs[i];
		if (strcasecmp(c->name, "rtx") == 0 && c->clock == 90000 &&
		    sdp_fmtp_get(c->fmtp, "apt", apt, sizeof(apt)) && atoi(apt) == pt &&
		    c->pt != pt)
			return c->pt;
	}
	return -1;
}

static int find_ext(const struct sdp_media *m, const char *uri)
{
	for (int i = 0; i < m->nextmaps; i++)
		if (strcmp(m->extmaps[i].uri, uri) == 0 && m->extmaps[i].id <= 14)
			return m->extmaps[i].id;
	return 0;
}

static void accept_media(const struct sdp_media *m, const struct sdp_codec *c,
                         const struct sdp_policy *pol, struct sdp_neg_media *nm)
{
	/* Video only: with it on audio, libwebrtc puts its audio under the congestion controller
	 * too, and a lossy, jittery uplink then costs voice (audio keeps priority here). */
	int twcc = pol && pol->transport_cc && c->fb_twcc && m->kind == SDP_VIDEO
	               ? find_ext(m, SDP_URI_TWCC)
	               : 0;
	nm->twcc = twcc != 0;
	nm->ext_twcc = twcc;
	nm->accepted = true;
	nm->dir = mirror(m->dir);
	nm->pt = c->pt;
	nm->dtx = pol && pol->opus_dtx && m->kind == SDP_AUDIO;
	nm->rtx_pt =
	    pol && pol->rtx && m->kind == SDP_VIDEO && c->fb_nack ? find_rtx(m, c->pt) : -1;
	nm->clock = c->clock;
	nm->channels = c->channels;
	nm->nssrcs = m->nssrcs;
	memcpy(nm->ssrcs, m->ssrcs, sizeof(nm->ssrcs));
	nm->ext_mid = find_ext(m, SDP_URI_MID);
	if (m->kind == SDP_AUDIO) {
		nm->ext_audio_level = find_ext(m, URI_AUDIO_LEVEL);
	} else {
		nm->ext_abs_send_time = find_ext(m, URI_ABS_SEND_TIME);
		nm->ext_rid = find_ext(m, SDP_URI_RID);
		nm->ext_rrid = find_ext(m, SDP_URI_RRID);
		nm->nack = c->fb_nack;
		nm->pli = c->fb_pli;
		nm->fir = c->fb_fir;
		nm->remb = c->fb_remb;
	}
}

static bool has_send_rid(const struct sdp_media *m, const char *id)
{
	for (int i = 0; i < m->nrids && i < SDP_MAX_RIDS; i++)
		if (m->rids[i].dir == SDP_SENDONLY && strcmp(m->rids[i].id, id) == 0)
			return true;
	return false;
}

/* RFC 8853 5.3: the simulcast we receive on the camera m-line (nm accepted, its codec chosen):
 * every send stream of its a=simulcast, in that order, paused ones too, when there are at least
 * two, each has an a=rid:<id> send, the client sends on the m-line, the rid extension is
 * negotiated and the codec is VP8 (the ingest reads VP8 keyframe sizes; not H.264 yet). Else none:
 * the answer has no a=simulcast and the browser sends its first encoding only. */
static void choose_simulcast(const struct sdp_media *m, const struct sdp_policy *pol,
                             struct sdp_neg_media *nm)
{
	nm->nrids = 0;
	if (!pol || !pol->simulcast || nm->vcodec != SDP_VCODEC_VP8 || !nm->ext_rid ||
	    (m->dir != SDP_SENDRECV && m->dir != SDP_SENDONLY) || m->nsim_send < 2 ||
	    m->nsim_send > SDP_MAX_RIDS)
		return;
	for (int i = 0; i < m->nsim_send; i++)
		if (!has_send_rid(m, m->sim_send[i].id))
			return;
	for (int i = 0; i < m->nsim_send; i++)
		memcpy(nm->rids[i], m->sim_send[i].id, sizeof(nm->rids[i]));
	nm->nrids = m->nsim_send;
}

/* The video m-line the policy names as the client's screen. */
static bool is_screen(const struct sdp_media *m, const struct sdp_policy *pol)
{
	return pol && pol->screen_mid[0] && m->kind == SDP_VIDEO &&
	       !strcmp(m->mid, pol->screen_mid);
}

/* The screen m-line, receive-only, with the camera's codec if it has a camera (the codec it
 * already sends; another is refused), else with the policy's choice. */
static void choose_screen(const struct sdp_session *o, const struct sdp_policy *pol,
                          struct sdp_negotiated *neg)
{
	const struct sdp_neg_media *cam =
	    neg->video_index >= 0 ? &neg->media[neg->video_index] : NULL;
	for (int i = 0; i < o->nmedia; i++) {
		const struct sdp_media *m = &o->media[i];
		if (!is_screen(m, pol) || !usable_transport(o, m) ||
		    (m->dir != SDP_SENDONLY && m->dir != SDP_SENDRECV))
			continue;
		struct sdp_policy only = *pol;
		if (cam) {
			only.prefer_set = true;
			only.prefer = cam->vcodec;
		}
		const struct sdp_codec *c = choose_video(m, &only);
		bool h264 = c && strcasecmp(c->name, "H264") == 0;
		if (!c || (cam && h264 != (cam->vcodec == SDP_VCODEC_H264)))
			return;
		accept_media(m, c, pol, &neg->media[i]);
		neg->media[i].dir = SDP_RECVONLY;
		neg->media[i].vcodec = h264 ? SDP_VCODEC_H264 : SDP_VCODEC_VP8;
		if (h264)
			h264_answer_fmtp(c, neg->media[i].fmtp, sizeof(neg->media[i].fmtp));
		neg->screen_index = i;
		return;
	}
}

/* Picks at most one audio (Opus) and one video (VP8 or H.264) m-line, and the screen. */
static void choose_media(const struct sdp_session *o, const struct sdp_policy *pol,
                         struct sdp_negotiated *neg)
{
	for (int i = 0; i < o->nmedia; i++) {
		const struct sdp_media *m = &o->media[i];
		struct sdp_neg_media *nm = &neg->media[i];
		nm->kind = m->kind;
		memcpy(nm->mid, m->mid, sizeof(nm->mid));
		nm->dir = SDP_INACTIVE;
		nm->rtx_pt = -1;
		if (!usable_transport(o, m))
			continue;
		const struct sdp_codec *c = NULL;
		if (is_screen(m, pol))
			continue; /* after the camera (choose_screen) */
		if (m->kind == SDP_AUDIO && neg->audio_index < 0)
			c = find_codec(m, "opus", 48000);
		else if (m->kind == SDP_VIDEO && neg->video_index < 0)
			c = choose_video(m, pol);
		if (!c) {
			if (m->kind == SDP_VIDEO && neg->video_index < 0 &&
			    neg->video_refused_index < 0) {
				neg->video_refused_index = i;
				neg->video_refused_h264 = find_h264(m) != NULL;
			}
			continue;
		}
		accept_media(m, c, pol, nm);
		if (m->kind == SDP_VIDEO && strcasecmp(c->name, "H264") == 0) {
			nm->vcodec = SDP_VCODEC_H264;
			h264_answer_fmtp(c, nm->fmtp, sizeof(nm->fmtp));
		}
		if (m->kind == SDP_AUDIO) {
			neg->audio_index = i;
		} else {
			neg->video_index = i;
			choose_simulcast(m, pol, nm);
		}
	}
	choose_screen(o, pol, neg);
}

/* Without BUNDLE: no transport-wide congestion control on any m-line (the transport-cc feedback
 * keeps one sequence number space per peer, and each m-line has its own transport). */
static void drop_twcc(struct sdp_negotiated *neg)
{
	for (int i = 0; i < neg->nmedia; i++) {
		neg->media[i].twcc = false;
		neg->media[i].ext_twcc = 0;
	}
}

/* The m-line whose transport we use: the first accepted in BUNDLE order, else in m= order. */
static int transport_index(const struct sdp_session *o, const struct sdp_negotiated *neg)
{
	for (int b = 0; b < o->nbundle; b++)
		for (int i = 0; i < o->nmedia; i++)
			if (neg->media[i].accepted && strcmp(o->media[i].mid, o->bundle[b]) == 0)
				return i;
	for (int i = 0; i < o->nmedia; i++)
		if (neg->media[i].accepted)
			return i;
	return -1;
}

static int check_media(const struct sdp_session *o, const struct sdp_negotiated *neg, char *err,
                       size_t errlen)
{
	int naccepted = 0;
	for (int i = 0; i < o->nmedia; i++) {
		if (!neg->media[i].accepted)
			continue;
		naccepted++;
		const struct sdp_media *m = &o->media[i];
		if (!m->rtcp_mux && o->nbundle)
			return nfail(err, errlen, "m-line %d (%s) lacks a=rtcp-mux (required)", i,
			             m->media);
		if (!m->rtcp_mux)
			return nfail(
			    err, errlen,
			    "m-line %d (%s, mid %s, no BUNDLE) lacks a=rtcp-mux (required)", i,
			    m->media, m->mid);
		if (!m->mid[0])
			return nfail(err, errlen, "m-line %d (%s) has no a=mid", i, m->media);
	}
	if (naccepted == 0)
		return nfail(err, errlen,
		             "offer has no audio m-line with opus/48000 and no video "
		             "m-line with VP8/90000 or H264/90000 packetization-mode=1 we can "
		             "take (on UDP/TLS/RTP/SAVPF)");
	return 0;
}

/* Hex pairs separated by colons, as many as the hash function's output (RFC 8122 5). */
static bool fingerprint_ok(const char *alg, const char *fp)
{
	static const struct {
		const char *alg;
		size_t bytes;
	} algs[] = {
	    {"sha-1", 20}, {"sha-224", 28}, {"sha-256", 32}, {"sha-384", 48}, {"sha-512", 64}};
	size_t want = 0;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(alg, algs[i].alg) == 0)
			want = algs[i].bytes;
	if (want == 0 || strlen(fp) != want * 3 - 1)
		return false;
	for (size_t i = 0; fp[i]; i++) {
		bool colon = i % 3 == 2;
		char c = fp[i];
		bool hex =
		    (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		if (colon ? c != ':' : !hex)
			return false;
	}
	return true;
}

#define PICK(field) (m->field[0] ? m->field : o->field)

/* ICE and DTLS parameters of m-line m, media level over session level, checked, into nm; where
 * prefixes the messages ("" for the bundle's transport). */
static int take_transport(const struct sdp_session *o, const struct sdp_media *m,
                          struct sdp_neg_media *nm, const char *where, char *err, size_t errlen)
{
	if (!PICK(ice_ufrag)[0] || !PICK(ice_pwd)[0])
		return nfail(err, errlen, "%soffer lacks a=ice-ufrag/a=ice-pwd", where);
	if (strlen(PICK(ice_ufrag)) < 4 || strlen(PICK(ice_pwd)) < 22)
		return nfail(err, errlen, "%sICE ufrag/pwd too short (min 4/22 chars, RFC 8839)",
		             where);
	if (!PICK(fp)[0])
		return nfail(err, errlen, "%soffer lacks a=fingerprint", where);
	if (!fingerprint_ok(PICK(fp_alg), PICK(fp)))
		return nfail(err, errlen, "%smalformed or unsupported a=fingerprint (%s)", where,
		             PICK(fp_alg));
	const char *setup = PICK(setup)[0] ? PICK(setup) : "active"; /* RFC 4145 4.1 default */
	/* roles are case-insensitive (RFC 4145 4, ABNF literals); kept in lower case */
	bool active = strcasecmp(setup, "active") == 0;
	if (strcasecmp(setup, "actpass") != 0 && !active)
		return nfail(err, errlen,
		             "%soffer has a=setup:%s; we answer passive, so it must be actpass or "
		             "active",
		             where, setup);
	memcpy(nm->ice_ufrag, PICK(ice_ufrag), sizeof(nm->ice_ufrag));
	memcpy(nm->ice_pwd, PICK(ice_pwd), sizeof(nm->ice_pwd));
	memcpy(nm->fp_alg, PICK(fp_alg), sizeof(nm->fp_alg));
	memcpy(nm->fp, PICK(fp), sizeof(nm->fp));
	snprintf(nm->setup, sizeof(nm->setup), "%s", active ? "active" : "actpass");
	return 0;
}

/* The ICE/DTLS fields of one structure into another (sdp_neg_media and sdp_negotiated declare
 * them alike). */
#define COPY_TRANSPORT(dst, src)                                                                   \
	do {                                                                                       \
		_Static_assert(sizeof((dst)->ice_ufrag) == sizeof((src)->ice_ufrag) &&             \
		                   sizeof((dst)->ice_pwd) == sizeof((src)->ice_pwd) &&             \
		                   sizeof((dst)->fp_alg) == sizeof((src)->fp_alg) &&               \
		                   sizeof((dst)->fp) == sizeof((src)->fp) &&                       \
		                   sizeof((dst)->setup) == sizeof((src)->setup),                   \
		               "transport fields differ");                                         \
		memcpy((dst)->ice_ufrag, (src)->ice_ufrag, sizeof((dst)->ice_ufrag));              \
		memcpy((dst)->ice_pwd, (src)->ice_pwd, sizeof((dst)->ice_pwd));                    \
		memcpy((dst)->fp_alg, (src)->fp_alg, sizeof((dst)->fp_alg));                       \
		memcpy((dst)->fp, (src)->fp, sizeof((dst)->fp));                                   \
		memcpy((dst)->setup, (src)->setup, sizeof((dst)->setup));                          \
	} while (0)

/* BUNDLE: the transport m-line's parameters, for the session and every accepted m-line. */
static int take_bundle_transport(const struct sdp_session *o, struct sdp_negotiated *neg, char *err,
                                 size_t errlen)
{
	int t = transport_index(o, neg);
	int r = take_transport(o, &o->media[t], &neg->media[t], "", err, errlen);
	if (r)
		return r;
	COPY_TRANSPORT(neg, &neg->media[t]);
	for (int i = 0; i < o->nmedia; i++)
		if (neg->media[i].accepted && i != t)
			COPY_TRANSPORT(&neg->media[i], neg);
	return 0;
}

/* No BUNDLE: every accepted m-line's own parameters; the session's are the first one's. */
static int take_media_transports(const struct sdp_session *o, struct sdp_negotiated *neg, char *err,
                                 size_t errlen)
{
	int first = -1;
	for (int i = 0; i < o->nmedia; i++) {
		if (!neg->media[i].accepted)
			continue;
		const struct sdp_media *m = &o->media[i];
		char where[SDP_MAX_MID + 64];
		snprintf(where, sizeof(where), "m-line %d (%s, mid %s, no BUNDLE): ", i, m->media,
		         m->mid);
		int r = take_transport(o, m, &neg->media[i], where, err, errlen);
		if (r)
			return r;
		if (first < 0)
			first = i;
	}
	COPY_TRANSPORT(neg, &neg->media[first]);
	return 0;
}

int sdp_negotiate(const struct sdp_session *offer, const struct sdp_policy *policy,
                  struct sdp_negotiated *neg, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!offer || !neg)
		return -EINVAL;
	memset(neg, 0, sizeof(*neg));
	neg->audio_index = neg->video_index = neg->video_refused_index = neg->screen_index = -1;
	if (offer->nmedia < 0 || offer->nmedia > SDP_MAX_MEDIA || offer->nbundle < 0 ||
	    offer->nbundle > SDP_MAX_MEDIA)
		return nfail(err, errlen, "corrupt sdp_session");
	neg->nmedia = offer->nmedia;
	neg->bundle = offer->nbundle > 0;
	choose_media(offer, policy, neg);
	if (!neg->bundle)
		drop_twcc(neg);
	int r = check_media(offer, neg, err, errlen);
	if (r)
		return r;
	return neg->bundle ? take_bundle_transport(offer, neg, err, errlen)
	                   : take_media_transports(offer, neg, err, errlen);
}
