/*
 * test_twcc.c - unit tests for src/rtp/twcc.c (transport-wide CC feedback, both directions),
 * the transport-wide sequence number extension (rtp.c, rtx_pkt_write_ext in nack.c) and the
 * RTCP_TWCC item of rtcp_parse.
 *
 * Build -> parse round trips (in order, losses, reordering, 16-bit wrap, large and negative
 * deltas, a gap over 8 s, several feedbacks in a row, a byte limit), the chunk types chosen,
 * a hand-written FCI with a run-length, a one-bit and a two-bit status vector chunk (from the
 * draft's 3.1), truncated, reserved and random input, and the window bound against a peer that
 * jumps its sequence numbers. Single-threaded; feedback structs are static (32 KiB each).
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

#include "mix/packet.h"
#include "rtp/nack.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/twcc.h"

#define SENDER 0x11223344u
#define MEDIA  0x55667788u

static struct twcc_fb fb;

static struct twcc_recv *new_recv(void)
{
	struct twcc_recv *r = NULL;
	assert_int_equal(twcc_recv_alloc(&r), 0);
	assert_non_null(r);
	return r;
}

struct got_twcc {
	int n;
	int kinds[8];
	const uint8_t *fci;
	size_t fci_len;
	uint32_t sender, media;
};

static int collect(void *opaque, const struct rtcp_item *it)
{
	struct got_twcc *g = opaque;
	if (g->n < 8)
		g->kinds[g->n] = it->kind;
	g->n++;
	if (it->kind == RTCP_TWCC) {
		g->fci = it->fci;
		g->fci_len = it->fci_len;
		g->sender = it->sender_ssrc;
		g->media = it->media_ssrc;
	}
	return 0;
}

/* Builds one feedback (cap bytes at most), checks its framing, parses it back into fb. */
static int build_parse(struct twcc_recv *r, size_t cap)
{
	uint8_t buf[2048];
	assert_true(cap <= sizeof(buf));
	int n = twcc_recv_build(r, SENDER, MEDIA, buf, cap);
	if (n <= 0)
		return n;
	assert_true((size_t)n <= cap);
	assert_int_equal(n % 4, 0);
	assert_int_equal(buf[0], 0x80 | 15);
	assert_int_equal(buf[1], 205);
	assert_int_equal((buf[2] << 8 | buf[3]) * 4 + 4, n);
	struct got_twcc g = {0};
	assert_int_equal(rtcp_parse(buf, (size_t)n, collect, &g), 1);
	assert_int_equal(g.kinds[0], RTCP_TWCC);
	assert_int_equal(g.sender, SENDER);
	assert_int_equal(g.media, MEDIA);
	assert_int_equal(g.fci_len, (size_t)n - 12);
	assert_int_equal(twcc_parse_fci(g.fci, g.fci_len, &fb), 0);
	return n;
}

/* Arrival relative to the reference time, as the feedback carries it (250 us resolution). */
static int64_t rel(int i)
{
	return fb.pkts[i].arrival_us - fb.ref_us;
}

/* ---- the header extension ---- */

