/*
 * test_sdp_stacks.c - unit tests for src/sdp with simulcast offers and offers of other stacks
 * and styles (assets/sdp/README.md says where each comes from):
 * - simulcast (RFC 8851 a=rid, RFC 8853 a=simulcast, RFC 8852 rid header extensions): the
 *   captured Chromium and hand-written Firefox offers parsed, negotiated on the camera m-line
 *   only under the policy's conditions, answered a=rid recv / a=simulcast:recv; malformed
 *   rid and simulcast lines;
 * - RFC 9429 (JSEP) orders and styles: libwebrtc (@roamhq/wrtc) captures (video before audio,
 *   two video m-lines, stopped and recycled m-lines, recvonly), GStreamer webrtcbin captures
 *   (max-bundle with bundle-only m-lines), Pion, and hand-written Safari and Firefox offers;
 *   extmap-allow-mixed, RED first, a data channel first, upper-case attribute values;
 * - offers without BUNDLE (webrtcbin's default bundle-policy "none" and a hand-written one in
 *   libwebrtc's layout): one transport per accepted m-line, each with its own credentials in
 *   the negotiation and the answer, no transport-cc, the errors naming the m-line.
 * The generic per-offer checks of every asset are in test_sdp.c. Single-threaded.
 */
#include "sdp_test_util.h"

/* ---- simulcast (RFC 8851 rids, RFC 8853 a=simulcast, RFC 8852 header extensions) ---- */

#define MID_URI      "urn:ietf:params:rtp-hdrext:sdes:mid"
#define RID_URI      "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define RRID_URI     "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#define CHROMIUM_SIM "a=simulcast:send q;h;f"

static const struct sdp_policy sim_policy = {.h264 = true, .rtx = true, .simulcast = true};

static void negotiate_ok(const struct sdp_session *o, const struct sdp_policy *pol,
                         struct sdp_negotiated *neg)
{
	char err[256] = "";
	int r = sdp_negotiate(o, pol, neg, err, sizeof(err));
	if (r)
		fail_msg("sdp_negotiate: %d %s", r, err);
}

/* The camera's negotiated rids for text under pol (-1: it has no camera). */
static int camera_rids(const char *text, const struct sdp_policy *pol, struct sdp_negotiated *neg)
{
	struct sdp_session *o = parse_ok(text);
	negotiate_ok(o, pol, neg);
	free(o);
	return neg->video_index < 0 ? -1 : neg->media[neg->video_index].nrids;
}

/* The Chromium simulcast offer with from replaced by to (from must occur). */
static char *chromium_sim_with(const char *from, const char *to)
{
	char *text = read_asset("chromium-simulcast.sdp");
	if (!strstr(text, from))
		fail_msg("'%s' not in chromium-simulcast.sdp", from);
	char *out = replace_all(text, from, to);
	free(text);
	return out;
}

static void test_parse_simulcast_offers(void **state)
{
	struct sdp_session *s = parse_asset("chromium-simulcast.sdp");
	assert_int_equal(s->nmedia, 2);
	const struct sdp_media *a = &s->media[0], *v = &s->media[1];
	assert_int_equal(a->nrids, 0);
	assert_int_equal(a->nsim_send, 0);
	assert_int_equal(v->nrids, 3);
	static const char *const qhf[] = {"q", "h", "f"};
	for (int i = 0; i < 3; i++) {
		assert_string_equal(v->rids[i].id, qhf[i]);
		assert_int_equal(v->rids[i].dir, SDP_SENDONLY);
		assert_int_equal(v->rids[i].max_w, 0);
		assert_int_equal(v->rids[i].max_h, 0);
		assert_string_equal(v->sim_send[i].id, qhf[i]);
		assert_false(v->sim_send[i].paused);
	}
	assert_int_equal(v->nsim_send, 3);
	assert_int_equal(v->nssrcs, 0); /* Chromium lists no SSRCs with rids */
	assert_int_equal(ext_id(v, MID_URI), 4);
	assert_int_equal(ext_id(v, RID_URI), 10);
	assert_int_equal(ext_id(v, RRID_URI), 11);
	assert_int_equal(v->ncodecs, 23);
	assert_non_null(codec_named(v, "H264"));
	assert_non_null(codec_named(v, "ulpfec"));
	free(s);

	s = parse_asset("firefox-simulcast.sdp");
	v = &s->media[1];
	static const char *const hml[] = {"h", "m", "l"};
	assert_int_equal(v->nrids, 3);
	assert_int_equal(v->nsim_send, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(v->rids[i].id, hml[i]);
		assert_int_equal(v->rids[i].dir, SDP_SENDONLY);
		assert_string_equal(v->sim_send[i].id, hml[i]);
	}
	assert_int_equal(ext_id(v, RID_URI), 8); /* "a=extmap:8/sendonly" */
	assert_int_equal(ext_id(v, RRID_URI), 9);
	assert_int_equal(v->nssrcs, 6); /* three layers and their RTX */
	free(s);
}

static void test_parse_rid_and_simulcast_forms(void **state)
{
	/* restrictions: max-width / max-height kept, the rest ignored, a bad number is 0 */
	char *t =
	    chromium_sim_with("a=rid:q send", "a=rid:q send pt=96,97;max-width=320;max-height=180");
	char *t2 =
	    replace_all(t, "a=rid:f send", "a=rid:f recv max-fps=30;max-width=12x;max-height");
	struct sdp_session *s = parse_ok(t2);
	const struct sdp_media *v = &s->media[1];
	assert_int_equal(v->rids[0].max_w, 320);
	assert_int_equal(v->rids[0].max_h, 180);
	assert_int_equal(v->rids[2].dir, SDP_RECVONLY);
	assert_int_equal(v->rids[2].max_w, 0);
	assert_int_equal(v->rids[2].max_h, 0);
	free(s);
	free(t2);
	free(t);
	/* recv part first, alternatives, a paused stream */
	t = chromium_sim_with(CHROMIUM_SIM, "a=simulcast:recv r1;r2 send q,x;~h;f");
	s = parse_ok(t);
	v = &s->media[1];
	assert_int_equal(v->nsim_send, 3);
	assert_string_equal(v->sim_send[0].id, "q");
	assert_string_equal(v->sim_send[1].id, "h");
	assert_true(v->sim_send[1].paused);
	assert_false(v->sim_send[0].paused || v->sim_send[2].paused);
	free(s);
	free(t);
	/* the draft-03 form older Firefox wrote, with its paused= list; and a space after ':' */
	static const char *const forms[] = {"a=simulcast: send rid=q;h;f paused=h",
	                                    "a=simulcast: send q;h;f",
	                                    "a=simulcast:send q;h;f recv x"};
	for (int i = 0; i < 3; i++) {
		t = chromium_sim_with(CHROMIUM_SIM, forms[i]);
		s = parse_ok(t);
		v = &s->media[1];
		assert_int_equal(v->nsim_send, 3);
		assert_string_equal(v->sim_send[2].id, "f");
		assert_int_equal(v->sim_send[1].paused, i == 0);
		free(s);
		struct sdp_negotiated neg;
		assert_int_equal(camera_rids(t, &sim_policy, &neg), 3);
		free(t);
	}
	/* a draft-03 payload type list names no rids */
	t = chromium_sim_with(CHROMIUM_SIM, "a=simulcast: send pt=96;97");
	s = parse_ok(t);
	assert_int_equal(s->media[1].nsim_send, 0);
	free(s);
	free(t);
}

static void test_negotiate_simulcast(void **state)
{
	struct sdp_session *o = parse_asset("chromium-simulcast.sdp");
	struct sdp_negotiated neg;
	negotiate_ok(o, &sim_policy, &neg);
	assert_int_equal(neg.video_index, 1);
	const struct sdp_neg_media *v = &neg.media[1], *a = &neg.media[0];
	assert_int_equal(v->vcodec, SDP_VCODEC_VP8);
	assert_int_equal(v->pt, 96);
	assert_int_equal(v->nrids, 3);
	assert_string_equal(v->rids[0], "q");
	assert_string_equal(v->rids[1], "h");
	assert_string_equal(v->rids[2], "f");
	assert_int_equal(v->ext_mid, 4);
	assert_int_equal(v->ext_rid, 10);
	assert_int_equal(v->ext_rrid, 11);
	assert_int_equal(v->rtx_pt, 97);
	assert_int_equal(a->ext_mid, 4);
	assert_int_equal(a->ext_rid, 0);
	assert_int_equal(a->nrids, 0);
	/* off by the policy, or no policy: no simulcast, the extension ids stay */
	struct sdp_policy off = sim_policy;
	off.simulcast = false;
	negotiate_ok(o, &off, &neg);
	assert_int_equal(neg.media[1].nrids, 0);
	assert_int_equal(neg.media[1].ext_rid, 10);
	negotiate_ok(o, NULL, &neg);
	assert_int_equal(neg.media[1].nrids, 0);
	/* H.264 preferred: no simulcast (its keyframe sizes are not read yet) */
	struct sdp_policy h264 = sim_policy;
	h264.prefer_set = true;
	h264.prefer = SDP_VCODEC_H264;
	negotiate_ok(o, &h264, &neg);
	assert_int_equal(neg.media[1].vcodec, SDP_VCODEC_H264);
	assert_int_equal(neg.media[1].nrids, 0);
	free(o);

	o = parse_asset("firefox-simulcast.sdp");
	negotiate_ok(o, &sim_policy, &neg);
	v = &neg.media[1];
	assert_int_equal(v->nrids, 3);
	assert_string_equal(v->rids[0], "h");
	assert_string_equal(v->rids[2], "l");
	assert_int_equal(v->ext_mid, 3);
	assert_int_equal(v->ext_rid, 8);
	assert_int_equal(v->ext_rrid, 9);
	free(o);
}

