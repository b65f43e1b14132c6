/*
 * test_vlock.c - the video tick's phase lock (mixer/vlock.c), driven the way engine.c drives
 * it: a tick shows the newest frame that is ready and due by then (or within half an interval
 * after it), and the lock's move shifts the next tick. A lead off the grid is followed within
 * a few ticks and its frames are then shown 1-4 ms after they are ready, or at their pts if
 * they were ready before (never earlier: lip sync); a lead at 15 fps is followed too; a 24 fps one
 * is not chased; no moves exceed a quarter interval; a new lead starts over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "mix/engine.h"
#include "vlock.h"

#define P 33333 /* 30 fps */

struct sim {
	struct vlock l;
	int64_t next_tick;
	int64_t frame0, spacing; /* the lead's frames: pts frame0 + k * spacing */
	int64_t ahead;           /* each is ready this long before its pts ... */
	int64_t odd_k, odd_late; /* ... but frame odd_k, ready odd_late after it */
	int64_t shown_k;         /* the last frame shown, -1: none */
	int64_t shows;           /* ticks that showed a frame */
	int64_t moves, max_move;
	int64_t last_wait; /* the tick's time minus its shown frame's pts, at the last showing */
};

static void sim_init(struct sim *s, int64_t frame0, int64_t spacing, int64_t ahead)
{
	*s = (struct sim){
	    .frame0 = frame0, .spacing = spacing, .ahead = ahead, .shown_k = -1, .odd_k = -1};
	vlock_init(&s->l);
}

/* One tick: shows the newest frame ready by t and due by t + P/2 (vout.c's horizon), then
 * moves the next. */
static void sim_tick(struct sim *s, uint32_t lead)
{
	int64_t t = s->next_tick, shown = INT64_MIN;
	int64_t by = t + P / 2 < t + s->ahead ? t + P / 2 : t + s->ahead;
	int64_t k = (by - s->frame0) / s->spacing;
	if (by >= s->frame0 && k > s->shown_k) {
		s->shown_k = k;
		s->shows++;
		shown = s->frame0 + k * s->spacing;
		s->last_wait = t - shown;
	}
	int64_t ready = 0; /* read only with a frame shown */
	if (shown != INT64_MIN)
		ready = s->shown_k == s->odd_k ? shown + s->odd_late : shown - s->ahead;
	int64_t move = vlock_update(&s->l, lead, t, shown, ready, P);
	s->moves += move != 0;
	s->max_move = llabs(move) > s->max_move ? llabs(move) : s->max_move;
	s->next_tick = t + P + move;
}

static void test_follows_a_lead_off_the_grid(void **state)
{
	struct sim s;
	/* frames ready when due, half way between two grid ticks (the grid shows them 16.7 ms
	 * late), or 10 ms before (the grid: 16.7 ms late), or 25 ms before and due a quarter of the
	 * way (the grid: 8.3 ms early); the lock shows each at its pts (+ the margin if ready then)
	 */
	const int64_t frame0[3] = {P / 2, P / 2, P / 4}, ahead[3] = {0, 10000, 25000};
	const int64_t want[3] = {VLOCK_MARGIN_US, 0, 0};
	const int64_t tol = VLOCK_DEADBAND_US + 1000;
	for (int a = 0; a < 3; a++) {
		sim_init(&s, frame0[a], P, ahead[a]);
		for (int i = 0; i < 60; i++) {
			sim_tick(&s, 7);
			if (i >= 20) /* locked: each frame shown at the target, give or take */
				assert_true(s.last_wait >= want[a] - tol &&
				            s.last_wait <= want[a] + tol);
		}
		assert_true(s.moves >= 3);
		assert_true(s.max_move <= P / 4);
		assert_int_equal(s.shows, s.shown_k + 1); /* no frame skipped */
		assert_true(s.shown_k >= 57);
	}
}

/* One frame stamped 200 ms late (a retransmission) shifts the locked ticks a quarter interval
 * at most, and they come back. */
static void test_one_late_frame(void **state)
{
	struct sim s;
	sim_init(&s, P / 2, P, 10000);
	s.odd_k = 30;
	s.odd_late = 200000;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (int i = 0; i < 200; i++) {
		sim_tick(&s, 7);
		if (i >= 25) {
			lo = s.last_wait < lo ? s.last_wait : lo;
			hi = s.last_wait > hi ? s.last_wait : hi;
		}
	}
	assert_true(hi - lo <= P / 4 + VLOCK_DEADBAND_US);
	assert_true(s.last_wait >= -VLOCK_DEADBAND_US - 1000 &&
	            s.last_wait <= VLOCK_DEADBAND_US + 1000);
	assert_int_equal(s.shows, s.shown_k + 1);
}

static void test_follows_15_fps(void **state)
{
	struct sim s;
	sim_init(&s, 10000, 2 * P, 0);
	for (int i = 0; i < 80; i++)
		sim_tick(&s, 7);
	assert_true(s.moves >= 2);
	assert_true(s.last_wait >= 0 && s.last_wait <= VLOCK_MARGIN_US + VLOCK_DEADBAND_US + 1000);
}

static void test_does_not_chase_24_fps(void **state)
{
	struct sim s;
	sim_init(&s, 5000, 41667, 0);
	for (int i = 0; i < 90; i++)
		sim_tick(&s, 7);
	assert_int_equal(s.moves, 0);
	assert_int_equal(s.next_tick, 90 * (int64_t)P);
}

static void test_new_lead_starts_over(void **state)
{
	struct vlock l;
	vlock_init(&l);
	assert_int_equal(vlock_update(&l, 1, 0, 15000, 15000, P), 0);      /* no spacing yet */
	assert_true(vlock_update(&l, 1, P, 15000 + P, 15000 + P, P) != 0); /* 15 ms off: moves */
	assert_int_equal(vlock_update(&l, 2, 2 * P, 2 * P + 9000, 2 * P + 9000, P),
	                 0); /* new lead */
	assert_int_equal(vlock_update(&l, MIX_NO_SOURCE, 3 * P, 3 * P, 3 * P, P), 0);
	assert_int_equal(vlock_update(&l, 2, 4 * P, INT64_MIN, 0, P), 0); /* no frame shown */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_follows_a_lead_off_the_grid),
	    cmocka_unit_test(test_one_late_frame),
	    cmocka_unit_test(test_follows_15_fps),
	    cmocka_unit_test(test_does_not_chase_24_fps),
	    cmocka_unit_test(test_new_lead_starts_over),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