static void test_ext_reader_writer(void **state)
{
	uint8_t buf[64], ast[3] = {0x12, 0x34, 0x56}, ts[2], pl[4] = {9, 8, 7, 6};
	rtp_transport_seq_put(ts, 0xbeef);
	struct rtp_ext_elem e[2] = {{3, 3, ast}, {5, RTP_TRANSPORT_SEQ_LEN, ts}};
	struct rtp_hdr in = {.pt = 96, .seq = 7, .ts = 1000, .ssrc = 42}, h;
	int n = rtp_write_ext(buf, sizeof(buf), &in, e, 2, pl, sizeof(pl));
	assert_int_equal(n, 12 + 4 + 8 + 4);
	static const uint8_t ext[] = {0xbe, 0xde, 0,    2,    0x32, 0x12,
	                              0x34, 0x56, 0x51, 0xbe, 0xef, 0};
	assert_memory_equal(buf + 12, ext, sizeof(ext));
	assert_int_equal(buf[0], 0x90);
	assert_int_equal(rtp_parse(buf, (size_t)n, &h), RTP_OK);
	uint16_t seq = 0;
	assert_int_equal(rtp_transport_seq(&h, 5, &seq), 0);
	assert_int_equal(seq, 0xbeef);
	assert_int_equal(rtp_transport_seq(&h, 4, &seq), -ENOENT);
	assert_int_equal(rtp_transport_seq(&h, 3, &seq), -EBADMSG); /* 3 bytes: not a seq */
	assert_int_equal(h.payload_len, 4);
	assert_memory_equal(h.payload, pl, 4);
	/* One element: the same bytes as rtp_write. */
	uint8_t b2[64];
	assert_int_equal(rtp_write(b2, sizeof(b2), &in, 3, ast, 3, pl, 4),
	                 rtp_write_ext(buf, sizeof(buf), &in, e, 1, pl, 4));
	assert_memory_equal(buf, b2, 24);
	/* Bad elements and sizes. */
	struct rtp_ext_elem bad = {15, 2, ts};
	assert_int_equal(rtp_write_ext(buf, sizeof(buf), &in, &bad, 1, NULL, 0), -EINVAL);
	bad = (struct rtp_ext_elem){1, 0, ts};
	assert_int_equal(rtp_write_ext(buf, sizeof(buf), &in, &bad, 1, NULL, 0), -EINVAL);
	bad = (struct rtp_ext_elem){1, 2, NULL};
	assert_int_equal(rtp_write_ext(buf, sizeof(buf), &in, &bad, 1, NULL, 0), -EINVAL);
	assert_int_equal(rtp_write_ext(buf, sizeof(buf), &in, e, RTP_MAX_EXT_ELEMS + 1, NULL, 0),
	                 -EINVAL);
	assert_int_equal(rtp_write_ext(buf, 23, &in, e, 2, NULL, 0), -ENOSPC);
	assert_int_equal(rtp_write_ext(buf, 24, &in, e, 2, NULL, 0), 24);
	/* Two-byte form (RFC 8285 4.3): id 5, length 2. */
	static const uint8_t two[] = {0x90, 96, 0,    1,    0, 0, 0, 0, 0,    0,
	                              0,    1,  0x10, 0x00, 0, 1, 5, 2, 0xab, 0xcd};
	assert_int_equal(rtp_parse(two, sizeof(two), &h), RTP_OK);
	assert_int_equal(rtp_transport_seq(&h, 5, &seq), 0);
	assert_int_equal(seq, 0xabcd);
	struct rtp_hdr none = {0};
	assert_int_equal(rtp_transport_seq(&none, 5, &seq), -ENOENT);
}

