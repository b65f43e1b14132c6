/*
 * test_layout.c - unit tests for mixer/layout.c (grid and speaker tile rectangles) and
 * mixer/layers.c (the simulcast layer a tile needs).
 *
 * Checks, for every tile count and several canvas sizes (including awkward ones), the
 * invariants promised by mix/layout.h: count, even coordinates, inside the canvas, no
 * overlap, grid dimensions, row-by-row order, centring, the speaker strip, and bad arguments.
 * Single-threaded; pure arithmetic, nothing allocated.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "mix/layers.h"
#include "mix/layout.h"

#define MAX_RECTS (MIX_LAYOUT_MAX_TILES + MIX_LAYOUT_MAX_STRIP)

static const int sizes[][2] = {
    {1280, 720}, {640, 360}, {1920, 1080}, {322, 182}, {100, 100}, {16, 16}, {1366, 768},
};
#define N_SIZES ((int)(sizeof(sizes) / sizeof(sizes[0])))

static int overlap(const struct mix_rect *a, const struct mix_rect *b)
{
	return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h && b->y < a->y + a->h;
}

/* Evenness, minimum size, inside the canvas, pairwise disjoint. */
static void check_rects(const struct mix_rect *r, int n, int cw, int ch)
{
	for (int i = 0; i < n; i++) {
		assert_int_equal((r[i].x | r[i].y | r[i].w | r[i].h) & 1, 0);
		assert_true(r[i].w >= 2 && r[i].h >= 2);
		assert_true(r[i].x >= 0 && r[i].y >= 0);
		assert_true(r[i].x + r[i].w <= cw && r[i].y + r[i].h <= ch);
		for (int j = 0; j < i; j++)
			assert_false(overlap(&r[i], &r[j]));
	}
}

static void test_grid_dims_table(void **state)
{
	static const int want[26][2] = {
	    {1, 1}, {1, 1}, {2, 1}, {2, 2}, {2, 2}, {3, 2}, {3, 2}, {3, 3}, {3, 3},
	    {3, 3}, {4, 4}, {4, 4}, {4, 4}, {4, 4}, {4, 4}, {4, 4}, {4, 4}, {5, 5},
	    {5, 5}, {5, 5}, {5, 5}, {5, 5}, {5, 5}, {5, 5}, {5, 5}, {5, 5},
	};
	for (int n = 0; n <= 25; n++) {
		int cols = -1, rows = -1;
		mix_layout_grid_dims(n, &cols, &rows);
		assert_int_equal(cols, want[n][0]);
		assert_int_equal(rows, want[n][1]);
	}
	int cols, rows;
	mix_layout_grid_dims(-4, &cols, &rows);
	assert_true(cols == 1 && rows == 1);
	mix_layout_grid_dims(100, &cols, &rows);
	assert_true(cols == 5 && rows == 5);
}

/* Equal cells of canvas / dims rounded down to even, in row-by-row order. */
static void check_grid_cells(const struct mix_rect *r, int n, int cw, int ch)
{
	int cols, rows;
	mix_layout_grid_dims(n, &cols, &rows);
	for (int i = 0; i < n; i++) {
		assert_int_equal(r[i].w, (cw / cols) & ~1);
		assert_int_equal(r[i].h, (ch / rows) & ~1);
		if (i == 0)
			continue;
		if (i % cols) {
			assert_int_equal(r[i].y, r[i - 1].y);
			assert_int_equal(r[i].x, r[i - 1].x + r[i - 1].w);
		} else {
			assert_int_equal(r[i].y, r[i - 1].y + r[i - 1].h);
		}
	}
}

/* Every row, and the block of rows, centred to within the rounding to even. */
static void check_grid_centring(const struct mix_rect *r, int n, int cw, int ch)
{
	int cols, rows;
	mix_layout_grid_dims(n, &cols, &rows);
	for (int first = 0; first < n; first += cols) {
		int last = first + cols - 1 < n - 1 ? first + cols - 1 : n - 1;
		int left = r[first].x, right = cw - (r[last].x + r[last].w);
		assert_in_range(right - left, 0, 2);
	}
	int top = r[0].y, bottom = ch - (r[n - 1].y + r[n - 1].h);
	assert_in_range(bottom - top, 0, 2);
}

