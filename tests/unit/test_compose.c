/*
 * test_compose.c - unit tests for mixer/compose.c (the compositor) and mix_initials.
 *
 * Draws synthetic I420 sources into tiles and checks the canvas pixel by pixel: a tile fills
 * exactly its rectangle (nothing spills into neighbours, even with swscale's SIMD writers),
 * the centre crop, redraw skipping by serial, placeholders (dark grey, light initials, neutral
 * chroma) and set_tiles / invalidate behaviour; name labels (a darkened box with light text at
 * a tile's bottom-left, kept inside the tile, cut with an ellipsis, none on small tiles, drawn
 * only with their tile), the font and mix_font_text. test_label_cost prints the compose time
 * per frame of a 9-tile 720p grid with and without labels (a measurement, not a check).
 * Single-threaded; each test frees what it allocates.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stdio.h>

#include <cmocka.h>
#include <libavutil/log.h>

#include "font.h"
#include "mix/compose.h"

#define SRC_PAD 64 /* slack after each source plane, as decoders' frame buffers have */

struct yuv {
	uint8_t y, u, v;
};

static const struct yuv RED = {81, 90, 240};
static const struct yuv BLUE = {41, 240, 110};
static const struct yuv BLACK = {16, 128, 128};

/* An owned I420 source picture. */
struct src {
	uint8_t *plane[3];
	struct mix_picture pic;
};

static void src_alloc(struct src *s, int w, int h, struct yuv c)
{
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	s->plane[0] = malloc((size_t)w * h + SRC_PAD);
	s->plane[1] = malloc((size_t)cw * ch + SRC_PAD);
	s->plane[2] = malloc((size_t)cw * ch + SRC_PAD);
	assert_non_null(s->plane[0]);
	assert_non_null(s->plane[1]);
	assert_non_null(s->plane[2]);
	memset(s->plane[0], c.y, (size_t)w * h + SRC_PAD);
	memset(s->plane[1], c.u, (size_t)cw * ch + SRC_PAD);
	memset(s->plane[2], c.v, (size_t)cw * ch + SRC_PAD);
	for (int i = 0; i < 3; i++) {
		s->pic.data[i] = s->plane[i];
		s->pic.stride[i] = i ? cw : w;
	}
	s->pic.width = w;
	s->pic.height = h;
}

/* Paints columns [x0, x1) of the source (x0, x1 even). */
static void src_paint_cols(struct src *s, int x0, int x1, struct yuv c)
{
	for (int y = 0; y < s->pic.height; y++) {
		memset(s->plane[0] + (size_t)y * s->pic.stride[0] + x0, c.y, (size_t)(x1 - x0));
		if (y & 1)
			continue;
		size_t off = (size_t)(y / 2) * s->pic.stride[1] + x0 / 2;
		memset(s->plane[1] + off, c.u, (size_t)(x1 - x0) / 2);
		memset(s->plane[2] + off, c.v, (size_t)(x1 - x0) / 2);
	}
}

/* Paints rows [y0, y1) of the source (y0, y1 even). */
static void src_paint_rows(struct src *s, int y0, int y1, struct yuv c)
{
	int cw = (s->pic.width + 1) / 2;
	for (int y = y0; y < y1; y++) {
		memset(s->plane[0] + (size_t)y * s->pic.stride[0], c.y, (size_t)s->pic.width);
		if (y & 1)
			continue;
		memset(s->plane[1] + (size_t)(y / 2) * s->pic.stride[1], c.u, (size_t)cw);
		memset(s->plane[2] + (size_t)(y / 2) * s->pic.stride[2], c.v, (size_t)cw);
	}
}

static void src_free(struct src *s)
{
	for (int i = 0; i < 3; i++)
		free(s->plane[i]);
}

static struct yuv pixel(const struct mix_picture *p, int x, int y)
{
	size_t c = (size_t)(y / 2) * p->stride[1] + x / 2;
	struct yuv v = {p->data[0][(size_t)y * p->stride[0] + x], p->data[1][c], p->data[2][c]};
	return v;
}

static int near(struct yuv a, struct yuv b, int tol)
{
	return abs(a.y - b.y) <= tol && abs(a.u - b.u) <= tol && abs(a.v - b.v) <= tol;
}

static int inside(const struct mix_rect *r, int x, int y)
{
	return x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h;
}

/* Every pixel of the canvas: colour[i] inside rect i (within tol), black elsewhere. */
static void check_canvas(const struct mix_compositor *c, const struct mix_rect *r, int n,
                         const struct yuv *colour, int tol)
{
	struct mix_picture p = mix_compositor_canvas(c);
	for (int y = 0; y < p.height; y++) {
		for (int x = 0; x < p.width; x++) {
			struct yuv want = BLACK;
			int t = tol, i;
			for (i = 0; i < n && !inside(&r[i], x, y); i++)
				;
			if (i < n)
				want = colour[i];
			else
				t = 0;
			struct yuv got = pixel(&p, x, y);
			if (!near(got, want, t))
				fail_msg("pixel %d,%d = %d/%d/%d, want %d/%d/%d (tile %d)", x, y,
				         got.y, got.u, got.v, want.y, want.u, want.v,
				         i < n ? i : -1);
		}
	}
}

static struct mix_compositor *new_compositor(int w, int h)
{
	struct mix_compositor *c = NULL;
	assert_int_equal(mix_compositor_alloc(&c, w, h), 0);
	assert_non_null(c);
	return c;
}

static void test_alloc_bad_args(void **state)
{
	struct mix_compositor *c = NULL;
	assert_int_equal(mix_compositor_alloc(&c, 15, 16), -EINVAL);
	assert_int_equal(mix_compositor_alloc(&c, 16, 17), -EINVAL);
	assert_int_equal(mix_compositor_alloc(&c, 0, 0), -EINVAL);
	assert_int_equal(mix_compositor_alloc(&c, 8194, 16), -EINVAL);
	assert_int_equal(mix_compositor_alloc(NULL, 64, 64), -EINVAL);
	assert_null(c);
	mix_compositor_free(&c);
	mix_compositor_free(NULL);
	c = new_compositor(64, 48);
	struct mix_picture p = mix_compositor_canvas(c);
	assert_int_equal(p.width, 64);
	assert_int_equal(p.height, 48);
	check_canvas(c, NULL, 0, NULL, 0);
	mix_compositor_free(&c);
	assert_null(c);
}

