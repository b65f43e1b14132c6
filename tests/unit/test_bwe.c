/*
 * test_bwe.c - unit tests for src/rtp/bwe.c against a small deterministic link simulator: a
 * sender that sends 30 frames a second at a target bitrate (the estimate, as an encoder would
 * follow it, or a fixed application rate), paced at 2.5 x that rate in packets of at most 1200
 * bytes; random loss; a bottleneck queue of capacity C (serialisation, a queue limit in time
 * that drops); a fixed propagation delay each way; transport-cc-like feedback every 100 ms of
 * the receiver's clock with every packet up to the last one received. Then the direct API's
 * robustness: duplicates, reordering, seq wrap, clock jumps, unknown seqs, all lost.
 * Single-threaded.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/bwe.h"

#define MS        1000LL
#define S         1000000LL
#define SIM_PKTS  400000
#define SIM_TICKS 1200 /* estimates recorded every 100 ms: 120 s */

struct sim_pkt {
	int64_t send, arrival;
	uint32_t size;
	bool lost;
};

struct sim {
	struct bwe *b;
	struct sim_pkt *p;
	uint32_t n, n_sent, next_report;
	int64_t now, next_frame, pace_next, next_fb, next_rtt, link_free;
	double cap_bps, loss, app_bps;
	int64_t prop_us, qlimit_us, rx_offset;
	uint16_t seq_base;
	uint64_t rng;
	uint64_t est[SIM_TICKS];
	uint32_t sent_at[SIM_TICKS], lost_at[SIM_TICKS]; /* cumulative packets sent / lost */
	uint32_t lost;
};

static void sim_init(struct sim *s, double cap_bps)
{
	memset(s, 0, sizeof(*s));
	struct bwe_cfg cfg = {300000, 50000, 5000000};
	assert_int_equal(bwe_alloc(&s->b, &cfg), 0);
	s->p = calloc(SIM_PKTS, sizeof(*s->p));
	assert_non_null(s->p);
	s->cap_bps = cap_bps;
	s->prop_us = 40 * MS;
	s->qlimit_us = 250 * MS;
	s->next_fb = 100 * MS;
	s->seq_base = 65000; /* wraps after 536 packets */
	s->rx_offset = 123456789;
	s->rng = 42;
}

static void sim_free(struct sim *s)
{
	bwe_free(&s->b);
	assert_null(s->b);
	free(s->p);
}

static double rnd(struct sim *s)
{
	s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(s->rng >> 11) / 9007199254740992.0;
}

/* One frame's packets, paced at 2.5 x the rate after the previous frame's. */
static void sim_frame(struct sim *s)
{
	double rate = (double)bwe_estimate(s->b);
	if (s->app_bps > 0 && s->app_bps < rate)
		rate = s->app_bps;
	int bytes = (int)(rate / 8 / 30);
	int npk = (bytes + 1199) / 1200;
	int64_t t = s->pace_next > s->now ? s->pace_next : s->now;
	for (int k = 0; k < npk && s->n < SIM_PKTS; k++) {
		struct sim_pkt *p = &s->p[s->n++];
		p->size = (uint32_t)(bytes / npk);
		p->send = t;
		t += (int64_t)(p->size * 8.0 * S / (2.5 * rate));
	}
	s->pace_next = t;
}

/* Random loss, then the bottleneck queue. */
static void sim_transmit(struct sim *s, uint32_t i)
{
	struct sim_pkt *p = &s->p[i];
	bwe_on_sent(s->b, (uint16_t)(s->seq_base + i), p->size, p->send);
	int64_t start = s->link_free > p->send ? s->link_free : p->send;
	if (rnd(s) < s->loss || start - p->send > s->qlimit_us) {
		p->lost = true;
		s->lost++;
		return;
	}
	s->link_free = start + (int64_t)(p->size * 8.0 * S / s->cap_bps);
	p->arrival = s->link_free + s->prop_us;
}

/* The receiver's feedback at its time T = next_fb, reaching us now. */
static void sim_feedback(struct sim *s)
{
	int64_t T = s->next_fb;
	int64_t last = -1;
	for (uint32_t i = s->next_report; i < s->n_sent; i++)
		if (!s->p[i].lost && s->p[i].arrival <= T)
			last = i;
	for (int64_t i = s->next_report; i <= last; i++) {
		struct sim_pkt *p = &s->p[i];
		bwe_on_result(s->b, (uint16_t)(s->seq_base + i), !p->lost,
		              p->arrival + s->rx_offset);
	}
	if (last >= 0) {
		s->next_report = (uint32_t)last + 1;
		bwe_on_feedback_end(s->b, s->now);
	}
	s->next_fb += 100 * MS;
}

