/*
 * layout.c - tile rectangles for the compositor (see mix/layout.h).
 *
 * Pure arithmetic on integers: no state, no allocation, any thread.
 * grid: cells of equal size (canvas / dims, rounded down to even); the block of occupied rows
 * is centred on the canvas (so 10 tiles on a 4x4 grid leave equal bands above and below, not
 * an empty fourth row), and a last row that is not full is centred horizontally.
 * speaker: tile 0 above a strip of small tiles of height canvas_h / 5; small tiles have the
 * canvas aspect ratio unless the strip would not fit, then they share the width equally.
 * The caller owns `out`; it must hold the clamped count, otherwise -EINVAL.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "mix/layout.h"

static int even(int v)
{
	return v & ~1;
}

void mix_layout_grid_dims(int n, int *cols, int *rows)
{
	/* Smallest grid holding n tiles: {largest n, cols, rows}. */
	static const int dims[][3] = {
	    {1, 1, 1}, {2, 2, 1}, {4, 2, 2}, {6, 3, 2}, {9, 3, 3}, {16, 4, 4}, {25, 5, 5},
	};
	size_t k = 0;
	while (k + 1 < sizeof(dims) / sizeof(dims[0]) && n > dims[k][0])
		k++;
	if (cols)
		*cols = dims[k][1];
	if (rows)
		*rows = dims[k][2];
}

static void set_rect(struct mix_rect *r, int x, int y, int w, int h)
{
	r->x = x;
	r->y = y;
	r->w = w;
	r->h = h;
}

static int layout_grid(int n, int cw_canvas, int ch_canvas, struct mix_rect *out)
{
	int cols, rows;
	mix_layout_grid_dims(n, &cols, &rows);
	int cw = even(cw_canvas / cols);
	int ch = even(ch_canvas / rows);
	int used_rows = (n + cols - 1) / cols;
	int y0 = even((ch_canvas - used_rows * ch) / 2);
	for (int i = 0; i < n; i++) {
		int row = i / cols;
		int in_row = n - row * cols < cols ? n - row * cols : cols;
		int x0 = even((cw_canvas - in_row * cw) / 2);
		set_rect(&out[i], x0 + (i % cols) * cw, y0 + row * ch, cw, ch);
	}
	return n;
}

static int layout_speaker(int n, int cw_canvas, int ch_canvas, struct mix_rect *out)
{
	if (n == 1) {
		set_rect(&out[0], 0, 0, cw_canvas, ch_canvas);
		return 1;
	}
	int m = n - 1;
	int sh = even(ch_canvas / 5);
	int sw = even((int)((int64_t)sh * cw_canvas / ch_canvas));
	if (sw < 2 || (int64_t)sw * m > cw_canvas)
		sw = even(cw_canvas / m);
	int big_h = ch_canvas - sh;
	int x0 = even((cw_canvas - sw * m) / 2);
	set_rect(&out[0], 0, 0, cw_canvas, big_h);
	for (int i = 0; i < m; i++)
		set_rect(&out[1 + i], x0 + i * sw, big_h, sw, sh);
	return n;
}

int mix_layout_compute(enum mix_layout_kind kind, int n, int canvas_w, int canvas_h,
                       struct mix_rect *out, int max_out)
{
	if (canvas_w < 16 || canvas_h < 16 || (canvas_w | canvas_h) & 1)
		return -EINVAL;
	if (kind != MIX_LAYOUT_GRID && kind != MIX_LAYOUT_SPEAKER)
		return -EINVAL;
	if (n <= 0)
		return 0;
	int max = kind == MIX_LAYOUT_GRID ? MIX_LAYOUT_MAX_TILES : 1 + MIX_LAYOUT_MAX_STRIP;
	if (n > max)
		n = max;
	if (!out || max_out < n)
		return -EINVAL;
	if (kind == MIX_LAYOUT_GRID)
		return layout_grid(n, canvas_w, canvas_h, out);
	return layout_speaker(n, canvas_w, canvas_h, out);
}

int mix_layout_parse(const char *s, enum mix_layout_kind *out)
{
	if (!s || !out)
		return -EINVAL;
	if (strcmp(s, "grid") == 0)
		*out = MIX_LAYOUT_GRID;
	else if (strcmp(s, "speaker") == 0)
		*out = MIX_LAYOUT_SPEAKER;
	else
		return -EINVAL;
	return 0;
}

const char *mix_layout_name(enum mix_layout_kind kind)
{
	switch (kind) {
	case MIX_LAYOUT_GRID:
		return "grid";
	case MIX_LAYOUT_SPEAKER:
		return "speaker";
	}
	return "unknown";
}
