/*
 * test_audio_mix.c - unit tests for the audio mixer (mixer/audio_mix.c, mixer/limiter.c).
 *
 * Covers: exact mix-minus below full scale, no wrap-around at full scale, limiter release
 * back to the exact identity, dBov of known signals, K-loudest selection with hysteresis,
 * silence and removal rules, active-speaker hold, 1000 sources and config validation.
 * Single-threaded; every test owns the mixers and buffers it creates.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "mix/audio_mix.h"

#define N MIX_AUDIO_FRAME

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Uniform in [-amp, amp]. */
static int16_t rnd16(int amp)
{
	return (int16_t)((int)(rng() % (uint32_t)(2 * amp + 1)) - amp);
}

static void fill_random(int16_t *p, int amp)
{
	for (int i = 0; i < N; i++)
		p[i] = rnd16(amp);
}

static void fill_square(int16_t *p, int amp, int half_period)
{
	for (int i = 0; i < N; i++)
		p[i] = (int16_t)((i / half_period) & 1 ? -amp : amp);
}

static struct mix_audio *new_mixer(int k)
{
	struct mix_audio_cfg cfg;
	mix_audio_cfg_default(&cfg);
	cfg.max_mixed = k;
	struct mix_audio *m = NULL;
	assert_int_equal(mix_audio_alloc(&m, &cfg), 0);
	assert_non_null(m);
	return m;
}

/* Reports levels[i] for source ids[i] and runs one tick; returns the selection count. */
static int tick(struct mix_audio *m, const uint32_t *ids, const float *levels, int n)
{
	uint32_t sel[64];
	for (int i = 0; i < n; i++)
		assert_int_equal(mix_audio_set_level(m, ids[i], levels[i]), 0);
	int r = mix_audio_select(m, sel, 64);
	assert_true(r >= 0);
	for (int i = 0; i < r; i++)
		assert_true(mix_audio_is_mixed(m, sel[i]));
	return r;
}

static void ticks(struct mix_audio *m, const uint32_t *ids, const float *levels, int n, int t)
{
	for (int i = 0; i < t; i++)
		tick(m, ids, levels, n);
}

/* ---- sample path ---- */

static void test_mix_minus_exact(void **state)
{
	static int16_t pcm[4][N];
	static int32_t sum[N];
	static int16_t out[N];
	const int16_t *srcs[4];
	for (int k = 0; k < 4; k++) {
		fill_random(pcm[k], 4096);
		srcs[k] = pcm[k];
	}
	mix_audio_sum(srcs, 4, sum);
	for (int i = 0; i < N; i++)
		assert_int_equal(sum[i], pcm[0][i] + pcm[1][i] + pcm[2][i] + pcm[3][i]);
	for (int k = 0; k < 4; k++) {
		struct mix_limiter lim;
		mix_limiter_init(&lim);
		mix_audio_minus_limit(sum, pcm[k], out, &lim);
		for (int i = 0; i < N; i++) {
			int others = 0;
			for (int j = 0; j < 4; j++)
				others += j == k ? 0 : pcm[j][i];
			assert_int_equal(out[i], others);
		}
		assert_true(lim.gain == 1.0f);
	}
	struct mix_limiter lim;
	mix_limiter_init(&lim);
	mix_audio_minus_limit(sum, NULL, out, &lim);
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], sum[i]);
}

static void test_sum_zero_sources(void **state)
{
	static int32_t sum[N];
	for (int i = 0; i < N; i++)
		sum[i] = 77;
	mix_audio_sum(NULL, 0, sum);
	for (int i = 0; i < N; i++)
		assert_int_equal(sum[i], 0);
}

/* Every output keeps the true sign and stays within int16 full scale. */
static void check_no_wrap(const int32_t *sum, const int16_t *own, const int16_t *out)
{
	for (int i = 0; i < N; i++) {
		int64_t truth = (int64_t)sum[i] - (own ? own[i] : 0);
		assert_true((int64_t)out[i] * truth >= 0);
		assert_true(out[i] <= 32767 && out[i] >= -32767);
		if (truth != 0)
			assert_int_not_equal(out[i], 0);
	}
}

