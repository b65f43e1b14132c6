/*
 * rtcp.c - RTCP compound packet parser and builders: SR/RR/SDES/BYE (RFC 3550 6.4-6.6),
 * generic NACK and PLI (RFC 4585 6.2.1, 6.3.1), FIR (RFC 5104 4.3.1), REMB
 * (draft-alvestrand-rmcat-remb-03 2.2); transport-wide CC feedback (RTPFB FMT 15) is delivered
 * with its FCI undecoded (rtp/twcc.h decodes it).
 *
 * The parser frames each packet of the compound by its length field (RFC 3550 6.4.1), then
 * decodes the body through one bounded cursor with explicit big-endian reads. A framing error
 * (short header, version != 2, length past the end) stops the walk; a packet whose framing is
 * sound but whose body is inconsistent (RC larger than the blocks present, SDES item past the
 * end, ...) is skipped and the walk goes on. Every loop advances, so time is linear.
 *
 * Pure functions, any thread, no allocation; items alias the caller's buffer (NACK and TWCC FCI).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "mcu/cursor.h"
#include "rtp/rtcp.h"

#define PT_SR    200
#define PT_RR    201
#define PT_SDES  202
#define PT_BYE   203
#define PT_RTPFB 205
#define PT_PSFB  206

#define RTCP_REPORT_LEN      24
#define RTCP_NTP_UNIX_OFFSET 2208988800LL /* seconds from 1900 to 1970 (RFC 868) */
#define REMB_MANTISSA_MAX    0x3ffff      /* 18 bits */

/* One packet of a compound, framed by its header (RFC 3550 6.4.1). */
struct rtcp_pkt {
	uint8_t count; /* RC, SC or FMT */
	uint8_t pt;
	bool padding;
	struct cur body; /* after the 4-byte header; the 32-bit alignment is the packet's */
};

/* Frames the next packet of a compound. Returns 0, or -EBADMSG if the framing is broken. */
static int next_packet(struct cur *c, struct rtcp_pkt *pk)
{
	if (cur_left(c) < 4)
		return -EBADMSG;
	uint8_t b0 = cur_u8(c);
	if (b0 >> 6 != 2)
		return -EBADMSG;
	pk->padding = b0 & 0x20;
	pk->count = b0 & 0x1f;
	pk->pt = cur_u8(c);
	size_t body_len = (size_t)cur_u16(c) * 4;
	if (body_len > cur_left(c))
		return -EBADMSG;
	pk->body = (struct cur){c->p + c->off, body_len, 0};
	c->off += body_len;
	return 0;
}

/* RFC 3550 6.4.1 P bit: the last octet of the packet counts the padding octets. */
static int strip_padding(struct rtcp_pkt *pk)
{
	if (!pk->padding)
		return 0;
	if (pk->body.len == 0)
		return -EBADMSG;
	size_t pad = pk->body.p[pk->body.len - 1];
	if (pad == 0 || pad > pk->body.len)
		return -EBADMSG;
	pk->body.len -= pad;
	return 0;
}

/* RFC 3550 6.4.1 report block; the cumulative loss is a signed 24-bit number. */
static void read_report(struct cur *c, struct rtcp_report *r)
{
	r->ssrc = cur_u32(c);
	r->fraction_lost = cur_u8(c);
	r->cumulative_lost = (int32_t)(cur_u24(c) ^ 0x800000) - 0x800000;
	r->ext_highest_seq = cur_u32(c);
	r->jitter = cur_u32(c);
	r->lsr = cur_u32(c);
	r->dlsr = cur_u32(c);
}

static void read_reports(struct cur *c, int n, struct rtcp_item *it)
{
	it->n_reports = n;
	for (int i = 0; i < n; i++)
		read_report(c, &it->reports[i]);
}

/* RFC 3550 6.4.1: sender info, RC report blocks, then profile extensions (skipped). */
static int parse_sr(const struct rtcp_pkt *pk, struct cur *b, struct rtcp_item *it)
{
	if (cur_left(b) < 24 + (size_t)pk->count * RTCP_REPORT_LEN)
		return -EBADMSG;
	it->kind = RTCP_SR;
	it->sender_ssrc = cur_u32(b);
	it->ntp = (uint64_t)cur_u32(b) << 32;
	it->ntp |= cur_u32(b);
	it->rtp_ts = cur_u32(b);
	it->packet_count = cur_u32(b);
	it->octet_count = cur_u32(b);
	read_reports(b, pk->count, it);
	return 1;
}