static void test_solid_fills_exactly_rect(void **state)
{
	struct mix_compositor *c = new_compositor(128, 96);
	struct mix_rect r = {18, 10, 42, 30};
	struct src s;
	src_alloc(&s, 64, 48, RED);
	assert_int_equal(mix_compositor_set_tiles(c, &r, 1), 0);
	assert_int_equal(mix_compositor_draw(c, 0, &s.pic, 1, NULL), 1);
	check_canvas(c, &r, 1, &RED, 2);
	src_free(&s);
	mix_compositor_free(&c);
}

static void test_full_canvas_1x1(void **state)
{
	/* 200 wide: chroma rows of 100 bytes, not a multiple of any SIMD width. */
	struct mix_compositor *c = new_compositor(200, 100);
	struct mix_rect r;
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 1, 200, 100, &r, 1), 1);
	struct src s;
	src_alloc(&s, 333, 167, BLUE);
	assert_int_equal(mix_compositor_set_tiles(c, &r, 1), 0);
	assert_int_equal(mix_compositor_draw(c, 0, &s.pic, 7, "ignored"), 1);
	check_canvas(c, &r, 1, &BLUE, 2);
	src_free(&s);
	mix_compositor_free(&c);
}

static struct yuv tile_colour(int i)
{
	struct yuv v = {(uint8_t)(60 + 6 * i), (uint8_t)(50 + 5 * i), (uint8_t)(210 - 5 * i)};
	return v;
}

/* Draws a distinct solid colour into every tile, right to left, and checks every pixel. */
static void check_layout_no_bleed(enum mix_layout_kind kind, int n, int cw, int ch)
{
	struct mix_rect r[MIX_LAYOUT_MAX_TILES + MIX_LAYOUT_MAX_STRIP];
	struct yuv colour[MIX_LAYOUT_MAX_TILES + MIX_LAYOUT_MAX_STRIP];
	struct mix_compositor *c = new_compositor(cw, ch);
	int got = mix_layout_compute(kind, n, cw, ch, r, MIX_LAYOUT_MAX_TILES);
	assert_true(got > 0);
	assert_int_equal(mix_compositor_set_tiles(c, r, got), 0);
	for (int i = got - 1; i >= 0; i--) {
		struct src s;
		colour[i] = tile_colour(i);
		src_alloc(&s, 90 + 14 * i, 50 + 6 * i, colour[i]);
		assert_int_equal(mix_compositor_draw(c, i, &s.pic, 1, NULL), 1);
		src_free(&s);
	}
	check_canvas(c, r, got, colour, 1);
	mix_compositor_free(&c);
}

static void test_grid_tiles_do_not_bleed(void **state)
{
	static const int counts[] = {2, 3, 5, 7, 10, 13, 25};
	static const int sizes[][2] = {{322, 182}, {200, 100}, {1366, 768}, {16, 16}};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++)
			check_layout_no_bleed(MIX_LAYOUT_GRID, counts[k], sizes[s][0], sizes[s][1]);
	for (int n = 2; n <= 9; n++)
		check_layout_no_bleed(MIX_LAYOUT_SPEAKER, n, 322, 182);
}

/* Draws s into a w x h tile at (16, 16) of a 96 x 96 canvas. */
static struct mix_compositor *draw_one(struct src *s, int w, int h)
{
	struct mix_compositor *c = new_compositor(96, 96);
	struct mix_rect r = {16, 16, w, h};
	assert_int_equal(mix_compositor_set_tiles(c, &r, 1), 0);
	assert_int_equal(mix_compositor_draw(c, 0, &s->pic, 1, NULL), 1);
	return c;
}

static void test_crop_keeps_centre_horizontally(void **state)
{
	struct src s;
	src_alloc(&s, 64, 32, RED);
	src_paint_cols(&s, 32, 64, BLUE); /* left half red, right half blue */
	struct mix_compositor *c = draw_one(&s, 32, 64);
	struct mix_picture p = mix_compositor_canvas(c);
	for (int y = 16; y < 80; y++) {
		for (int x = 16; x < 30; x++)
			assert_true(near(pixel(&p, x, y), RED, 2));
		for (int x = 34; x < 48; x++)
			assert_true(near(pixel(&p, x, y), BLUE, 2));
	}
	assert_true(near(pixel(&p, 14, 40), BLACK, 0));
	assert_true(near(pixel(&p, 48, 40), BLACK, 0));
	src_free(&s);
	mix_compositor_free(&c);
}

static void test_crop_keeps_centre_vertically(void **state)
{
	struct src s;
	src_alloc(&s, 32, 64, RED);
	src_paint_rows(&s, 32, 64, BLUE); /* top half red, bottom half blue */
	struct mix_compositor *c = draw_one(&s, 64, 32);
	struct mix_picture p = mix_compositor_canvas(c);
	for (int x = 16; x < 80; x++) {
		for (int y = 16; y < 30; y++)
			assert_true(near(pixel(&p, x, y), RED, 2));
		for (int y = 34; y < 48; y++)
			assert_true(near(pixel(&p, x, y), BLUE, 2));
	}
	assert_true(near(pixel(&p, 40, 48), BLACK, 0));
	src_free(&s);
	mix_compositor_free(&c);
}

static void test_odd_and_tiny_sources(void **state)
{
	static const int dims[][2] = {{33, 17}, {2, 2}, {3, 501}, {999, 3}, {64, 48}};
	struct mix_rect r = {16, 16, 62, 30};
	for (size_t k = 0; k < sizeof(dims) / sizeof(dims[0]); k++) {
		struct src s;
		src_alloc(&s, dims[k][0], dims[k][1], BLUE);
		struct mix_compositor *c = draw_one(&s, r.w, r.h);
		check_canvas(c, &r, 1, &BLUE, 2);
		src_free(&s);
		mix_compositor_free(&c);
	}
}

