/*
 * fuzz_h264_asm.c - libFuzzer target for the H.264 RTP payload format (src/rtp/h264_rtp.c).
 *
 * Byte 0 picks a max_payload (bit 7: 1200, else 3 + the low 7 bits); the rest is used twice:
 * 1. as a sequence of fake RTP packets (rtpseq.h: sequence delta, timestamp step, marker,
 *    payload) pushed straight into h264_asm_push, out of order and duplicated as the input says.
 *    Invariants: only the documented return codes; every emitted access unit is non-empty,
 *    within max_frame, starts with a 4-byte start code and a valid NAL header, and is readable.
 * 2. as an Annex B access unit for h264_packetize, each packet pushed as it comes (consecutive
 *    sequence numbers) into a fresh assembler. Checked against a naive reference split of the
 *    input into NALs: the return code (-EINVAL without a NAL or with non-zero bytes before the
 *    first start code, -EBADMSG for a bad NAL header, else the packet count), every packet
 *    within max_payload, the marker on the last one only, and exactly one access unit coming out
 *    of the assembler at the marker that equals the reference NALs with 4-byte start codes, with
 *    keyframe set as h264_au_is_keyframe and the reference say. Aborts on any mismatch.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "rtp/h264_rtp.h"
#include "rtpseq.h"

#define MAX_FRAME (64 * 1024)
#define MAX_PKT   1500 /* the packetizer's cap on max_payload */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void check_frame(const struct h264_frame *f, size_t max_frame)
{
	static const uint8_t sc[4] = {0, 0, 0, 1};
	if (!f->data || f->size <= sizeof(sc) || f->size > max_frame ||
	    memcmp(f->data, sc, sizeof(sc)) != 0 || (f->data[4] & 0x80) ||
	    (f->data[4] & 0x1f) == 0 || (f->data[4] & 0x1f) > 23)
		abort();
	uint8_t x = 0;
	for (size_t i = 0; i < f->size; i++)
		x ^= f->data[i];
	sink = x;
}

static void run_packets(const uint8_t *data, size_t size)
{
	struct h264_asm *a = NULL;
	int rc = h264_asm_alloc(&a, MAX_FRAME);
	if (rc) {
		if (rc != -ENOMEM) /* FUZZ_FAIL_ALLOC */
			abort();
		return;
	}
	struct rtpseq rs;
	struct rtpseq_pkt p;
	rtpseq_init(&rs, data, size);
	uint64_t dropped = 0;
	while (rtpseq_next(&rs, &p)) {
		struct h264_frame f;
		int r = h264_asm_push(a, p.seq, p.ts, p.marker, p.payload, p.len, &f);
		if (r == 1)
			check_frame(&f, MAX_FRAME);
		else if (r != 0 && r != -EBADMSG && r != -E2BIG && r != -ENOMEM)
			abort();
		if (h264_asm_dropped(a) < dropped || h264_asm_dropped(a) > dropped + 2)
			abort(); /* at most the frame in progress and this packet's */
		dropped = h264_asm_dropped(a);
	}
	h264_asm_free(&a);
}

/* The reference: NALs split at every 00 00 01, trailing zero bytes dropped, empty ones skipped. */
struct ref {
	size_t off[MAX_FRAME], n[MAX_FRAME];
	size_t count;
	bool junk; /* a non-zero byte before the first start code */
	bool bad;  /* a NAL header with F set or a type outside 1..23 */
	bool idr;
	size_t packets; /* for a max_payload */
	size_t out_len; /* of the assembled access unit */
};

static bool start_at(const uint8_t *d, size_t size, size_t i)
{
	return i + 3 <= size && d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1;
}

