/*
 * kf_req.h - an encoder's pending keyframe request: each request names the least time since
 * the encoder's previous keyframe (1 s for a PLI, less for a newcomer), and the pending one is
 * served at the smallest gap asked. Shared by vp8_enc.c and h264_enc.c.
 * Plain data inside one encoder: the encoder's thread only.
 */
#ifndef MIX_KF_REQ_H
#define MIX_KF_REQ_H

#include <stdbool.h>
#include <stdint.h>

struct kf_req {
	bool pending;        /* a keyframe was asked for and not yet produced */
	int64_t gap_us;      /* ... at least this long after the previous one */
	int64_t last_pts_us; /* the previous keyframe's pts */
};

static inline void kf_req_ask(struct kf_req *k, int64_t min_gap_us)
{
	if (!k->pending || min_gap_us < k->gap_us)
		k->gap_us = min_gap_us;
	k->pending = true;
}

/* Whether the picture at pts_us should be a keyframe for the pending request. */
static inline bool kf_req_due(const struct kf_req *k, int64_t pts_us)
{
	return k->pending && pts_us - k->last_pts_us >= k->gap_us;
}

/* A keyframe at pts_us was produced (asked for or not). */
static inline void kf_req_done(struct kf_req *k, int64_t pts_us)
{
	k->pending = false;
	k->last_pts_us = pts_us;
}

#endif
