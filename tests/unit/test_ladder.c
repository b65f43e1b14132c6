/*
 * test_ladder.c - unit tests for src/session/ladder.c: the ladder spec (its optional audio part
 * and the rungs' default Opus bitrates), the device ceiling, the fit of an estimate, and the link
 * rules fed with made-up REMB sequences (an application-limited link that must not move, a cap that
 * must move the recipient down within seconds, a probe that fails and backs off, recovery, audio
 * only). Single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "session/ladder.h"

#define S 1000000LL

static void std_ladder(struct ladder *l)
{
	ladder_default(l, 1280, 720, 30, 1500000, 32000);
}

static void test_default_and_describe(void **state)
{
	(void)state;
	struct ladder l;
	char d[256];
	std_ladder(&l);
	ladder_describe(&l, d, sizeof(d));
	assert_string_equal(
	    d, "1280x720@30:1500:32,640x360@30:600:32,640x360@15:375:24,320x180@15:150:16");
	assert_int_equal(l.r[0].abitrate, 32000);
	assert_int_equal(l.r[2].abitrate, 24000);
	assert_int_equal(ladder_abitrate(&l, 3), 16000);
	assert_int_equal(ladder_abitrate(&l, l.n), 16000); /* audio only: the lowest rung's */
	ladder_default(&l, 640, 360, 25, 200000, 20000);   /* odd rate: not halved; floors */
	ladder_describe(&l, d, sizeof(d));
	assert_string_equal(d,
	                    "640x360@25:200:20,320x180@25:80:20,320x180@25:50:20,160x90@25:30:16");
	/* never above the configured bitrate, never below 6000 */
	ladder_default(&l, 1280, 720, 30, 1500000, 12000);
	for (int i = 0; i < l.n; i++)
		assert_true(l.r[i].abitrate <= 12000);
	assert_int_equal(ladder_abitrate(&l, l.n), 12000);
	ladder_default(&l, 1280, 720, 30, 1500000, 6000);
	assert_int_equal(ladder_abitrate(&l, l.n), 6000);
	ladder_default(&l, 1280, 720, 30, 1500000, 64000);
	ladder_describe(&l, d, sizeof(d));
	assert_string_equal(
	    d, "1280x720@30:1500:64,640x360@30:600:64,640x360@15:375:24,320x180@15:150:16");
	/* the default for a place in ladders of other lengths */
	assert_int_equal(ladder_default_abitrate(0, 1, 32000), 32000);
	assert_int_equal(ladder_default_abitrate(1, 2, 32000), 32000);
	assert_int_equal(ladder_default_abitrate(2, 3, 32000), 16000);
	assert_int_equal(ladder_default_abitrate(2, 5, 32000), 24000);
	assert_int_equal(ladder_default_abitrate(3, 5, 32000), 24000);
	assert_int_equal(ladder_default_abitrate(4, 5, 32000), 16000);
	assert_int_equal(ladder_default_abitrate(4, 5, 4000), 6000);
}

static void test_parse(void **state)
{
	(void)state;
	struct ladder l;
	char err[128];
	assert_int_equal(ladder_parse("1280x720@30:2000,640x360@15:400,320x180@15:150", 30, 32000,
	                              &l, err, sizeof(err)),
	                 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.r[1].fps, 15);
	assert_int_equal(l.r[1].bitrate, 400000);
	/* old specs: the defaults for each place */
	assert_int_equal(l.r[0].abitrate, 32000);
	assert_int_equal(l.r[1].abitrate, 32000);
	assert_int_equal(l.r[2].abitrate, 16000);
	/* the describe of a ladder parses back to it */
	char d[256];
	struct ladder l2;
	std_ladder(&l);
	ladder_describe(&l, d, sizeof(d));
	assert_int_equal(ladder_parse(d, 30, 32000, &l2, err, sizeof(err)), 0);
	assert_int_equal(l2.n, l.n);
	assert_memory_equal(l.r, l2.r, sizeof(l.r[0]) * (size_t)l.n);
	const char *bad[] = {"",
	                     "1280x720@30",
	                     "1280x720@30:2000,",
	                     "1281x720@30:2000",
	                     "1280x720@7:2000",
	                     "640x360@30:100,1280x720@30:2000",
	                     "640x360@15:100,640x360@30:50",
	                     "640x360@30:10",
	                     "640x360@30:100x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (ladder_parse(bad[i], 30, 32000, &l, err, sizeof(err)) != -EINVAL || !err[0])
			fail_msg("'%s' accepted", bad[i]);
	}
	char many[512] = "";
	for (int i = 0; i < LADDER_MAX + 1; i++)
		strcat(many, i ? ",320x180@15:100" : "320x180@15:100");
	assert_int_equal(ladder_parse(many, 30, 32000, &l, err, sizeof(err)), -EINVAL);
}

