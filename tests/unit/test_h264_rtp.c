/*
 * test_h264_rtp.c - unit tests for the H.264 RTP payload format (RFC 6184, packetization-mode 1).
 *
 * Round trips packetize -> assemble of synthetic access units (SPS + PPS + an IDR large enough
 * for FU-A, then a small P frame; 3- and 4-byte start codes), the marker on the last packet only,
 * balanced fragments, max_payload edges (a NAL that exactly fits, one byte over, the smallest
 * max_payload), the parts API against the copying one; hand-built STAP-A and every truncation of
 * it (exact-size heap buffers so ASan sees any overread); the assembler under loss inside an FU-A,
 * a missed FU start, a start inside an open FU, a marker inside an open FU, a timestamp change,
 * duplicates and padding, bad packet types and the forbidden_zero bit, the size cap; the Annex B
 * scanner and keyframe detection; and random input.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/h264_rtp.h"

#define MAX_PKTS 512

struct pkt {
	uint8_t d[1500];
	size_t len;
	bool marker;
};

struct pkts {
	struct pkt p[MAX_PKTS];
	int n;
};

static int collect(void *opaque, const uint8_t *payload, size_t len, bool marker)
{
	struct pkts *ps = opaque;
	assert_true(ps->n < MAX_PKTS);
	assert_true(len <= sizeof(ps->p[0].d));
	memcpy(ps->p[ps->n].d, payload, len);
	ps->p[ps->n].len = len;
	ps->p[ps->n].marker = marker;
	ps->n++;
	return 0;
}

/* An access unit under construction and what the assembler must give back for it. */
struct au {
	uint8_t in[200000];
	size_t in_len;
	uint8_t want[200000];
	size_t want_len;
};

/* Appends a NAL of `len` bytes with header `hdr` and pseudo-random non-zero body bytes (so no
 * start code appears inside), after a 4-byte (or 3-byte) start code. */
static void add_nal(struct au *u, uint8_t hdr, size_t len, bool four, unsigned seed)
{
	static const uint8_t sc[] = {0, 0, 0, 1};
	size_t scn = four ? 4 : 3;
	assert_true(u->in_len + scn + len <= sizeof(u->in));
	memcpy(u->in + u->in_len, sc + 4 - scn, scn);
	memcpy(u->want + u->want_len, sc, 4);
	u->in_len += scn;
	u->want_len += 4;
	uint8_t *a = u->in + u->in_len, *b = u->want + u->want_len;
	a[0] = b[0] = hdr;
	for (size_t i = 1; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		a[i] = b[i] = (uint8_t)((seed >> 16) | 1);
	}
	u->in_len += len;
	u->want_len += len;
}

static struct pkts *packetize(const uint8_t *au, size_t len, size_t max_payload)
{
	struct pkts *ps = calloc(1, sizeof(*ps));
	assert_non_null(ps);
	int n = h264_packetize(au, len, max_payload, collect, ps);
	assert_int_equal(n, ps->n);
	return ps;
}

static struct h264_asm *new_asm(size_t max_frame)
{
	struct h264_asm *a = NULL;
	assert_int_equal(h264_asm_alloc(&a, max_frame), 0);
	return a;
}

/* Pushes a copy of a packet in an exact-size heap buffer. */
static int push_bytes(struct h264_asm *a, uint16_t seq, uint32_t ts, bool marker, const uint8_t *d,
                      size_t len, struct h264_frame *f)
{
	uint8_t *b = malloc(len ? len : 1);
	assert_non_null(b);
	memcpy(b, d, len);
	int r = h264_asm_push(a, seq, ts, marker, b, len, f);
	free(b);
	return r;
}

static int push(struct h264_asm *a, uint16_t seq, uint32_t ts, const struct pkt *p,
                struct h264_frame *f)
{
	return push_bytes(a, seq, ts, p->marker, p->d, p->len, f);
}

/* Pushes all packets of ps except `skip` (-1 for none) from seq; returns frames emitted. */
static int push_all(struct h264_asm *a, const struct pkts *ps, uint16_t seq, uint32_t ts, int skip,
                    struct h264_frame *f)
{
	int frames = 0;
	for (int i = 0; i < ps->n; i++) {
		if (i == skip)
			continue;
		int r = push(a, (uint16_t)(seq + i), ts, &ps->p[i], f);
		assert_true(r >= 0);
		frames += r;
	}
	return frames;
}

