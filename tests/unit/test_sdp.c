/*
 * test_sdp.c - unit tests for src/sdp (sdp_parse, sdp_negotiate, sdp_write_answer).
 *
 * Oracles: real Chromium offers and a Firefox-style offer in assets/sdp (see its README.md;
 * $MCU_ASSETS overrides the directory). Each offer is parsed and checked field by field, then
 * negotiated and answered, and the answer is parsed back with sdp_parse and checked against the
 * policy (Opus/VP8 only, mirrored directions, BUNDLE of accepted mids, port 0 for rejected
 * m-lines, setup:passive, our credentials, SSRCs only where we send, extension ids kept); an
 * offer without BUNDLE gets an answer without one, each accepted m-line with its own ICE
 * credentials and transport, and every m-line rtcp-mux.
 * Every asset (the simulcast offers and those of other stacks too) is in the generic checks;
 * their own checks are in test_sdp_stacks.c. The shared helpers are in sdp_test_util.h.
 * Hostile inputs: LF-only, missing attributes, every cap, embedded NUL, and every prefix of a
 * real offer copied into an exact-size heap buffer (so ASan sees any read past len).
 * Single-threaded; sessions are heap-allocated (about 0.5 MB each).
 */
#include "sdp_test_util.h"

static const char *const offers[] = {
    "chromium-sendrecv.sdp",
    "chromium-recvonly.sdp",
    "chromium-audio-only.sdp",
    "chromium-video-only.sdp",
    "chromium-datachannel.sdp",
    "firefox-sendrecv.sdp",
    "chromium-simulcast.sdp",
    "firefox-simulcast.sdp",
    "wrtc-video-first.sdp",
    "wrtc-two-video.sdp",
    "wrtc-stopped-reoffer.sdp",
    "wrtc-recvonly.sdp",
    "wrtc-max-bundle-video-first.sdp",
    "webrtcbin-max-bundle.sdp",
    "safari-sendrecv.sdp",
    "firefox-video-first-rejected-data.sdp",
    "wrtc-stopped-first-reoffer.sdp",
    "wrtc-recycled-mline.sdp",
    "webrtcbin-max-bundle-datachannel.sdp",
    "pion-sendonly-video-first.sdp",
    "webrtcbin-bundle-none.sdp",
    "jsep-no-bundle.sdp",
};
#define N_OFFERS ((int)(sizeof(offers) / sizeof(offers[0])))
/* ---- parsing the captured offers ---- */

static void test_parse_chromium_sendrecv(void **state)
{
	struct sdp_session *s = parse_asset("chromium-sendrecv.sdp");
	assert_int_equal(s->nmedia, 2);
	assert_int_equal(s->nbundle, 2);
	assert_string_equal(s->bundle[0], "0");
	assert_string_equal(s->bundle[1], "1");
	assert_false(s->ice_lite);
	assert_string_equal(s->ice_ufrag, ""); /* Chromium writes ICE/DTLS per m-line */
	const struct sdp_media *a = &s->media[0], *v = &s->media[1];
	assert_int_equal(a->kind, SDP_AUDIO);
	assert_int_equal(v->kind, SDP_VIDEO);
	assert_string_equal(a->mid, "0");
	assert_string_equal(v->mid, "1");
	assert_string_equal(a->proto, "UDP/TLS/RTP/SAVPF");
	assert_int_equal(a->port, 60821);
	assert_int_equal(a->dir, SDP_SENDRECV);
	assert_int_equal(v->dir, SDP_SENDRECV);
	assert_true(a->rtcp_mux && v->rtcp_mux);
	assert_string_equal(a->ice_ufrag, "H1hA");
	assert_string_equal(a->ice_pwd, "FFBJwRC+PgCI45A76TQ4mxoW");
	assert_string_equal(a->fp_alg, "sha-256");
	assert_string_equal(a->fp, "78:F5:7F:13:B8:4C:D4:BD:A5:94:95:9E:3E:14:71:88:E6:72:BB:A0:"
	                           "DD:F2:0B:2F:7C:D3:47:1E:DB:F0:DC:83");
	assert_string_equal(a->setup, "actpass");
	assert_int_equal(a->ncodecs, 8);
	const struct sdp_codec *opus = codec_named(a, "opus");
	assert_non_null(opus);
	assert_int_equal(opus->pt, 111);
	assert_int_equal(opus->clock, 48000);
	assert_int_equal(opus->channels, 2);
	assert_string_equal(opus->fmtp, "minptime=10;useinbandfec=1");
	assert_true(opus->fb_twcc && !opus->fb_nack);
	assert_int_equal(codec_pt(a, 0)->clock, 8000);
	assert_int_equal(codec_pt(a, 0)->channels, 0);
	const struct sdp_codec *vp8 = codec_named(v, "VP8");
	assert_non_null(vp8);
	assert_int_equal(vp8->pt, 96);
	assert_int_equal(vp8->clock, 90000);
	assert_true(vp8->fb_nack && vp8->fb_pli && vp8->fb_fir && vp8->fb_remb && vp8->fb_twcc);
	assert_int_equal(v->ncodecs, 23);
	assert_string_equal(codec_pt(v, 97)->fmtp, "apt=96");
	assert_int_equal(ext_id(a, AUDIO_LEVEL), 1);
	assert_int_equal(ext_id(a, TWCC), 3);
	assert_int_equal(ext_id(v, ABS_SEND_TIME), 2);
	assert_int_equal(v->nextmaps, 11);
	assert_int_equal(a->nssrcs, 1);
	assert_int_equal(a->ssrcs[0], 2604733508u);
	assert_int_equal(v->nssrcs, 2);
	assert_int_equal(v->ssrcs[0], 76019829u);
	assert_int_equal(v->ssrcs[1], 3162000132u);
	assert_int_equal(a->ncandidates, 4);
	assert_string_equal(a->candidates[0], "candidate:3861183025 1 udp 2122194687 192.0.2.2 "
	                                      "60821 typ host generation 0 network-id 1");
	free(s);
}

static void test_parse_chromium_recvonly(void **state)
{
	struct sdp_session *s = parse_asset("chromium-recvonly.sdp");
	assert_int_equal(s->nmedia, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(s->media[i].dir, SDP_RECVONLY);
		assert_int_equal(s->media[i].nssrcs, 0);
		assert_true(s->media[i].rtcp_mux);
	}
	assert_int_equal(codec_named(&s->media[0], "opus")->pt, 111);
	assert_int_equal(codec_named(&s->media[1], "VP8")->pt, 96);
	assert_int_equal(s->media[1].ncodecs, 34);
	free(s);
}

static void test_parse_chromium_single_kind(void **state)
{
	struct sdp_session *s = parse_asset("chromium-audio-only.sdp");
	assert_int_equal(s->nmedia, 1);
	assert_int_equal(s->media[0].kind, SDP_AUDIO);
	assert_int_equal(s->nbundle, 1);
	assert_non_null(codec_named(&s->media[0], "opus"));
	free(s);
	s = parse_asset("chromium-video-only.sdp");
	assert_int_equal(s->nmedia, 1);
	assert_int_equal(s->media[0].kind, SDP_VIDEO);
	assert_string_equal(s->media[0].mid, "0");
	assert_int_equal(codec_named(&s->media[0], "VP8")->pt, 96);
	assert_int_equal(ext_id(&s->media[0], ABS_SEND_TIME), 2);
	free(s);
}