static void sim_step(struct sim *s)
{
	if (s->now >= s->next_frame) {
		sim_frame(s);
		s->next_frame += S / 30;
	}
	while (s->n_sent < s->n && s->p[s->n_sent].send <= s->now)
		sim_transmit(s, s->n_sent++);
	if (s->now >= s->next_fb + s->prop_us)
		sim_feedback(s);
	if (s->now >= s->next_rtt) {
		int64_t q = s->link_free > s->now ? s->link_free - s->now : 0;
		bwe_on_rtt(s->b, 2 * s->prop_us + q);
		s->next_rtt += S;
	}
	if (s->now % (100 * MS) == 0 && s->now / (100 * MS) < SIM_TICKS) {
		int64_t k = s->now / (100 * MS);
		s->est[k] = bwe_estimate(s->b);
		s->sent_at[k] = s->n_sent;
		s->lost_at[k] = s->lost;
	}
	s->now += MS;
}

static void sim_print(const struct sim *s)
{
	struct bwe_stats st;
	bwe_get_stats(s->b, &st);
	int64_t q = s->link_free > s->now ? s->link_free - s->now : 0;
	printf("  t=%5.1fs link=%5.0fk est=%5.0fk delay=%5.0fk loss_bps=%5.0fk acked=%5.0fk "
	       "%-8s m=%6.1f thr=%5.1f queue=%3lldms lost=%u/%u\n",
	       (double)s->now / S, s->cap_bps / 1000, (double)bwe_estimate(s->b) / 1000,
	       (double)st.delay_bps / 1000, (double)st.loss_bps / 1000, (double)st.acked_bps / 1000,
	       bwe_state_name(st.state), st.trend, st.threshold, (long long)(q / MS), s->lost,
	       s->n_sent);
}

/* Runs until t_s seconds, printing every print_s seconds (0: never). */
static void sim_run(struct sim *s, double t_s, double print_s)
{
	int64_t until = (int64_t)(t_s * S);
	int64_t every = (int64_t)(print_s * S);
	while (s->now < until) {
		sim_step(s);
		if (every && s->now % every == 0)
			sim_print(s);
	}
}

static uint64_t est_at(const struct sim *s, double t_s)
{
	return s->est[(int)(t_s * 10 + 0.5)];
}

/* Lowest and highest estimates in [a, b] seconds, and the mean. */
static void est_range(const struct sim *s, double a, double b, uint64_t *lo, uint64_t *hi,
                      double *mean)
{
	*lo = UINT64_MAX;
	*hi = 0;
	double sum = 0;
	int n = 0;
	for (int k = (int)(a * 10 + 0.5); k <= (int)(b * 10 + 0.5); k++, n++) {
		*lo = s->est[k] < *lo ? s->est[k] : *lo;
		*hi = s->est[k] > *hi ? s->est[k] : *hi;
		sum += (double)s->est[k];
	}
	*mean = sum / n;
}

/* Lost share of the packets sent between a and b seconds. */
static double loss_between(const struct sim *s, double a, double b)
{
	int ka = (int)(a * 10 + 0.5), kb = (int)(b * 10 + 0.5);
	uint32_t sent = s->sent_at[kb] - s->sent_at[ka];
	return sent ? (double)(s->lost_at[kb] - s->lost_at[ka]) / sent : 0;
}

/* (1) 300 kbit/s start on a 2 Mbit/s link: up within [1.4, 2.4] Mbit/s by 30 s. */
static void test_ramp_up(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 2e6);
	printf("(1) ramp-up, 2 Mbit/s link:\n");
	sim_run(&s, 30.05, 3);
	uint64_t lo, hi;
	double mean;
	est_range(&s, 25, 30, &lo, &hi, &mean);
	printf("  => at 10 s %.0fk, 20 s %.0fk, 30 s %.0fk; 25-30 s %.0fk..%.0fk mean %.0fk; "
	       "loss 20-30 s %.2f %%\n",
	       est_at(&s, 10) / 1e3, est_at(&s, 20) / 1e3, est_at(&s, 30) / 1e3, lo / 1e3, hi / 1e3,
	       mean / 1e3, 100 * loss_between(&s, 20, 30));
	assert_in_range(est_at(&s, 30), 1400000, 2400000);
	assert_true(loss_between(&s, 20, 30) < 0.02);
	struct bwe_stats st;
	bwe_get_stats(s.b, &st);
	assert_true(st.acked_bps > 1000000);
	sim_free(&s);
}

