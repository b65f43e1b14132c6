/*
 * sdp_parse.c - a bounded, linear-time parser of a remote SDP offer (RFC 8866) into plain data.
 *
 * Reads the parts WebRTC needs: m= lines, a=mid (RFC 5888), a=group:BUNDLE (RFC 8843),
 * a=rtcp-mux (RFC 5761), a=ice-ufrag/ice-pwd/candidate (RFC 8839), a=fingerprint/setup
 * (RFC 8122, RFC 8842), a=rtpmap/fmtp, a=rtcp-fb (RFC 4585), a=extmap (RFC 8285), a=ssrc
 * (RFC 5576), a=rid (RFC 8851), a=simulcast (RFC 8853) and the direction attributes. Unknown
 * lines and attributes are ignored.
 * The input is a byte range, not a C string: every read is checked against len; lines end in
 * LF or CRLF; NUL and other control bytes are rejected. Every cap of sdp.h is an error with a
 * message ("line 40: too many m-lines (max 16)"), never a silent truncation.
 * Simulcast is optional, so an a=rid or a=simulcast we cannot read (a malformed line, an id longer
 * than SDP_MAX_RID or with other characters than RFC 8851's) is skipped, not an error: the m-line
 * then gets no simulcast (its streams match no rid). Caps, duplicate rids and a second
 * a=simulcast in one m-line are errors, as elsewhere.
 * Pure function, any thread; the caller owns text and *out, nothing is allocated.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sdp/sdp.h"

/* A view of bytes inside the input; never NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

struct parser {
	struct sdp_session *s;
	struct sdp_media *m; /* current m-line, NULL at session level */
	int line;
	bool seen_v;
	enum sdp_dir sess_dir;
	bool sess_dir_set, dir_set;
	bool sim_seen;         /* the current m-line had an a=simulcast (read or skipped) */
	struct sdp_codec star; /* a=rtcp-fb:* flags of the current m-line */
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, int code, const char *fmt, ...)
{
	if (!ps->err || ps->errlen == 0)
		return code;
	int n = ps->line > 0 ? snprintf(ps->err, ps->errlen, "line %d: ", ps->line) : 0;
	if (n < 0 || (size_t)n >= ps->errlen)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

static bool span_eq(struct span a, const char *lit)
{
	size_t n = strlen(lit);
	return a.n == n && memcmp(a.p, lit, n) == 0;
}

/* Splits off the next space-separated token of *rest (skipping leading spaces). */
static bool next_tok(struct span *rest, struct span *tok)
{
	while (rest->n > 0 && rest->p[0] == ' ') {
		rest->p++;
		rest->n--;
	}
	size_t i = 0;
	while (i < rest->n && rest->p[i] != ' ')
		i++;
	*tok = (struct span){rest->p, i};
	rest->p += i;
	rest->n -= i;
	return i > 0;
}

/* Splits *rest at the first c: *head gets what precedes it; false if there is no c. */
static bool split_at(struct span *rest, char c, struct span *head)
{
	const char *q = rest->n ? memchr(rest->p, c, rest->n) : NULL;
	if (!q) {
		*head = *rest;
		rest->p += rest->n;
		rest->n = 0;
		return false;
	}
	*head = (struct span){rest->p, (size_t)(q - rest->p)};
	rest->n -= head->n + 1;
	rest->p = q + 1;
	return true;
}

/* Decimal digits only, 1..10 of them, value <= max. */
static bool parse_num(struct span t, unsigned long long max, unsigned long long *out)
{
	if (t.n == 0 || t.n > 10)
		return false;
	unsigned long long v = 0;
	for (size_t i = 0; i < t.n; i++) {
		if (t.p[i] < '0' || t.p[i] > '9')
			return false;
		v = v * 10 + (unsigned)(t.p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static int num_or_fail(struct parser *ps, struct span t, unsigned long long max, const char *what,
                       unsigned long long *out)
{
	if (parse_num(t, max, out))
		return 0;
	return fail(ps, -EINVAL, "bad %s '%.*s' (0..%llu)", what, (int)(t.n > 40 ? 40 : t.n), t.p,
	            max);
}

/* Copies a span into a fixed array, with a message if it does not fit. */
static int copy_tok(struct parser *ps, char *dst, size_t cap, struct span t, const char *what)
{
	if (t.n >= cap)
		return fail(ps, -E2BIG, "%s too long (%zu chars, max %zu)", what, t.n, cap - 1);
	memcpy(dst, t.p, t.n);
	dst[t.n] = '\0';
	return 0;
}

/* RFC 8866 token-char (RFC 5888 identification-tag). */
static bool is_token_char(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d ||
	       c == 0x2e || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) ||
	       (c >= 0x5e && c <= 0x7e);
}

/* RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/". */
static bool is_ice_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static int copy_mid(struct parser *ps, char *dst, struct span t)
{
	if (t.n == 0)
		return fail(ps, -EINVAL, "empty mid");
	int r = copy_tok(ps, dst, SDP_MAX_MID + 1, t, "mid");
	if (r)
		return r;
	for (size_t i = 0; i < t.n; i++)
		if (!is_token_char((unsigned char)t.p[i]))
			return fail(ps, -EINVAL, "mid has an invalid character 0x%02x",
			            (unsigned char)t.p[i]);
	return 0;
}

static int copy_ice(struct parser *ps, char *dst, struct span t, const char *what)
{
	if (dst[0])
		return fail(ps, -EINVAL, "duplicate a=%s", what);
	if (t.n == 0)
		return fail(ps, -EINVAL, "empty a=%s", what);
	for (size_t i = 0; i < t.n; i++)
		if (!is_ice_char((unsigned char)t.p[i]))
			return fail(ps, -EINVAL, "a=%s has an invalid character", what);
	return copy_tok(ps, dst, SDP_MAX_TOKEN + 1, t, what);
}

/* RFC 8122 5: "a=fingerprint:<hash-func> <fingerprint>"; keeps the first sha-256 one. */
static int parse_fingerprint(struct parser *ps, struct span v, char *alg, char *fp)
{
	struct span a, f;
	if (!next_tok(&v, &a) || !next_tok(&v, &f))
		return fail(ps, -EINVAL, "malformed a=fingerprint");
	/* hash names are case-insensitive (RFC 8122 5, ABNF literals); kept in lower case */
	bool sha256 = a.n == 7 && strncasecmp(a.p, "sha-256", 7) == 0;
	if (fp[0] && (strcmp(alg, "sha-256") == 0 || !sha256))
		return 0;
	char a2[16] = "", f2[SDP_MAX_TOKEN + 1] = "";
	int r = copy_tok(ps, a2, sizeof(a2), a, "fingerprint algorithm");
	if (!r)
		r = copy_tok(ps, f2, sizeof(f2), f, "fingerprint");
	if (r)
		return r;
	for (char *c = a2; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	memcpy(alg, a2, sizeof(a2));
	memcpy(fp, f2, sizeof(f2));
	return 0;
}

static int parse_setup(struct parser *ps, struct span v, char *dst)
{
	if (dst[0])
		return fail(ps, -EINVAL, "duplicate a=setup");
	if (v.n == 0)
		return fail(ps, -EINVAL, "empty a=setup");
	return copy_tok(ps, dst, 16, v, "a=setup value");
}

static int set_dir(struct parser *ps, enum sdp_dir d)
{
	if (!ps->m) {
		if (ps->sess_dir_set)
			return fail(ps, -EINVAL, "more than one direction attribute");
		ps->sess_dir = d;
		ps->sess_dir_set = true;
		return 0;
	}
	if (ps->dir_set)
		return fail(ps, -EINVAL, "more than one direction attribute in m-line %d",
		            ps->s->nmedia - 1);
	ps->m->dir = d;
	ps->dir_set = true;
	return 0;
}

/* RFC 8843 / RFC 5888: "a=group:BUNDLE <mid> ..."; other semantics are ignored. */
static int parse_group(struct parser *ps, struct span v)
{
	struct span sem, t;
	if (!next_tok(&v, &sem))
		return fail(ps, -EINVAL, "malformed a=group");
	if (!span_eq(sem, "BUNDLE"))
		return 0;
	struct sdp_session *s = ps->s;
	if (s->nbundle > 0)
		return fail(ps, -EINVAL, "more than one BUNDLE group (unsupported)");
	while (next_tok(&v, &t)) {
		if (s->nbundle == SDP_MAX_MEDIA)
			return fail(ps, -E2BIG, "too many mids in BUNDLE group (max %d)",
			            SDP_MAX_MEDIA);
		int r = copy_mid(ps, s->bundle[s->nbundle], t);
		if (r)
			return r;
		s->nbundle++;
	}
	return 0;
}

static int session_attr(struct parser *ps, struct span name, struct span v)
{
	struct sdp_session *s = ps->s;
	if (span_eq(name, "group"))
		return parse_group(ps, v);
	if (span_eq(name, "ice-ufrag"))
		return copy_ice(ps, s->ice_ufrag, v, "ice-ufrag");
	if (span_eq(name, "ice-pwd"))
		return copy_ice(ps, s->ice_pwd, v, "ice-pwd");
	if (span_eq(name, "fingerprint"))
		return parse_fingerprint(ps, v, s->fp_alg, s->fp);
	if (span_eq(name, "setup"))
		return parse_setup(ps, v, s->setup);
	if (span_eq(name, "ice-lite"))
		s->ice_lite = true;
	return 0;
}

static struct sdp_codec *find_codec(struct sdp_media *m, int pt)
{
	for (int i = 0; i < m->ncodecs; i++)
		if (m->codecs[i].pt == pt)
			return &m->codecs[i];
	return NULL;
}

/* Leading "<pt> " of rtpmap/fmtp/rtcp-fb values; *c is NULL for a PT not in the m= line. */
static int attr_pt(struct parser *ps, struct span *v, const char *what, struct sdp_codec **c)
{
	struct span t;
	unsigned long long pt;
	next_tok(v, &t);
	int r = num_or_fail(ps, t, 127, what, &pt);
	if (r)
		return r;
	*c = find_codec(ps->m, (int)pt);
	return 0;
}

/* RFC 8866 6.6: "a=rtpmap:<pt> <encoding name>/<clock rate>[/<channels>]". */
static int parse_rtpmap(struct parser *ps, struct span v)
{
	struct sdp_codec *c;
	struct span t, name, clock, ch;
	unsigned long long n;
	int r = attr_pt(ps, &v, "a=rtpmap payload type", &c);
	if (r || !c)
		return r;
	if (c->name[0])
		return fail(ps, -EINVAL, "duplicate a=rtpmap for payload type %d", c->pt);
	next_tok(&v, &t);
	if (!split_at(&t, '/', &name) || name.n == 0)
		return fail(ps, -EINVAL, "malformed a=rtpmap for payload type %d", c->pt);
	if ((r = copy_tok(ps, c->name, sizeof(c->name), name, "a=rtpmap encoding name")))
		return r;
	bool has_ch = split_at(&t, '/', &clock);
	if ((r = num_or_fail(ps, clock, 1000000000, "a=rtpmap clock rate", &n)))
		return r;
	c->clock = (int)n;
	if (has_ch) {
		ch = t;
		if ((r = num_or_fail(ps, ch, 255, "a=rtpmap channel count", &n)))
			return r;
		c->channels = (int)n;
	}
	return 0;
}

/* RFC 8866 6.15: "a=fmtp:<format> <format specific parameters>". */
static int parse_fmtp(struct parser *ps, struct span v)
{
	struct sdp_codec *c;
	int r = attr_pt(ps, &v, "a=fmtp payload type", &c);
	if (r || !c)
		return r;
	if (c->fmtp[0])
		return fail(ps, -EINVAL, "duplicate a=fmtp for payload type %d", c->pt);
	while (v.n > 0 && v.p[0] == ' ') {
		v.p++;
		v.n--;
	}
	return copy_tok(ps, c->fmtp, sizeof(c->fmtp), v, "a=fmtp parameters");
}

/* RFC 4585 4.2, RFC 5104 7.1: "a=rtcp-fb:<pt|*> <type> [<param>]". */
static int parse_rtcp_fb(struct parser *ps, struct span v)
{
	struct sdp_codec *c = &ps->star;
	struct span type, param;
	if (v.n > 0 && v.p[0] == '*') {
		v.p++;
		v.n--;
	} else {
		int r = attr_pt(ps, &v, "a=rtcp-fb payload type", &c);
		if (r || !c)
			return r;
	}
	next_tok(&v, &type);
	bool has_param = next_tok(&v, &param);
	if (span_eq(type, "nack") && !has_param)
		c->fb_nack = true;
	else if (span_eq(type, "nack") && span_eq(param, "pli"))
		c->fb_pli = true;
	else if (span_eq(type, "ccm") && span_eq(param, "fir"))
		c->fb_fir = true;
	else if (span_eq(type, "goog-remb"))
		c->fb_remb = true;
	else if (span_eq(type, "transport-cc"))
		c->fb_twcc = true;
	return 0;
}

/* RFC 8285 5: "a=extmap:<id>[/<direction>] <URI> [<attributes>]". */
static int parse_extmap(struct parser *ps, struct span v)
{
	struct sdp_media *m = ps->m;
	struct span t, id, uri;
	unsigned long long n;
	next_tok(&v, &t);
	split_at(&t, '/', &id);
	int r = num_or_fail(ps, id, 255, "a=extmap id", &n);
	if (r)
		return r;
	if (n == 0)
		return fail(ps, -EINVAL, "bad a=extmap id 0 (1..255)");
	if (!next_tok(&v, &uri))
		return fail(ps, -EINVAL, "a=extmap without a URI");
	for (int i = 0; i < m->nextmaps; i++)
		if (m->extmaps[i].id == (int)n)
			return fail(ps, -EINVAL, "duplicate a=extmap id %llu", n);
	if (m->nextmaps == SDP_MAX_EXTMAPS)
		return fail(ps, -E2BIG, "too many a=extmap in m-line %d (max %d)",
		            ps->s->nmedia - 1, SDP_MAX_EXTMAPS);
	struct sdp_extmap *e = &m->extmaps[m->nextmaps];
	if ((r = copy_tok(ps, e->uri, sizeof(e->uri), uri, "a=extmap URI")))
		return r;
	e->id = (int)n;
	m->nextmaps++;
	return 0;
}

/* RFC 5576 4.1: "a=ssrc:<ssrc-id> <attribute>[:<value>]"; collects distinct SSRCs. */
static int parse_ssrc(struct parser *ps, struct span v)
{
	struct sdp_media *m = ps->m;
	struct span t;
	unsigned long long n;
	next_tok(&v, &t);
	int r = num_or_fail(ps, t, 0xffffffffULL, "a=ssrc id", &n);
	if (r)
		return r;
	for (int i = 0; i < m->nssrcs; i++)
		if (m->ssrcs[i] == (uint32_t)n)
			return 0;
	if (m->nssrcs == SDP_MAX_SSRCS)
		return fail(ps, -E2BIG, "too many SSRCs in m-line %d (max %d)", ps->s->nmedia - 1,
		            SDP_MAX_SSRCS);
	m->ssrcs[m->nssrcs++] = (uint32_t)n;
	return 0;
}

/* RFC 8839 5.1: the whole "candidate:..." attribute is kept for the ICE agent. */
static int parse_candidate(struct parser *ps, struct span whole)
{
	struct sdp_media *m = ps->m;
	if (m->ncandidates == SDP_MAX_CANDIDATES)
		return fail(ps, -E2BIG, "too many candidates in m-line %d (max %d)",
		            ps->s->nmedia - 1, SDP_MAX_CANDIDATES);
	int r = copy_tok(ps, m->candidates[m->ncandidates], SDP_MAX_TOKEN + 1, whole,
	                 "a=candidate line");
	if (!r)
		m->ncandidates++;
	return r;
}

/* RFC 8851 10: rid-id = 1*(alpha-numeric / "-" / "_"), and at most SDP_MAX_RID bytes. */
static bool rid_id_ok(struct span t)
{
	if (t.n == 0 || t.n > SDP_MAX_RID)
		return false;
	for (size_t i = 0; i < t.n; i++) {
		char c = t.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* A max-width/max-height restriction's value; 0 (none) if it is not a plain number. */
static int restriction(struct span v)
{
	unsigned long long n;
	return parse_num(v, 1000000, &n) ? (int)n : 0;
}

/* RFC 8851 10: "a=rid:<rid-id> send|recv [pt=<fmt>,...;<key>=<value>;...]"; of the
 * restrictions only max-width and max-height are kept. A rid-id we cannot hold or another
 * direction skips the line (see the top of the file). */
static int parse_rid(struct parser *ps, struct span v)
{
	struct sdp_media *m = ps->m;
	struct span id, dir, params, kv, key;
	next_tok(&v, &id);
	next_tok(&v, &dir);
	bool send = span_eq(dir, "send");
	if (!rid_id_ok(id) || (!send && !span_eq(dir, "recv")))
		return 0;
	for (int i = 0; i < m->nrids; i++)
		if (span_eq(id, m->rids[i].id))
			return fail(ps, -EINVAL, "duplicate a=rid '%.*s'", (int)id.n, id.p);
	if (m->nrids == SDP_MAX_RIDS)
		return fail(ps, -E2BIG, "too many a=rid in m-line %d (max %d)", ps->s->nmedia - 1,
		            SDP_MAX_RIDS);
	struct sdp_rid *r = &m->rids[m->nrids++];
	memcpy(r->id, id.p, id.n);
	r->id[id.n] = '\0';
	r->dir = send ? SDP_SENDONLY : SDP_RECVONLY;
	next_tok(&v, &params);
	while (params.n > 0) {
		split_at(&params, ';', &kv);
		split_at(&kv, '=', &key); /* kv: the value */
		if (span_eq(key, "max-width"))
			r->max_w = restriction(kv);
		else if (span_eq(key, "max-height"))
			r->max_h = restriction(kv);
	}
	return 0;
}

static bool span_prefix(struct span *t, const char *lit)
{
	size_t n = strlen(lit);
	if (t->n < n || memcmp(t->p, lit, n) != 0)
		return false;
	t->p += n;
	t->n -= n;
	return true;
}

/* One RFC 8853 5.1 sc-str-list: streams separated by ';', each a ','-separated list of
 * alternatives "[~]rid-id". With out, the first alternative of each stream is appended to
 * out[*n]. 1 if malformed (the attribute is then skipped), 0, or an error (a cap, a duplicate). */
static int sim_list(struct parser *ps, struct span list, struct sdp_sim_stream *out, int *n)
{
	struct span stream, alt;
	for (bool more = true; more;) {
		more = split_at(&list, ';', &stream); /* an empty stream: "", "a;", ";a", "a;;b" */
		if (stream.n == 0)
			return 1;
		bool first = true;
		for (bool alts = true; alts; first = false) {
			alts = split_at(&stream, ',', &alt);
			bool paused = alt.n > 0 && alt.p[0] == '~';
			struct span id = {alt.p + paused, alt.n - paused};
			if (!rid_id_ok(id)) /* also "", "~" alone */
				return 1;
			if (!first || !out)
				continue;
			for (int i = 0; i < *n; i++)
				if (span_eq(id, out[i].id))
					return fail(ps, -EINVAL, "a=simulcast lists '%.*s' twice",
					            (int)id.n, id.p);
			if (*n == SDP_MAX_RIDS)
				return fail(ps, -E2BIG,
				            "too many a=simulcast streams in m-line %d (max %d)",
				            ps->s->nmedia - 1, SDP_MAX_RIDS);
			memcpy(out[*n].id, id.p, id.n);
			out[*n].id[id.n] = '\0';
			out[*n].paused = paused;
			(*n)++;
		}
	}
	return 0;
}

/* draft-ietf-mmusic-sdp-simulcast-03 (older Firefox): "paused=<id>,<id>" after a rid list. */
static void sim_draft_paused(struct span *v, struct sdp_sim_stream *s, int n)
{
	struct span rest = *v, t, id;
	if (!next_tok(&rest, &t) || !span_prefix(&t, "paused="))
		return;
	*v = rest;
	while (t.n > 0) {
		split_at(&t, ',', &id);
		for (int i = 0; i < n; i++)
			if (span_eq(id, s[i].id))
				s[i].paused = true;
	}
}

/* RFC 8853 5.1: "a=simulcast:send <list>[ recv <list>]" or "recv <list>[ send <list>]"; keeps
 * the send streams. Also the draft-03 form older Firefox wrote, "a=simulcast: send rid=h;m;l"
 * (a "pt=" list there names formats, not rids: skipped). Unreadable: skipped, no simulcast. */
static int parse_simulcast(struct parser *ps, struct span v)
{
	struct sdp_media *m = ps->m;
	struct sdp_sim_stream send[SDP_MAX_RIDS];
	struct span dir, list;
	int nsend = 0;
	bool seen[2] = {false, false};
	if (ps->sim_seen)
		return fail(ps, -EINVAL, "more than one a=simulcast in m-line %d",
		            ps->s->nmedia - 1);
	ps->sim_seen = true;
	memset(send, 0, sizeof(send));
	if (!next_tok(&v, &dir))
		return 0;
	do {
		bool is_send = span_eq(dir, "send");
		if ((!is_send && !span_eq(dir, "recv")) || seen[is_send] || !next_tok(&v, &list))
			return 0;
		seen[is_send] = true;
		bool draft = span_prefix(&list, "rid=");
		if (!draft && list.n >= 3 && memcmp(list.p, "pt=", 3) == 0)
			return 0;
		int r = sim_list(ps, list, is_send ? send : NULL, &nsend);
		if (r)
			return r < 0 ? r : 0;
		if (draft && is_send)
			sim_draft_paused(&v, send, nsend);
		else if (draft)
			sim_draft_paused(&v, NULL, 0);
	} while (next_tok(&v, &dir));
	memcpy(m->sim_send, send, sizeof(send));
	m->nsim_send = nsend;
	return 0;
}

static int media_attr(struct parser *ps, struct span name, struct span v, struct span whole)
{
	struct sdp_media *m = ps->m;
	if (span_eq(name, "mid")) {
		if (m->mid[0])
			return fail(ps, -EINVAL, "duplicate a=mid");
		return copy_mid(ps, m->mid, v);
	}
	if (span_eq(name, "rtpmap"))
		return parse_rtpmap(ps, v);
	if (span_eq(name, "fmtp"))
		return parse_fmtp(ps, v);
	if (span_eq(name, "rtcp-fb"))
		return parse_rtcp_fb(ps, v);
	if (span_eq(name, "extmap"))
		return parse_extmap(ps, v);
	if (span_eq(name, "ssrc"))
		return parse_ssrc(ps, v);
	if (span_eq(name, "candidate"))
		return parse_candidate(ps, whole);
	if (span_eq(name, "rid"))
		return parse_rid(ps, v);
	if (span_eq(name, "simulcast"))
		return parse_simulcast(ps, v);
	if (span_eq(name, "rtcp-mux"))
		m->rtcp_mux = true;
	else if (span_eq(name, "bundle-only"))
		m->bundle_only = true;
	else if (span_eq(name, "ice-ufrag"))
		return copy_ice(ps, m->ice_ufrag, v, "ice-ufrag");
	else if (span_eq(name, "ice-pwd"))
		return copy_ice(ps, m->ice_pwd, v, "ice-pwd");
	else if (span_eq(name, "fingerprint"))
		return parse_fingerprint(ps, v, m->fp_alg, m->fp);
	else if (span_eq(name, "setup"))
		return parse_setup(ps, v, m->setup);
	return 0;
}

static int parse_attr(struct parser *ps, struct span v)
{
	struct span whole = v, name;
	bool has_value = split_at(&v, ':', &name);
	if (name.n == 0)
		return fail(ps, -EINVAL, "empty attribute name");
	if (span_eq(name, "sendrecv"))
		return set_dir(ps, SDP_SENDRECV);
	if (span_eq(name, "sendonly"))
		return set_dir(ps, SDP_SENDONLY);
	if (span_eq(name, "recvonly"))
		return set_dir(ps, SDP_RECVONLY);
	if (span_eq(name, "inactive"))
		return set_dir(ps, SDP_INACTIVE);
	if (!has_value)
		v = (struct span){name.p + name.n, 0};
	return ps->m ? media_attr(ps, name, v, whole) : session_attr(ps, name, v);
}

/* Applies a=rtcp-fb:* to every codec of the finished m-line. */
static void end_media(struct parser *ps)
{
	struct sdp_media *m = ps->m;
	if (!m)
		return;
	for (int i = 0; i < m->ncodecs; i++) {
		struct sdp_codec *c = &m->codecs[i];
		c->fb_nack |= ps->star.fb_nack;
		c->fb_pli |= ps->star.fb_pli;
		c->fb_fir |= ps->star.fb_fir;
		c->fb_remb |= ps->star.fb_remb;
		c->fb_twcc |= ps->star.fb_twcc;
	}
}

static bool proto_is_rtp(const char *proto)
{
	return strstr(proto, "RTP/") != NULL;
}

static int parse_fmts(struct parser *ps, struct sdp_media *m, struct span v)
{
	struct span t;
	unsigned long long pt;
	while (next_tok(&v, &t)) {
		int r = num_or_fail(ps, t, 127, "payload type", &pt);
		if (r)
			return r;
		if (find_codec(m, (int)pt))
			return fail(ps, -EINVAL, "duplicate payload type %llu in m-line %d", pt,
			            ps->s->nmedia - 1);
		if (m->ncodecs == SDP_MAX_CODECS)
			return fail(ps, -E2BIG, "too many payload types in m-line %d (max %d)",
			            ps->s->nmedia - 1, SDP_MAX_CODECS);
		m->codecs[m->ncodecs++].pt = (int)pt;
	}
	return 0;
}

/* RFC 8866 5.14: "m=<media> <port>[/<number of ports>] <proto> <fmt> ...". */
static int parse_m(struct parser *ps, struct span v)
{
	struct sdp_session *s = ps->s;
	struct span media, port, proto, fmt0, pnum;
	unsigned long long n;
	end_media(ps);
	if (s->nmedia == SDP_MAX_MEDIA)
		return fail(ps, -E2BIG, "too many m-lines (max %d)", SDP_MAX_MEDIA);
	struct sdp_media *m = &s->media[s->nmedia++];
	ps->m = m;
	ps->dir_set = false;
	ps->sim_seen = false;
	memset(&ps->star, 0, sizeof(ps->star));
	m->dir = ps->sess_dir;
	if (!next_tok(&v, &media) || !next_tok(&v, &port) || !next_tok(&v, &proto))
		return fail(ps, -EINVAL, "malformed m= line");
	struct span fmts = v;
	if (!next_tok(&v, &fmt0))
		return fail(ps, -EINVAL, "m= line without formats");
	int r = copy_tok(ps, m->media, sizeof(m->media), media, "media type");
	if (!r)
		r = copy_tok(ps, m->proto, sizeof(m->proto), proto, "m= line protocol");
	if (!r)
		r = copy_tok(ps, m->fmt0, sizeof(m->fmt0), fmt0, "m= line format");
	split_at(&port, '/', &pnum);
	if (!r)
		r = num_or_fail(ps, pnum, 65535, "m= line port", &n);
	if (r)
		return r;
	m->port = (int)n;
	m->kind = strcmp(m->media, "audio") == 0         ? SDP_AUDIO
	          : strcmp(m->media, "video") == 0       ? SDP_VIDEO
	          : strcmp(m->media, "application") == 0 ? SDP_APPLICATION
	                                                 : SDP_OTHER;
	return proto_is_rtp(m->proto) ? parse_fmts(ps, m, fmts) : 0;
}

static int parse_line(struct parser *ps, struct span l)
{
	if (l.n == 0)
		return 0; /* tolerated: a blank line, e.g. a trailing one */
	if (l.n < 2 || l.p[1] != '=' || l.p[0] < 'a' || l.p[0] > 'z')
		return fail(ps, -EINVAL, "expected <type>=<value>");
	struct span v = {l.p + 2, l.n - 2};
	if (!ps->seen_v) {
		if (l.p[0] != 'v' || !span_eq(v, "0"))
			return fail(ps, -EINVAL, "an SDP must start with v=0");
		ps->seen_v = true;
		return 0;
	}
	if (l.p[0] == 'm')
		return parse_m(ps, v);
	if (l.p[0] == 'a')
		return parse_attr(ps, v);
	return 0;
}

/* Rejects NUL and control bytes (TAB is allowed in free text). */
static int check_bytes(struct parser *ps, struct span l)
{
	for (size_t i = 0; i < l.n; i++) {
		unsigned char c = (unsigned char)l.p[i];
		if (c == 0)
			return fail(ps, -EINVAL, "NUL byte in SDP");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(ps, -EINVAL, "control character 0x%02x in SDP", c);
	}
	return 0;
}

/* Whole-offer rules: unique mids (RFC 8843 7.2.1), BUNDLE mids name m-lines. */
static int check_session(struct parser *ps)
{
	struct sdp_session *s = ps->s;
	ps->line = 0;
	if (!ps->seen_v)
		return fail(ps, -EINVAL, "empty SDP");
	if (s->nmedia == 0)
		return fail(ps, -EINVAL, "SDP has no m= line");
	for (int i = 0; i < s->nmedia; i++)
		for (int j = 0; j < i && s->media[i].mid[0]; j++)
			if (strcmp(s->media[i].mid, s->media[j].mid) == 0)
				return fail(ps, -EINVAL, "duplicate mid '%s'", s->media[i].mid);
	for (int b = 0; b < s->nbundle; b++) {
		int found = 0;
		for (int i = 0; i < s->nmedia; i++)
			found += strcmp(s->bundle[b], s->media[i].mid) == 0;
		if (!found)
			return fail(ps, -EINVAL, "BUNDLE group names unknown mid '%s'",
			            s->bundle[b]);
		for (int j = 0; j < b; j++)
			if (strcmp(s->bundle[b], s->bundle[j]) == 0)
				return fail(ps, -EINVAL, "mid '%s' twice in BUNDLE group",
				            s->bundle[b]);
	}
	return 0;
}

int sdp_parse(const char *text, size_t len, struct sdp_session *out, char *err, size_t errlen)
{
	struct parser ps = {.s = out, .err = err, .errlen = errlen, .sess_dir = SDP_SENDRECV};
	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!text && len)
		return fail(&ps, -EINVAL, "no SDP text");
	if (len > SDP_MAX_SIZE)
		return fail(&ps, -E2BIG, "SDP too large (%zu bytes, max %d)", len, SDP_MAX_SIZE);
	size_t off = 0;
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - text) : len;
		struct span l = {text + off, end - off};
		off = nl ? end + 1 : len;
		if (l.n > 0 && l.p[l.n - 1] == '\r')
			l.n--;
		if (++ps.line > SDP_MAX_LINES)
			return fail(&ps, -E2BIG, "too many lines (max %d)", SDP_MAX_LINES);
		int r = check_bytes(&ps, l);
		if (!r)
			r = parse_line(&ps, l);
		if (r)
			return r;
	}
	end_media(&ps);
	return check_session(&ps);
}
