/*
 * compose.h - the compositor: draws tiles onto one owned I420 canvas.
 *
 * Each tile is scaled straight into its rectangle of the canvas (libswscale, fast bilinear),
 * keeping the aspect ratio by CROPPING the source to the tile's shape (centre crop, "fill").
 * A tile whose (source picture serial, rectangle) did not change since the last draw is not
 * redrawn. A tile without a picture shows a placeholder: a dark tile with the participant's
 * initials drawn in a light colour. With name labels on, every tile also shows the
 * participant's name at its bottom-left, drawn only when the tile itself is redrawn.
 * One compositor per output; single-threaded (the caller's thread), owns its canvas and
 * scaler contexts. Pictures passed in are borrowed for the duration of the call.
 */
#ifndef MIX_COMPOSE_H
#define MIX_COMPOSE_H

#include <stdbool.h>
#include <stdint.h>

#include "mix/layout.h"
#include "mix/picture.h"

struct mix_compositor;

/* Tiles less high than this get no name label. */
#define MIX_LABEL_MIN_H 90

/* Background (outside tiles) is black; placeholder is dark grey. Name labels start off. */
int mix_compositor_alloc(struct mix_compositor **out, int width, int height);
void mix_compositor_free(struct mix_compositor **c);

/*
 * Sets the tile rectangles (n <= MIX_LAYOUT_MAX_TILES + MIX_LAYOUT_MAX_STRIP). If the rectangles
 * differ from the current ones, the canvas is cleared to the background and every tile will be
 * redrawn on its next draw call. 0 or -EINVAL.
 */
int mix_compositor_set_tiles(struct mix_compositor *c, const struct mix_rect *rects, int n);

/*
 * Name labels on or off. When on, each tile at least MIX_LABEL_MIN_H high, live or placeholder,
 * shows the `label` given to mix_compositor_draw at its bottom-left: light text (the 5x7 font
 * magnified 1x for tiles under 240 px high, 2x under 360, 3x above) on a box that darkens and
 * desaturates the picture beneath. The text is the name's printable ASCII (see mix_font_text:
 * Latin-1 letters lose their accents, other non-ASCII characters show as '?'), cut to the
 * tile's width with a trailing ellipsis; nothing is drawn outside the tile. Switching redraws
 * every tile on its next draw.
 */
void mix_compositor_set_names(struct mix_compositor *c, bool on);

/*
 * Draws tile i. pic == NULL draws the placeholder with the initials of `label` (may be NULL or
 * empty: no letters). serial identifies pic's content: a call with the same (pic != NULL,
 * serial) or the same placeholder initials as the last draw of tile i, and the same label text
 * as drawn then (if labels are on), does nothing.
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