/* (2) the link drops to 400 kbit/s at 30 s; (3) it recovers to 2 Mbit/s at 50 s. */
static void test_drop_and_recover(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 2e6);
	sim_run(&s, 30, 0);
	printf("(2) drop to 400 kbit/s at 30 s:\n");
	sim_print(&s);
	s.cap_bps = 400e3;
	sim_run(&s, 50.05, 2);
	double fell = -1;
	for (double t = 30; t <= 50; t += 0.1)
		if (est_at(&s, t) < 500000) {
			fell = t - 30;
			break;
		}
	uint64_t lo, hi;
	double mean;
	est_range(&s, 40, 50, &lo, &hi, &mean);
	printf("  => below 500k %.1f s after the drop; 40-50 s %.0fk..%.0fk mean %.0fk; loss "
	       "40-50 s %.2f %%\n",
	       fell, lo / 1e3, hi / 1e3, mean / 1e3, 100 * loss_between(&s, 40, 50));
	assert_true(fell >= 0 && fell <= 3.0);
	assert_in_range(lo, 250000, 480000);
	assert_in_range(hi, 250000, 480000);

	printf("(3) recovery to 2 Mbit/s at 50 s:\n");
	s.cap_bps = 2e6;
	sim_run(&s, 70.05, 2);
	double rose = -1;
	for (double t = 50; t <= 70; t += 0.1)
		if (est_at(&s, t) > 1000000) {
			rose = t - 50;
			break;
		}
	printf("  => above 1 Mbit/s %.1f s after the recovery; at 70 s %.0fk\n", rose,
	       est_at(&s, 70) / 1e3);
	assert_true(rose >= 0 && rose <= 20.0);
	sim_free(&s);
}

/*
 * (4) random loss on a link with no queueing, from 20 s (after a clean ramp-up): 5 % keeps the
 * estimate up (the classic rules hold between 2 and 10 %), 20 % brings it down. From the start,
 * 5 % must not pull the estimate below where it started.
 */
static void test_random_loss(void **state)
{
	(void)state;
	struct sim s;
	uint64_t lo, hi;
	double mean;
	sim_init(&s, 2e6);
	sim_run(&s, 20, 0);
	uint64_t before = bwe_estimate(s.b);
	s.loss = 0.05;
	sim_run(&s, 40.05, 0);
	est_range(&s, 20, 40, &lo, &hi, &mean);
	printf("(4) 5 %% random loss from 20 s, 2 Mbit/s: %.0fk at 20 s; 20-40 s %.0fk..%.0fk mean "
	       "%.0fk, at 40 s %.0fk; lost %.1f %%\n",
	       before / 1e3, lo / 1e3, hi / 1e3, mean / 1e3, est_at(&s, 40) / 1e3,
	       100 * loss_between(&s, 20, 40));
	assert_true(lo > 500000);
	sim_free(&s);

	sim_init(&s, 2e6);
	s.loss = 0.05;
	sim_run(&s, 30.05, 0);
	est_range(&s, 0, 30, &lo, &hi, &mean);
	printf("(4) 5 %% random loss from the start: 0-30 s %.0fk..%.0fk, at 30 s %.0fk\n",
	       lo / 1e3, hi / 1e3, est_at(&s, 30) / 1e3);
	assert_true(est_at(&s, 30) > 300000);
	sim_free(&s);

	sim_init(&s, 2e6);
	sim_run(&s, 20, 0);
	before = bwe_estimate(s.b);
	s.loss = 0.20;
	sim_run(&s, 30.05, 0);
	printf("(4) 20 %% random loss from 20 s: %.0fk at 20 s, %.0fk at 22 s, %.0fk at 30 s\n",
	       before / 1e3, est_at(&s, 22) / 1e3, est_at(&s, 30) / 1e3);
	assert_true(est_at(&s, 30) < before / 4);
	sim_free(&s);
}

