/*
 * fuzz_vp8_asm.c - stateful libFuzzer target for the inbound video transport path in sequence:
 * the input is a sequence of fake RTP packets (rtpseq.h: sequence delta, timestamp step,
 * marker, arrival time, payload), each written with rtp_write, recorded by a nack_gen and an
 * rtx_history (an entry referencing a frame holding the payload; a NACKed entry is rebuilt with
 * rtx_pkt_write and must be that packet again, byte for byte), pushed into a reorder buffer, and
 * what the buffer releases is parsed again with rtp_parse and fed to vp8_asm_push
 * (src/rtp/vp8_rtp.c, reorder.c, nack.c, rtp.c). Invariants: released packets come out in sequence
 * order (bar restarts) and parse; every emitted frame is non-empty, within max_frame, and readable
 * in full; NACK lists stay bounded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "rtp/nack.h"
#include "rtp/reorder.h"
#include "rtp/rtp.h"
#include "rtp/vp8_rtp.h"
#include "rtpseq.h"

#define MAX_FRAME (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

struct state {
	struct reorder *ro;
	struct vp8_asm *va;
	struct nack_gen *ng;
	struct rtx_history *rtx;
	bool have_out;
	uint16_t last_out;
	uint64_t frames;
};

static void on_frame(const struct vp8_frame *f)
{
	if (f->size == 0 || f->size > MAX_FRAME || !f->data)
		abort();
	uint8_t x = 0;
	for (size_t i = 0; i < f->size; i++)
		x ^= f->data[i];
	sink = x;
}

static void drain(struct state *s, int64_t now)
{
	uint16_t seq;
	const uint8_t *pkt;
	size_t len;
	int lost;
	while (reorder_pop(s->ro, now, &seq, &pkt, &len, &lost) == 1) {
		/* In order, except after a restart (a sender reset far behind, by design). */
		if (lost < 0 || (s->have_out && (uint16_t)(s->last_out - seq) <= 3000))
			abort();
		s->have_out = true;
		s->last_out = seq;
		struct rtp_hdr h;
		if (rtp_parse(pkt, len, &h) != RTP_OK || h.seq != seq)
			abort();
		struct vp8_frame f;
		int r = vp8_asm_push(s->va, h.seq, h.ts, h.marker, h.payload, h.payload_len, &f);
		if (r == 1)
			on_frame(&f);
		else if (r != 0 && r != -EBADMSG && r != -E2BIG && r != -ENOMEM)
			abort();
	}
}

/* Stores packet h (payload in a frame of its own, as the engine's) in the history. */
static void remember(struct rtx_history *rtx, const struct rtp_hdr *h, const uint8_t *payload,
                     size_t len, int64_t now)
{
	struct rtx_pkt rp = {.frame = mix_packet_copy(payload, len),
	                     .len = (uint16_t)len,
	                     .marker = h->marker,
	                     .pt = h->pt,
	                     .ts = h->ts,
	                     .ssrc = h->ssrc};
	if (!rp.frame) /* FUZZ_FAIL_ALLOC */
		return;
	if (rtx_history_put(rtx, h->seq, &rp, now) != 0)
		abort();
	mix_packet_unref(&rp.frame);
}

/* A NACKed packet, if still there, is rebuilt as the packet first written. */
static void check_resend(struct rtx_history *rtx, uint16_t seq, int64_t now)
{
	const struct rtx_pkt *rp;
	if (rtx_history_get(rtx, seq, now, 20000, &rp) != 0)
		return;
	uint8_t again[RTP_MAX_PACKET], orig[RTP_MAX_PACKET];
	struct rtp_hdr h = {
	    .marker = rp->marker, .pt = rp->pt, .seq = seq, .ts = rp->ts, .ssrc = rp->ssrc};
	int n = rtx_pkt_write(rp, seq, again, sizeof(again));
	int m = rtp_write(orig, sizeof(orig), &h, 0, NULL, 0, rp->frame->data, rp->len);
	struct rtp_hdr oh;
	if (n < 0 || n != m || memcmp(again, orig, (size_t)n) != 0 ||
	    rtp_parse(again, (size_t)n, &oh) != RTP_OK || oh.seq != seq)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	failalloc_reset(data, size);
	struct state s = {0};
	int rc = reorder_alloc(&s.ro, 64, 40000);
	if (!rc)
		rc = vp8_asm_alloc(&s.va, MAX_FRAME);
	if (!rc)
		rc = nack_gen_alloc(&s.ng);
	if (!rc)
		rc = rtx_history_alloc(&s.rtx, 64);
	if (rc) {
		if (rc != -ENOMEM) /* FUZZ_FAIL_ALLOC */
			abort();
		goto out;
	}
	struct rtpseq rs;
	struct rtpseq_pkt p;
	uint8_t pkt[RTP_MAX_PACKET];
	uint16_t nacks[NACK_MAX_MISSING + 1];
	rtpseq_init(&rs, data, size);
	while (rtpseq_next(&rs, &p)) {
		struct rtp_hdr h = {
		    .marker = p.marker, .pt = 96, .seq = p.seq, .ts = p.ts, .ssrc = 1};
		int len = rtp_write(pkt, sizeof(pkt), &h, 0, NULL, 0, p.payload, p.len);
		if (len < 0)
			abort();
		nack_gen_on_packet(s.ng, p.seq, p.now_us);
		int n = nack_gen_collect(s.ng, p.now_us, 30000, nacks, NACK_MAX_MISSING + 1);
		if (n < 0 || n > NACK_MAX_MISSING || nack_gen_missing(s.ng) > NACK_MAX_MISSING)
			abort();
		remember(s.rtx, &h, p.payload, p.len, p.now_us);
		for (int i = 0; i < n; i++)
			check_resend(s.rtx, nacks[i], p.now_us);
		int r = reorder_push(s.ro, p.seq, pkt, (size_t)len, p.now_us);
		if (r != 0 && r != -EEXIST && r != -ERANGE &&
		    r != -ENOMEM) /* ENOMEM: FUZZ_FAIL_ALLOC */
			abort();
		drain(&s, p.now_us);
	}
	drain(&s, rs.now_us + 10000000);
	struct reorder_stats st;
	reorder_get_stats(s.ro, &st);
	if (st.released > st.pushed)
		abort();
out:
	reorder_free(&s.ro);
	vp8_asm_free(&s.va);
	nack_gen_free(&s.ng);
	rtx_history_free(&s.rtx);
	return 0;
}
