/*
 * test_compose.c - unit tests for mixer/compose.c (the compositor) and mix_initials.
 *
 * Draws synthetic I420 sources into tiles and checks the canvas pixel by pixel: a tile fills
 * exactly its rectangle (nothing spills into neighbours, even with swscale's SIMD writers),
 * the centre crop, redraw skipping by serial, placeholders (dark grey, light initials, neutral
 * chroma) and set_tiles / invalidate behaviour. Single-threaded; each test frees what it
 * allocates.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