/* SPS, PPS (3-byte start code) and an IDR of idr_len bytes. */
static struct au *make_key(size_t idr_len, unsigned seed)
{
	struct au *u = calloc(1, sizeof(*u));
	assert_non_null(u);
	add_nal(u, 0x67, 12, true, seed);
	add_nal(u, 0x68, 4, false, seed + 1);
	add_nal(u, 0x65, idr_len, true, seed + 2);
	return u;
}

static struct au *make_delta(size_t len, unsigned seed)
{
	struct au *u = calloc(1, sizeof(*u));
	assert_non_null(u);
	add_nal(u, 0x41, len, true, seed);
	return u;
}

static void test_round_trip(void **state)
{
	struct au *key = make_key(5000, 1);
	struct pkts *ps = packetize(key->in, key->in_len, 1200);
	/* SPS, PPS, then 5000 bytes as FU-A: 4999 after the header in ceil(4999 / 1198) = 5 */
	assert_int_equal(ps->n, 2 + 5);
	assert_int_equal(ps->p[0].len, 12);
	assert_int_equal(ps->p[0].d[0], 0x67);
	assert_int_equal(ps->p[1].len, 4);
	assert_int_equal(ps->p[1].d[0], 0x68);
	for (int i = 0; i < ps->n; i++) {
		assert_int_equal(ps->p[i].marker, i == ps->n - 1);
		assert_true(ps->p[i].len <= 1200);
	}
	size_t sum = 0;
	for (int i = 2; i < ps->n; i++) {
		assert_int_equal(ps->p[i].d[0], 0x7c); /* NRI 3, type 28 */
		uint8_t fuh = (uint8_t)((i == 2 ? 0x80 : 0) | (i == ps->n - 1 ? 0x40 : 0) | 5);
		assert_int_equal(ps->p[i].d[1], fuh);
		size_t n = ps->p[i].len - 2;
		assert_true(n == 999 || n == 1000); /* balanced */
		sum += n;
	}
	assert_int_equal(sum, 4999);
	assert_true(h264_au_is_keyframe(key->in, key->in_len));

	struct h264_asm *a = new_asm(1 << 20);
	struct h264_frame f;
	assert_int_equal(push_all(a, ps, 65533, 9000, -1, &f), 1); /* wraps */
	assert_int_equal(f.size, key->want_len);
	assert_memory_equal(f.data, key->want, key->want_len);
	assert_true(f.keyframe);
	assert_false(f.loss_before);
	assert_int_equal(f.ts, 9000);

	struct au *p = make_delta(300, 7);
	struct pkts *ps2 = packetize(p->in, p->in_len, 1200);
	assert_int_equal(ps2->n, 1);
	assert_true(ps2->p[0].marker);
	assert_false(h264_au_is_keyframe(p->in, p->in_len));
	assert_int_equal(push_all(a, ps2, (uint16_t)(65533 + ps->n), 12000, -1, &f), 1);
	assert_int_equal(f.size, p->want_len);
	assert_memory_equal(f.data, p->want, p->want_len);
	assert_false(f.keyframe);
	assert_false(f.loss_before);
	assert_int_equal(h264_asm_dropped(a), 0);
	h264_asm_free(&a);
	assert_null(a);
	h264_asm_free(&a);
	free(ps);
	free(ps2);
	free(key);
	free(p);
}

struct parts_ctx {
	const uint8_t *au;
	struct pkts *ps;
	int calls;
};

static int collect_parts(void *opaque, const uint8_t *prefix, size_t prefix_len, size_t off,
                         size_t n, bool marker)
{
	struct parts_ctx *c = opaque;
	assert_true(prefix_len == 0 || prefix_len == 2);
	uint8_t buf[1500];
	assert_true(prefix_len + n <= sizeof(buf));
	if (prefix_len)
		memcpy(buf, prefix, prefix_len);
	memcpy(buf + prefix_len, c->au + off, n);
	c->calls++;
	return collect(c->ps, buf, prefix_len + n, marker);
}

