/*
 * compose.h - the compositor: draws tiles onto one owned I420 canvas.
 *
 * Each tile is scaled straight into its rectangle of the canvas (libswscale, fast bilinear),
 * keeping the aspect ratio by CROPPING the source to the tile's shape (centre crop, "fill").
 * A tile whose (source picture serial, rectangle) did not change since the last draw is not
 * redrawn. A tile without a picture shows a placeholder: a dark tile with the participant's
 * initials drawn in a light colour.
 * One compositor per output; single-threaded (the caller's thread), owns its canvas and
 * scaler contexts. Pictures passed in are borrowed for the duration of the call.
 */
#ifndef MIX_COMPOSE_H
#define MIX_COMPOSE_H

#include <stdint.h>

#include "mix/layout.h"
#include "mix/picture.h"

struct mix_compositor;

/* Background (outside tiles) is black; placeholder is dark grey. */
int mix_compositor_alloc(struct mix_compositor **out, int width, int height);
void mix_compositor_free(struct mix_compositor **c);

/*
 * Sets the tile rectangles (n <= MIX_LAYOUT_MAX_TILES + MIX_LAYOUT_MAX_STRIP). If the rectangles
 * differ from the current ones, the canvas is cleared to the background and every tile will be
 * redrawn on its next draw call. 0 or -EINVAL.
 */
int mix_compositor_set_tiles(struct mix_compositor *c, const struct mix_rect *rects, int n);

/*
 * Draws tile i. pic == NULL draws the placeholder with the initials of `label` (may be NULL or
 * empty: no letters). serial identifies pic's content: a call with the same (pic != NULL,
 * serial) or the same placeholder label as the last draw of tile i does nothing.
 * Returns 1 if pixels were drawn, 0 if the tile was unchanged, negative errno on error.
 */
int mix_compositor_draw(struct mix_compositor *c, int i, const struct mix_picture *pic,
                        uint64_t serial, const char *label);

/* Forgets what every tile shows, so the next draws repaint everything. */
void mix_compositor_invalidate(struct mix_compositor *c);

/* The canvas (borrowed; valid until the compositor is freed). */
struct mix_picture mix_compositor_canvas(const struct mix_compositor *c);

/*
 * Writes up to max-1 initials of a display name into out (NUL-terminated, uppercase ASCII
 * letters and digits): first letter of the first and of the last word, e.g. "Ada Lovelace" ->
 * "AL", "bob" -> "B", "" -> "". Exposed for tests.
 */
void mix_initials(const char *name, char *out, int max);

#endif
