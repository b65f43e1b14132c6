/*
 * lat_hist.c - the sliding-window latency histogram (see mcu/lat_hist.h).
 * No state besides the caller's struct; one thread per histogram at a time.
 */
#include <string.h>

#include "mcu/lat_hist.h"

#define OVERFLOW (LAT_HIST_BUCKETS - 1)

static int bucket_of(int64_t v)
{
	if (v < LAT_HIST_EXACT)
		return v < 0 ? 0 : (int)v;
	int e = 63 - __builtin_clzll((unsigned long long)v); /* 6.. */
	if (e >= LAT_HIST_MAX_LOG)
		return OVERFLOW;
	int sub = (int)(v >> (e - 5)) & (LAT_HIST_SUB - 1);
	return LAT_HIST_EXACT + (e - 6) * LAT_HIST_SUB + sub;
}

/* The smallest value of bucket i and how many integer values it holds. */
static void bucket_range(int i, int64_t *lo, int64_t *width)
{
	if (i < LAT_HIST_EXACT) {
		*lo = i;
		*width = 1;
		return;
	}
	if (i == OVERFLOW) {
		*lo = (int64_t)1 << LAT_HIST_MAX_LOG;
		*width = 1;
		return;
	}
	int e = (i - LAT_HIST_EXACT) / LAT_HIST_SUB + 6;
	int sub = (i - LAT_HIST_EXACT) % LAT_HIST_SUB;
	*lo = (int64_t)(LAT_HIST_SUB + sub) << (e - 5);
	*width = (int64_t)1 << (e - 5);
}

void lat_hist_init(struct lat_hist *h, int64_t half_us, int64_t now_us)
{
	memset(h, 0, sizeof(*h));
	h->half_us = half_us;
	h->start_us = now_us;
}

static void clear_half(struct lat_hist *h, int k)
{
	memset(h->b[k], 0, sizeof(h->b[k]));
	h->n[k] = 0;
}

void lat_hist_rotate(struct lat_hist *h, int64_t now_us)
{
	if (h->half_us <= 0 || now_us - h->start_us < h->half_us)
		return;
	if (now_us - h->start_us >= 2 * h->half_us) {
		clear_half(h, 1);
		h->start_us = now_us;
	} else {
		memcpy(h->b[1], h->b[0], sizeof(h->b[0]));
		h->n[1] = h->n[0];
		h->start_us += h->half_us;
	}
	clear_half(h, 0);
}

void lat_hist_add(struct lat_hist *h, int64_t now_us, int64_t sample_us)
{
	lat_hist_rotate(h, now_us);
	h->b[0][bucket_of(sample_us)]++;
	h->n[0]++;
}

/* How many of from's halves still count at now_us: 2, 1 (the current one) or 0. */
static int live_halves(const struct lat_hist *h, int64_t now_us)
{
	if (h->half_us <= 0 || now_us - h->start_us < h->half_us)
		return 2;
	return now_us - h->start_us < 2 * h->half_us ? 1 : 0;
}

void lat_hist_merge(struct lat_hist *into, const struct lat_hist *from, int64_t now_us)
{
	int live = live_halves(from, now_us);
	lat_hist_rotate(into, now_us);
	for (int k = 0; k < live; k++) {
		if (!from->n[k])
			continue;
		for (int i = 0; i < LAT_HIST_BUCKETS; i++)
			into->b[0][i] += from->b[k][i];
		into->n[0] += from->n[k];
	}
}

uint64_t lat_hist_count(const struct lat_hist *h)
{
	return h->n[0] + h->n[1];
}

double lat_hist_quantile_us(const struct lat_hist *h, double q)
{
	uint64_t n = lat_hist_count(h);
	if (!n)
		return -1;
	q = q < 0 ? 0 : q > 1 ? 1 : q;
	/* the rank of the sample wanted, 1..n */
	uint64_t rank = (uint64_t)(q * (double)n + 0.999999);
	rank = rank < 1 ? 1 : rank > n ? n : rank;
	uint64_t below = 0;
	for (int i = 0; i < LAT_HIST_BUCKETS; i++) {
		uint64_t c = (uint64_t)h->b[0][i] + h->b[1][i];
		if (below + c < rank) {
			below += c;
			continue;
		}
		int64_t lo, width;
		bucket_range(i, &lo, &width);
		/* spread the bucket's c samples evenly over its values */
		double f = ((double)(rank - below) - 0.5) / (double)c;
		return (double)lo + f * (double)(width - 1);
	}
	return (double)((int64_t)1 << LAT_HIST_MAX_LOG);
}