/* Offers that must not get simulcast, and ones that still do. */
static void test_negotiate_simulcast_conditions(void **state)
{
	struct sdp_negotiated neg;
	char *text = read_asset("chromium-simulcast.sdp");
	assert_int_equal(camera_rids(text, &sim_policy, &neg), 3);
	char *t = drop_lines(text, "a=extmap:10 "); /* no rtp-stream-id extension */
	assert_int_equal(camera_rids(t, &sim_policy, &neg), 0);
	assert_int_equal(neg.media[1].ext_rid, 0);
	assert_int_equal(neg.media[1].ext_rrid, 11);
	free(t);
	t = drop_lines(text, "a=rid:h "); /* a stream without its a=rid */
	assert_int_equal(camera_rids(t, &sim_policy, &neg), 0);
	free(t);
	t = replace_all(text, "a=rid:h send",
	                "a=rid:h recv"); /* its a=rid in the other direction */
	assert_int_equal(camera_rids(t, &sim_policy, &neg), 0);
	free(t);
	t = replace_all(text, CHROMIUM_SIM, "a=simulcast:send q"); /* one stream */
	assert_int_equal(camera_rids(t, &sim_policy, &neg), 0);
	free(t);
	t = drop_lines(text, "a=simulcast:"); /* rids without a=simulcast */
	assert_int_equal(camera_rids(t, &sim_policy, &neg), 0);
	free(t);
	t = replace_all(text, "a=sendrecv", "a=recvonly"); /* the client does not send */
	assert_int_equal(camera_rids(t, &sim_policy, &neg), 0);
	free(t);
	t = replace_all(text, CHROMIUM_SIM, "a=simulcast:send f;~h;q"); /* its order, paused too */
	assert_int_equal(camera_rids(t, &sim_policy, &neg), 3);
	assert_string_equal(neg.media[1].rids[0], "f");
	assert_string_equal(neg.media[1].rids[1], "h");
	assert_string_equal(neg.media[1].rids[2], "q");
	free(t);
	t = replace_all(text, CHROMIUM_SIM, "a=simulcast:send h;f"); /* a subset of the rids */
	assert_int_equal(camera_rids(t, &sim_policy, &neg), 2);
	free(t);
	/* the screen m-line (a second video m-line named by the policy) never takes simulcast */
	char *two = replace_all(text, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2");
	const char *vstart = strstr(two, "m=video");
	char *screen = replace_all(vstart, "a=mid:1", "a=mid:2");
	char *all = calloc(1, strlen(two) + strlen(screen) + 1);
	strcpy(all, two);
	strcat(all, screen);
	struct sdp_policy pol = sim_policy;
	strcpy(pol.screen_mid, "2");
	assert_int_equal(camera_rids(all, &pol, &neg), 3);
	assert_int_equal(neg.screen_index, 2);
	assert_int_equal(neg.media[2].nrids, 0);
	assert_int_equal(neg.media[2].ext_rid, 10);
	free(all);
	free(screen);
	free(two);
	free(text);
}

static char *answer_with(const struct sdp_session *o, const struct sdp_policy *pol,
                         struct sdp_negotiated *neg)
{
	negotiate_ok(o, pol, neg);
	struct sdp_answer_params p = our_params();
	char *out = malloc(16384);
	assert_non_null(out);
	int r = sdp_write_answer(o, neg, &p, out, 16384);
	assert_true(r > 0);
	return out;
}

static void test_answer_simulcast(void **state)
{
	struct sdp_session *o = parse_asset("chromium-simulcast.sdp");
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &sim_policy, &neg);
	const char *video = strstr(ans, "m=video");
	assert_non_null(video);
	assert_non_null(strstr(video, "a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\n"
	                              "a=simulcast:recv q;h;f\r\n"));
	assert_non_null(strstr(video, "a=extmap:4 " MID_URI "\r\n"));
	assert_non_null(strstr(video, "a=extmap:10 " RID_URI "\r\n"));
	assert_non_null(strstr(video, "a=extmap:11 " RRID_URI "\r\n"));
	struct sdp_session *a = parse_ok(ans);
	const struct sdp_media *av = &a->media[1], *aa = &a->media[0];
	assert_int_equal(av->nrids, 3);
	assert_string_equal(av->rids[1].id, "h");
	assert_int_equal(av->rids[1].dir, SDP_RECVONLY);
	assert_int_equal(av->nsim_send, 0); /* recv only */
	assert_int_equal(ext_id(av, MID_URI), 4);
	assert_int_equal(ext_id(av, RID_URI), 10);
	assert_int_equal(ext_id(av, RRID_URI), 11);
	assert_int_equal(ext_id(aa, MID_URI), 4);
	assert_int_equal(ext_id(aa, RID_URI), 0);
	assert_int_equal(aa->nrids, 0);
	free(a);
	free(ans);
	/* simulcast off: the extensions, but no a=rid or a=simulcast */
	struct sdp_policy off = sim_policy;
	off.simulcast = false;
	ans = answer_with(o, &off, &neg);
	assert_null(strstr(ans, "a=rid:"));
	assert_null(strstr(ans, "a=simulcast"));
	assert_non_null(strstr(ans, "a=extmap:10 " RID_URI "\r\n"));
	free(ans);
	/* a negotiated result that is not ours: rids that would break the SDP are refused */
	negotiate_ok(o, &sim_policy, &neg);
	struct sdp_answer_params p = our_params();
	char out[16384];
	strcpy(neg.media[1].rids[1], "h\r\na=x");
	assert_int_equal(sdp_write_answer(o, &neg, &p, out, sizeof(out)), -EINVAL);
	negotiate_ok(o, &sim_policy, &neg);
	neg.media[1].nrids = SDP_MAX_RIDS + 1;
	assert_int_equal(sdp_write_answer(o, &neg, &p, out, sizeof(out)), -EINVAL);
	negotiate_ok(o, &sim_policy, &neg);
	memset(neg.media[1].rids[0], 'a', sizeof(neg.media[1].rids[0])); /* unterminated */
	assert_int_equal(sdp_write_answer(o, &neg, &p, out, sizeof(out)), -EINVAL);
	free(o);
	/* a paused offered stream is answered without its "~" */
	char *t = chromium_sim_with(CHROMIUM_SIM, "a=simulcast:send q;~h;f");
	o = parse_ok(t);
	ans = answer_with(o, &sim_policy, &neg);
	assert_non_null(strstr(ans, "a=simulcast:recv q;h;f\r\n"));
	free(ans);
	free(o);
	free(t);
	/* Firefox: its ids */
	o = parse_asset("firefox-simulcast.sdp");
	ans = answer_with(o, &sim_policy, &neg);
	assert_non_null(strstr(ans, "a=extmap:8 " RID_URI "\r\n"));
	assert_non_null(strstr(ans, "a=extmap:9 " RRID_URI "\r\n"));
	assert_non_null(strstr(ans, "a=simulcast:recv h;m;l\r\n"));
	a = parse_ok(ans);
	assert_int_equal(a->media[1].nrids, 3);
	free(a);
	free(ans);
	free(o);
}

/* Expects the Chromium simulcast offer, with CHROMIUM_SIM replaced by sim, to parse with
 * nsim_send streams on the video m-line. */
static void sim_line_gives(const char *sim, int nsim_send)
{
	char *t = chromium_sim_with(CHROMIUM_SIM, sim);
	struct sdp_session *s = parse_ok(t);
	if (s->media[1].nsim_send != nsim_send)
		fail_msg("'%s': %d streams, want %d", sim, s->media[1].nsim_send, nsim_send);
	struct sdp_negotiated neg;
	negotiate_ok(s, &sim_policy, &neg);
	assert_int_equal(neg.media[1].nrids, nsim_send >= 2 ? nsim_send : 0);
	free(s);
	free(t);
}

