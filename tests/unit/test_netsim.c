/*
 * test_netsim.c - unit tests for the --netsim impairment pipes (src/net/netsim.c).
 *
 * The parser (good specs, units, unknown keys, bad numbers, out of range, duplicates), the loss
 * rate over 10 000 packets, delays within [delay - jitter, delay + jitter] in push order, the
 * reorder share, its extra hold and actual overtaking (and none without reorder), the queue cap
 * and the counters' invariant, determinism per seed, a callback pushing into its own pipe,
 * freeing with packets held (ASan checks the leak), and delivery by the GLib timer.
 * Most tests drive time by hand (ctx NULL): poll exactly at each due time, so a delivery time
 * is the packet's due time. Single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "net/netsim.h"

#define MAXP 20000

/* What a pipe delivered: packet ids (the first 4 bytes), in delivery order, and when. */
struct sink {
	int64_t now;
	int n;
	uint32_t id[MAXP];
	int64_t at[MAXP];     /* delivery time, by delivery index */
	int64_t pushed[MAXP]; /* push time, by id */
	struct netsim *self;  /* for the re-entrancy test */
	int repush;           /* packets the callback pushes back in */
};

static void on_deliver(void *opaque, uint8_t *data, size_t len)
{
	struct sink *s = opaque;
	assert_true(len >= 4);
	uint32_t id;
	memcpy(&id, data, 4);
	assert_true(s->n < MAXP);
	s->id[s->n] = id;
	s->at[s->n] = s->now;
	s->n++;
	data[0] ^= 0xff; /* the callback may write into the packet */
	if (s->repush > 0) {
		s->repush--;
		uint32_t again = id + 1000000;
		assert_int_equal(netsim_push_at(s->self, (uint8_t *)&again, 4, s->now), 1);
	}
}

static struct sink *new_sink(void)
{
	struct sink *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	return s;
}

static struct netsim *new_pipe(const char *spec, struct sink *s)
{
	struct netsim_cfg c;
	char err[256];
	struct netsim *ns = NULL;
	assert_int_equal(netsim_parse(spec, &c, err, sizeof(err)), 0);
	assert_int_equal(netsim_new(&ns, NULL, &c, on_deliver, s), 0);
	s->self = ns;
	return ns;
}

/* Delivers everything due up to t, polling at each due time in turn. */
static void advance(struct netsim *ns, struct sink *s, int64_t t)
{
	for (int64_t due = netsim_next_due(ns); due >= 0 && due <= t; due = netsim_next_due(ns)) {
		s->now = due;
		assert_true(netsim_poll(ns, due) >= 1);
	}
	s->now = t;
}

/* Pushes n packets (ids 0..n-1) every interval_us from t = 0, then drains the pipe. */
static void run(struct netsim *ns, struct sink *s, int n, int64_t interval_us)
{
	for (int i = 0; i < n; i++) {
		int64_t t = i * interval_us;
		advance(ns, s, t);
		uint32_t id = (uint32_t)i;
		uint8_t pkt[32] = {0};
		memcpy(pkt, &id, 4);
		s->pushed[i] = t;
		int rc = netsim_push_at(ns, pkt, sizeof(pkt), t);
		assert_true(rc == 0 || rc == 1);
	}
	advance(ns, s, INT64_MAX / 2);
	assert_int_equal(netsim_next_due(ns), -1);
}

/* Deliveries that come after a packet pushed later: how often order was broken. */
static int inversions(const struct sink *s)
{
	int count = 0;
	uint32_t highest = 0;
	for (int i = 0; i < s->n; i++) {
		if (i > 0 && s->id[i] < highest)
			count++;
		if (s->id[i] > highest)
			highest = s->id[i];
	}
	return count;
}

static void check_invariant(const struct netsim *ns)
{
	struct netsim_stats st;
	netsim_get_stats(ns, &st);
	assert_int_equal(st.in, st.dropped + st.overflow + st.delivered + st.queued);
}

/* ---- parser ---- */