static void test_parse_chromium_datachannel(void **state)
{
	struct sdp_session *s = parse_asset("chromium-datachannel.sdp");
	assert_int_equal(s->nmedia, 3);
	assert_int_equal(s->nbundle, 3);
	const struct sdp_media *d = &s->media[2];
	assert_int_equal(d->kind, SDP_APPLICATION);
	assert_string_equal(d->media, "application");
	assert_string_equal(d->proto, "UDP/DTLS/SCTP");
	assert_string_equal(d->fmt0, "webrtc-datachannel");
	assert_string_equal(d->mid, "2");
	assert_int_equal(d->ncodecs, 0);
	free(s);
}

static void test_parse_firefox(void **state)
{
	struct sdp_session *s = parse_asset("firefox-sendrecv.sdp");
	assert_int_equal(s->nmedia, 2);
	assert_string_equal(s->fp_alg, "sha-256"); /* session level */
	assert_string_equal(s->media[0].fp, "");
	assert_string_equal(s->media[0].ice_ufrag, "4e7b2a91");
	const struct sdp_media *a = &s->media[0], *v = &s->media[1];
	assert_int_equal(a->port, 9);
	assert_int_equal(codec_named(a, "opus")->pt, 109);
	assert_string_equal(codec_pt(a, 109)->fmtp,
	                    "maxplaybackrate=48000;stereo=1;useinbandfec=1");
	assert_int_equal(codec_pt(a, 9)->channels, 1);
	assert_int_equal(ext_id(a, AUDIO_LEVEL), 1);
	assert_int_equal(ext_id(a, "urn:ietf:params:rtp-hdrext:csrc-audio-level"), 2);
	const struct sdp_codec *vp8 = codec_named(v, "VP8");
	assert_int_equal(vp8->pt, 120);
	assert_string_equal(vp8->fmtp, "max-fs=12288;max-fr=60"); /* fmtp came before rtpmap */
	assert_true(vp8->fb_nack && vp8->fb_pli && vp8->fb_fir && vp8->fb_remb);
	assert_int_equal(ext_id(v, ABS_SEND_TIME), 4);
	assert_int_equal(v->nssrcs, 2);
	assert_int_equal(v->dir, SDP_SENDRECV);
	free(s);
}

/* ---- answers, checked by parsing them back ---- */

static void check_accepted(const struct sdp_media *om, const struct sdp_neg_media *nm,
                           const struct sdp_media *am, bool tag, const char *ufrag, const char *pwd)
{
	assert_string_equal(am->mid, om->mid);
	assert_int_not_equal(am->port, 0);
	assert_int_equal(am->ncodecs, 1);
	const struct sdp_codec *c = &am->codecs[0];
	assert_int_equal(c->pt, nm->pt);
	assert_non_null(codec_pt(om, c->pt));
	assert_string_equal(c->name, om->kind == SDP_AUDIO ? "opus" : "VP8");
	/* encoding names are case-insensitive (RFC 4855 3): webrtcbin writes "OPUS" */
	assert_int_equal(
	    strcasecmp(codec_pt(om, c->pt)->name, om->kind == SDP_AUDIO ? "opus" : "VP8"), 0);
	assert_false(c->fb_twcc);
	assert_int_equal(ext_id(am, TWCC), 0);
	if (om->kind == SDP_AUDIO) {
		assert_string_equal(c->fmtp, "minptime=10;useinbandfec=1");
		assert_int_equal(ext_id(am, AUDIO_LEVEL), ext_id(om, AUDIO_LEVEL));
		assert_int_equal(ext_id(am, ABS_SEND_TIME), 0);
	} else {
		/* the offered feedback, no more (webrtcbin offers "nack pli" but no plain nack) */
		const struct sdp_codec *oc = codec_pt(om, c->pt);
		assert_true(c->fb_nack == oc->fb_nack && c->fb_pli == oc->fb_pli &&
		            c->fb_fir == oc->fb_fir && c->fb_remb == oc->fb_remb);
		assert_true(c->fb_pli && c->fb_fir);
		assert_int_equal(ext_id(am, ABS_SEND_TIME), ext_id(om, ABS_SEND_TIME));
	}
	assert_int_equal(am->dir, mirrored(om->dir));
	assert_true(am->rtcp_mux);
	assert_string_equal(am->setup, "passive");
	assert_string_equal(am->fp_alg, "sha-256");
	assert_string_equal(am->fp, OUR_FP);
	assert_string_equal(am->ice_ufrag, ufrag);
	assert_string_equal(am->ice_pwd, pwd);
	bool send = am->dir == SDP_SENDRECV || am->dir == SDP_SENDONLY;
	uint32_t ours = om->kind == SDP_AUDIO ? 1111 : 2222;
	assert_int_equal(am->nssrcs, send ? 1 : 0);
	if (send)
		assert_true(has_ssrc(am, ours));
	assert_int_equal(am->ncandidates, tag ? 1 : 0);
	if (tag)
		assert_string_equal(am->candidates[0], OUR_CAND);
}

/* The negotiated transport of accepted m-line i: the bundle's, else the offered m-line's own
 * (media level over session level), setup lower case. */
static void check_neg_transport(const struct sdp_session *o, const struct sdp_negotiated *neg,
                                int i)
{
	const struct sdp_neg_media *nm = &neg->media[i];
	const struct sdp_media *m = &o->media[i];
	if (neg->bundle) {
		assert_string_equal(nm->ice_ufrag, neg->ice_ufrag);
		assert_string_equal(nm->ice_pwd, neg->ice_pwd);
		assert_string_equal(nm->fp, neg->fp);
		assert_string_equal(nm->fp_alg, neg->fp_alg);
		assert_string_equal(nm->setup, neg->setup);
		return;
	}
	assert_string_equal(nm->ice_ufrag, m->ice_ufrag[0] ? m->ice_ufrag : o->ice_ufrag);
	assert_string_equal(nm->ice_pwd, m->ice_pwd[0] ? m->ice_pwd : o->ice_pwd);
	assert_string_equal(nm->fp, m->fp[0] ? m->fp : o->fp);
	assert_true(!strcmp(nm->setup, "actpass") || !strcmp(nm->setup, "active"));
	assert_false(nm->twcc);
	assert_int_equal(nm->ext_twcc, 0);
}

/* The same answer with and without our per-m-line ICE credentials: identical with BUNDLE. */
static void check_media_ice_ignored(const struct sdp_session *o, const struct sdp_negotiated *neg,
                                    const char *text)
{
	struct sdp_answer_params p = our_params();
	memset(p.media_ice_ufrag, 0, sizeof(p.media_ice_ufrag));
	memset(p.media_ice_pwd, 0, sizeof(p.media_ice_pwd));
	char *plain = malloc(16384);
	assert_non_null(plain);
	int n = sdp_write_answer(o, neg, &p, plain, 16384);
	assert_int_equal(n, (int)strlen(plain));
	assert_int_equal(strcmp(plain, text) == 0, neg->bundle);
	free(plain);
}

