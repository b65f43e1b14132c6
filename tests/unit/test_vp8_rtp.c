/*
 * test_vp8_rtp.c - unit tests for the VP8 RTP payload format (RFC 7741).
 *
 * Descriptors of 1..6 bytes and every truncation of them (in exact-size heap buffers so ASan
 * sees any overread), `81 81 94`, short start payloads; the assembler under loss of a middle
 * packet, of the marker packet, of a start packet, a timestamp change mid-frame, the frame size
 * cap, a sequence wrap inside a frame, 1-byte descriptors and padding; packetizer balance; and
 * a round trip packetize -> shuffle -> reorder buffer -> assemble that must give the frame back.
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

#include "rtp/reorder.h"
#include "rtp/vp8_rtp.h"

#define MAX_PKTS 256

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

/* A frame of `len` pseudo-random bytes whose first byte marks it key (bit0 = 0) or not. */
static uint8_t *make_frame(size_t len, bool key, unsigned seed)
{
	uint8_t *f = malloc(len);
	assert_non_null(f);
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		f[i] = (uint8_t)(seed >> 16);
	}
	f[0] = key ? (f[0] & 0xfe) : (f[0] | 0x01);
	return f;
}

static struct pkts *packetize(const uint8_t *frame, size_t len, size_t max_payload)
{
	struct pkts *ps = calloc(1, sizeof(*ps));
	assert_non_null(ps);
	int n = vp8_packetize(frame, len, max_payload, 0x1234, false, collect, ps);
	assert_int_equal(n, ps->n);
	return ps;
}

/* Parses `n` bytes copied into an exact-size heap buffer. */
static int parse_exact(const uint8_t *bytes, size_t n, struct vp8_desc *d)
{
	uint8_t *b = malloc(n ? n : 1);
	assert_non_null(b);
	memcpy(b, bytes, n);
	int r = vp8_desc_parse(b, n, d);
	free(b);
	return r;
}

/* Descriptor bytes followed by one VP8 payload byte, and the expected descriptor size. */
struct desc_case {
	uint8_t b[8];
	size_t size;
	int pid, tl0, tid;
};

static const struct desc_case desc_cases[] = {
    {{0x10, 0x9d}, 1, -1, -1, -1},                       /* X=0 */
    {{0x90, 0x00, 0x9d}, 2, -1, -1, -1},                 /* X=1, nothing */
    {{0x90, 0x80, 0x25, 0x9d}, 3, 0x25, -1, -1},         /* 7-bit picture id */
    {{0x90, 0x80, 0x92, 0x34, 0x9d}, 4, 0x1234, -1, -1}, /* 15-bit picture id */
    {{0x90, 0xc0, 0x92, 0x34, 0x07, 0x9d}, 5, 0x1234, 7, -1},
    {{0x90, 0xe0, 0x92, 0x34, 0x07, 0x80, 0x9d}, 6, 0x1234, 7, 2},
    {{0x90, 0x10, 0x05, 0x9d}, 2 + 1, -1, -1, -1}, /* K only */
    {{0x90, 0x60, 0x07, 0x40, 0x9d}, 4, -1, 7, 1}, /* L and T, no picture id */
};

static void test_desc_accept(void **state)
{
	for (size_t i = 0; i < sizeof(desc_cases) / sizeof(desc_cases[0]); i++) {
		const struct desc_case *c = &desc_cases[i];
		struct vp8_desc d;
		assert_int_equal(parse_exact(c->b, c->size + 1, &d), 0);
		assert_int_equal(d.size, c->size);
		assert_true(d.start);
		assert_int_equal(d.partition, 0);
		assert_int_equal(d.picture_id, c->pid);
		assert_int_equal(d.tl0picidx, c->tl0);
		assert_int_equal(d.tid, c->tid);
	}
	struct vp8_desc d;
	const uint8_t nref[] = {0x23, 0x00};
	assert_int_equal(parse_exact(nref, 2, &d), 0);
	assert_true(d.non_ref);
	assert_false(d.start);
	assert_int_equal(d.partition, 3);
}

