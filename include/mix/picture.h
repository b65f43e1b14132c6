/*
 * picture.h - I420 pictures: a borrowed view (mix_picture) and an owned canvas buffer.
 *
 * A mix_picture never owns its planes: it points into a decoder's frame buffer (valid until
 * that decoder's next decode call) or into a mix_canvas. A mix_canvas owns its planes.
 * Width and height of a canvas are even. Any thread, no shared state.
 */
#ifndef MIX_PICTURE_H
#define MIX_PICTURE_H

#include <stdint.h>

struct mix_picture {
	const uint8_t *data[3]; /* Y, U, V */
	int stride[3];
	int width, height;
};

struct mix_canvas {
	uint8_t *data[3];
	int stride[3];
	int width, height; /* even */
};

/* Allocates a w x h canvas (w, h even, 16..8192) filled with black. 0 or -EINVAL/-ENOMEM. */
int mix_canvas_alloc(struct mix_canvas **out, int width, int height);
void mix_canvas_free(struct mix_canvas **c);
/* Fills a rectangle (clipped to the canvas, coordinates rounded down to even) with one colour. */
void mix_canvas_fill(struct mix_canvas *c, int x, int y, int w, int h, uint8_t Y, uint8_t U,
                     uint8_t V);
/* A read-only view of the canvas. */
struct mix_picture mix_canvas_view(const struct mix_canvas *c);

#endif
