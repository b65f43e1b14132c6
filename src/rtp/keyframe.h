/*
 * keyframe.h - coalescing and rate limiting of keyframe requests (PLI/FIR), both ways.
 *
 * A request sets a pending flag; kf_limiter_poll() says "send one now" at most once per
 * min_interval_us, so a flood of requests becomes one request per interval and a request that
 * came too early is not forgotten but sent when the interval has passed. Counts requests and
 * how many were actually let through. Single-threaded, no allocation.
 */
#ifndef MCU_KEYFRAME_H
#define MCU_KEYFRAME_H

#include <stdbool.h>
#include <stdint.h>

struct kf_limiter {
	int64_t min_interval_us;
	int64_t last_us;
	bool pending;
	uint64_t requested, sent;
};

void kf_limiter_init(struct kf_limiter *l, int64_t min_interval_us);
void kf_limiter_request(struct kf_limiter *l);
/* True (and clears pending) if a request is pending and the interval has passed. */
bool kf_limiter_poll(struct kf_limiter *l, int64_t now_us);

#endif