static void test_parse_good(void **state)
{
	struct netsim_cfg c;
	char err[256];
	assert_int_equal(netsim_parse("loss=5,delay=30,jitter=10,reorder=2", &c, err, sizeof(err)),
	                 0);
	assert_true(c.loss == 5.0);
	assert_int_equal(c.delay_ms, 30);
	assert_int_equal(c.jitter_ms, 10);
	assert_true(c.reorder == 2.0);
	assert_int_equal(c.reorder_ms, -1);
	assert_int_equal(c.queue, NETSIM_DEFAULT_QUEUE);
	assert_int_equal(c.seed, 1);
	assert_string_equal(err, "");

	assert_int_equal(netsim_parse(" loss = 2.5% , delay=40ms,reorder=0.5 ", &c, err, 256), 0);
	assert_true(c.loss == 2.5);
	assert_int_equal(c.delay_ms, 40);
	assert_int_equal(c.jitter_ms, 0);
	assert_true(c.reorder == 0.5);

	assert_int_equal(netsim_parse("seed=18446744073709551615,queue=10,reorder_ms=0,loss=100",
	                              &c, err, sizeof(err)),
	                 0);
	assert_true(c.seed == UINT64_MAX);
	assert_int_equal(c.queue, 10);
	assert_int_equal(c.reorder_ms, 0);
	assert_true(c.loss == 100.0);
	assert_int_equal(netsim_parse("delay=10000,jitter=0", &c, err, sizeof(err)), 0);
	assert_int_equal(c.delay_ms, 10000);
	assert_int_equal(c.rate_kbps, 0);
	assert_int_equal(netsim_parse("rate=400kbit,queue=30", &c, err, sizeof(err)), 0);
	assert_int_equal(c.rate_kbps, 400);
	assert_int_equal(netsim_parse("rate=10000000", &c, err, sizeof(err)), 0);
	assert_int_equal(c.rate_kbps, 10000000);

	char desc[256];
	assert_int_equal(netsim_parse("loss=5,delay=30,jitter=10,reorder=2", &c, err, 256), 0);
	netsim_describe(&c, desc, sizeof(desc));
	assert_non_null(strstr(desc, "loss 5%"));
	assert_non_null(strstr(desc, "delay 30+-10 ms"));
	assert_non_null(strstr(desc, "held 40 ms more")); /* default: 2 * jitter + 20 */
}

