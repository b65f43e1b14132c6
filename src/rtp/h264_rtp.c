/*
 * h264_rtp.c - H.264 RTP payload format (RFC 6184), packetization-mode 1: access-unit reassembly
 * (5.6 single NAL unit packets, 5.7.1 STAP-A, 5.8 FU-A; marker and timestamp per 5.1) and
 * packetization of an Annex B access unit (ITU-T H.264 Annex B byte stream) into single NAL unit
 * packets and FU-A fragments.
 *
 * The assembler keeps one access unit in progress in a buffer it owns (grown up to max_frame),
 * written as Annex B with 4-byte start codes, and whether an FU-A NAL is open in it. It tracks the
 * last sequence number so a gap drops the access unit in progress and flags loss_before on the
 * next emitted one; every length field of a payload is checked against the payload's length
 * before a byte is copied. The packetizer and the Annex B scanner are pure functions over the
 * caller's bytes: the packetizer checks the whole access unit first, then emits offsets into it.
 * One assembler per inbound stream, single-threaded.
 */
#include "rtp/h264_rtp.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define NAL_F        0x80 /* forbidden_zero_bit */
#define NAL_NRI      0x60
#define NAL_TYPE     0x1f
#define NAL_IDR      5
#define NAL_STAP_A   24
#define NAL_FU_A     28
#define FU_S         0x80
#define FU_E         0x40
#define FU_HDR_LEN   2    /* FU indicator + FU header */
#define STAP_LEN     2    /* NALU size field of a STAP-A */
#define START_LEN    4    /* 00 00 00 01 before each NAL of an assembled access unit */
#define H264_MAX_PKT 1500 /* RTP_MAX_PACKET; the copying packetizer's stack buffer */

static const uint8_t start_code[START_LEN] = {0, 0, 0, 1};

struct h264_asm {
	uint8_t *buf;   /* access unit in progress, buf_cap bytes allocated */
	size_t buf_cap; /* grows by doubling up to max_frame */
	size_t max_frame;
	size_t len;      /* bytes of the access unit in progress */
	bool active;     /* an access unit has started and has not ended */
	bool keyframe;   /* of the access unit in progress */
	bool in_fu;      /* an FU-A NAL is open (its start came, its end did not) */
	uint8_t fu_type; /* NAL type of the open FU-A */
	uint32_t ts;     /* of the access unit in progress */
	bool have_seq;
	uint16_t last_seq; /* last pushed packet, for gap detection */
	bool loss;         /* something was lost since the last emitted access unit */
	bool skip_valid;   /* skip_ts is an access unit already counted as dropped */
	uint32_t skip_ts;
	uint64_t dropped;
};

/* A NAL header a single NAL unit packet (or an aggregated or fragmented NAL) may carry. */
static bool nal_hdr_ok(uint8_t h)
{
	int type = h & NAL_TYPE;
	return !(h & NAL_F) && type >= 1 && type <= 23;
}

int h264_asm_alloc(struct h264_asm **out, size_t max_frame)
{
	if (!out || max_frame == 0)
		return -EINVAL;
	struct h264_asm *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->max_frame = max_frame;
	*out = a;
	return 0;
}

void h264_asm_free(struct h264_asm **a)
{
	if (!a || !*a)
		return;
	free((*a)->buf);
	free(*a);
	*a = NULL;
}

uint64_t h264_asm_dropped(const struct h264_asm *a)
{
	return a ? a->dropped : 0;
}

/* Drops the access unit in progress (counted once per timestamp); later packets of it are
 * ignored. */
static void drop_frame(struct h264_asm *a, uint32_t ts)
{
	if (!a->skip_valid || a->skip_ts != ts)
		a->dropped++;
	a->skip_valid = true;
	a->skip_ts = ts;
	a->active = false;
	a->in_fu = false;
	a->len = 0;
	a->loss = true;
}