/* RFC 3550 6.4.2: sender SSRC, RC report blocks, then profile extensions (skipped). */
static int parse_rr(const struct rtcp_pkt *pk, struct cur *b, struct rtcp_item *it)
{
	if (cur_left(b) < 4 + (size_t)pk->count * RTCP_REPORT_LEN)
		return -EBADMSG;
	it->kind = RTCP_RR;
	it->sender_ssrc = cur_u32(b);
	read_reports(b, pk->count, it);
	return 1;
}

/* RFC 3550 6.5: items (type, length, text) up to a null type, then pad to 32 bits. */
static int skip_sdes_items(struct cur *b)
{
	while (cur_left(b) > 0) {
		uint8_t type = cur_u8(b);
		if (type == 0) {
			size_t pad = (4 - b->off % 4) % 4;
			if (pad > cur_left(b))
				return -EBADMSG;
			b->off += pad;
			return 0;
		}
		if (cur_left(b) < 1)
			return -EBADMSG;
		size_t n = cur_u8(b);
		if (n > cur_left(b))
			return -EBADMSG;
		b->off += n;
	}
	return -EBADMSG; /* no terminating null item */
}

/* RFC 3550 6.5: SC chunks of SSRC + items. Delivered with the first chunk's SSRC. */
static int parse_sdes(const struct rtcp_pkt *pk, struct cur *b, struct rtcp_item *it)
{
	it->kind = RTCP_SDES;
	for (int i = 0; i < pk->count; i++) {
		if (cur_left(b) < 4)
			return -EBADMSG;
		uint32_t ssrc = cur_u32(b);
		if (i == 0)
			it->sender_ssrc = ssrc;
		if (skip_sdes_items(b) != 0)
			return -EBADMSG;
	}
	return 1;
}

/* RFC 3550 6.6: SC SSRCs, then an optional length-prefixed reason. */
static int parse_bye(const struct rtcp_pkt *pk, struct cur *b, struct rtcp_item *it)
{
	if (cur_left(b) < (size_t)pk->count * 4)
		return -EBADMSG;
	it->kind = RTCP_BYE;
	for (int i = 0; i < pk->count; i++) {
		uint32_t ssrc = cur_u32(b);
		if (i == 0)
			it->sender_ssrc = ssrc;
	}
	if (cur_left(b) > 0 && cur_u8(b) > cur_left(b))
		return -EBADMSG;
	return 1;
}

/* RFC 4585 6.1: common feedback header (sender SSRC, media SSRC). */
static int read_fb_header(struct cur *b, struct rtcp_item *it)
{
	if (cur_left(b) < 8)
		return -EBADMSG;
	it->sender_ssrc = cur_u32(b);
	it->media_ssrc = cur_u32(b);
	return 0;
}

/* RFC 4585 6.2: transport-layer feedback. NACK FCI is kept for rtcp_nack_seqs, TWCC FCI (all
 * of it after the media SSRC, padding stripped) for twcc_parse_fci. */
static int parse_rtpfb(const struct rtcp_pkt *pk, struct cur *b, struct rtcp_item *it)
{
	if (pk->count != 1 && pk->count != 15)
		return 0;
	if (read_fb_header(b, it) != 0)
		return -EBADMSG;
	if (pk->count == 15) { /* draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1 */
		it->kind = RTCP_TWCC;
		it->fci = b->p + b->off;
		it->fci_len = cur_left(b);
		return 1;
	}
	if (cur_left(b) == 0) /* RFC 4585 6.2.1: at least one FCI */
		return -EBADMSG;
	it->kind = RTCP_NACK;
	it->fci = b->p + b->off;
	it->fci_len = cur_left(b) & ~(size_t)3;
	return 1;
}

/* RFC 5104 4.3.1.1: FCI entries of SSRC, seq nr, 3 reserved bytes. */
static int parse_fir(struct cur *b, struct rtcp_item *it)
{
	size_t n = cur_left(b) / 8;
	if (n == 0 || cur_left(b) % 8 != 0)
		return -EBADMSG;
	it->kind = RTCP_FIR;
	it->n_fir = n > RTCP_MAX_FIR ? RTCP_MAX_FIR : (int)n;
	for (int i = 0; i < it->n_fir; i++) {
		it->fir_ssrc[i] = cur_u32(b);
		it->fir_seq[i] = cur_u8(b);
		b->off += 3;
	}
	it->media_ssrc = it->fir_ssrc[0]; /* the header's media SSRC is unused (0) for FIR */
	return 1;
}

