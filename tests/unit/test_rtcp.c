/*
 * test_rtcp.c - unit tests for src/rtp/rtcp.c (compound RTCP parser and builders).
 *
 * Covers every RTCP row of RELIABILITY-CHECKLIST A5 (length past the end, RC larger than the
 * blocks present, NACK without FCI, REMB num_ssrc overflow, SDES/BYE lengths past the end, XR
 * skipped, TWCC recognised, total length not a multiple of 4, cumulative-loss sign extension,
 * SR/RR with profile extensions accepted), builder round trips, a Chrome-like SR + SDES
 * compound, linear time on a 1472-byte packet of tiny items, and 100k random buffers (run it
 * under ASan/UBSan). Single-threaded; buffers on the stack.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "rtp/rtcp.h"

#define MAX_GOT 8

/* Collects the first MAX_GOT delivered items; stops the walk after `stop_after` if set. */
struct got {
	int n;
	int stop_after;
	struct rtcp_item it[MAX_GOT];
};

static int collect(void *opaque, const struct rtcp_item *it)
{
	struct got *g = opaque;
	if (g->n < MAX_GOT)
		g->it[g->n] = *it;
	g->n++;
	return g->stop_after && g->n >= g->stop_after;
}

static int parse(const uint8_t *b, size_t len, struct got *g)
{
	memset(g, 0, sizeof(*g));
	return rtcp_parse(b, len, collect, g);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A header for a packet of `total` bytes. */
static void hdr(uint8_t *p, int count, int pt, size_t total)
{
	p[0] = (uint8_t)(0x80 | count);
	p[1] = (uint8_t)pt;
	p[2] = (uint8_t)((total / 4 - 1) >> 8);
	p[3] = (uint8_t)(total / 4 - 1);
}

static void test_short_and_version(void **state)
{
	uint8_t b[8] = {0x80, 201, 0, 1, 0, 0, 0, 1};
	struct got g;
	for (size_t len = 0; len < 8; len++)
		assert_int_equal(parse(b, len, &g), -EBADMSG);
	assert_int_equal(g.n, 0);
	assert_int_equal(parse(b, 8, &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_RR);
	assert_int_equal(g.it[0].sender_ssrc, 1);
	assert_int_equal(rtcp_parse(NULL, 8, collect, &g), -EBADMSG);
	for (int v = 0; v < 4; v++) {
		b[0] = (uint8_t)(v << 6);
		assert_int_equal(parse(b, 8, &g), v == 2 ? 1 : -EBADMSG);
	}
	b[0] = 0x80;
	assert_int_equal(rtcp_parse(b, 8, NULL, NULL), 1); /* no callback: just counts */
}

static void test_length_past_end(void **state)
{
	uint8_t b[20] = {0};
	struct got g;
	hdr(b, 0, 201, 8);
	b[3] = 9; /* claims 40 bytes */
	assert_int_equal(parse(b, 8, &g), -EBADMSG);
	assert_int_equal(g.n, 0);
	/* A valid RR, then a PLI whose length points past the end: RR delivered first. */
	hdr(b, 0, 201, 8);
	hdr(b + 8, 1, 206, 12);
	assert_int_equal(parse(b, 20, &g), 2);
	b[11] = 3;
	assert_int_equal(parse(b, 20, &g), -EBADMSG);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.it[0].kind, RTCP_RR);
	/* Version broken in the second packet. */
	hdr(b + 8, 1, 206, 12);
	b[8] = 0x41;
	assert_int_equal(parse(b, 20, &g), -EBADMSG);
	assert_int_equal(g.n, 1);
}

static void test_length_not_multiple_of_4(void **state)
{
	uint8_t b[16] = {0};
	struct got g;
	hdr(b, 0, 201, 8);
	for (size_t extra = 1; extra < 4; extra++) {
		assert_int_equal(parse(b, 8 + extra, &g), -EBADMSG);
		assert_int_equal(g.n, 1); /* the RR before the tail was delivered */
	}
	assert_int_equal(parse(b, 6, &g), -EBADMSG);
	assert_int_equal(g.n, 0);
}

static void test_rc_more_than_blocks(void **state)
{
	uint8_t b[8 + 24 + 12] = {0};
	struct got g;
	hdr(b, 2, 201, 32); /* RC=2, one block present */
	put32(b + 4, 0x11);
	hdr(b + 32, 1, 206, 12);
	put32(b + 36, 0x22);
	put32(b + 40, 0x33);
	assert_int_equal(parse(b, sizeof(b), &g), -EBADMSG);
	assert_int_equal(g.n, 1); /* the broken RR skipped, the PLI after it delivered */
	assert_int_equal(g.it[0].kind, RTCP_PLI);
	assert_int_equal(g.it[0].sender_ssrc, 0x22);
	assert_int_equal(g.it[0].media_ssrc, 0x33);
	b[0] = 0x81; /* RC=1 matches: both delivered */
	assert_int_equal(parse(b, sizeof(b), &g), 2);
	assert_int_equal(g.it[0].n_reports, 1);
	/* SR with RC=1 and no block. */
	uint8_t sr[28] = {0};
	hdr(sr, 1, 200, 28);
	assert_int_equal(parse(sr, sizeof(sr), &g), -EBADMSG);
	assert_int_equal(g.n, 0);
	sr[0] = 0x80;
	assert_int_equal(parse(sr, sizeof(sr), &g), 1);
}

/* SR with one report block and 8 bytes of profile-specific extension: valid, accepted. */
static void test_sr_profile_extension(void **state)
{
	uint8_t b[28 + 24 + 8];
	struct got g;
	memset(b, 0xee, sizeof(b));
	hdr(b, 1, 200, sizeof(b));
	put32(b + 4, 0xaabbccdd);
	put32(b + 8, 0xe0000000);
	put32(b + 12, 0x80000000);
	put32(b + 16, 90000);
	put32(b + 20, 10);
	put32(b + 24, 1000);
	put32(b + 28, 0x12345678);
	put32(b + 32, 0x20fffffe); /* fraction 0x20, cumulative -2 */
	put32(b + 36, 0x0001ffff);
	put32(b + 40, 33);
	put32(b + 44, 0x11112222);
	put32(b + 48, 65536);
	assert_int_equal(parse(b, sizeof(b), &g), 1);
	const struct rtcp_item *it = &g.it[0];
	assert_int_equal(it->kind, RTCP_SR);
	assert_int_equal(it->sender_ssrc, 0xaabbccdd);
	assert_true(it->ntp == 0xe000000080000000ull);
	assert_int_equal(it->rtp_ts, 90000);
	assert_int_equal(it->packet_count, 10);
	assert_int_equal(it->octet_count, 1000);
	assert_int_equal(it->n_reports, 1);
	assert_int_equal(it->reports[0].ssrc, 0x12345678);
	assert_int_equal(it->reports[0].fraction_lost, 0x20);
	assert_int_equal(it->reports[0].cumulative_lost, -2);
	assert_int_equal(it->reports[0].ext_highest_seq, 0x1ffff);
	assert_int_equal(it->reports[0].jitter, 33);
	assert_int_equal(it->reports[0].lsr, 0x11112222);
	assert_int_equal(it->reports[0].dlsr, 65536);
	/* RR with a profile extension too. */
	uint8_t rr[8 + 12] = {0};
	hdr(rr, 0, 201, sizeof(rr));
	assert_int_equal(parse(rr, sizeof(rr), &g), 1);
}

static void test_cumulative_lost_sign(void **state)
{
	static const struct {
		uint32_t raw;
		int32_t want;
	} cases[] = {{0x000000, 0},  {0x000001, 1},        {0x7fffff, 8388607},
	             {0xffffff, -1}, {0x800000, -8388608}, {0xfffff0, -16}};
	uint8_t b[32] = {0};
	struct got g;
	hdr(b, 1, 201, 32);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put32(b + 12, 0x55000000 | cases[i].raw);
		assert_int_equal(parse(b, 32, &g), 1);
		assert_int_equal(g.it[0].reports[0].fraction_lost, 0x55);
		assert_int_equal(g.it[0].reports[0].cumulative_lost, cases[i].want);
	}
}

