/*
 * picture.c - owned I420 canvases (see mix/picture.h).
 * Any thread; a canvas belongs to whoever allocated it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mix/picture.h"

int mix_canvas_alloc(struct mix_canvas **out, int width, int height)
{
	if (width < 16 || height < 16 || width > 8192 || height > 8192 || (width | height) & 1)
		return -EINVAL;
	struct mix_canvas *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	size_t luma = (size_t)width * height;
	uint8_t *buf = malloc(luma + luma / 2);
	if (!buf) {
		free(c);
		return -ENOMEM;
	}
	c->width = width;
	c->height = height;
	c->data[0] = buf;
	c->data[1] = buf + luma;
	c->data[2] = buf + luma + luma / 4;
	c->stride[0] = width;
	c->stride[1] = c->stride[2] = width / 2;
	mix_canvas_fill(c, 0, 0, width, height, 16, 128, 128);
	*out = c;
	return 0;
}

void mix_canvas_free(struct mix_canvas **c)
{
	if (!c || !*c)
		return;
	free((*c)->data[0]);
	free(*c);
	*c = NULL;
}

static void fill_plane(uint8_t *p, int stride, int x, int y, int w, int h, uint8_t v)
{
	for (int r = 0; r < h; r++)
		memset(p + (size_t)(y + r) * stride + x, v, (size_t)w);
}

void mix_canvas_fill(struct mix_canvas *c, int x, int y, int w, int h, uint8_t Y, uint8_t U,
                     uint8_t V)
{
	if (x < 0) {
		w += x;
		x = 0;
	}
	if (y < 0) {
		h += y;
		y = 0;
	}
	x &= ~1;
	y &= ~1;
	if (x + w > c->width)
		w = c->width - x;
	if (y + h > c->height)
		h = c->height - y;
	w &= ~1;
	h &= ~1;
	if (w <= 0 || h <= 0)
		return;
	fill_plane(c->data[0], c->stride[0], x, y, w, h, Y);
	fill_plane(c->data[1], c->stride[1], x / 2, y / 2, w / 2, h / 2, U);
	fill_plane(c->data[2], c->stride[2], x / 2, y / 2, w / 2, h / 2, V);
}

struct mix_picture mix_canvas_view(const struct mix_canvas *c)
{
	struct mix_picture p = {
	    .data = {c->data[0], c->data[1], c->data[2]},
	    .stride = {c->stride[0], c->stride[1], c->stride[2]},
	    .width = c->width,
	    .height = c->height,
	};
	return p;
}