static void run_no_wrap(int16_t pcm[4][N])
{
	static int32_t sum[N];
	static int16_t out[N];
	const int16_t *srcs[4] = {pcm[0], pcm[1], pcm[2], pcm[3]};
	mix_audio_sum(srcs, 4, sum);
	for (int k = -1; k < 4; k++) {
		struct mix_limiter lim;
		mix_limiter_init(&lim);
		const int16_t *own = k < 0 ? NULL : pcm[k];
		for (int b = 0; b < 3; b++) {
			mix_audio_minus_limit(sum, own, out, &lim);
			check_no_wrap(sum, own, out);
			assert_true(lim.gain < 1.0f);
		}
	}
}

static void test_no_wrap_full_scale(void **state)
{
	static int16_t pcm[4][N];
	/* A naive int16 sum wraps: 4 * 32767 is -4 in 16 bits. */
	assert_int_equal((int16_t)(uint16_t)(4 * 32767), -4);
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < N; i++)
			pcm[k][i] = 32767;
	run_no_wrap(pcm);
	for (int k = 0; k < 4; k++)
		fill_square(pcm[k], 32767, 1);
	run_no_wrap(pcm);
	for (int k = 0; k < 4; k++)
		fill_square(pcm[k], 32767, 24 + 7 * k);
	run_no_wrap(pcm);
}

/* The attack scales the whole block: a ramp stays monotonic and reaches full scale. */
static void test_limiter_scales_not_clips(void **state)
{
	static int32_t sum[N];
	static int16_t out[N];
	for (int i = 0; i < N; i++)
		sum[i] = (int32_t)(-98301 + (int64_t)196602 * i / (N - 1));
	struct mix_limiter lim;
	mix_limiter_init(&lim);
	mix_audio_minus_limit(sum, NULL, out, &lim);
	for (int i = 1; i < N; i++)
		assert_true(out[i] >= out[i - 1]);
	assert_true(out[N - 1] >= 32760 && out[0] <= -32760);
	/* Not clipped flat: the samples near the top still differ. */
	assert_true(out[N - 1] - out[N - 20] > 100);
}

static void test_limiter_release_to_identity(void **state)
{
	static int16_t loud[4][N], quiet[4][N];
	static int32_t sum[N];
	static int16_t out[N];
	for (int k = 0; k < 4; k++) {
		fill_square(loud[k], 32767, 10);
		fill_random(quiet[k], 4096);
	}
	const int16_t *ls[4] = {loud[0], loud[1], loud[2], loud[3]};
	const int16_t *qs[4] = {quiet[0], quiet[1], quiet[2], quiet[3]};
	struct mix_limiter lim;
	mix_limiter_init(&lim);
	mix_audio_sum(ls, 4, sum);
	for (int b = 0; b < 5; b++)
		mix_audio_minus_limit(sum, loud[0], out, &lim);
	assert_true(lim.gain < 0.5f);
	mix_audio_sum(qs, 4, sum);
	float prev = lim.gain;
	int b = 0;
	for (; b < 200 && lim.gain != 1.0f; b++) {
		mix_audio_minus_limit(sum, quiet[0], out, &lim);
		assert_true(lim.gain >= prev);
		prev = lim.gain;
		check_no_wrap(sum, quiet[0], out);
	}
	assert_true(lim.gain == 1.0f);
	assert_true(b > 5); /* released gradually, not at once */
	mix_audio_minus_limit(sum, quiet[0], out, &lim);
	for (int i = 0; i < N; i++)
		assert_int_equal(out[i], sum[i] - quiet[0][i]);
}

/* ---- levels ---- */

