/*
 * rtp.c - RTP fixed header parsing and writing (RFC 3550 5.1, 5.3.1) and RFC 8285 header
 * extension elements (one-byte 0xBEDE and two-byte 0x100X forms), RFC 6464 audio level, the
 * transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 2),
 * RFC 5761 4 RTP/RTCP demultiplexing.
 *
 * Every read goes through one bounded cursor (struct cur) with explicit big-endian byte reads;
 * no struct overlays, no bitfields. Each optional part (CSRCs, extension, padding) is checked
 * against what is left before it is touched, and every loop advances by at least one byte, so
 * parsing is linear in the packet length.
 *
 * Pure functions: any thread, no allocation. Parsed pointers alias the caller's buffer.
 */
#include <errno.h>
#include <string.h>

#include "mcu/cursor.h"
#include "rtp/rtp.h"

#define RTP_HDR_LEN      12
#define RTP_EXT_ONE_BYTE 0xBEDE
#define RTP_EXT_TWO_BYTE 0x1000 /* upper 12 bits; low 4 bits are app bits (RFC 8285 4.3) */

/* RFC 3550 5.3.1: 16-bit profile, 16-bit length in 32-bit words, then the data. */
static enum rtp_drop parse_extension(struct cur *c, struct rtp_hdr *h)
{
	if (cur_left(c) < 4)
		return RTP_DROP_SHORT;
	h->ext_profile = cur_u16(c);
	size_t words = cur_u16(c);
	if (words * 4 > cur_left(c))
		return RTP_DROP_EXTENSION;
	h->ext = c->p + c->off;
	h->ext_len = words * 4;
	c->off += h->ext_len;
	return RTP_OK;
}

/* RFC 3550 5.1 P bit: the last octet counts the padding octets, itself included. */
static enum rtp_drop strip_padding(struct rtp_hdr *h)
{
	if (h->payload_len == 0)
		return RTP_DROP_PADDING;
	size_t pad = h->payload[h->payload_len - 1];
	if (pad == 0 || pad > h->payload_len)
		return RTP_DROP_PADDING;
	h->payload_len -= pad;
	return RTP_OK;
}

enum rtp_drop rtp_parse(const uint8_t *buf, size_t len, struct rtp_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len > RTP_MAX_PACKET)
		return RTP_DROP_TOO_LARGE;
	if (buf == NULL || len < RTP_HDR_LEN)
		return RTP_DROP_SHORT;
	struct cur c = {buf, len, 0};
	uint8_t b0 = cur_u8(&c), b1 = cur_u8(&c);
	if (b0 >> 6 != 2)
		return RTP_DROP_VERSION;
	h->marker = b1 >> 7;
	h->pt = b1 & 0x7f;
	h->seq = cur_u16(&c);
	h->ts = cur_u32(&c);
	h->ssrc = cur_u32(&c);
	h->cc = b0 & 0x0f;
	if (cur_left(&c) < (size_t)h->cc * 4)
		return RTP_DROP_SHORT;
	for (int i = 0; i < h->cc; i++)
		h->csrc[i] = cur_u32(&c);
	if (b0 & 0x10) {
		enum rtp_drop d = parse_extension(&c, h);
		if (d != RTP_OK)
			return d;
	}
	h->payload = buf + c.off;
	h->payload_len = cur_left(&c);
	if (b0 & 0x20)
		return strip_padding(h);
	return RTP_OK;
}

const char *rtp_drop_name(enum rtp_drop d)
{
	switch (d) {
	case RTP_OK:
		return "ok";
	case RTP_DROP_SHORT:
		return "short";
	case RTP_DROP_VERSION:
		return "version";
	case RTP_DROP_EXTENSION:
		return "extension";
	case RTP_DROP_PADDING:
		return "padding";
	case RTP_DROP_TOO_LARGE:
		return "too_large";
	case RTP_DROP_COUNT:
		break;
	}
	return "unknown";
}

/* RFC 8285 4.2: one-byte header elements; ID 0 is a padding byte, ID 15 ends the list. */
static int find_one_byte(struct cur *c, int id, const uint8_t **data, size_t *len)
{
	while (cur_left(c) > 0) {
		uint8_t b = cur_u8(c);
		int eid = b >> 4;
		size_t elen = (size_t)(b & 0x0f) + 1;
		if (eid == 0)
			continue;
		if (eid == 15 || elen > cur_left(c))
			break;
		if (eid == id) {
			*data = c->p + c->off;
			*len = elen;
			return 0;
		}
		c->off += elen;
	}
	return -ENOENT;
}

/* RFC 8285 4.3: two-byte header elements; a zero byte is padding, length may be 0. */
static int find_two_byte(struct cur *c, int id, const uint8_t **data, size_t *len)
{
	while (cur_left(c) > 0) {
		uint8_t eid = cur_u8(c);
		if (eid == 0)
			continue;
		if (cur_left(c) < 1)
			break;
		size_t elen = cur_u8(c);
		if (elen > cur_left(c))
			break;
		if (eid == id) {
			*data = c->p + c->off;
			*len = elen;
			return 0;
		}
		c->off += elen;
	}
	return -ENOENT;
}

int rtp_ext_find(const struct rtp_hdr *h, int id, const uint8_t **data, size_t *len)
{
	if (h == NULL || h->ext == NULL || id < 1)
		return -ENOENT;
	struct cur c = {h->ext, h->ext_len, 0};
	if (h->ext_profile == RTP_EXT_ONE_BYTE && id <= 14)
		return find_one_byte(&c, id, data, len);
	if ((h->ext_profile & 0xfff0) == RTP_EXT_TWO_BYTE && id <= 255)
		return find_two_byte(&c, id, data, len);
	return -ENOENT;
}