static void test_desc_truncated(void **state)
{
	struct vp8_desc d;
	for (size_t i = 0; i < sizeof(desc_cases) / sizeof(desc_cases[0]); i++)
		for (size_t n = 0; n <= desc_cases[i].size; n++)
			assert_int_equal(parse_exact(desc_cases[i].b, n, &d), -EBADMSG);
	const uint8_t bad[] = {0x81, 0x81, 0x94};
	for (size_t n = 0; n <= sizeof(bad); n++)
		assert_int_equal(parse_exact(bad, n, &d), -EBADMSG);
	assert_int_equal(vp8_desc_parse(NULL, 4, &d), -EBADMSG);
}

static struct vp8_asm *new_asm(size_t max_frame)
{
	struct vp8_asm *a = NULL;
	assert_int_equal(vp8_asm_alloc(&a, max_frame), 0);
	return a;
}

/* Pushes a copy of packet i of ps in an exact-size heap buffer. */
static int push(struct vp8_asm *a, uint16_t seq, uint32_t ts, const struct pkt *p,
                struct vp8_frame *f)
{
	uint8_t *b = malloc(p->len ? p->len : 1);
	assert_non_null(b);
	memcpy(b, p->d, p->len);
	int r = vp8_asm_push(a, seq, ts, p->marker, b, p->len, f);
	free(b);
	return r;
}

/* Pushes all packets of ps except `skip` (-1 for none) from seq; returns frames emitted. */
static int push_all(struct vp8_asm *a, const struct pkts *ps, uint16_t seq, uint32_t ts, int skip,
                    struct vp8_frame *f)
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

static void test_short_start_payload(void **state)
{
	struct vp8_asm *a = new_asm(10000);
	struct vp8_frame f;
	const struct pkt one = {{0x90, 0x80, 0x01, 0x00}, 4, true};
	assert_int_equal(push(a, 1, 100, &one, &f), 1);
	assert_int_equal(f.size, 1);
	assert_true(f.keyframe);
	assert_false(f.loss_before);
	const struct pkt two = {{0x10, 0x01, 0xaa}, 3, true};
	assert_int_equal(push(a, 2, 200, &two, &f), 1);
	assert_int_equal(f.size, 2);
	assert_false(f.keyframe);
	const struct pkt none = {{0x90, 0x80, 0x01}, 3, true}; /* descriptor only */
	assert_int_equal(push(a, 3, 300, &none, &f), -EBADMSG);
	assert_int_equal(vp8_asm_dropped(a), 1);
	vp8_asm_free(&a);
	assert_null(a);
}

/* The size a keyframe's first packet announces, and every way a packet is not one. */
static void test_keyframe_size(void **state)
{
	(void)state;
	/* descriptor S=1 PID=0; frame tag P=0; start code; 640 (scale bits set) x 360 */
	uint8_t k[] = {0x10, 0x50, 0x2a, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x42, 0x68, 0x01, 0xaa};
	int w = 0, h = 0;
	assert_int_equal(vp8_rtp_keyframe_size(k, sizeof(k), &w, &h), 1);
	assert_int_equal(w, 640);
	assert_int_equal(h, 360);
	assert_int_equal(vp8_rtp_keyframe_size(k, 10, &w, &h), 0); /* header cut short */
	uint8_t x[sizeof(k)];
	memcpy(x, k, sizeof(k));
	x[1] |= 1; /* an interframe */
	assert_int_equal(vp8_rtp_keyframe_size(x, sizeof(x), &w, &h), 0);
	memcpy(x, k, sizeof(k));
	x[0] = 0x00; /* not the frame's first packet */
	assert_int_equal(vp8_rtp_keyframe_size(x, sizeof(x), &w, &h), 0);
	x[0] = 0x11; /* partition 1 */
	assert_int_equal(vp8_rtp_keyframe_size(x, sizeof(x), &w, &h), 0);
	memcpy(x, k, sizeof(k));
	x[5] = 0x02; /* no start code */
	assert_int_equal(vp8_rtp_keyframe_size(x, sizeof(x), &w, &h), 0);
	memcpy(x, k, sizeof(k));
	x[7] = x[8] = 0; /* zero width */
	assert_int_equal(vp8_rtp_keyframe_size(x, sizeof(x), &w, &h), 0);
	/* an extended descriptor (X, I with a 15-bit picture id) before the same frame */
	uint8_t e[] = {0x90, 0x80, 0x81, 0x23, 0x50, 0x2a, 0x00, 0x9d,
	               0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00, 0x00};
	assert_int_equal(vp8_rtp_keyframe_size(e, sizeof(e), &w, &h), 1);
	assert_int_equal(w, 320);
	assert_int_equal(h, 180);
}