static void test_level_dbov(void **state)
{
	static int16_t p[N];
	fill_square(p, 32767, 24);
	assert_float_equal(mix_audio_level_dbov(p, N), 0.0f, 0.01f);
	for (int i = 0; i < N; i++)
		p[i] = (int16_t)lrint(32767.0 * sin(2 * M_PI * 1000.0 * i / MIX_AUDIO_RATE));
	assert_float_equal(mix_audio_level_dbov(p, N), -3.0103f, 0.1f);
	fill_square(p, 3277, 24);
	assert_float_equal(mix_audio_level_dbov(p, N), -20.0f, 0.1f);
	for (int i = 0; i < N; i++)
		p[i] = 0;
	assert_float_equal(mix_audio_level_dbov(p, N), MIX_SILENCE_DBOV, 0.001f);
	assert_float_equal(mix_audio_level_dbov(p, 0), MIX_SILENCE_DBOV, 0.001f);
	assert_float_equal(mix_audio_level_dbov(NULL, N), MIX_SILENCE_DBOV, 0.001f);
	p[0] = -32768; /* the most negative sample does not overflow */
	float one = mix_audio_level_dbov(p, 1);
	assert_true(one <= 0.0f && one > -0.01f);
}

/* ---- selection ---- */

static void test_select_k_loudest(void **state)
{
	struct mix_audio *m = new_mixer(4);
	uint32_t ids[10];
	float lv[10];
	for (int i = 0; i < 10; i++) {
		ids[i] = 100 + i;
		lv[i] = -50.0f + 4.0f * ((i * 7) % 10); /* distinct, shuffled */
	}
	ticks(m, ids, lv, 10, 50);
	uint32_t sel[64];
	tick(m, ids, lv, 10);
	int n = mix_audio_select(m, sel, 64);
	/* A tick with no reports: everyone counts as silent, but the release is slow. */
	assert_int_equal(n, 4);
	for (int i = 0; i < 10; i++) {
		int loudest = lv[i] >= -50.0f + 4.0f * 6;
		assert_int_equal(mix_audio_is_mixed(m, ids[i]), loudest);
	}
	/* Loudest first. */
	assert_int_equal(sel[0], ids[7]); /* (7 * 7) % 10 == 9 */
	/* A short output array gets the loudest entries only. */
	assert_int_equal(mix_audio_select(m, sel, 2), 2);
	assert_int_equal(sel[0], ids[7]);
	assert_int_equal(mix_audio_select(m, NULL, 0), 0);
	assert_int_equal(mix_audio_select(m, NULL, 3), -EINVAL);
	mix_audio_free(&m);
	assert_null(m);
}

static void test_hysteresis(void **state)
{
	struct mix_audio *m = new_mixer(4);
	uint32_t ids[5] = {1, 2, 3, 4, 5};
	float lv[5] = {-20, -22, -24, -26, -127};
	ticks(m, ids, lv, 5, 50);
	for (int i = 0; i < 4; i++)
		assert_true(mix_audio_is_mixed(m, ids[i]));
	lv[4] = -23; /* 3 dB above the quietest member */
	ticks(m, ids, lv, 5, 100);
	assert_false(mix_audio_is_mixed(m, 5));
	assert_true(mix_audio_is_mixed(m, 4));
	lv[4] = -16; /* 10 dB above it */
	ticks(m, ids, lv, 5, 10);
	assert_true(mix_audio_is_mixed(m, 5));
	assert_false(mix_audio_is_mixed(m, 4));
	for (int i = 0; i < 3; i++)
		assert_true(mix_audio_is_mixed(m, ids[i]));
	mix_audio_free(&m);
}

static void test_silent_never_selected(void **state)
{
	struct mix_audio *m = new_mixer(4);
	uint32_t ids[5] = {1, 2, 3, 4, 5};
	float lv[5] = {-30, -31, -32, -70, -90};
	ticks(m, ids, lv, 5, 50);
	assert_int_equal(tick(m, ids, lv, 5), 3);
	assert_false(mix_audio_is_mixed(m, 4));
	assert_false(mix_audio_is_mixed(m, 5));
	/* Levels are clamped: above 0 counts as 0, NaN as silence. */
	assert_int_equal(mix_audio_set_level(m, 6, 12.0f), 0);
	assert_int_equal(mix_audio_set_level(m, 7, NAN), 0);
	assert_int_equal(mix_audio_select(m, NULL, 0), 0);
	assert_true(mix_audio_is_mixed(m, 6));
	assert_false(mix_audio_is_mixed(m, 7));
	assert_int_equal(mix_audio_set_level(m, MIX_NO_SOURCE, -10.0f), -EINVAL);
	mix_audio_free(&m);
}