/* RFC 6464 3: one byte, V flag in the top bit and the level in -dBov below it. */
int rtp_audio_level(const struct rtp_hdr *h, int id, bool *voice)
{
	const uint8_t *d;
	size_t n;
	if (rtp_ext_find(h, id, &d, &n) != 0 || n < 1)
		return -1;
	if (voice != NULL)
		*voice = d[0] >> 7;
	return d[0] & 0x7f;
}

/* draft-holmer-rmcat-transport-wide-cc-extensions-01 2: a 16-bit big-endian counter. */
int rtp_transport_seq(const struct rtp_hdr *h, int ext_id, uint16_t *seq)
{
	const uint8_t *d;
	size_t n;
	if (rtp_ext_find(h, ext_id, &d, &n) != 0)
		return -ENOENT;
	if (n != RTP_TRANSPORT_SEQ_LEN)
		return -EBADMSG;
	if (seq != NULL)
		*seq = (uint16_t)(d[0] << 8 | d[1]);
	return 0;
}

/* RFC 5761 4: RTCP packet types 192..223 occupy the second byte where RTP has M + PT. */
bool rtp_is_rtcp(const uint8_t *buf, size_t len)
{
	return buf != NULL && len >= 2 && buf[1] >= 192 && buf[1] <= 223;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool ext_elems_valid(const struct rtp_ext_elem *ext, int n)
{
	if (n < 0 || n > RTP_MAX_EXT_ELEMS || (n > 0 && ext == NULL))
		return false;
	for (int i = 0; i < n; i++)
		if (ext[i].id < 1 || ext[i].id > 14 || ext[i].len < 1 || ext[i].len > 16 ||
		    ext[i].data == NULL)
			return false;
	return true;
}

/* Bytes of the element list (one header byte per element), padded to 32 bits. */
static size_t ext_body_len(const struct rtp_ext_elem *ext, int n)
{
	size_t body = 0;
	for (int i = 0; i < n; i++)
		body += 1 + (size_t)ext[i].len;
	return (body + 3) & ~(size_t)3;
}

/* Writes a one-byte-form extension block of body bytes holding the elements (RFC 8285 4.2). */
static void write_one_byte_ext(uint8_t *p, const struct rtp_ext_elem *ext, int n, size_t body)
{
	put16(p, RTP_EXT_ONE_BYTE);
	put16(p + 2, (uint16_t)(body / 4));
	memset(p + 4, 0, body);
	uint8_t *e = p + 4;
	for (int i = 0; i < n; i++) {
		*e++ = (uint8_t)((unsigned)ext[i].id << 4 | (unsigned)(ext[i].len - 1));
		memcpy(e, ext[i].data, ext[i].len);
		e += ext[i].len;
	}
}

int rtp_write_ext(uint8_t *buf, size_t cap, const struct rtp_hdr *h, const struct rtp_ext_elem *ext,
                  int n_ext, const uint8_t *payload, size_t payload_len)
{
	if (buf == NULL || h == NULL || !ext_elems_valid(ext, n_ext))
		return -EINVAL;
	if (payload_len > 0 && payload == NULL)
		return -EINVAL;
	size_t body = ext_body_len(ext, n_ext);
	size_t hdr = RTP_HDR_LEN + (n_ext > 0 ? 4 + body : 0);
	if (cap < hdr || payload_len > cap - hdr || hdr + payload_len > (size_t)INT32_MAX)
		return -ENOSPC;
	buf[0] = (uint8_t)(0x80 | (n_ext > 0 ? 0x10 : 0));
	buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | (h->pt & 0x7f));
	put16(buf + 2, h->seq);
	put32(buf + 4, h->ts);
	put32(buf + 8, h->ssrc);
	if (payload_len > 0)
		memmove(buf + hdr, payload, payload_len);
	if (n_ext > 0)
		write_one_byte_ext(buf + RTP_HDR_LEN, ext, n_ext, body);
	return (int)(hdr + payload_len);
}

int rtp_write(uint8_t *buf, size_t cap, const struct rtp_hdr *h, int ext_id,
              const uint8_t *ext_data, size_t ext_len, const uint8_t *payload, size_t payload_len)
{
	if (ext_id != 0 && (ext_id < 1 || ext_id > 14 || ext_len < 1 || ext_len > 16 || !ext_data))
		return -EINVAL;
	struct rtp_ext_elem e = {(uint8_t)ext_id, (uint8_t)ext_len, ext_data};
	return rtp_write_ext(buf, cap, h, &e, ext_id ? 1 : 0, payload, payload_len);
}

int rtp_rtx_unwrap(uint8_t *buf, size_t len, const struct rtp_hdr *h, uint8_t pt, uint32_t ssrc,
                   uint8_t **out, size_t *out_len)
{
	if (h->payload_len <= 2 || h->payload < buf || h->payload + h->payload_len > buf + len)
		return -EINVAL;
	size_t hlen = (size_t)(h->payload - buf);
	uint16_t osn = (uint16_t)(h->payload[0] << 8 | h->payload[1]);
	memmove(buf + 2, buf, hlen);
	uint8_t *p = buf + 2;
	p[1] = (uint8_t)((p[1] & 0x80) | (pt & 0x7f));
	p[2] = (uint8_t)(osn >> 8);
	p[3] = (uint8_t)osn;
	p[8] = (uint8_t)(ssrc >> 24);
	p[9] = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8);
	p[11] = (uint8_t)ssrc;
	*out = p;
	*out_len = len - 2;
	return 0;
}