static void test_grid_all_counts_and_sizes(void **state)
{
	struct mix_rect r[MAX_RECTS];
	for (int s = 0; s < N_SIZES; s++) {
		int cw = sizes[s][0], ch = sizes[s][1];
		for (int n = 1; n <= MIX_LAYOUT_MAX_TILES; n++) {
			int got = mix_layout_compute(MIX_LAYOUT_GRID, n, cw, ch, r, MAX_RECTS);
			assert_int_equal(got, n);
			check_rects(r, n, cw, ch);
			check_grid_cells(r, n, cw, ch);
			check_grid_centring(r, n, cw, ch);
		}
	}
}

static void expect_rect(const struct mix_rect *r, int x, int y, int w, int h)
{
	assert_int_equal(r->x, x);
	assert_int_equal(r->y, y);
	assert_int_equal(r->w, w);
	assert_int_equal(r->h, h);
}

static void test_grid_known_values(void **state)
{
	struct mix_rect r[MAX_RECTS];
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 1, 1280, 720, r, MAX_RECTS), 1);
	expect_rect(&r[0], 0, 0, 1280, 720);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 2, 1280, 720, r, MAX_RECTS), 2);
	expect_rect(&r[0], 0, 0, 640, 720);
	expect_rect(&r[1], 640, 0, 640, 720);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 3, 1280, 720, r, MAX_RECTS), 3);
	expect_rect(&r[0], 0, 0, 640, 360);
	expect_rect(&r[1], 640, 0, 640, 360);
	expect_rect(&r[2], 320, 360, 640, 360); /* last row centred */
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 5, 1280, 720, r, MAX_RECTS), 5);
	expect_rect(&r[0], 0, 0, 426, 360);
	expect_rect(&r[3], 214, 360, 426, 360);
	expect_rect(&r[4], 640, 360, 426, 360);
	/* 10 tiles: 4x4 cells, three rows used, centred vertically. */
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 10, 1280, 720, r, MAX_RECTS), 10);
	expect_rect(&r[0], 0, 90, 320, 180);
	expect_rect(&r[8], 320, 450, 320, 180);
	expect_rect(&r[9], 640, 450, 320, 180);
}

static void test_grid_clamps_count(void **state)
{
	struct mix_rect r[MAX_RECTS];
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 40, 640, 360, r, MAX_RECTS), 25);
	check_rects(r, 25, 640, 360);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 0, 640, 360, r, MAX_RECTS), 0);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, -3, 640, 360, r, MAX_RECTS), 0);
}

/* The strip: same-size tiles side by side under the large tile, centred horizontally. */
static void check_strip(const struct mix_rect *r, int n, int cw, int ch)
{
	int m = n - 1, sh = (ch / 5) & ~1;
	int sw = (int)((int64_t)sh * cw / ch) & ~1;
	if (sw * m > cw)
		sw = (cw / m) & ~1;
	for (int i = 1; i < n; i++) {
		expect_rect(&r[i], r[1].x + (i - 1) * sw, ch - sh, sw, sh);
	}
	int left = r[1].x, right = cw - (r[n - 1].x + r[n - 1].w);
	assert_in_range(right - left, 0, 2);
}

static void test_speaker_layouts(void **state)
{
	struct mix_rect r[MAX_RECTS];
	for (int s = 0; s < N_SIZES; s++) {
		int cw = sizes[s][0], ch = sizes[s][1];
		for (int n = 1; n <= 1 + MIX_LAYOUT_MAX_STRIP; n++) {
			int got = mix_layout_compute(MIX_LAYOUT_SPEAKER, n, cw, ch, r, MAX_RECTS);
			assert_int_equal(got, n);
			check_rects(r, n, cw, ch);
			if (n == 1) {
				expect_rect(&r[0], 0, 0, cw, ch);
				continue;
			}
			expect_rect(&r[0], 0, 0, cw, ch - ((ch / 5) & ~1));
			check_strip(r, n, cw, ch);
		}
	}
}

static void test_speaker_known_values(void **state)
{
	struct mix_rect r[MAX_RECTS];
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_SPEAKER, 3, 1280, 720, r, MAX_RECTS), 3);
	expect_rect(&r[0], 0, 0, 1280, 576);
	expect_rect(&r[1], 384, 576, 256, 144); /* canvas aspect, strip centred */
	expect_rect(&r[2], 640, 576, 256, 144);
	/* Eight small tiles do not fit at 256 wide: they share the width. */
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_SPEAKER, 9, 1280, 720, r, MAX_RECTS), 9);
	expect_rect(&r[1], 0, 576, 160, 144);
	expect_rect(&r[8], 1120, 576, 160, 144);
	/* Clamped to 1 + MIX_LAYOUT_MAX_STRIP. */
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_SPEAKER, 20, 640, 360, r, MAX_RECTS), 9);
}

