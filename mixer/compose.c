/*
 * compose.c - the compositor: tiles drawn onto one owned I420 canvas (see mix/compose.h).
 *
 * Each tile has a cached SwsContext (SWS_FAST_BILINEAR) that scales its source, centre-cropped
 * to the tile's aspect by offsetting the source plane pointers (even offsets), straight into
 * the tile's rectangle of the canvas: no intermediate buffer. swscale's SIMD row writers
 * round the row width up to their vector size and write past the row end (measured here: up
 * to 14 bytes), into the neighbouring tile; so the SCALE_GUARD bytes after each tile row are
 * saved before scaling and restored after, and the canvas, allocated here rather than by
 * mix_canvas_alloc, pads every plane with SCALE_GUARD bytes so nothing spills across planes.
 * Tiles remember their (serial | placeholder initials) and the name label text drawn on them
 * to skip unchanged redraws; a label is drawn only right after its tile's picture or
 * placeholder, so an unchanged tile costs nothing. A label is a box at the tile's bottom-left
 * whose pixels are darkened (luma / 4 + 16) and desaturated (chroma 3/4 of the way to grey),
 * with light glyphs on top; its geometry (label_fit) keeps it inside the tile and on even
 * coordinates, so the box's chroma is exactly the box's half-size rectangle.
 * Single-threaded (the caller's thread). Owns the canvas, scaler contexts and guard buffer;
 * pictures passed to draw are borrowed for the duration of the call.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>

#include "font.h"
#include "mix/compose.h"

#define MAX_TILES    (MIX_LAYOUT_MAX_TILES + MIX_LAYOUT_MAX_STRIP)
#define MAX_INITIALS 3               /* two letters and the NUL */
#define SCALE_GUARD  64              /* bytes after a destination row that swscale may overwrite */
#define LABEL_MAX    63              /* glyphs of a label at most */
#define LABEL_BUF    (LABEL_MAX + 2) /* a glyph more, to tell a name was cut */

#define BG_Y    16
#define GREY_Y  40
#define TEXT_Y  200
#define LABEL_Y 235
#define CHROMA  128

enum tile_shows { TILE_STALE = 0, TILE_PICTURE, TILE_PLACEHOLDER };

struct tile {
	struct mix_rect r;
	struct SwsContext *sws;
	enum tile_shows shows;
	uint64_t serial;             /* when shows == TILE_PICTURE */
	char initials[MAX_INITIALS]; /* when shows == TILE_PLACEHOLDER */
	char label[LABEL_BUF];       /* the name label drawn over it, "" for none */
};

/* A tile's name label: the box (even, inside the tile) and the text's magnification. */
struct label_box {
	int f; /* 0: no label */
	int x, y, w, h;
	int pad; /* from the box's left edge to the text */
};

struct mix_compositor {
	struct mix_canvas *canvas;
	uint8_t *guard; /* saved bytes after each tile row: 2 * height * SCALE_GUARD */
	int n;
	bool names; /* name labels on */
	struct tile tiles[MAX_TILES];
};

/* A centre crop of a source picture. */
struct crop {
	int x, y, w, h;
};

static int even(int v)
{
	return v & ~1;
}

/* Like mix_canvas_alloc, but each plane is followed by SCALE_GUARD bytes of padding. */
static int canvas_alloc_padded(struct mix_canvas **out, int width, int height)
{
	if (width < 16 || height < 16 || width > 8192 || height > 8192 || (width | height) & 1)
		return -EINVAL;
	struct mix_canvas *cv = calloc(1, sizeof(*cv));
	if (!cv)
		return -ENOMEM;
	size_t luma = (size_t)width * height;
	uint8_t *buf = calloc(1, luma + luma / 2 + 3 * SCALE_GUARD);
	if (!buf) {
		free(cv);
		return -ENOMEM;
	}
	cv->width = width;
	cv->height = height;
	cv->data[0] = buf;
	cv->data[1] = cv->data[0] + luma + SCALE_GUARD;
	cv->data[2] = cv->data[1] + luma / 4 + SCALE_GUARD;
	cv->stride[0] = width;
	cv->stride[1] = cv->stride[2] = width / 2;
	mix_canvas_fill(cv, 0, 0, width, height, BG_Y, CHROMA, CHROMA);
	*out = cv;
	return 0;
}