static void test_parse_audio(void **state)
{
	(void)state;
	struct ladder l;
	char err[160];
	assert_int_equal(ladder_parse("1280x720@30:1500:32,640x360@15:375:24,320x180@15:150:12", 30,
	                              32000, &l, err, sizeof(err)),
	                 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.r[0].bitrate, 1500000);
	assert_int_equal(l.r[0].abitrate, 32000);
	assert_int_equal(l.r[1].abitrate, 24000);
	assert_int_equal(l.r[2].abitrate, 12000);
	assert_int_equal(ladder_abitrate(&l, l.n), 12000);
	/* mixed: a rung without an audio part gets its place's default, at most the one before's */
	assert_int_equal(ladder_parse("1280x720@30:1500:20,640x360@30:600,640x360@15:375:16,"
	                              "320x180@15:150",
	                              30, 32000, &l, err, sizeof(err)),
	                 0);
	assert_int_equal(l.r[1].abitrate, 20000); /* default 32000, capped by the rung before */
	assert_int_equal(l.r[2].abitrate, 16000);
	assert_int_equal(l.r[3].abitrate, 16000);
	/* the limits: 6 kbit/s up to the configured audio bitrate */
	assert_int_equal(ladder_parse("640x360@30:600:6", 30, 32000, &l, err, sizeof(err)), 0);
	assert_int_equal(l.r[0].abitrate, 6000);
	assert_int_equal(ladder_parse("640x360@30:600:64", 30, 64000, &l, err, sizeof(err)), 0);
	assert_int_equal(l.r[0].abitrate, 64000);
	/* a low configured bitrate caps the defaults */
	assert_int_equal(
	    ladder_parse("640x360@30:600,320x180@15:150", 30, 8000, &l, err, sizeof(err)), 0);
	assert_int_equal(l.r[0].abitrate, 8000);
	assert_int_equal(l.r[1].abitrate, 8000);
	const char *bad[] = {
	    "640x360@30:600:5",                    /* below 6 */
	    "640x360@30:600:0",                    /* zero */
	    "640x360@30:600:-16",                  /* negative */
	    "640x360@30:600:33",                   /* above the configured 32 */
	    "640x360@30:600:24x",                  /* junk after it */
	    "640x360@30:600:",                     /* empty */
	    "640x360@30:600:24:16",                /* a fourth number */
	    "640x360@30:600:16,320x180@15:150:24", /* dearer than the rung before */
	    /* above the third rung's default 24 */
	    "1280x720@30:1500,640x360@30:600,640x360@15:375,320x180@15:150:28",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (ladder_parse(bad[i], 30, 32000, &l, err, sizeof(err)) != -EINVAL || !err[0])
			fail_msg("'%s' accepted", bad[i]);
	}
}

static void test_ceiling_and_fit(void **state)
{
	(void)state;
	struct ladder l;
	std_ladder(&l);
	struct recv_profile p = {0};
	assert_int_equal(ladder_ceiling(&l, &p), 0);
	assert_int_equal(ladder_ceiling(&l, NULL), 0);
	p = (struct recv_profile){.max_width = 640, .max_height = 360, .max_fps = 15};
	assert_int_equal(ladder_ceiling(&l, &p), 2);
	p = (struct recv_profile){.max_width = 640};
	assert_int_equal(ladder_ceiling(&l, &p), 1);
	p = (struct recv_profile){.max_bitrate = 200000};
	assert_int_equal(ladder_ceiling(&l, &p), 3);
	p = (struct recv_profile){.max_width = 100};
	assert_int_equal(ladder_ceiling(&l, &p), 3); /* nothing fits: the lowest */
	assert_int_equal(ladder_fit(&l, 0, 2000000), 0);
	assert_int_equal(ladder_fit(&l, 0, 1000000), 1);
	assert_int_equal(ladder_fit(&l, 0, 400000), 3);
	assert_int_equal(ladder_fit(&l, 2, 2000000), 2);
	assert_int_equal(ladder_fit(&l, 0, 100000),
	                 3); /* under the lowest's headroom, above its floor */
	assert_int_equal(ladder_fit(&l, 0, 74000), 4); /* audio only */
	/* a rung's audio counts: 640x360@15 sends 375 + 24 kbit/s */
	assert_int_equal(ladder_need(&l, 2), (uint64_t)(399000 / LADDER_HEADROOM) + 1);
	assert_int_equal(ladder_fit(&l, 0, ladder_need(&l, 2)), 2);
	assert_int_equal(ladder_fit(&l, 0, (uint64_t)(375000 / LADDER_HEADROOM) + 1000), 3);
}

