/*
 * vp8_rtp.c - VP8 RTP payload format (RFC 7741): payload descriptor parsing (4.2), frame
 * reassembly (4.5.1: S bit, partition index, marker, timestamp) and packetization (4.4).
 *
 * The descriptor parser is a pure function over one bounded cursor; every optional byte is
 * length-checked. The assembler keeps one frame in progress in a buffer it owns (grown up to
 * max_frame) and tracks the last sequence number so a gap drops the frame in progress and flags
 * loss_before on the next emitted one. Keyframes are recognised by the P bit of the VP8 frame
 * tag (RFC 6386 9.1, inverted: 0 = keyframe) in the first byte after the start descriptor.
 * One assembler per inbound stream, single-threaded. The packetizer is a pure function.
 */
#include "rtp/vp8_rtp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VP8_DESC_LEN 4    /* what the packetizer writes: X, I with a 15-bit picture id */
#define VP8_MAX_PKT  1500 /* RTP_MAX_PACKET; the packetizer's stack buffer */

struct vp8_asm {
	uint8_t *buf;   /* frame in progress, buf_cap bytes allocated */
	size_t buf_cap; /* grows by doubling up to max_frame */
	size_t max_frame;
	size_t len;    /* bytes of the frame in progress */
	bool active;   /* a frame has started (S=1, PID=0) and has not ended */
	bool keyframe; /* of the frame in progress */
	uint32_t ts;   /* of the frame in progress */
	bool have_seq;
	uint16_t last_seq; /* last pushed packet, for gap detection */
	bool loss;         /* something was lost since the last emitted frame */
	bool skip_valid;   /* skip_ts is a frame already counted as dropped */
	uint32_t skip_ts;
	uint64_t dropped;
};

/* RFC 7741 4.2: the optional extension bytes after X. Returns the new offset or -EBADMSG. */
static int desc_ext(const uint8_t *p, size_t len, size_t off, struct vp8_desc *d)
{
	if (off >= len)
		return -EBADMSG;
	uint8_t x = p[off++];
	if (x & 0x80) { /* I: picture id, M bit selects 15 bits */
		if (off >= len)
			return -EBADMSG;
		if (p[off] & 0x80) {
			if (off + 2 > len)
				return -EBADMSG;
			d->picture_id = ((p[off] & 0x7f) << 8) | p[off + 1];
			off += 2;
		} else {
			d->picture_id = p[off++];
		}
	}
	if (x & 0x40) { /* L: TL0PICIDX */
		if (off >= len)
			return -EBADMSG;
		d->tl0picidx = p[off++];
	}
	if (x & 0x30) { /* T or K: TID|Y|KEYIDX */
		if (off >= len)
			return -EBADMSG;
		if (x & 0x20)
			d->tid = p[off] >> 6;
		off++;
	}
	return (int)off;
}

int vp8_desc_parse(const uint8_t *p, size_t len, struct vp8_desc *d)
{
	if (!p || !d || len < 1)
		return -EBADMSG;
	d->non_ref = p[0] & 0x20;
	d->start = p[0] & 0x10;
	d->partition = p[0] & 0x07;
	d->picture_id = -1;
	d->tl0picidx = -1;
	d->tid = -1;
	size_t off = 1;
	if (p[0] & 0x80) {
		int r = desc_ext(p, len, off, d);
		if (r < 0)
			return r;
		off = (size_t)r;
	}
	if (off >= len) /* an empty VP8 payload */
		return -EBADMSG;
	d->size = off;
	return 0;
}

int vp8_rtp_keyframe_size(const uint8_t *p, size_t len, int *w, int *h)
{
	struct vp8_desc d;
	if (vp8_desc_parse(p, len, &d) < 0 || !d.start || d.partition != 0 || len - d.size < 10)
		return 0;
	const uint8_t *f = p + d.size;
	if ((f[0] & 1) || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a)
		return 0;
	int fw = (f[6] | f[7] << 8) & 0x3fff, fh = (f[8] | f[9] << 8) & 0x3fff;
	if (fw == 0 || fh == 0)
		return 0;
	*w = fw;
	*h = fh;
	return 1;
}

int vp8_asm_alloc(struct vp8_asm **out, size_t max_frame)
{
	if (!out || max_frame == 0)
		return -EINVAL;
	struct vp8_asm *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->max_frame = max_frame;
	*out = a;
	return 0;
}

void vp8_asm_free(struct vp8_asm **a)
{
	if (!a || !*a)
		return;
	free((*a)->buf);
	free(*a);
	*a = NULL;
}

uint64_t vp8_asm_dropped(const struct vp8_asm *a)
{
	return a ? a->dropped : 0;
}

/* Drops the frame in progress (counted once per timestamp); later packets of it are ignored. */
static void drop_frame(struct vp8_asm *a, uint32_t ts)
{
	if (!a->skip_valid || a->skip_ts != ts)
		a->dropped++;
	a->skip_valid = true;
	a->skip_ts = ts;
	a->active = false;
	a->len = 0;
	a->loss = true;
}

/* Makes room for `need` bytes of frame; 0, -E2BIG over max_frame, -ENOMEM. */
static int reserve(struct vp8_asm *a, size_t need)
{
	if (need > a->max_frame)
		return -E2BIG;
	if (need <= a->buf_cap)
		return 0;
	size_t cap = a->buf_cap ? a->buf_cap : 4096;
	while (cap < need)
		cap *= 2;
	if (cap > a->max_frame)
		cap = a->max_frame;
	uint8_t *nb = realloc(a->buf, cap);
	if (!nb)
		return -ENOMEM;
	a->buf = nb;
	a->buf_cap = cap;
	return 0;
}