/* mantissa << exp, saturating at UINT64_MAX (exp is 6 bits, so up to 63). */
static uint64_t remb_bitrate(uint32_t mantissa, unsigned exp)
{
	if (mantissa == 0)
		return 0;
	if (exp > 46 && (mantissa >> (64 - exp)) != 0)
		return UINT64_MAX;
	return (uint64_t)mantissa << exp;
}

/* draft-alvestrand-rmcat-remb-03 2.2: "REMB", num SSRC, exp 6 + mantissa 18 bits, SSRCs. */
static int parse_remb(struct cur *b, struct rtcp_item *it)
{
	if (cur_left(b) < 8 || memcmp(b->p + b->off, "REMB", 4) != 0)
		return 0; /* another application-layer feedback */
	b->off += 4;
	size_t num = cur_u8(b);
	uint32_t v = cur_u24(b);
	if (num * 4 > cur_left(b))
		return -EBADMSG;
	it->kind = RTCP_REMB;
	it->remb_bps = remb_bitrate(v & REMB_MANTISSA_MAX, v >> 18);
	it->n_remb_ssrcs = num > RTCP_MAX_REMB_SSRCS ? RTCP_MAX_REMB_SSRCS : (int)num;
	for (int i = 0; i < it->n_remb_ssrcs; i++)
		it->remb_ssrcs[i] = cur_u32(b);
	return 1;
}

/* RFC 4585 6.3: payload-specific feedback: PLI (1), FIR (4), application layer (15). */
static int parse_psfb(const struct rtcp_pkt *pk, struct cur *b, struct rtcp_item *it)
{
	if (pk->count != 1 && pk->count != 4 && pk->count != 15)
		return 0;
	if (read_fb_header(b, it) != 0)
		return -EBADMSG;
	if (pk->count == 1) {
		it->kind = RTCP_PLI;
		return 1;
	}
	if (pk->count == 4)
		return parse_fir(b, it);
	return parse_remb(b, it);
}

/* Decodes one framed packet into it. Returns 1 to deliver, 0 to skip, -EBADMSG if malformed. */
static int parse_packet(struct rtcp_pkt *pk, struct rtcp_item *it)
{
	if (strip_padding(pk) != 0)
		return -EBADMSG;
	memset(it, 0, sizeof(*it));
	switch (pk->pt) {
	case PT_SR:
		return parse_sr(pk, &pk->body, it);
	case PT_RR:
		return parse_rr(pk, &pk->body, it);
	case PT_SDES:
		return parse_sdes(pk, &pk->body, it);
	case PT_BYE:
		return parse_bye(pk, &pk->body, it);
	case PT_RTPFB:
		return parse_rtpfb(pk, &pk->body, it);
	case PT_PSFB:
		return parse_psfb(pk, &pk->body, it);
	default: /* APP 204, XR 207 and anything unknown: skipped by length */
		return 0;
	}
}

int rtcp_parse(const uint8_t *buf, size_t len, int (*cb)(void *opaque, const struct rtcp_item *it),
               void *opaque)
{
	if (buf == NULL || len < 4)
		return -EBADMSG;
	struct cur c = {buf, len, 0};
	struct rtcp_item it;
	int delivered = 0;
	bool bad = false;
	while (cur_left(&c) > 0) {
		struct rtcp_pkt pk;
		if (next_packet(&c, &pk) != 0)
			return -EBADMSG;
		int r = parse_packet(&pk, &it);
		if (r < 0)
			bad = true;
		if (r <= 0)
			continue;
		delivered++;
		if (cb != NULL && cb(opaque, &it) != 0)
			break;
	}
	return bad ? -EBADMSG : delivered;
}

/* RFC 4585 6.2.1: each FCI is PID plus a bitmask of the 16 following sequence numbers. */
int rtcp_nack_seqs(const struct rtcp_item *it, uint16_t *out, int max)
{
	int n = 0;
	if (it == NULL || it->kind != RTCP_NACK || it->fci == NULL || out == NULL)
		return 0;
	for (size_t i = 0; i + 4 <= it->fci_len; i += 4) {
		const uint8_t *f = it->fci + i;
		uint16_t pid = (uint16_t)(f[0] << 8 | f[1]);
		uint16_t blp = (uint16_t)(f[2] << 8 | f[3]);
		if (n >= max)
			return n;
		out[n++] = pid;
		for (int bit = 0; bit < 16 && n < max; bit++)
			if (blp & (1u << bit))
				out[n++] = (uint16_t)(pid + bit + 1);
	}
	return n;
}

