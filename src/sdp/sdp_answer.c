/*
 * sdp_answer.c - writes our SDP answer (RFC 8866 syntax, RFC 8829 JSEP 5.3.1) for a negotiated
 * offer, CRLF line ends, into the caller's buffer.
 *
 * One BUNDLE group (RFC 8843) of the accepted mids in the offer's group order; each accepted
 * m-line repeats the same ICE (RFC 8839, full ICE, a=ice-options:trickle) and DTLS
 * (RFC 8122 fingerprint, RFC 8842 a=setup:passive) attributes, as browsers do, with
 * a=rtcp-mux (RFC 5761), the one chosen codec (Opus, RFC 7587, VP8, RFC 7741, or H.264, RFC 6184,
 * with its fmtp), its feedback (RFC 4585/5104, goog-remb), RTX for video (RFC 4588), the negotiated
 * extensions (RFC 8285; sdes:mid, rtp-stream-id and repaired-rtp-stream-id with the offer's ids),
 * the simulcast streams we receive (RFC 8851 a=rid:<id> recv, RFC 8853 a=simulcast:recv) and, when
 * we send, a=msid (RFC 8830) and a=ssrc cname/msid (RFC 5576), with
 * a=ssrc-group:FID for the RTX SSRC. Our candidates go in the
 * BUNDLE-tagged m-line only, followed by a=end-of-candidates when the caller says the list
 * is complete. Rejected m-lines keep their kind, proto, first format and mid with port 0 and
 * a=inactive, and our ICE credentials, fingerprint and a=setup:passive (no candidates). Track
 * ids are "<stream_id>-audio" and "<stream_id>-video".
 * Without BUNDLE (neg->bundle false, one transport per m-line): no a=group:BUNDLE; each accepted
 * m-line has its own ICE credentials (p->media_ice_*, else p->ice_*), the candidates go in the
 * first accepted one, and rejected m-lines carry a=rtcp-mux too, so that every m-line has ICE
 * credentials, fingerprint, a=setup:passive and rtcp-mux. Nothing else differs.
 * Pure function, any thread; reads its inputs, writes only out[0..cap).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sdp/sdp.h"

#define URI_AUDIO_LEVEL   "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define URI_ABS_SEND_TIME "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

struct writer {
	char *buf;
	size_t cap, len;
	bool full;
};

static void put(struct writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends one formatted piece; on overflow marks the writer full and stops writing. */
static void put(struct writer *w, const char *fmt, ...)
{
	if (w->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->cap - w->len) {
		w->full = true;
		w->buf[w->len] = '\0';
		return;
	}
	w->len += (size_t)n;
}