/* Makes room for `more` bytes after the access unit so far; 0, -E2BIG over max_frame, -ENOMEM. */
static int reserve(struct h264_asm *a, size_t more)
{
	if (more > a->max_frame - a->len)
		return -E2BIG;
	size_t need = a->len + more;
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

/* Appends bytes for which reserve() made room. */
static void put(struct h264_asm *a, const uint8_t *p, size_t n)
{
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

/* Appends a start code and a whole NAL (header byte first) for which reserve() made room. */
static void put_nal(struct h264_asm *a, const uint8_t *nal, size_t n)
{
	put(a, start_code, START_LEN);
	put(a, nal, n);
	if ((nal[0] & NAL_TYPE) == NAL_IDR)
		a->keyframe = true;
}

/* Sequence bookkeeping: false for an exact duplicate; a gap drops the access unit in progress. */
static bool track_seq(struct h264_asm *a, uint16_t seq)
{
	if (a->have_seq && seq == a->last_seq)
		return false;
	if (a->have_seq && seq != (uint16_t)(a->last_seq + 1)) {
		if (a->active)
			drop_frame(a, a->ts);
		a->loss = true; /* a whole access unit may have been lost between two */
	}
	a->have_seq = true;
	a->last_seq = seq;
	return true;
}

/* The payload's packet type (RFC 6184 5.2) if this assembler takes it, or -EBADMSG. */
static int payload_type(const uint8_t *p, size_t len)
{
	if (p[0] & NAL_F)
		return -EBADMSG;
	int type = p[0] & NAL_TYPE;
	if (type >= 1 && type <= 23)
		return type;
	if (type == NAL_STAP_A)
		return len > 1 ? type : -EBADMSG;
	if (type != NAL_FU_A || len < FU_HDR_LEN)
		return -EBADMSG;     /* 0, STAP-B, MTAP16/24, FU-B, reserved; or no FU header */
	int inner = p[1] & NAL_TYPE; /* S and E together (RFC 6184 forbids it) are taken */
	return inner >= 1 && inner <= 23 ? type : -EBADMSG;
}

/* Starts an access unit, or ignores packets of a dropped one and fragments of a missed start. */
static bool begin_frame(struct h264_asm *a, int type, const uint8_t *p, uint32_t ts)
{
	if (a->skip_valid && a->skip_ts == ts)
		return false;
	if (type == NAL_FU_A && !(p[1] & FU_S)) {
		drop_frame(a, ts); /* its start was lost */
		return false;
	}
	a->active = true;
	a->ts = ts;
	a->len = 0;
	a->keyframe = false;
	a->in_fu = false;
	return true;
}

/* The NALU size field at p[off] of a STAP-A (two bytes the caller checked). */
static size_t stap_size(const uint8_t *p, size_t off)
{
	return (size_t)p[off] << 8 | p[off + 1];
}

/* RFC 6184 5.7.1: checks every NALU size field and NAL header of a STAP-A, then appends. */
static int put_stap(struct h264_asm *a, const uint8_t *p, size_t len)
{
	size_t off = 1, total = 0;
	while (off < len) {
		if (len - off < STAP_LEN)
			return -EBADMSG;
		size_t n = stap_size(p, off);
		off += STAP_LEN;
		if (n == 0 || n > len - off || !nal_hdr_ok(p[off]))
			return -EBADMSG;
		off += n;
		total += START_LEN + n;
	}
	int r = reserve(a, total);
	if (r < 0)
		return r;
	for (off = 1; off < len; off += STAP_LEN + stap_size(p, off))
		put_nal(a, p + off + STAP_LEN, stap_size(p, off));
	return 0;
}

/* RFC 6184 5.8: a start rebuilds the NAL header; the E bit closes the NAL. */
static int put_fu(struct h264_asm *a, const uint8_t *p, size_t len)
{
	bool start = p[1] & FU_S;
	uint8_t type = p[1] & NAL_TYPE;
	if (start == a->in_fu || (!start && type != a->fu_type))
		return -EBADMSG; /* a start inside an open FU, or a fragment outside one */
	size_t n = len - FU_HDR_LEN;
	int r = reserve(a, start ? START_LEN + 1 + n : n);
	if (r < 0)
		return r;
	if (start) {
		uint8_t hdr = (uint8_t)((p[0] & (NAL_F | NAL_NRI)) | type);
		put(a, start_code, START_LEN);
		put(a, &hdr, 1);
		a->in_fu = true;
		a->fu_type = type;
		if (type == NAL_IDR)
			a->keyframe = true;
	}
	put(a, p + FU_HDR_LEN, n);
	if (p[1] & FU_E)
		a->in_fu = false;
	return 0;
}

static int put_payload(struct h264_asm *a, int type, const uint8_t *p, size_t len)
{
	if (type == NAL_FU_A)
		return put_fu(a, p, len);
	if (a->in_fu)
		return -EBADMSG; /* the open FU-A never ended */
	if (type == NAL_STAP_A)
		return put_stap(a, p, len);
	int r = reserve(a, START_LEN + len);
	if (r == 0)
		put_nal(a, p, len);
	return r;
}

static void emit(struct h264_asm *a, struct h264_frame *f)
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

int h264_asm_push(struct h264_asm *a, uint16_t seq, uint32_t ts, bool marker,
                  const uint8_t *payload, size_t len, struct h264_frame *f)
{
	if (!a || !f || (!payload && len))
		return -EINVAL;
	if (!track_seq(a, seq) || len == 0) /* duplicate, or padding only */
		return 0;
	int type = payload_type(payload, len);
	if (type < 0) {
		drop_frame(a, a->active ? a->ts : ts);
		return -EBADMSG;
	}
	if (a->active && ts != a->ts)
		drop_frame(a, a->ts); /* the rest (and marker) of it never came */
	if (!a->active && !begin_frame(a, type, payload, ts))
		return 0;
	int r = put_payload(a, type, payload, len);
	if (r == 0 && marker && a->in_fu)
		r = -EBADMSG; /* the access unit ends inside a NAL */
	if (r < 0) {
		drop_frame(a, ts);
		return r;
	}
	if (!marker)
		return 0;
	emit(a, f);
	return 1;
}

/* Offset of the next 00 00 01 at or after `from`, or len. */
static size_t find_start(const uint8_t *p, size_t len, size_t from)
{
	size_t i = from;
	while (len >= 3 && i <= len - 3) {
		const uint8_t *q = memchr(p + i + 2, 0x01, len - i - 2);
		if (!q)
			return len;
		size_t j = (size_t)(q - p);
		if (p[j - 1] == 0 && p[j - 2] == 0)
			return j - 2;
		i = j - 1;
	}
	return len;
}

bool h264_annexb_next(const uint8_t *au, size_t len, size_t *pos, size_t *off, size_t *n)
{
	if (!au || !pos || !off || !n)
		return false;
	while (*pos < len) {
		size_t s = find_start(au, len, *pos);
		if (s == len)
			break;
		size_t b = s + 3;
		size_t e = find_start(au, len, b);
		*pos = e;
		while (e > b && au[e - 1] == 0)
			e--;
		if (e > b) {
			*off = b;
			*n = e - b;
			return true;
		}
	}
	*pos = len;
	return false;
}

bool h264_au_is_keyframe(const uint8_t *au, size_t len)
{
	size_t pos = 0, off, n;
	while (h264_annexb_next(au, len, &pos, &off, &n))
		if ((au[off] & NAL_TYPE) == NAL_IDR)
			return true;
	return false;
}

/* Packets for one NAL of n bytes: one if it fits, else FU-A fragments of `room` bytes at most. */
static size_t nal_packets(size_t n, size_t max_payload)
{
	size_t room = max_payload - FU_HDR_LEN;
	return n <= max_payload ? 1 : (n - 1 + room - 1) / room;
}

/* Checks the access unit and counts its packets: the count, or -EINVAL, -EBADMSG, -E2BIG. */
static int count_packets(const uint8_t *au, size_t len, size_t max_payload)
{
	size_t first = find_start(au, len, 0);
	for (size_t i = 0; i < first; i++)
		if (au[i] != 0)
			return -EINVAL; /* not Annex B (length-prefixed?) */
	size_t pos = 0, off, n, count = 0;
	while (h264_annexb_next(au, len, &pos, &off, &n)) {
		if (!nal_hdr_ok(au[off]))
			return -EBADMSG;
		count += nal_packets(n, max_payload);
		if (count > INT_MAX)
			return -E2BIG;
	}
	return count ? (int)count : -EINVAL;
}

/* Emits the FU-A fragments of the NAL at au[off], n bytes; packets left counts down. */
static int emit_fu(const uint8_t *au, size_t off, size_t n, size_t max_payload, int *left,
                   int (*emit_fn)(void *opaque, const uint8_t *prefix, size_t prefix_len,
                                  size_t off, size_t n, bool marker),
                   void *opaque)
{
	size_t k = nal_packets(n, max_payload);
	size_t body = n - 1, base = body / k, extra = body % k; /* first `extra` get one more */
	uint8_t type = au[off] & NAL_TYPE;
	uint8_t pre[FU_HDR_LEN] = {(uint8_t)((au[off] & (NAL_F | NAL_NRI)) | NAL_FU_A), 0};
	size_t at = off + 1;
	for (size_t i = 0; i < k; i++) {
		size_t m = base + (i < extra);
		pre[1] = (uint8_t)((i == 0 ? FU_S : 0) | (i + 1 == k ? FU_E : 0) | type);
		int r = emit_fn(opaque, pre, FU_HDR_LEN, at, m, --*left == 0);
		if (r < 0)
			return r;
		at += m;
	}
	return 0;
}

int h264_packetize_parts(const uint8_t *au, size_t len, size_t max_payload,
                         int (*emit_fn)(void *opaque, const uint8_t *prefix, size_t prefix_len,
                                        size_t off, size_t n, bool marker),
                         void *opaque)
{
	if (!au || !emit_fn || max_payload <= FU_HDR_LEN)
		return -EINVAL;
	if (max_payload > H264_MAX_PKT)
		max_payload = H264_MAX_PKT;
	int count = count_packets(au, len, max_payload);
	if (count < 0)
		return count;
	int left = count;
	size_t pos = 0, off, n;
	while (h264_annexb_next(au, len, &pos, &off, &n)) {
		int r;
		if (n <= max_payload)
			r = emit_fn(opaque, NULL, 0, off, n, --left == 0);
		else
			r = emit_fu(au, off, n, max_payload, &left, emit_fn, opaque);
		if (r < 0)
			return r;
	}
	return count;
}

struct copy_ctx {
	const uint8_t *au;
	int (*emit_fn)(void *opaque, const uint8_t *payload, size_t len, bool marker);
	void *opaque;
	uint8_t pkt[H264_MAX_PKT];
};

static int emit_copy(void *opaque, const uint8_t *prefix, size_t prefix_len, size_t off, size_t n,
                     bool marker)
{
	struct copy_ctx *c = opaque;
	if (prefix_len)
		memcpy(c->pkt, prefix, prefix_len);
	memcpy(c->pkt + prefix_len, c->au + off, n);
	return c->emit_fn(c->opaque, c->pkt, prefix_len + n, marker);
}

int h264_packetize(const uint8_t *au, size_t len, size_t max_payload,
                   int (*emit_fn)(void *opaque, const uint8_t *payload, size_t len, bool marker),
                   void *opaque)
{
	if (!au || !emit_fn)
		return -EINVAL;
	struct copy_ctx c = {.au = au, .emit_fn = emit_fn, .opaque = opaque};
	return h264_packetize_parts(au, len, max_payload, emit_copy, &c);
}