static void test_keyframe_50_packets(void **state)
{
	size_t len = 50 * 1196;
	uint8_t *frame = make_frame(len, true, 1);
	struct pkts *ps = packetize(frame, len, 1200);
	assert_int_equal(ps->n, 50);
	for (int i = 0; i < ps->n; i++) {
		assert_int_equal(ps->p[i].len, 1200);
		assert_int_equal(ps->p[i].marker, i == 49);
		assert_int_equal(ps->p[i].d[0], i == 0 ? 0x90 : 0x80);
		assert_int_equal(ps->p[i].d[1], 0x80);
		assert_int_equal(ps->p[i].d[2], 0x92);
		assert_int_equal(ps->p[i].d[3], 0x34);
	}
	struct vp8_asm *a = new_asm(2 << 20);
	struct vp8_frame f;
	assert_int_equal(push_all(a, ps, 1000, 9000, -1, &f), 1);
	assert_int_equal(f.size, len);
	assert_memory_equal(f.data, frame, len);
	assert_true(f.keyframe);
	assert_int_equal(f.ts, 9000);
	assert_int_equal(vp8_asm_dropped(a), 0);
	vp8_asm_free(&a);
	free(ps);
	free(frame);
}

static void test_packetize_balanced(void **state)
{
	for (size_t len = 1; len < 5000; len += 37) {
		uint8_t *frame = make_frame(len, false, (unsigned)len);
		struct pkts *ps = packetize(frame, len, 1000);
		assert_int_equal(ps->n, (int)((len + 995) / 996));
		size_t lo = SIZE_MAX, hi = 0, sum = 0;
		for (int i = 0; i < ps->n; i++) {
			size_t n = ps->p[i].len - 4;
			lo = n < lo ? n : lo;
			hi = n > hi ? n : hi;
			sum += n;
			assert_true(ps->p[i].len <= 1000);
		}
		assert_true(hi - lo <= 1);
		assert_int_equal(sum, len);
		free(ps);
		free(frame);
	}
	uint8_t b[10] = {0};
	struct pkts ps;
	assert_int_equal(vp8_packetize(b, 10, 4, 1, false, collect, &ps), -EINVAL);
	assert_int_equal(vp8_packetize(b, 0, 1200, 1, false, collect, &ps), -EINVAL);
	assert_int_equal(vp8_packetize(NULL, 10, 1200, 1, false, collect, &ps), -EINVAL);
}

/* Pushes frame k (3 packets) of a stream with consecutive seqs; returns what the last did. */
static void push_frame(struct vp8_asm *a, uint16_t *seq, uint32_t ts, int skip, int want,
                       struct vp8_frame *f)
{
	uint8_t *frame = make_frame(3000, false, ts);
	struct pkts *ps = packetize(frame, 3000, 1200);
	assert_int_equal(ps->n, 3);
	assert_int_equal(push_all(a, ps, *seq, ts, skip, f), want);
	if (want)
		assert_memory_equal(f->data, frame, 3000);
	*seq = (uint16_t)(*seq + ps->n);
	free(ps);
	free(frame);
}

static void test_loss_middle(void **state)
{
	struct vp8_asm *a = new_asm(100000);
	struct vp8_frame f;
	uint16_t seq = 10;
	push_frame(a, &seq, 1000, -1, 1, &f);
	assert_false(f.loss_before);
	push_frame(a, &seq, 2000, 1, 0, &f);
	assert_int_equal(vp8_asm_dropped(a), 1);
	push_frame(a, &seq, 3000, -1, 1, &f);
	assert_true(f.loss_before);
	assert_int_equal(f.ts, 3000);
	push_frame(a, &seq, 4000, -1, 1, &f);
	assert_false(f.loss_before);
	vp8_asm_free(&a);
}