static void test_serial_skips_redraw(void **state)
{
	struct mix_compositor *c = new_compositor(64, 64);
	struct mix_rect r = {0, 0, 32, 32};
	struct src red, blue;
	src_alloc(&red, 40, 40, RED);
	src_alloc(&blue, 40, 40, BLUE);
	assert_int_equal(mix_compositor_set_tiles(c, &r, 1), 0);
	assert_int_equal(mix_compositor_draw(c, 0, &red.pic, 5, NULL), 1);
	/* Same serial: nothing drawn, even though the picture differs. */
	assert_int_equal(mix_compositor_draw(c, 0, &blue.pic, 5, NULL), 0);
	check_canvas(c, &r, 1, &RED, 2);
	assert_int_equal(mix_compositor_draw(c, 0, &blue.pic, 6, NULL), 1);
	check_canvas(c, &r, 1, &BLUE, 2);
	/* A placeholder in between: the same serial draws again. */
	assert_int_equal(mix_compositor_draw(c, 0, NULL, 0, "x"), 1);
	assert_int_equal(mix_compositor_draw(c, 0, &blue.pic, 6, NULL), 1);
	mix_compositor_invalidate(c);
	assert_int_equal(mix_compositor_draw(c, 0, &red.pic, 6, NULL), 1);
	check_canvas(c, &r, 1, &RED, 2);
	src_free(&red);
	src_free(&blue);
	mix_compositor_free(&c);
}

struct placeholder_stats {
	int light, dark, other;
	int x0, y0, x1, y1; /* bounding box of the light pixels */
};

/* Counts a placeholder's luma values; fails on any chroma other than neutral grey. */
static struct placeholder_stats scan_placeholder(const struct mix_compositor *c,
                                                 const struct mix_rect *r)
{
	struct mix_picture p = mix_compositor_canvas(c);
	struct placeholder_stats st = {0, 0, 0, r->x + r->w, r->y + r->h, -1, -1};
	for (int y = r->y; y < r->y + r->h; y++) {
		for (int x = r->x; x < r->x + r->w; x++) {
			struct yuv v = pixel(&p, x, y);
			assert_int_equal(v.u, 128);
			assert_int_equal(v.v, 128);
			if (v.y == 40) {
				st.dark++;
				continue;
			}
			if (v.y != 200) {
				st.other++;
				continue;
			}
			st.light++;
			st.x0 = x < st.x0 ? x : st.x0;
			st.y0 = y < st.y0 ? y : st.y0;
			st.x1 = x > st.x1 ? x : st.x1;
			st.y1 = y > st.y1 ? y : st.y1;
		}
	}
	return st;
}

static void test_placeholder_initials(void **state)
{
	struct mix_compositor *c = new_compositor(640, 360);
	struct mix_rect r[4];
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 4, 640, 360, r, 4), 4);
	assert_int_equal(mix_compositor_set_tiles(c, r, 4), 0);
	assert_int_equal(mix_compositor_draw(c, 3, NULL, 0, "Ada Lovelace"), 1);
	struct placeholder_stats st = scan_placeholder(c, &r[3]);
	assert_int_equal(st.other, 0);
	assert_true(st.light > 100);
	assert_true(st.dark > st.light);
	int text_h = st.y1 - st.y0 + 1, text_w = st.x1 - st.x0 + 1;
	assert_in_range(text_h, r[3].h / 6, r[3].h / 3); /* about a quarter of the tile */
	assert_in_range(st.y0 - r[3].y, (r[3].h - text_h) / 2 - 2, (r[3].h - text_h) / 2 + 2);
	assert_in_range(st.x0 - r[3].x, (r[3].w - text_w) / 2 - 2, (r[3].w - text_w) / 2 + 2);
	/* Other tiles untouched. */
	struct yuv grey = {40, 128, 128};
	check_canvas(c, &r[3], 1, &grey, 160);
	mix_compositor_free(&c);
}

/* The drawn "A" matches its glyph bit for bit at the magnification used. */
static void test_placeholder_glyph_shape(void **state)
{
	struct mix_compositor *c = new_compositor(160, 160);
	struct mix_rect r = {0, 0, 160, 160};
	assert_int_equal(mix_compositor_set_tiles(c, &r, 1), 0);
	assert_int_equal(mix_compositor_draw(c, 0, NULL, 0, "anne"), 1);
	struct placeholder_stats st = scan_placeholder(c, &r);
	int f = (st.y1 - st.y0 + 1) / MIX_FONT_ROWS;
	assert_true(f >= 1);
	assert_int_equal(st.y1 - st.y0 + 1, MIX_FONT_ROWS * f);
	assert_int_equal(st.x1 - st.x0 + 1, MIX_FONT_COLS * f);
	const uint8_t *g = mix_font_glyph('A');
	struct mix_picture p = mix_compositor_canvas(c);
	for (int row = 0; row < MIX_FONT_ROWS; row++) {
		for (int col = 0; col < MIX_FONT_COLS; col++) {
			int x = st.x0 + col * f + f / 2, y = st.y0 + row * f + f / 2;
			int lit = pixel(&p, x, y).y == 200;
			assert_int_equal(lit, g[row] >> (MIX_FONT_COLS - 1 - col) & 1);
		}
	}
	mix_compositor_free(&c);
}

