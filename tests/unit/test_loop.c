/*
 * test_loop.c - net/loop.c: posts from several threads run on the loop's thread in FIFO order
 * per poster, the quit function runs last and later posts are refused, timers run on the loop,
 * and the load figure follows a busy loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/loop.h"

#define POSTERS 3
#define PER     2000

struct order {
	struct loop *l;
	int last[POSTERS]; /* loop thread only */
	int count;
	bool in_order, on_loop, quit_last, quit_ran;
};

struct item {
	struct order *o;
	int poster, n;
};

static void on_item(void *arg)
{
	struct item *it = arg;
	struct order *o = it->o;
	if (it->n != o->last[it->poster] + 1)
		o->in_order = false;
	if (!loop_is_current(o->l))
		o->on_loop = false;
	o->last[it->poster] = it->n;
	o->count++;
	free(it);
}

struct poster {
	struct order *o;
	int index;
};

static void *post_many(void *arg)
{
	struct poster *p = arg;
	for (int n = 1; n <= PER; n++) {
		struct item *it = malloc(sizeof(*it));
		*it = (struct item){p->o, p->index, n};
		if (loop_post(p->o->l, on_item, it) < 0)
			free(it);
	}
	return NULL;
}

static void on_quit(void *arg)
{
	struct order *o = arg;
	o->quit_last = o->count == POSTERS * PER;
	o->quit_ran = true;
}

static void noop(void *arg)
{
	(void)arg;
}

static void test_posts_in_order(void **state)
{
	(void)state;
	struct order o = {.in_order = true, .on_loop = true};
	assert_int_equal(loop_new(&o.l, 0), 0);
	assert_int_equal(loop_start(o.l), 0);
	assert_false(loop_is_current(o.l));
	pthread_t t[POSTERS];
	struct poster p[POSTERS];
	for (int i = 0; i < POSTERS; i++) {
		p[i] = (struct poster){&o, i};
		pthread_create(&t[i], NULL, post_many, &p[i]);
	}
	for (int i = 0; i < POSTERS; i++)
		pthread_join(t[i], NULL);
	loop_quit(o.l, on_quit, &o);
	assert_int_equal(loop_post(o.l, noop, NULL), -ESHUTDOWN);
	uint64_t posted;
	int maxq;
	loop_post_stats(o.l, &posted, &maxq);
	assert_int_equal(posted, POSTERS * PER + 1);
	assert_true(maxq >= 1);
	loop_free(&o.l);
	assert_null(o.l);
	assert_int_equal(o.count, POSTERS * PER);
	assert_true(o.in_order);
	assert_true(o.on_loop);
	assert_true(o.quit_last);
}

struct timed {
	struct loop *l;
	atomic_int fired;
	bool on_loop;
	unsigned id;
};

static gboolean on_timer(gpointer data)
{
	struct timed *t = data;
	t->on_loop = loop_is_current(t->l);
	atomic_fetch_add(&t->fired, 1);
	return G_SOURCE_CONTINUE;
}

static void add_timer(void *arg)
{
	struct timed *t = arg;
	t->id = loop_timer_add(t->l, 10, G_PRIORITY_DEFAULT, on_timer, t);
}

static void remove_timer(void *arg)
{
	struct timed *t = arg;
	loop_source_remove(t->l, &t->id);
}

static void test_timer_runs_on_loop(void **state)
{
	(void)state;
	struct timed t = {0};
	assert_int_equal(loop_new(&t.l, 1), 0);
	assert_int_equal(loop_start(t.l), 0);
	assert_int_equal(loop_post(t.l, add_timer, &t), 0);
	for (int i = 0; i < 500 && atomic_load(&t.fired) < 3; i++)
		usleep(10000);
	loop_quit(t.l, remove_timer, &t);
	loop_free(&t.l);
	assert_true(atomic_load(&t.fired) >= 3);
	assert_true(t.on_loop);
	assert_int_equal(t.id, 0);
}

static void spin(void *arg)
{
	(void)arg;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 2500);
}

/* A loop busy for 2.5 s reports a load; its CPU seconds grow. No figure is asserted beyond
 * "measured", since the machine may be shared. */
static void test_load_follows_work(void **state)
{
	(void)state;
	struct loop *l;
	assert_int_equal(loop_new(&l, 2), 0);
	assert_int_equal(loop_start(l), 0);
	assert_int_equal(loop_load_permille(l), 0);
	assert_int_equal(loop_post(l, spin, NULL), 0);
	int seen = 0;
	for (int i = 0; i < 400 && seen == 0; i++) {
		usleep(10000);
		seen = loop_load_permille(l);
	}
	assert_true(seen > 0);
	assert_true(loop_cpu_seconds(l) > 0.1);
	loop_quit(l, NULL, NULL);
	loop_free(&l);
}

/* A loop busy for 2.5 s stops beating (what /healthz reads), and beats again after. */
static void test_beat_shows_a_stall(void **state)
{
	(void)state;
	struct loop *l;
	assert_int_equal(loop_new(&l, 4), 0);
	assert_int_equal(loop_start(l), 0);
	assert_true(loop_beat_age_ms(l) < 1000);
	assert_int_equal(loop_post(l, spin, NULL), 0);
	usleep(2000000);
	assert_true(loop_beat_age_ms(l) >= 1900);
	int64_t age = INT64_MAX;
	for (int i = 0; i < 300 && age >= 1100; i++) {
		usleep(10000);
		age = loop_beat_age_ms(l);
	}
	assert_true(age < 1100);
	loop_quit(l, NULL, NULL);
	loop_free(&l);
}

/* A loop that never ran still runs its posts (the quit function included) when freed. */
static void test_never_started(void **state)
{
	(void)state;
	struct order o = {.in_order = true, .on_loop = true};
	assert_int_equal(loop_new(&o.l, 3), 0);
	loop_quit(o.l, on_quit, &o);
	assert_int_equal(loop_post(o.l, noop, NULL), -ESHUTDOWN);
	loop_free(&o.l);
	assert_true(o.quit_ran);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_posts_in_order),     cmocka_unit_test(test_timer_runs_on_loop),
	    cmocka_unit_test(test_load_follows_work),  cmocka_unit_test(test_never_started),
	    cmocka_unit_test(test_beat_shows_a_stall),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
