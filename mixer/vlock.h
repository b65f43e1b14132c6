/*
 * vlock.h - compose as frames arrive: the video tick clock, phase-locked to one source's frames.
 *
 * Without the lock, video tick n is at n * 1e6 / fps, so a new frame waits for the next tick:
 * half a frame interval on average. With it (mix_engine_cfg.tick_lock), after each tick the
 * engine hands the lock the newest frame the lead source showed in it (the pinned source, else
 * the active speaker, else the first visible source: engine.c decides): its media time (pts)
 * and when the caller had all of it (ready, on the same clock; the pts if not told). The lock
 * moves the next tick by up to a quarter interval toward the time the lead's next frame will be
 * both due and ready:
 *
 *   target = pts + clamp(late + margin, 0, interval / 4)
 *
 * where `late` follows the highest recent (ready - pts), each taken within [-interval,
 * interval / 4] (at once up, slowly down: a frame that comes later than usual makes the ticks
 * wait for the like of it, but one retransmitted frame moves them a quarter interval at most)
 * and the margin is 2 ms plus twice the lead's mean spacing jitter. Never before the pts: a frame
 * shown before its time runs ahead of its audio, and receivers that lip-sync the mix (browsers do)
 * would hold the picture back by as much (measured: docs/BENCHMARKS.md). A lead whose frames come
 * every 1, 2, 3 or 4 intervals (within an eighth) is followed; any other cadence is not chased (the
 * ticks stay on their grid). engine.c keeps the ticks one per slot of the 1/fps grid and vout.c
 * stamps each output frame with its slot (outputs and recordings stay constant-rate). The next
 * tick's time depends only on the frames' stamps, never on the clock that drives the engine, so the
 * output stays a function of the input. Engine thread only; embedded in struct mix_engine.
 */
#ifndef MIX_VLOCK_H
#define MIX_VLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define VLOCK_MARGIN_US   2000 /* the tick comes this long after the lead's frame is ready ... */
#define VLOCK_MAX_K       4    /* ... if its frames come every 1..4 frame intervals */
#define VLOCK_DEADBAND_US 1000 /* closer than this: the tick stays */

struct vlock {
	uint32_t lead;     /* the source followed, MIX_NO_SOURCE: none yet */
	int64_t prev_pts;  /* its previous frame shown, INT64_MIN: none */
	int64_t jitter_us; /* mean deviation of its spacing from a multiple of the interval */
	int64_t late_us;   /* the recent highest (ready - pts) of its frames */
	uint64_t moved;    /* ticks the lock moved off their grid */
};

void vlock_init(struct vlock *l);
/*
 * After a video tick at t_us, period_us apart: the lead source, and the pts and ready time of
 * the newest frame of it shown in that tick (pts INT64_MIN: none). Returns how far to move the
 * next tick (negative: earlier), within a quarter interval.
 */
int64_t vlock_update(struct vlock *l, uint32_t lead, int64_t t_us, int64_t pts, int64_t ready,
                     int64_t period_us);

#endif