static void test_removal_leaves_at_once(void **state)
{
	struct mix_audio *m = new_mixer(2);
	uint32_t ids[3] = {1, 2, 3};
	float lv[3] = {-10, -20, -30};
	ticks(m, ids, lv, 3, 20);
	assert_true(mix_audio_is_mixed(m, 1));
	assert_int_equal(mix_audio_active_speaker(m), 1);
	mix_audio_remove_source(m, 1);
	assert_false(mix_audio_is_mixed(m, 1));
	assert_int_equal(mix_audio_active_speaker(m), MIX_NO_SOURCE);
	mix_audio_remove_source(m, 1); /* twice is harmless */
	mix_audio_remove_source(m, 99);
	/* The free place goes to the next loudest on the next tick. */
	assert_int_equal(tick(m, ids + 1, lv + 1, 2), 2);
	assert_true(mix_audio_is_mixed(m, 3));
	assert_int_equal(mix_audio_active_speaker(m), 2);
	mix_audio_free(&m);
}

static void test_active_speaker_hold(void **state)
{
	struct mix_audio *m = new_mixer(4);
	uint32_t ids[2] = {10, 20};
	float lv[2] = {-20, -40};
	assert_int_equal(mix_audio_active_speaker(m), MIX_NO_SOURCE);
	ticks(m, ids, lv, 2, 30);
	assert_int_equal(mix_audio_active_speaker(m), 10);
	/* 20 leads by only 4 dB: not enough, however long. */
	lv[1] = -16;
	ticks(m, ids, lv, 2, 100);
	assert_int_equal(mix_audio_active_speaker(m), 10);
	/* 20 leads by 10 dB: switches after the hold (10 ticks), not before. */
	lv[1] = -10;
	for (int t = 1; t < 10; t++) {
		tick(m, ids, lv, 2);
		assert_int_equal(mix_audio_active_speaker(m), 10);
	}
	ticks(m, ids, lv, 2, 3);
	assert_int_equal(mix_audio_active_speaker(m), 20);
	/* Everyone silent: nobody speaks (after the slow release). */
	lv[0] = lv[1] = -127;
	ticks(m, ids, lv, 2, 300);
	assert_int_equal(mix_audio_active_speaker(m), MIX_NO_SOURCE);
	assert_int_equal(tick(m, ids, lv, 2), 0);
	/* Not reporting at all counts as silent too. */
	lv[0] = -20;
	ticks(m, ids, lv, 1, 20);
	assert_int_equal(mix_audio_active_speaker(m), 10);
	ticks(m, NULL, NULL, 0, 300);
	assert_int_equal(mix_audio_active_speaker(m), MIX_NO_SOURCE);
	mix_audio_free(&m);
}

