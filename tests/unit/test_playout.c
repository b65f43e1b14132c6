/*
 * test_playout.c - unit tests for the adaptive playout delay (session/playout.c).
 *
 * An empty window wants the margin; steady lateness gives it plus the margin; one late audio
 * packet among a few hundred raises the audio target to it (a late audio packet is a concealed
 * one) but video ignores its own rare outliers (99th percentile); the window forgets after two
 * halves; a recent audio loss adds one packet time for FEC for PLAYOUT_LOSS_US; floor and
 * ceiling clamp; audio rises to within PLAYOUT_AV_MAX_US of video; reorder_set_wait changes
 * when a gap is skipped; the video reorder wait follows the RTT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rtp/reorder.h"
#include "session/peer.h"
#include "session/playout.h"

#define MS 1000

static void feed(struct playout *po, bool video, int n, int64_t late, int64_t *now)
{
	for (int i = 0; i < n; i++) {
		playout_note(po, video, late, *now);
		*now += 20 * MS;
	}
}

static void test_empty_and_steady(void **state)
{
	(void)state;
	struct playout po;
	playout_init(&po, 0, 200 * MS);
	assert_int_equal(playout_target_audio(&po, 0), PLAYOUT_MARGIN_US);
	assert_int_equal(playout_target_video(&po), PLAYOUT_MARGIN_US);
	int64_t now = 0;
	feed(&po, false, 100, 3 * MS + 400, &now); /* bucket 3 ms: its upper edge, 4 ms */
	assert_int_equal(playout_target_audio(&po, now), 4 * MS + PLAYOUT_MARGIN_US);
	feed(&po, true, 100, -5 * MS, &now); /* early counts as on time */
	assert_int_equal(playout_target_video(&po), 1 * MS + PLAYOUT_MARGIN_US);
}

static void test_outliers(void **state)
{
	(void)state;
	struct playout po;
	playout_init(&po, 0, 200 * MS);
	int64_t now = 0;
	feed(&po, false, 150, 1 * MS, &now);
	feed(&po, false, 1, 40 * MS, &now);
	feed(&po, false, 149, 1 * MS, &now);
	assert_int_equal(playout_target_audio(&po, now), 41 * MS + PLAYOUT_MARGIN_US);
	/* video: 1 in 300 does not move its 99th percentile, 10 in 300 do */
	feed(&po, true, 299, 2 * MS, &now);
	feed(&po, true, 1, 90 * MS, &now);
	assert_int_equal(playout_target_video(&po), 3 * MS + PLAYOUT_MARGIN_US);
	feed(&po, true, 9, 90 * MS, &now);
	assert_int_equal(playout_target_video(&po), 91 * MS + PLAYOUT_MARGIN_US);
}

static void test_window_forgets(void **state)
{
	(void)state;
	struct playout po;
	playout_init(&po, 0, 200 * MS);
	int64_t now = 0;
	feed(&po, false, 1, 60 * MS, &now);
	feed(&po, false, 10, 1 * MS, &now);
	assert_int_equal(playout_target_audio(&po, now), 61 * MS + PLAYOUT_MARGIN_US);
	now += PLAYOUT_HALF_US;
	feed(&po, false, 10, 1 * MS, &now); /* the spike is in the previous half: still counted */
	assert_int_equal(playout_target_audio(&po, now), 61 * MS + PLAYOUT_MARGIN_US);
	now += PLAYOUT_HALF_US;
	feed(&po, false, 10, 1 * MS, &now); /* two halves later: gone */
	assert_int_equal(playout_target_audio(&po, now), 2 * MS + PLAYOUT_MARGIN_US);
}

static void test_loss_adds_fec_time(void **state)
{
	(void)state;
	struct playout po;
	playout_init(&po, 0, 200 * MS);
	int64_t now = 1000 * MS;
	feed(&po, false, 50, 1 * MS, &now);
	int64_t base = playout_target_audio(&po, now);
	playout_note_loss(&po, now);
	assert_int_equal(playout_target_audio(&po, now), base + PLAYOUT_FEC_US);
	assert_int_equal(playout_target_video(&po), 2 * MS); /* video: its own, no FEC */
	now += PLAYOUT_LOSS_US;
	assert_int_equal(playout_target_audio(&po, now), base);
}

static void test_clamp_and_av(void **state)
{
	(void)state;
	struct playout po;
	playout_init(&po, 30 * MS, 100 * MS);
	int64_t now = 0;
	assert_int_equal(playout_target_audio(&po, now), 30 * MS);
	feed(&po, false, 10, 150 * MS, &now);
	assert_int_equal(playout_target_audio(&po, now), 100 * MS);

	playout_init(&po, 0, 200 * MS);
	now = 0;
	feed(&po, false, 100, 1 * MS, &now);
	feed(&po, true, 100, 70 * MS, &now);
	assert_int_equal(playout_target_video(&po), 71 * MS + PLAYOUT_MARGIN_US);
	assert_int_equal(playout_target_audio(&po, now),
	                 71 * MS + PLAYOUT_MARGIN_US - PLAYOUT_AV_MAX_US);

	playout_init(&po, 50 * MS, 10 * MS); /* min above max: min wins */
	assert_int_equal(playout_target_audio(&po, 0), 50 * MS);
}

static void test_reorder_set_wait(void **state)
{
	(void)state;
	struct reorder *r = NULL;
	assert_int_equal(reorder_alloc(&r, 64, 40 * MS), 0);
	uint8_t b[1] = {0};
	uint16_t seq;
	const uint8_t *pkt;
	size_t len;
	int lost;
	assert_int_equal(reorder_push(r, 1, b, 1, 0), 0);
	assert_int_equal(reorder_pop(r, 0, &seq, &pkt, &len, &lost), 1);
	assert_int_equal(reorder_push(r, 3, b, 1, 0), 0); /* 2 missing */
	assert_int_equal(reorder_pop(r, 5 * MS, &seq, &pkt, &len, &lost), 0);
	reorder_set_wait(r, 5 * MS);
	assert_int_equal(reorder_pop(r, 5 * MS, &seq, &pkt, &len, &lost), 1);
	assert_int_equal(seq, 3);
	assert_int_equal(lost, 1);
	reorder_free(&r);
}

/* The video reorder wait follows the RTT within 150..400 ms. */
static void test_video_reorder_wait(void **state)
{
	(void)state;
	assert_int_equal(peer_video_reorder_wait(1 * MS), 150 * MS);
	assert_int_equal(peer_video_reorder_wait(20 * MS), 180 * MS);
	assert_int_equal(peer_video_reorder_wait(70 * MS), 380 * MS);
	assert_int_equal(peer_video_reorder_wait(150 * MS), 400 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_and_steady),   cmocka_unit_test(test_outliers),
	    cmocka_unit_test(test_window_forgets),     cmocka_unit_test(test_loss_adds_fec_time),
	    cmocka_unit_test(test_clamp_and_av),       cmocka_unit_test(test_reorder_set_wait),
	    cmocka_unit_test(test_video_reorder_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