static void sim_fails(const char *from, const char *to, int code, const char *what)
{
	char *t = chromium_sim_with(from, to);
	parse_fails(t, strlen(t), code, what);
	free(t);
}

static void test_simulcast_hostile(void **state)
{
	/* unreadable a=simulcast lines are skipped: the offer parses, without simulcast */
	static const char *const skipped[] = {
	    "a=simulcast:",
	    "a=simulcast:send",
	    "a=simulcast:send ;;;",
	    "a=simulcast:send ~",
	    "a=simulcast:send ~;~",
	    "a=simulcast:send q;;f",
	    "a=simulcast:send q;h;",
	    "a=simulcast:send ;q",
	    "a=simulcast:send q,;h",
	    "a=simulcast:send q h",
	    "a=simulcast:sendq;h",
	    "a=simulcast:foo q;h",
	    "a=simulcast:send q;h send f",
	    "a=simulcast:send q;h recv",
	    "a=simulcast:send ~~q;h",
	    "a=simulcast:send q;h.x",
	    "a=simulcast:send q;h recv ;",
	    "a=simulcast:send rid=",
	    "a=simulcast:send q;qqqqqqqqqqqqqqqqq", /* an id of 17 bytes */
	};
	for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++)
		sim_line_gives(skipped[i], 0);
	sim_line_gives("a=simulcast:send q;h", 2);
	sim_line_gives("a=simulcast:send ~q;~h;~f", 3);
	/* ids: 16 bytes are kept, 17 or other characters skip the a=rid (no simulcast then) */
	char *t = chromium_sim_with("a=rid:q send", "a=rid:q_-0123456789ABC send");
	char *t2 = replace_all(t, CHROMIUM_SIM, "a=simulcast:send q_-0123456789ABC;h;f");
	struct sdp_negotiated neg;
	assert_int_equal(camera_rids(t2, &sim_policy, &neg), 3);
	assert_string_equal(neg.media[1].rids[0], "q_-0123456789ABC");
	free(t2);
	free(t);
	static const char *const bad_rids[] = {"a=rid:qqqqqqqqqqqqqqqqq send",
	                                       "a=rid:q.x send",
	                                       "a=rid:q~ send",
	                                       "a=rid: send",
	                                       "a=rid:q",
	                                       "a=rid:q sendrecv",
	                                       "a=rid:q SEND"};
	for (size_t i = 0; i < sizeof(bad_rids) / sizeof(bad_rids[0]); i++) {
		t = chromium_sim_with("a=rid:q send", bad_rids[i]);
		struct sdp_session *s = parse_ok(t);
		assert_int_equal(s->media[1].nrids, 2);
		assert_string_equal(s->media[1].rids[0].id, "h");
		free(s);
		assert_int_equal(camera_rids(t, &sim_policy, &neg), 0); /* q has no a=rid now */
		free(t);
	}
	/* errors: duplicates, a second a=simulcast (even after a skipped one), caps */
	sim_fails("a=rid:h send", "a=rid:h send\r\na=rid:h recv", -EINVAL, "duplicate a=rid 'h'");
	sim_fails(CHROMIUM_SIM, "a=simulcast:send q;h;f\r\na=simulcast:send q;h", -EINVAL,
	          "more than one a=simulcast");
	sim_fails(CHROMIUM_SIM, "a=simulcast:send ;;;\r\na=simulcast:send q;h", -EINVAL,
	          "more than one a=simulcast");
	sim_fails(CHROMIUM_SIM, "a=simulcast:send q;h;~q", -EINVAL, "lists 'q' twice");
	sim_fails(CHROMIUM_SIM, "a=simulcast:send a;b;c;d;e", -E2BIG,
	          "too many a=simulcast streams in m-line 1 (max 4)");
	sim_fails("a=rid:f send", "a=rid:f send\r\na=rid:g send\r\na=rid:i send", -E2BIG,
	          "too many a=rid in m-line 1 (max 4)");
	/* a second a=simulcast in another m-line is fine */
	t = chromium_sim_with("a=mid:0\r\n", "a=mid:0\r\na=simulcast:send a;b\r\n");
	struct sdp_session *s = parse_ok(t);
	assert_int_equal(s->media[0].nsim_send, 2);
	assert_int_equal(s->media[1].nsim_send, 3);
	free(s);
	free(t);
	/* very long lists: a recv list is not kept, so not capped; a long alternative list */
	size_t cap = 40000;
	char *sim = malloc(cap), *p = sim;
	p += sprintf(p, "a=simulcast:send q;h;f recv ");
	for (int i = 0; i < 3000; i++)
		p += sprintf(p, "%sr%d", i ? ";" : "", i);
	sim_line_gives(sim, 3);
	p = sim + sprintf(sim, "a=simulcast:send q");
	for (int i = 0; i < 3000; i++)
		p += sprintf(p, ",x%d", i);
	strcpy(p, ";h;f");
	sim_line_gives(sim, 3);
	p = sim + sprintf(sim, "a=simulcast:send ");
	for (int i = 0; i < 30000; i++)
		*p++ = i % 2 ? ';' : '~';
	*p = '\0';
	sim_line_gives(sim, 0);
	free(sim);
	/* restrictions: huge numbers are 0, an empty list is fine */
	t = chromium_sim_with("a=rid:q send", "a=rid:q send max-width=99999999999;;;=;max-height=");
	s = parse_ok(t);
	assert_int_equal(s->media[1].rids[0].max_w, 0);
	assert_int_equal(s->media[1].rids[0].max_h, 0);
	free(s);
	free(t);
}

/* ---- offers from other stacks and in other orders (RFC 9429 JSEP; assets/sdp/README.md) ---- */

#define TOFFSET "urn:ietf:params:rtp-hdrext:toffset"

static const struct sdp_policy rtx_policy = {.rtx = true, .transport_cc = true};

/* The m-line of the answer text that starts with "m=<what>" and has a=mid:<mid>: the text from
 * its m= line up to the next m= line (malloc'd), or fails. */
static char *answer_section(const char *ans, const char *mid)
{
	char want[64];
	snprintf(want, sizeof(want), "a=mid:%s\r\n", mid);
	for (const char *m = strstr(ans, "\r\nm="); m; m = strstr(m + 2, "\r\nm=")) {
		const char *end = strstr(m + 2, "\r\nm=");
		size_t n = end ? (size_t)(end - m) : strlen(m);
		char *sec = calloc(1, n + 1);
		assert_non_null(sec);
		memcpy(sec, m + 2, n - 2 + (end ? 2 : 0));
		if (strstr(sec, want))
			return sec;
		free(sec);
	}
	fail_msg("no m-line with mid %s in the answer", mid);
	return NULL;
}

/* libwebrtc (wrtc) with the video track added before the audio one: video is m-line 0. */
static void test_video_before_audio(void **state)
{
	struct sdp_session *o = parse_asset("wrtc-video-first.sdp");
	assert_int_equal(o->nmedia, 2);
	assert_int_equal(o->media[0].kind, SDP_VIDEO);
	assert_int_equal(o->media[1].kind, SDP_AUDIO);
	assert_string_equal(o->bundle[0], "0");
	struct sdp_negotiated neg;
	negotiate_ok(o, &rtx_policy, &neg);
	assert_int_equal(neg.video_index, 0);
	assert_int_equal(neg.audio_index, 1);
	const struct sdp_neg_media *v = &neg.media[0], *a = &neg.media[1];
	assert_true(v->accepted && a->accepted);
	assert_int_equal(v->dir, SDP_SENDRECV);
	assert_int_equal(v->pt, 96);
	assert_int_equal(v->vcodec, SDP_VCODEC_VP8);
	assert_int_equal(v->rtx_pt, 97);
	assert_int_equal(v->ext_abs_send_time, 2);
	assert_int_equal(v->ext_twcc, 4);
	assert_int_equal(v->ext_mid, 9);
	assert_int_equal(v->ext_rid, 10);
	assert_int_equal(v->nssrcs, 2); /* the video SSRC and its RTX */
	assert_int_equal(a->pt, 111);
	assert_int_equal(a->ext_audio_level, 14); /* the last one-byte id */
	assert_int_equal(a->ext_mid, 9);
	assert_int_equal(a->ext_twcc, 0); /* video only */
	assert_int_equal(a->rtx_pt, -1);
	assert_string_equal(neg.ice_ufrag, "5gxC"); /* the BUNDLE tag is the video m-line */
	struct sdp_policy pol = rtx_policy;
	pol.h264 = true; /* this libwebrtc build offers no H.264: VP8 */
	negotiate_ok(o, &pol, &neg);
	assert_int_equal(neg.media[0].pt, 96);
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_non_null(strstr(ans, "a=group:BUNDLE 0 1\r\n"));
	const char *mv = strstr(ans, "m=video"), *ma = strstr(ans, "m=audio");
	assert_true(mv && ma && mv < ma); /* the offer's order */
	assert_non_null(strstr(ans, "m=video 40000 UDP/TLS/RTP/SAVPF 96 97\r\n"));
	assert_non_null(strstr(ans, "a=extmap:14 " AUDIO_LEVEL "\r\n"));
	assert_null(strstr(ans, TOFFSET));
	assert_null(strstr(ans, "extmap-allow-mixed")); /* one-byte headers only (RFC 8285 6) */
	struct sdp_session *a2 = parse_ok(ans);
	assert_int_equal(a2->media[0].kind, SDP_VIDEO);
	assert_int_equal(a2->media[0].ncandidates, 1); /* the tagged m-line */
	assert_int_equal(a2->media[1].ncandidates, 0);
	free(a2);
	free(ans);
	free(o);
	/* the same order from a max-bundle libwebrtc: no bundle-only (libwebrtc writes none), the
	 * audio m-line has port 9 and no candidates */
	o = parse_asset("wrtc-max-bundle-video-first.sdp");
	assert_false(o->media[1].bundle_only);
	assert_int_equal(o->media[1].port, 9);
	negotiate_ok(o, NULL, &neg);
	assert_int_equal(neg.video_index, 0);
	assert_int_equal(neg.audio_index, 1);
	assert_string_equal(neg.ice_ufrag, "/N81");
	free(o);
}