/* A non-empty value with no space, control byte or line break (it becomes one token). */
static bool token_ok(const char *s)
{
	if (!s || !s[0])
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool line_ok(const char *s)
{
	if (!s || !s[0])
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* The rids to answer are RFC 8851 rid-ids (the parser's), NUL-terminated in their arrays. */
static bool rids_ok(const struct sdp_neg_media *nm)
{
	if (nm->nrids < 0 || nm->nrids > SDP_MAX_RIDS)
		return false;
	for (int i = 0; i < nm->nrids; i++) {
		const char *id = nm->rids[i];
		if (!memchr(id, 0, sizeof(nm->rids[i])) || !id[0])
			return false;
		for (; *id; id++)
			if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') ||
			      (*id >= '0' && *id <= '9') || *id == '-' || *id == '_'))
				return false;
	}
	return true;
}

static bool sends(const struct sdp_neg_media *nm)
{
	return nm->accepted && (nm->dir == SDP_SENDRECV || nm->dir == SDP_SENDONLY);
}

/* Without BUNDLE: m-line i's own ICE credentials, both or neither. */
static bool media_ice_ok(const struct sdp_answer_params *p, int i)
{
	const char *u = p->media_ice_ufrag[i], *w = p->media_ice_pwd[i];
	return (!u && !w) || (token_ok(u) && token_ok(w));
}

static int check_params(const struct sdp_session *o, const struct sdp_negotiated *neg,
                        const struct sdp_answer_params *p)
{
	if (!token_ok(p->ice_ufrag) || !token_ok(p->ice_pwd) || !token_ok(p->fingerprint))
		return -EINVAL;
	if ((p->ip && !token_ok(p->ip)) || p->port > 65535 || p->ncandidates < 0 ||
	    (p->ncandidates > 0 && !p->candidates))
		return -EINVAL;
	for (int i = 0; i < p->ncandidates; i++)
		if (!line_ok(p->candidates[i]))
			return -EINVAL;
	if (neg->nmedia != o->nmedia || neg->nmedia < 0 || neg->nmedia > SDP_MAX_MEDIA)
		return -EINVAL;
	for (int i = 0; i < neg->nmedia; i++) {
		const struct sdp_neg_media *nm = &neg->media[i];
		if (sends(nm) && (!token_ok(p->cname) || !token_ok(p->stream_id)))
			return -EINVAL;
		if (nm->accepted && !rids_ok(nm))
			return -EINVAL;
		if (!neg->bundle && nm->accepted && !media_ice_ok(p, i))
			return -EINVAL;
	}
	return 0;
}

/* The answerer BUNDLE-tag (RFC 8843 7.3.1): first accepted mid in the offer's group order. */
static int tag_index(const struct sdp_session *o, const struct sdp_negotiated *neg)
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

/* Not cryptographic: a stable o= session id (RFC 8866 5.2) from our ICE ufrag. */
static unsigned long long session_id(const struct sdp_answer_params *p)
{
	unsigned long long h = 1469598103934665603ULL;
	for (const char *c = p->ice_ufrag; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	return (h & ((1ULL << 62) - 1)) | 1;
}

static void write_session(struct writer *w, const struct sdp_session *o,
                          const struct sdp_negotiated *neg, const struct sdp_answer_params *p)
{
	put(w, "v=0\r\no=- %llu 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", session_id(p));
	bool any = false;
	for (int b = 0; neg->bundle && b < o->nbundle; b++)
		for (int i = 0; i < o->nmedia; i++)
			if (neg->media[i].accepted && strcmp(o->media[i].mid, o->bundle[b]) == 0) {
				put(w, "%s %s", any ? "" : "a=group:BUNDLE", o->bundle[b]);
				any = true;
			}
	if (any)
		put(w, "\r\n");
	bool send = false;
	for (int i = 0; i < neg->nmedia; i++)
		send |= sends(&neg->media[i]);
	put(w, "a=msid-semantic: WMS%s%s\r\n", send ? " " : "", send ? p->stream_id : "");
}

/* JSEP 5.3.1: a rejected m-line keeps kind, proto and mid, with port 0. It also carries our
 * ICE credentials, fingerprint and setup, as libwebrtc writes a stopped m-line: GStreamer's
 * webrtcbin (1.22) refuses an answer with any m-line, rejected or not, lacking one of them. */
static void write_rejected(struct writer *w, const struct sdp_media *m,
                           const struct sdp_answer_params *p, bool bundle)
{
	put(w, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", m->media, m->proto, m->fmt0);
	put(w, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", p->ice_ufrag, p->ice_pwd);
	put(w, "a=fingerprint:sha-256 %s\r\na=setup:passive\r\n", p->fingerprint);
	if (m->mid[0])
		put(w, "a=mid:%s\r\n", m->mid);
	put(w, "a=inactive\r\n");
	if (!bundle) /* every m-line of a non-BUNDLE answer is a full transport description */
		put(w, "a=rtcp-mux\r\n");
}

/* The ICE credentials of accepted m-line i: its own without BUNDLE, when the caller gave them. */
static void ice_of(const struct sdp_negotiated *neg, const struct sdp_answer_params *p, int i,
                   const char **ufrag, const char **pwd)
{
	bool own = !neg->bundle && p->media_ice_ufrag[i];
	*ufrag = own ? p->media_ice_ufrag[i] : p->ice_ufrag;
	*pwd = own ? p->media_ice_pwd[i] : p->ice_pwd;
}

static void write_transport(struct writer *w, const struct sdp_answer_params *p, const char *ufrag,
                            const char *pwd, bool tag)
{
	const char *ip = p->ip ? p->ip : "0.0.0.0";
	put(w, "c=IN %s %s\r\n", strchr(ip, ':') ? "IP6" : "IP4", ip);
	for (int i = 0; tag && i < p->ncandidates; i++) {
		const char *c = p->candidates[i];
		put(w, "a=%s\r\n", strncmp(c, "a=", 2) == 0 ? c + 2 : c);
	}
	if (tag && p->end_of_candidates)
		put(w, "a=end-of-candidates\r\n");
	put(w, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n", ufrag, pwd);
	put(w, "a=fingerprint:sha-256 %s\r\na=setup:passive\r\n", p->fingerprint);
}

static void write_codec(struct writer *w, const struct sdp_neg_media *nm)
{
	if (nm->kind == SDP_AUDIO) {
		/* RFC 7587 7: always opus/48000/2, whatever the channel count used */
		put(w, "a=rtpmap:%d opus/48000/2\r\n", nm->pt);
		put(w, "a=fmtp:%d minptime=10;useinbandfec=1%s\r\n", nm->pt,
		    nm->dtx ? ";usedtx=1" : "");
		if (nm->twcc)
			put(w, "a=rtcp-fb:%d transport-cc\r\n", nm->pt);
		return;
	}
	if (nm->vcodec == SDP_VCODEC_H264) {
		put(w, "a=rtpmap:%d H264/90000\r\n", nm->pt);
		put(w, "a=fmtp:%d %s\r\n", nm->pt, nm->fmtp);
	} else {
		put(w, "a=rtpmap:%d VP8/90000\r\n", nm->pt);
	}
	if (nm->nack)
		put(w, "a=rtcp-fb:%d nack\r\n", nm->pt);
	if (nm->pli)
		put(w, "a=rtcp-fb:%d nack pli\r\n", nm->pt);
	if (nm->fir)
		put(w, "a=rtcp-fb:%d ccm fir\r\n", nm->pt);
	if (nm->remb)
		put(w, "a=rtcp-fb:%d goog-remb\r\n", nm->pt);
	if (nm->twcc)
		put(w, "a=rtcp-fb:%d transport-cc\r\n", nm->pt);
	if (nm->rtx_pt >= 0) {
		put(w, "a=rtpmap:%d rtx/90000\r\n", nm->rtx_pt);
		put(w, "a=fmtp:%d apt=%d\r\n", nm->rtx_pt, nm->pt);
	}
}

/* RFC 8853 5.3: we receive the offered send streams, in the offer's order. An offered paused
 * ("~") stream is answered without the "~": the pause state only says how a stream starts, the
 * browser decides which encodings it sends (RTCRtpEncodingParameters.active), and with no RFC 7728
 * PAUSE/RESUME here we could never ask for a stream answered paused; neg keeps no pause flags. */
static void write_simulcast(struct writer *w, const struct sdp_neg_media *nm)
{
	if (nm->nrids <= 0)
		return;
	for (int i = 0; i < nm->nrids; i++)
		put(w, "a=rid:%s recv\r\n", nm->rids[i]);
	put(w, "a=simulcast:recv ");
	for (int i = 0; i < nm->nrids; i++)
		put(w, "%s%s", i ? ";" : "", nm->rids[i]);
	put(w, "\r\n");
}

static void write_ssrc(struct writer *w, uint32_t ssrc, const struct sdp_answer_params *p,
                       const char *track)
{
	put(w, "a=ssrc:%u cname:%s\r\n", (unsigned)ssrc, p->cname);
	put(w, "a=ssrc:%u msid:%s %s-%s\r\n", (unsigned)ssrc, p->stream_id, p->stream_id, track);
}

static void write_accepted(struct writer *w, const struct sdp_media *m,
                           const struct sdp_neg_media *nm, const struct sdp_answer_params *p,
                           const char *ufrag, const char *pwd, bool tag)
{
	bool audio = nm->kind == SDP_AUDIO;
	const char *track = audio ? "audio" : "video";
	uint32_t ssrc = audio ? p->audio_ssrc : p->video_ssrc;
	put(w, "m=%s %d %s %d", m->media, p->port > 0 ? p->port : 9, m->proto, nm->pt);
	if (!audio && nm->rtx_pt >= 0)
		put(w, " %d", nm->rtx_pt);
	put(w, "\r\n");
	write_transport(w, p, ufrag, pwd, tag);
	put(w, "a=mid:%s\r\n", m->mid);
	if (nm->ext_audio_level)
		put(w, "a=extmap:%d %s\r\n", nm->ext_audio_level, URI_AUDIO_LEVEL);
	if (nm->ext_abs_send_time)
		put(w, "a=extmap:%d %s\r\n", nm->ext_abs_send_time, URI_ABS_SEND_TIME);
	if (nm->twcc)
		put(w, "a=extmap:%d %s\r\n", nm->ext_twcc, SDP_URI_TWCC);
	if (nm->ext_mid)
		put(w, "a=extmap:%d %s\r\n", nm->ext_mid, SDP_URI_MID);
	if (nm->ext_rid)
		put(w, "a=extmap:%d %s\r\n", nm->ext_rid, SDP_URI_RID);
	if (nm->ext_rrid)
		put(w, "a=extmap:%d %s\r\n", nm->ext_rrid, SDP_URI_RRID);
	put(w, "a=%s\r\n", sdp_dir_name(nm->dir));
	if (sends(nm))
		put(w, "a=msid:%s %s-%s\r\n", p->stream_id, p->stream_id, track);
	put(w, "a=rtcp-mux\r\n");
	write_codec(w, nm);
	write_simulcast(w, nm);
	if (!sends(nm))
		return;
	bool rtx = !audio && nm->rtx_pt >= 0 && p->video_rtx_ssrc;
	if (rtx)
		put(w, "a=ssrc-group:FID %u %u\r\n", (unsigned)ssrc, (unsigned)p->video_rtx_ssrc);
	write_ssrc(w, ssrc, p, track);
	if (rtx)
		write_ssrc(w, p->video_rtx_ssrc, p, track);
}

int sdp_write_answer(const struct sdp_session *offer, const struct sdp_negotiated *neg,
                     const struct sdp_answer_params *p, char *out, size_t cap)
{
	if (!offer || !neg || !p || (!out && cap))
		return -EINVAL;
	int r = check_params(offer, neg, p);
	if (r)
		return r;
	if (cap == 0)
		return -ENOSPC;
	struct writer w = {.buf = out, .cap = cap > INT_MAX ? (size_t)INT_MAX : cap};
	out[0] = '\0';
	int tag = tag_index(offer, neg);
	write_session(&w, offer, neg, p);
	for (int i = 0; i < neg->nmedia; i++) {
		const char *ufrag, *pwd;
		ice_of(neg, p, i, &ufrag, &pwd);
		if (neg->media[i].accepted)
			write_accepted(&w, &offer->media[i], &neg->media[i], p, ufrag, pwd,
			               i == tag);
		else
			write_rejected(&w, &offer->media[i], p, neg->bundle);
	}
	return w.full ? -ENOSPC : (int)w.len;
}