static void test_parts_same_bytes(void **state)
{
	struct au *u = make_key(20000, 3);
	add_nal(u, 0x06, 30, false, 9); /* SEI after the slice, 3-byte start code */
	const size_t sizes[] = {50, 51, 100, 1199, 1200, 1500, 4000}; /* over 1500: 1500 */
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct pkts *ps = packetize(u->in, u->in_len, sizes[k]);
		struct pkts *pp = calloc(1, sizeof(*pp));
		assert_non_null(pp);
		struct parts_ctx c = {.au = u->in, .ps = pp};
		assert_int_equal(
		    h264_packetize_parts(u->in, u->in_len, sizes[k], collect_parts, &c), ps->n);
		assert_int_equal(c.calls, ps->n);
		for (int i = 0; i < ps->n; i++) {
			assert_int_equal(pp->p[i].len, ps->p[i].len);
			assert_memory_equal(pp->p[i].d, ps->p[i].d, ps->p[i].len);
			assert_int_equal(pp->p[i].marker, ps->p[i].marker);
			assert_true(ps->p[i].len <= (sizes[k] < 1500 ? sizes[k] : 1500));
		}
		struct h264_asm *a = new_asm(1 << 20);
		struct h264_frame f;
		assert_int_equal(push_all(a, ps, 1, 1, -1, &f), 1);
		assert_int_equal(f.size, u->want_len);
		assert_memory_equal(f.data, u->want, u->want_len);
		h264_asm_free(&a);
		free(ps);
		free(pp);
	}
	free(u);
}

static void test_max_payload_edges(void **state)
{
	struct au *u = calloc(1, sizeof(*u));
	assert_non_null(u);
	add_nal(u, 0x41, 100, true, 5);
	struct pkts *ps = packetize(u->in, u->in_len, 100); /* exactly fits */
	assert_int_equal(ps->n, 1);
	assert_int_equal(ps->p[0].len, 100);
	assert_memory_equal(ps->p[0].d, u->in + 4, 100);
	free(ps);
	ps = packetize(u->in, u->in_len, 99); /* one over: 99 bytes after the header in 2 */
	assert_int_equal(ps->n, 2);
	assert_int_equal(ps->p[0].len, 2 + 50);
	assert_int_equal(ps->p[1].len, 2 + 49);
	assert_int_equal(ps->p[0].d[0], 0x5c);
	assert_int_equal(ps->p[0].d[1], 0x81);
	assert_int_equal(ps->p[1].d[1], 0x41);
	assert_false(ps->p[0].marker);
	assert_true(ps->p[1].marker);
	free(ps);
	ps = packetize(u->in, u->in_len, 3); /* the smallest: one byte per fragment */
	assert_int_equal(ps->n, 99);
	for (int i = 0; i < ps->n; i++)
		assert_int_equal(ps->p[i].len, 3);
	struct h264_asm *a = new_asm(1000);
	struct h264_frame f;
	assert_int_equal(push_all(a, ps, 1, 1, -1, &f), 1);
	assert_int_equal(f.size, u->want_len);
	assert_memory_equal(f.data, u->want, u->want_len);
	h264_asm_free(&a);
	free(ps);
	struct pkts dummy;
	assert_int_equal(h264_packetize(u->in, u->in_len, 2, collect, &dummy), -EINVAL);
	assert_int_equal(h264_packetize(u->in, u->in_len, 0, collect, &dummy), -EINVAL);
	/* a 2-byte NAL fits max_payload 3 as it is; a 4-byte one needs 3 fragments of 1 */
	const uint8_t two[] = {0, 0, 1, 0x41, 0x9a, 0, 0, 1, 0x41, 0x9a, 0x9b, 0x9c};
	ps = packetize(two, sizeof(two), 3);
	assert_int_equal(ps->n, 4);
	assert_int_equal(ps->p[0].len, 2);
	free(ps);
	free(u);
}

