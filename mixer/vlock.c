/*
 * vlock.c - the video tick's phase lock to the lead source's frames (see vlock.h). Engine
 * thread only.
 */
#include "vlock.h"

#include "mix/engine.h"

void vlock_init(struct vlock *l)
{
	*l = (struct vlock){.lead = MIX_NO_SOURCE, .prev_pts = INT64_MIN};
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* How far the spacing dt is from the nearest multiple 1..VLOCK_MAX_K of the interval, or -1
 * if it is not near one (within an eighth). */
static int64_t cadence_error(int64_t dt, int64_t period_us)
{
	int64_t k = (dt + period_us / 2) / period_us;
	if (k < 1 || k > VLOCK_MAX_K)
		return -1;
	int64_t dev = dt - k * period_us;
	dev = dev < 0 ? -dev : dev;
	return dev <= period_us / 8 ? dev : -1;
}

/* Follows the highest recent (ready - pts): up at once, down by 1/64 of the gap per frame. */
static void track_late(struct vlock *l, int64_t late, bool first)
{
	if (first || late > l->late_us)
		l->late_us = late;
	else
		l->late_us += (late - l->late_us) / 64;
}

int64_t vlock_update(struct vlock *l, uint32_t lead, int64_t t_us, int64_t pts, int64_t ready,
                     int64_t period_us)
{
	if (lead != l->lead) { /* a new lead: learn its cadence first */
		l->lead = lead;
		l->prev_pts = INT64_MIN;
		l->jitter_us = 0;
	}
	if (lead == MIX_NO_SOURCE || pts == INT64_MIN)
		return 0;
	int64_t prev = l->prev_pts;
	l->prev_pts = pts;
	/* one very late frame (a retransmission) moves the ticks a quarter interval at most */
	track_late(l, clamp(ready - pts, -period_us, period_us / 4), prev == INT64_MIN);
	if (prev == INT64_MIN || pts <= prev)
		return 0;
	int64_t dev = cadence_error(pts - prev, period_us);
	if (dev < 0)
		return 0;
	l->jitter_us += (dev - l->jitter_us) / 8;
	int64_t after = clamp(l->late_us + VLOCK_MARGIN_US + 2 * l->jitter_us, 0, period_us / 4);
	int64_t err = pts + after - t_us;
	if (err >= -VLOCK_DEADBAND_US && err <= VLOCK_DEADBAND_US)
		return 0;
	/* half the error per tick: a few ticks to lock, and a late frame moves it only so far */
	int64_t move = clamp(err / 2, -period_us / 4, period_us / 4);
	l->moved += move != 0;
	return move;
}
