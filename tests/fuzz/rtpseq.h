/*
 * rtpseq.h - decodes a fuzzer input into a sequence of fake RTP packets, for the stateful
 * targets (fuzz_vp8_asm, fuzz_pipeline). Header-only, used by one target per binary.
 *
 * Record format, repeated until the input ends:
 *   byte 0   sequence number delta (int8: 1 = in order, negative = reordered, 0 = duplicate)
 *   byte 1   flags: bit 0 marker, bit 1 new timestamp (+3000, one 30 fps frame at 90 kHz),
 *            bits 2..7 arrival time advance in milliseconds (0..63)
 *   byte 2-3 payload length (big-endian, capped at what is left and at RTPSEQ_MAX_PAYLOAD)
 *   payload
 * The seed generator (gen_seeds.c) writes the same format.
 */
#ifndef FUZZ_RTPSEQ_H
#define FUZZ_RTPSEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTPSEQ_MAX_PAYLOAD 1200
#define RTPSEQ_HDR         4

struct rtpseq {
	const uint8_t *data;
	size_t len, off;
	uint16_t seq;
	uint32_t ts;
	int64_t now_us;
};

struct rtpseq_pkt {
	uint16_t seq;
	uint32_t ts;
	bool marker;
	int64_t now_us;
	const uint8_t *payload;
	size_t len;
};

static inline void rtpseq_init(struct rtpseq *s, const uint8_t *data, size_t len)
{
	s->data = data;
	s->len = len;
	s->off = 0;
	s->seq = 1000;
	s->ts = 90000;
	s->now_us = 1000000;
}

/* The next packet, or false at the end of the input. */
static inline bool rtpseq_next(struct rtpseq *s, struct rtpseq_pkt *p)
{
	if (s->len - s->off < RTPSEQ_HDR)
		return false;
	const uint8_t *h = s->data + s->off;
	s->off += RTPSEQ_HDR;
	size_t n = (size_t)h[2] << 8 | h[3];
	if (n > s->len - s->off)
		n = s->len - s->off;
	if (n > RTPSEQ_MAX_PAYLOAD)
		n = RTPSEQ_MAX_PAYLOAD;
	s->seq = (uint16_t)(s->seq + (int8_t)h[0]);
	if (h[1] & 2)
		s->ts += 3000;
	s->now_us += (int64_t)(h[1] >> 2) * 1000;
	p->seq = s->seq;
	p->ts = s->ts;
	p->marker = h[1] & 1;
	p->now_us = s->now_us;
	p->payload = s->data + s->off;
	p->len = n;
	s->off += n;
	return true;
}

/* Appends a record to out (capacity cap); returns the new length or 0 if it does not fit. */
static inline size_t rtpseq_put(uint8_t *out, size_t cap, size_t off, int8_t seq_delta, bool marker,
                                bool new_ts, int advance_ms, const uint8_t *payload, size_t len)
{
	if (len > RTPSEQ_MAX_PAYLOAD || cap - off < RTPSEQ_HDR + len)
		return 0;
	out[off] = (uint8_t)seq_delta;
	out[off + 1] = (uint8_t)((marker ? 1 : 0) | (new_ts ? 2 : 0) | (advance_ms & 63) << 2);
	out[off + 2] = (uint8_t)(len >> 8);
	out[off + 3] = (uint8_t)len;
	for (size_t i = 0; i < len; i++)
		out[off + RTPSEQ_HDR + i] = payload[i];
	return off + RTPSEQ_HDR + len;
}

#endif