/* rtx_pkt_write_ext: the stored abs-send-time element, then the per-send transport seq. */
static void test_rtx_pkt_write_ext(void **state)
{
	uint8_t data[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, a[64], b[64], ts[2];
	struct rtx_pkt rp = {.frame = mix_packet_copy(data, sizeof(data)),
	                     .len = 10,
	                     .ssrc = 9,
	                     .pt = 100,
	                     .ext_id = 3,
	                     .ext_len = 3,
	                     .ext = {0xaa, 0xbb, 0xcc},
	                     .prefix_len = 1,
	                     .prefix = {0x90}};
	assert_non_null(rp.frame);
	int n1 = rtx_pkt_write(&rp, 77, a, sizeof(a));
	assert_int_equal(n1, rtx_pkt_write_ext(&rp, 77, NULL, b, sizeof(b)));
	assert_memory_equal(a, b, (size_t)n1);
	rtp_transport_seq_put(ts, 65535);
	struct rtp_ext_elem e = {7, 2, ts};
	int n2 = rtx_pkt_write_ext(&rp, 78, &e, b, sizeof(b));
	assert_int_equal(n2, n1 + 4);
	struct rtp_hdr h;
	assert_int_equal(rtp_parse(b, (size_t)n2, &h), RTP_OK);
	uint16_t seq;
	assert_int_equal(rtp_transport_seq(&h, 7, &seq), 0);
	assert_int_equal(seq, 65535);
	const uint8_t *d;
	size_t len;
	assert_int_equal(rtp_ext_find(&h, 3, &d, &len), 0);
	assert_int_equal(len, 3);
	assert_int_equal(d[2], 0xcc);
	assert_int_equal(h.payload_len, 11);
	assert_memory_equal(h.payload + 1, data, 10);
	/* Without a stored element: just the transport seq. */
	rp.ext_id = 0;
	rp.ext_len = 0;
	assert_int_equal(rtx_pkt_write_ext(&rp, 79, &e, b, sizeof(b)), 12 + 8 + 11);
	assert_int_equal(rtx_pkt_write_ext(&rp, 79, &e, b, 30), -ENOSPC);
	mix_packet_unref(&rp.frame);
}

/* ---- receive side: build -> parse ---- */

static void test_in_order(void **state)
{
	struct twcc_recv *r = new_recv();
	assert_int_equal(twcc_recv_build(r, SENDER, MEDIA, (uint8_t[64]){0}, 64), 0);
	for (int i = 0; i < 20; i++)
		twcc_recv_on_packet(r, (uint16_t)(100 + i), 1000000 + i * 5000);
	assert_int_equal(twcc_recv_pending(r), 20);
	int n = build_parse(r, 1500);
	/* 20 small deltas: one run-length chunk (0x2014), 20 delta bytes. */
	assert_int_equal(n, 20 + 2 + 20 + 2);
	assert_int_equal(fb.base_seq, 100);
	assert_int_equal(fb.count, 20);
	assert_int_equal(fb.fb_count, 0);
	assert_int_equal(fb.ref_us, 15 * 64000);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(fb.pkts[i].seq, 100 + i);
		assert_true(fb.pkts[i].received);
		assert_int_equal(fb.pkts[i].arrival_us, 1000000 + i * 5000);
	}
	assert_int_equal(twcc_recv_pending(r), 0);
	assert_int_equal(build_parse(r, 1500), 0);
	twcc_recv_free(&r);
	assert_null(r);
	twcc_recv_free(&r);
}

/* Losses, reordering (a negative delta), a large delta, duplicates. */
static void test_losses_reorder(void **state)
{
	struct twcc_recv *r = new_recv();
	twcc_recv_on_packet(r, 10, 64000);  /* ref 1 */
	twcc_recv_on_packet(r, 11, 65000);  /* +1 ms */
	twcc_recv_on_packet(r, 14, 70000);  /* 12, 13 lost */
	twcc_recv_on_packet(r, 13, 71000);  /* reordered: 14 is -1 ms after it */
	twcc_recv_on_packet(r, 15, 400000); /* +330 ms: large */
	twcc_recv_on_packet(r, 15, 500000); /* duplicate: ignored */
	twcc_recv_on_packet(r, 17, 400250); /* 16 lost */
	build_parse(r, 1500);
	assert_int_equal(fb.base_seq, 10);
	assert_int_equal(fb.count, 8);
	static const bool rx[8] = {1, 1, 0, 1, 1, 1, 0, 1};
	static const int64_t at[8] = {0, 1000, 0, 7000, 6000, 336000, 0, 336250};
	for (int i = 0; i < 8; i++) {
		assert_int_equal(fb.pkts[i].received, rx[i]);
		if (rx[i])
			assert_int_equal(rel(i), at[i]);
	}
	struct twcc_recv_stats st;
	twcc_recv_get_stats(r, &st);
	assert_int_equal(st.packets, 7);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.feedbacks, 1);
	/* A packet older than what was reported is dropped. */
	twcc_recv_on_packet(r, 12, 600000);
	assert_int_equal(twcc_recv_pending(r), 0);
	twcc_recv_get_stats(r, &st);
	assert_int_equal(st.late, 1);
	twcc_recv_free(&r);
}

