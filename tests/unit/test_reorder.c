/*
 * test_reorder.c - unit tests for the per-stream reorder buffer.
 *
 * In-order passthrough, reordering within the window, duplicates and too-old packets, gaps
 * skipped after max_wait (timed from the packet that waited longest), the window-full rule,
 * sequence wrap at 65535, a stream starting at 65530 with its first packets lost, jumps far
 * ahead (no per-packet loop, lost counted), a sender restart far behind, and the counters;
 * memory follows what is held: in order a stream reuses one or two buffers, a burst of
 * reordering takes one per packet held and does not keep them, a reset gives them back.
 * Each popped packet tells its arrival (reorder_popped_arrival).
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

#include "rtp/reorder.h"

#define WAIT 100000

static struct reorder *new_reorder(int cap)
{
	struct reorder *r = NULL;
	assert_int_equal(reorder_alloc(&r, cap, WAIT), 0);
	return r;
}

/* Pushes a packet whose contents identify its sequence number. */
static int push(struct reorder *r, uint16_t seq, int64_t now)
{
	uint8_t b[3] = {(uint8_t)(seq >> 8), (uint8_t)seq, 0xab};
	return reorder_push(r, seq, b, sizeof(b), now);
}

/* Pops one packet and checks it is `want` with `want_lost` skipped before it. */
static void pop_expect(struct reorder *r, int64_t now, uint16_t want, int want_lost)
{
	uint16_t seq = 0;
	const uint8_t *p = NULL;
	size_t len = 0;
	int lost = -1;
	assert_int_equal(reorder_pop(r, now, &seq, &p, &len, &lost), 1);
	assert_int_equal(seq, want);
	assert_int_equal(lost, want_lost);
	assert_int_equal(len, 3);
	assert_int_equal(p[0], want >> 8);
	assert_int_equal(p[1], want & 0xff);
}

static void pop_none(struct reorder *r, int64_t now)
{
	uint16_t seq;
	const uint8_t *p;
	size_t len;
	int lost;
	assert_int_equal(reorder_pop(r, now, &seq, &p, &len, &lost), 0);
}

static void test_in_order(void **state)
{
	struct reorder *r = new_reorder(32);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(push(r, (uint16_t)(i + 7), i), 0);
		pop_expect(r, i, (uint16_t)(i + 7), 0);
		pop_none(r, i);
	}
	struct reorder_stats st;
	reorder_get_stats(r, &st);
	assert_int_equal(st.pushed, 1000);
	assert_int_equal(st.released, 1000);
	assert_int_equal(st.lost + st.duplicates + st.too_old + st.overflow, 0);
	reorder_free(&r);
	assert_null(r);
}

/* A packet held behind a gap keeps its own arrival time; the gap's filler has its own. */
static void test_popped_arrival(void **state)
{
	struct reorder *r = new_reorder(32);
	assert_int_equal(reorder_popped_arrival(r), 0);
	assert_int_equal(push(r, 10, 1000), 0);
	pop_expect(r, 1000, 10, 0);
	assert_int_equal(reorder_popped_arrival(r), 1000);
	assert_int_equal(push(r, 12, 2000), 0);
	pop_none(r, 2000);
	assert_int_equal(push(r, 11, 5000), 0); /* late: 12 waited for it */
	pop_expect(r, 5000, 11, 0);
	assert_int_equal(reorder_popped_arrival(r), 5000);
	pop_expect(r, 5000, 12, 0);
	assert_int_equal(reorder_popped_arrival(r), 2000);
	reorder_free(&r);
}

static void test_reorder_window(void **state)
{
	struct reorder *r = new_reorder(32);
	assert_int_equal(push(r, 100, 0), 0);
	pop_expect(r, 0, 100, 0);
	assert_int_equal(push(r, 103, 1), 0);
	assert_int_equal(push(r, 102, 2), 0);
	pop_none(r, 3);
	assert_int_equal(push(r, 101, 4), 0);
	pop_expect(r, 5, 101, 0);
	pop_expect(r, 5, 102, 0);
	pop_expect(r, 5, 103, 0);
	pop_none(r, 5);
	reorder_free(&r);
}