/* Each bad spec fails with -EINVAL, a message naming `what`, and leaves *out alone. */
static void bad(const char *spec, const char *what)
{
	struct netsim_cfg c;
	memset(&c, 0x5a, sizeof(c));
	struct netsim_cfg before = c;
	char err[256] = "";
	assert_int_equal(netsim_parse(spec, &c, err, sizeof(err)), -EINVAL);
	if (!strstr(err, what))
		fail_msg("spec '%s': error '%s' does not mention '%s'", spec, err, what);
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_parse_bad(void **state)
{
	bad("foo=1", "unknown key 'foo'");
	bad("loss=5,Delay=3", "unknown key 'Delay'");
	bad("loss", "expected key=value");
	bad("loss=abc", "not a number");
	bad("loss=", "not a number");
	bad("loss=5x", "not a number");
	bad("loss=nan", "not a number");
	bad("loss=inf", "not a number");
	bad("loss=101", "out of range");
	bad("loss=-1", "out of range");
	bad("reorder=100.5", "out of range");
	bad("delay=-5", "whole number");
	bad("delay=10001", "0..10000");
	bad("delay=1.5", "whole number");
	bad("jitter=x", "whole number");
	bad("reorder_ms=20000", "0..10000");
	bad("queue=0", "at least 1");
	bad("queue=70000", "0..65536");
	bad("rate=10000001", "0..10000000");
	bad("rate=1.5mbit", "whole number");
	bad("seed=18446744073709551616", "whole number");
	bad("loss=5,,delay=1", "empty item");
	bad("loss=5,", "empty item");
	bad("", "empty spec");
	bad("   ", "empty spec");
	bad("loss=1,loss=2", "given twice");
	char err[8];
	struct netsim_cfg c;
	assert_int_equal(netsim_parse("nope=1", &c, err, sizeof(err)), -EINVAL); /* truncated */
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(netsim_parse("loss=1", &c, NULL, 0), 0);
	assert_int_equal(netsim_parse(NULL, &c, NULL, 0), -EINVAL);
}

static void test_new_bad(void **state)
{
	struct netsim_cfg c;
	struct netsim *ns = NULL;
	struct sink *s = new_sink();
	netsim_cfg_default(&c);
	assert_int_equal(netsim_new(&ns, NULL, &c, NULL, s), -EINVAL);
	c.loss = 150;
	assert_int_equal(netsim_new(&ns, NULL, &c, on_deliver, s), -EINVAL);
	netsim_cfg_default(&c);
	c.queue = 0;
	assert_int_equal(netsim_new(&ns, NULL, &c, on_deliver, s), -EINVAL);
	assert_null(ns);
	ns = new_pipe("delay=1", s);
	uint8_t big[NETSIM_MAX_PACKET + 1] = {0};
	assert_int_equal(netsim_push_at(ns, big, 0, 0), -EINVAL);
	assert_int_equal(netsim_push_at(ns, big, sizeof(big), 0), -EINVAL);
	assert_int_equal(netsim_push_at(ns, big, NETSIM_MAX_PACKET, 0), 1);
	netsim_free(&ns);
	assert_null(ns);
	netsim_free(&ns); /* NULL-safe */
	free(s);
}

/* ---- loss ---- */

static void test_loss_rate(void **state)
{
	struct sink *s = new_sink();
	struct netsim *ns = new_pipe("loss=5", s);
	run(ns, s, 10000, 1000);
	struct netsim_stats st;
	netsim_get_stats(ns, &st);
	/* binomial(10000, 0.05): mean 500, sd 21.8; +-100 is 4.6 sd */
	printf("loss=5: %llu of 10000 dropped\n", (unsigned long long)st.dropped);
	assert_true(st.dropped >= 400 && st.dropped <= 600);
	assert_int_equal(st.in, 10000);
	assert_int_equal(st.delivered, 10000 - st.dropped);
	assert_int_equal(s->n, (int)st.delivered);
	assert_int_equal(inversions(s), 0);
	check_invariant(ns);
	netsim_free(&ns);

	memset(s, 0, sizeof(*s));
	ns = new_pipe("loss=0.5", s);
	run(ns, s, 10000, 1000);
	netsim_get_stats(ns, &st);
	assert_true(st.dropped >= 20 && st.dropped <= 90); /* mean 50, sd 7 */
	netsim_free(&ns);

	memset(s, 0, sizeof(*s));
	ns = new_pipe("loss=100", s);
	run(ns, s, 1000, 1000);
	assert_int_equal(s->n, 0);
	netsim_free(&ns);

	memset(s, 0, sizeof(*s));
	ns = new_pipe("loss=0,delay=0", s);
	run(ns, s, 1000, 1000);
	assert_int_equal(s->n, 1000);
	for (int i = 0; i < s->n; i++) {
		assert_int_equal(s->id[i], i);
		assert_int_equal(s->at[i], s->pushed[i]); /* delay 0: due at once */
	}
	netsim_free(&ns);
	free(s);
}

/* The same seed gives the same fate to every packet; another seed does not. */
static void test_deterministic(void **state)
{
	struct sink *a = new_sink(), *b = new_sink(), *c = new_sink();
	struct netsim *na = new_pipe("loss=10,delay=30,jitter=10,reorder=5,seed=7", a);
	struct netsim *nb = new_pipe("loss=10,delay=30,jitter=10,reorder=5,seed=7", b);
	struct netsim *nc = new_pipe("loss=10,delay=30,jitter=10,reorder=5,seed=8", c);
	run(na, a, 5000, 1000);
	run(nb, b, 5000, 1000);
	run(nc, c, 5000, 1000);
	assert_int_equal(a->n, b->n);
	assert_memory_equal(a->id, b->id, sizeof(a->id[0]) * (size_t)a->n);
	assert_memory_equal(a->at, b->at, sizeof(a->at[0]) * (size_t)a->n);
	int same = a->n == c->n;
	for (int i = 0; same && i < a->n; i++)
		same = a->id[i] == c->id[i] && a->at[i] == c->at[i];
	assert_false(same);
	netsim_free(&na);
	netsim_free(&nb);
	netsim_free(&nc);
	free(a);
	free(b);
	free(c);
}

/* ---- delay, jitter, order ---- */

static void test_delay_jitter(void **state)
{
	struct sink *s = new_sink();
	struct netsim *ns = new_pipe("delay=30,jitter=10", s);
	run(ns, s, 4000, 5000);
	assert_int_equal(s->n, 4000);
	int64_t lo = INT64_MAX, hi = 0;
	for (int i = 0; i < s->n; i++) {
		int64_t d = s->at[i] - s->pushed[s->id[i]];
		assert_true(d >= 20000 && d <= 40000);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	printf("delay=30,jitter=10: delays %.1f..%.1f ms\n", lo / 1e3, hi / 1e3);
	assert_true(lo < 22000 && hi > 38000); /* the jitter is really applied */
	assert_int_equal(inversions(s), 0);    /* jitter alone never reorders */
	netsim_free(&ns);

	memset(s, 0, sizeof(*s));
	ns = new_pipe("delay=30", s);
	run(ns, s, 500, 3000);
	for (int i = 0; i < s->n; i++)
		assert_int_equal(s->at[i] - s->pushed[s->id[i]], 30000);
	netsim_free(&ns);

	/* jitter larger than the delay: never negative */
	memset(s, 0, sizeof(*s));
	ns = new_pipe("delay=5,jitter=20", s);
	run(ns, s, 2000, 1000);
	for (int i = 0; i < s->n; i++) {
		int64_t d = s->at[i] - s->pushed[s->id[i]];
		assert_true(d >= 0 && d <= 25000);
	}
	assert_int_equal(inversions(s), 0);
	netsim_free(&ns);
	free(s);
}

/* A bottleneck: 32-byte packets at 256 kbit/s take exactly 1 ms each on the link. */
static void test_rate(void **state)
{
	struct sink *s = new_sink();
	/* under capacity (one packet every 2 ms): each leaves 1 ms after its push, none lost */
	struct netsim *ns = new_pipe("rate=256kbit", s);
	run(ns, s, 1000, 2000);
	assert_int_equal(s->n, 1000);
	for (int i = 0; i < s->n; i++)
		assert_int_equal(s->at[i] - s->pushed[s->id[i]], 1000);
	netsim_free(&ns);

	/* twice the capacity into a 50-packet buffer: one packet per ms leaves, the rest is
	 * tail-dropped once the buffer is full, and the queueing delay stays bounded by it */
	memset(s, 0, sizeof(*s));
	ns = new_pipe("rate=256,queue=50", s);
	for (int i = 0; i < 4000; i++) {
		advance(ns, s, i * 500);
		uint8_t pkt[32] = {0};
		memcpy(pkt, &i, 4);
		s->pushed[i] = i * 500;
		int rc = netsim_push_at(ns, pkt, sizeof(pkt), i * 500);
		assert_true(rc == 1 || rc == -ENOBUFS);
	}
	advance(ns, s, INT64_MAX / 2);
	struct netsim_stats st;
	netsim_get_stats(ns, &st);
	check_invariant(ns);
	printf("rate=256,queue=50 at 2x: %d delivered, %llu dropped\n", s->n,
	       (unsigned long long)st.overflow);
	assert_true(s->n >= 2000 && s->n <= 2060);
	assert_int_equal(st.overflow, 4000 - (uint64_t)s->n);
	for (int i = 1; i < s->n; i++)
		assert_int_equal(s->at[i] - s->at[i - 1], 1000);
	for (int i = 0; i < s->n; i++)
		assert_true(s->at[i] - s->pushed[s->id[i]] <= 51000);
	assert_int_equal(inversions(s), 0);
	netsim_free(&ns);

	/* the delay comes after the link */
	memset(s, 0, sizeof(*s));
	ns = new_pipe("rate=256,delay=20", s);
	run(ns, s, 100, 5000);
	for (int i = 0; i < s->n; i++)
		assert_int_equal(s->at[i] - s->pushed[s->id[i]], 21000);
	netsim_free(&ns);
	free(s);
}

static void test_reorder(void **state)
{
	struct sink *s = new_sink();
	struct netsim *ns = new_pipe("loss=5,delay=30,jitter=10,reorder=2", s);
	run(ns, s, 10000, 1000);
	struct netsim_stats st;
	netsim_get_stats(ns, &st);
	int late = 0;
	for (int i = 0; i < s->n; i++) {
		int64_t d = s->at[i] - s->pushed[s->id[i]];
		/* in order: 20..40 ms; reordered: 40 ms more (2 * jitter + 20) */
		assert_true((d >= 20000 && d <= 40000) || (d >= 60000 && d <= 80000));
		late += d >= 60000;
	}
	int inv = inversions(s);
	printf("reorder=2: %llu reordered of %llu kept, %d delivered after a later packet\n",
	       (unsigned long long)st.reordered, (unsigned long long)(st.in - st.dropped), inv);
	/* 2% of the ~9500 kept packets: mean 190, sd 13.6 */
	assert_true(st.reordered >= 130 && st.reordered <= 250);
	assert_int_equal(late, (int)st.reordered);
	/* at 1 packet/ms a packet held 40 ms more is overtaken by ~40 others: each one counts */
	assert_int_equal(inv, (int)st.reordered);
	check_invariant(ns);
	netsim_free(&ns);

	/* reorder_ms given */
	memset(s, 0, sizeof(*s));
	ns = new_pipe("delay=10,reorder=50,reorder_ms=5", s);
	run(ns, s, 2000, 1000);
	for (int i = 0; i < s->n; i++) {
		int64_t d = s->at[i] - s->pushed[s->id[i]];
		assert_true(d == 10000 || d == 15000);
	}
	assert_true(inversions(s) > 500);
	netsim_free(&ns);

	/* reorder=0 and jitter 0: never out of order, whatever the loss */
	memset(s, 0, sizeof(*s));
	ns = new_pipe("loss=20,delay=30,reorder=0", s);
	run(ns, s, 10000, 100);
	assert_true(s->n > 7000);
	assert_int_equal(inversions(s), 0);
	netsim_get_stats(ns, &st);
	assert_int_equal(st.reordered, 0);
	netsim_free(&ns);
	free(s);
}

/* ---- queue cap, counters, ownership ---- */

static void test_cap_counters(void **state)
{
	struct sink *s = new_sink();
	struct netsim *ns = new_pipe("delay=100,queue=10", s);
	uint8_t pkt[8] = {0};
	for (uint32_t i = 0; i < 15; i++) {
		memcpy(pkt, &i, 4);
		assert_int_equal(netsim_push_at(ns, pkt, sizeof(pkt), 1000), i < 10 ? 1 : -ENOBUFS);
	}
	struct netsim_stats st;
	netsim_get_stats(ns, &st);
	assert_int_equal(st.in, 15);
	assert_int_equal(st.overflow, 5);
	assert_int_equal(st.queued, 10);
	assert_int_equal(st.delivered, 0);
	assert_int_equal(netsim_next_due(ns), 101000);
	check_invariant(ns);
	assert_int_equal(netsim_poll(ns, 100999), 0); /* not before it is due */
	s->now = 101000;
	assert_int_equal(netsim_poll(ns, 101000), 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(s->id[i], i);
	netsim_get_stats(ns, &st);
	assert_int_equal(st.delivered, 10);
	assert_int_equal(st.queued, 0);
	check_invariant(ns);
	/* room again once delivered */
	assert_int_equal(netsim_push_at(ns, pkt, sizeof(pkt), 200000), 1);
	netsim_free(&ns);
	free(s);
}

/* The callback may push into the pipe that is delivering. */
static void test_reentrant(void **state)
{
	struct sink *s = new_sink();
	struct netsim *ns = new_pipe("delay=0", s);
	s->repush = 3;
	uint32_t id = 1;
	assert_int_equal(netsim_push_at(ns, (uint8_t *)&id, 4, 0), 1);
	s->now = 0;
	int total = 0;
	for (int k = 0; k < 10 && netsim_next_due(ns) >= 0; k++)
		total += netsim_poll(ns, 0);
	assert_int_equal(total, 4);
	assert_int_equal(s->n, 4);
	assert_int_equal(s->id[3], 3000001);
	netsim_free(&ns);
	free(s);
}

/* Packets still held are freed, not delivered (ASan would report a leak). */
static void test_free_pending(void **state)
{
	struct sink *s = new_sink();
	struct netsim *ns = new_pipe("delay=1000,jitter=500,reorder=10", s);
	uint8_t pkt[1200];
	memset(pkt, 0x80, sizeof(pkt));
	for (int i = 0; i < 500; i++)
		assert_int_equal(netsim_push_at(ns, pkt, sizeof(pkt) - (size_t)i, i * 100), 1);
	struct netsim_stats st;
	netsim_get_stats(ns, &st);
	assert_int_equal(st.queued, 500);
	netsim_free(&ns);
	assert_int_equal(s->n, 0);

	/* the same with a timer attached to a context */
	GMainContext *ctx = g_main_context_new();
	struct netsim_cfg c;
	assert_int_equal(netsim_parse("delay=1000", &c, NULL, 0), 0);
	assert_int_equal(netsim_new(&ns, ctx, &c, on_deliver, s), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(netsim_push(ns, pkt, sizeof(pkt)), 1);
	netsim_free(&ns);
	while (g_main_context_iteration(ctx, FALSE))
		;
	assert_int_equal(s->n, 0);
	g_main_context_unref(ctx);
	free(s);
}

/* ---- the GLib timer ---- */

struct timed {
	int n;
	int64_t pushed, first, last;
	uint32_t ids[16];
};

static void on_timed(void *opaque, uint8_t *data, size_t len)
{
	struct timed *t = opaque;
	int64_t now = g_get_monotonic_time();
	if (t->n == 0)
		t->first = now;
	t->last = now;
	if (t->n < 16)
		memcpy(&t->ids[t->n], data, 4);
	t->n++;
}

static void test_timer(void **state)
{
	GMainContext *ctx = g_main_context_new();
	struct netsim_cfg c;
	struct netsim *ns = NULL;
	struct timed t = {0};
	assert_int_equal(netsim_parse("delay=20", &c, NULL, 0), 0);
	assert_int_equal(netsim_new(&ns, ctx, &c, on_timed, &t), 0);
	t.pushed = g_get_monotonic_time();
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(netsim_push(ns, (uint8_t *)&i, 4), 1);
	assert_int_equal(t.n, 0); /* nothing is delivered by the push itself */
	int64_t deadline = t.pushed + 5 * G_USEC_PER_SEC; /* generous: shared machine */
	while (t.n < 5 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(ctx, TRUE);
	assert_int_equal(t.n, 5);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(t.ids[i], i);
	/* never early; late only by scheduling (bound generous for a loaded machine) */
	assert_true(t.first - t.pushed >= 20000);
	assert_true(t.last - t.pushed < 2 * G_USEC_PER_SEC);
	printf("timer: delivered %.1f ms after the push (delay 20 ms)\n",
	       (t.first - t.pushed) / 1e3);
	/* a second burst re-arms the timer */
	t.n = 0;
	t.pushed = g_get_monotonic_time();
	uint32_t id = 9;
	assert_int_equal(netsim_push(ns, (uint8_t *)&id, 4), 1);
	deadline = t.pushed + 5 * G_USEC_PER_SEC;
	while (t.n < 1 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(ctx, TRUE);
	assert_int_equal(t.n, 1);
	assert_true(t.first - t.pushed >= 20000);
	netsim_free(&ns);
	g_main_context_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_new_bad),       cmocka_unit_test(test_loss_rate),
	    cmocka_unit_test(test_deterministic), cmocka_unit_test(test_delay_jitter),
	    cmocka_unit_test(test_reorder),       cmocka_unit_test(test_cap_counters),
	    cmocka_unit_test(test_reentrant),     cmocka_unit_test(test_free_pending),
	    cmocka_unit_test(test_timer),         cmocka_unit_test(test_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