static void test_wrap_and_continuation(void **state)
{
	struct twcc_recv *r = new_recv();
	for (int i = 0; i < 12; i++)
		twcc_recv_on_packet(r, (uint16_t)(65530 + i), 2000000 + i * 1000);
	build_parse(r, 1500);
	assert_int_equal(fb.base_seq, 65530);
	assert_int_equal(fb.count, 12);
	assert_int_equal(fb.pkts[6].seq, 0);
	assert_int_equal(fb.pkts[11].seq, 5);
	for (int i = 1; i < 12; i++)
		assert_int_equal(fb.pkts[i].arrival_us - fb.pkts[i - 1].arrival_us, 1000);
	/* Next feedbacks continue where this one stopped, fb_count increments. */
	for (int k = 1; k <= 300; k++) {
		twcc_recv_on_packet(r, (uint16_t)(5 + k), 3000000 + k * 1000);
		build_parse(r, 1500);
		assert_int_equal(fb.base_seq, 5 + k);
		assert_int_equal(fb.count, 1);
		assert_int_equal(fb.fb_count, k & 0xff);
	}
	/* A gap in the sequence between feedbacks: the next one starts after the last reported. */
	twcc_recv_on_packet(r, 310, 4000000);
	build_parse(r, 1500);
	assert_int_equal(fb.base_seq, 306);
	assert_int_equal(fb.count, 5);
	assert_false(fb.pkts[0].received);
	assert_true(fb.pkts[4].received);
	twcc_recv_free(&r);
}

/* Before the first feedback an older packet moves the base back to it. */
static void test_first_feedback_base(void **state)
{
	struct twcc_recv *r = new_recv();
	twcc_recv_on_packet(r, 5, 100000);
	twcc_recv_on_packet(r, 3, 101000);
	build_parse(r, 1500);
	assert_int_equal(fb.base_seq, 3);
	assert_int_equal(fb.count, 3);
	assert_true(fb.pkts[0].received);
	assert_false(fb.pkts[1].received);
	assert_int_equal(fb.pkts[0].arrival_us - fb.pkts[2].arrival_us, 1000);
	twcc_recv_free(&r);
}

/* A gap over 8 s cannot be one delta: two feedbacks, each with its own reference time. */
static void test_gap_over_8s(void **state)
{
	struct twcc_recv *r = new_recv();
	twcc_recv_on_packet(r, 1, 1000000);
	twcc_recv_on_packet(r, 2, 1000000 + 8191750); /* the largest delta that fits */
	twcc_recv_on_packet(r, 3, 1000000 + 8191750 + 9000000);
	twcc_recv_on_packet(r, 4, 1000000 + 8191750 + 9000000 - 8192000); /* the most negative */
	build_parse(r, 1500);
	assert_int_equal(fb.base_seq, 1);
	assert_int_equal(fb.count, 2);
	assert_int_equal(fb.pkts[1].arrival_us - fb.pkts[0].arrival_us, 8191750);
	build_parse(r, 1500);
	assert_int_equal(fb.base_seq, 3);
	assert_int_equal(fb.count, 2);
	assert_int_equal(fb.fb_count, 1);
	assert_int_equal(fb.pkts[1].arrival_us - fb.pkts[0].arrival_us, -8192000);
	assert_int_equal(twcc_recv_build(r, 0, 0, (uint8_t[64]){0}, 64), 0);
	twcc_recv_free(&r);
}