static void test_loss_marker(void **state)
{
	struct vp8_asm *a = new_asm(100000);
	struct vp8_frame f;
	uint16_t seq = 10;
	push_frame(a, &seq, 1000, 2, 0, &f);
	assert_int_equal(vp8_asm_dropped(a), 0); /* not known yet */
	push_frame(a, &seq, 2000, -1, 1, &f);
	assert_int_equal(vp8_asm_dropped(a), 1);
	assert_true(f.loss_before);
	assert_int_equal(f.ts, 2000);
	vp8_asm_free(&a);
}

static void test_loss_start(void **state)
{
	struct vp8_asm *a = new_asm(100000);
	struct vp8_frame f;
	uint16_t seq = 10;
	push_frame(a, &seq, 1000, -1, 1, &f);
	push_frame(a, &seq, 2000, 0, 0, &f);
	assert_int_equal(vp8_asm_dropped(a), 1);
	push_frame(a, &seq, 3000, -1, 1, &f);
	assert_true(f.loss_before);
	assert_int_equal(vp8_asm_dropped(a), 1);
	vp8_asm_free(&a);
}

static void test_whole_frame_lost(void **state)
{
	struct vp8_asm *a = new_asm(100000);
	struct vp8_frame f;
	uint16_t seq = 10;
	push_frame(a, &seq, 1000, -1, 1, &f);
	seq = (uint16_t)(seq + 3); /* frame 2000 never arrives */
	push_frame(a, &seq, 3000, -1, 1, &f);
	assert_true(f.loss_before);
	vp8_asm_free(&a);
}

static void test_ts_change_mid_frame(void **state)
{
	struct vp8_asm *a = new_asm(100000);
	struct vp8_frame f;
	uint8_t *frame = make_frame(3000, false, 7);
	struct pkts *ps = packetize(frame, 3000, 1200);
	assert_int_equal(push(a, 1, 1000, &ps->p[0], &f), 0);
	assert_int_equal(push(a, 2, 1000, &ps->p[1], &f), 0);
	/* the next frame starts with no sequence gap: the marker was never sent */
	assert_int_equal(push_all(a, ps, 3, 2000, -1, &f), 1);
	assert_int_equal(vp8_asm_dropped(a), 1);
	assert_true(f.loss_before);
	assert_int_equal(f.ts, 2000);
	assert_memory_equal(f.data, frame, 3000);
	/* a middle packet of a new timestamp while incomplete: wait for the next start */
	assert_int_equal(push(a, 6, 3000, &ps->p[0], &f), 0);
	assert_int_equal(push(a, 7, 4000, &ps->p[1], &f), 0);
	assert_int_equal(push(a, 8, 4000, &ps->p[2], &f), 0);
	assert_int_equal(vp8_asm_dropped(a), 3);
	assert_int_equal(push_all(a, ps, 9, 5000, -1, &f), 1);
	assert_true(f.loss_before);
	free(ps);
	free(frame);
	vp8_asm_free(&a);
}

static void test_max_frame(void **state)
{
	struct vp8_asm *a = new_asm(2500);
	struct vp8_frame f;
	uint8_t *frame = make_frame(3000, true, 3);
	struct pkts *ps = packetize(frame, 3000, 1200);
	assert_int_equal(push(a, 1, 1000, &ps->p[0], &f), 0);
	assert_int_equal(push(a, 2, 1000, &ps->p[1], &f), 0);
	assert_int_equal(push(a, 3, 1000, &ps->p[2], &f), -E2BIG);
	assert_int_equal(vp8_asm_dropped(a), 1);
	uint8_t *small = make_frame(2500, true, 4);
	struct pkts *ps2 = packetize(small, 2500, 1200);
	assert_int_equal(push_all(a, ps2, 4, 2000, -1, &f), 1);
	assert_true(f.loss_before);
	assert_int_equal(f.size, 2500);
	assert_memory_equal(f.data, small, 2500);
	/* a middle packet that overflows: the rest of the frame is ignored */
	assert_int_equal(push(a, 7, 3000, &ps->p[0], &f), 0);
	assert_int_equal(push(a, 8, 3000, &ps->p[1], &f), 0);
	assert_int_equal(push(a, 9, 3000, &ps->p[0], &f), -E2BIG);
	assert_int_equal(push(a, 10, 3000, &ps->p[2], &f), 0);
	assert_int_equal(vp8_asm_dropped(a), 2);
	struct vp8_asm *b = NULL;
	assert_int_equal(vp8_asm_alloc(&b, 0), -EINVAL);
	free(ps);
	free(ps2);
	free(small);
	free(frame);
	vp8_asm_free(&a);
}