static void test_thousand_sources(void **state)
{
	enum { NS = 1000 };
	static uint32_t ids[NS];
	static float lv[NS];
	struct mix_audio *m = new_mixer(4);
	for (int i = 0; i < NS; i++) {
		ids[i] = (uint32_t)(i * 7919 + 3); /* spread ids */
		lv[i] = -10.0f - 0.04f * (float)((i * 337) % NS);
	}
	ticks(m, ids, lv, NS, 100);
	int mixed = 0;
	for (int i = 0; i < NS; i++) {
		int rank = (i * 337) % NS;
		assert_int_equal(mix_audio_is_mixed(m, ids[i]), rank < 4);
		mixed += mix_audio_is_mixed(m, ids[i]);
	}
	assert_int_equal(mixed, 4);
	/* Remove the loudest half; the table still finds every remaining source. */
	for (int i = 0; i < NS; i++)
		if ((i * 337) % NS < NS / 2)
			mix_audio_remove_source(m, ids[i]);
	for (int i = 0; i < NS; i++)
		assert_false(mix_audio_is_mixed(m, ids[i]) && (i * 337) % NS < NS / 2);
	static uint32_t left[NS];
	static float llv[NS];
	int nl = 0;
	for (int i = 0; i < NS; i++) {
		if ((i * 337) % NS >= NS / 2) {
			left[nl] = ids[i];
			llv[nl++] = lv[i];
		}
	}
	ticks(m, left, llv, nl, 10);
	for (int i = 0; i < NS; i++) {
		int rank = (i * 337) % NS;
		assert_int_equal(mix_audio_is_mixed(m, ids[i]),
		                 rank >= NS / 2 && rank < NS / 2 + 4);
	}
	mix_audio_free(&m);
}

static void test_table_churn(void **state)
{
	struct mix_audio *m = new_mixer(64);
	/* Ids that collide in the low bits; add, remove and re-add in waves. */
	for (int wave = 0; wave < 5; wave++) {
		for (uint32_t i = 0; i < 3000; i++)
			assert_int_equal(mix_audio_set_level(m, i << 16, -50.0f), 0);
		for (uint32_t i = 0; i < 3000; i += 2)
			mix_audio_remove_source(m, i << 16);
	}
	for (uint32_t i = 1; i < 3000; i += 2)
		assert_int_equal(mix_audio_set_level(m, i << 16, i < 128 ? -10.0f : -50.0f), 0);
	ticks(m, NULL, NULL, 0, 1);
	for (uint32_t i = 0; i < 3000; i++)
		assert_int_equal(mix_audio_is_mixed(m, i << 16), (i & 1) && i < 128);
	mix_audio_free(&m);
}

static void test_bad_cfg(void **state)
{
	struct mix_audio *m = NULL;
	struct mix_audio_cfg bad[7];
	for (int i = 0; i < 7; i++)
		mix_audio_cfg_default(&bad[i]);
	bad[0].max_mixed = 0;
	bad[1].max_mixed = 65;
	bad[2].hysteresis_db = -1.0f;
	bad[3].hysteresis_db = NAN;
	bad[4].silence_dbov = 3.0f;
	bad[5].silence_dbov = -200.0f;
	bad[6].speaker_hold_ticks = -1;
	for (int i = 0; i < 7; i++) {
		assert_int_equal(mix_audio_alloc(&m, &bad[i]), -EINVAL);
		assert_null(m);
	}
	assert_int_equal(mix_audio_alloc(NULL, NULL), -EINVAL);
	assert_int_equal(mix_audio_alloc(&m, NULL), 0);
	assert_non_null(m);
	mix_audio_free(&m);
	assert_null(m);
	mix_audio_free(&m);
	mix_audio_free(NULL);
	struct mix_audio_cfg d;
	mix_audio_cfg_default(&d);
	assert_int_equal(d.max_mixed, 4);
	assert_float_equal(d.hysteresis_db, 6.0f, 0.0f);
	assert_float_equal(d.silence_dbov, -60.0f, 0.0f);
	assert_int_equal(d.speaker_hold_ticks, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mix_minus_exact),
	    cmocka_unit_test(test_sum_zero_sources),
	    cmocka_unit_test(test_no_wrap_full_scale),
	    cmocka_unit_test(test_limiter_scales_not_clips),
	    cmocka_unit_test(test_limiter_release_to_identity),
	    cmocka_unit_test(test_level_dbov),
	    cmocka_unit_test(test_select_k_loudest),
	    cmocka_unit_test(test_hysteresis),
	    cmocka_unit_test(test_silent_never_selected),
	    cmocka_unit_test(test_removal_leaves_at_once),
	    cmocka_unit_test(test_active_speaker_hold),
	    cmocka_unit_test(test_thousand_sources),
	    cmocka_unit_test(test_table_churn),
	    cmocka_unit_test(test_bad_cfg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
