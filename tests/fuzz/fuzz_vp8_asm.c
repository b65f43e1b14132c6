/*
 * fuzz_vp8_asm.c - stateful libFuzzer target for the inbound video transport path in sequence:
 * the input is a sequence of fake RTP packets (rtpseq.h: sequence delta, timestamp step,
 * marker, arrival time, payload), each written with rtp_write, recorded by a nack_gen and an
 * rtx_history, pushed into a reorder buffer, and what the buffer releases is parsed again with
 * rtp_parse and fed to vp8_asm_push (src/rtp/vp8_rtp.c, reorder.c, nack.c, rtp.c).
 * Invariants: released packets come out in sequence order (bar restarts) and parse; every emitted
 * frame is non-empty, within max_frame, and readable in full; NACK lists stay bounded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

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
		rtx_history_put(s.rtx, p.seq, pkt, (size_t)len, p.now_us);
		for (int i = 0; i < n; i++) {
			const uint8_t *old;
			size_t old_len;
			if (rtx_history_get(s.rtx, nacks[i], p.now_us, 20000, &old, &old_len) ==
			    0) {
				struct rtp_hdr oh;
				if (rtp_parse(old, old_len, &oh) != RTP_OK || oh.seq != nacks[i])
					abort();
			}
		}
		int r = reorder_push(s.ro, p.seq, pkt, (size_t)len, p.now_us);
		if (r != 0 && r != -EEXIST && r != -ERANGE)
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