/* Sequence bookkeeping: false for an exact duplicate; a gap drops the frame in progress. */
static bool track_seq(struct vp8_asm *a, uint16_t seq)
{
	if (a->have_seq && seq == a->last_seq)
		return false;
	if (a->have_seq && seq != (uint16_t)(a->last_seq + 1)) {
		if (a->active)
			drop_frame(a, a->ts);
		a->loss = true; /* a whole frame may have been lost between two frames */
	}
	a->have_seq = true;
	a->last_seq = seq;
	return true;
}

/* Starts a frame at an S=1, PID=0 packet, or ignores (and counts) packets of a missed start. */
static bool begin_frame(struct vp8_asm *a, const struct vp8_desc *d, uint32_t ts,
                        const uint8_t *vp8)
{
	if (!d->start || d->partition != 0) {
		drop_frame(a, ts); /* its start was lost */
		return false;
	}
	a->active = true;
	a->ts = ts;
	a->len = 0;
	a->keyframe = !(vp8[0] & 0x01); /* RFC 6386 9.1: P bit, 0 = keyframe */
	return true;
}

static void emit(struct vp8_asm *a, struct vp8_frame *f)
{
	f->data = a->buf;
	f->size = a->len;
	f->ts = a->ts;
	f->keyframe = a->keyframe;
	f->loss_before = a->loss;
	a->loss = false;
	a->active = false;
	a->skip_valid = false;
}

int vp8_asm_push(struct vp8_asm *a, uint16_t seq, uint32_t ts, bool marker, const uint8_t *payload,
                 size_t len, struct vp8_frame *f)
{
	if (!a || !f || (!payload && len))
		return -EINVAL;
	if (!track_seq(a, seq) || len == 0) /* duplicate, or padding only */
		return 0;
	struct vp8_desc d;
	if (vp8_desc_parse(payload, len, &d) < 0) {
		drop_frame(a, a->active ? a->ts : ts);
		return -EBADMSG;
	}
	if (a->active && ts != a->ts)
		drop_frame(a, a->ts); /* the rest (and marker) of it never came */
	if (!a->active && !begin_frame(a, &d, ts, payload + d.size))
		return 0;
	size_t n = len - d.size;
	int r = reserve(a, a->len + n);
	if (r < 0) {
		drop_frame(a, ts);
		return r;
	}
	memcpy(a->buf + a->len, payload + d.size, n);
	a->len += n;
	if (!marker)
		return 0;
	emit(a, f);
	return 1;
}

/* Writes the 4-byte descriptor of RFC 7741 4.2 with X=1, I=1 and M=1 (15-bit picture id). */
static void put_desc(uint8_t *p, bool first, uint16_t picture_id)
{
	p[0] = first ? 0x90 : 0x80;
	p[1] = 0x80;
	p[2] = 0x80 | ((picture_id >> 8) & 0x7f);
	p[3] = picture_id & 0xff;
}

int vp8_packetize_parts(size_t len, size_t max_payload, uint16_t picture_id,
                        int (*emit_fn)(void *opaque, const uint8_t *desc, size_t desc_len,
                                       size_t off, size_t n, bool marker),
                        void *opaque)
{
	if (len == 0 || !emit_fn || max_payload <= VP8_DESC_LEN)
		return -EINVAL;
	if (max_payload > VP8_MAX_PKT)
		max_payload = VP8_MAX_PKT;
	size_t room = max_payload - VP8_DESC_LEN;
	size_t count = (len + room - 1) / room;
	if (count > 0x7fffffff)
		return -E2BIG;
	size_t base = len / count, extra = len % count; /* first `extra` get one byte more */
	uint8_t desc[VP8_DESC_LEN];
	size_t off = 0;
	for (size_t i = 0; i < count; i++) {
		size_t n = base + (i < extra);
		put_desc(desc, i == 0, picture_id);
		int r = emit_fn(opaque, desc, VP8_DESC_LEN, off, n, i + 1 == count);
		if (r < 0)
			return r;
		off += n;
	}
	return (int)count;
}

struct copy_ctx {
	const uint8_t *frame;
	int (*emit_fn)(void *opaque, const uint8_t *payload, size_t len, bool marker);
	void *opaque;
	uint8_t pkt[VP8_MAX_PKT];
};

static int emit_copy(void *opaque, const uint8_t *desc, size_t desc_len, size_t off, size_t n,
                     bool marker)
{
	struct copy_ctx *c = opaque;
	memcpy(c->pkt, desc, desc_len);
	memcpy(c->pkt + desc_len, c->frame + off, n);
	return c->emit_fn(c->opaque, c->pkt, desc_len + n, marker);
}

int vp8_packetize(const uint8_t *frame, size_t len, size_t max_payload, uint16_t picture_id,
                  bool keyframe,
                  int (*emit_fn)(void *opaque, const uint8_t *payload, size_t len, bool marker),
                  void *opaque)
{
	(void)keyframe;
	if (!frame || !emit_fn)
		return -EINVAL;
	struct copy_ctx c = {.frame = frame, .emit_fn = emit_fn, .opaque = opaque};
	return vp8_packetize_parts(len, max_payload, picture_id, emit_copy, &c);
}
