/*
 * test_pool.c - the fork/join worker pool (mixer/pool.c): every index runs exactly once and
 * all have finished when mix_pool_run returns, with and without worker threads, from several
 * calling threads at once; items really run on more than one thread; bad arguments.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mix/pool.h"

#define MAX_N 1000

struct counts {
	atomic_int ran[MAX_N];
	atomic_int finished; /* items that returned */
	int spin_us;         /* busy time per item */
};

static void busy(int us)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

static void count_item(void *arg, int i)
{
	struct counts *c = arg;
	atomic_fetch_add(&c->ran[i], 1);
	if (c->spin_us)
		busy(c->spin_us);
	atomic_fetch_add(&c->finished, 1);
}

/* Runs n items on p and checks each ran once and all finished before the return. */
static void run_and_check(struct mix_pool *p, int n, int spin_us)
{
	static struct counts c; /* per call: the callers below use one thread each */
	memset(&c, 0, sizeof(c));
	c.spin_us = spin_us;
	mix_pool_run(p, n, count_item, &c);
	assert_int_equal(atomic_load(&c.finished), n < 0 ? 0 : n);
	for (int i = 0; i < MAX_N; i++)
		assert_int_equal(atomic_load(&c.ran[i]), i < n ? 1 : 0);
}

static void null_pool_runs_inline(void **state)
{
	(void)state;
	run_and_check(NULL, 0, 0);
	run_and_check(NULL, 1, 0);
	run_and_check(NULL, 17, 0);
	assert_int_equal(mix_pool_threads(NULL), 0);
}

static void every_index_once(void **state)
{
	(void)state;
	for (int t = 0; t <= 3; t++) {
		struct mix_pool *p = NULL;
		assert_int_equal(mix_pool_new(&p, t), 0);
		assert_int_equal(mix_pool_threads(p), t);
		static const int ns[] = {-1, 0, 1, 2, 3, 7, 64, MAX_N};
		for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++)
			run_and_check(p, ns[k], 0);
		run_and_check(p, 9, 200); /* items slow enough that the workers take some */
		mix_pool_free(&p);
		assert_null(p);
	}
}

/* The items of one call run on more than one thread when the pool has workers. */
struct who {
	pthread_t tid[8];
};

static void note_thread(void *arg, int i)
{
	struct who *w = arg;
	w->tid[i] = pthread_self();
	busy(10000); /* 80 ms in all: a worker wakes and takes some */
}

static void items_spread_over_threads(void **state)
{
	(void)state;
	struct mix_pool *p = NULL;
	assert_int_equal(mix_pool_new(&p, 2), 0);
	struct who w;
	memset(&w, 0, sizeof(w));
	mix_pool_run(p, 8, note_thread, &w);
	int distinct = 1;
	for (int i = 1; i < 8; i++) {
		bool seen = false;
		for (int j = 0; j < i; j++)
			seen |= pthread_equal(w.tid[i], w.tid[j]) != 0;
		distinct += !seen;
	}
	assert_true(distinct >= 2);
	/* Inline runs stay on the caller's thread. */
	memset(&w, 0, sizeof(w));
	mix_pool_run(NULL, 2, note_thread, &w);
	assert_true(pthread_equal(w.tid[0], pthread_self()) &&
	            pthread_equal(w.tid[1], pthread_self()));
	mix_pool_free(&p);
}

/* Several threads share one pool, each running its own calls (as engines on per-core loops). */
struct caller {
	struct mix_pool *p;
	struct counts c;
	int fails;
};

static void *caller_main(void *arg)
{
	struct caller *cl = arg;
	for (int round = 0; round < 200; round++) {
		int n = 1 + (round * 7) % 40;
		for (int i = 0; i < n; i++)
			atomic_store(&cl->c.ran[i], 0);
		atomic_store(&cl->c.finished, 0);
		cl->c.spin_us = round % 5 == 0 ? 100 : 0;
		mix_pool_run(cl->p, n, count_item, &cl->c);
		cl->fails += atomic_load(&cl->c.finished) != n;
		for (int i = 0; i < n; i++)
			cl->fails += atomic_load(&cl->c.ran[i]) != 1;
	}
	return NULL;
}

static void concurrent_callers(void **state)
{
	(void)state;
	struct mix_pool *p = NULL;
	assert_int_equal(mix_pool_new(&p, 2), 0);
	static struct caller cl[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		memset(&cl[i], 0, sizeof(cl[i]));
		cl[i].p = p;
		assert_int_equal(pthread_create(&th[i], NULL, caller_main, &cl[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(cl[i].fails, 0);
	}
	mix_pool_free(&p);
}

static void bad_arguments(void **state)
{
	(void)state;
	struct mix_pool *p = NULL;
	assert_int_equal(mix_pool_new(&p, -1), -EINVAL);
	assert_int_equal(mix_pool_new(&p, MIX_POOL_MAX_THREADS + 1), -EINVAL);
	assert_int_equal(mix_pool_new(NULL, 1), -EINVAL);
	assert_null(p);
	mix_pool_free(&p);
	mix_pool_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(null_pool_runs_inline),
	    cmocka_unit_test(every_index_once),
	    cmocka_unit_test(items_spread_over_threads),
	    cmocka_unit_test(concurrent_callers),
	    cmocka_unit_test(bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