/* (5) an application-limited sender: 200 kbit/s on a 2 Mbit/s link. */
static void test_app_limited(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 2e6);
	s.app_bps = 200e3;
	sim_run(&s, 30.05, 0);
	uint64_t lo, hi;
	double mean;
	est_range(&s, 0, 30, &lo, &hi, &mean);
	printf("(5) sending 200 kbit/s on 2 Mbit/s: 0-30 s %.0fk..%.0fk, at 30 s %.0fk\n", lo / 1e3,
	       hi / 1e3, est_at(&s, 30) / 1e3);
	assert_true(hi <= 1.5 * 200000 + 10000);
	assert_true(lo > 200000);
	sim_free(&s);
}

/* A receiver clock that jumps mid-call and seq wrap: the estimate goes on. */
static void test_sim_clock_jump(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 2e6);
	sim_run(&s, 15, 0);
	s.rx_offset += 50 * S;
	sim_run(&s, 16, 0);
	s.rx_offset -= 200 * S;
	sim_run(&s, 30.05, 0);
	struct bwe_stats st;
	bwe_get_stats(s.b, &st);
	assert_true(st.resets >= 2);
	assert_true(est_at(&s, 30) > 1000000);
	assert_true(s.seq_base + s.n_sent > 65536); /* the 16-bit seq wrapped */
	sim_free(&s);
}

static void test_alloc(void **state)
{
	(void)state;
	struct bwe *b = NULL;
	struct bwe_cfg bad[] = {
	    {300000, 0, 5000000}, {30000, 50000, 5000000}, {300000, 50000, 1000}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bwe_alloc(&b, &bad[i]), -EINVAL);
	assert_int_equal(bwe_alloc(&b, NULL), -EINVAL);
	struct bwe_cfg cfg = {300000, 50000, 5000000};
	assert_int_equal(bwe_alloc(&b, &cfg), 0);
	assert_int_equal(bwe_estimate(b), 300000);
	struct bwe_stats st;
	bwe_get_stats(b, &st);
	assert_int_equal(st.state, BWE_HOLD);
	assert_true(st.threshold == 12.5);
	assert_string_equal(bwe_state_name(BWE_INCREASE), "increase");
	bwe_free(&b);
	bwe_free(&b);
	assert_null(b);
	/* NULL objects are ignored */
	bwe_on_sent(NULL, 1, 100, 0);
	bwe_on_result(NULL, 1, true, 0);
	bwe_on_feedback_end(NULL, 0);
	bwe_on_rtt(NULL, 1000);
	assert_int_equal(bwe_estimate(NULL), 0);
	bwe_get_stats(NULL, &st);
	assert_int_equal(st.delay_bps, 0);
}

/* Sends n packets of 1000 bytes 10 ms apart from seq, at t0. */
static void send_n(struct bwe *b, uint16_t seq, int n, int64_t t0)
{
	for (int i = 0; i < n; i++)
		bwe_on_sent(b, (uint16_t)(seq + i), 1000, t0 + i * 10 * MS);
}

static void test_robust_results(void **state)
{
	(void)state;
	struct bwe *b;
	struct bwe_cfg cfg = {300000, 50000, 5000000};
	assert_int_equal(bwe_alloc(&b, &cfg), 0);
	struct bwe_stats st;

	/* seq wrap; every result twice, then all again in reverse: no loss, no resets */
	uint16_t seq0 = 65500;
	send_n(b, seq0, 100, 0);
	for (int i = 0; i < 100; i++) {
		int64_t arr = 5 * S + i * 10 * MS;
		bwe_on_result(b, (uint16_t)(seq0 + i), true, arr);
		bwe_on_result(b, (uint16_t)(seq0 + i), true, arr + 7 * MS);
	}
	for (int i = 99; i >= 0; i--)
		bwe_on_result(b, (uint16_t)(seq0 + i), i % 2, 0);
	bwe_on_feedback_end(b, S);
	bwe_get_stats(b, &st);
	assert_true(st.loss == 0);
	assert_int_equal(st.resets, 0);
	assert_int_equal(st.signal, BWE_NORMAL);
	assert_in_range(bwe_estimate(b), 300000, 320000);

	/* unknown seqs (never sent, or results again): ignored, no loss counted */
	for (int i = 0; i < 50; i++)
		bwe_on_result(b, (uint16_t)(1000 + i), false, 0);
	bwe_on_feedback_end(b, S + 100 * MS);
	bwe_get_stats(b, &st);
	assert_true(st.loss == 0);

	/* a feedback with everything lost: the loss-based estimate drops, the delay-based holds */
	uint64_t delay = st.delay_bps;
	send_n(b, 200, 40, 2 * S);
	for (int i = 0; i < 40; i++)
		bwe_on_result(b, (uint16_t)(200 + i), false, 0);
	bwe_on_feedback_end(b, 3 * S);
	bwe_get_stats(b, &st);
	assert_true(st.loss == 1.0);
	assert_int_equal(st.delay_bps, delay);
	assert_true(bwe_estimate(b) < 200000);
	/* a late arrival of a packet reported lost is accepted once, not counted as loss again */
	bwe_on_result(b, 200, true, 9 * S);
	bwe_on_result(b, 200, false, 0);
	bwe_on_feedback_end(b, 3 * S + 100 * MS);
	bwe_free(&b);
}