static void test_placeholder_redraw_rules(void **state)
{
	struct mix_compositor *c = new_compositor(64, 64);
	struct mix_rect r = {0, 0, 64, 64};
	assert_int_equal(mix_compositor_set_tiles(c, &r, 1), 0);
	assert_int_equal(mix_compositor_draw(c, 0, NULL, 0, "Ada Lovelace"), 1);
	assert_int_equal(mix_compositor_draw(c, 0, NULL, 0, "Ada Lovelace"), 0);
	assert_int_equal(mix_compositor_draw(c, 0, NULL, 0, "Bob"), 1);
	assert_int_equal(mix_compositor_draw(c, 0, NULL, 0, NULL), 1);
	struct placeholder_stats st = scan_placeholder(c, &r);
	assert_int_equal(st.light, 0); /* no label: plain dark grey */
	assert_int_equal(st.dark, 64 * 64);
	assert_int_equal(mix_compositor_draw(c, 0, NULL, 0, ""), 0);
	mix_compositor_free(&c);
}

static void test_placeholder_tiny_tiles(void **state)
{
	struct mix_rect r[] = {{0, 0, 2, 2},    {4, 0, 6, 4},    {12, 0, 10, 8},
	                       {24, 0, 16, 16}, {0, 20, 40, 28}, {42, 20, 2, 40}};
	int n = (int)(sizeof(r) / sizeof(r[0]));
	struct yuv grey[6];
	struct mix_compositor *c = new_compositor(64, 64);
	assert_int_equal(mix_compositor_set_tiles(c, r, n), 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(mix_compositor_draw(c, i, NULL, 0, "Wolfgang Mozart"), 1);
		struct placeholder_stats st = scan_placeholder(c, &r[i]);
		assert_int_equal(st.other, 0);
		grey[i] = (struct yuv){40, 128, 128};
		if (st.light == 0)
			continue;
		assert_true(st.x0 >= r[i].x && st.x1 < r[i].x + r[i].w);
	}
	check_canvas(c, r, n, grey, 160); /* luma may be 40 or 200, background untouched */
	mix_compositor_free(&c);
}

static void test_set_tiles(void **state)
{
	struct mix_compositor *c = new_compositor(64, 64);
	struct mix_rect ok[2] = {{0, 0, 32, 32}, {32, 32, 32, 32}};
	struct mix_rect bad[] = {{1, 0, 32, 32},  {0, 0, 31, 32},  {0, 0, 0, 32},
	                         {34, 0, 32, 32}, {0, -2, 32, 32}, {0, 0, 64, 66}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mix_compositor_set_tiles(c, &bad[i], 1), -EINVAL);
	assert_int_equal(mix_compositor_set_tiles(c, NULL, 1), -EINVAL);
	assert_int_equal(mix_compositor_set_tiles(c, ok, -1), -EINVAL);
	assert_int_equal(mix_compositor_set_tiles(c, ok, 34), -EINVAL);
	assert_int_equal(mix_compositor_set_tiles(NULL, ok, 1), -EINVAL);
	assert_int_equal(mix_compositor_set_tiles(c, NULL, 0), 0);
	assert_int_equal(mix_compositor_set_tiles(c, ok, 2), 0);

	struct src s;
	src_alloc(&s, 32, 32, RED);
	struct yuv red2[2] = {RED, RED};
	assert_int_equal(mix_compositor_draw(c, 0, &s.pic, 1, NULL), 1);
	assert_int_equal(mix_compositor_draw(c, 1, &s.pic, 1, NULL), 1);
	/* Same rectangles: nothing cleared, nothing forgotten. */
	assert_int_equal(mix_compositor_set_tiles(c, ok, 2), 0);
	check_canvas(c, ok, 2, red2, 2);
	assert_int_equal(mix_compositor_draw(c, 0, &s.pic, 1, NULL), 0);
	/* New rectangles: canvas cleared to black, every tile redrawn. */
	ok[1].x = 30;
	assert_int_equal(mix_compositor_set_tiles(c, ok, 2), 0);
	check_canvas(c, NULL, 0, NULL, 0);
	assert_int_equal(mix_compositor_draw(c, 0, &s.pic, 1, NULL), 1);
	assert_int_equal(mix_compositor_draw(c, 1, &s.pic, 1, NULL), 1);
	check_canvas(c, ok, 2, red2, 2);
	/* Fewer tiles: tile 1 no longer exists. */
	assert_int_equal(mix_compositor_set_tiles(c, ok, 1), 0);
	assert_int_equal(mix_compositor_draw(c, 1, &s.pic, 2, NULL), -EINVAL);
	src_free(&s);
	mix_compositor_free(&c);
}

static void test_draw_bad_args(void **state)
{
	struct mix_compositor *c = new_compositor(64, 64);
	struct mix_rect r = {0, 0, 32, 32};
	struct src s;
	src_alloc(&s, 32, 32, RED);
	assert_int_equal(mix_compositor_draw(c, 0, &s.pic, 1, NULL), -EINVAL); /* no tiles */
	assert_int_equal(mix_compositor_set_tiles(c, &r, 1), 0);
	assert_int_equal(mix_compositor_draw(c, 1, &s.pic, 1, NULL), -EINVAL);
	assert_int_equal(mix_compositor_draw(c, -1, &s.pic, 1, NULL), -EINVAL);
	assert_int_equal(mix_compositor_draw(NULL, 0, &s.pic, 1, NULL), -EINVAL);
	struct mix_picture bad = s.pic;
	bad.data[2] = NULL;
	assert_int_equal(mix_compositor_draw(c, 0, &bad, 1, NULL), -EINVAL);
	bad = s.pic;
	bad.width = 1;
	assert_int_equal(mix_compositor_draw(c, 0, &bad, 1, NULL), -EINVAL);
	bad = s.pic;
	bad.stride[0] = 8;
	assert_int_equal(mix_compositor_draw(c, 0, &bad, 1, NULL), -EINVAL);
	check_canvas(c, NULL, 0, NULL, 0);
	src_free(&s);
	mix_compositor_free(&c);
}

static void expect_initials(const char *name, int max, const char *want)
{
	char out[8];
	memset(out, 'z', sizeof(out));
	mix_initials(name, out, max);
	assert_string_equal(out, want);
}