/* Feeds bps once a second from *t for secs seconds; returns the rung at the end. */
static int feed(struct rung_ctl *c, const struct ladder *l, uint64_t bps, int64_t *t, int secs)
{
	for (int i = 0; i < secs; i++, *t += S)
		rung_ctl_estimate(c, l, bps, *t);
	return c->cur;
}

/* Feeds bps once a second from *t until the rules answer something other than RUNG_SAME (at
 * most limit_s estimates); *t is then the time of that answer. */
static enum rung_why until_move(struct rung_ctl *c, const struct ladder *l, uint64_t bps,
                                int64_t *t, int limit_s)
{
	enum rung_why w = RUNG_SAME;
	for (int i = 0; i < limit_s && (w = rung_ctl_estimate(c, l, bps, *t)) == RUNG_SAME; i++)
		*t += S;
	return w;
}

/* Probe first: a step up is asked for as a probe, made only when the probe held. */
static void test_probe_first(void **state)
{
	(void)state;
	struct ladder l;
	std_ladder(&l);
	struct rung_ctl c;
	int64_t t = 0;
	rung_ctl_init(&c, 2, t);
	c.cur = 3;
	c.probe_first = true;
	assert_int_equal(until_move(&c, &l, 230000, &t, 20), RUNG_PROBE);
	assert_int_equal(c.cur, 3); /* not yet */
	t += S;
	/* no second probe, no step, while one runs */
	assert_int_equal(feed(&c, &l, 230000, &t, 5), 3);
	for (int i = 0; i < 5; i++, t += S)
		assert_int_equal(rung_ctl_estimate(&c, &l, 230000, t), RUNG_SAME);
	/* it failed: no move, no back-off; the next probe comes LADDER_PROBE_AGAIN_US later */
	int64_t t_fail = t;
	assert_int_equal(rung_ctl_probe_done(&c, false, t), RUNG_SAME);
	assert_int_equal(c.cur, 3);
	assert_int_equal(c.up_wait, LADDER_UP_WAIT);
	assert_int_equal(rung_ctl_probe_done(&c, true, t), RUNG_SAME); /* none running */
	assert_int_equal(until_move(&c, &l, 230000, &t, 60), RUNG_PROBE);
	assert_true(t - t_fail >= LADDER_PROBE_AGAIN_US);
	assert_true(t - t_fail < LADDER_PROBE_AGAIN_US + 2 * S);
	/* and again after each failure: never longer apart */
	for (int i = 0; i < 3; i++) {
		t_fail = t;
		assert_int_equal(rung_ctl_probe_done(&c, false, t), RUNG_SAME);
		assert_int_equal(until_move(&c, &l, 230000, &t, 60), RUNG_PROBE);
		assert_true(t - t_fail < LADDER_PROBE_AGAIN_US + 2 * S);
	}
	/* it held: up one rung, not beyond the ceiling */
	assert_int_equal(rung_ctl_probe_done(&c, true, t), RUNG_UP);
	assert_int_equal(c.cur, 2);
	assert_int_equal(feed(&c, &l, 5000000, &t, 30), 2);
	/* a move down ends a probe */
	rung_ctl_init(&c, 0, t);
	c.probe_first = true;
	c.cur = 1;
	c.next_up = t;
	assert_int_equal(rung_ctl_estimate(&c, &l, 800000, t), RUNG_PROBE);
	t += S;
	assert_int_equal(rung_ctl_estimate(&c, &l, 300000, t), RUNG_DOWN);
	assert_false(c.probing);
}

static void test_app_limited_stays(void **state)
{
	(void)state;
	struct ladder l;
	std_ladder(&l);
	struct rung_ctl c;
	int64_t t = 0;
	rung_ctl_init(&c, 0, t);
	/* a browser's estimate ramps up from 300 kbit/s and settles low: little motion */
	for (uint64_t b = 300000; b < 500000; b += 20000, t += S)
		assert_int_equal(rung_ctl_estimate(&c, &l, b, t), RUNG_SAME);
	assert_int_equal(feed(&c, &l, 500000, &t, 60), 0);
}