/* ---- builders ---- */

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

/* RFC 3550 6.4.1 common header; total is the packet length in bytes (a multiple of 4). */
static void put_header(uint8_t *p, int count, int pt, size_t total)
{
	p[0] = (uint8_t)(0x80 | (count & 0x1f));
	p[1] = (uint8_t)pt;
	put16(p + 2, (uint16_t)(total / 4 - 1));
}

/* RFC 3550 6.4.1 report block; cumulative loss clamped to the signed 24-bit range. */
static void put_report(uint8_t *p, const struct rtcp_report *r)
{
	int32_t cl = r->cumulative_lost;
	cl = cl > 0x7fffff ? 0x7fffff : cl < -0x800000 ? -0x800000 : cl;
	put32(p, r->ssrc);
	put32(p + 4, (uint32_t)r->fraction_lost << 24 | ((uint32_t)cl & 0xffffff));
	put32(p + 8, r->ext_highest_seq);
	put32(p + 12, r->jitter);
	put32(p + 16, r->lsr);
	put32(p + 20, r->dlsr);
}

static void put_reports(uint8_t *p, const struct rtcp_report *rep, int n)
{
	for (int i = 0; i < n; i++)
		put_report(p + (size_t)i * RTCP_REPORT_LEN, &rep[i]);
}

int rtcp_write_sr(uint8_t *buf, size_t cap, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts,
                  uint32_t packets, uint32_t octets, const struct rtcp_report *rep, int n)
{
	if (n < 0 || n > RTCP_MAX_REPORTS || (n > 0 && rep == NULL))
		return -EINVAL;
	size_t total = 28 + (size_t)n * RTCP_REPORT_LEN;
	if (cap < total)
		return -ENOSPC;
	put_header(buf, n, PT_SR, total);
	put32(buf + 4, ssrc);
	put32(buf + 8, (uint32_t)(ntp >> 32));
	put32(buf + 12, (uint32_t)ntp);
	put32(buf + 16, rtp_ts);
	put32(buf + 20, packets);
	put32(buf + 24, octets);
	put_reports(buf + 28, rep, n);
	return (int)total;
}

int rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t ssrc, const struct rtcp_report *rep, int n)
{
	if (n < 0 || n > RTCP_MAX_REPORTS || (n > 0 && rep == NULL))
		return -EINVAL;
	size_t total = 8 + (size_t)n * RTCP_REPORT_LEN;
	if (cap < total)
		return -ENOSPC;
	put_header(buf, n, PT_RR, total);
	put32(buf + 4, ssrc);
	put_reports(buf + 8, rep, n);
	return (int)total;
}

/* RFC 3550 6.5: one chunk with a CNAME item, null-terminated and padded to 32 bits. */
int rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname)
{
	if (cname == NULL)
		return -EINVAL;
	size_t clen = strnlen(cname, 256);
	if (clen > 255)
		return -EINVAL;
	size_t chunk = (4 + 2 + clen + 1 + 3) & ~(size_t)3;
	size_t total = 4 + chunk;
	if (cap < total)
		return -ENOSPC;
	memset(buf, 0, total);
	put_header(buf, 1, PT_SDES, total);
	put32(buf + 4, ssrc);
	buf[8] = 1; /* CNAME */
	buf[9] = (uint8_t)clen;
	memcpy(buf + 10, cname, clen);
	return (int)total;
}

/* RFC 4585 6.1 common feedback header. */
static void put_fb(uint8_t *p, int fmt, int pt, size_t total, uint32_t sender, uint32_t media)
{
	put_header(p, fmt, pt, total);
	put32(p + 4, sender);
	put32(p + 8, media);
}

/* RFC 4585 6.3.1: PLI has no FCI. */
int rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender, uint32_t media)
{
	if (cap < 12)
		return -ENOSPC;
	put_fb(buf, 1, PT_PSFB, 12, sender, media);
	return 12;
}

/* RFC 5104 4.3.1: media SSRC in the header is 0; the target goes in the FCI. */
int rtcp_write_fir(uint8_t *buf, size_t cap, uint32_t sender, uint32_t media, uint8_t seq)
{
	if (cap < 20)
		return -ENOSPC;
	put_fb(buf, 4, PT_PSFB, 20, sender, 0);
	put32(buf + 12, media);
	buf[16] = seq;
	buf[17] = buf[18] = buf[19] = 0;
	return 20;
}