static void test_robust_clock(void **state)
{
	(void)state;
	struct bwe *b;
	struct bwe_cfg cfg = {300000, 50000, 5000000};
	assert_int_equal(bwe_alloc(&b, &cfg), 0);
	struct bwe_stats st;
	send_n(b, 0, 60, 0);
	/* arrival times going backwards within a feedback: the group state restarts */
	for (int i = 0; i < 30; i++)
		bwe_on_result(b, (uint16_t)i, true, -1000 * S + (i % 10 == 5 ? -3 : i) * 10 * MS);
	bwe_on_feedback_end(b, 500 * MS);
	bwe_get_stats(b, &st);
	assert_true(st.resets >= 3);
	uint64_t resets = st.resets;
	/* the receiver's clock jumps by a day, then by INT64 extremes: restarts, no overflow */
	for (int i = 30; i < 40; i++)
		bwe_on_result(b, (uint16_t)i, true, 86400 * S + i * 10 * MS);
	bwe_on_result(b, 40, true, INT64_MAX);
	bwe_on_result(b, 41, true, INT64_MIN);
	bwe_on_result(b, 42, true, 0);
	bwe_on_feedback_end(b, 700 * MS);
	bwe_get_stats(b, &st);
	assert_true(st.resets >= resets + 3);
	/* zero intervals: everything sent and received at the same instant */
	for (int i = 0; i < 50; i++)
		bwe_on_sent(b, (uint16_t)(100 + i), 1200, S);
	for (int i = 0; i < 50; i++)
		bwe_on_result(b, (uint16_t)(100 + i), true, 5 * S);
	bwe_on_feedback_end(b, S);
	bwe_on_feedback_end(b, S); /* an empty feedback, and time going backwards */
	bwe_on_feedback_end(b, 0);
	bwe_on_rtt(b, -5);
	bwe_on_rtt(b, INT64_MAX);
	uint64_t e = bwe_estimate(b);
	assert_in_range(e, 50000, 5000000);
	bwe_get_stats(b, &st);
	assert_false(isnan(st.trend));
	assert_false(isnan(st.threshold));
	bwe_free(&b);
}

/* Forgotten packets: more than BWE_HISTORY sent since; their results are ignored. */
static void test_history_bound(void **state)
{
	(void)state;
	struct bwe *b;
	struct bwe_cfg cfg = {300000, 50000, 5000000};
	assert_int_equal(bwe_alloc(&b, &cfg), 0);
	for (int i = 0; i < BWE_HISTORY + 100; i++)
		bwe_on_sent(b, (uint16_t)i, 1000, i * MS);
	for (int i = 0; i < 100; i++) /* forgotten: the slots hold newer packets */
		bwe_on_result(b, (uint16_t)i, false, 0);
	bwe_on_feedback_end(b, 10 * S);
	struct bwe_stats st;
	bwe_get_stats(b, &st);
	assert_true(st.loss == 0);
	assert_int_equal(bwe_estimate(b), 300000);
	bwe_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc),          cmocka_unit_test(test_robust_results),
	    cmocka_unit_test(test_robust_clock),   cmocka_unit_test(test_history_bound),
	    cmocka_unit_test(test_ramp_up),        cmocka_unit_test(test_drop_and_recover),
	    cmocka_unit_test(test_random_loss),    cmocka_unit_test(test_app_limited),
	    cmocka_unit_test(test_sim_clock_jump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
