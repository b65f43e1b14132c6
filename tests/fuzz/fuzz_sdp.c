/*
 * fuzz_sdp.c - libFuzzer target for the SDP offer parser, the negotiation policy and the answer
 * writer (src/sdp/): sdp_parse on the input; if it parses, sdp_negotiate; if that agrees,
 * sdp_write_answer into a large buffer and again into buffers of exactly the answer's size (must
 * fail with -ENOSPC) and one byte more (must give the same text), then the answer is parsed
 * back with our own parser (it must parse: the parse -> write round trip). One m-line in
 * (nmedia + 1), picked by the input's size, is named as the client's screen. Without BUNDLE
 * (half the inputs give each m-line ICE credentials of its own): no transport-cc negotiated,
 * no BUNDLE group in the answer, and each accepted m-line answered with its credentials.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "sdp/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sdp_session *offer, *back;
static struct sdp_negotiated neg;
static char answer[SDP_MAX_SIZE];

static const char *const cands[] = {
    "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host",
};

static const char *const ufrags[2] = {"m0uf", "m1uf"};
static const char *const pwds[2] = {"m0pwd0123456789abcdefgh", "m1pwd0123456789abcdefgh"};

static struct sdp_answer_params params = {
    .ice_ufrag = "abcd",
    .ice_pwd = "0123456789abcdef012345",
    .fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:"
                   "CD:EF:01:23:45:67:89",
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!offer) { /* before the first failalloc_reset: never fails */
		offer = malloc(sizeof(*offer));
		back = malloc(sizeof(*back));
		if (!offer || !back)
			abort();
	}
	failalloc_reset(data, size);
	char err[128];
	int rc = sdp_parse((const char *)data, size, offer, err, sizeof(err));
	if (rc != 0) {
		if ((rc != -EINVAL && rc != -E2BIG) || !memchr(err, 0, sizeof(err)))
			abort();
		return 0;
	}
	if (offer->nmedia < 0 || offer->nmedia > SDP_MAX_MEDIA || offer->nbundle < 0 ||
	    offer->nbundle > SDP_MAX_MEDIA)
		abort();
	/* H.264 allowed, the offer's order (its parity picks a preference, so both paths run) */
	struct sdp_policy pol = {.h264 = true,
	                         .transport_cc = size % 2 == 0,
	                         .rtx = size % 5 != 0,
	                         .opus_dtx = size % 7 == 0,
	                         .simulcast = size % 4 != 0,
	                         .prefer_set = size % 3 != 0,
	                         .prefer = size % 3 == 1 ? SDP_VCODEC_H264 : SDP_VCODEC_VP8};
	/* one m-line in (nmedia + 1), by the size, named as the client's screen */
	int named = offer->nmedia ? (int)(size % (size_t)(offer->nmedia + 1)) : 0;
	if (named < offer->nmedia)
		memcpy(pol.screen_mid, offer->media[named].mid, sizeof(pol.screen_mid));
	if (sdp_negotiate(offer, &pol, &neg, err, sizeof(err)) != 0)
		return 0;
	/* a screen is the named m-line, received only, and never the camera */
	if (neg.screen_index >= 0 &&
	    (neg.screen_index != named || neg.screen_index == neg.video_index ||
	     !neg.media[neg.screen_index].accepted ||
	     neg.media[neg.screen_index].dir != SDP_RECVONLY))
		abort();
	if (neg.bundle != (offer->nbundle > 0))
		abort();
	for (int i = 0; i < neg.nmedia; i++) {
		if (!neg.bundle && neg.media[i].twcc)
			abort();
		params.media_ice_ufrag[i] = size % 2 ? ufrags[i % 2] : NULL;
		params.media_ice_pwd[i] = size % 2 ? pwds[i % 2] : NULL;
	}
	int n = sdp_write_answer(offer, &neg, &params, answer, sizeof(answer));
	if (n == -ENOSPC)
		return 0;
	if (n < 0 || (size_t)n != strlen(answer))
		abort();
	/* Exact-size buffers on the heap, so ASan sees any write past cap. */
	char *tight = malloc((size_t)n + 1);
	if (!tight)
		return 0; /* FUZZ_FAIL_ALLOC */
	if (sdp_write_answer(offer, &neg, &params, tight, (size_t)n) != -ENOSPC)
		abort();
	if (sdp_write_answer(offer, &neg, &params, tight, (size_t)n + 1) != n ||
	    memcmp(tight, answer, (size_t)n + 1) != 0)
		abort();
	free(tight);
	if (sdp_parse(answer, (size_t)n, back, err, sizeof(err)) != 0 ||
	    back->nmedia != offer->nmedia || (!neg.bundle && back->nbundle != 0))
		abort();
	for (int i = 0; i < neg.nmedia && !neg.bundle; i++) {
		const char *want = params.media_ice_ufrag[i] ? params.media_ice_ufrag[i] : "abcd";
		if (neg.media[i].accepted && strcmp(back->media[i].ice_ufrag, want) != 0)
			abort();
	}
	return 0;
}
