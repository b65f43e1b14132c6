/*
 * lat_hist.h - a small mergeable latency histogram over a sliding window.
 *
 * Samples are durations in microseconds. Buckets are log-linear: exact below 64 us, then 32
 * buckets per power of two (a bucket is at most 1/32 of its values wide, so a quantile is
 * within about 3 % of the true value) up to 2^24 us (16.8 s), plus one overflow bucket.
 * The window: samples go to the current half; once a half is half_us old it becomes the
 * previous one (the one before is forgotten), and counts and quantiles cover both halves, so
 * they describe the last half_us to 2 * half_us. half_us = 0 keeps everything (an accumulator
 * for lat_hist_merge). "now" is any monotonic clock in microseconds, the same for one
 * histogram throughout.
 * Not thread-safe: one owner thread (the engine's, for the engine's histograms); a reader on
 * another thread merges into its own accumulator only while the owner is known to be idle.
 * The caller owns the struct (plain data, no allocation: about 5 KiB).
 */
#ifndef MCU_LAT_HIST_H
#define MCU_LAT_HIST_H

#include <stdint.h>

#define LAT_HIST_EXACT   64 /* values 0..63 us have a bucket each */
#define LAT_HIST_SUB     32 /* buckets per power of two above that */
#define LAT_HIST_MAX_LOG 24 /* values from 2^24 us up go to the overflow bucket */
#define LAT_HIST_BUCKETS (LAT_HIST_EXACT + LAT_HIST_SUB * (LAT_HIST_MAX_LOG - 6) + 1)

struct lat_hist {
	int64_t half_us;  /* the window's half, or 0: no window */
	int64_t start_us; /* start of the current half */
	uint64_t n[2];    /* samples in the current [0] and previous [1] half */
	uint32_t b[2][LAT_HIST_BUCKETS];
};

/* An empty histogram whose current half starts at now_us (half_us 0: no window). */
void lat_hist_init(struct lat_hist *h, int64_t half_us, int64_t now_us);
/* Turns the halves over as due at now_us (add does it; readers may call it first). */
void lat_hist_rotate(struct lat_hist *h, int64_t now_us);
/* Adds one sample (negative ones count as 0). */
void lat_hist_add(struct lat_hist *h, int64_t now_us, int64_t sample_us);
/* Adds the samples from still covers at now_us (both halves) to into's current half (into
 * turned over to now_us first). */
void lat_hist_merge(struct lat_hist *into, const struct lat_hist *from, int64_t now_us);
/* Samples in both halves (as of the last rotation). */
uint64_t lat_hist_count(const struct lat_hist *h);
/* The q-quantile (0..1) of both halves in microseconds, interpolated within its bucket; -1 if
 * empty. The overflow bucket reads as 2^24 us. */
double lat_hist_quantile_us(const struct lat_hist *h, double q);

#endif