static void test_packetize_bad_input(void **state)
{
	struct pkts *ps = calloc(1, sizeof(*ps));
	assert_non_null(ps);
	const uint8_t no_start[] = {0x41, 0x9a, 0x9b};
	const uint8_t junk[] = {0x00, 0x07, 0, 0, 1, 0x41, 0x9a}; /* non-zero before a start */
	const uint8_t lead[] = {0, 0, 0, 0, 0, 1, 0x41, 0x9a, 0, 0};
	const uint8_t empty[] = {0, 0, 1, 0, 0, 0, 1};
	const uint8_t forbidden[] = {0, 0, 1, 0x41, 0x9a, 0, 0, 1, 0xc1, 0x9a};
	const uint8_t stap[] = {0, 0, 1, 0x78, 0x00, 0x01, 0x41};
	const uint8_t zero_type[] = {0, 0, 0, 1, 0x60, 0x11};
	assert_int_equal(h264_packetize(no_start, sizeof(no_start), 1200, collect, ps), -EINVAL);
	assert_int_equal(h264_packetize(junk, sizeof(junk), 1200, collect, ps), -EINVAL);
	assert_int_equal(h264_packetize(empty, sizeof(empty), 1200, collect, ps), -EINVAL);
	assert_int_equal(h264_packetize(lead, 0, 1200, collect, ps), -EINVAL);
	assert_int_equal(h264_packetize(NULL, 10, 1200, collect, ps), -EINVAL);
	assert_int_equal(h264_packetize(lead, sizeof(lead), 1200, NULL, ps), -EINVAL);
	assert_int_equal(h264_packetize(forbidden, sizeof(forbidden), 1200, collect, ps), -EBADMSG);
	assert_int_equal(h264_packetize(stap, sizeof(stap), 1200, collect, ps), -EBADMSG);
	assert_int_equal(h264_packetize(zero_type, sizeof(zero_type), 1200, collect, ps), -EBADMSG);
	assert_int_equal(ps->n, 0); /* nothing emitted before the check failed */
	/* leading zeros and trailing zeros are not part of the NAL */
	assert_int_equal(h264_packetize(lead, sizeof(lead), 1200, collect, ps), 1);
	assert_int_equal(ps->p[0].len, 2);
	assert_int_equal(ps->p[0].d[1], 0x9a);
	free(ps);
}

static void test_annexb_scan(void **state)
{
	const uint8_t b[] = {0,    0,    0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0,    0, 0, 0, 1,
	                     0x65, 0x88, 0, 3, 0,    0,    1, 0, 0, 1,    0x41, 0, 0, 2, 0};
	size_t pos = 0, off, n;
	const size_t want_off[] = {4, 9, 15, 25}, want_n[] = {2, 1, 4, 4};
	for (int i = 0; i < 4; i++) {
		assert_true(h264_annexb_next(b, sizeof(b), &pos, &off, &n));
		assert_int_equal(off, want_off[i]);
		assert_int_equal(n, want_n[i]);
	}
	assert_false(h264_annexb_next(b, sizeof(b), &pos, &off, &n));
	assert_false(h264_annexb_next(b, sizeof(b), &pos, &off, &n));
	assert_true(h264_au_is_keyframe(b, sizeof(b)));
	assert_false(h264_au_is_keyframe(b, 15)); /* ends before the IDR's header */
	assert_true(h264_au_is_keyframe(b, 16));
	assert_false(h264_au_is_keyframe(NULL, 5));
	for (size_t k = 0; k <= sizeof(b); k++) { /* every truncation, in an exact-size buffer */
		uint8_t *c = malloc(k ? k : 1);
		assert_non_null(c);
		memcpy(c, b, k);
		pos = 0;
		int count = 0;
		while (h264_annexb_next(c, k, &pos, &off, &n)) {
			assert_true(off + n <= k && n > 0);
			count++;
		}
		assert_true(count <= 4);
		free(c);
	}
}