static void test_duplicate_and_old(void **state)
{
	struct reorder *r = new_reorder(32);
	assert_int_equal(push(r, 10, 0), 0);
	pop_expect(r, 0, 10, 0);
	assert_int_equal(push(r, 12, 0), 0);
	assert_int_equal(push(r, 12, 0), -EEXIST);
	assert_int_equal(push(r, 10, 0), -ERANGE); /* already released */
	assert_int_equal(push(r, 5, 0), -ERANGE);
	uint8_t big[1501] = {0};
	assert_int_equal(reorder_push(r, 13, big, sizeof(big), 0), -EINVAL);
	struct reorder_stats st;
	reorder_get_stats(r, &st);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.too_old, 2);
	struct reorder *bad = NULL;
	assert_int_equal(reorder_alloc(&bad, 1, WAIT), -EINVAL);
	assert_int_equal(reorder_alloc(&bad, 4097, WAIT), -EINVAL);
	reorder_free(&r);
}

static void test_gap_skipped_after_wait(void **state)
{
	struct reorder *r = new_reorder(32);
	assert_int_equal(push(r, 0, 0), 0);
	pop_expect(r, 0, 0, 0);
	assert_int_equal(push(r, 5, 1000), 0);  /* waits longest */
	assert_int_equal(push(r, 3, 50000), 0); /* 1, 2 and 4 missing */
	pop_none(r, 1000 + WAIT - 1);
	pop_expect(r, 1000 + WAIT, 3, 2);
	pop_expect(r, 1000 + WAIT, 5, 1); /* 5 has waited long enough too */
	pop_none(r, 1000 + WAIT);
	assert_int_equal(push(r, 4, 1000 + WAIT), -ERANGE); /* too late */
	/* the timer restarts from the next packet that waits */
	assert_int_equal(push(r, 7, 200000), 0);
	pop_none(r, 200000 + WAIT - 1);
	pop_expect(r, 200000 + WAIT, 7, 1);
	struct reorder_stats st;
	reorder_get_stats(r, &st);
	assert_int_equal(st.lost, 4);
	assert_int_equal(st.overflow, 0);
	reorder_free(&r);
}

static void test_full_buffer(void **state)
{
	struct reorder *r = new_reorder(8);
	assert_int_equal(push(r, 0, 0), 0);
	pop_expect(r, 0, 0, 0);
	for (int s = 2; s <= 8; s++) /* 1 missing; 8 outstanding: still waits */
		assert_int_equal(push(r, (uint16_t)s, 0), 0);
	pop_none(r, 0);
	assert_int_equal(push(r, 9, 0), 0); /* 9 outstanding > cap: give up on 1 */
	pop_expect(r, 0, 2, 1);
	for (int s = 3; s <= 9; s++)
		pop_expect(r, 0, (uint16_t)s, 0);
	pop_none(r, 0);
	/* without popping, pushes within the ring (2*cap rounded up to 64) are kept */
	for (int s = 11; s <= 25; s++)
		assert_int_equal(push(r, (uint16_t)s, 0), 0);
	pop_expect(r, 0, 11, 1);
	/* further ahead: a reset that discards the 14 held (12..25) */
	assert_int_equal(push(r, 12 + 64, 0), 0);
	pop_expect(r, 0, 12 + 64, 64);
	pop_none(r, 0);
	struct reorder_stats st;
	reorder_get_stats(r, &st);
	assert_int_equal(st.overflow, 2 + 14);
	assert_int_equal(st.lost, 2 + 64 - 14);
	reorder_free(&r);
}

