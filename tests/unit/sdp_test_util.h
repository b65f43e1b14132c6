/*
 * sdp_test_util.h - what test_sdp.c and test_sdp_stacks.c share: our answer's parameters, the
 * assets' reader (assets/sdp, or $MCU_ASSETS), parse and negotiate shorthands, text edits of an
 * offer, and lookups in parsed sessions. Static inline, so a test that does not use one is not
 * warned about it. Single-threaded test code; what returns a pointer returns it malloc'd.
 */
#ifndef MCU_SDP_TEST_UTIL_H
#define MCU_SDP_TEST_UTIL_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "sdp/sdp.h"

#define AUDIO_LEVEL   "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define ABS_SEND_TIME "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define TWCC          "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define OUR_UFRAG     "mcuF"
#define OUR_PWD       "0123456789abcdefghijklmnop"
#define OUR_FP                                                                                     \
	"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:"  \
	"45:67:89"
#define OUR_CAND "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"
/* what our answer writes in a rejected m-line between c= and a=mid */
#define REJ_TRANSPORT                                                                              \
	"a=ice-ufrag:" OUR_UFRAG "\r\na=ice-pwd:" OUR_PWD "\r\na=fingerprint:sha-256 " OUR_FP      \
	"\r\na=setup:passive\r\n"