static void test_stap_a(void **state)
{
	/* STAP-A with SPS, PPS and an IDR, then a P frame as two STAP-A NALs */
	const uint8_t stap[] = {0x78, 0x00, 0x03, 0x67, 0x42, 0xe0, 0x00, 0x02,
	                        0x68, 0xce, 0x00, 0x04, 0x65, 0x88, 0x84, 0x21};
	const uint8_t want[] = {0,    0,    0, 1, 0x67, 0x42, 0xe0, 0,    0,    0,   1,
	                        0x68, 0xce, 0, 0, 0,    1,    0x65, 0x88, 0x84, 0x21};
	struct h264_asm *a = new_asm(1000);
	struct h264_frame f;
	assert_int_equal(push_bytes(a, 10, 100, true, stap, sizeof(stap), &f), 1);
	assert_int_equal(f.size, sizeof(want));
	assert_memory_equal(f.data, want, sizeof(want));
	assert_true(f.keyframe);
	assert_false(f.loss_before);
	/* a STAP-A followed by an FU-A and a single NAL in the same access unit */
	const uint8_t s2[] = {0x78, 0x00, 0x02, 0x09, 0x10};
	const uint8_t fu1[] = {0x5c, 0x81, 0xaa}, fu2[] = {0x5c, 0x41, 0xbb};
	const uint8_t one[] = {0x41, 0xcc};
	const uint8_t want2[] = {0,    0,    0,    1, 0x09, 0x10, 0, 0,    0,   1,
	                         0x41, 0xaa, 0xbb, 0, 0,    0,    1, 0x41, 0xcc};
	assert_int_equal(push_bytes(a, 11, 200, false, s2, sizeof(s2), &f), 0);
	assert_int_equal(push_bytes(a, 12, 200, false, fu1, sizeof(fu1), &f), 0);
	assert_int_equal(push_bytes(a, 13, 200, false, fu2, sizeof(fu2), &f), 0);
	assert_int_equal(push_bytes(a, 14, 200, true, one, sizeof(one), &f), 1);
	assert_int_equal(f.size, sizeof(want2));
	assert_memory_equal(f.data, want2, sizeof(want2));
	assert_false(f.keyframe);
	assert_int_equal(h264_asm_dropped(a), 0);
	h264_asm_free(&a);
}

static void test_stap_a_truncated(void **state)
{
	const uint8_t stap[] = {0x78, 0x00, 0x03, 0x67, 0x42, 0xe0, 0x00, 0x02, 0x68, 0xce};
	struct h264_asm *a = new_asm(1000);
	struct h264_frame f;
	uint16_t seq = 1;
	uint32_t ts = 0;
	for (size_t n = 1; n < sizeof(stap); n++) {
		if (n == 6) /* ends after the first NAL: a valid STAP-A of one */
			assert_int_equal(push_bytes(a, seq++, ts += 10, true, stap, n, &f), 1);
		else
			assert_int_equal(push_bytes(a, seq++, ts += 10, true, stap, n, &f),
			                 -EBADMSG);
	}
	assert_int_equal(push_bytes(a, seq++, ts += 10, true, stap, sizeof(stap), &f), 1);
	assert_true(f.loss_before); /* the bad ones were dropped frames */
	const uint8_t zero[] = {0x78, 0x00, 0x00, 0x00, 0x01, 0x41};
	const uint8_t over[] = {0x78, 0x00, 0x01, 0x41, 0x00, 0x03, 0x41, 0x01};
	const uint8_t inner_f[] = {0x78, 0x00, 0x01, 0xc1};
	const uint8_t inner_stap[] = {0x78, 0x00, 0x02, 0x78, 0x00};
	const uint8_t inner_fu[] = {0x78, 0x00, 0x03, 0x7c, 0x85, 0x00};
	const uint8_t *bad[] = {zero, over, inner_f, inner_stap, inner_fu};
	const size_t bad_len[] = {sizeof(zero), sizeof(over), sizeof(inner_f), sizeof(inner_stap),
	                          sizeof(inner_fu)};
	uint64_t dropped = h264_asm_dropped(a);
	for (int i = 0; i < 5; i++)
		assert_int_equal(push_bytes(a, seq++, ts += 10, true, bad[i], bad_len[i], &f),
		                 -EBADMSG);
	assert_int_equal(h264_asm_dropped(a), dropped + 5);
	h264_asm_free(&a);
}

