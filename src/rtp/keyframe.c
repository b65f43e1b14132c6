/*
 * keyframe.c - coalescing and rate limiting of keyframe requests (see keyframe.h).
 * Single-threaded, no allocation.
 */
#include <stdint.h>

#include "rtp/keyframe.h"

void kf_limiter_init(struct kf_limiter *l, int64_t min_interval_us)
{
	l->min_interval_us = min_interval_us;
	l->last_us = INT64_MIN / 2;
	l->pending = false;
	l->requested = l->sent = 0;
}

void kf_limiter_request(struct kf_limiter *l)
{
	l->pending = true;
	l->requested++;
}

bool kf_limiter_poll(struct kf_limiter *l, int64_t now_us)
{
	if (!l->pending || now_us - l->last_us < l->min_interval_us)
		return false;
	l->pending = false;
	l->last_us = now_us;
	l->sent++;
	return true;
}