static void test_cap_probe_recover(void **state)
{
	(void)state;
	struct ladder l;
	std_ladder(&l);
	struct rung_ctl c;
	int64_t t = 0;
	rung_ctl_init(&c, 0, t);
	feed(&c, &l, 1800000, &t, 10);
	assert_int_equal(c.cur, 0);
	/* a mild fall (the rung still holds) takes two estimates in a row */
	assert_int_equal(rung_ctl_estimate(&c, &l, 1000000, t), RUNG_SAME);
	t += S;
	assert_int_equal(rung_ctl_estimate(&c, &l, 1100000, t), RUNG_DOWN);
	assert_int_equal(c.cur, 1);
	rung_ctl_init(&c, 0, t);
	feed(&c, &l, 1800000, &t, 10);
	/* a 400 kbit/s cap: the estimate falls below what the top rung needs to hold; down at
	 * once, to 320x180@15 */
	int64_t t_cap = t;
	assert_int_equal(rung_ctl_estimate(&c, &l, 380000, t), RUNG_DOWN);
	assert_int_equal(c.cur, 3);
	printf("down after %.1f s\n", (double)(t - t_cap) / S);
	/* a steady estimate the 150 kbit/s rung allows: a step up (the probe) after up_wait */
	int64_t t_down = t;
	t += S;
	assert_int_equal(until_move(&c, &l, 230000, &t, 19), RUNG_UP);
	t += S;
	assert_int_equal(c.cur, 2);
	assert_true(t - t_down <= LADDER_UP_WAIT + 2 * S);
	/* the link cannot carry 375 kbit/s: the estimate peaks then falls: back down, and the
	 * next probe waits twice as long */
	rung_ctl_estimate(&c, &l, 420000, t), t += S;
	rung_ctl_estimate(&c, &l, 300000, t), t += S;
	assert_int_equal(rung_ctl_estimate(&c, &l, 290000, t), RUNG_DOWN);
	assert_int_equal(c.cur, 3);
	assert_int_equal(c.up_wait, 2 * LADDER_UP_WAIT);
	t_down = t;
	t += S;
	assert_int_equal(until_move(&c, &l, 230000, &t, 60), RUNG_UP);
	t += S;
	assert_true(t - t_down >= 2 * LADDER_UP_WAIT);
	/* the cap lifts (the probe holds): up a rung at a time to the top */
	int64_t t_lift = t;
	int64_t first_up = 0;
	while (c.cur > 0 && t - t_lift < 60 * S) {
		int before = c.cur;
		rung_ctl_estimate(&c, &l, 2500000, t);
		if (c.cur != before && !first_up)
			first_up = t - t_lift;
		t += S;
	}
	assert_int_equal(c.cur, 0);
	printf("recovered to the top %.1f s after the lift\n", (double)(t - t_lift) / S);
	assert_true(t - t_lift <= 3 * LADDER_STEP_US + S);
	feed(&c, &l, 2500000, &t, (int)(LADDER_PROBE_US / S) + 1);
	assert_int_equal(c.up_wait, LADDER_UP_WAIT); /* reset after a step held */
	(void)first_up;
}

static void test_audio_only_and_ceiling(void **state)
{
	(void)state;
	struct ladder l;
	std_ladder(&l);
	struct rung_ctl c;
	int64_t t = 0;
	rung_ctl_init(&c, 2, t); /* a low-power device: 640x360@15 at best */
	feed(&c, &l, 2500000, &t, 30);
	assert_int_equal(c.cur, 2); /* never above its ceiling */
	assert_int_equal(rung_ctl_estimate(&c, &l, 60000, t), RUNG_DOWN);
	assert_int_equal(c.cur, l.n); /* audio only */
	t += S;
	/* audio alone gives a low estimate: the step back to the lowest video rung comes anyway */
	assert_int_equal(feed(&c, &l, 60000, &t, (int)(LADDER_UP_WAIT / S) + 2), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_and_describe),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_parse_audio),
	    cmocka_unit_test(test_ceiling_and_fit),
	    cmocka_unit_test(test_app_limited_stays),
	    cmocka_unit_test(test_probe_first),
	    cmocka_unit_test(test_cap_probe_recover),
	    cmocka_unit_test(test_audio_only_and_ceiling),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