static void test_bad_types(void **state)
{
	const uint8_t types[] = {0, 25, 26, 27, 29, 30, 31};
	struct h264_asm *a = new_asm(1000);
	struct h264_frame f;
	uint16_t seq = 1;
	for (size_t i = 0; i < sizeof(types); i++) {
		const uint8_t p[] = {(uint8_t)(0x60 | types[i]), 0x80, 0x11, 0x22, 0x33};
		assert_int_equal(push_bytes(a, seq++, (uint32_t)i, true, p, sizeof(p), &f),
		                 -EBADMSG);
	}
	const uint8_t forbidden[] = {0xc1, 0x11};
	const uint8_t fu_short[] = {0x7c};
	const uint8_t fu_type0[] = {0x7c, 0x80, 0x11};
	const uint8_t fu_type24[] = {0x7c, 0x98, 0x11};
	const uint8_t fu_forbidden[] = {0xfc, 0x85, 0x11};
	const uint8_t stap_empty[] = {0x78};
	const uint8_t *bad[] = {forbidden, fu_short, fu_type0, fu_type24, fu_forbidden, stap_empty};
	const size_t bad_len[] = {2, 1, 3, 3, 3, 1};
	for (int i = 0; i < 6; i++)
		assert_int_equal(
		    push_bytes(a, seq++, 100u + (uint32_t)i, true, bad[i], bad_len[i], &f),
		    -EBADMSG);
	assert_int_equal(h264_asm_dropped(a), sizeof(types) + 6);
	/* a bad packet inside a frame drops it; the rest of that timestamp is ignored */
	const uint8_t one[] = {0x41, 0x01};
	assert_int_equal(push_bytes(a, seq++, 500, false, one, 2, &f), 0);
	assert_int_equal(push_bytes(a, seq++, 500, false, forbidden, 2, &f), -EBADMSG);
	assert_int_equal(push_bytes(a, seq++, 500, true, one, 2, &f), 0);
	assert_int_equal(h264_asm_dropped(a), sizeof(types) + 7);
	assert_int_equal(push_bytes(a, seq++, 600, true, one, 2, &f), 1);
	assert_true(f.loss_before);
	assert_int_equal(h264_asm_push(a, seq, 1, true, NULL, 2, &f), -EINVAL);
	assert_int_equal(h264_asm_push(a, seq, 1, true, one, 2, NULL), -EINVAL);
	assert_int_equal(h264_asm_push(NULL, seq, 1, true, one, 2, &f), -EINVAL);
	struct h264_asm *b = NULL;
	assert_int_equal(h264_asm_alloc(&b, 0), -EINVAL);
	assert_int_equal(h264_asm_alloc(NULL, 10), -EINVAL);
	assert_int_equal(h264_asm_dropped(NULL), 0);
	h264_asm_free(&a);
}

/* A key frame in FU-A fragments of 1200 (SPS, PPS, IDR of 5000: 7 packets). */
static struct pkts *key_pkts(struct au **u)
{
	*u = make_key(5000, 11);
	struct pkts *ps = packetize((*u)->in, (*u)->in_len, 1200);
	assert_int_equal(ps->n, 7);
	return ps;
}

static void test_fu_loss_middle(void **state)
{
	struct au *u;
	struct pkts *ps = key_pkts(&u);
	struct h264_asm *a = new_asm(1 << 20);
	struct h264_frame f;
	assert_int_equal(push_all(a, ps, 100, 1000, 4, &f), 0); /* a middle fragment lost */
	assert_int_equal(h264_asm_dropped(a), 1);
	assert_int_equal(push_all(a, ps, 107, 2000, -1, &f), 1);
	assert_true(f.loss_before);
	assert_memory_equal(f.data, u->want, u->want_len);
	assert_int_equal(push_all(a, ps, 114, 3000, -1, &f), 1);
	assert_false(f.loss_before);
	/* the marker packet lost: known when the next frame starts */
	assert_int_equal(push_all(a, ps, 121, 4000, 6, &f), 0);
	assert_int_equal(h264_asm_dropped(a), 1);
	assert_int_equal(push_all(a, ps, 128, 5000, -1, &f), 1);
	assert_int_equal(h264_asm_dropped(a), 2);
	assert_true(f.loss_before);
	/* the FU start lost: the other fragments are ignored, counted once */
	assert_int_equal(push_all(a, ps, 135, 6000, 2, &f), 0);
	assert_int_equal(h264_asm_dropped(a), 3);
	/* a whole frame lost */
	assert_int_equal(push_all(a, ps, 150, 8000, -1, &f), 1);
	assert_true(f.loss_before);
	assert_int_equal(h264_asm_dropped(a), 3);
	h264_asm_free(&a);
	free(ps);
	free(u);
}