static void test_seq_wrap_in_frame(void **state)
{
	size_t len = 12 * 996;
	uint8_t *frame = make_frame(len, false, 11);
	struct pkts *ps = packetize(frame, len, 1000);
	assert_int_equal(ps->n, 12);
	struct vp8_asm *a = new_asm(100000);
	struct vp8_frame f;
	assert_int_equal(push_all(a, ps, 65530, 1, -1, &f), 1); /* 65530..5 */
	assert_false(f.loss_before);
	assert_memory_equal(f.data, frame, len);
	assert_int_equal(vp8_asm_dropped(a), 0);
	vp8_asm_free(&a);
	free(ps);
	free(frame);
}

static void test_one_byte_descriptors(void **state)
{
	struct vp8_asm *a = new_asm(100000);
	struct vp8_frame f;
	const struct pkt p1 = {{0x10, 0x50, 0x01, 0x02}, 4, false};
	const struct pkt p2 = {{0x00, 0x03, 0x04}, 3, false};
	const struct pkt p3 = {{0x01, 0x05}, 2, true}; /* second partition */
	assert_int_equal(push(a, 100, 5, &p1, &f), 0);
	assert_int_equal(push(a, 101, 5, &p2, &f), 0);
	assert_int_equal(push(a, 102, 5, &p3, &f), 1);
	const uint8_t want[] = {0x50, 0x01, 0x02, 0x03, 0x04, 0x05};
	assert_int_equal(f.size, sizeof(want));
	assert_memory_equal(f.data, want, sizeof(want));
	assert_true(f.keyframe);
	/* a partition start (S=1, PID=1) does not start a frame */
	const struct pkt p4 = {{0x11, 0x51}, 2, true};
	assert_int_equal(push(a, 103, 6, &p4, &f), 0);
	assert_int_equal(vp8_asm_dropped(a), 1);
	vp8_asm_free(&a);
}

static void test_padding_and_duplicates(void **state)
{
	struct vp8_asm *a = new_asm(100000);
	struct vp8_frame f;
	uint16_t seq = 1;
	push_frame(a, &seq, 1000, -1, 1, &f);
	const struct pkt pad = {{0}, 0, false};
	assert_int_equal(push(a, seq++, 1000, &pad, &f), 0);
	assert_int_equal(push(a, seq++, 1000, &pad, &f), 0);
	push_frame(a, &seq, 2000, -1, 1, &f);
	assert_false(f.loss_before);
	/* an exact duplicate of the previous packet is ignored */
	const struct pkt p1 = {{0x10, 0x51}, 2, false};
	const struct pkt p2 = {{0x00, 0x52}, 2, true};
	assert_int_equal(push(a, seq, 3000, &p1, &f), 0);
	assert_int_equal(push(a, seq, 3000, &p1, &f), 0);
	assert_int_equal(push(a, (uint16_t)(seq + 1), 3000, &p2, &f), 1);
	assert_int_equal(f.size, 2);
	assert_false(f.loss_before);
	/* a bad descriptor drops the frame */
	const struct pkt bad = {{0x81, 0x81, 0x94}, 3, false};
	seq = (uint16_t)(seq + 2);
	assert_int_equal(push(a, seq, 4000, &p1, &f), 0);
	assert_int_equal(push(a, (uint16_t)(seq + 1), 4000, &bad, &f), -EBADMSG);
	assert_int_equal(push(a, (uint16_t)(seq + 2), 4000, &p2, &f), 0);
	assert_int_equal(vp8_asm_dropped(a), 1);
	vp8_asm_free(&a);
}

