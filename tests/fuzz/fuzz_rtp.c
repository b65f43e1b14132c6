/*
 * fuzz_rtp.c - libFuzzer target for the RTP parser (src/rtp/rtp.c): rtp_parse on the input,
 * then every RFC 8285 extension id through rtp_ext_find and rtp_audio_level, a write/parse round
 * trip of what was parsed, and an RTX (RFC 4588) unwrap of it. Invariants checked: everything
 * parsed lies inside the input, a packet we rebuild from the parsed fields parses back to the
 * same fields, and an unwrapped RTX packet parses to the repaired one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "rtp/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

/* Reads every byte of [p, p + n) so ASan checks the whole span. */
static void touch(const uint8_t *p, size_t n)
{
	uint8_t x = 0;
	for (size_t i = 0; i < n; i++)
		x ^= p[i];
	sink = x;
}

static void check_inside(const uint8_t *buf, size_t len, const uint8_t *p, size_t n)
{
	if (n && (p < buf || p > buf + len || n > (size_t)(buf + len - p)))
		abort();
}

static void round_trip(const struct rtp_hdr *h)
{
	static uint8_t out[RTP_MAX_PACKET + 64];
	const uint8_t *level = NULL;
	size_t level_len = 0;
	int id = 0;
	/* Carry one one-byte extension element over if there is a small one. */
	for (int i = 1; i <= 14 && !id; i++)
		if (h->ext_profile == 0xBEDE && rtp_ext_find(h, i, &level, &level_len) == 0 &&
		    level_len >= 1 && level_len <= 16)
			id = i;
	int n = rtp_write(out, sizeof(out), h, id, id ? level : NULL, id ? level_len : 0,
	                  h->payload, h->payload_len);
	if (n < 0)
		return; /* only -ENOSPC is possible: an input near the size cap */
	struct rtp_hdr b;
	if (rtp_parse(out, (size_t)n, &b) != RTP_OK)
		abort();
	if (b.marker != h->marker || b.pt != h->pt || b.seq != h->seq || b.ts != h->ts ||
	    b.ssrc != h->ssrc || b.payload_len != h->payload_len ||
	    memcmp(b.payload, h->payload, h->payload_len) != 0)
		abort();
	if (id) {
		const uint8_t *d2;
		size_t l2;
		if (rtp_ext_find(&b, id, &d2, &l2) != 0 || l2 != level_len ||
		    memcmp(d2, level, l2) != 0)
			abort();
	}
}

/* RFC 4588 unwrap of a copy: the repaired packet parses, with the OSN, pt, SSRC and the payload
 * after the OSN. */
static void rtx_unwrap(const uint8_t *data, size_t size, const struct rtp_hdr *h)
{
	static uint8_t buf[RTP_MAX_PACKET];
	memcpy(buf, data, size);
	struct rtp_hdr hb, r;
	if (rtp_parse(buf, size, &hb) != RTP_OK)
		abort();
	uint8_t *out;
	size_t n;
	if (rtp_rtx_unwrap(buf, size, &hb, 96, 0x1234u, &out, &n) != 0) {
		if (h->payload_len > 2)
			abort();
		return;
	}
	uint16_t osn = (uint16_t)(h->payload[0] << 8 | h->payload[1]);
	if (rtp_parse(out, n, &r) != RTP_OK || r.seq != osn || r.pt != 96 || r.ssrc != 0x1234u ||
	    r.ts != h->ts || r.marker != h->marker || r.payload_len != h->payload_len - 2 ||
	    memcmp(r.payload, h->payload + 2, r.payload_len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	failalloc_reset(data, size);
	struct rtp_hdr h;
	(void)rtp_is_rtcp(data, size);
	enum rtp_drop why = rtp_parse(data, size, &h);
	(void)rtp_drop_name(why);
	if (why != RTP_OK)
		return 0;
	if (size > RTP_MAX_PACKET || h.cc > 15)
		abort();
	check_inside(data, size, h.payload, h.payload_len);
	check_inside(data, size, h.ext, h.ext_len);
	touch(h.payload, h.payload_len);
	touch(h.ext, h.ext_len);
	for (int id = 0; id <= 256; id++) {
		const uint8_t *d;
		size_t n;
		if (rtp_ext_find(&h, id, &d, &n) == 0) {
			check_inside(h.ext, h.ext_len, d, n);
			touch(d, n);
		}
	}
	for (int id = 0; id <= 16; id++) {
		bool voice;
		int lv = rtp_audio_level(&h, id, id & 1 ? &voice : NULL);
		if (lv < -1 || lv > 127)
			abort();
	}
	round_trip(&h);
	rtx_unwrap(data, size, &h);
	return 0;
}