static void test_fu_broken_order(void **state)
{
	struct au *u;
	struct pkts *ps = key_pkts(&u);
	struct h264_asm *a = new_asm(1 << 20);
	struct h264_frame f;
	/* a frame whose first packet is a middle fragment: its start was lost */
	assert_int_equal(push(a, 1, 1000, &ps->p[3], &f), 0);
	assert_int_equal(push(a, 2, 1000, &ps->p[4], &f), 0);
	assert_int_equal(h264_asm_dropped(a), 1);
	/* a start inside an open FU (no sequence gap): a broken sender, the frame is dropped */
	uint16_t seq = 3;
	assert_int_equal(push(a, seq++, 2000, &ps->p[0], &f), 0);
	assert_int_equal(push(a, seq++, 2000, &ps->p[1], &f), 0);
	assert_int_equal(push(a, seq, 2000, &ps->p[2], &f), 0);
	assert_int_equal(push(a, seq++, 2000, &ps->p[2], &f), 0); /* duplicate: ignored */
	assert_int_equal(push(a, seq++, 2000, &ps->p[2], &f), -EBADMSG);
	assert_int_equal(push(a, seq++, 2000, &ps->p[3], &f), 0);
	assert_int_equal(h264_asm_dropped(a), 2);
	/* a middle fragment outside an FU, inside a frame */
	assert_int_equal(push(a, seq++, 3000, &ps->p[0], &f), 0);
	assert_int_equal(push(a, seq++, 3000, &ps->p[3], &f), -EBADMSG);
	/* a single NAL while an FU is open */
	assert_int_equal(push(a, seq++, 4000, &ps->p[2], &f), 0);
	assert_int_equal(push(a, seq++, 4000, &ps->p[0], &f), -EBADMSG);
	/* the marker while an FU is open */
	struct pkt m = ps->p[3];
	m.marker = true;
	assert_int_equal(push(a, seq++, 5000, &ps->p[2], &f), 0);
	assert_int_equal(push(a, seq++, 5000, &m, &f), -EBADMSG);
	/* a fragment of another NAL type than the open FU */
	const uint8_t fu_s[] = {0x7c, 0x85, 0x01}, fu_e[] = {0x7c, 0x41, 0x02};
	assert_int_equal(push_bytes(a, seq++, 6000, false, fu_s, 3, &f), 0);
	assert_int_equal(push_bytes(a, seq++, 6000, true, fu_e, 3, &f), -EBADMSG);
	assert_int_equal(h264_asm_dropped(a), 6);
	/* S and E in one fragment is taken */
	const uint8_t fu_se[] = {0x7c, 0xc5, 0x01, 0x02};
	const uint8_t want[] = {0, 0, 0, 1, 0x65, 0x01, 0x02};
	assert_int_equal(push_bytes(a, seq++, 7000, true, fu_se, 4, &f), 1);
	assert_int_equal(f.size, sizeof(want));
	assert_memory_equal(f.data, want, sizeof(want));
	assert_true(f.keyframe);
	assert_true(f.loss_before);
	assert_int_equal(push_all(a, ps, seq, 8000, -1, &f), 1);
	assert_false(f.loss_before);
	assert_memory_equal(f.data, u->want, u->want_len);
	h264_asm_free(&a);
	free(ps);
	free(u);
}

static void test_ts_change_and_duplicates(void **state)
{
	struct au *u;
	struct pkts *ps = key_pkts(&u);
	struct h264_asm *a = new_asm(1 << 20);
	struct h264_frame f;
	/* the marker never sent: the next timestamp drops the incomplete frame */
	assert_int_equal(push(a, 1, 1000, &ps->p[0], &f), 0);
	assert_int_equal(push(a, 2, 1000, &ps->p[1], &f), 0);
	assert_int_equal(push_all(a, ps, 3, 2000, -1, &f), 1);
	assert_int_equal(h264_asm_dropped(a), 1);
	assert_true(f.loss_before);
	assert_int_equal(f.ts, 2000);
	assert_memory_equal(f.data, u->want, u->want_len);
	/* duplicates of every packet and padding between: the same frame, no loss */
	uint16_t seq = 10;
	const uint8_t pad[1] = {0};
	for (int i = 0; i < ps->n; i++) {
		int r = push(a, seq, 3000, &ps->p[i], &f);
		assert_int_equal(push(a, seq, 3000, &ps->p[i], &f), 0);
		seq++;
		if (i + 1 < ps->n) {
			assert_int_equal(r, 0);
			assert_int_equal(push_bytes(a, seq++, 3000, false, pad, 0, &f), 0);
		} else {
			assert_int_equal(r, 1);
		}
	}
	assert_false(f.loss_before);
	assert_memory_equal(f.data, u->want, u->want_len);
	assert_int_equal(h264_asm_dropped(a), 1);
	h264_asm_free(&a);
	free(ps);
	free(u);
}