static void test_initials(void **state)
{
	expect_initials("Ada Lovelace", 8, "AL");
	expect_initials("bob", 8, "B");
	expect_initials("", 8, "");
	expect_initials(NULL, 8, "");
	expect_initials("  ada   b.  lovelace  ", 8, "AL");
	expect_initials("(Ada) [Lovelace]", 8, "AL");
	expect_initials("ada\tlovelace\n", 8, "AL");
	expect_initials("Jean-Luc Picard", 8, "JP");
	expect_initials("r2d2", 8, "R");
	expect_initials("42 answers", 8, "4A");
	expect_initials("-- ... !!", 8, "");
	expect_initials("Ada -", 8, "A");
	expect_initials("\xc3\x89mile Zola", 8, "MZ"); /* "Émile": UTF-8 bytes skipped */
	expect_initials("\xe6\x9d\x8e \xe5\x9b\x9b", 8, "");
	expect_initials("Ada Lovelace", 2, "A");
	expect_initials("Ada Lovelace", 1, "");
	char keep[2] = {'q', '\0'};
	mix_initials("Ada", keep, 0);
	assert_int_equal(keep[0], 'q');
	mix_initials("Ada", NULL, 4);
}

/* ---- name labels ---- */

#define LABEL_Y 235

static int label_f(const struct mix_rect *r)
{
	int f = r->h / 120;
	return f < 1 ? 1 : f > 3 ? 3 : f;
}

/* The box's darkening of luma and chroma, as compose.c does it. */
static int dim_y(int y)
{
	return (y >> 2) + 16;
}

static int dim_c(int c)
{
	return (c + 3 * 128) >> 2;
}

struct label_scan {
	int plain, box, text;
	int x0, y0, x1, y1;     /* bounding box of box and text pixels */
	int tx0, ty0, tx1, ty1; /* bounding box of text pixels */
};

static void grow(int *x0, int *y0, int *x1, int *y1, int x, int y)
{
	*x0 = x < *x0 ? x : *x0;
	*y0 = y < *y0 ? y : *y0;
	*x1 = x > *x1 ? x : *x1;
	*y1 = y > *y1 ? y : *y1;
}

/*
 * Classifies every pixel of tile r, drawn from a solid source of colour col: the tile's
 * colour, the label box's darkened colour, or label text; fails on anything else.
 */
static struct label_scan scan_label(const struct mix_compositor *c, const struct mix_rect *r,
                                    struct yuv col)
{
	struct mix_picture p = mix_compositor_canvas(c);
	struct label_scan st = {0};
	st.x0 = st.tx0 = r->x + r->w;
	st.y0 = st.ty0 = r->y + r->h;
	st.x1 = st.y1 = st.tx1 = st.ty1 = -1;
	struct yuv dim = {(uint8_t)dim_y(col.y), (uint8_t)dim_c(col.u), (uint8_t)dim_c(col.v)};
	for (int y = r->y; y < r->y + r->h; y++) {
		for (int x = r->x; x < r->x + r->w; x++) {
			struct yuv v = pixel(&p, x, y);
			if (near(v, col, 2)) {
				st.plain++;
				continue;
			}
			int chroma_dim = abs(v.u - dim.u) <= 2 && abs(v.v - dim.v) <= 2;
			if (!chroma_dim)
				fail_msg("tile %d,%d pixel %d,%d = %d/%d/%d", r->x, r->y, x, y, v.y,
				         v.u, v.v);
			if (v.y == LABEL_Y) {
				st.text++;
				grow(&st.tx0, &st.ty0, &st.tx1, &st.ty1, x, y);
			} else if (abs(v.y - dim.y) <= 2) {
				st.box++;
			} else {
				fail_msg("tile %d,%d pixel %d,%d luma %d", r->x, r->y, x, y, v.y);
			}
			grow(&st.x0, &st.y0, &st.x1, &st.y1, x, y);
		}
	}
	return st;
}

/* A label sits at the bottom-left of r, 2f from its left and bottom edges, inside it. */
static void check_label_place(const struct label_scan *st, const struct mix_rect *r)
{
	int f = label_f(r);
	assert_true(st->box > 0);
	assert_true(st->text > 0);
	assert_int_equal(st->x0, r->x + 2 * f);
	assert_int_equal(st->y1, r->y + r->h - 2 * f - 1);
	assert_true(st->x1 <= r->x + r->w - 2 * f - 1);
	assert_int_equal(st->y1 - st->y0 + 1, 12 * f); /* one line of text with padding */
	assert_true(st->ty1 - st->ty0 + 1 <= (MIX_FONT_ROWS + MIX_FONT_DESCENT) * f);
	assert_true(st->tx0 > st->x0 && st->tx1 < st->x1); /* text inside the box */
	assert_true(st->ty0 > st->y0 && st->ty1 < st->y1);
}

/* A compositor of a grid of n tiles, each a solid tile_colour(i) drawn with label names[i]. */
static struct mix_compositor *label_grid(int n, int cw, int ch, const char *const *names, bool on,
                                         struct mix_rect *r, struct yuv *colour)
{
	struct mix_compositor *c = new_compositor(cw, ch);
	mix_compositor_set_names(c, on);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, n, cw, ch, r, n), n);
	assert_int_equal(mix_compositor_set_tiles(c, r, n), 0);
	for (int i = 0; i < n; i++) {
		struct src s;
		colour[i] = tile_colour(i);
		src_alloc(&s, 96, 54, colour[i]);
		assert_int_equal(mix_compositor_draw(c, i, &s.pic, 1, names[i]), 1);
		src_free(&s);
	}
	return c;
}

static void test_label_on_live_tiles(void **state)
{
	static const char *const names[9] = {
	    "Ada Lovelace", "bob", "Carol-Ann O'Neil", "d_e.f", "Eve (2)", "frank@example", "G",
	    "h i j",        "Ivan"};
	struct mix_rect r[9];
	struct yuv colour[9];
	struct mix_compositor *c = label_grid(9, 1280, 720, names, true, r, colour);
	for (int i = 0; i < 9; i++) {
		struct label_scan st = scan_label(c, &r[i], colour[i]);
		check_label_place(&st, &r[i]);
		assert_true(st.box > st.text);
		assert_true(st.plain > 10 * (st.box + st.text)); /* a small label */
	}
	check_canvas(c, r, 9, colour, 255); /* outside the tiles: untouched black */
	mix_compositor_free(&c);
}