/* Two video and one audio transceivers: the second video is not our camera; rejected unless
 * the policy names it as the screen. */
static void test_two_video_mlines(void **state)
{
	struct sdp_session *o = parse_asset("wrtc-two-video.sdp");
	assert_int_equal(o->nmedia, 3);
	assert_int_equal(o->nbundle, 3);
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_int_equal(neg.audio_index, 0);
	assert_int_equal(neg.video_index, 1);
	assert_int_equal(neg.screen_index, -1);
	assert_false(neg.media[2].accepted);
	assert_int_equal(neg.media[2].kind, SDP_VIDEO);
	assert_int_equal(neg.media[1].rtx_pt, 97);
	assert_int_equal(neg.media[1].ext_mid, 4);
	assert_non_null(strstr(ans, "a=group:BUNDLE 0 1\r\n"));
	char *m2 = answer_section(ans, "2");
	assert_string_equal(
	    m2, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n" REJ_TRANSPORT "a=mid:2\r\n"
	        "a=inactive\r\n");
	free(m2);
	free(ans);
	/* named as the screen: received (recvonly) with the camera's codec, in the BUNDLE */
	struct sdp_policy pol = rtx_policy;
	strcpy(pol.screen_mid, "2");
	ans = answer_with(o, &pol, &neg);
	assert_int_equal(neg.screen_index, 2);
	assert_int_equal(neg.media[2].dir, SDP_RECVONLY);
	assert_int_equal(neg.media[2].pt, 96);
	assert_int_equal(neg.media[2].nssrcs, 2);
	assert_non_null(strstr(ans, "a=group:BUNDLE 0 1 2\r\n"));
	m2 = answer_section(ans, "2");
	assert_non_null(strstr(m2, "a=recvonly\r\n"));
	assert_null(strstr(m2, "a=ssrc:"));
	free(m2);
	free(ans);
	/* naming the first video as the screen: the second one becomes the camera */
	strcpy(pol.screen_mid, "1");
	negotiate_ok(o, &pol, &neg);
	assert_int_equal(neg.video_index, 2);
	assert_int_equal(neg.screen_index, 1);
	assert_int_equal(neg.media[2].dir, SDP_SENDRECV);
	free(o);
}

/* A libwebrtc re-offer after transceiver.stop() on the video: its m-line has port 0, no
 * bundle-only and left the BUNDLE group; the data channel m-line stays. */