/* Shuffles within windows of `w` packets (a deterministic reordering). */
static void shuffle_window(int *order, int n, int w, unsigned seed)
{
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int s = 0; s < n; s += w) {
		int m = s + w <= n ? w : n - s;
		for (int i = m - 1; i > 0; i--) {
			seed = seed * 1103515245u + 12345u;
			int j = (int)((seed >> 16) % (unsigned)(i + 1));
			int t = order[s + i];
			order[s + i] = order[s + j];
			order[s + j] = t;
		}
	}
}

/* Round trip through the reorder buffer, which holds marker (1 byte) + payload. */
static void test_round_trip_reordered(void **state)
{
	size_t len = 40000;
	uint8_t *frame = make_frame(len, true, 99);
	struct pkts *ps = packetize(frame, len, 1100);
	int order[MAX_PKTS];
	shuffle_window(order + 1, ps->n - 1, 4, 5); /* the first packet received defines start */
	order[0] = 0;
	int moved = 0;
	for (int i = 1; i < ps->n; i++)
		moved += ++order[i] != i;
	assert_true(moved > ps->n / 2);
	struct reorder *r = NULL;
	assert_int_equal(reorder_alloc(&r, 64, 100000), 0);
	struct vp8_asm *a = new_asm(1 << 20);
	struct vp8_frame f;
	int frames = 0, pushed = 0;
	uint16_t base = 65500; /* wraps inside the frame */
	for (int k = 0; k < ps->n; k++) {
		const struct pkt *p = &ps->p[order[k]];
		uint8_t buf[1500];
		buf[0] = p->marker;
		memcpy(buf + 1, p->d, p->len);
		assert_int_equal(reorder_push(r, (uint16_t)(base + order[k]), buf, p->len + 1, k),
		                 0);
		uint16_t seq;
		const uint8_t *out;
		size_t n;
		int lost;
		while (reorder_pop(r, k, &seq, &out, &n, &lost) == 1) {
			assert_int_equal(lost, 0);
			int ret = vp8_asm_push(a, seq, 777, out[0], out + 1, n - 1, &f);
			assert_true(ret >= 0);
			frames += ret;
			pushed++;
		}
	}
	assert_int_equal(pushed, ps->n);
	assert_int_equal(frames, 1);
	assert_int_equal(f.size, len);
	assert_memory_equal(f.data, frame, len);
	assert_true(f.keyframe);
	assert_false(f.loss_before);
	reorder_free(&r);
	vp8_asm_free(&a);
	free(ps);
	free(frame);
}

/* Random bytes, markers, timestamps and sequence steps: no crash, no overread (ASan). */
static void test_random_input(void **state)
{
	struct vp8_asm *a = new_asm(5000);
	struct vp8_frame f;
	unsigned seed = 42;
	uint16_t seq = 0;
	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t len = (seed >> 16) % 12;
		uint8_t *b = malloc(len ? len : 1);
		assert_non_null(b);
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			b[k] = (uint8_t)(seed >> 16);
		}
		seq = (uint16_t)(seq + ((seed >> 8) % 4 ? 1 : (seed >> 4) % 7));
		int r = vp8_asm_push(a, seq, (seed >> 20) % 3, (seed >> 12) & 1, b, len, &f);
		assert_true(r == 0 || r == 1 || r == -EBADMSG || r == -E2BIG);
		if (r == 1)
			assert_true(f.size > 0 && f.size <= 5000);
		free(b);
	}
	vp8_asm_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_desc_accept),
	    cmocka_unit_test(test_desc_truncated),
	    cmocka_unit_test(test_short_start_payload),
	    cmocka_unit_test(test_keyframe_size),
	    cmocka_unit_test(test_keyframe_50_packets),
	    cmocka_unit_test(test_packetize_balanced),
	    cmocka_unit_test(test_loss_middle),
	    cmocka_unit_test(test_loss_marker),
	    cmocka_unit_test(test_loss_start),
	    cmocka_unit_test(test_whole_frame_lost),
	    cmocka_unit_test(test_ts_change_mid_frame),
	    cmocka_unit_test(test_max_frame),
	    cmocka_unit_test(test_seq_wrap_in_frame),
	    cmocka_unit_test(test_one_byte_descriptors),
	    cmocka_unit_test(test_padding_and_duplicates),
	    cmocka_unit_test(test_round_trip_reordered),
	    cmocka_unit_test(test_random_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