/* Only the centre tile is named: every other tile is exactly its picture. */
static void test_label_stays_in_its_tile(void **state)
{
	const char *names[9] = {NULL};
	names[4] = "A very long name that will not fit in one tile of the grid at all";
	struct mix_rect r[9];
	struct yuv colour[9];
	struct mix_compositor *c = label_grid(9, 640, 360, names, true, r, colour);
	for (int i = 0; i < 9; i++) {
		struct label_scan st = scan_label(c, &r[i], colour[i]);
		if (i == 4)
			check_label_place(&st, &r[i]);
		else
			assert_int_equal(st.box + st.text, 0);
	}
	check_canvas(c, r, 9, colour, 255);
	mix_compositor_free(&c);
}

/* Draws `name` on a solid w x h tile at (2, 2) of a canvas just big enough; scans it. */
static struct label_scan label_on_tile(int w, int h, const char *name, struct mix_compositor **out)
{
	struct mix_compositor *c = new_compositor(w + 4, h + 4);
	struct mix_rect r = {2, 2, w, h};
	struct src s;
	src_alloc(&s, 64, 48, BLUE);
	mix_compositor_set_names(c, true);
	assert_int_equal(mix_compositor_set_tiles(c, &r, 1), 0);
	assert_int_equal(mix_compositor_draw(c, 0, &s.pic, 1, name), 1);
	src_free(&s);
	struct label_scan st = scan_label(c, &r, BLUE);
	check_canvas(c, &r, 1, &BLUE, 255);
	if (out)
		*out = c;
	else
		mix_compositor_free(&c);
	return st;
}

/* The last glyph of a cut label is the ellipsis: lit only on its bottom row, 3 dots. */
static void check_ellipsis(const struct mix_compositor *c, const struct label_scan *st, int f)
{
	struct mix_picture p = mix_compositor_canvas(c);
	int dots = 0;
	for (int y = st->ty0; y <= st->ty1; y++)
		for (int x = st->tx1 - MIX_FONT_COLS * f + 1; x <= st->tx1; x++)
			if (pixel(&p, x, y).y == LABEL_Y) {
				assert_true(y > st->ty1 - f);
				dots++;
			}
	assert_int_equal(dots, 3 * f * f);
}

static void test_label_truncated(void **state)
{
	static const char *long_name = "Maximilian Alexander Featherstonehaugh-Wolfeschlegel";
	static const int dims[][2] = {{120, 100}, {200, 240}, {426, 240}, {640, 480}, {58, 96}};
	for (size_t k = 0; k < sizeof(dims) / sizeof(dims[0]); k++) {
		struct mix_rect r = {2, 2, dims[k][0], dims[k][1]};
		struct mix_compositor *c = NULL;
		struct label_scan st = label_on_tile(r.w, r.h, long_name, &c);
		check_label_place(&st, &r);
		int f = label_f(&r);
		/* As many glyphs as fit: less than one more glyph cell left over on the right. */
		assert_true(r.x + r.w - 2 * f - 1 - st.x1 < (MIX_FONT_COLS + 1) * f + 2);
		check_ellipsis(c, &st, f);
		mix_compositor_free(&c);
	}
	/* A name that fits is not cut. */
	struct mix_compositor *c = NULL;
	struct label_scan st = label_on_tile(120, 100, "Ada", &c);
	check_label_place(&st, &(struct mix_rect){2, 2, 120, 100});
	assert_true(st.tx1 - st.tx0 + 1 == 3 * (MIX_FONT_COLS + 1) - 1);
	mix_compositor_free(&c);
	/* Room for two glyphs: one letter and the ellipsis. */
	st = label_on_tile(20, 100, "Ada", &c);
	check_label_place(&st, &(struct mix_rect){2, 2, 20, 100});
	check_ellipsis(c, &st, 1);
	mix_compositor_free(&c);
	/* Room for one glyph: a one-letter name shows, a longer one is not reduced to "...". */
	st = label_on_tile(14, 100, "A", NULL);
	assert_true(st.text > 0);
	st = label_on_tile(14, 100, "Ada", NULL);
	assert_int_equal(st.box + st.text, 0);
	st = label_on_tile(12, 100, "A", NULL);
	assert_int_equal(st.box + st.text, 0);
}

static void test_label_needs_min_height(void **state)
{
	struct label_scan st = label_on_tile(200, MIX_LABEL_MIN_H - 2, "Ada Lovelace", NULL);
	assert_int_equal(st.box + st.text, 0);
	st = label_on_tile(200, MIX_LABEL_MIN_H, "Ada Lovelace", NULL);
	assert_true(st.box > 0 && st.text > 0);
	/* Nothing to show: spaces, controls, empty or NULL names. */
	static const char *const empty[] = {"", "   ", "\t\n", NULL};
	for (size_t k = 0; k < sizeof(empty) / sizeof(empty[0]); k++) {
		st = label_on_tile(200, 120, empty[k], NULL);
		assert_int_equal(st.box + st.text, 0);
	}
}

/* Glyph magnification grows with the tile's height: 1x, 2x, 3x. */
static void test_label_scales_with_tile(void **state)
{
	static const int heights[] = {90, 238, 240, 358, 360, 720};
	static const int want[] = {1, 1, 2, 2, 3, 3};
	for (size_t k = 0; k < sizeof(heights) / sizeof(heights[0]); k++) {
		struct label_scan st = label_on_tile(400, heights[k], "l", NULL);
		assert_int_equal(st.ty1 - st.ty0 + 1, MIX_FONT_ROWS * want[k]); /* 'l' is 7 tall */
	}
}

