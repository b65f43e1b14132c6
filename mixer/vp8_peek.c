/*
 * vp8_peek.c - a bounds-checked parse of the VP8 frame tag and keyframe header.
 *
 * RFC 6386 9.1: a 3-byte little-endian frame tag (bit 0: 0 = keyframe, bits 1-3: version,
 * bit 4: show_frame, bits 5-23: first partition size). A keyframe continues with the start
 * code 9d 01 2a and two little-endian 16-bit fields: 14 bits width + 2 bits horizontal scale,
 * 14 bits height + 2 bits vertical scale (RFC 6386 9.2), so a keyframe needs >= 10 bytes.
 * Pure function over remote bytes: reads only data[0..len), any thread, owns nothing.
 */
#include <errno.h>

#include "mix/vp8.h"

#define VP8_TAG_SIZE     3
#define VP8_KEY_HDR_SIZE 10
#define VP8_MAX_VERSION  3

static unsigned rd_le16(const uint8_t *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* RFC 6386 9.2: start code, then 14-bit width and height (the 2-bit scales are ignored). */
static int peek_keyframe(const uint8_t *data, size_t len, struct mix_vp8_info *info)
{
	if (len < VP8_KEY_HDR_SIZE)
		return -EBADMSG;
	if (data[3] != 0x9d || data[4] != 0x01 || data[5] != 0x2a)
		return -EBADMSG;
	info->width = (int)(rd_le16(data + 6) & 0x3fff);
	info->height = (int)(rd_le16(data + 8) & 0x3fff);
	if (info->width == 0 || info->height == 0)
		return -EBADMSG;
	return 0;
}

int mix_vp8_peek(const uint8_t *data, size_t len, struct mix_vp8_info *info)
{
	struct mix_vp8_info tmp = {0};
	if (!data || !info || len < VP8_TAG_SIZE)
		return -EBADMSG;
	uint32_t tag = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16;
	tmp.keyframe = (tag & 1) == 0;
	unsigned version = (tag >> 1) & 7;
	size_t first_part = tag >> 5;
	if (version > VP8_MAX_VERSION)
		return -EBADMSG;
	size_t hdr = tmp.keyframe ? VP8_KEY_HDR_SIZE : VP8_TAG_SIZE;
	if (tmp.keyframe) {
		int err = peek_keyframe(data, len, &tmp);
		if (err)
			return err;
	}
	if (first_part > len - hdr)
		return -EBADMSG;
	*info = tmp;
	return 0;
}