/* Accumulates NACK FCI pairs (RFC 4585 6.2.1) into a bounded output. */
struct nack_acc {
	uint8_t *fci;
	size_t max_pairs, n_pairs;
	bool open;
	uint16_t pid, blp;
};

static int nack_flush(struct nack_acc *a)
{
	if (!a->open)
		return 0;
	if (a->n_pairs >= a->max_pairs)
		return -ENOSPC;
	put16(a->fci + a->n_pairs * 4, a->pid);
	put16(a->fci + a->n_pairs * 4 + 2, a->blp);
	a->n_pairs++;
	a->open = false;
	return 0;
}

static int nack_add(struct nack_acc *a, uint16_t s)
{
	uint16_t d = (uint16_t)(s - a->pid);
	if (a->open && d >= 1 && d <= 16) {
		a->blp |= (uint16_t)(1u << (d - 1));
		return 0;
	}
	if (nack_flush(a) != 0)
		return -ENOSPC;
	a->open = true;
	a->pid = s;
	a->blp = 0;
	return 0;
}

/* The oldest sequence number of the set in RFC 3550 A.1 serial order (used as walk start). */
static uint16_t nack_oldest(const uint16_t *seqs, int n)
{
	uint16_t o = seqs[0];
	for (int i = 1; i < n; i++)
		if (seqs[i] != o && (uint16_t)(o - seqs[i]) < 0x8000)
			o = seqs[i];
	return o;
}

/* Sorted, deduplicated walk of a 2^16-bit set starting at `start`, skipping empty words. */
static int nack_walk(struct nack_acc *a, const uint64_t *bits, uint16_t start)
{
	for (uint32_t k = 0; k < 65536;) {
		uint16_t s = (uint16_t)(start + k);
		if ((s & 63) == 0 && k + 64 <= 65536 && bits[s >> 6] == 0) {
			k += 64;
			continue;
		}
		k++;
		if (((bits[s >> 6] >> (s & 63)) & 1) && nack_add(a, s) != 0)
			return -ENOSPC;
	}
	return nack_flush(a);
}

int rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender, uint32_t media, const uint16_t *seqs,
                    int n)
{
	uint64_t bits[65536 / 64] = {0};
	if (n <= 0 || seqs == NULL)
		return -EINVAL;
	if (cap < 16)
		return -ENOSPC;
	for (int i = 0; i < n; i++)
		bits[seqs[i] >> 6] |= (uint64_t)1 << (seqs[i] & 63);
	size_t room = cap - 12 > 4 * 65535 ? 4 * 65535 : cap - 12;
	struct nack_acc a = {.fci = buf + 12, .max_pairs = room / 4};
	if (nack_walk(&a, bits, nack_oldest(seqs, n)) != 0)
		return -ENOSPC;
	size_t total = 12 + a.n_pairs * 4;
	put_fb(buf, 1, PT_RTPFB, total, sender, media);
	return (int)total;
}

/* draft-alvestrand-rmcat-remb-03 2.2: smallest exponent whose mantissa fits in 18 bits. */
int rtcp_write_remb(uint8_t *buf, size_t cap, uint32_t sender, uint64_t bps, const uint32_t *ssrcs,
                    int n)
{
	if (n < 0 || n > 255 || (n > 0 && ssrcs == NULL))
		return -EINVAL;
	size_t total = 20 + (size_t)n * 4;
	if (cap < total)
		return -ENOSPC;
	unsigned exp = 0;
	while ((bps >> exp) > REMB_MANTISSA_MAX)
		exp++;
	put_fb(buf, 15, PT_PSFB, total, sender, 0);
	memcpy(buf + 12, "REMB", 4);
	buf[16] = (uint8_t)n;
	uint32_t v = (uint32_t)exp << 18 | (uint32_t)(bps >> exp);
	buf[17] = (uint8_t)(v >> 16);
	put16(buf + 18, (uint16_t)v);
	for (int i = 0; i < n; i++)
		put32(buf + 20 + (size_t)i * 4, ssrcs[i]);
	return (int)total;
}

/* RFC 3550 4: 32.32 fixed point seconds since 1900-01-01 (the top bits wrap per NTP era). */
uint64_t rtcp_ntp_from_us(int64_t unix_us)
{
	int64_t sec = unix_us / 1000000, rem = unix_us % 1000000;
	if (rem < 0) {
		rem += 1000000;
		sec--;
	}
	uint64_t s = (uint64_t)(sec + RTCP_NTP_UNIX_OFFSET);
	uint64_t frac = ((uint64_t)rem << 32) / 1000000;
	return s << 32 | frac;
}
