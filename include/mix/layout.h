/*
 * layout.h - tile rectangles for the video compositor: pure arithmetic, no state.
 *
 * grid: auto-sized 1x1, 2x1, 2x2, 3x2, 3x3, 4x4, 5x5 by tile count (at most 25), tiles
 *       placed row by row in the order given; the last row is centred when it is not full.
 * speaker: tile 0 is the large tile (the active speaker), tiles 1..n-1 form a strip of
 *       small tiles along the bottom (at most MIX_LAYOUT_MAX_STRIP).
 * All rectangles have even x, y, w, h and lie inside the canvas; tiles do not overlap.
 * Any thread.
 */
#ifndef MIX_LAYOUT_H
#define MIX_LAYOUT_H

#define MIX_LAYOUT_MAX_TILES 25
#define MIX_LAYOUT_MAX_STRIP 8

enum mix_layout_kind { MIX_LAYOUT_GRID = 0, MIX_LAYOUT_SPEAKER = 1 };

struct mix_rect {
	int x, y, w, h;
};

/* Columns and rows of the grid for n tiles (n clamped to 1..25). */
void mix_layout_grid_dims(int n, int *cols, int *rows);

/*
 * Computes n tile rectangles on a canvas_w x canvas_h canvas (both even, >= 16).
 * Returns the number of rectangles written (n clamped to the layout's maximum: 25 for grid,
 * 1 + MIX_LAYOUT_MAX_STRIP for speaker), 0 for n <= 0, -EINVAL for a bad canvas or kind.
 */
int mix_layout_compute(enum mix_layout_kind kind, int n, int canvas_w, int canvas_h,
                       struct mix_rect *out, int max_out);

/* Parses "grid" or "speaker". 0 or -EINVAL. */
int mix_layout_parse(const char *s, enum mix_layout_kind *out);
const char *mix_layout_name(enum mix_layout_kind kind);

#endif