/* The chunk types libwebrtc would choose. */
static void test_chunk_choice(void **state)
{
	uint8_t buf[256];
	struct twcc_recv *r = new_recv();
	/* small x3, lost x2, small x9: fourteen one-bit symbols. */
	for (int i = 0; i < 14; i++)
		if (i != 3 && i != 4)
			twcc_recv_on_packet(r, (uint16_t)i, 64000 + i * 250);
	int n = twcc_recv_build(r, 1, 2, buf, sizeof(buf));
	assert_int_equal(n, 20 + 2 + 12 + 2);
	assert_int_equal(buf[20] << 8 | buf[21], 0xb9ff);
	/* small, large, small: one two-bit vector. */
	twcc_recv_on_packet(r, 14, 200000);
	twcc_recv_on_packet(r, 15, 300000);
	twcc_recv_on_packet(r, 16, 300250);
	n = twcc_recv_build(r, 1, 2, buf, sizeof(buf));
	assert_int_equal(n, 20 + 2 + 4 + 2);
	assert_int_equal(buf[20] << 8 | buf[21], 0xd900);
	/* 100 lost then one small: a run of 100 not received, then a run of one small. */
	twcc_recv_on_packet(r, 117, 400000);
	n = twcc_recv_build(r, 1, 2, buf, sizeof(buf));
	assert_int_equal(n, 20 + 4 + 1 + 3);
	assert_int_equal(buf[20] << 8 | buf[21], 0x0064);
	assert_int_equal(buf[22] << 8 | buf[23], 0x2001);
	twcc_recv_free(&r);
}

/* A byte limit: the first feedback covers what fits, the next ones the rest. */
static void test_cap(void **state)
{
	struct twcc_recv *r = new_recv();
	for (int i = 0; i < 1000; i++)
		twcc_recv_on_packet(r, (uint16_t)(i * 2),
		                    64000 + i * 100000); /* every other, large */
	uint8_t small[23];
	assert_int_equal(twcc_recv_build(r, 1, 2, small, sizeof(small)), -ENOSPC);
	assert_int_equal(twcc_recv_pending(r), 1999);
	int n = build_parse(r, TWCC_FB_MIN_LEN); /* seq 0 (1 delta byte) and 1 (lost) fit */
	assert_int_equal(n, 24);
	assert_int_equal(fb.count, 2);
	int covered = 2, feedbacks = 1;
	uint16_t next = 2;
	while ((n = build_parse(r, 200)) > 0) {
		assert_true(n <= 200);
		assert_int_equal(fb.base_seq, next);
		next = (uint16_t)(next + fb.count);
		covered += fb.count;
		feedbacks++;
		for (int i = 0; i < fb.count; i++)
			assert_int_equal(fb.pkts[i].received, fb.pkts[i].seq % 2 == 0);
	}
	assert_int_equal(covered, 1999);
	assert_true(feedbacks > 10);
	twcc_recv_free(&r);
}

/* ---- send side: a hand-written FCI (draft 3.1: run length, one-bit and two-bit vectors) ---- */

static const uint8_t hand_fci[] = {
    0x01, 0x00,                   /* base sequence number 256 */
    0x00, 0x17,                   /* packet status count 23 */
    0x00, 0x00, 0x10,             /* reference time 16 x 64 ms */
    0x07,                         /* feedback packet count */
    0x20, 0x05,                   /* run length: 5 x small delta */
    0xac, 0x01,                   /* one-bit vector: 1 0 1 1 0 0 0 0 0 0 0 0 0 1 */
    0xd8, 0x40,                   /* two-bit vector: small large none small (none none none) */
    0x04, 0x04, 0x04, 0x04, 0x04, /* run: +1 ms each */
    0x10, 0x00, 0xff, 0x01,       /* one-bit vector: +4 ms, 0, +63.75 ms, +0.25 ms */
    0x08, 0xff, 0xf0, 0x02,       /* two-bit vector: +2 ms, -4 ms (large), +0.5 ms */
    0x00,                         /* zero padding */
};