static void check_answer(const char *name)
{
	struct sdp_session *o = parse_asset(name);
	struct sdp_negotiated neg;
	char *text = answer_text(o, &neg);
	assert_int_equal(neg.bundle, o->nbundle > 0);
	check_media_ice_ignored(o, &neg, text);
	struct sdp_session *a = parse_ok(text);
	assert_int_equal(a->nmedia, o->nmedia);
	int naccepted = 0, first = -1;
	for (int i = 0; i < o->nmedia; i++) {
		const struct sdp_media *om = &o->media[i], *am = &a->media[i];
		assert_int_equal(am->kind, om->kind);
		assert_string_equal(am->mid, om->mid);
		assert_string_equal(am->proto, om->proto);
		assert_string_equal(am->media, om->media);
		if (neg.media[i].accepted) {
			check_accepted(om, &neg.media[i], am, naccepted == 0,
			               neg.bundle ? OUR_UFRAG : our_media_ufrag(i),
			               neg.bundle ? OUR_PWD : our_media_pwd(i));
			check_neg_transport(o, &neg, i);
			assert_int_equal(in_bundle(a, am->mid), neg.bundle);
			first = first < 0 ? i : first;
			naccepted++;
		} else {
			assert_int_equal(am->port, 0);
			assert_int_equal(am->dir, SDP_INACTIVE);
			assert_false(in_bundle(a, am->mid));
			assert_int_equal(am->nssrcs, 0);
			assert_int_equal(am->ncodecs,
			                 om->kind == SDP_AUDIO || om->kind == SDP_VIDEO);
			assert_false(am->bundle_only);
			/* our transport lines, as webrtcbin needs them, but no candidates */
			assert_string_equal(am->ice_ufrag, OUR_UFRAG);
			assert_string_equal(am->fp, OUR_FP);
			assert_string_equal(am->setup, "passive");
			assert_int_equal(am->ncandidates, 0);
			/* without BUNDLE every m-line is a whole transport description */
			assert_int_equal(am->rtcp_mux, !neg.bundle);
			assert_string_equal(neg.media[i].ice_ufrag, "");
		}
	}
	assert_int_equal(a->nbundle, neg.bundle ? naccepted : 0);
	/* without BUNDLE the session-wide transport is the first accepted m-line's */
	assert_string_equal(neg.ice_ufrag, neg.media[first].ice_ufrag);
	assert_string_equal(neg.ice_pwd, neg.media[first].ice_pwd);
	/* an answer is not an offer we accept: it says setup:passive */
	char err[256];
	assert_int_equal(sdp_negotiate(a, NULL, &neg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "setup:passive"));
	free(text);
	free(a);
	free(o);
}

static void test_answer_all_offers(void **state)
{
	for (int i = 0; i < N_OFFERS; i++) {
		print_message("%s\n", offers[i]);
		check_answer(offers[i]);
	}
}

