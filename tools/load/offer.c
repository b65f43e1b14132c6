/*
 * offer.c - mcu-load's SDP offer text and answer reading (see offer.h).
 *
 * The offer is written line by line into the caller's bounded buffer (every write checked);
 * the answer is read with src/sdp's parser (sdp_parse), whose result is about 0.5 MB and so is
 * allocated per call. Pure functions, any thread.
 */
#include "offer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sdp/sdp.h"

struct out {
	char *p;
	size_t cap, len;
	bool full;
};

static void add(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	if (o->full)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= o->cap - o->len) {
		o->full = true;
		return;
	}
	o->len += (size_t)n;
	memcpy(o->p + o->len, "\r\n", 3);
	o->len += 2;
}

/* The lines every m-line of the bundle repeats: transport and our direction. */
static void add_transport(struct out *o, const struct offer_params *p, int mid)
{
	add(o, "c=IN IP4 0.0.0.0");
	add(o, "a=rtcp:9 IN IP4 0.0.0.0");
	add(o, "a=ice-ufrag:%s", p->ice_ufrag);
	add(o, "a=ice-pwd:%s", p->ice_pwd);
	add(o, "a=ice-options:trickle");
	add(o, "a=fingerprint:sha-256 %s", p->fingerprint);
	add(o, "a=setup:actpass");
	add(o, "a=mid:%d", mid);
}

static void add_ssrc(struct out *o, const struct offer_params *p, uint32_t ssrc, const char *track)
{
	add(o, "a=%s", p->send ? "sendrecv" : "recvonly");
	add(o, "a=msid:%s %s", p->cname, track);
	add(o, "a=rtcp-mux");
	if (!p->send)
		return;
	add(o, "a=ssrc:%u cname:%s", ssrc, p->cname);
	add(o, "a=ssrc:%u msid:%s %s", ssrc, p->cname, track);
}

static void add_audio(struct out *o, const struct offer_params *p)
{
	add(o, "m=audio 9 UDP/TLS/RTP/SAVPF %d", OFFER_AUDIO_PT);
	add_transport(o, p, 0);
	add(o, "a=extmap:%d urn:ietf:params:rtp-hdrext:ssrc-audio-level", OFFER_EXT_LEVEL);
	add(o, "a=extmap:%d http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
	    OFFER_EXT_ABS_SEND);
	add(o, "a=rtpmap:%d opus/48000/2", OFFER_AUDIO_PT);
	add(o, "a=fmtp:%d minptime=10;useinbandfec=1", OFFER_AUDIO_PT);
	add_ssrc(o, p, p->audio_ssrc, "audio0");
}

static void add_video(struct out *o, const struct offer_params *p)
{
	add(o, "m=video 9 UDP/TLS/RTP/SAVPF %d", OFFER_VIDEO_PT);
	add_transport(o, p, 1);
	add(o, "a=extmap:%d http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
	    OFFER_EXT_ABS_SEND);
	add(o, "a=rtcp-rsize");
	add(o, "a=rtpmap:%d VP8/90000", OFFER_VIDEO_PT);
	add(o, "a=rtcp-fb:%d goog-remb", OFFER_VIDEO_PT);
	add(o, "a=rtcp-fb:%d ccm fir", OFFER_VIDEO_PT);
	add(o, "a=rtcp-fb:%d nack", OFFER_VIDEO_PT);
	add(o, "a=rtcp-fb:%d nack pli", OFFER_VIDEO_PT);
	add_ssrc(o, p, p->video_ssrc, "video0");
}

static bool token_ok(const char *s)
{
	return s && s[0] && strlen(s) < ANSWER_TOKEN && !strpbrk(s, " \t\r\n");
}

int offer_write(char *buf, size_t cap, const struct offer_params *p)
{
	if (!buf || cap < 3 || !token_ok(p->ice_ufrag) || !token_ok(p->ice_pwd) ||
	    !token_ok(p->fingerprint) || !token_ok(p->cname))
		return -EINVAL;
	struct out o = {.p = buf, .cap = cap};
	buf[0] = '\0';
	add(&o, "v=0");
	add(&o, "o=- %llu 2 IN IP4 127.0.0.1", (unsigned long long)p->session_id);
	add(&o, "s=-");
	add(&o, "t=0 0");
	add(&o, "a=group:BUNDLE 0 1");
	add(&o, "a=msid-semantic: WMS %s", p->cname);
	add_audio(&o, p);
	add_video(&o, p);
	return o.full ? -ENOSPC : (int)o.len;
}

static int codec_pt(const struct sdp_media *m, const char *name)
{
	if (m->port == 0 && !m->bundle_only)
		return -1;
	for (int i = 0; i < m->ncodecs; i++)
		if (!strcasecmp(m->codecs[i].name, name))
			return m->codecs[i].pt;
	return -1;
}

/* Media values override session values (RFC 8866); the first m-line carries the bundle's. */
static void pick(char *dst, size_t cap, const char *media, const char *session)
{
	snprintf(dst, cap, "%s", media[0] ? media : session);
}

static void fill_answer(const struct sdp_session *s, struct answer_info *a)
{
	const struct sdp_media *m0 = &s->media[0];
	pick(a->ice_ufrag, sizeof(a->ice_ufrag), m0->ice_ufrag, s->ice_ufrag);
	pick(a->ice_pwd, sizeof(a->ice_pwd), m0->ice_pwd, s->ice_pwd);
	pick(a->fp_alg, sizeof(a->fp_alg), m0->fp_alg, s->fp_alg);
	pick(a->fp, sizeof(a->fp), m0->fp, s->fp);
	const char *setup = m0->setup[0] ? m0->setup : s->setup;
	a->dtls_client = strcmp(setup, "active") != 0;
	a->video_pt = a->audio_pt = -1;
	for (int i = 0; i < s->nmedia; i++) {
		const struct sdp_media *m = &s->media[i];
		if (m->kind == SDP_VIDEO && a->video_pt < 0)
			a->video_pt = codec_pt(m, "VP8");
		if (m->kind == SDP_AUDIO && a->audio_pt < 0)
			a->audio_pt = codec_pt(m, "opus");
		for (int k = 0; k < m->ncandidates && a->ncandidates < ANSWER_MAX_CANDIDATES; k++)
			snprintf(a->candidates[a->ncandidates++], ANSWER_TOKEN, "%s",
			         m->candidates[k]);
	}
}

int answer_parse(const char *sdp, struct answer_info *out, char *err, size_t errlen)
{
	struct sdp_session *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	int rc = sdp_parse(sdp, strlen(sdp), s, err, errlen);
	if (rc == 0 && s->nmedia == 0) {
		snprintf(err, errlen, "the answer has no m-line");
		rc = -EINVAL;
	}
	if (rc == 0)
		fill_answer(s, out);
	if (rc == 0 && (!out->ice_ufrag[0] || !out->ice_pwd[0] || !out->fp[0])) {
		snprintf(err, errlen, "the answer lacks ICE credentials or a fingerprint");
		rc = -EINVAL;
	}
	free(s);
	return rc;
}
