/*
 * fuzz_rtcp.c - libFuzzer target for the RTCP compound parser (src/rtp/rtcp.c): rtcp_parse on
 * the input with a callback that checks each item's counts, expands NACK FCIs into sequence
 * numbers, and rebuilds what it can with the builders (RR from report blocks, NACK from the
 * expanded sequence numbers, REMB, FIR) to parse it back and compare.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "rtp/rtcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;
static uint8_t out[2048];

struct expect {
	const struct rtcp_item *want;
	int seen;
};

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* Sorts and removes duplicates; returns the new count. */
static int uniq(uint16_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u16);
	int m = 0;
	for (int i = 0; i < n; i++)
		if (m == 0 || v[m - 1] != v[i])
			v[m++] = v[i];
	return m;
}

static int check_reparse(void *opaque, const struct rtcp_item *it)
{
	struct expect *x = opaque;
	const struct rtcp_item *w = x->want;
	x->seen++;
	if (it->kind != w->kind)
		abort();
	if (it->kind == RTCP_RR) {
		if (it->n_reports != w->n_reports)
			abort();
		for (int i = 0; i < it->n_reports; i++)
			if (memcmp(&it->reports[i], &w->reports[i], sizeof(it->reports[i])) != 0)
				abort();
	}
	if (it->kind == RTCP_REMB && (it->n_remb_ssrcs != w->n_remb_ssrcs))
		abort();
	return 0;
}

static void reparse(const uint8_t *buf, int n, const struct rtcp_item *want)
{
	if (n < 0)
		return;
	struct expect x = {want, 0};
	if (rtcp_parse(buf, (size_t)n, check_reparse, &x) != 1 || x.seen != 1)
		abort();
}

static void nack_round_trip(const struct rtcp_item *it)
{
	static uint16_t seqs[17 * 512], again[17 * 512];
	int max = (int)(sizeof(seqs) / sizeof(seqs[0]));
	int n = rtcp_nack_seqs(it, seqs, max);
	if (n < 0 || n > max || (size_t)n > it->fci_len / 4 * 17)
		abort();
	if (n == 0)
		return;
	n = uniq(seqs, n);
	int len = rtcp_write_nack(out, sizeof(out), it->sender_ssrc, it->media_ssrc, seqs, n);
	if (len < 0) {
		if (len != -ENOSPC)
			abort();
		return;
	}
	struct expect x = {it, 0};
	if (rtcp_parse(out, (size_t)len, check_reparse, &x) != 1)
		abort();
	/* The rebuilt NACK must request exactly the same set of sequence numbers. */
	struct rtcp_item tmp = *it;
	tmp.fci = out + 12;
	tmp.fci_len = (size_t)len - 12;
	int m = rtcp_nack_seqs(&tmp, again, max);
	m = uniq(again, m);
	if (m != n || memcmp(seqs, again, (size_t)n * sizeof(seqs[0])) != 0)
		abort();
}

static int on_item(void *opaque, const struct rtcp_item *it)
{
	if (it->n_reports < 0 || it->n_reports > RTCP_MAX_REPORTS || it->n_fir < 0 ||
	    it->n_fir > RTCP_MAX_FIR || it->n_remb_ssrcs < 0 ||
	    it->n_remb_ssrcs > RTCP_MAX_REMB_SSRCS)
		abort();
	for (int i = 0; i < it->n_reports; i++)
		if (it->reports[i].cumulative_lost < -(1 << 23) ||
		    it->reports[i].cumulative_lost >= (1 << 23))
			abort();
	switch (it->kind) {
	case RTCP_SR:
	case RTCP_RR: {
		static struct rtcp_item rr;
		rr = *it;
		rr.kind = RTCP_RR;
		reparse(
		    out,
		    rtcp_write_rr(out, sizeof(out), it->sender_ssrc, it->reports, it->n_reports),
		    &rr);
		break;
	}
	case RTCP_NACK: {
		uint8_t x = 0;
		for (size_t i = 0; i < it->fci_len; i++)
			x ^= it->fci[i];
		sink = x;
		nack_round_trip(it);
		break;
	}
	case RTCP_REMB:
		reparse(out,
		        rtcp_write_remb(out, sizeof(out), it->sender_ssrc, it->remb_bps,
		                        it->remb_ssrcs, it->n_remb_ssrcs),
		        it);
		break;
	case RTCP_FIR:
		if (it->n_fir > 0)
			reparse(out,
			        rtcp_write_fir(out, sizeof(out), it->sender_ssrc, it->fir_ssrc[0],
			                       it->fir_seq[0]),
			        it);
		break;
	default:
		break;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	failalloc_reset(data, size);
	int n = rtcp_parse(data, size, on_item, NULL);
	if (n < 0 && n != -EBADMSG)
		abort();
	return 0;
}