static void test_max_frame(void **state)
{
	struct au *u;
	struct pkts *ps = key_pkts(&u);
	struct h264_asm *a = new_asm(u->want_len - 1);
	struct h264_frame f;
	for (int i = 0; i < 6; i++)
		assert_int_equal(push(a, (uint16_t)(1 + i), 1000, &ps->p[i], &f), 0);
	assert_int_equal(push(a, 7, 1000, &ps->p[6], &f), -E2BIG);
	assert_int_equal(h264_asm_dropped(a), 1);
	struct au *small = make_delta(u->want_len - 1 - 4, 2); /* exactly max_frame */
	struct pkts *ps2 = packetize(small->in, small->in_len, 1200);
	assert_int_equal(push_all(a, ps2, 8, 2000, -1, &f), 1);
	assert_true(f.loss_before);
	assert_int_equal(f.size, u->want_len - 1);
	assert_memory_equal(f.data, small->want, small->want_len);
	/* a middle packet that overflows: the rest of the frame is ignored */
	uint16_t seq = (uint16_t)(8 + ps2->n);
	for (int i = 0; i < 4; i++)
		assert_int_equal(push(a, seq++, 3000, &ps->p[i], &f), 0);
	/* 2029 bytes so far; 1000-byte middle fragments again: 4029, then 5029 > 5027 */
	for (int i = 0; i < 2; i++)
		assert_int_equal(push(a, seq++, 3000, &ps->p[4], &f), 0);
	assert_int_equal(push(a, seq++, 3000, &ps->p[4], &f), -E2BIG);
	assert_int_equal(push(a, seq++, 3000, &ps->p[6], &f), 0);
	assert_int_equal(h264_asm_dropped(a), 2);
	/* a STAP-A over the cap */
	struct h264_asm *b = new_asm(10);
	const uint8_t stap[] = {0x78, 0x00, 0x03, 0x67, 0x42, 0xe0, 0x00, 0x02, 0x68, 0xce};
	assert_int_equal(push_bytes(b, 1, 1, true, stap, sizeof(stap), &f), -E2BIG);
	assert_int_equal(push_bytes(b, 2, 2, true, stap, 6, &f), 1); /* 4 + 3 bytes */
	assert_int_equal(f.size, 7);
	h264_asm_free(&b);
	h264_asm_free(&a);
	free(ps);
	free(ps2);
	free(small);
	free(u);
}

/* Random bytes, markers, timestamps and sequence steps: no crash, no overread (ASan). */
static void test_random_input(void **state)
{
	struct h264_asm *a = new_asm(5000);
	struct h264_frame f;
	unsigned seed = 42;
	uint16_t seq = 0;
	int frames = 0;
	for (int i = 0; i < 50000; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t len = (seed >> 16) % 12;
		uint8_t *b = malloc(len ? len : 1);
		assert_non_null(b);
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			b[k] = (uint8_t)(seed >> 16);
		}
		if (len && (seed & 0x300)) /* mostly the types it takes */
			b[0] = (uint8_t)((b[0] & 0x60) | ((seed >> 3) % 29));
		seq = (uint16_t)(seq + ((seed >> 8) % 4 ? 1 : (seed >> 4) % 7));
		int r = h264_asm_push(a, seq, (seed >> 20) % 3, (seed >> 12) & 1, b, len, &f);
		assert_true(r == 0 || r == 1 || r == -EBADMSG || r == -E2BIG);
		if (r == 1) {
			assert_true(f.size > 4 && f.size <= 5000);
			assert_memory_equal(f.data, "\0\0\0\1", 4);
			frames++;
		}
		free(b);
	}
	assert_true(frames > 100);
	h264_asm_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_parts_same_bytes),
	    cmocka_unit_test(test_max_payload_edges),
	    cmocka_unit_test(test_packetize_bad_input),
	    cmocka_unit_test(test_annexb_scan),
	    cmocka_unit_test(test_stap_a),
	    cmocka_unit_test(test_stap_a_truncated),
	    cmocka_unit_test(test_bad_types),
	    cmocka_unit_test(test_fu_loss_middle),
	    cmocka_unit_test(test_fu_broken_order),
	    cmocka_unit_test(test_ts_change_and_duplicates),
	    cmocka_unit_test(test_max_frame),
	    cmocka_unit_test(test_random_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