/*
 * A lowercase label is drawn with the lowercase glyphs, bit for bit (at 3x), the tails of
 * g p q y below the baseline.
 */
static void test_label_lowercase_shape(void **state)
{
	static const char *const text = "bdfhkl-tgpqy_j.'";
	struct mix_compositor *c = NULL;
	struct label_scan st = label_on_tile(400, 400, text, &c);
	int f = 3;
	assert_int_equal(st.ty1 - st.ty0 + 1, (MIX_FONT_ROWS + MIX_FONT_DESCENT) * f);
	assert_int_equal(st.ty0, st.y0 + 2 * f); /* text 2f below the box's top */
	struct mix_picture p = mix_compositor_canvas(c);
	for (int i = 0; text[i]; i++) {
		const uint8_t *g = mix_font_glyph(text[i]);
		int gx = st.x0 + 2 * f + i * (MIX_FONT_COLS + 1) * f;
		int gy = st.ty0 + mix_font_descent(text[i]) * f;
		for (int row = 0; row < MIX_FONT_ROWS; row++) {
			for (int col = 0; col < MIX_FONT_COLS; col++) {
				int x = gx + col * f + f / 2, y = gy + row * f + f / 2;
				int lit = pixel(&p, x, y).y == LABEL_Y;
				assert_int_equal(lit, g[row] >> (MIX_FONT_COLS - 1 - col) & 1);
			}
		}
	}
	mix_compositor_free(&c);
}

static void test_label_redraw_rules(void **state)
{
	struct mix_compositor *c = new_compositor(320, 240);
	struct mix_rect r = {0, 0, 320, 240};
	struct src red;
	src_alloc(&red, 64, 48, RED);
	assert_int_equal(mix_compositor_set_tiles(c, &r, 1), 0);
	mix_compositor_set_names(c, true);
	assert_int_equal(mix_compositor_draw(c, 0, &red.pic, 1, "Ada"), 1);
	/* Unchanged picture and label: nothing drawn, the label is not painted again. */
	assert_int_equal(mix_compositor_draw(c, 0, &red.pic, 1, "Ada"), 0);
	struct label_scan once = scan_label(c, &r, RED);
	assert_true(once.box > 0);
	/* Same displayed text (extra spaces are dropped): still unchanged. */
	assert_int_equal(mix_compositor_draw(c, 0, &red.pic, 1, "  Ada "), 0);
	/* A new label redraws the tile (picture and label) even with the same serial. */
	assert_int_equal(mix_compositor_draw(c, 0, &red.pic, 1, "Bob"), 1);
	assert_int_equal(mix_compositor_draw(c, 0, &red.pic, 1, "Bob"), 0);
	struct label_scan bob = scan_label(c, &r, RED);
	assert_int_equal(bob.x0, once.x0);
	assert_int_equal(bob.x1, once.x1);
	/* A new picture: drawn, label on it again. */
	assert_int_equal(mix_compositor_draw(c, 0, &red.pic, 2, "Bob"), 1);
	struct label_scan again = scan_label(c, &r, RED);
	assert_int_equal(again.box, bob.box);
	assert_int_equal(again.text, bob.text);
	/* Labels off: every tile redraws once, without a label. */
	mix_compositor_set_names(c, false);
	assert_int_equal(mix_compositor_draw(c, 0, &red.pic, 2, "Bob"), 1);
	assert_int_equal(mix_compositor_draw(c, 0, &red.pic, 2, "Carol"), 0);
	struct label_scan off = scan_label(c, &r, RED);
	assert_int_equal(off.box + off.text, 0);
	/* Placeholders get the label too, with the same rules. */
	mix_compositor_set_names(c, true);
	assert_int_equal(mix_compositor_draw(c, 0, NULL, 0, "Ada Lovelace"), 1);
	assert_int_equal(mix_compositor_draw(c, 0, NULL, 0, "Ada Lovelace"), 0);
	assert_int_equal(mix_compositor_draw(c, 0, NULL, 0, "Ada Lace"), 1); /* same initials */
	struct placeholder_stats_l {
		int dark, text;
	} ph = {0, 0};
	struct mix_picture p = mix_compositor_canvas(c);
	for (int y = r.h - 30; y < r.h; y++)
		for (int x = 0; x < r.w / 2; x++) {
			int v = pixel(&p, x, y).y;
			ph.dark += v == dim_y(40);
			ph.text += v == LABEL_Y;
		}
	assert_true(ph.dark > 0 && ph.text > 0);
	src_free(&red);
	mix_compositor_free(&c);
}

static void test_font_repertoire(void **state)
{
	for (int ch = 0x20; ch <= 0x7e; ch++)
		assert_non_null(mix_font_glyph((char)ch));
	for (int ch = 0; ch < 0x20; ch++)
		assert_null(mix_font_glyph((char)ch));
	for (int ch = 0x80; ch <= 0xff; ch++)
		assert_null(mix_font_glyph((char)ch));
	assert_non_null(mix_font_glyph(MIX_FONT_ELLIPSIS));
	/* Lowercase letters have their own shapes; space is blank; punctuation is not. */
	for (char ch = 'a'; ch <= 'z'; ch++)
		assert_memory_not_equal(mix_font_glyph(ch), mix_font_glyph((char)(ch - 'a' + 'A')),
		                        MIX_FONT_ROWS);
	static const uint8_t blank[MIX_FONT_ROWS] = {0};
	assert_memory_equal(mix_font_glyph(' '), blank, MIX_FONT_ROWS);
	for (const char *q = "-_.'!?,()&@:/+"; *q; q++)
		assert_memory_not_equal(mix_font_glyph(*q), blank, MIX_FONT_ROWS);
	for (int ch = 0x20; ch <= 0x7e; ch++)
		assert_int_equal(mix_font_descent((char)ch),
		                 strchr("gpqy", ch) ? MIX_FONT_DESCENT : 0);
	/* Every glyph distinct, and within 5 columns. */
	for (int a = 0x20; a <= 0x7e; a++) {
		const uint8_t *ga = mix_font_glyph((char)a);
		for (int row = 0; row < MIX_FONT_ROWS; row++)
			assert_true(ga[row] < 1 << MIX_FONT_COLS);
		for (int b = a + 1; b <= 0x7e; b++)
			if (!memcmp(ga, mix_font_glyph((char)b), MIX_FONT_ROWS))
				fail_msg("glyphs '%c' and '%c' are the same", a, b);
	}
}