static void test_wrap(void **state)
{
	struct reorder *r = new_reorder(16);
	const uint16_t order[] = {65532, 65533, 65535, 65534, 1, 0, 2, 3};
	const uint16_t want[] = {65532, 65533, 65534, 65535, 0, 1, 2, 3};
	int out = 0;
	for (int i = 0; i < 8; i++) {
		assert_int_equal(push(r, order[i], i), 0);
		uint16_t seq;
		const uint8_t *p;
		size_t len;
		int lost;
		while (reorder_pop(r, i, &seq, &p, &len, &lost) == 1) {
			assert_int_equal(seq, want[out++]);
			assert_int_equal(lost, 0);
		}
	}
	assert_int_equal(out, 8);
	reorder_free(&r);
}

static void test_start_65530_first_lost(void **state)
{
	/* the first packet received (65530 + 10 = 4) defines the start */
	struct reorder *r = new_reorder(64);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(push(r, (uint16_t)(65540 + i), i), 0);
		pop_expect(r, i, (uint16_t)(65540 + i), 0);
	}
	reorder_free(&r);
	/* 65530 arrives, then 65531..4 are lost */
	r = new_reorder(64);
	assert_int_equal(push(r, 65530, 0), 0);
	pop_expect(r, 0, 65530, 0);
	for (int s = 5; s < 15; s++)
		assert_int_equal(push(r, (uint16_t)s, s * 1000), 0);
	pop_none(r, 5000 + WAIT - 1);
	pop_expect(r, 5000 + WAIT, 5, 10);
	for (int s = 6; s < 15; s++)
		pop_expect(r, 5000 + WAIT, (uint16_t)s, 0);
	reorder_free(&r);
}

static void test_jump(void **state)
{
	struct reorder *r = new_reorder(64);
	for (int s = 100; s < 110; s++) {
		assert_int_equal(push(r, (uint16_t)s, s), 0);
		pop_expect(r, s, (uint16_t)s, 0);
	}
	assert_int_equal(push(r, 111, 200), 0); /* 110 missing, 111 held */
	assert_int_equal(push(r, 3300, 201), 0);
	pop_expect(r, 201, 3300, 3300 - 109 - 1); /* 111 discarded */
	pop_none(r, 202);
	for (int s = 3301; s < 3310; s++) {
		assert_int_equal(push(r, (uint16_t)s, s), 0);
		pop_expect(r, s, (uint16_t)s, 0);
	}
	struct reorder_stats st;
	reorder_get_stats(r, &st);
	assert_int_equal(st.lost, 3300 - 110 - 1);
	assert_int_equal(st.overflow, 1); /* 111 discarded */
	/* a jump across the wrap, 40 s of 50 packets/s later */
	assert_int_equal(push(r, (uint16_t)(3309 + 2000), 0), 0);
	pop_expect(r, 0, (uint16_t)(3309 + 2000), 1999);
	reorder_free(&r);
}

static void test_restart_behind(void **state)
{
	struct reorder *r = new_reorder(64);
	for (int s = 20000; s < 20010; s++) {
		assert_int_equal(push(r, (uint16_t)s, s), 0);
		pop_expect(r, s, (uint16_t)s, 0);
	}
	assert_int_equal(push(r, 1000, 0), -ERANGE);
	assert_int_equal(push(r, 20010, 0), 0); /* the old stream goes on: no restart */
	pop_expect(r, 0, 20010, 0);
	assert_int_equal(push(r, 1001, 0), -ERANGE);
	assert_int_equal(push(r, 1002, 0), 0); /* two in sequence: restart there */
	pop_expect(r, 0, 1002, 0);
	assert_int_equal(push(r, 1003, 0), 0);
	pop_expect(r, 0, 1003, 0);
	/* a late packet just behind never restarts the stream */
	assert_int_equal(push(r, 990, 0), -ERANGE);
	assert_int_equal(push(r, 991, 0), -ERANGE);
	struct reorder_stats st;
	reorder_get_stats(r, &st);
	assert_int_equal(st.too_old, 4);
	assert_int_equal(st.pushed, 10 + 7);
	assert_int_equal(st.released, 10 + 3);
	reorder_free(&r);
}