static void check_hand_fb(void)
{
	static const int64_t at[23] = {1025000, 1026000, 1027000, 1028000, 1029000, 1033000,
	                               0,       1033000, 1096750, 0,       0,       0,
	                               0,       0,       0,       0,       0,       0,
	                               1097000, 1099000, 1095000, 0,       1095500};
	assert_int_equal(fb.base_seq, 256);
	assert_int_equal(fb.count, 23);
	assert_int_equal(fb.ref_us, 1024000);
	assert_int_equal(fb.fb_count, 7);
	for (int i = 0; i < 23; i++) {
		assert_int_equal(fb.pkts[i].seq, 256 + i);
		assert_int_equal(fb.pkts[i].received, at[i] != 0);
		assert_int_equal(fb.pkts[i].arrival_us, at[i]);
	}
}

static void test_hand_made(void **state)
{
	assert_int_equal(twcc_parse_fci(hand_fci, sizeof(hand_fci), &fb), 0);
	check_hand_fb();
	/* Without the padding byte too; any shorter is truncated. */
	assert_int_equal(twcc_parse_fci(hand_fci, sizeof(hand_fci) - 1, &fb), 0);
	for (size_t len = 0; len < sizeof(hand_fci) - 1; len++)
		assert_int_equal(twcc_parse_fci(hand_fci, len, &fb), -EBADMSG);
	assert_int_equal(twcc_parse_fci(NULL, 8, &fb), -EBADMSG);
	assert_int_equal(twcc_parse_fci(hand_fci, sizeof(hand_fci), NULL), -EBADMSG);
}

/* The same FCI inside a compound RR + TWCC + PLI, through rtcp_parse. */
static void test_rtcp_compound(void **state)
{
	uint8_t b[256];
	struct rtcp_report rep = {.ssrc = 0xabc, .fraction_lost = 3};
	size_t n = (size_t)rtcp_write_rr(b, sizeof(b), SENDER, &rep, 1);
	size_t fb_len = 12 + sizeof(hand_fci);
	uint8_t *p = b + n;
	p[0] = 0x80 | 15;
	p[1] = 205;
	p[2] = 0;
	p[3] = (uint8_t)(fb_len / 4 - 1);
	memcpy(p + 4, (uint8_t[]){0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}, 8);
	memcpy(p + 12, hand_fci, sizeof(hand_fci));
	n += fb_len;
	n += (size_t)rtcp_write_pli(b + n, sizeof(b) - n, SENDER, MEDIA);
	struct got_twcc g = {0};
	assert_int_equal(rtcp_parse(b, n, collect, &g), 3);
	assert_int_equal(g.kinds[0], RTCP_RR);
	assert_int_equal(g.kinds[1], RTCP_TWCC);
	assert_int_equal(g.kinds[2], RTCP_PLI);
	assert_int_equal(g.sender, SENDER);
	assert_int_equal(g.media, MEDIA);
	assert_ptr_equal(g.fci, p + 12);
	assert_int_equal(g.fci_len, sizeof(hand_fci));
	assert_int_equal(twcc_parse_fci(g.fci, g.fci_len, &fb), 0);
	check_hand_fb();
	/* With the P bit: the padding is stripped from fci_len. */
	p[0] |= 0x20;
	p[fb_len - 1] = 1;
	assert_int_equal(rtcp_parse(b, n, collect, &g), 3);
	assert_int_equal(g.fci_len, sizeof(hand_fci) - 1);
	assert_int_equal(twcc_parse_fci(g.fci, g.fci_len, &fb), 0);
	check_hand_fb();
}