static void add_ref(struct ref *rf, const uint8_t *d, size_t b, size_t e, size_t max_payload)
{
	while (e > b && d[e - 1] == 0)
		e--;
	if (e == b)
		return;
	rf->off[rf->count] = b;
	rf->n[rf->count] = e - b;
	rf->count++;
	uint8_t h = d[b];
	if ((h & 0x80) || (h & 0x1f) == 0 || (h & 0x1f) > 23)
		rf->bad = true;
	rf->idr |= (h & 0x1f) == 5;
	size_t n = e - b;
	rf->packets += n <= max_payload ? 1 : (n - 1 + max_payload - 3) / (max_payload - 2);
	rf->out_len += 4 + n;
}

static void ref_split(struct ref *rf, const uint8_t *d, size_t size, size_t max_payload)
{
	rf->count = 0;
	rf->junk = rf->bad = rf->idr = false;
	rf->packets = rf->out_len = 0;
	size_t i = 0;
	while (i < size && !start_at(d, size, i)) {
		if (d[i])
			rf->junk = true;
		i++;
	}
	size_t b = 0;
	bool open = false;
	for (; i < size; i++) {
		if (!start_at(d, size, i))
			continue;
		if (open)
			add_ref(rf, d, b, i, max_payload);
		b = i + 3;
		open = true;
		i += 2;
	}
	if (open)
		add_ref(rf, d, b, size, max_payload);
}

struct trip {
	const struct ref *rf;
	const uint8_t *au;
	struct h264_asm *a;
	size_t max_payload;
	uint16_t seq;
	size_t packets;
	bool marker_seen, done, oom;
};

static int on_packet(void *opaque, const uint8_t *payload, size_t len, bool marker)
{
	struct trip *t = opaque;
	if (t->marker_seen || len == 0 || len > t->max_payload)
		abort();
	t->marker_seen = marker;
	t->packets++;
	struct h264_frame f;
	int r = h264_asm_push(t->a, t->seq++, 1234, marker, payload, len, &f);
	if (r == -ENOMEM) { /* FUZZ_FAIL_ALLOC */
		t->oom = true;
		return r;
	}
	if (r != (marker ? 1 : 0))
		abort();
	if (!marker)
		return 0;
	const struct ref *rf = t->rf;
	if (f.size != rf->out_len || f.ts != 1234 || f.loss_before || f.keyframe != rf->idr)
		abort();
	size_t at = 0;
	for (size_t k = 0; k < rf->count; k++) {
		static const uint8_t sc[4] = {0, 0, 0, 1};
		if (memcmp(f.data + at, sc, 4) != 0 ||
		    memcmp(f.data + at + 4, t->au + rf->off[k], rf->n[k]) != 0)
			abort();
		at += 4 + rf->n[k];
	}
	t->done = true;
	return 0;
}

static struct ref ref_buf;

static void run_round_trip(const uint8_t *au, size_t size, size_t max_payload)
{
	struct ref *rf = &ref_buf;
	ref_split(rf, au, size, max_payload);
	struct trip t = {.rf = rf, .au = au, .max_payload = max_payload, .seq = 65530};
	int rc = h264_asm_alloc(&t.a, 2 * size + 16);
	if (rc) {
		if (rc != -ENOMEM)
			abort();
		return;
	}
	int r = h264_packetize(au, size, max_payload, on_packet, &t);
	if (t.oom) {
		if (r != -ENOMEM)
			abort();
	} else if (rf->junk || rf->count == 0) {
		if (r != -EINVAL || t.packets)
			abort();
	} else if (rf->bad) {
		if (r != -EBADMSG || t.packets)
			abort();
	} else if (r < 0 || (size_t)r != rf->packets || t.packets != rf->packets || !t.done) {
		abort();
	}
	if (h264_au_is_keyframe(au, size) != rf->idr)
		abort();
	h264_asm_free(&t.a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	failalloc_reset(data, size);
	if (size < 1 || size > MAX_FRAME)
		return 0;
	size_t max_payload = data[0] & 0x80 ? 1200 : 3 + (size_t)(data[0] & 0x7f);
	run_packets(data + 1, size - 1);
	run_round_trip(data + 1, size - 1, max_payload);
	return 0;
}