static void test_nack_zero_fci(void **state)
{
	uint8_t b[12 + 12] = {0};
	struct got g;
	hdr(b, 1, 205, 12); /* NACK with the feedback header only */
	hdr(b + 12, 1, 206, 12);
	assert_int_equal(parse(b, sizeof(b), &g), -EBADMSG);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.it[0].kind, RTCP_PLI);
	/* Feedback header itself truncated (length 1 word). */
	hdr(b, 1, 205, 8);
	assert_int_equal(parse(b, 8, &g), -EBADMSG);
	assert_int_equal(g.n, 0);
}

static void test_nack_fci(void **state)
{
	uint8_t b[20] = {0};
	struct got g;
	hdr(b, 1, 205, 20);
	put32(b + 4, 1);
	put32(b + 8, 2);
	put32(b + 12, 0xfffe8001); /* PID 65534, BLP bits 0 and 15 */
	put32(b + 16, 0x00640000); /* PID 100 */
	assert_int_equal(parse(b, sizeof(b), &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_NACK);
	assert_int_equal(g.it[0].media_ssrc, 2);
	assert_int_equal(g.it[0].fci_len, 8);
	uint16_t seqs[40];
	assert_int_equal(rtcp_nack_seqs(&g.it[0], seqs, 40), 4);
	assert_int_equal(seqs[0], 65534);
	assert_int_equal(seqs[1], 65535);
	assert_int_equal(seqs[2], 14);
	assert_int_equal(seqs[3], 100);
	assert_int_equal(rtcp_nack_seqs(&g.it[0], seqs, 2), 2);
	assert_int_equal(rtcp_nack_seqs(&g.it[0], seqs, 0), 0);
	/* Other RTPFB formats are skipped; TWCC is recognised. */
	b[0] = 0x80 | 3;
	assert_int_equal(parse(b, sizeof(b), &g), 0);
	b[0] = 0x80 | 15;
	assert_int_equal(parse(b, sizeof(b), &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_TWCC);
	assert_int_equal(g.it[0].sender_ssrc, 1);
	assert_int_equal(g.it[0].media_ssrc, 2);
	assert_int_equal(rtcp_nack_seqs(&g.it[0], seqs, 40), 0);
}

/* TWCC with status_count 65535 and a truncated chunk list: recognised, never decoded. */
static void test_twcc_truncated(void **state)
{
	uint8_t b[24] = {0};
	struct got g;
	hdr(b, 15, 205, sizeof(b));
	b[12] = 0x00;
	b[13] = 0x10;
	b[14] = 0xff; /* packet status count 65535 */
	b[15] = 0xff;
	assert_int_equal(parse(b, sizeof(b), &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_TWCC);
}

static size_t remb(uint8_t *b, int num, int present, uint32_t exp_mant)
{
	size_t total = 20 + (size_t)present * 4;
	memset(b, 0, total);
	hdr(b, 15, 206, total);
	put32(b + 4, 0x99);
	memcpy(b + 12, "REMB", 4);
	put32(b + 16, (uint32_t)num << 24 | exp_mant);
	for (int i = 0; i < present; i++)
		put32(b + 20 + i * 4, 1000u + (uint32_t)i);
	return total;
}

static void test_remb(void **state)
{
	uint8_t b[20 + 4 * 32];
	struct got g;
	size_t n = remb(b, 2, 2, 3u << 18 | 1000); /* 8000 bps */
	assert_int_equal(parse(b, n, &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_REMB);
	assert_int_equal(g.it[0].sender_ssrc, 0x99);
	assert_true(g.it[0].remb_bps == 8000);
	assert_int_equal(g.it[0].n_remb_ssrcs, 2);
	assert_int_equal(g.it[0].remb_ssrcs[1], 1001);
	/* num_ssrc larger than the SSRCs present. */
	n = remb(b, 255, 1, 1000);
	assert_int_equal(parse(b, n, &g), -EBADMSG);
	assert_int_equal(g.n, 0);
	n = remb(b, 3, 2, 1000);
	assert_int_equal(parse(b, n, &g), -EBADMSG);
	/* More SSRCs than we keep: capped. */
	n = remb(b, 32, 32, 1000);
	assert_int_equal(parse(b, n, &g), 1);
	assert_int_equal(g.it[0].n_remb_ssrcs, RTCP_MAX_REMB_SSRCS);
	assert_int_equal(g.it[0].remb_ssrcs[15], 1015);
	/* Another application-layer feedback (not "REMB"): skipped. */
	n = remb(b, 0, 0, 0);
	memcpy(b + 12, "GOOG", 4);
	assert_int_equal(parse(b, n, &g), 0);
	/* Too short to carry the identifier: skipped, not malformed. */
	hdr(b, 15, 206, 12);
	assert_int_equal(parse(b, 12, &g), 0);
}

static void test_remb_exponent_overflow(void **state)
{
	static const struct {
		uint32_t exp, mant;
		uint64_t want;
	} cases[] = {
	    {0, 0, 0},
	    {63, 0, 0},
	    {0, 0x3ffff, 0x3ffff},
	    {46, 0x3ffff, 0x3ffffull << 46},
	    {47, 0x3ffff, UINT64_MAX},
	    {63, 1, 1ull << 63},
	    {63, 2, UINT64_MAX},
	    {62, 3, 3ull << 62},
	    {62, 4, UINT64_MAX},
	    {62, 2, 1ull << 63},
	};
	uint8_t b[20];
	struct got g;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = remb(b, 0, 0, cases[i].exp << 18 | cases[i].mant);
		assert_int_equal(parse(b, n, &g), 1);
		assert_true(g.it[0].remb_bps == cases[i].want);
	}
}

static void test_pli_fir(void **state)
{
	uint8_t b[12 + 8 * 20];
	struct got g;
	memset(b, 0, sizeof(b));
	hdr(b, 4, 206, 12 + 8 * 20);
	put32(b + 4, 7);
	for (int i = 0; i < 20; i++) {
		put32(b + 12 + i * 8, 500u + (uint32_t)i);
		b[12 + i * 8 + 4] = (uint8_t)(i + 1);
	}
	assert_int_equal(parse(b, sizeof(b), &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_FIR);
	assert_int_equal(g.it[0].n_fir, RTCP_MAX_FIR);
	assert_int_equal(g.it[0].fir_ssrc[0], 500);
	assert_int_equal(g.it[0].media_ssrc, 500);
	assert_int_equal(g.it[0].fir_seq[15], 16);
	/* FIR with no entry, or half an entry: malformed. */
	hdr(b, 4, 206, 12);
	assert_int_equal(parse(b, 12, &g), -EBADMSG);
	hdr(b, 4, 206, 16);
	assert_int_equal(parse(b, 16, &g), -EBADMSG);
	/* PLI carrying a stray FCI word is still a PLI; other PSFB formats are skipped. */
	hdr(b, 1, 206, 16);
	assert_int_equal(parse(b, 16, &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_PLI);
	hdr(b, 2, 206, 16); /* SLI */
	assert_int_equal(parse(b, 16, &g), 0);
	hdr(b, 1, 206, 8);
	assert_int_equal(parse(b, 8, &g), -EBADMSG);
}

static void test_sdes(void **state)
{
	uint8_t b[64];
	struct got g;
	/* Two chunks: CNAME "ab" + NOTE "x", then an empty chunk. */
	static const uint8_t ok[] = {0x82, 202, 0, 5, 0, 0, 0, 9, 1, 2, 'a', 'b', 7,
	                             1,    'x', 0, 0, 0, 0, 0, 8, 0, 0, 0,   0,   0};
	memcpy(b, ok, 24);
	assert_int_equal(parse(b, 24, &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_SDES);
	assert_int_equal(g.it[0].sender_ssrc, 9);
	/* Item length past the end of the packet. */
	memcpy(b, ok, 24);
	b[13] = 30;
	assert_int_equal(parse(b, 24, &g), -EBADMSG);
	assert_int_equal(g.n, 0);
	/* SC says 3 chunks, only 2 present. */
	memcpy(b, ok, 24);
	b[0] = 0x83;
	assert_int_equal(parse(b, 24, &g), -EBADMSG);
	/* Items never terminated. */
	static const uint8_t unterminated[] = {0x81, 202, 0, 2, 0, 0, 0, 9, 1, 2, 'a', 'b'};
	assert_int_equal(parse(unterminated, sizeof(unterminated), &g), -EBADMSG);
	/* Item type without its length byte. */
	static const uint8_t no_len[] = {0x81, 202, 0, 2, 0, 0, 0, 9, 1, 1, 'a', 7};
	assert_int_equal(parse(no_len, sizeof(no_len), &g), -EBADMSG);
	/* Empty SDES (SC=0) is valid. */
	static const uint8_t empty[] = {0x80, 202, 0, 0};
	assert_int_equal(parse(empty, sizeof(empty), &g), 1);
	assert_int_equal(g.it[0].sender_ssrc, 0);
}

static void test_bye(void **state)
{
	uint8_t b[20] = {0};
	struct got g;
	hdr(b, 2, 203, 12);
	put32(b + 4, 42);
	put32(b + 8, 43);
	assert_int_equal(parse(b, 12, &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_BYE);
	assert_int_equal(g.it[0].sender_ssrc, 42);
	b[0] = 0x83; /* SC=3, two present */
	assert_int_equal(parse(b, 12, &g), -EBADMSG);
	/* One SSRC and a reason "bye" (length 3). */
	hdr(b, 1, 203, 12);
	b[8] = 3;
	memcpy(b + 9, "bye", 3);
	assert_int_equal(parse(b, 12, &g), 1);
	b[8] = 4; /* reason past the end */
	assert_int_equal(parse(b, 12, &g), -EBADMSG);
}

static void test_xr_app_unknown_skipped(void **state)
{
	uint8_t b[64] = {0};
	struct got g;
	/* XR with a block whose block length loops to far beyond the packet, then an RR. */
	hdr(b, 0, 207, 16);
	put32(b + 4, 1);
	b[8] = 4;     /* RRTR block type */
	b[10] = 0xff; /* block length 65535 words */
	b[11] = 0xff;
	hdr(b + 16, 0, 204, 12); /* APP */
	memcpy(b + 24, "name", 4);
	hdr(b + 28, 0, 201, 8);
	put32(b + 32, 77);
	hdr(b + 36, 0, 199, 4); /* unknown type, length 0 words */
	assert_int_equal(parse(b, 40, &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_RR);
	assert_int_equal(g.it[0].sender_ssrc, 77);
}

static void test_padding(void **state)
{
	uint8_t b[16] = {0};
	struct got g;
	hdr(b, 0, 201, 16);
	b[0] |= 0x20;
	put32(b + 4, 5);
	b[15] = 8;
	assert_int_equal(parse(b, 16, &g), 1);
	assert_int_equal(g.it[0].sender_ssrc, 5);
	b[15] = 0;
	assert_int_equal(parse(b, 16, &g), -EBADMSG);
	b[15] = 13; /* more than the body */
	assert_int_equal(parse(b, 16, &g), -EBADMSG);
	b[15] = 12; /* leaves no room for the SSRC */
	assert_int_equal(parse(b, 16, &g), -EBADMSG);
	static const uint8_t empty_pad[] = {0xa0, 201, 0, 0};
	assert_int_equal(parse(empty_pad, 4, &g), -EBADMSG);
}

static void test_callback_stop(void **state)
{
	uint8_t b[36];
	struct got g;
	int n = rtcp_write_rr(b, sizeof(b), 1, NULL, 0);
	n += rtcp_write_pli(b + n, sizeof(b) - (size_t)n, 1, 2);
	n += rtcp_write_pli(b + n, sizeof(b) - (size_t)n, 1, 3);
	assert_int_equal(n, 32);
	memset(&g, 0, sizeof(g));
	g.stop_after = 2;
	assert_int_equal(rtcp_parse(b, 32, collect, &g), 2);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.it[1].media_ssrc, 2);
}

/* Chrome's regular compound: SR (no report blocks) + SDES with a 16-character CNAME. */
static void test_chrome_sr_sdes(void **state)
{
	static const uint8_t pkt[] = {
	    0x80, 0xc8, 0x00, 0x06, 0x5c, 0x3e, 0x42, 0x1b, 0xe9, 0x6b, 0x3a, 0x0c, 0x4b, 0x1d,
	    0x2f, 0x1b, 0x3e, 0x7c, 0x8d, 0x40, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x00, 0x9c, 0x40,
	    0x81, 0xca, 0x00, 0x06, 0x5c, 0x3e, 0x42, 0x1b, 0x01, 0x10, 'N',  'k',  '3',  'x',
	    'y',  'Q',  '8',  'b',  'T',  'a',  'w',  'E',  'p',  'Z',  '1',  'd',  0x00, 0x00};
	struct got g;
	assert_int_equal(sizeof(pkt), 56);
	assert_int_equal(parse(pkt, sizeof(pkt), &g), 2);
	assert_int_equal(g.it[0].kind, RTCP_SR);
	assert_int_equal(g.it[0].sender_ssrc, 0x5c3e421b);
	assert_true(g.it[0].ntp == 0xe96b3a0c4b1d2f1bull);
	assert_int_equal(g.it[0].rtp_ts, 0x3e7c8d40);
	assert_int_equal(g.it[0].packet_count, 300);
	assert_int_equal(g.it[0].octet_count, 40000);
	assert_int_equal(g.it[0].n_reports, 0);
	assert_int_equal(g.it[1].kind, RTCP_SDES);
	assert_int_equal(g.it[1].sender_ssrc, 0x5c3e421b);
}

/* Chrome's receiver-side compound: RR with a block + REMB + NACK + TWCC. */
static void test_chrome_feedback_compound(void **state)
{
	uint8_t b[256];
	struct rtcp_report rep = {.ssrc = 0xabc, .fraction_lost = 3, .cumulative_lost = 7};
	uint32_t ss = 0xabc;
	uint16_t seqs[] = {10, 12};
	size_t n = (size_t)rtcp_write_rr(b, sizeof(b), 1, &rep, 1);
	n += (size_t)rtcp_write_remb(b + n, sizeof(b) - n, 1, 1500000, &ss, 1);
	n += (size_t)rtcp_write_nack(b + n, sizeof(b) - n, 1, 0xabc, seqs, 2);
	hdr(b + n, 15, 205, 20);
	memset(b + n + 4, 0, 16);
	n += 20;
	struct got g;
	assert_int_equal(parse(b, n, &g), 4);
	assert_int_equal(g.it[0].kind, RTCP_RR);
	assert_int_equal(g.it[1].kind, RTCP_REMB);
	assert_int_equal(g.it[2].kind, RTCP_NACK);
	assert_int_equal(g.it[3].kind, RTCP_TWCC);
}

static void assert_report_equal(const struct rtcp_report *a, const struct rtcp_report *b)
{
	assert_int_equal(a->ssrc, b->ssrc);
	assert_int_equal(a->fraction_lost, b->fraction_lost);
	assert_int_equal(a->cumulative_lost, b->cumulative_lost);
	assert_int_equal(a->ext_highest_seq, b->ext_highest_seq);
	assert_int_equal(a->jitter, b->jitter);
	assert_int_equal(a->lsr, b->lsr);
	assert_int_equal(a->dlsr, b->dlsr);
}

static void test_build_sr_rr(void **state)
{
	struct rtcp_report rep[RTCP_MAX_REPORTS];
	for (int i = 0; i < RTCP_MAX_REPORTS; i++)
		rep[i] = (struct rtcp_report){.ssrc = 100u + (uint32_t)i,
		                              .fraction_lost = (uint8_t)i,
		                              .cumulative_lost = i % 2 ? -i * 1000 : i * 1000,
		                              .ext_highest_seq = 70000u + (uint32_t)i,
		                              .jitter = (uint32_t)i,
		                              .lsr = 5,
		                              .dlsr = 6};
	uint8_t b[1024];
	struct got g;
	int n = rtcp_write_sr(b, sizeof(b), 0x1234, 0x0102030405060708ull, 9, 10, 11, rep, 2);
	assert_int_equal(n, 28 + 48);
	assert_int_equal(parse(b, (size_t)n, &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_SR);
	assert_int_equal(g.it[0].sender_ssrc, 0x1234);
	assert_true(g.it[0].ntp == 0x0102030405060708ull);
	assert_int_equal(g.it[0].rtp_ts, 9);
	assert_int_equal(g.it[0].packet_count, 10);
	assert_int_equal(g.it[0].octet_count, 11);
	assert_int_equal(g.it[0].n_reports, 2);
	assert_report_equal(&g.it[0].reports[1], &rep[1]);
	n = rtcp_write_rr(b, sizeof(b), 0x4321, rep, RTCP_MAX_REPORTS);
	assert_int_equal(n, 8 + 24 * RTCP_MAX_REPORTS);
	assert_int_equal(parse(b, (size_t)n, &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_RR);
	assert_int_equal(g.it[0].n_reports, RTCP_MAX_REPORTS);
	for (int i = 0; i < RTCP_MAX_REPORTS; i++)
		assert_report_equal(&g.it[0].reports[i], &rep[i]);
	/* Out-of-range loss is clamped to 24 bits, not wrapped. */
	rep[0].cumulative_lost = 20000000;
	rep[1].cumulative_lost = -20000000;
	n = rtcp_write_rr(b, sizeof(b), 1, rep, 2);
	assert_int_equal(parse(b, (size_t)n, &g), 1);
	assert_int_equal(g.it[0].reports[0].cumulative_lost, 0x7fffff);
	assert_int_equal(g.it[0].reports[1].cumulative_lost, -0x800000);
	/* Errors. */
	assert_int_equal(rtcp_write_rr(b, 7, 1, NULL, 0), -ENOSPC);
	assert_int_equal(rtcp_write_sr(b, 27, 1, 0, 0, 0, 0, NULL, 0), -ENOSPC);
	assert_int_equal(rtcp_write_sr(b, 28 + 23, 1, 0, 0, 0, 0, rep, 1), -ENOSPC);
	assert_int_equal(rtcp_write_rr(b, sizeof(b), 1, rep, 32), -EINVAL);
	assert_int_equal(rtcp_write_rr(b, sizeof(b), 1, rep, -1), -EINVAL);
	assert_int_equal(rtcp_write_rr(b, sizeof(b), 1, NULL, 1), -EINVAL);
}

static void test_build_sdes(void **state)
{
	char cname[256];
	uint8_t b[300];
	struct got g;
	for (size_t len = 0; len <= 255; len++) {
		memset(cname, 'a' + (int)(len % 26), len);
		cname[len] = 0;
		int n = rtcp_write_sdes_cname(b, sizeof(b), 0xfeed, cname);
		assert_int_equal(n % 4, 0);
		assert_true((size_t)n >= 4 + 4 + 2 + len + 1);
		assert_true((size_t)n <= 4 + 4 + 2 + len + 4);
		assert_int_equal(b[10 + len], 0);
		assert_int_equal(b[9], len);
		assert_memory_equal(b + 10, cname, len);
		assert_int_equal(parse(b, (size_t)n, &g), 1);
		assert_int_equal(g.it[0].kind, RTCP_SDES);
		assert_int_equal(g.it[0].sender_ssrc, 0xfeed);
		assert_int_equal(rtcp_write_sdes_cname(b, (size_t)n - 1, 1, cname), -ENOSPC);
	}
	memset(cname, 'z', 256);
	assert_int_equal(rtcp_write_sdes_cname(b, sizeof(b), 1, cname), -EINVAL); /* 256+ chars */
	assert_int_equal(rtcp_write_sdes_cname(b, sizeof(b), 1, NULL), -EINVAL);
}

static void test_build_pli_fir(void **state)
{
	uint8_t b[32];
	struct got g;
	assert_int_equal(rtcp_write_pli(b, 11, 1, 2), -ENOSPC);
	assert_int_equal(rtcp_write_pli(b, sizeof(b), 1, 2), 12);
	assert_int_equal(parse(b, 12, &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_PLI);
	assert_int_equal(g.it[0].sender_ssrc, 1);
	assert_int_equal(g.it[0].media_ssrc, 2);
	assert_int_equal(rtcp_write_fir(b, 19, 1, 2, 3), -ENOSPC);
	assert_int_equal(rtcp_write_fir(b, sizeof(b), 1, 0xdead, 200), 20);
	assert_int_equal(b[8] | b[9] | b[10] | b[11], 0); /* RFC 5104: header media SSRC 0 */
	assert_int_equal(parse(b, 20, &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_FIR);
	assert_int_equal(g.it[0].n_fir, 1);
	assert_int_equal(g.it[0].fir_ssrc[0], 0xdead);
	assert_int_equal(g.it[0].fir_seq[0], 200);
	assert_int_equal(g.it[0].media_ssrc, 0xdead);
}

/* Builds a NACK of seqs, parses it, and checks the expansion is the sorted unique set. */
static int nack_roundtrip(const uint16_t *seqs, int n, uint16_t *out, int max)
{
	static uint8_t b[4096];
	struct got g;
	int len = rtcp_write_nack(b, sizeof(b), 5, 6, seqs, n);
	assert_true(len > 12);
	assert_int_equal(parse(b, (size_t)len, &g), 1);
	assert_int_equal(g.it[0].kind, RTCP_NACK);
	assert_int_equal(g.it[0].media_ssrc, 6);
	assert_int_equal(g.it[0].fci_len, (size_t)len - 12);
	return rtcp_nack_seqs(&g.it[0], out, max);
}

static void test_build_nack(void **state)
{
	uint16_t out[1024];
	static const uint16_t a[] = {7, 5, 5, 1, 17, 18, 40, 1};
	assert_int_equal(nack_roundtrip(a, 8, out, 1024), 6);
	static const uint16_t want_a[] = {1, 5, 7, 17, 18, 40};
	assert_memory_equal(out, want_a, sizeof(want_a));
	/* Wraparound stays one pair: 65534 with 65535, 0, 14 in its mask. */
	static const uint16_t w[] = {14, 0, 65535, 65534};
	assert_int_equal(nack_roundtrip(w, 4, out, 1024), 4);
	static const uint16_t want_w[] = {65534, 65535, 0, 14};
	assert_memory_equal(out, want_w, sizeof(want_w));
	uint8_t b[64];
	assert_int_equal(rtcp_write_nack(b, sizeof(b), 5, 6, w, 4), 16);
	/* 17 consecutive fit one pair; 18 need two. */
	uint16_t run[600];
	for (int i = 0; i < 600; i++)
		run[i] = (uint16_t)(1000 + i);
	assert_int_equal(rtcp_write_nack(b, sizeof(b), 5, 6, run, 17), 16);
	assert_int_equal(rtcp_write_nack(b, sizeof(b), 5, 6, run, 18), 20);
	assert_int_equal(nack_roundtrip(run, 600, out, 1024), 600);
	for (int i = 0; i < 600; i++)
		assert_int_equal(out[i], 1000 + i);
	/* Sparse seqs, one pair each: 13 pairs need 64 bytes, 14 do not fit. */
	uint16_t sparse[14];
	for (int i = 0; i < 14; i++)
		sparse[i] = (uint16_t)(i * 100);
	assert_int_equal(rtcp_write_nack(b, sizeof(b), 5, 6, sparse, 13), 64);
	assert_int_equal(rtcp_write_nack(b, sizeof(b), 5, 6, sparse, 14), -ENOSPC);
	assert_int_equal(rtcp_write_nack(b, 15, 5, 6, sparse, 1), -ENOSPC);
	assert_int_equal(rtcp_write_nack(b, sizeof(b), 5, 6, sparse, 0), -EINVAL);
	assert_int_equal(rtcp_write_nack(b, sizeof(b), 5, 6, NULL, 1), -EINVAL);
}

static void test_build_remb(void **state)
{
	static const uint64_t rates[] = {0,       1,       0x3ffff,       0x40000,    300000,
	                                 1500000, 2500000, 3000000000ull, 1ull << 40, UINT64_MAX};
	uint32_t ss[3] = {11, 22, 33};
	uint8_t b[64];
	struct got g;
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		int n = rtcp_write_remb(b, sizeof(b), 9, rates[i], ss, 3);
		assert_int_equal(n, 32);
		assert_int_equal(parse(b, (size_t)n, &g), 1);
		assert_int_equal(g.it[0].kind, RTCP_REMB);
		assert_int_equal(g.it[0].sender_ssrc, 9);
		assert_int_equal(g.it[0].media_ssrc, 0);
		assert_int_equal(g.it[0].n_remb_ssrcs, 3);
		assert_int_equal(g.it[0].remb_ssrcs[2], 33);
		uint64_t got = g.it[0].remb_bps, want = rates[i];
		assert_true(got <= want);
		assert_true(want - got <= want >> 17); /* 18-bit mantissa precision */
		if (want <= 0x3ffff)
			assert_true(got == want);
	}
	assert_int_equal(rtcp_write_remb(b, sizeof(b), 9, 1000, NULL, 0), 20);
	assert_int_equal(rtcp_write_remb(b, 19, 9, 1000, NULL, 0), -ENOSPC);
	assert_int_equal(rtcp_write_remb(b, sizeof(b), 9, 1000, NULL, 1), -EINVAL);
	assert_int_equal(rtcp_write_remb(b, sizeof(b), 9, 1000, ss, 256), -EINVAL);
}

static void test_ntp(void **state)
{
	assert_true(rtcp_ntp_from_us(0) == 2208988800ull << 32);
	assert_true(rtcp_ntp_from_us(500000) == (2208988800ull << 32 | 0x80000000u));
	assert_true(rtcp_ntp_from_us(1250000) == (2208988801ull << 32 | 0x40000000u));
	assert_true(rtcp_ntp_from_us(-1) >> 32 == 2208988799ull);
	assert_true((rtcp_ntp_from_us(-1) & 0xffffffffu) == 0xffffef39u);
	/* 2024-01-01T00:00:00Z = 1704067200 s */
	assert_true(rtcp_ntp_from_us(1704067200LL * 1000000) == (3913056000ull << 32));
	/* Monotonic across a second boundary. */
	assert_true(rtcp_ntp_from_us(1999999) < rtcp_ntp_from_us(2000000));
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Worst cases for a 1472-byte packet: many tiny packets, many tiny SDES items. */
static void test_linear_time(void **state)
{
	static uint8_t bufs[4][1472];
	size_t i;
	for (i = 0; i < 1472; i += 4)
		hdr(bufs[0] + i, 0, 199, 4); /* 368 empty unknown packets */
	for (i = 0; i + 12 <= 1472; i += 12)
		hdr(bufs[1] + i, 1, 206, 12); /* 122 PLIs */
	hdr(bufs[1] + i, 0, 199, 1472 - i);
	memset(bufs[2], 0, 1472); /* one SDES chunk of 729 empty items, then the terminator */
	hdr(bufs[2], 1, 202, 1472);
	for (i = 8; i + 2 < 1472; i += 2)
		bufs[2][i] = 1;
	for (i = 0; i + 8 <= 1472; i += 8)
		hdr(bufs[3] + i, 0, 201, 8); /* 184 RRs */
	static const int want[4] = {0, 122, 1, 184};
	double worst = 0;
	for (int k = 0; k < 4; k++) {
		assert_int_equal(rtcp_parse(bufs[k], 1472, NULL, NULL), want[k]);
		double t0 = now_us();
		for (int r = 0; r < 1000; r++)
			rtcp_parse(bufs[k], 1472, NULL, NULL);
		double per = (now_us() - t0) / 1000;
		worst = per > worst ? per : worst;
	}
	print_message("worst-case rtcp_parse of 1472 bytes: %.2f us\n", worst);
	assert_true(worst < 2000); /* generous: linear is a few us, even under ASan */
}

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static int fuzz_cb(void *opaque, const struct rtcp_item *it)
{
	uint16_t seqs[64];
	int n = rtcp_nack_seqs(it, seqs, 64);
	assert_true(n >= 0 && n <= 64);
	assert_true(it->n_reports >= 0 && it->n_reports <= RTCP_MAX_REPORTS);
	assert_true(it->n_fir >= 0 && it->n_fir <= RTCP_MAX_FIR);
	assert_true(it->n_remb_ssrcs >= 0 && it->n_remb_ssrcs <= RTCP_MAX_REMB_SSRCS);
	(*(int *)opaque)++;
	return 0;
}

/* Random bytes with plausible headers dropped in, so the walk gets past the first packet. */
static void test_random_buffers(void **state)
{
	static uint8_t b[1500];
	static const uint8_t pts[] = {200, 201, 202, 203, 204, 205, 206, 207};
	uint32_t seed = 0x9e3779b9;
	int items = 0;
	for (int iter = 0; iter < 100000; iter++) {
		size_t len = xorshift(&seed) % 1501;
		for (size_t i = 0; i < len; i++)
			b[i] = (uint8_t)xorshift(&seed);
		for (size_t off = 0; (iter & 1) && off + 4 <= len;) {
			size_t words = xorshift(&seed) % 12;
			b[off] = (uint8_t)(0x80 | (b[off] & 0x3f));
			b[off + 1] = pts[xorshift(&seed) % 8];
			b[off + 2] = 0;
			b[off + 3] = (uint8_t)words;
			if (b[off + 1] == 206 && off + 16 <= len && (iter & 2))
				memcpy(b + off + 12, "REMB", 4);
			off += 4 + words * 4;
		}
		int r = rtcp_parse(b, len, fuzz_cb, &items);
		assert_true(r == -EBADMSG || r >= 0);
	}
	assert_true(items > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_short_and_version),
	    cmocka_unit_test(test_length_past_end),
	    cmocka_unit_test(test_length_not_multiple_of_4),
	    cmocka_unit_test(test_rc_more_than_blocks),
	    cmocka_unit_test(test_sr_profile_extension),
	    cmocka_unit_test(test_cumulative_lost_sign),
	    cmocka_unit_test(test_nack_zero_fci),
	    cmocka_unit_test(test_nack_fci),
	    cmocka_unit_test(test_twcc_truncated),
	    cmocka_unit_test(test_remb),
	    cmocka_unit_test(test_remb_exponent_overflow),
	    cmocka_unit_test(test_pli_fir),
	    cmocka_unit_test(test_sdes),
	    cmocka_unit_test(test_bye),
	    cmocka_unit_test(test_xr_app_unknown_skipped),
	    cmocka_unit_test(test_padding),
	    cmocka_unit_test(test_callback_stop),
	    cmocka_unit_test(test_chrome_sr_sdes),
	    cmocka_unit_test(test_chrome_feedback_compound),
	    cmocka_unit_test(test_build_sr_rr),
	    cmocka_unit_test(test_build_sdes),
	    cmocka_unit_test(test_build_pli_fir),
	    cmocka_unit_test(test_build_nack),
	    cmocka_unit_test(test_build_remb),
	    cmocka_unit_test(test_ntp),
	    cmocka_unit_test(test_linear_time),
	    cmocka_unit_test(test_random_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
