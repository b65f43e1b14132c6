/*
 * test_lat_hist.c - the latency histogram (mixer/lat_hist.c): quantiles of known inputs
 * (exact small values, uniform spreads, a bimodal mix, overflow), merge, and the sliding
 * window's rotation (the previous half still counts, the one before is gone).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "mcu/lat_hist.h"

#define HALF 10000000 /* 10 s */

/* Within 3.5 % of want (the bucket width is at most 1/32 of a value). */
static void assert_near(double got, double want)
{
	double tol = want * 0.035 + 1.0;
	if (got < want - tol || got > want + tol)
		fail_msg("got %.1f, want %.1f +- %.1f", got, want, tol);
}

static void test_empty(void **state)
{
	struct lat_hist h;
	lat_hist_init(&h, HALF, 0);
	assert_int_equal(lat_hist_count(&h), 0);
	assert_true(lat_hist_quantile_us(&h, 0.5) < 0);
}

static void test_exact_small_values(void **state)
{
	struct lat_hist h;
	lat_hist_init(&h, HALF, 0);
	for (int i = 0; i < 10; i++)
		lat_hist_add(&h, 0, 5);
	lat_hist_add(&h, 0, 40);
	lat_hist_add(&h, 0, -3); /* counts as 0 */
	assert_int_equal(lat_hist_count(&h), 12);
	assert_true(lat_hist_quantile_us(&h, 0.5) == 5.0);
	assert_true(lat_hist_quantile_us(&h, 0.0) == 0.0);
	assert_true(lat_hist_quantile_us(&h, 1.0) == 40.0);
}

static void test_uniform_ms(void **state)
{
	struct lat_hist h;
	lat_hist_init(&h, HALF, 0);
	for (int ms = 1; ms <= 1000; ms++)
		lat_hist_add(&h, 0, ms * 1000);
	assert_int_equal(lat_hist_count(&h), 1000);
	assert_near(lat_hist_quantile_us(&h, 0.5), 500000);
	assert_near(lat_hist_quantile_us(&h, 0.95), 950000);
	assert_near(lat_hist_quantile_us(&h, 0.01), 10000);
}

static void test_uniform_sub_ms(void **state)
{
	struct lat_hist h;
	lat_hist_init(&h, HALF, 0);
	for (int us = 0; us < 2000; us++)
		lat_hist_add(&h, 0, us);
	assert_near(lat_hist_quantile_us(&h, 0.5), 1000);
	assert_near(lat_hist_quantile_us(&h, 0.95), 1900);
}

static void test_bimodal_and_overflow(void **state)
{
	struct lat_hist h;
	lat_hist_init(&h, HALF, 0);
	for (int i = 0; i < 90; i++)
		lat_hist_add(&h, 0, 20000);
	for (int i = 0; i < 10; i++)
		lat_hist_add(&h, 0, 60 * 1000000LL); /* a minute: overflow */
	assert_near(lat_hist_quantile_us(&h, 0.5), 20000);
	assert_near(lat_hist_quantile_us(&h, 0.9), 20000);
	assert_true(lat_hist_quantile_us(&h, 0.95) == (double)(1 << LAT_HIST_MAX_LOG));
}

static void test_merge(void **state)
{
	struct lat_hist a, b, sum;
	lat_hist_init(&a, HALF, 0);
	lat_hist_init(&b, HALF, 0);
	lat_hist_init(&sum, 0, 0);
	for (int i = 0; i < 50; i++) {
		lat_hist_add(&a, 0, 10000);
		lat_hist_add(&b, 0, 30000);
	}
	lat_hist_add(&b, 0, 30000);
	lat_hist_merge(&sum, &a, 1000);
	lat_hist_merge(&sum, &b, 1000);
	assert_int_equal(lat_hist_count(&sum), 101);
	assert_near(lat_hist_quantile_us(&sum, 0.25), 10000);
	assert_near(lat_hist_quantile_us(&sum, 0.5), 30000);
	/* an accumulator never rotates */
	lat_hist_rotate(&sum, 100LL * HALF);
	assert_int_equal(lat_hist_count(&sum), 101);
}

static void test_window_rotation(void **state)
{
	struct lat_hist h, sum;
	lat_hist_init(&h, HALF, 0);
	for (int i = 0; i < 100; i++)
		lat_hist_add(&h, 1000, 100000); /* first half: 100 ms */
	for (int i = 0; i < 100; i++)
		lat_hist_add(&h, HALF + 1000, 10000); /* second half: 10 ms */
	assert_int_equal(lat_hist_count(&h), 200);
	assert_near(lat_hist_quantile_us(&h, 0.25), 10000);
	assert_near(lat_hist_quantile_us(&h, 0.75), 100000);

	/* A reader late in the second half still sees both; one in the third sees the second's. */
	lat_hist_init(&sum, 0, 0);
	lat_hist_merge(&sum, &h, 2 * HALF - 1);
	assert_int_equal(lat_hist_count(&sum), 200);
	lat_hist_init(&sum, 0, 0);
	lat_hist_merge(&sum, &h, 2 * HALF + 1);
	assert_int_equal(lat_hist_count(&sum), 100);
	assert_near(lat_hist_quantile_us(&sum, 0.95), 10000);
	lat_hist_init(&sum, 0, 0);
	lat_hist_merge(&sum, &h, 3 * HALF + 1);
	assert_int_equal(lat_hist_count(&sum), 0);

	/* Third half: the first is forgotten. */
	lat_hist_add(&h, 2 * HALF + 5, 1000);
	assert_int_equal(lat_hist_count(&h), 101);
	assert_near(lat_hist_quantile_us(&h, 0.95), 10000);
	/* A long silence forgets both. */
	lat_hist_rotate(&h, 10 * HALF);
	assert_int_equal(lat_hist_count(&h), 0);
	lat_hist_add(&h, 10 * HALF, 2000);
	assert_int_equal(lat_hist_count(&h), 1);
	assert_near(lat_hist_quantile_us(&h, 0.5), 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_exact_small_values),
	    cmocka_unit_test(test_uniform_ms),
	    cmocka_unit_test(test_uniform_sub_ms),
	    cmocka_unit_test(test_bimodal_and_overflow),
	    cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_window_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