static inline char *read_asset(const char *name)
{
	const char *dir = getenv("MCU_ASSETS");
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "assets/sdp", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run from the repository root or set MCU_ASSETS)", path);
	char *buf = calloc(1, SDP_MAX_SIZE + 1);
	assert_non_null(buf);
	size_t n = fread(buf, 1, SDP_MAX_SIZE, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static inline struct sdp_session *new_session(void)
{
	struct sdp_session *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	return s;
}

/* Parses a NUL-terminated text; returns the result code, message in err. */
static inline int parse_str(const char *text, struct sdp_session *s, char *err, size_t errlen)
{
	return sdp_parse(text, strlen(text), s, err, errlen);
}

static inline struct sdp_session *parse_ok(const char *text)
{
	struct sdp_session *s = new_session();
	char err[256];
	int r = parse_str(text, s, err, sizeof(err));
	if (r)
		fail_msg("sdp_parse: %d %s", r, err);
	return s;
}

static inline struct sdp_session *parse_asset(const char *name)
{
	char *text = read_asset(name);
	struct sdp_session *s = parse_ok(text);
	free(text);
	return s;
}

/* Expects sdp_parse to fail with code and a message containing what. */
static inline void parse_fails(const char *text, size_t len, int code, const char *what)
{
	struct sdp_session *s = new_session();
	char err[256] = "";
	int r = sdp_parse(text, len, s, err, sizeof(err));
	if (r != code || !strstr(err, what))
		fail_msg("want %d '%s', got %d '%s'", code, what, r, err);
	free(s);
}

/* Expects parse to succeed and negotiation to fail with a message containing what. */
static inline void negotiate_fails(const char *text, const char *what)
{
	struct sdp_session *s = parse_ok(text);
	struct sdp_negotiated neg;
	char err[256] = "";
	int r = sdp_negotiate(s, NULL, &neg, err, sizeof(err));
	if (r != -EINVAL || !strstr(err, what))
		fail_msg("want -EINVAL '%s', got %d '%s'", what, r, err);
	free(s);
}

/* A malloc'd copy of text without the lines that start with prefix. */
static inline char *drop_lines(const char *text, const char *prefix)
{
	char *out = calloc(1, strlen(text) + 1), *o = out;
	assert_non_null(out);
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
		if (strncmp(p, prefix, strlen(prefix)) != 0) {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	return out;
}

/* A malloc'd copy of text with every occurrence of from replaced by to. */
static inline char *replace_all(const char *text, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), count = 0;
	for (const char *p = strstr(text, from); p; p = strstr(p + fl, from))
		count++;
	char *out = calloc(1, strlen(text) + count * (tl > fl ? tl - fl : 0) + 1), *o = out;
	assert_non_null(out);
	for (const char *p = text;;) {
		const char *q = strstr(p, from);
		if (!q) {
			strcpy(o, p);
			break;
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, tl);
		o += tl;
		p = q + fl;
	}
	return out;
}

static inline const struct sdp_codec *codec_named(const struct sdp_media *m, const char *name)
{
	for (int i = 0; i < m->ncodecs; i++)
		if (strcmp(m->codecs[i].name, name) == 0)
			return &m->codecs[i];
	return NULL;
}

static inline const struct sdp_codec *codec_pt(const struct sdp_media *m, int pt)
{
	for (int i = 0; i < m->ncodecs; i++)
		if (m->codecs[i].pt == pt)
			return &m->codecs[i];
	return NULL;
}

static inline int ext_id(const struct sdp_media *m, const char *uri)
{
	for (int i = 0; i < m->nextmaps; i++)
		if (strcmp(m->extmaps[i].uri, uri) == 0)
			return m->extmaps[i].id;
	return 0;
}

static inline bool has_ssrc(const struct sdp_media *m, uint32_t ssrc)
{
	for (int i = 0; i < m->nssrcs; i++)
		if (m->ssrcs[i] == ssrc)
			return true;
	return false;
}

static inline bool in_bundle(const struct sdp_session *s, const char *mid)
{
	for (int i = 0; i < s->nbundle; i++)
		if (strcmp(s->bundle[i], mid) == 0)
			return true;
	return false;
}

/* Our ICE credentials of m-line i in an answer without BUNDLE (one transport per m-line). */
static inline const char *our_media_ufrag(int i)
{
	static const char *const u[SDP_MAX_MEDIA] = {
	    "mcu0", "mcu1", "mcu2",  "mcu3",  "mcu4",  "mcu5",  "mcu6",  "mcu7",
	    "mcu8", "mcu9", "mcu10", "mcu11", "mcu12", "mcu13", "mcu14", "mcu15"};
	return u[i];
}

static inline const char *our_media_pwd(int i)
{
#define OUR_MEDIA_PWD(n) "mcu" #n "+0123456789abcdefghijkl"
	static const char *const p[SDP_MAX_MEDIA] = {
	    OUR_MEDIA_PWD(0),  OUR_MEDIA_PWD(1),  OUR_MEDIA_PWD(2),  OUR_MEDIA_PWD(3),
	    OUR_MEDIA_PWD(4),  OUR_MEDIA_PWD(5),  OUR_MEDIA_PWD(6),  OUR_MEDIA_PWD(7),
	    OUR_MEDIA_PWD(8),  OUR_MEDIA_PWD(9),  OUR_MEDIA_PWD(10), OUR_MEDIA_PWD(11),
	    OUR_MEDIA_PWD(12), OUR_MEDIA_PWD(13), OUR_MEDIA_PWD(14), OUR_MEDIA_PWD(15)};
#undef OUR_MEDIA_PWD
	return p[i];
}

/* Our answer's parameters, with our_media_ufrag/pwd for every m-line: an answer without BUNDLE
 * uses them on accepted m-lines, one with BUNDLE must ignore them. */
static inline struct sdp_answer_params our_params(void)
{
	static const char *const cands[] = {OUR_CAND};
	struct sdp_answer_params p = {
	    .ice_ufrag = OUR_UFRAG,
	    .ice_pwd = OUR_PWD,
	    .fingerprint = OUR_FP,
	    .audio_ssrc = 1111,
	    .video_ssrc = 2222,
	    .cname = "mcu",
	    .stream_id = "mcu-mix",
	    .ip = "127.0.0.1",
	    .port = 40000,
	    .ncandidates = 1,
	    .candidates = cands,
	    .end_of_candidates = true,
	};
	for (int i = 0; i < SDP_MAX_MEDIA; i++) {
		p.media_ice_ufrag[i] = our_media_ufrag(i);
		p.media_ice_pwd[i] = our_media_pwd(i);
	}
	return p;
}

/* Negotiates and writes our answer to *offer; returns the malloc'd answer text. */
static inline char *answer_text(const struct sdp_session *offer, struct sdp_negotiated *neg)
{
	char err[256] = "";
	int r = sdp_negotiate(offer, NULL, neg, err, sizeof(err));
	if (r)
		fail_msg("sdp_negotiate: %d %s", r, err);
	struct sdp_answer_params p = our_params();
	char *out = malloc(16384);
	assert_non_null(out);
	r = sdp_write_answer(offer, neg, &p, out, 16384);
	assert_true(r > 0);
	assert_int_equal((size_t)r, strlen(out));
	return out;
}

static inline enum sdp_dir mirrored(enum sdp_dir d)
{
	return d == SDP_SENDONLY ? SDP_RECVONLY : d == SDP_RECVONLY ? SDP_SENDONLY : d;
}

#endif