/* Random arrivals around a moving head with rare big jumps: released order only increases. */
static void test_random_stress(void **state)
{
	struct reorder *r = new_reorder(128);
	unsigned seed = 7;
	uint16_t head = 65000, last = 0;
	bool any = false;
	for (int i = 0; i < 100000; i++) {
		seed = seed * 1103515245u + 12345u;
		int step = (int)((seed >> 16) % 1000) == 0 ? 5000 : 1;
		head = (uint16_t)(head + step);
		int off = (int)((seed >> 8) % 40) - 20;
		int e = push(r, (uint16_t)(head + off), (int64_t)i * 1000);
		assert_true(e == 0 || e == -EEXIST || e == -ERANGE);
		uint16_t seq;
		const uint8_t *p;
		size_t len;
		int lost;
		while (reorder_pop(r, (int64_t)i * 1000, &seq, &p, &len, &lost) == 1) {
			assert_true(!any || (uint16_t)(seq - last) - 1 == (uint16_t)lost);
			assert_int_equal(p[1], seq & 0xff);
			last = seq;
			any = true;
		}
	}
	struct reorder_stats st;
	reorder_get_stats(r, &st);
	assert_true(st.released + st.duplicates + st.too_old + st.overflow <= st.pushed);
	reorder_free(&r);
}

static void test_memory_follows_held(void **state)
{
	struct reorder *r = new_reorder(512);
	for (int i = 0; i < 10000; i++) {
		assert_int_equal(push(r, (uint16_t)i, i), 0);
		pop_expect(r, i, (uint16_t)i, 0);
	}
	struct reorder_stats st;
	reorder_get_stats(r, &st);
	assert_true(st.buffers_allocated <= 2); /* not a 1024-slot ring of copies */
	assert_int_equal(st.held_max, 1);
	/* A burst: 10000 lost, the next 200 held behind it, then it arrives. */
	for (int i = 1; i <= 200; i++)
		assert_int_equal(push(r, (uint16_t)(10000 + i), 20000), 0);
	assert_int_equal(push(r, 10000, 20001), 0);
	for (int i = 0; i <= 200; i++)
		pop_expect(r, 20001, (uint16_t)(10000 + i), 0);
	reorder_get_stats(r, &st);
	assert_int_equal(st.held_max, 201);
	uint64_t after_burst = st.buffers_allocated;
	assert_true(after_burst >= 201 && after_burst <= 203);
	/* In order again: the spares kept are enough, nothing new is allocated. */
	for (int i = 201; i < 1201; i++) {
		assert_int_equal(push(r, (uint16_t)(10000 + i), 30000 + i), 0);
		pop_expect(r, 30000 + i, (uint16_t)(10000 + i), 0);
	}
	reorder_get_stats(r, &st);
	assert_int_equal(st.buffers_allocated, after_burst);
	/* Packets held when a jump resets the buffer are given back (valgrind/ASan check it). */
	for (int i = 1202; i < 1300; i++)
		assert_int_equal(push(r, (uint16_t)(10000 + i), 40000), 0);
	assert_int_equal(push(r, (uint16_t)(10000 + 1201 + 5000), 40001), 0);
	pop_expect(r, 40001, (uint16_t)(10000 + 1201 + 5000), 5000);
	reorder_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order),
	    cmocka_unit_test(test_popped_arrival),
	    cmocka_unit_test(test_reorder_window),
	    cmocka_unit_test(test_duplicate_and_old),
	    cmocka_unit_test(test_gap_skipped_after_wait),
	    cmocka_unit_test(test_full_buffer),
	    cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_start_65530_first_lost),
	    cmocka_unit_test(test_jump),
	    cmocka_unit_test(test_restart_behind),
	    cmocka_unit_test(test_random_stress),
	    cmocka_unit_test(test_memory_follows_held),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