static void test_stopped_transceiver_reoffer(void **state)
{
	struct sdp_session *o = parse_asset("wrtc-stopped-reoffer.sdp");
	assert_int_equal(o->nmedia, 3);
	assert_int_equal(o->media[1].port, 0);
	assert_false(o->media[1].bundle_only);
	assert_int_equal(o->media[1].dir, SDP_INACTIVE);
	assert_int_equal(o->nbundle, 2);
	assert_string_equal(o->bundle[1], "2");
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_int_equal(neg.audio_index, 0);
	assert_int_equal(neg.video_index, -1);
	assert_int_equal(neg.video_refused_index, -1); /* stopped, not refused for its codecs */
	assert_false(neg.media[1].accepted);
	assert_false(neg.media[2].accepted);
	assert_non_null(strstr(ans, "a=group:BUNDLE 0\r\n"));
	char *m = answer_section(ans, "1");
	assert_string_equal(
	    m, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n" REJ_TRANSPORT "a=mid:1\r\n"
	       "a=inactive\r\n");
	free(m);
	m = answer_section(ans, "2");
	assert_non_null(strstr(m, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
	free(m);
	free(ans);
	free(o);
}

/* libwebrtc recvonly transceivers, no tracks: we send on both, the peer listed no SSRCs. */
static void test_wrtc_recvonly(void **state)
{
	struct sdp_session *o = parse_asset("wrtc-recvonly.sdp");
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	for (int i = 0; i < 2; i++) {
		assert_true(neg.media[i].accepted);
		assert_int_equal(neg.media[i].dir, SDP_SENDONLY);
		assert_int_equal(neg.media[i].nssrcs, 0);
	}
	assert_int_equal(neg.media[1].pt, 96);
	assert_int_equal(neg.media[1].rtx_pt, 97);
	assert_non_null(strstr(ans, "a=ssrc:1111 cname:mcu\r\n"));
	assert_non_null(strstr(ans, "a=ssrc:2222 cname:mcu\r\n"));
	assert_null(strstr(ans, "extmap-allow-mixed"));
	free(ans);
	free(o);
}

/* GStreamer webrtcbin, bundle-policy max-bundle: the audio m-line is bundle-only (port 0,
 * a=bundle-only, RFC 8843 6) with its own ICE/DTLS lines, "OPUS" in upper case, mids
 * "video0"/"audio1", rtcp-mux-only, feedback "nack pli" without plain nack, no RTX. */
static void test_webrtcbin_max_bundle(void **state)
{
	struct sdp_session *o = parse_asset("webrtcbin-max-bundle.sdp");
	assert_int_equal(o->nmedia, 2);
	assert_string_equal(o->bundle[0], "video0");
	assert_string_equal(o->bundle[1], "audio1");
	const struct sdp_media *ov = &o->media[0], *oa = &o->media[1];
	assert_int_equal(ov->port, 9);
	assert_int_equal(ov->ncandidates, 9);
	assert_int_equal(oa->port, 0);
	assert_true(oa->bundle_only);
	assert_true(oa->rtcp_mux);
	const struct sdp_codec *vp8 = codec_pt(ov, 96);
	assert_true(!vp8->fb_nack && vp8->fb_pli && vp8->fb_fir && vp8->fb_twcc && !vp8->fb_remb);
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_int_equal(neg.video_index, 0);
	assert_int_equal(neg.audio_index, 1);
	const struct sdp_neg_media *v = &neg.media[0], *a = &neg.media[1];
	assert_true(a->accepted); /* bundle-only is not rejected */
	assert_int_equal(a->pt, 97);
	assert_int_equal(a->clock, 48000);
	assert_int_equal(a->channels, 2);
	assert_int_equal(a->ext_audio_level, 0); /* webrtcbin offers no extensions */
	assert_int_equal(v->pt, 96);
	assert_false(v->nack);
	assert_true(v->pli && v->fir && !v->remb);
	assert_int_equal(v->rtx_pt, -1);
	assert_true(v->twcc == false); /* transport-cc feedback but no extension offered */
	assert_string_equal(neg.ice_ufrag, "Jo1MNZku2zR1/IWZ5cTFOhFRHpRkvDcz");
	assert_non_null(strstr(ans, "a=group:BUNDLE video0 audio1\r\n"));
	assert_non_null(strstr(ans, "m=audio 40000 UDP/TLS/RTP/SAVPF 97\r\n"));
	assert_non_null(strstr(ans, "a=rtpmap:97 opus/48000/2\r\n"));
	assert_null(strstr(ans, "bundle-only"));
	assert_non_null(strstr(ans, "a=rtcp-fb:96 nack pli\r\n"));
	assert_null(strstr(ans, "a=rtcp-fb:96 nack\r\n"));
	assert_null(strstr(ans, "rtx/90000"));
	free(ans);
	free(o);
	/* the tagged video refused (no VP8): the bundle-only audio alone is accepted and becomes
	 * the answer's BUNDLE tag. RFC 8843 7.3.1 would rather have no BUNDLE group (no offered
	 * m-line with a port left) and so reject the bundle-only audio too (7.3.2); we keep the
	 * audio, as webrtcbin's max-bundle uses one transport for all m-lines anyway. */
	char *text = read_asset("webrtcbin-max-bundle.sdp");
	char *t = replace_all(text, "VP8/90000", "XYZ/90000");
	o = parse_ok(t);
	ans = answer_with(o, NULL, &neg);
	assert_false(neg.media[0].accepted);
	assert_int_equal(neg.video_refused_index, 0);
	assert_int_equal(neg.audio_index, 1);
	assert_non_null(strstr(ans, "a=group:BUNDLE audio1\r\n"));
	assert_non_null(strstr(ans, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\n"));
	assert_non_null(strstr(ans, "m=audio 40000 UDP/TLS/RTP/SAVPF 97\r\n"));
	free(ans);
	free(o);
	free(t);
	free(text);
}

/* ---- offers without BUNDLE: one transport per accepted m-line ---- */

#define WB_VIDEO_UFRAG "Ez75o6YSGPo4tRbPpjJvI3sCRY2uz6jm"
#define WB_VIDEO_PWD   "qBxUcoqah38VQoEdGm1t1YY/eiRJ5/0+"
#define WB_AUDIO_UFRAG "6Shz3Kj1bJ7QjBk0ELfntEHL/VxExxJP"
#define WB_AUDIO_PWD   "ASHWDxq4Tw4xVKTDam7/p+VpKDTXVgRC"
#define WB_FP                                                                                      \
	"CD:94:14:D1:4A:D2:86:11:81:DC:6D:BD:E3:5F:48:25:46:62:B3:FD:D0:F0:13:19:CA:83:6D:AD:19:"  \
	"AA:19:57"

/* A malloc'd copy of text with the first line starting with prefix after the first occurrence
 * of section (an "m=video" line, say) dropped; both must occur. */
static char *drop_in_section(const char *text, const char *section, const char *prefix)
{
	const char *sec = strstr(text, section);
	assert_non_null(sec);
	const char *line = strstr(sec, prefix);
	assert_non_null(line);
	const char *nl = strchr(line, '\n');
	size_t skip = nl ? (size_t)(nl + 1 - line) : strlen(line);
	char *out = calloc(1, strlen(text) + 1);
	assert_non_null(out);
	memcpy(out, text, (size_t)(line - text));
	strcpy(out + (line - text), line + skip);
	return out;
}

/* Expects the negotiation of text (no BUNDLE) to fail with a message containing what. */
static void no_bundle_fails(const char *text, const char *what)
{
	struct sdp_session *o = parse_ok(text);
	struct sdp_negotiated neg;
	char err[256] = "";
	int r = sdp_negotiate(o, &rtx_policy, &neg, err, sizeof(err));
	if (r != -EINVAL || !strstr(err, what))
		fail_msg("want -EINVAL '%s', got %d '%s'", what, r, err);
	free(o);
}

/* The negotiated transport of m-line i is the offer's ufrag/pwd, fp and actpass; no twcc. */
static void own_transport(const struct sdp_negotiated *neg, int i, const char *ufrag,
                          const char *pwd, const char *fp)
{
	const struct sdp_neg_media *nm = &neg->media[i];
	assert_true(nm->accepted);
	assert_string_equal(nm->ice_ufrag, ufrag);
	assert_string_equal(nm->ice_pwd, pwd);
	assert_string_equal(nm->fp_alg, "sha-256");
	assert_string_equal(nm->fp, fp);
	assert_string_equal(nm->setup, "actpass");
	assert_false(nm->twcc);
	assert_int_equal(nm->ext_twcc, 0);
}

/* The answer's m-line with mid carries its transport: our_media_* credentials of m-line i
 * (OUR_UFRAG/OUR_PWD for i < 0: a rejected one), fingerprint, passive, rtcp-mux. */
static void answer_transport(const char *ans, const char *mid, int i)
{
	char *sec = answer_section(ans, mid);
	char want[256];
	snprintf(want, sizeof(want), "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n",
	         i < 0 ? OUR_UFRAG : our_media_ufrag(i), i < 0 ? OUR_PWD : our_media_pwd(i));
	if (!strstr(sec, want))
		fail_msg("m-line %s lacks '%s':\n%s", mid, want, sec);
	assert_non_null(strstr(sec, "a=fingerprint:sha-256 " OUR_FP "\r\na=setup:passive\r\n"));
	assert_non_null(strstr(sec, "a=rtcp-mux\r\n"));
	assert_null(strstr(sec, "bundle-only"));
	free(sec);
}

/* GStreamer webrtcbin with its default bundle-policy "none": no a=group:BUNDLE, one ICE
 * transport per m-line (its own ufrag/pwd and candidates). Negotiated with one transport per
 * m-line (bundle false), each m-line's credentials from the offer, no transport-cc; answered
 * without BUNDLE, each m-line with its own credentials. */
static void test_webrtcbin_no_bundle(void **state)
{
	struct sdp_session *o = parse_asset("webrtcbin-bundle-none.sdp");
	assert_int_equal(o->nbundle, 0);
	assert_int_equal(o->nmedia, 2);
	assert_string_equal(o->media[0].mid, "video0");
	assert_string_equal(o->media[1].mid, "audio1");
	assert_int_equal(o->media[1].port, 9);
	assert_string_not_equal(o->media[0].ice_ufrag, o->media[1].ice_ufrag);
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_false(neg.bundle);
	assert_int_equal(neg.video_index, 0);
	assert_int_equal(neg.audio_index, 1);
	own_transport(&neg, 0, WB_VIDEO_UFRAG, WB_VIDEO_PWD, WB_FP);
	own_transport(&neg, 1, WB_AUDIO_UFRAG, WB_AUDIO_PWD, WB_FP);
	assert_string_equal(neg.ice_ufrag, WB_VIDEO_UFRAG); /* the first accepted m-line's */
	assert_string_equal(neg.ice_pwd, WB_VIDEO_PWD);
	assert_string_equal(neg.setup, "actpass");
	assert_null(strstr(ans, "a=group"));
	assert_null(strstr(ans, "transport-cc"));
	assert_null(strstr(ans, "a=ice-ufrag:" OUR_UFRAG "\r\n"));
	answer_transport(ans, "video0", 0);
	answer_transport(ans, "audio1", 1);
	char *v = answer_section(ans, "video0"), *a = answer_section(ans, "audio1");
	assert_non_null(strstr(v, "a=" OUR_CAND "\r\na=end-of-candidates\r\n"));
	assert_null(strstr(a, "candidate"));
	free(v);
	free(a);
	struct sdp_session *back = parse_ok(ans);
	assert_int_equal(back->nbundle, 0);
	assert_string_equal(back->media[0].ice_ufrag, our_media_ufrag(0));
	assert_string_equal(back->media[1].ice_ufrag, our_media_ufrag(1));
	assert_string_equal(back->media[1].ice_pwd, our_media_pwd(1));
	assert_int_equal(ext_id(&back->media[0], TWCC), 0);
	free(back);
	free(ans);
	free(o);
	/* one m-line alone: the same */
	char *text = read_asset("webrtcbin-bundle-none.sdp");
	char *video_only = strstr(text, "m=audio");
	assert_non_null(video_only);
	*video_only = '\0';
	o = parse_ok(text);
	ans = answer_with(o, NULL, &neg);
	assert_false(neg.bundle);
	assert_int_equal(neg.video_index, 0);
	assert_string_equal(neg.ice_ufrag, WB_VIDEO_UFRAG);
	assert_null(strstr(ans, "a=group"));
	answer_transport(ans, "video0", 0);
	free(ans);
	free(o);
	free(text);
}

/* A libwebrtc-layout offer without BUNDLE (assets/sdp/jsep-no-bundle.sdp, hand-written from
 * chromium-datachannel.sdp): each m-line its own credentials; the data channel rejected with our
 * transport lines and rtcp-mux; no transport-cc although the offer (and the policy) have it. */
static void test_jsep_no_bundle(void **state)
{
	struct sdp_session *o = parse_asset("jsep-no-bundle.sdp");
	assert_int_equal(o->nbundle, 0);
	assert_int_equal(o->nmedia, 3);
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_false(neg.bundle);
	assert_int_equal(neg.audio_index, 0);
	assert_int_equal(neg.video_index, 1);
	const char *fp = o->media[0].fp;
	own_transport(&neg, 0, "fYQ4", "5NB2I+uu1JSefI6tJqwdrV7s", fp);
	own_transport(&neg, 1, "k3Tz", "Q9vWc2+Hn0pLr8sXe4yBm6dA", fp);
	assert_false(neg.media[2].accepted);
	assert_string_equal(neg.media[2].ice_ufrag, "");
	assert_string_equal(neg.ice_ufrag, "fYQ4");
	assert_int_equal(neg.media[1].rtx_pt, 97); /* the rest of the policy as with BUNDLE */
	assert_int_equal(neg.media[1].ext_mid, 4);
	assert_null(strstr(ans, "a=group"));
	assert_null(strstr(ans, "transport-cc"));
	answer_transport(ans, "0", 0);
	answer_transport(ans, "1", 1);
	answer_transport(ans, "2", -1);
	assert_non_null(strstr(ans, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
	struct sdp_session *back = parse_ok(ans);
	assert_int_equal(back->nbundle, 0);
	assert_int_equal(ext_id(&back->media[1], TWCC), 0);
	assert_false(codec_pt(&back->media[1], 96)->fb_twcc);
	free(back);
	free(ans);
	free(o);
	/* the same offer with BUNDLE (the capture it comes from) takes transport-cc */
	o = parse_asset("chromium-datachannel.sdp");
	negotiate_ok(o, &rtx_policy, &neg);
	assert_true(neg.bundle);
	assert_true(neg.media[1].twcc);
	assert_int_equal(neg.media[1].ext_twcc, 3);
	assert_string_equal(neg.media[1].ice_ufrag, "fYQ4"); /* the bundle's */
	free(o);
}

/* The answer writer's per-m-line credentials without BUNDLE: NULL falls back to ice_ufrag/pwd,
 * one of a pair or a bad token is refused; a rejected m-line never uses them. */
static void test_no_bundle_answer_params(void **state)
{
	struct sdp_session *o = parse_asset("jsep-no-bundle.sdp");
	struct sdp_negotiated neg;
	negotiate_ok(o, NULL, &neg);
	struct sdp_answer_params p = our_params();
	char *out = malloc(16384);
	assert_non_null(out);
	p.media_ice_ufrag[1] = p.media_ice_pwd[1] = NULL;
	assert_true(sdp_write_answer(o, &neg, &p, out, 16384) > 0);
	answer_transport(out, "0", 0);
	char *sec = answer_section(out, "1");
	assert_non_null(strstr(sec, "a=ice-ufrag:" OUR_UFRAG "\r\na=ice-pwd:" OUR_PWD "\r\n"));
	free(sec);
	p.media_ice_pwd[1] = "only+the+pwd+0123456789";
	assert_int_equal(sdp_write_answer(o, &neg, &p, out, 16384), -EINVAL);
	p = our_params();
	p.media_ice_ufrag[0] = "bad ufrag";
	assert_int_equal(sdp_write_answer(o, &neg, &p, out, 16384), -EINVAL);
	p = our_params();
	p.media_ice_ufrag[2] = "bad ufrag"; /* the rejected data channel: not used */
	p.media_ice_pwd[2] = NULL;
	assert_true(sdp_write_answer(o, &neg, &p, out, 16384) > 0);
	answer_transport(out, "2", -1);
	free(out);
	free(o);
}

/* Without BUNDLE, each accepted m-line must have usable transport parameters of its own (or the
 * session level's); the error names the m-line. A rejected m-line needs none. */
static void test_no_bundle_transport_errors(void **state)
{
	char *wb = read_asset("webrtcbin-bundle-none.sdp");
	char *t = replace_all(wb, "a=ice-ufrag:" WB_VIDEO_UFRAG "\r\n", "");
	no_bundle_fails(t, "m-line 0 (video, mid video0, no BUNDLE): offer lacks "
	                   "a=ice-ufrag/a=ice-pwd");
	free(t);
	t = drop_in_section(wb, "m=audio", "a=fingerprint");
	no_bundle_fails(t, "m-line 1 (audio, mid audio1, no BUNDLE): offer lacks a=fingerprint");
	free(t);
	free(wb);
	char *text = read_asset("jsep-no-bundle.sdp");
	t = drop_in_section(text, "m=video", "a=ice-pwd");
	no_bundle_fails(t, "m-line 1 (video, mid 1, no BUNDLE): offer lacks a=ice-ufrag/a=ice-pwd");
	free(t);
	t = drop_in_section(text, "m=video", "a=fingerprint");
	no_bundle_fails(t, "m-line 1 (video, mid 1, no BUNDLE): offer lacks a=fingerprint");
	free(t);
	t = replace_all(text, "a=ice-ufrag:k3Tz", "a=ice-ufrag:k3T");
	no_bundle_fails(t, "m-line 1 (video, mid 1, no BUNDLE): ICE ufrag/pwd too short");
	free(t);
	t = drop_in_section(text, "m=video", "a=setup");
	char *t2 = replace_all(t, "a=mid:1\r\n", "a=mid:1\r\na=setup:passive\r\n");
	no_bundle_fails(t2, "m-line 1 (video, mid 1, no BUNDLE): offer has a=setup:passive");
	free(t2);
	free(t);
	t = drop_in_section(text, "m=video", "a=rtcp-mux\r\n");
	no_bundle_fails(t, "m-line 1 (video, mid 1, no BUNDLE) lacks a=rtcp-mux (required)");
	free(t);
	/* the video's credentials from the session level; the rejected data channel's absent */
	t = drop_in_section(text, "m=video", "a=ice-ufrag");
	t2 = drop_in_section(t, "m=video", "a=ice-pwd");
	free(t);
	t = drop_in_section(t2, "m=application", "a=ice-ufrag");
	free(t2);
	t2 = replace_all(t, "t=0 0\r\n",
	                 "t=0 0\r\na=ice-ufrag:sEsS\r\na=ice-pwd:session+level+pwd+0123\r\n");
	struct sdp_session *o = parse_ok(t2);
	struct sdp_negotiated neg;
	negotiate_ok(o, &rtx_policy, &neg);
	own_transport(&neg, 0, "fYQ4", "5NB2I+uu1JSefI6tJqwdrV7s", o->media[0].fp);
	own_transport(&neg, 1, "sEsS", "session+level+pwd+0123", o->media[0].fp);
	free(o);
	free(t2);
	free(t);
	free(text);
}

/* Without a BUNDLE group a=bundle-only means nothing: the m-line (port 0) is rejected. The screen
 * and simulcast policies are those with BUNDLE. */
static void test_no_bundle_policy(void **state)
{
	char *text = read_asset("webrtcbin-max-bundle.sdp");
	char *t = drop_lines(text, "a=group:BUNDLE");
	struct sdp_session *o = parse_ok(t);
	assert_true(o->media[1].bundle_only);
	struct sdp_negotiated neg;
	char *ans = answer_with(o, NULL, &neg);
	assert_false(neg.bundle);
	assert_int_equal(neg.video_index, 0);
	assert_int_equal(neg.audio_index, -1);
	assert_false(neg.media[1].accepted);
	assert_non_null(strstr(ans, "m=audio 0 UDP/TLS/RTP/SAVPF 97\r\n"));
	answer_transport(ans, "video0", 0);
	answer_transport(ans, "audio1", -1);
	free(ans);
	free(o);
	free(t);
	free(text);
	text = read_asset("wrtc-two-video.sdp");
	t = drop_lines(text, "a=group:BUNDLE");
	o = parse_ok(t);
	struct sdp_policy pol = rtx_policy;
	snprintf(pol.screen_mid, sizeof(pol.screen_mid), "2");
	negotiate_ok(o, &pol, &neg);
	assert_false(neg.bundle);
	assert_int_equal(neg.screen_index, 2);
	assert_int_equal(neg.media[2].dir, SDP_RECVONLY);
	assert_string_equal(neg.media[2].ice_ufrag, o->media[2].ice_ufrag);
	assert_false(neg.media[1].twcc || neg.media[2].twcc);
	free(o);
	free(t);
	free(text);
	char *sim = chromium_sim_with("a=group:BUNDLE 0 1\r\n", "");
	assert_int_equal(camera_rids(sim, &sim_policy, &neg), 3);
	assert_false(neg.bundle);
	free(sim);
}

/* Hand-written Safari (libwebrtc in WebKit): H.264 High and Constrained Baseline before VP8,
 * each with RTX, a=extmap-allow-mixed. */
static void test_safari(void **state)
{
	struct sdp_session *o = parse_asset("safari-sendrecv.sdp");
	const struct sdp_media *ov = &o->media[1];
	assert_int_equal(ov->ncodecs, 13);
	assert_string_equal(ov->codecs[0].name, "H264");
	assert_int_equal(ov->nextmaps, 11);
	struct sdp_negotiated neg;
	/* VP8 only (no libx264): VP8, its RTX */
	negotiate_ok(o, &rtx_policy, &neg);
	assert_int_equal(neg.media[1].pt, 100);
	assert_int_equal(neg.media[1].vcodec, SDP_VCODEC_VP8);
	assert_int_equal(neg.media[1].rtx_pt, 101);
	assert_int_equal(neg.media[1].ext_twcc, 3);
	assert_int_equal(neg.media[1].ext_mid, 4);
	assert_int_equal(neg.media[1].ext_rid, 10);
	assert_int_equal(neg.media[1].ext_rrid, 11);
	assert_int_equal(neg.media[0].pt, 111);
	assert_int_equal(neg.media[0].ext_audio_level, 1);
	/* H.264 allowed, no preference: the offer's order; High (640c1f) is not ours, so the
	 * Constrained Baseline type, with its own RTX */
	struct sdp_policy pol = rtx_policy;
	pol.h264 = true;
	char *ans = answer_with(o, &pol, &neg);
	assert_int_equal(neg.media[1].pt, 98);
	assert_int_equal(neg.media[1].vcodec, SDP_VCODEC_H264);
	assert_int_equal(neg.media[1].rtx_pt, 99);
	assert_string_equal(
	    neg.media[1].fmtp,
	    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
	assert_non_null(strstr(ans, "m=video 40000 UDP/TLS/RTP/SAVPF 98 99\r\n"));
	assert_non_null(strstr(ans, "a=fmtp:99 apt=98\r\n"));
	struct sdp_session *a = parse_ok(ans);
	assert_int_equal(a->media[1].ncodecs, 2);
	assert_string_equal(a->media[1].codecs[0].name, "H264");
	free(a);
	free(ans);
	pol.prefer_set = true;
	pol.prefer = SDP_VCODEC_VP8;
	negotiate_ok(o, &pol, &neg);
	assert_int_equal(neg.media[1].pt, 100);
	free(o);
}

/* Hand-written Firefox re-offer: video first, audio, and the data channel we rejected before
 * (port 0, a=inactive, a=mid kept, out of the BUNDLE group). */
static void test_firefox_video_first_rejected_data(void **state)
{
	struct sdp_session *o = parse_asset("firefox-video-first-rejected-data.sdp");
	assert_int_equal(o->nmedia, 3);
	const struct sdp_media *d = &o->media[2];
	assert_int_equal(d->kind, SDP_APPLICATION);
	assert_int_equal(d->port, 0);
	assert_string_equal(d->mid, "2");
	assert_int_equal(d->dir, SDP_INACTIVE);
	assert_int_equal(o->nbundle, 2);
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_int_equal(neg.video_index, 0);
	assert_int_equal(neg.audio_index, 1);
	assert_int_equal(neg.media[0].pt, 120);
	assert_int_equal(neg.media[0].rtx_pt, 124);
	assert_int_equal(neg.media[0].ext_abs_send_time, 4);
	assert_int_equal(neg.media[0].ext_twcc, 7);
	assert_int_equal(neg.media[0].ext_mid, 3);
	assert_int_equal(neg.media[1].pt, 109);
	assert_int_equal(neg.media[1].ext_audio_level, 1);
	assert_false(neg.media[2].accepted);
	assert_string_equal(neg.fp_alg, "sha-256"); /* session level */
	assert_non_null(strstr(ans, "a=group:BUNDLE 0 1\r\n"));
	char *m = answer_section(ans, "2");
	assert_string_equal(m, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	                       "c=IN IP4 0.0.0.0\r\n" REJ_TRANSPORT "a=mid:2\r\na=inactive\r\n");
	free(m);
	free(ans);
	free(o);
}

/* Extension ids only usable with two-byte headers (RFC 8285 4.3: 15..255, which a=extmap-allow-
 * mixed allows) are not negotiated: our answer has no a=extmap-allow-mixed, so the peer may only
 * use one-byte headers (ids 1..14). Also a=extmap-allow-mixed at the media level (RFC 8285 6). */
static void test_extmap_allow_mixed_two_byte_ids(void **state)
{
	char *text = read_asset("safari-sendrecv.sdp");
	char *t = replace_all(text, "a=extmap:4 " MID_URI, "a=extmap:16 " MID_URI);
	char *t2 = replace_all(t, "a=mid:1\r\n", "a=mid:1\r\na=extmap-allow-mixed\r\n");
	struct sdp_session *o = parse_ok(t2);
	assert_int_equal(ext_id(&o->media[0], MID_URI), 16);
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_int_equal(neg.media[0].ext_mid, 0);
	assert_int_equal(neg.media[1].ext_mid, 0);
	assert_int_equal(neg.media[1].ext_rid, 10);
	assert_null(strstr(ans, MID_URI));
	assert_null(strstr(ans, "extmap-allow-mixed"));
	struct sdp_session *a = parse_ok(ans);
	assert_int_equal(a->nbundle, 2);
	free(a);
	free(ans);
	free(o);
	free(t2);
	free(t);
	free(text);
}

/* Opus RED (RFC 2198) offered before Opus, as Chromium does with RED for Opus enabled: Opus is
 * taken, RED is not answered. Video RED/ulpfec (and their RTX) are never answered. */
static void test_red_offered_first(void **state)
{
	char *text = read_asset("wrtc-video-first.sdp");
	char *t = replace_all(text, "SAVPF 111 63 103", "SAVPF 63 111 103");
	struct sdp_session *o = parse_ok(t);
	assert_int_equal(o->media[1].codecs[0].pt, 63);
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_int_equal(neg.media[1].pt, 111);
	assert_int_equal(neg.media[0].rtx_pt, 97);
	assert_non_null(strstr(ans, "m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\n"));
	assert_null(strstr(ans, "red/"));
	assert_null(strstr(ans, "ulpfec"));
	assert_null(strstr(ans, "apt=124"));
	free(ans);
	free(o);
	free(t);
	free(text);
}

/* A data channel created before the tracks (the order Firefox keeps): m=application is the
 * first m-line and the offerer's BUNDLE tag. We reject it: the answer's BUNDLE group and tag are
 * the first accepted m-line (RFC 8843 7.3.1), whose ICE/DTLS we take. */
static void test_data_channel_first(void **state)
{
	char *text = read_asset("chromium-datachannel.sdp");
	char *app = strstr(text, "m=application");
	char *audio = strstr(text, "m=audio");
	assert_true(app && audio && audio < app);
	size_t n = strlen(text);
	char *moved = calloc(1, n + 1);
	memcpy(moved, text, (size_t)(audio - text));
	strcat(moved, app);
	strncat(moved, audio, (size_t)(app - audio));
	assert_int_equal(strlen(moved), n);
	/* mids in creation order: data 0, audio 1, video 2 */
	char *t1 = replace_all(moved, "a=mid:2", "a=mid:X");
	char *t2 = replace_all(t1, "a=mid:1", "a=mid:2");
	char *t3 = replace_all(t2, "a=mid:0", "a=mid:1");
	char *t4 = replace_all(t3, "a=mid:X", "a=mid:0");
	struct sdp_session *o = parse_ok(t4);
	assert_int_equal(o->media[0].kind, SDP_APPLICATION);
	assert_string_equal(o->media[0].mid, "0");
	assert_string_equal(o->bundle[0], "0");
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_false(neg.media[0].accepted);
	assert_int_equal(neg.audio_index, 1);
	assert_int_equal(neg.video_index, 2);
	assert_string_equal(neg.ice_ufrag, o->media[1].ice_ufrag);
	assert_non_null(strstr(ans, "a=group:BUNDLE 1 2\r\n"));
	assert_non_null(strstr(ans, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	                            "c=IN IP4 0.0.0.0\r\n" REJ_TRANSPORT "a=mid:0\r\n"));
	struct sdp_session *a = parse_ok(ans);
	assert_int_equal(a->media[1].ncandidates, 1); /* the answerer's tag: audio */
	assert_int_equal(a->media[2].ncandidates, 0);
	free(a);
	free(ans);
	free(o);
	free(t4);
	free(t3);
	free(t2);
	free(t1);
	free(moved);
	free(text);
}

/* SDP's ABNF literals are case-insensitive (RFC 5234 2.3): hash function names (RFC 8122 5) and
 * setup roles (RFC 4145 4) may come in upper case, as some SIP-born stacks write them. */
static void test_upper_case_fingerprint_and_setup(void **state)
{
	char *text = read_asset("firefox-sendrecv.sdp");
	/* a SHA-1 fingerprint first, then the SHA-256 one: the SHA-256 one is kept */
	char *t = replace_all(text, "a=fingerprint:sha-256 ",
	                      "a=fingerprint:SHA-1 "
	                      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\r\n"
	                      "a=fingerprint:SHA-256 ");
	struct sdp_session *o = parse_ok(t);
	assert_string_equal(o->fp_alg, "sha-256");
	assert_true(strncmp(o->fp, "3F:9A:61", 8) == 0);
	free(o);
	char *t2 = replace_all(t, "a=setup:actpass", "a=setup:ACTPASS");
	o = parse_ok(t2);
	struct sdp_negotiated neg;
	negotiate_ok(o, NULL, &neg);
	assert_string_equal(neg.fp_alg, "sha-256");
	assert_string_equal(neg.setup, "actpass");
	free(o);
	free(t2);
	t2 = replace_all(t, "a=setup:actpass", "a=setup:Active");
	o = parse_ok(t2);
	negotiate_ok(o, NULL, &neg);
	assert_string_equal(neg.setup, "active");
	free(o);
	free(t2);
	t2 = replace_all(t, "a=setup:actpass", "a=setup:PASSIVE");
	negotiate_fails(t2, "setup:PASSIVE");
	free(t2);
	free(t);
	free(text);
}

/* libwebrtc re-offers: the first (audio) transceiver stopped, so the offerer's BUNDLE tag moved
 * to the video (a=group:BUNDLE 1); and a stopped video m-line recycled by a new video
 * transceiver with a new mid (index 1, mid 2; RFC 9429 5.2.2). */
static void test_reoffer_tag_moved_and_recycled(void **state)
{
	struct sdp_session *o = parse_asset("wrtc-stopped-first-reoffer.sdp");
	assert_int_equal(o->nbundle, 1);
	assert_string_equal(o->bundle[0], "1");
	assert_int_equal(o->media[0].port, 0);
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_false(neg.media[0].accepted);
	assert_int_equal(neg.audio_index, -1);
	assert_int_equal(neg.video_index, 1);
	assert_int_equal(neg.media[1].rtx_pt, 97);
	assert_string_equal(neg.ice_ufrag, o->media[1].ice_ufrag);
	assert_non_null(strstr(ans, "a=group:BUNDLE 1\r\n"));
	assert_non_null(strstr(ans, "a=msid-semantic: WMS mcu-mix\r\n"));
	char *m = answer_section(ans, "0");
	assert_string_equal(
	    m, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" REJ_TRANSPORT "a=mid:0\r\n"
	       "a=inactive\r\n");
	free(m);
	struct sdp_session *a = parse_ok(ans);
	assert_int_equal(a->media[1].ncandidates, 1);
	free(a);
	free(ans);
	free(o);

	o = parse_asset("wrtc-recycled-mline.sdp");
	assert_int_equal(o->nmedia, 2);
	assert_string_equal(o->media[1].mid, "2");
	assert_int_equal(o->media[1].port, 9);
	assert_string_equal(o->bundle[1], "2");
	ans = answer_with(o, &rtx_policy, &neg);
	assert_int_equal(neg.video_index, 1);
	assert_string_equal(neg.media[1].mid, "2");
	assert_int_equal(neg.media[1].dir, SDP_SENDRECV);
	assert_non_null(strstr(ans, "a=group:BUNDLE 0 2\r\n"));
	m = answer_section(ans, "2");
	assert_non_null(strstr(m, "m=video 40000 UDP/TLS/RTP/SAVPF 96 97\r\n"));
	free(m);
	free(ans);
	free(o);
}

/* webrtcbin max-bundle with a data channel: the m=application is bundle-only too; we reject it
 * with port 0, without a=bundle-only and out of the BUNDLE group (RFC 8843 7.3.3). */
static void test_webrtcbin_datachannel(void **state)
{
	struct sdp_session *o = parse_asset("webrtcbin-max-bundle-datachannel.sdp");
	assert_int_equal(o->nmedia, 3);
	assert_int_equal(o->nbundle, 3);
	const struct sdp_media *d = &o->media[2];
	assert_int_equal(d->kind, SDP_APPLICATION);
	assert_true(d->bundle_only);
	assert_int_equal(d->port, 0);
	assert_string_equal(d->mid, "application2");
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_true(neg.media[0].accepted && neg.media[1].accepted);
	assert_false(neg.media[2].accepted);
	assert_non_null(strstr(ans, "a=group:BUNDLE video0 audio1\r\n"));
	char *m = answer_section(ans, "application2");
	assert_string_equal(m, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	                       "c=IN IP4 0.0.0.0\r\n" REJ_TRANSPORT
	                       "a=mid:application2\r\na=inactive\r\n");
	free(m);
	assert_null(strstr(ans, "bundle-only"));
	/* webrtcbin (1.22) refuses an answer with an m-line, rejected or not, without a=mid,
	 * ICE credentials, a fingerprint (media or session level) or a media-level a=setup ("No
	 * fingerprint lines in sdp for media 2", "media 2 is missing or contains an empty
	 * 'ice-ufrag' attribute"): the rejected m-line has ours (REJ_TRANSPORT above) */
	struct sdp_session *a = parse_ok(ans);
	assert_string_equal(a->media[2].ice_pwd, OUR_PWD);
	assert_string_equal(a->media[2].fp, OUR_FP);
	assert_string_equal(a->media[2].setup, "passive");
	free(a);
	free(ans);
	free(o);
}

/* Pion (Go) as a WHIP-style sender: video then audio, both sendonly; session-level fingerprint
 * and a=extmap-allow-mixed, a=setup and ICE per m-line after a=mid, only the transport-wide-cc
 * extension (id 1, on audio too), every default codec offered with RTX, rtcp-fb lines written
 * with a trailing space ("nack ") and twice. */
static void test_pion_sendonly(void **state)
{
	struct sdp_session *o = parse_asset("pion-sendonly-video-first.sdp");
	assert_int_equal(o->nmedia, 2);
	assert_string_equal(o->fp_alg, "sha-256");
	assert_string_equal(o->media[0].fp, "");
	const struct sdp_media *ov = &o->media[0];
	assert_int_equal(ov->kind, SDP_VIDEO);
	assert_int_equal(ov->dir, SDP_SENDONLY);
	const struct sdp_codec *vp8 = codec_pt(ov, 96);
	assert_true(vp8->fb_nack && vp8->fb_pli && vp8->fb_fir && vp8->fb_remb && vp8->fb_twcc);
	struct sdp_negotiated neg;
	char *ans = answer_with(o, &rtx_policy, &neg);
	assert_int_equal(neg.video_index, 0);
	assert_int_equal(neg.audio_index, 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(neg.media[i].dir, SDP_RECVONLY);
		assert_int_equal(neg.media[i].nssrcs, 1);
	}
	assert_int_equal(neg.media[0].pt, 96);
	assert_int_equal(neg.media[0].rtx_pt, 97);
	assert_true(neg.media[0].twcc);
	assert_int_equal(neg.media[0].ext_twcc, 1);
	assert_int_equal(neg.media[0].ext_abs_send_time, 0);
	assert_int_equal(neg.media[0].ext_mid, 0); /* none offered: SSRC demultiplexing */
	assert_false(neg.media[1].twcc);
	assert_int_equal(neg.media[1].pt, 111);
	assert_string_equal(neg.fp_alg, "sha-256");
	assert_null(strstr(ans, "a=ssrc:")); /* we send nothing */
	assert_null(strstr(ans, "a=msid:")); /* (RFC 8830: only with a track) */
	assert_non_null(strstr(ans, "a=rtcp-fb:96 nack\r\n"));
	assert_non_null(strstr(ans, "a=extmap:1 " TWCC "\r\n"));
	free(ans);
	/* H.264 preferred: Constrained Baseline (125) before Baseline (102), with its RTX; the
	 * packetization-mode=0 types are never taken */
	struct sdp_policy pol = rtx_policy;
	pol.h264 = pol.prefer_set = true;
	pol.prefer = SDP_VCODEC_H264;
	negotiate_ok(o, &pol, &neg);
	assert_int_equal(neg.media[0].pt, 125);
	assert_int_equal(neg.media[0].rtx_pt, 107);
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_simulcast_offers),
	    cmocka_unit_test(test_parse_rid_and_simulcast_forms),
	    cmocka_unit_test(test_negotiate_simulcast),
	    cmocka_unit_test(test_negotiate_simulcast_conditions),
	    cmocka_unit_test(test_answer_simulcast),
	    cmocka_unit_test(test_simulcast_hostile),
	    cmocka_unit_test(test_video_before_audio),
	    cmocka_unit_test(test_two_video_mlines),
	    cmocka_unit_test(test_stopped_transceiver_reoffer),
	    cmocka_unit_test(test_wrtc_recvonly),
	    cmocka_unit_test(test_webrtcbin_max_bundle),
	    cmocka_unit_test(test_webrtcbin_no_bundle),
	    cmocka_unit_test(test_jsep_no_bundle),
	    cmocka_unit_test(test_no_bundle_answer_params),
	    cmocka_unit_test(test_no_bundle_transport_errors),
	    cmocka_unit_test(test_no_bundle_policy),
	    cmocka_unit_test(test_safari),
	    cmocka_unit_test(test_firefox_video_first_rejected_data),
	    cmocka_unit_test(test_extmap_allow_mixed_two_byte_ids),
	    cmocka_unit_test(test_red_offered_first),
	    cmocka_unit_test(test_data_channel_first),
	    cmocka_unit_test(test_upper_case_fingerprint_and_setup),
	    cmocka_unit_test(test_reoffer_tag_moved_and_recycled),
	    cmocka_unit_test(test_webrtcbin_datachannel),
	    cmocka_unit_test(test_pion_sendonly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