static void test_bad_args(void **state)
{
	struct mix_rect r[MAX_RECTS];
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 4, 641, 360, r, MAX_RECTS), -EINVAL);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 4, 640, 361, r, MAX_RECTS), -EINVAL);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 4, 14, 360, r, MAX_RECTS), -EINVAL);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 4, 640, 0, r, MAX_RECTS), -EINVAL);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 4, -640, 360, r, MAX_RECTS), -EINVAL);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_SPEAKER, 0, 15, 16, r, MAX_RECTS), -EINVAL);
	assert_int_equal(mix_layout_compute((enum mix_layout_kind)7, 4, 640, 360, r, MAX_RECTS),
	                 -EINVAL);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 4, 640, 360, NULL, 0), -EINVAL);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 4, 640, 360, r, 3), -EINVAL);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 4, 640, 360, r, 4), 4);
}

static void test_parse_and_name(void **state)
{
	enum mix_layout_kind k = MIX_LAYOUT_SPEAKER;
	assert_int_equal(mix_layout_parse("grid", &k), 0);
	assert_int_equal(k, MIX_LAYOUT_GRID);
	assert_int_equal(mix_layout_parse("speaker", &k), 0);
	assert_int_equal(k, MIX_LAYOUT_SPEAKER);
	assert_int_equal(mix_layout_parse("Grid", &k), -EINVAL);
	assert_int_equal(mix_layout_parse("", &k), -EINVAL);
	assert_int_equal(mix_layout_parse("speakers", &k), -EINVAL);
	assert_int_equal(mix_layout_parse(NULL, &k), -EINVAL);
	assert_int_equal(mix_layout_parse("grid", NULL), -EINVAL);
	assert_string_equal(mix_layout_name(MIX_LAYOUT_GRID), "grid");
	assert_string_equal(mix_layout_name(MIX_LAYOUT_SPEAKER), "speaker");
	assert_non_null(mix_layout_name((enum mix_layout_kind)9));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(mix_layout_parse(mix_layout_name(i), &k), 0);
		assert_int_equal((int)k, i);
	}
}

/* The simulcast layer for a tile: the smallest that fills it within 90%, else the largest. */
static void test_layer_choice(void **state)
{
	(void)state;
	struct mix_layer l[3] = {{320, 180, true}, {640, 360, true}, {1280, 720, true}};
	assert_int_equal(mix_layer_choose(l, 3, 320, 180), 0);
	assert_int_equal(mix_layer_choose(l, 3, 352, 198), 0);   /* within 90% */
	assert_int_equal(mix_layer_choose(l, 3, 360, 180), 1);   /* wider than 320 / 0.9 */
	assert_int_equal(mix_layer_choose(l, 3, 640, 288), 1);   /* the speaker's large tile */
	assert_int_equal(mix_layer_choose(l, 3, 640, 720), 2);   /* cropped: the height counts */
	assert_int_equal(mix_layer_choose(l, 3, 1920, 1080), 2); /* none fills: the largest */
	assert_int_equal(mix_layer_choose(l, 3, 0, 0), 0);       /* shown nowhere: the smallest */
	l[0].usable = false;                                     /* q paused or stale */
	assert_int_equal(mix_layer_choose(l, 3, 320, 180), 1);
	l[1].width = l[1].height = 0; /* h's size unknown */
	assert_int_equal(mix_layer_choose(l, 3, 320, 180), 2);
	l[2].usable = false;
	assert_int_equal(mix_layer_choose(l, 3, 320, 180), -1);
	assert_int_equal(mix_layer_choose(l, 0, 320, 180), -1);
	/* the order of the layers does not matter */
	struct mix_layer r[3] = {{1280, 720, true}, {320, 180, true}, {640, 360, true}};
	assert_int_equal(mix_layer_choose(r, 3, 300, 170), 1);
	assert_int_equal(mix_layer_choose(r, 3, 600, 340), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grid_dims_table),
	    cmocka_unit_test(test_grid_all_counts_and_sizes),
	    cmocka_unit_test(test_grid_known_values),
	    cmocka_unit_test(test_grid_clamps_count),
	    cmocka_unit_test(test_speaker_layouts),
	    cmocka_unit_test(test_speaker_known_values),
	    cmocka_unit_test(test_bad_args),
	    cmocka_unit_test(test_parse_and_name),
	    cmocka_unit_test(test_layer_choice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