static void test_negotiate_sendrecv(void **state)
{
	struct sdp_session *o = parse_asset("chromium-sendrecv.sdp");
	struct sdp_negotiated neg;
	char err[256];
	assert_int_equal(sdp_negotiate(o, NULL, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.nmedia, 2);
	assert_int_equal(neg.audio_index, 0);
	assert_int_equal(neg.video_index, 1);
	assert_int_equal(neg.media[0].pt, 111);
	assert_int_equal(neg.media[0].clock, 48000);
	assert_int_equal(neg.media[0].channels, 2);
	assert_int_equal(neg.media[0].ext_audio_level, 1);
	assert_int_equal(neg.media[0].ext_abs_send_time, 0);
	assert_false(neg.media[0].nack);
	assert_int_equal(neg.media[1].pt, 96);
	assert_int_equal(neg.media[1].ext_abs_send_time, 2);
	assert_true(neg.media[1].nack && neg.media[1].pli && neg.media[1].fir && neg.media[1].remb);
	assert_int_equal(neg.media[1].nssrcs, 2);
	assert_int_equal(neg.media[1].ssrcs[0], 76019829u);
	assert_string_equal(neg.ice_ufrag, "H1hA");
	assert_string_equal(neg.ice_pwd, "FFBJwRC+PgCI45A76TQ4mxoW");
	assert_string_equal(neg.fp_alg, "sha-256");
	assert_string_equal(neg.setup, "actpass");
	free(o);
}

static void test_negotiate_datachannel_and_firefox(void **state)
{
	struct sdp_session *o = parse_asset("chromium-datachannel.sdp");
	struct sdp_negotiated neg;
	char err[256];
	assert_int_equal(sdp_negotiate(o, NULL, &neg, err, sizeof(err)), 0);
	assert_false(neg.media[2].accepted);
	assert_int_equal(neg.media[2].kind, SDP_APPLICATION);
	assert_string_equal(neg.media[2].mid, "2");
	free(o);
	o = parse_asset("firefox-sendrecv.sdp");
	assert_int_equal(sdp_negotiate(o, NULL, &neg, err, sizeof(err)), 0);
	assert_string_equal(neg.fp_alg, "sha-256"); /* inherited from the session level */
	assert_string_equal(neg.ice_ufrag, "4e7b2a91");
	assert_int_equal(neg.media[0].pt, 109);
	assert_int_equal(neg.media[1].pt, 120);
	free(o);
}

static void test_answer_rejects_second_audio(void **state)
{
	char *text = read_asset("chromium-audio-only.sdp");
	/* append a second audio m-line and put it in the bundle */
	char *two = replace_all(text, "a=group:BUNDLE 0", "a=group:BUNDLE 0 1");
	const char *extra = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
	                    "a=mid:1\r\n"
	                    "a=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n";
	char *all = calloc(1, strlen(two) + strlen(extra) + 1);
	strcpy(all, two);
	strcat(all, extra);
	struct sdp_session *o = parse_ok(all);
	struct sdp_negotiated neg;
	char *ans = answer_text(o, &neg);
	assert_true(neg.media[0].accepted);
	assert_false(neg.media[1].accepted);
	assert_non_null(
	    strstr(ans, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" REJ_TRANSPORT
	                "a=mid:1\r\na=inactive\r\n"));
	assert_non_null(strstr(ans, "a=group:BUNDLE 0\r\n"));
	free(ans);
	free(o);
	free(all);
	free(two);
	free(text);
}

/* A second video m-line named as the client's screen is accepted receive-only with the
 * camera's codec; unnamed, or offering another codec, it is rejected. */
static void test_screen_mline(void **state)
{
	char *text = read_asset("chromium-sendrecv.sdp");
	char *three = replace_all(text, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2");
	const char *extra = "m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\nc=IN IP4 0.0.0.0\r\n"
	                    "a=mid:2\r\n"
	                    "a=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
	                    "a=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
	                    "a=rtpmap:102 H264/90000\r\na=fmtp:102 "
	                    "level-asymmetry-allowed=1;packetization-mode=1;"
	                    "profile-level-id=42e01f\r\na=ssrc:424242 cname:x\r\n";
	char *all = calloc(1, strlen(three) + strlen(extra) + 1);
	strcpy(all, three);
	strcat(all, extra);
	struct sdp_session *o = parse_ok(all);
	char err[256];
	struct sdp_negotiated neg;
	struct sdp_policy pol = {.rtx = true};
	snprintf(pol.screen_mid, sizeof(pol.screen_mid), "2");
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.video_index, 1);
	assert_int_equal(neg.screen_index, 2);
	const struct sdp_neg_media *sc = &neg.media[2];
	assert_true(sc->accepted);
	assert_int_equal(sc->dir, SDP_RECVONLY);
	assert_int_equal(sc->pt, 96);
	assert_int_equal(sc->vcodec, SDP_VCODEC_VP8);
	assert_int_equal(sc->nssrcs, 1);
	assert_int_equal(sc->ssrcs[0], 424242);
	struct sdp_answer_params p = our_params();
	char *ans = malloc(16384);
	assert_true(sdp_write_answer(o, &neg, &p, ans, 16384) > 0);
	const char *m2 = strstr(ans, "a=mid:2\r\n");
	assert_non_null(m2);
	assert_non_null(strstr(m2, "a=recvonly\r\n"));
	assert_null(strstr(m2, "a=ssrc:")); /* we send nothing on it */
	assert_non_null(strstr(ans, "a=group:BUNDLE 0 1 2\r\n"));
	/* not named: rejected as any second video */
	assert_int_equal(sdp_negotiate(o, NULL, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.screen_index, -1);
	assert_false(neg.media[2].accepted);
	/* the camera on H.264, the screen offering VP8 first: H.264 as the camera */
	pol.h264 = true;
	pol.prefer_set = true;
	pol.prefer = SDP_VCODEC_H264;
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.media[1].vcodec, SDP_VCODEC_H264);
	assert_int_equal(neg.screen_index, 2);
	assert_int_equal(neg.media[2].pt, 102);
	assert_int_equal(neg.media[2].vcodec, SDP_VCODEC_H264);
	/* a presenter without a camera: its only video m-line is the screen, with the
	 * policy's codec (VP8 here: H.264 not preferred), and no camera */
	struct sdp_session *o1 = parse_ok(text);
	pol = (struct sdp_policy){0};
	snprintf(pol.screen_mid, sizeof(pol.screen_mid), "1");
	assert_int_equal(sdp_negotiate(o1, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.audio_index, 0);
	assert_int_equal(neg.video_index, -1);
	assert_int_equal(neg.screen_index, 1);
	assert_int_equal(neg.media[1].dir, SDP_RECVONLY);
	assert_int_equal(neg.media[1].vcodec, SDP_VCODEC_VP8);
	free(o1);
	/* a screen that only receives is not one */
	char *recv = replace_all(all, "a=mid:2\r\na=sendonly", "a=mid:2\r\na=recvonly");
	struct sdp_session *o2 = parse_ok(recv);
	pol = (struct sdp_policy){0};
	snprintf(pol.screen_mid, sizeof(pol.screen_mid), "2");
	assert_int_equal(sdp_negotiate(o2, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.screen_index, -1);
	free(o2);
	free(recv);
	free(ans);
	free(o);
	free(all);
	free(three);
	free(text);
}

static void test_answer_text_details(void **state)
{
	struct sdp_session *o = parse_asset("chromium-sendrecv.sdp");
	struct sdp_negotiated neg;
	char *ans = answer_text(o, &neg);
	assert_memory_equal(ans, "v=0\r\n", 5);
	assert_non_null(strstr(ans, "a=group:BUNDLE 0 1\r\n"));
	assert_non_null(strstr(ans, "a=ice-options:trickle\r\n"));
	assert_non_null(strstr(ans, "a=end-of-candidates\r\n"));
	assert_non_null(strstr(ans, "a=msid:mcu-mix mcu-mix-audio\r\n"));
	assert_non_null(strstr(ans, "a=ssrc:2222 cname:mcu\r\n"));
	assert_non_null(strstr(ans, "a=ssrc:2222 msid:mcu-mix mcu-mix-video\r\n"));
	assert_non_null(strstr(ans, "c=IN IP4 127.0.0.1\r\n"));
	assert_null(strstr(ans, "ice-lite"));
	assert_null(strstr(ans, "transport-cc"));
	assert_null(strstr(ans, "\n\n"));
	for (const char *p = strchr(ans, '\n'); p; p = strchr(p + 1, '\n'))
		assert_int_equal(p[-1], '\r');
	/* recvonly clients: we send, and no peer SSRCs are needed */
	free(ans);
	free(o);
	o = parse_asset("chromium-recvonly.sdp");
	ans = answer_text(o, &neg);
	assert_int_equal(neg.media[0].dir, SDP_SENDONLY);
	assert_int_equal(neg.media[1].dir, SDP_SENDONLY);
	assert_non_null(strstr(ans, "a=sendonly\r\n"));
	free(ans);
	free(o);
}

static void test_answer_sendonly_offer_has_no_ssrc(void **state)
{
	char *text = read_asset("chromium-sendrecv.sdp");
	char *so = replace_all(text, "a=sendrecv", "a=sendonly");
	struct sdp_session *o = parse_ok(so);
	struct sdp_negotiated neg;
	char *ans = answer_text(o, &neg);
	struct sdp_session *a = parse_ok(ans);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(a->media[i].dir, SDP_RECVONLY);
		assert_int_equal(a->media[i].nssrcs, 0);
	}
	assert_null(strstr(ans, "a=msid:"));
	assert_null(strstr(ans, "a=ssrc:"));
	free(a);
	free(ans);
	free(o);
	free(so);
	free(text);
}

static void test_answer_too_small(void **state)
{
	struct sdp_session *o = parse_asset("chromium-datachannel.sdp");
	struct sdp_negotiated neg;
	char *full = answer_text(o, &neg);
	size_t len = strlen(full);
	struct sdp_answer_params p = our_params();
	for (size_t cap = 0; cap <= len + 1; cap++) {
		char *buf = cap ? malloc(cap) : NULL;
		int r = sdp_write_answer(o, &neg, &p, buf, cap);
		if (cap <= len) {
			assert_int_equal(r, -ENOSPC);
		} else {
			assert_int_equal(r, (int)len);
			assert_string_equal(buf, full);
		}
		free(buf);
	}
	free(full);
	free(o);
}

static void test_answer_bad_params(void **state)
{
	struct sdp_session *o = parse_asset("chromium-sendrecv.sdp");
	struct sdp_negotiated neg;
	char err[256], out[8192];
	assert_int_equal(sdp_negotiate(o, NULL, &neg, err, sizeof(err)), 0);
	struct sdp_answer_params p = our_params();
	p.ice_ufrag = NULL;
	assert_int_equal(sdp_write_answer(o, &neg, &p, out, sizeof(out)), -EINVAL);
	p = our_params();
	p.cname = "a b";
	assert_int_equal(sdp_write_answer(o, &neg, &p, out, sizeof(out)), -EINVAL);
	p = our_params();
	static const char *const bad[] = {"candidate:1 1 udp 1 1.2.3.4 5 typ host\r\na=x"};
	p.candidates = bad;
	assert_int_equal(sdp_write_answer(o, &neg, &p, out, sizeof(out)), -EINVAL);
	p = our_params();
	p.ncandidates = 0;
	p.end_of_candidates = false;
	p.ip = NULL;
	p.port = 0;
	assert_true(sdp_write_answer(o, &neg, &p, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"));
	assert_null(strstr(out, "a=candidate"));
	assert_null(strstr(out, "end-of-candidates"));
	free(o);
}

/* ---- hostile and malformed offers ---- */

static void test_lf_only(void **state)
{
	char *text = read_asset("chromium-sendrecv.sdp");
	char *lf = replace_all(text, "\r\n", "\n");
	struct sdp_session *a = parse_ok(text), *b = parse_ok(lf);
	assert_int_equal(b->nmedia, 2);
	assert_string_equal(b->media[1].mid, "1");
	assert_string_equal(b->media[0].ice_pwd, a->media[0].ice_pwd);
	assert_string_equal(b->media[0].fp, a->media[0].fp);
	assert_int_equal(codec_named(&b->media[1], "VP8")->pt, 96);
	assert_memory_equal(a, b, sizeof(*a));
	free(a);
	free(b);
	free(lf);
	free(text);
}

static void test_missing_transport_attributes(void **state)
{
	char *text = read_asset("chromium-sendrecv.sdp");
	char *t = drop_lines(text, "a=ice-ufrag");
	negotiate_fails(t, "ice-ufrag");
	free(t);
	t = drop_lines(text, "a=ice-pwd");
	negotiate_fails(t, "ice-pwd");
	free(t);
	t = drop_lines(text, "a=fingerprint");
	negotiate_fails(t, "fingerprint");
	free(t);
	t = drop_lines(text, "a=rtcp-mux");
	negotiate_fails(t, "rtcp-mux");
	free(t);
	t = replace_all(text, "a=setup:actpass", "a=setup:passive");
	negotiate_fails(t, "setup:passive");
	free(t);
	t = replace_all(text, "a=fingerprint:sha-256 78:F5", "a=fingerprint:sha-256 78:F");
	negotiate_fails(t, "fingerprint");
	free(t);
	/* without BUNDLE every accepted m-line's transport is checked, and named (the rest of the
	 * offers without BUNDLE are in test_sdp_stacks.c) */
	t = drop_lines(text, "a=group:BUNDLE");
	char *t1 = drop_lines(t, "a=rtcp-mux");
	negotiate_fails(t1, "m-line 0 (audio, mid 0, no BUNDLE) lacks a=rtcp-mux");
	free(t1);
	free(t);
	t = replace_all(text, "VP8/90000", "XYZ/90000");
	char *t2 = replace_all(t, "opus/48000", "xyz/48000");
	negotiate_fails(t2, "no audio m-line");
	free(t2);
	free(t);
	/* setup:active is fine, a missing a=setup means active (RFC 4145) */
	t = replace_all(text, "a=setup:actpass", "a=setup:active");
	struct sdp_session *s = parse_ok(t);
	struct sdp_negotiated neg;
	char err[256];
	assert_int_equal(sdp_negotiate(s, NULL, &neg, err, sizeof(err)), 0);
	assert_string_equal(neg.setup, "active");
	free(s);
	free(t);
	t = drop_lines(text, "a=setup");
	s = parse_ok(t);
	assert_int_equal(sdp_negotiate(s, NULL, &neg, err, sizeof(err)), 0);
	free(s);
	free(t);
	free(text);
}

static void test_too_many_lines(void **state)
{
	size_t n = 5 + 10001 * 5;
	char *t = malloc(n + 1);
	memcpy(t, "v=0\r\n", 5);
	for (int i = 0; i < 10001; i++)
		memcpy(t + 5 + i * 5, "a=x\r\n", 5);
	t[n] = '\0';
	parse_fails(t, n, -E2BIG, "too many lines (max 10000)");
	/* exactly 10000 lines parse up to the missing m= line */
	parse_fails(t, 5 + 9999 * 5, -EINVAL, "no m= line");
	free(t);
}

static void test_too_large(void **state)
{
	size_t n = SDP_MAX_SIZE + 1;
	char *t = malloc(n);
	memset(t, 'x', n);
	parse_fails(t, n, -E2BIG, "too large");
	free(t);
}

static void test_too_many_media(void **state)
{
	char t[4096] = "v=0\r\n";
	for (int i = 0; i < 17; i++) {
		char m[128];
		snprintf(m, sizeof(m), "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:%d\r\n", i);
		strcat(t, m);
	}
	parse_fails(t, strlen(t), -E2BIG, "too many m-lines (max 16)");
}

static char *with_extra(const char *name, const char *after, const char *extra)
{
	char *text = read_asset(name);
	char *repl = malloc(strlen(after) + strlen(extra) + 1);
	strcpy(repl, after);
	strcat(repl, extra);
	char *out = replace_all(text, after, repl);
	free(repl);
	free(text);
	return out;
}

static void test_long_tokens(void **state)
{
	char name[301], line[400];
	memset(name, 'A', 300);
	name[300] = '\0';
	snprintf(line, sizeof(line), "a=rtpmap:9 %s/8000\r\n", name);
	char *t = with_extra("chromium-audio-only.sdp", "a=rtpmap:111 opus/48000/2\r\n", line);
	parse_fails(t, strlen(t), -E2BIG, "encoding name too long");
	free(t);
	char mid[41];
	memset(mid, 'm', 40);
	mid[40] = '\0';
	snprintf(line, sizeof(line), "a=mid:%s\r\n", mid);
	char *text = read_asset("chromium-audio-only.sdp");
	t = replace_all(text, "a=mid:0\r\n", line);
	parse_fails(t, strlen(t), -E2BIG, "mid too long (40 chars, max 32)");
	free(t);
	t = replace_all(text, "a=ice-ufrag:",
	                "a=ice-ufrag:"
	                "0123456789012345678901234567890123456789"
	                "0123456789012345678901234567890123456789"
	                "0123456789012345678901234567890123456789"
	                "0123456789012345678901234567890123456789"
	                "0123456789012345678901234567890123456789"
	                "0123456789012345678901234567890123456789"
	                "0123456789012345678901234567890123456789");
	parse_fails(t, strlen(t), -E2BIG, "ice-ufrag too long");
	free(t);
	t = replace_all(text, "a=mid:0\r\n", "a=mid:0 1\r\n");
	parse_fails(t, strlen(t), -EINVAL, "invalid character");
	free(t);
	free(text);
}

static void test_bad_payload_types(void **state)
{
	char *text = read_asset("chromium-audio-only.sdp");
	char *t = replace_all(text, "SAVPF 111 63", "SAVPF 128 63");
	parse_fails(t, strlen(t), -EINVAL, "bad payload type '128'");
	free(t);
	t = replace_all(text, "a=rtpmap:111 ", "a=rtpmap:200 ");
	parse_fails(t, strlen(t), -EINVAL, "bad a=rtpmap payload type '200'");
	free(t);
	t = replace_all(text, "SAVPF 111 63", "SAVPF 111 abc");
	parse_fails(t, strlen(t), -EINVAL, "bad payload type 'abc'");
	free(t);
	/* duplicate PTs are errors (documented in sdp.h), both in m= and a=rtpmap */
	t = replace_all(text, "SAVPF 111 63", "SAVPF 111 111 63");
	parse_fails(t, strlen(t), -EINVAL, "duplicate payload type 111");
	free(t);
	t = with_extra("chromium-audio-only.sdp", "a=rtpmap:111 opus/48000/2\r\n",
	               "a=rtpmap:111 opus/48000/2\r\n");
	parse_fails(t, strlen(t), -EINVAL, "duplicate a=rtpmap for payload type 111");
	free(t);
	t = replace_all(text, "a=rtpmap:111 opus/48000/2", "a=rtpmap:111 opus");
	parse_fails(t, strlen(t), -EINVAL, "malformed a=rtpmap");
	free(t);
	t = replace_all(text, "a=rtpmap:111 opus/48000/2", "a=rtpmap:111 opus/99999999999/2");
	parse_fails(t, strlen(t), -EINVAL, "clock rate");
	free(t);
	/* an rtpmap for a PT not in the m= line is ignored */
	t = with_extra("chromium-audio-only.sdp", "a=rtpmap:111 opus/48000/2\r\n",
	               "a=rtpmap:55 foo/8000\r\n");
	struct sdp_session *s = parse_ok(t);
	assert_null(codec_pt(&s->media[0], 55));
	free(s);
	free(t);
	free(text);
}

static void test_embedded_nul_and_controls(void **state)
{
	char *text = read_asset("chromium-sendrecv.sdp");
	size_t n = strlen(text);
	char *copy = malloc(n);
	memcpy(copy, text, n);
	copy[n / 2] = '\0';
	parse_fails(copy, n, -EINVAL, "NUL byte");
	memcpy(copy, text, n);
	copy[n / 3] = '\x01';
	parse_fails(copy, n, -EINVAL, "control character 0x01");
	memcpy(copy, text, n);
	copy[100] = '\r'; /* a lone CR inside a line */
	parse_fails(copy, n, -EINVAL, "control character 0x0d");
	free(copy);
	free(text);
}

static void test_other_caps(void **state)
{
	char buf[8192] = "";
	for (int i = 0; i < 9; i++) {
		char l[64];
		snprintf(l, sizeof(l), "a=ssrc:%d cname:x\r\n", 1000 + i);
		strcat(buf, l);
	}
	char *t = with_extra("chromium-audio-only.sdp", "a=rtcp-mux\r\n", buf);
	parse_fails(t, strlen(t), -E2BIG, "too many SSRCs in m-line 0 (max 8)");
	free(t);
	buf[0] = '\0';
	for (int i = 0; i < 17; i++) {
		char l[64];
		snprintf(l, sizeof(l), "a=extmap:%d urn:x:%d\r\n", 20 + i, i);
		strcat(buf, l);
	}
	t = with_extra("chromium-audio-only.sdp", "a=rtcp-mux\r\n", buf);
	parse_fails(t, strlen(t), -E2BIG, "too many a=extmap");
	free(t);
	buf[0] = '\0';
	for (int i = 0; i < 33; i++)
		strcat(buf, "a=candidate:1 1 udp 1 10.0.0.1 9 typ host\r\n");
	t = with_extra("chromium-audio-only.sdp", "a=rtcp-mux\r\n", buf);
	parse_fails(t, strlen(t), -E2BIG, "too many candidates in m-line 0 (max 32)");
	free(t);
	char m[1024] = "m=video 9 UDP/TLS/RTP/SAVPF";
	for (int i = 0; i < 65; i++) {
		char pt[16];
		snprintf(pt, sizeof(pt), " %d", i);
		strcat(m, pt);
	}
	char full[2048];
	snprintf(full, sizeof(full), "v=0\r\n%s\r\n", m);
	parse_fails(full, strlen(full), -E2BIG, "too many payload types in m-line 0 (max 64)");
	t = with_extra("chromium-audio-only.sdp", "a=rtcp-mux\r\n", "a=extmap:1 urn:dup\r\n");
	parse_fails(t, strlen(t), -EINVAL, "duplicate a=extmap id 1");
	free(t);
}

static void test_structure_errors(void **state)
{
	parse_fails("", 0, -EINVAL, "empty SDP");
	parse_fails("x", 1, -EINVAL, "expected <type>=<value>");
	parse_fails("o=- 1 1 IN IP4 0.0.0.0\r\n", 24, -EINVAL, "start with v=0");
	parse_fails("v=0\r\nm=audio\r\n", 14, -EINVAL, "malformed m= line");
	parse_fails("v=0\r\nm=audio 9 RTP/SAVPF\r\n", 26, -EINVAL, "without formats");
	parse_fails("v=0\r\nm=audio 70000 RTP/SAVPF 0\r\n", 32, -EINVAL, "port");
	const char *dup = "v=0\r\nm=audio 9 RTP/SAVPF 0\r\na=mid:a\r\nm=video 9 RTP/SAVPF 96\r\n"
	                  "a=mid:a\r\n";
	parse_fails(dup, strlen(dup), -EINVAL, "duplicate mid 'a'");
	const char *unk = "v=0\r\na=group:BUNDLE a b\r\nm=audio 9 RTP/SAVPF 0\r\na=mid:a\r\n";
	parse_fails(unk, strlen(unk), -EINVAL, "unknown mid 'b'");
	const char *dir = "v=0\r\nm=audio 9 RTP/SAVPF 0\r\na=sendonly\r\na=recvonly\r\n";
	parse_fails(dir, strlen(dir), -EINVAL, "more than one direction");
	const char *m2 = "v=0\r\nm=audio 9 RTP/SAVPF 0\r\na=mid:a\r\na=mid:b\r\n";
	parse_fails(m2, strlen(m2), -EINVAL, "duplicate a=mid");
}

static void test_inheritance_and_wildcards(void **state)
{
	const char *t = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	                "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
	                "a=fingerprint:SHA-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:"
	                "22:33\r\na=fingerprint:sha-256 " OUR_FP "\r\n"
	                "a=setup:actpass\r\na=recvonly\r\n"
	                "m=video 9 UDP/TLS/RTP/SAVPF 100 101\r\na=mid:v\r\na=rtcp-mux\r\n"
	                "a=rtpmap:100 vp8/90000\r\na=rtpmap:101 VP8/90000\r\n"
	                "a=rtcp-fb:* nack\r\na=rtcp-fb:* nack pli\r\na=rtcp-fb:100 goog-remb\r\n"
	                "a=extmap:3/sendrecv " ABS_SEND_TIME " extra\r\n\r\n";
	struct sdp_session *s = parse_ok(t);
	assert_string_equal(s->fp_alg, "sha-256"); /* sha-256 preferred over sha-1 */
	assert_string_equal(s->fp, OUR_FP);
	const struct sdp_media *m = &s->media[0];
	assert_int_equal(m->dir, SDP_RECVONLY); /* session-level direction */
	assert_true(m->codecs[0].fb_nack && m->codecs[0].fb_pli && m->codecs[0].fb_remb);
	assert_true(m->codecs[1].fb_nack && m->codecs[1].fb_pli && !m->codecs[1].fb_remb);
	assert_int_equal(ext_id(m, ABS_SEND_TIME), 3);
	struct sdp_negotiated neg;
	char err[256];
	assert_int_equal(sdp_negotiate(s, NULL, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.video_index, 0);
	assert_int_equal(neg.audio_index, -1);
	assert_int_equal(neg.media[0].pt, 100); /* first VP8, name case-insensitive */
	assert_int_equal(neg.media[0].dir, SDP_SENDONLY);
	assert_true(neg.media[0].remb);
	assert_string_equal(neg.ice_ufrag, "abcd");
	/* no BUNDLE group in the offer: none in the answer */
	char *ans = answer_text(s, &neg);
	assert_null(strstr(ans, "a=group"));
	free(ans);
	free(s);
}

/* RFC 8843 bundle-only m-lines (port 0) are accepted; extension ids > 14 are not negotiated. */
static void test_bundle_only_and_ext_ids(void **state)
{
	char *text = read_asset("chromium-sendrecv.sdp");
	char *t = replace_all(text, "m=video 51013 ", "m=video 0 ");
	char *t2 = replace_all(t, "a=mid:1\r\n", "a=mid:1\r\na=bundle-only\r\n");
	char *t3 = replace_all(t2, "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
	                       "a=extmap:15 urn:ietf:params:rtp-hdrext:ssrc-audio-level");
	struct sdp_session *s = parse_ok(t3);
	assert_true(s->media[1].bundle_only);
	struct sdp_negotiated neg;
	char *ans = answer_text(s, &neg);
	assert_true(neg.media[1].accepted);
	assert_int_equal(neg.media[0].ext_audio_level, 0);
	assert_null(strstr(ans, "ssrc-audio-level"));
	assert_null(strstr(ans, "bundle-only"));
	free(ans);
	free(s);
	/* port 0 without bundle-only: the offerer disabled the m-line */
	s = parse_ok(t);
	ans = answer_text(s, &neg);
	assert_false(neg.media[1].accepted);
	assert_non_null(strstr(ans, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\n"));
	free(ans);
	free(s);
	free(t3);
	free(t2);
	free(t);
	free(text);
}

/* Every prefix, in an exact-size heap copy: errors are fine, crashes and overreads are not. */
static void prefixes_of(const char *name, const struct sdp_policy *pol)
{
	char *text = read_asset(name);
	size_t n = strlen(text);
	struct sdp_session *s = new_session();
	struct sdp_negotiated neg;
	char err[256], out[16384];
	struct sdp_answer_params p = our_params();
	int ok = 0;
	for (size_t len = 0; len <= n; len++) {
		char *copy = malloc(len ? len : 1);
		memcpy(copy, text, len);
		if (sdp_parse(copy, len, s, err, sizeof(err)) == 0) {
			ok++;
			if (sdp_negotiate(s, pol, &neg, err, sizeof(err)) == 0)
				assert_true(sdp_write_answer(s, &neg, &p, out, sizeof(out)) > 0);
		} else {
			assert_true(err[0] != '\0');
		}
		free(copy);
	}
	assert_true(ok > 0);
	free(s);
	free(text);
}

static void test_all_prefixes(void **state)
{
	static const struct sdp_policy sim = {.h264 = true, .rtx = true, .simulcast = true};
	prefixes_of("chromium-sendrecv.sdp", NULL);
	prefixes_of("firefox-sendrecv.sdp", NULL);
	prefixes_of("chromium-simulcast.sdp", &sim);
	prefixes_of("firefox-simulcast.sdp", &sim);
	prefixes_of("webrtcbin-max-bundle.sdp", &sim);
	prefixes_of("wrtc-stopped-reoffer.sdp", &sim);
	prefixes_of("jsep-no-bundle.sdp", &sim);
}

/* ---- H.264 (RFC 6184) ---- */

static void test_h264_fmtp(void **state)
{
	(void)state;
	bool cb = false;
	assert_true(sdp_h264_fmtp_ok("packetization-mode=1;profile-level-id=42e01f", &cb) && cb);
	assert_true(sdp_h264_fmtp_ok("profile-level-id=42C01F; Packetization-Mode=1", &cb) && cb);
	assert_true(sdp_h264_fmtp_ok("packetization-mode=1;profile-level-id=42001f", &cb) && !cb);
	assert_true(sdp_h264_fmtp_ok("packetization-mode=1;profile-level-id=4d801f", &cb) && cb);
	assert_true(sdp_h264_fmtp_ok("packetization-mode=1;profile-level-id=58c01f", &cb) && cb);
	assert_true(sdp_h264_fmtp_ok("packetization-mode=1", &cb) && !cb); /* 42000a */
	assert_false(sdp_h264_fmtp_ok("packetization-mode=0;profile-level-id=42e01f", NULL));
	assert_false(sdp_h264_fmtp_ok("profile-level-id=42e01f", NULL)); /* mode 0 */
	assert_false(sdp_h264_fmtp_ok("packetization-mode=1;profile-level-id=4d001f", NULL));
	assert_false(sdp_h264_fmtp_ok("packetization-mode=1;profile-level-id=4d401f", NULL));
	assert_false(sdp_h264_fmtp_ok("packetization-mode=1;profile-level-id=640c1f", NULL));
	assert_false(sdp_h264_fmtp_ok("packetization-mode=1;profile-level-id=42e01", NULL));
	assert_false(sdp_h264_fmtp_ok("packetization-mode=1;profile-level-id=zz001f", NULL));
	assert_false(sdp_h264_fmtp_ok("packetization-mode=1;profile-level-id=42e01f00", NULL));
	assert_false(sdp_h264_fmtp_ok("", NULL));
	char v[8];
	assert_false(sdp_fmtp_get("apt=102", "ap", v, sizeof(v)));
	assert_false(sdp_fmtp_get("apt=12345678", "apt", v, sizeof(v))); /* too long for v */
	assert_true(sdp_fmtp_get("x=1;apt=102", "apt", v, sizeof(v)));
	assert_string_equal(v, "102");
}

/* The captured Chromium offer with VP8 renamed away: an H.264-and-others offer. */
static char *offer_without_vp8(void)
{
	char *text = read_asset("chromium-sendrecv.sdp");
	char *vp8 = strstr(text, "VP8/90000");
	assert_non_null(vp8);
	memcpy(vp8, "XYZ", 3);
	return text;
}

static void test_h264_negotiate(void **state)
{
	(void)state;
	struct sdp_session *o = parse_asset("chromium-sendrecv.sdp");
	struct sdp_negotiated neg;
	char err[256];
	struct sdp_policy pol = {.h264 = true};
	/* the offer's order: VP8 (96) comes first */
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.media[1].pt, 96);
	assert_int_equal(neg.media[1].vcodec, SDP_VCODEC_VP8);
	/* preferred: the first Constrained Baseline packetization-mode 1 type, 108, not 102 */
	pol.prefer_set = true;
	pol.prefer = SDP_VCODEC_H264;
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.media[1].pt, 108);
	assert_int_equal(neg.media[1].vcodec, SDP_VCODEC_H264);
	assert_string_equal(
	    neg.media[1].fmtp,
	    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
	assert_true(neg.media[1].nack && neg.media[1].pli);
	assert_int_equal(neg.video_refused_index, -1);
	/* the answer names H264 with the offer's fmtp and parses back */
	struct sdp_answer_params p = our_params();
	char *out = malloc(16384);
	assert_non_null(out);
	assert_true(sdp_write_answer(o, &neg, &p, out, 16384) > 0);
	assert_non_null(strstr(out, "m=video 40000 UDP/TLS/RTP/SAVPF 108\r\n"));
	assert_non_null(strstr(out, "a=rtpmap:108 H264/90000\r\n"));
	assert_non_null(strstr(out, "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;"
	                            "profile-level-id=42e01f\r\n"));
	assert_null(strstr(out, "VP8"));
	struct sdp_session *a = parse_ok(out);
	assert_int_equal(a->media[1].ncodecs, 1);
	assert_string_equal(a->media[1].codecs[0].name, "H264");
	free(a);
	free(out);
	/* preferred VP8 */
	pol.prefer = SDP_VCODEC_VP8;
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.media[1].pt, 96);
	free(o);
}

static void test_h264_only_offer(void **state)
{
	(void)state;
	char *text = offer_without_vp8();
	struct sdp_session *o = parse_ok(text);
	struct sdp_negotiated neg;
	char err[256];
	/* no H.264 allowed (no libx264): audio only, and the refusal is reported */
	assert_int_equal(sdp_negotiate(o, NULL, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.audio_index, 0);
	assert_int_equal(neg.video_index, -1);
	assert_int_equal(neg.video_refused_index, 1);
	assert_true(neg.video_refused_h264);
	/* allowed: taken, whatever the preference */
	struct sdp_policy pol = {.h264 = true, .prefer_set = true, .prefer = SDP_VCODEC_VP8};
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.video_index, 1);
	assert_int_equal(neg.media[1].pt, 108);
	assert_int_equal(neg.video_refused_index, -1);
	free(o);
	/* only Baseline (42001f) in packetization-mode 1 left: taken, its profile kept */
	char *cb = strstr(text, "profile-level-id=42e01f");
	assert_non_null(cb);
	memcpy(cb, "profile-level-id=64001f", 23); /* 108 becomes High */
	o = parse_ok(text);
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.media[1].pt, 102);
	assert_string_equal(
	    neg.media[1].fmtp,
	    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f");
	free(o);
	free(text);
	/* an offer whose video has nothing we take: refused, not H.264 */
	o = parse_asset("chromium-sendrecv.sdp");
	for (int i = 0; i < o->media[1].ncodecs; i++)
		o->media[1].codecs[i].name[0] = 'X';
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.video_refused_index, 1);
	assert_false(neg.video_refused_h264);
	free(o);
}

/* transport-cc: taken on the video m-line with its extension when the policy allows it. */
static void test_transport_cc(void **state)
{
	(void)state;
	struct sdp_session *o = parse_asset("chromium-sendrecv.sdp");
	struct sdp_negotiated neg;
	char err[256];
	struct sdp_policy pol = {.transport_cc = true};
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_true(!neg.media[0].twcc && neg.media[1].twcc); /* video only */
	assert_int_equal(neg.media[0].ext_twcc, 0);
	assert_int_equal(neg.media[1].ext_twcc, 3);
	struct sdp_answer_params p = our_params();
	char *out = malloc(16384);
	assert_non_null(out);
	assert_true(sdp_write_answer(o, &neg, &p, out, 16384) > 0);
	assert_non_null(strstr(out, "a=extmap:3 " TWCC "\r\n"));
	assert_null(strstr(out, "a=rtcp-fb:111 transport-cc\r\n"));
	assert_non_null(strstr(out, "a=rtcp-fb:96 transport-cc\r\n"));
	struct sdp_session *a = parse_ok(out);
	assert_true(a->media[1].codecs[0].fb_twcc);
	free(a);
	free(out);
	/* not without the policy, nor without the extension */
	assert_int_equal(sdp_negotiate(o, NULL, &neg, err, sizeof(err)), 0);
	assert_false(neg.media[1].twcc);
	assert_int_equal(neg.media[1].ext_twcc, 0);
	for (int i = 0; i < o->media[1].nextmaps; i++)
		o->media[1].extmaps[i].uri[0] = 'x';
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_false(neg.media[1].twcc);
	free(o);
}

/* RTX (RFC 4588): the offer's rtx PT for the chosen codec, in the answer with our FID group. */
static void test_rtx(void **state)
{
	(void)state;
	struct sdp_session *o = parse_asset("chromium-sendrecv.sdp");
	struct sdp_negotiated neg;
	char err[256];
	struct sdp_policy pol = {.rtx = true, .opus_dtx = true};
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.media[0].rtx_pt, -1); /* audio: never */
	assert_true(neg.media[0].dtx && !neg.media[1].dtx);
	assert_int_equal(neg.media[1].pt, 96);
	assert_int_equal(neg.media[1].rtx_pt, 97);
	struct sdp_answer_params p = our_params();
	p.video_rtx_ssrc = 3333;
	char *out = malloc(16384);
	assert_non_null(out);
	assert_true(sdp_write_answer(o, &neg, &p, out, 16384) > 0);
	assert_non_null(strstr(out, "m=video 40000 UDP/TLS/RTP/SAVPF 96 97\r\n"));
	assert_non_null(strstr(out, "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"));
	assert_non_null(strstr(out, "a=ssrc-group:FID 2222 3333\r\n"));
	assert_non_null(strstr(out, "a=ssrc:3333 cname:mcu\r\n"));
	assert_non_null(strstr(out, "a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\n"));
	struct sdp_session *a = parse_ok(out);
	assert_int_equal(a->media[1].ncodecs, 2);
	assert_int_equal(a->media[1].nssrcs, 2);
	free(a);
	/* H.264 chosen: its own rtx PT */
	pol.h264 = pol.prefer_set = true;
	pol.prefer = SDP_VCODEC_H264;
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.media[1].vcodec, SDP_VCODEC_H264);
	char apt[8];
	int rtx = neg.media[1].rtx_pt;
	assert_true(rtx >= 0);
	for (int i = 0; i < o->media[1].ncodecs; i++)
		if (o->media[1].codecs[i].pt == rtx)
			assert_true(
			    sdp_fmtp_get(o->media[1].codecs[i].fmtp, "apt", apt, sizeof(apt)) &&
			    atoi(apt) == neg.media[1].pt);
	/* not without the policy, nor without NACK on the codec */
	assert_int_equal(sdp_negotiate(o, NULL, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.media[1].rtx_pt, -1);
	assert_true(sdp_write_answer(o, &neg, &p, out, 16384) > 0);
	assert_null(strstr(out, "rtx/90000"));
	assert_null(strstr(out, "ssrc-group"));
	o->media[1].codecs[0].fb_nack = false;
	pol = (struct sdp_policy){.rtx = true};
	assert_int_equal(sdp_negotiate(o, &pol, &neg, err, sizeof(err)), 0);
	assert_int_equal(neg.media[1].rtx_pt, -1);
	free(out);
	free(o);
}

static void test_dir_names(void **state)
{
	assert_string_equal(sdp_dir_name(SDP_SENDRECV), "sendrecv");
	assert_string_equal(sdp_dir_name(SDP_SENDONLY), "sendonly");
	assert_string_equal(sdp_dir_name(SDP_RECVONLY), "recvonly");
	assert_string_equal(sdp_dir_name(SDP_INACTIVE), "inactive");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_chromium_sendrecv),
	    cmocka_unit_test(test_h264_fmtp),
	    cmocka_unit_test(test_h264_negotiate),
	    cmocka_unit_test(test_h264_only_offer),
	    cmocka_unit_test(test_transport_cc),
	    cmocka_unit_test(test_rtx),
	    cmocka_unit_test(test_parse_chromium_recvonly),
	    cmocka_unit_test(test_parse_chromium_single_kind),
	    cmocka_unit_test(test_parse_chromium_datachannel),
	    cmocka_unit_test(test_parse_firefox),
	    cmocka_unit_test(test_answer_all_offers),
	    cmocka_unit_test(test_negotiate_sendrecv),
	    cmocka_unit_test(test_negotiate_datachannel_and_firefox),
	    cmocka_unit_test(test_answer_rejects_second_audio),
	    cmocka_unit_test(test_screen_mline),
	    cmocka_unit_test(test_answer_text_details),
	    cmocka_unit_test(test_answer_sendonly_offer_has_no_ssrc),
	    cmocka_unit_test(test_answer_too_small),
	    cmocka_unit_test(test_answer_bad_params),
	    cmocka_unit_test(test_lf_only),
	    cmocka_unit_test(test_missing_transport_attributes),
	    cmocka_unit_test(test_too_many_lines),
	    cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_too_many_media),
	    cmocka_unit_test(test_long_tokens),
	    cmocka_unit_test(test_bad_payload_types),
	    cmocka_unit_test(test_embedded_nul_and_controls),
	    cmocka_unit_test(test_other_caps),
	    cmocka_unit_test(test_structure_errors),
	    cmocka_unit_test(test_inheritance_and_wildcards),
	    cmocka_unit_test(test_bundle_only_and_ext_ids),
	    cmocka_unit_test(test_all_prefixes),
	    cmocka_unit_test(test_dir_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
