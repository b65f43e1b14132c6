/*
 * cursor.h - a read-only window over a buffer for parsers of remote bytes: bytes [off, len)
 * are still unread. Reads are big-endian and do NOT check bounds: the parser checks
 * cur_left() before each field (DESIGN.md wire rules: explicit reads, one bounded cursor).
 * Header-only, no state beyond the struct; any thread.
 */
#ifndef MCU_CURSOR_H
#define MCU_CURSOR_H

#include <stddef.h>
#include <stdint.h>

struct cur {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline size_t cur_left(const struct cur *c)
{
	return c->len - c->off;
}

static inline uint8_t cur_u8(struct cur *c)
{
	return c->p[c->off++];
}

static inline uint16_t cur_u16(struct cur *c)
{
	uint16_t v = (uint16_t)(c->p[c->off] << 8 | c->p[c->off + 1]);
	c->off += 2;
	return v;
}

static inline uint32_t cur_u24(struct cur *c)
{
	const uint8_t *b = c->p + c->off;
	c->off += 3;
	return (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
}

static inline uint32_t cur_u32(struct cur *c)
{
	const uint8_t *b = c->p + c->off;
	c->off += 4;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

#endif