static void canvas_free_padded(struct mix_canvas *cv)
{
	if (!cv)
		return;
	free(cv->data[0]);
	free(cv);
}

int mix_compositor_alloc(struct mix_compositor **out, int width, int height)
{
	if (!out)
		return -EINVAL;
	struct mix_compositor *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int ret = canvas_alloc_padded(&c->canvas, width, height);
	if (ret < 0) {
		free(c);
		return ret;
	}
	c->guard = malloc((size_t)2 * height * SCALE_GUARD);
	if (!c->guard) {
		mix_compositor_free(&c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void mix_compositor_free(struct mix_compositor **c)
{
	if (!c || !*c)
		return;
	for (int i = 0; i < MAX_TILES; i++)
		sws_freeContext((*c)->tiles[i].sws);
	canvas_free_padded((*c)->canvas);
	free((*c)->guard);
	free(*c);
	*c = NULL;
}

static int rect_valid(const struct mix_canvas *cv, const struct mix_rect *r)
{
	if ((r->x | r->y | r->w | r->h) & 1)
		return 0;
	if (r->x < 0 || r->y < 0 || r->w < 2 || r->h < 2)
		return 0;
	return r->w <= cv->width - r->x && r->h <= cv->height - r->y;
}

static int rects_equal(const struct mix_compositor *c, const struct mix_rect *rects, int n)
{
	if (n != c->n)
		return 0;
	for (int i = 0; i < n; i++) {
		const struct mix_rect *a = &c->tiles[i].r;
		if (a->x != rects[i].x || a->y != rects[i].y || a->w != rects[i].w ||
		    a->h != rects[i].h)
			return 0;
	}
	return 1;
}

int mix_compositor_set_tiles(struct mix_compositor *c, const struct mix_rect *rects, int n)
{
	if (!c || n < 0 || n > MAX_TILES || (n > 0 && !rects))
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (!rect_valid(c->canvas, &rects[i]))
			return -EINVAL;
	if (rects_equal(c, rects, n))
		return 0;
	struct mix_canvas *cv = c->canvas;
	mix_canvas_fill(cv, 0, 0, cv->width, cv->height, BG_Y, CHROMA, CHROMA);
	for (int i = 0; i < n; i++)
		c->tiles[i].r = rects[i];
	c->n = n;
	mix_compositor_invalidate(c);
	return 0;
}

void mix_compositor_invalidate(struct mix_compositor *c)
{
	if (!c)
		return;
	for (int i = 0; i < MAX_TILES; i++) {
		c->tiles[i].shows = TILE_STALE;
		c->tiles[i].serial = 0;
		c->tiles[i].initials[0] = '\0';
		c->tiles[i].label[0] = '\0';
	}
}

void mix_compositor_set_names(struct mix_compositor *c, bool on)
{
	if (!c || c->names == on)
		return;
	c->names = on;
	mix_compositor_invalidate(c);
}

struct mix_picture mix_compositor_canvas(const struct mix_compositor *c)
{
	return mix_canvas_view(c->canvas);
}

static int picture_valid(const struct mix_picture *p)
{
	if (!p->data[0] || !p->data[1] || !p->data[2])
		return 0;
	if (p->width < 2 || p->height < 2)
		return 0;
	int cw = (p->width + 1) / 2;
	return p->stride[0] >= p->width && p->stride[1] >= cw && p->stride[2] >= cw;
}

/* The largest centred part of p with the tile's aspect ratio; x, y even. */
static struct crop centre_crop(const struct mix_picture *p, const struct mix_rect *r)
{
	struct crop k = {0, 0, p->width, p->height};
	int64_t wide = (int64_t)p->width * r->h, tall = (int64_t)p->height * r->w;
	if (wide > tall) {
		k.w = even((int)((int64_t)p->height * r->w / r->h));
		if (k.w < 2)
			k.w = 2;
		k.x = even((p->width - k.w) / 2);
	} else if (tall > wide) {
		k.h = even((int)((int64_t)p->width * r->h / r->w));
		if (k.h < 2)
			k.h = 2;
		k.y = even((p->height - k.h) / 2);
	}
	return k;
}

/*
 * Saves (restore == 0) or restores the bytes swscale may overwrite after each of the h rows of
 * width w at row0: the gap up to the tile's next row (at most SCALE_GUARD), and SCALE_GUARD
 * bytes after the last row. Returns the end of the used part of save.
 */
static uint8_t *guard_copy(uint8_t *save, uint8_t *row0, int stride, int w, int h, int restore)
{
	int gap = stride - w < SCALE_GUARD ? stride - w : SCALE_GUARD;
	for (int r = 0; r < h; r++) {
		int len = r == h - 1 ? SCALE_GUARD : gap;
		uint8_t *p = row0 + (size_t)r * stride + w;
		if (restore)
			memcpy(p, save, (size_t)len);
		else
			memcpy(save, p, (size_t)len);
		save += len;
	}
	return save;
}

static void guard_tile(struct mix_compositor *c, uint8_t *const dst[3], const struct mix_rect *r,
                       int restore)
{
	const int *stride = c->canvas->stride;
	uint8_t *save = guard_copy(c->guard, dst[0], stride[0], r->w, r->h, restore);
	save = guard_copy(save, dst[1], stride[1], r->w / 2, r->h / 2, restore);
	guard_copy(save, dst[2], stride[2], r->w / 2, r->h / 2, restore);
}

static int scale_into_tile(struct mix_compositor *c, struct tile *t, const struct mix_picture *p)
{
	struct mix_canvas *cv = c->canvas;
	const struct mix_rect *r = &t->r;
	struct crop k = centre_crop(p, r);
	const uint8_t *src[4] = {
	    p->data[0] + (size_t)k.y * p->stride[0] + k.x,
	    p->data[1] + (size_t)(k.y / 2) * p->stride[1] + k.x / 2,
	    p->data[2] + (size_t)(k.y / 2) * p->stride[2] + k.x / 2,
	    NULL,
	};
	const int src_stride[4] = {p->stride[0], p->stride[1], p->stride[2], 0};
	uint8_t *dst[4] = {
	    cv->data[0] + (size_t)r->y * cv->stride[0] + r->x,
	    cv->data[1] + (size_t)(r->y / 2) * cv->stride[1] + r->x / 2,
	    cv->data[2] + (size_t)(r->y / 2) * cv->stride[2] + r->x / 2,
	    NULL,
	};
	const int dst_stride[4] = {cv->stride[0], cv->stride[1], cv->stride[2], 0};
	t->sws = sws_getCachedContext(t->sws, k.w, k.h, AV_PIX_FMT_YUV420P, r->w, r->h,
	                              AV_PIX_FMT_YUV420P, SWS_FAST_BILINEAR, NULL, NULL, NULL);
	if (!t->sws)
		return -ENOMEM;
	guard_tile(c, dst, r, 0);
	int ret = sws_scale(t->sws, src, src_stride, 0, k.h, dst, dst_stride);
	guard_tile(c, dst, r, 1);
	if (ret <= 0)
		return ret < 0 ? ret : -EIO;
	return 0;
}

/* Integer magnification of the 5x7 font for len glyphs in r; 0 if the text does not fit. */
static int text_factor(const struct mix_rect *r, int len)
{
	int units_w = len * (MIX_FONT_COLS + 1) - 1;
	int f = (r->h + 2 * MIX_FONT_ROWS) / (4 * MIX_FONT_ROWS); /* text height ~ h / 4 */
	if (f < 1)
		f = 1;
	while (f > 1 && units_w * f > r->w * 9 / 10)
		f--;
	if (units_w * f > r->w || MIX_FONT_ROWS * f > r->h)
		return 0;
	return f;
}

static void draw_glyph(struct mix_canvas *cv, int x, int y, int f, const uint8_t *g, uint8_t luma)
{
	for (int row = 0; row < MIX_FONT_ROWS; row++) {
		for (int col = 0; col < MIX_FONT_COLS; col++) {
			if (!(g[row] >> (MIX_FONT_COLS - 1 - col) & 1))
				continue;
			uint8_t *p =
			    cv->data[0] + (size_t)(y + row * f) * cv->stride[0] + x + col * f;
			for (int k = 0; k < f; k++)
				memset(p + (size_t)k * cv->stride[0], luma, (size_t)f);
		}
	}
}

static void draw_text(struct mix_canvas *cv, const struct mix_rect *r, const char *text)
{
	int len = (int)strlen(text);
	if (len == 0)
		return;
	int f = text_factor(r, len);
	if (f == 0)
		return;
	int w = (len * (MIX_FONT_COLS + 1) - 1) * f;
	int x = r->x + (r->w - w) / 2;
	int y = r->y + (r->h - MIX_FONT_ROWS * f) / 2;
	for (int i = 0; i < len; i++) {
		const uint8_t *g = mix_font_glyph(text[i]);
		if (g)
			draw_glyph(cv, x + i * (MIX_FONT_COLS + 1) * f, y, f, g, TEXT_Y);
	}
}

/* Glyph magnification of a label on tile r: 0 (none) below MIX_LABEL_MIN_H, then 1..3. */
static int label_scale(const struct mix_rect *r)
{
	if (r->h < MIX_LABEL_MIN_H)
		return 0;
	int f = r->h / 120;
	return f < 1 ? 1 : f > 3 ? 3 : f;
}

/*
 * Glyphs that fit across tile r at magnification f: a margin of 2f between tile and box and a
 * padding of 2f between box and text on each side; the last glyph needs no gap after it.
 */
static int label_capacity(const struct mix_rect *r, int f)
{
	int room = r->w - 8 * f + f;
	return room > 0 ? room / ((MIX_FONT_COLS + 1) * f) : 0;
}

/* Cuts text to at most cap glyphs, the last one an ellipsis; "" if that leaves no letter. */
static void label_cut(char *text, int cap)
{
	int k = (int)strlen(text);
	if (k <= cap)
		return;
	k = cap - 1;
	while (k > 0 && text[k - 1] == ' ')
		k--;
	if (k <= 0) {
		text[0] = '\0';
		return;
	}
	text[k] = MIX_FONT_ELLIPSIS;
	text[k + 1] = '\0';
}

/* The label text and box of name on tile r; "" and b->f == 0 when nothing is drawn. */
static void label_fit(const struct mix_compositor *c, const struct mix_rect *r, const char *name,
                      char text[LABEL_BUF], struct label_box *b)
{
	memset(b, 0, sizeof(*b));
	text[0] = '\0';
	int f = c->names ? label_scale(r) : 0;
	if (f == 0)
		return;
	int cap = label_capacity(r, f);
	mix_font_text(name, text, LABEL_BUF);
	label_cut(text, cap < LABEL_MAX ? cap : LABEL_MAX);
	int len = (int)strlen(text);
	if (len == 0)
		return;
	b->f = f;
	b->pad = 2 * f;
	b->w = even((len * (MIX_FONT_COLS + 1) - 1) * f + 2 * b->pad + 1);
	/* one line of text with its descent; padding 2f above it and f below */
	b->h = even((MIX_FONT_ROWS + MIX_FONT_DESCENT + 3) * f + 1);
	b->x = r->x + 2 * f;
	b->y = r->y + r->h - 2 * f - b->h;
}

static void dim_luma(uint8_t *p, int stride, int w, int h)
{
	for (int y = 0; y < h; y++, p += stride)
		for (int x = 0; x < w; x++)
			p[x] = (uint8_t)((p[x] >> 2) + 16);
}

static void dim_chroma(uint8_t *p, int stride, int w, int h)
{
	for (int y = 0; y < h; y++, p += stride)
		for (int x = 0; x < w; x++)
			p[x] = (uint8_t)((p[x] + 3 * CHROMA) >> 2);
}

static void draw_label(struct mix_canvas *cv, const struct label_box *b, const char *text)
{
	if (b->f == 0)
		return;
	dim_luma(cv->data[0] + (size_t)b->y * cv->stride[0] + b->x, cv->stride[0], b->w, b->h);
	for (int i = 1; i < 3; i++)
		dim_chroma(cv->data[i] + (size_t)(b->y / 2) * cv->stride[i] + b->x / 2,
		           cv->stride[i], b->w / 2, b->h / 2);
	int step = (MIX_FONT_COLS + 1) * b->f;
	for (int i = 0; text[i]; i++) {
		const uint8_t *g = mix_font_glyph(text[i]);
		int y = b->y + 2 * b->f + mix_font_descent(text[i]) * b->f;
		if (g)
			draw_glyph(cv, b->x + b->pad + i * step, y, b->f, g, LABEL_Y);
	}
}

static int draw_placeholder(struct mix_compositor *c, struct tile *t, const char *name,
                            const char *label)
{
	char initials[MAX_INITIALS];
	mix_initials(name, initials, sizeof(initials));
	if (t->shows == TILE_PLACEHOLDER && strcmp(initials, t->initials) == 0 &&
	    strcmp(label, t->label) == 0)
		return 0;
	mix_canvas_fill(c->canvas, t->r.x, t->r.y, t->r.w, t->r.h, GREY_Y, CHROMA, CHROMA);
	draw_text(c->canvas, &t->r, initials);
	t->shows = TILE_PLACEHOLDER;
	memcpy(t->initials, initials, sizeof(initials));
	return 1;
}

static int draw_picture(struct mix_compositor *c, struct tile *t, const struct mix_picture *pic,
                        uint64_t serial, const char *label)
{
	if (!picture_valid(pic))
		return -EINVAL;
	if (t->shows == TILE_PICTURE && t->serial == serial && strcmp(label, t->label) == 0)
		return 0;
	t->shows = TILE_STALE;
	int ret = scale_into_tile(c, t, pic);
	if (ret < 0)
		return ret;
	t->shows = TILE_PICTURE;
	t->serial = serial;
	return 1;
}

int mix_compositor_draw(struct mix_compositor *c, int i, const struct mix_picture *pic,
                        uint64_t serial, const char *label)
{
	if (!c || i < 0 || i >= c->n)
		return -EINVAL;
	struct tile *t = &c->tiles[i];
	char text[LABEL_BUF];
	struct label_box b;
	label_fit(c, &t->r, label, text, &b);
	int ret = pic ? draw_picture(c, t, pic, serial, text) : draw_placeholder(c, t, label, text);
	if (ret == 1) {
		draw_label(c->canvas, &b, text);
		memcpy(t->label, text, sizeof(text));
	}
	return ret;
}

static int is_space(char ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

static char ascii_alnum_upper(char ch)
{
	if (ch >= 'a' && ch <= 'z')
		return (char)(ch - 'a' + 'A');
	if ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return ch;
	return '\0'; /* punctuation, controls and UTF-8 bytes (>= 0x80) */
}

/* The first ASCII letter or digit of the word at *s (uppercased, or NUL); *s moves past it. */
static char word_initial(const char **s)
{
	char first = '\0';
	const char *p = *s;
	for (; *p && !is_space(*p); p++)
		if (!first)
			first = ascii_alnum_upper(*p);
	*s = p;
	return first;
}

void mix_initials(const char *name, char *out, int max)
{
	if (!out || max <= 0)
		return;
	char first = '\0', last = '\0';
	const char *p = name ? name : "";
	while (*p) {
		if (is_space(*p)) {
			p++;
			continue;
		}
		char ch = word_initial(&p);
		if (ch && !first)
			first = ch;
		else if (ch)
			last = ch;
	}
	int n = 0;
	if (first && n < max - 1)
		out[n++] = first;
	if (last && n < max - 1)
		out[n++] = last;
	out[n] = '\0';
}