static void test_bad_input(void **state)
{
	uint8_t f[sizeof(hand_fci)];
	memcpy(f, hand_fci, sizeof(f));
	f[2] = 0, f[3] = 0; /* status count 0 */
	assert_int_equal(twcc_parse_fci(f, sizeof(f), &fb), -EBADMSG);
	f[2] = (TWCC_MAX_PKTS + 1) >> 8, f[3] = (TWCC_MAX_PKTS + 1) & 0xff;
	assert_int_equal(twcc_parse_fci(f, sizeof(f), &fb), -EBADMSG);
	memcpy(f, hand_fci, sizeof(f));
	f[8] = 0x60; /* run length with the reserved symbol 11 */
	assert_int_equal(twcc_parse_fci(f, sizeof(f), &fb), -EBADMSG);
	memcpy(f, hand_fci, sizeof(f));
	f[12] = 0xdb; /* two-bit vector: 01 10 11 ... */
	assert_int_equal(twcc_parse_fci(f, sizeof(f), &fb), -EBADMSG);
	/* A reserved symbol past the status count is not looked at. */
	memcpy(f, hand_fci, sizeof(f));
	f[13] = 0x43;
	assert_int_equal(twcc_parse_fci(f, sizeof(f), &fb), 0);
	/* 2048 statuses in one run of small deltas, deltas missing. */
	uint8_t big[8 + 2 + 100] = {0, 0, 0x08, 0x00, 0, 0, 0, 0, 0x28, 0x00};
	assert_int_equal(twcc_parse_fci(big, sizeof(big), &fb), -EBADMSG);
	/* Zero-length runs make no progress but end with the input. */
	uint8_t zero[8 + 200] = {0, 0, 0, 5};
	assert_int_equal(twcc_parse_fci(zero, sizeof(zero), &fb), -EBADMSG);
	/* Random buffers: 0 or -EBADMSG, counts in bounds. */
	srand(7);
	uint8_t rb[64];
	int ok = 0;
	for (int k = 0; k < 100000; k++) {
		size_t len = (size_t)(rand() % (int)sizeof(rb));
		for (size_t i = 0; i < len; i++)
			rb[i] = (uint8_t)rand();
		if (len >= 4 && k % 2) { /* a small status count, so some parse */
			rb[2] = 0;
			rb[3] = (uint8_t)(rb[3] % 16 + 1);
		}
		int rc = twcc_parse_fci(rb, len, &fb);
		assert_true(rc == 0 || rc == -EBADMSG);
		if (rc == 0) {
			ok++;
			assert_true(fb.count >= 1 && fb.count <= TWCC_MAX_PKTS);
		}
	}
	assert_true(ok > 100);
}

/* A peer jumping its sequence numbers: bounded state and time, feedbacks stay small. */
static void test_window_bound(void **state)
{
	struct twcc_recv *r = new_recv();
	struct twcc_recv_stats st;
	uint16_t seq = 0;
	clock_t t0 = clock();
	for (int i = 0; i < 200000; i++) {
		twcc_recv_on_packet(r, seq, 1000000 + i * 10);
		seq = (uint16_t)(seq + (i % 3 == 2 ? 30000 : 4000));
		assert_true(twcc_recv_pending(r) <= TWCC_RECV_WINDOW);
	}
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_true(secs < 5.0);
	twcc_recv_get_stats(r, &st);
	assert_true(st.evicted > 100000);
	assert_int_equal(st.packets, 200000);
	int n, feedbacks = 0;
	uint64_t reported = 0;
	while ((n = build_parse(r, 1500)) > 0) {
		assert_true(fb.count <= TWCC_MAX_PKTS);
		for (int i = 0; i < fb.count; i++)
			reported += fb.pkts[i].received;
		feedbacks++;
	}
	assert_int_equal(reported, 2);
	assert_int_equal(st.packets, st.evicted + st.late + st.duplicates + reported);
	assert_true(feedbacks >= 2 && feedbacks <= 10);
	/* Backwards by 30000 after a feedback: late, nothing pending. */
	twcc_recv_on_packet(r, (uint16_t)(seq - 30000), 5000000);
	assert_int_equal(twcc_recv_pending(r), 0);
	twcc_recv_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ext_reader_writer),
	    cmocka_unit_test(test_rtx_pkt_write_ext),
	    cmocka_unit_test(test_in_order),
	    cmocka_unit_test(test_losses_reorder),
	    cmocka_unit_test(test_wrap_and_continuation),
	    cmocka_unit_test(test_first_feedback_base),
	    cmocka_unit_test(test_gap_over_8s),
	    cmocka_unit_test(test_chunk_choice),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_hand_made),
	    cmocka_unit_test(test_rtcp_compound),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_window_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