static void expect_text(const char *name, int max, const char *want)
{
	char out[80];
	memset(out, 'z', sizeof(out));
	int n = mix_font_text(name, out, max);
	assert_string_equal(out, want);
	assert_int_equal(n, (int)strlen(want));
}

static void test_font_text(void **state)
{
	expect_text("Ada Lovelace", 80, "Ada Lovelace");
	expect_text("  ada \t\n lovelace  ", 80, "ada lovelace");
	expect_text("Jean-Luc O'Neil_2.0 (guest)", 80, "Jean-Luc O'Neil_2.0 (guest)");
	expect_text(NULL, 80, "");
	expect_text("", 80, "");
	expect_text("\x01\x7f", 80, "");
	expect_text("\xc3\x89mile Zola", 80, "Emile Zola"); /* É: Latin-1 base letter */
	expect_text("Bj\xc3\xb6rk Gu\xc3\xb0mundsd\xc3\xb3ttir", 80, "Bjork Gudmundsdottir");
	expect_text("Fran\xc3\xa7ois\xc2\xa0X", 80, "Francois X"); /* no-break space */
	expect_text("\xe6\x9d\x8e \xe5\x9b\x9b", 80, "? ?");       /* CJK: one '?' each */
	expect_text("\xf0\x9f\x98\x80 Joy", 80, "? Joy");          /* emoji */
	expect_text("\xc5\x81ukasz", 80, "?ukasz");                /* beyond Latin-1 */
	expect_text("a\xffz", 80, "a?z");                          /* invalid byte */
	expect_text("a\xc3", 80, "a");                             /* cut short at the end */
	expect_text("b \xe6\x9d", 80, "b");                        /* cut short, 2 bytes */
	expect_text("a\xc3z\xe6\x9dz", 80, "a?z??z");              /* cut short inside */
	expect_text("Ada Lovelace", 4, "Ada");
	expect_text("Ada Lovelace", 5, "Ada"); /* no trailing space */
	expect_text("Ada Lovelace", 6, "Ada L");
	expect_text("Ada", 1, "");
	char keep = 'q';
	assert_int_equal(mix_font_text("Ada", &keep, 0), 0);
	assert_int_equal(keep, 'q');
	assert_int_equal(mix_font_text("Ada", NULL, 4), 0);
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds per frame to compose a 9-tile 720p grid of 640x360 sources, every tile new. */
static double compose_cost(bool names, int frames)
{
	struct mix_rect r[9];
	struct mix_compositor *c = new_compositor(1280, 720);
	mix_compositor_set_names(c, names);
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 9, 1280, 720, r, 9), 9);
	assert_int_equal(mix_compositor_set_tiles(c, r, 9), 0);
	struct src s;
	src_alloc(&s, 640, 360, RED);
	src_paint_cols(&s, 0, 320, BLUE);
	char name[32];
	double t0 = cpu_now();
	for (int fr = 0; fr < frames; fr++) {
		for (int i = 0; i < 9; i++) {
			snprintf(name, sizeof(name), "Participant number %d", i + 1);
			assert_int_equal(mix_compositor_draw(c, i, &s.pic, (uint64_t)fr + 1, name),
			                 1);
		}
	}
	double dt = (cpu_now() - t0) / frames;
	src_free(&s);
	mix_compositor_free(&c);
	return dt;
}

static void test_label_cost(void **state)
{
	const int frames = 60, rounds = 5;
	double best_off = 1e9, best_on = 1e9;
	for (int k = 0; k < rounds; k++) { /* interleaved, best of each: least disturbed */
		double off = compose_cost(false, frames), on = compose_cost(true, frames);
		best_off = off < best_off ? off : best_off;
		best_on = on < best_on ? on : best_on;
	}
	print_message("compose 9 tiles 1280x720 from 640x360: %.3f ms/frame without labels, "
	              "%.3f ms/frame with labels (+%.1f%%)\n",
	              best_off * 1e3, best_on * 1e3, (best_on / best_off - 1) * 100);
}

int main(void)
{
	av_log_set_level(AV_LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc_bad_args),
	    cmocka_unit_test(test_solid_fills_exactly_rect),
	    cmocka_unit_test(test_full_canvas_1x1),
	    cmocka_unit_test(test_grid_tiles_do_not_bleed),
	    cmocka_unit_test(test_crop_keeps_centre_horizontally),
	    cmocka_unit_test(test_crop_keeps_centre_vertically),
	    cmocka_unit_test(test_odd_and_tiny_sources),
	    cmocka_unit_test(test_serial_skips_redraw),
	    cmocka_unit_test(test_placeholder_initials),
	    cmocka_unit_test(test_placeholder_glyph_shape),
	    cmocka_unit_test(test_placeholder_redraw_rules),
	    cmocka_unit_test(test_placeholder_tiny_tiles),
	    cmocka_unit_test(test_set_tiles),
	    cmocka_unit_test(test_draw_bad_args),
	    cmocka_unit_test(test_initials),
	    cmocka_unit_test(test_label_on_live_tiles),
	    cmocka_unit_test(test_label_stays_in_its_tile),
	    cmocka_unit_test(test_label_truncated),
	    cmocka_unit_test(test_label_needs_min_height),
	    cmocka_unit_test(test_label_scales_with_tile),
	    cmocka_unit_test(test_label_lowercase_shape),
	    cmocka_unit_test(test_label_redraw_rules),
	    cmocka_unit_test(test_font_repertoire),
	    cmocka_unit_test(test_font_text),
	    cmocka_unit_test(test_label_cost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
