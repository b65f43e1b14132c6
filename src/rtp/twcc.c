/*
 * twcc.c - transport-wide congestion control feedback
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1): the receiver's recorder and
 * feedback writer, and the sender's FCI parser.
 *
 * twcc_recv keeps the arrival times of a window of TWCC_RECV_WINDOW sequence numbers in a ring
 * indexed by the unwrapped sequence number modulo the window, and a bitmap of the same slots
 * saying which hold a received, unreported packet. Pending (unreported) statuses are
 * [base, end): end is one past the newest packet, base the first not yet reported; a bit is
 * set only inside [base, end), so a slot of an older lap never counts. A forward jump moves
 * base up to keep end - base <= TWCC_RECV_WINDOW, counting and clearing the bits it passes a
 * 64-bit word at a time (at most TWCC_RECV_WINDOW / 64 + 1 words, whatever the jump).
 *
 * The feedback writer follows libwebrtc's chunk choice (one "last chunk" of up to 14 symbols
 * that becomes a run length, a one-bit or a two-bit status vector), trying each status against
 * the size limit with a copy of the encoder so it can stop at the last one that fits.
 * Chunks and deltas go to scratch arrays in the twcc_recv, then into the caller's buffer.
 *
 * The FCI parser reads through one bounded cursor: chunks until the status count is reached,
 * then one delta per received status. Every chunk adds at most 8191 statuses and the count is
 * at most TWCC_MAX_PKTS, so time is linear in min(len, count).
 *
 * twcc_recv: single-threaded, owns its memory. twcc_parse_fci: pure, any thread.
 */
#include "rtp/twcc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcu/cursor.h"

#define WINDOW_MASK    (TWCC_RECV_WINDOW - 1)
#define SEQ_ORIGIN     ((int64_t)1 << 32) /* unwrapped numbers start here: never negative */
#define REF_UNIT_US    64000
#define DELTA_UNIT_US  250
#define FB_HDR_LEN     20 /* RTCP header, sender SSRC, media SSRC, base, count, ref, fb count */
#define FCI_HDR_LEN    8
#define PT_RTPFB       205
#define FMT_TWCC       15
#define MAX_RUN        0x1fff /* 13-bit run length */
#define ONE_BIT_CAP    14
#define TWO_BIT_CAP    7
#define MAX_CHUNKS     TWCC_MAX_PKTS
#define MAX_DELTA_SIZE (2 * TWCC_MAX_PKTS)

_Static_assert((TWCC_RECV_WINDOW & WINDOW_MASK) == 0, "window: a power of two");

/* Status symbols (3.1.1); the value is also the receive delta's size in bytes. */
enum sym { SYM_NONE = 0, SYM_SMALL = 1, SYM_LARGE = 2, SYM_RESERVED = 3 };

struct twcc_recv {
	bool started;
	bool base_fixed; /* a feedback was built or packets were evicted: base never goes back */
	uint8_t fb_count;
	int64_t base, end; /* pending statuses [base, end), unwrapped */
	struct twcc_recv_stats st;
	uint64_t bits[TWCC_RECV_WINDOW / 64]; /* received and pending, by slot */
	int64_t arrival_us[TWCC_RECV_WINDOW];
	uint16_t chunks[MAX_CHUNKS];    /* scratch for twcc_recv_build */
	uint8_t deltas[MAX_DELTA_SIZE]; /* scratch for twcc_recv_build */
};

int twcc_recv_alloc(struct twcc_recv **out)
{
	if (!out)
		return -EINVAL;
	struct twcc_recv *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*out = r;
	return 0;
}

void twcc_recv_free(struct twcc_recv **r)
{
	if (!r || !*r)
		return;
	free(*r);
	*r = NULL;
}

/* True if s (in [base, end)) was received. */
static bool received(const struct twcc_recv *r, int64_t s)
{
	int i = (int)(s & WINDOW_MASK);
	return r->bits[i >> 6] >> (i & 63) & 1;
}

static void mark(struct twcc_recv *r, int64_t s)
{
	int i = (int)(s & WINDOW_MASK);
	r->bits[i >> 6] |= (uint64_t)1 << (i & 63);
}

/* Counts and clears the bits of [from, to) (to - from <= window), a word at a time. */
static int64_t take_range(struct twcc_recv *r, int64_t from, int64_t to)
{
	int64_t n = 0;
	while (from < to) {
		int i = (int)(from & WINDOW_MASK), b = i & 63;
		int64_t span = to - from < 64 - b ? to - from : 64 - b;
		uint64_t m = (span == 64 ? ~(uint64_t)0 : ((uint64_t)1 << span) - 1) << b;
		n += __builtin_popcountll(r->bits[i >> 6] & m);
		r->bits[i >> 6] &= ~m;
		from += span;
	}
	return n;
}

/* Moves base up to nb, counting the received packets it passes as evicted. */
static void evict_to(struct twcc_recv *r, int64_t nb)
{
	r->st.evicted += (uint64_t)take_range(r, r->base, nb < r->end ? nb : r->end);
	r->base = nb;
	r->base_fixed = true;
}

/* Decides whether packet s may be recorded, moving the window for it. */
static bool admit(struct twcc_recv *r, int64_t s)
{
	if (s >= r->end) {
		if (s + 1 - r->base > TWCC_RECV_WINDOW)
			evict_to(r, s + 1 - TWCC_RECV_WINDOW);
		r->end = s + 1;
		return true;
	}
	if (s >= r->base)
		return true;
	if (r->base_fixed || r->end - s > TWCC_RECV_WINDOW) {
		r->st.late++;
		return false;
	}
	r->base = s; /* before the first feedback: it starts with the oldest packet */
	return true;
}

void twcc_recv_on_packet(struct twcc_recv *r, uint16_t seq, int64_t arrival_us)
{
	if (!r)
		return;
	r->st.packets++;
	int64_t s;
	if (!r->started) {
		r->started = true;
		s = SEQ_ORIGIN + seq;
		r->base = r->end = s;
	} else {
		uint16_t newest = (uint16_t)(r->end - 1);
		s = r->end - 1 + (int16_t)(uint16_t)(seq - newest);
	}
	if (!admit(r, s))
		return;
	if (received(r, s)) {
		r->st.duplicates++;
		return;
	}
	mark(r, s);
	r->arrival_us[s & WINDOW_MASK] = arrival_us;
}

int twcc_recv_pending(const struct twcc_recv *r)
{
	return r && r->started ? (int)(r->end - r->base) : 0;
}

void twcc_recv_get_stats(const struct twcc_recv *r, struct twcc_recv_stats *out)
{
	if (r && out)
		*out = r->st;
}

/* ---- feedback writer ---- */

/* libwebrtc's LastChunk: statuses not yet emitted as a chunk. */
struct last_chunk {
	uint8_t sym[ONE_BIT_CAP];
	int size;
	bool all_same, has_large;
};

struct enc {
	struct last_chunk last;
	int n_chunks;    /* emitted into twcc_recv.chunks */
	int n_delta;     /* bytes in twcc_recv.deltas */
	int count;       /* statuses added */
	int64_t last_us; /* reference time + deltas so far */
};

static void chunk_reset(struct last_chunk *c)
{
	c->size = 0;
	c->all_same = true;
	c->has_large = false;
}

static bool chunk_can_add(const struct last_chunk *c, enum sym s)
{
	if (c->size < TWO_BIT_CAP)
		return true;
	if (c->size < ONE_BIT_CAP && !c->has_large && s != SYM_LARGE)
		return true;
	return c->size < MAX_RUN && c->all_same && c->sym[0] == s;
}

static void chunk_add(struct last_chunk *c, enum sym s)
{
	if (c->size < ONE_BIT_CAP)
		c->sym[c->size] = (uint8_t)s;
	c->size++;
	c->all_same = c->all_same && c->sym[0] == s;
	c->has_large = c->has_large || s == SYM_LARGE;
}

/* 3.1.3: T=0, S (2 bits), run length (13 bits). */
static uint16_t encode_run(const struct last_chunk *c)
{
	return (uint16_t)(c->sym[0] << 13 | c->size);
}

/* 3.1.4: T=1, S=0, fourteen one-bit symbols (0 not received, 1 small delta). */
static uint16_t encode_one_bit(const struct last_chunk *c)
{
	uint16_t v = 0x8000;
	for (int i = 0; i < c->size; i++)
		v |= (uint16_t)((c->sym[i] ? 1 : 0) << (ONE_BIT_CAP - 1 - i));
	return v;
}

/* 3.1.4: T=1, S=1, seven two-bit symbols, the first n taken from c. */
static uint16_t encode_two_bit(const struct last_chunk *c, int n)
{
	uint16_t v = 0xc000;
	for (int i = 0; i < n; i++)
		v |= (uint16_t)(c->sym[i] << 2 * (TWO_BIT_CAP - 1 - i));
	return v;
}

/* Emits a full chunk (called when the next status cannot be added; size >= 7). */
static uint16_t chunk_emit(struct last_chunk *c)
{
	uint16_t v;
	if (c->all_same) {
		v = encode_run(c);
		chunk_reset(c);
		return v;
	}
	if (c->size == ONE_BIT_CAP) {
		v = encode_one_bit(c);
		chunk_reset(c);
		return v;
	}
	v = encode_two_bit(c, TWO_BIT_CAP);
	struct last_chunk rest;
	chunk_reset(&rest);
	for (int i = TWO_BIT_CAP; i < c->size; i++)
		chunk_add(&rest, (enum sym)c->sym[i]);
	*c = rest;
	return v;
}

/* The chunk that ends a feedback. */
static uint16_t chunk_encode_last(const struct last_chunk *c)
{
	if (c->all_same)
		return encode_run(c);
	if (c->size <= TWO_BIT_CAP)
		return encode_two_bit(c, c->size);
	return encode_one_bit(c);
}

static size_t enc_size(const struct enc *e)
{
	size_t n =
	    FB_HDR_LEN + 2 * (size_t)e->n_chunks + (e->last.size ? 2 : 0) + (size_t)e->n_delta;
	return (n + 3) & ~(size_t)3;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Adds status s (its delta in r->deltas if received). Returns false if its delta cannot fit. */
static bool enc_add(struct twcc_recv *r, struct enc *e, int64_t s)
{
	enum sym sym = SYM_NONE;
	int64_t ticks = 0;
	if (received(r, s)) {
		ticks = floor_div(r->arrival_us[s & WINDOW_MASK] - e->last_us, DELTA_UNIT_US);
		if (ticks < INT16_MIN || ticks > INT16_MAX)
			return false;
		sym = ticks >= 0 && ticks <= UINT8_MAX ? SYM_SMALL : SYM_LARGE;
	}
	if (!chunk_can_add(&e->last, sym))
		r->chunks[e->n_chunks++] = chunk_emit(&e->last);
	chunk_add(&e->last, sym);
	if (sym == SYM_LARGE)
		r->deltas[e->n_delta++] = (uint8_t)((uint16_t)ticks >> 8);
	if (sym != SYM_NONE)
		r->deltas[e->n_delta++] = (uint8_t)ticks;
	e->last_us += ticks * DELTA_UNIT_US;
	e->count++;
	return true;
}

/* The first received packet's arrival, in 64 ms units (there is one in [base, end)). */
static int64_t ref_ticks(const struct twcc_recv *r)
{
	for (int64_t s = r->base; s < r->end; s++)
		if (received(r, s))
			return floor_div(r->arrival_us[s & WINDOW_MASK], REF_UNIT_US);
	return 0;
}

/* Encodes as many pending statuses as fit in cap bytes. */
static struct enc encode(struct twcc_recv *r, int64_t ref, size_t cap)
{
	struct enc e = {.last_us = ref * REF_UNIT_US};
	chunk_reset(&e.last);
	for (int64_t s = r->base; s < r->end && e.count < TWCC_MAX_PKTS; s++) {
		struct enc save = e;
		if (!enc_add(r, &e, s) || enc_size(&e) > cap) {
			e = save;
			break;
		}
	}
	return e;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void write_fb(struct twcc_recv *r, const struct enc *e, int64_t ref, uint32_t sender,
                     uint32_t media, uint8_t *buf, size_t len)
{
	memset(buf, 0, len);
	buf[0] = 0x80 | FMT_TWCC;
	buf[1] = PT_RTPFB;
	put16(buf + 2, (uint16_t)(len / 4 - 1));
	put32(buf + 4, sender);
	put32(buf + 8, media);
	put16(buf + 12, (uint16_t)r->base);
	put16(buf + 14, (uint16_t)e->count);
	put32(buf + 16, (uint32_t)ref << 8 | r->fb_count);
	uint8_t *p = buf + FB_HDR_LEN;
	for (int i = 0; i < e->n_chunks; i++, p += 2)
		put16(p, r->chunks[i]);
	if (e->last.size) {
		put16(p, chunk_encode_last(&e->last));
		p += 2;
	}
	memcpy(p, r->deltas, (size_t)e->n_delta);
}

/* Marks the covered statuses reported. */
static void consume(struct twcc_recv *r, int count)
{
	take_range(r, r->base, r->base + count);
	r->base += count;
	r->base_fixed = true;
	r->fb_count++;
	r->st.feedbacks++;
}

int twcc_recv_build(struct twcc_recv *r, uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t *buf,
                    size_t cap)
{
	if (!r || !buf)
		return -EINVAL;
	if (twcc_recv_pending(r) == 0)
		return 0;
	int64_t ref = ref_ticks(r);
	struct enc e = encode(r, ref, cap);
	if (e.count == 0)
		return -ENOSPC;
	size_t len = enc_size(&e);
	write_fb(r, &e, ref & 0xffffff, sender_ssrc, media_ssrc, buf, len);
	consume(r, e.count);
	return (int)len;
}

/* ---- feedback parser ---- */

/* Appends up to n symbols of one chunk to the statuses; false on a reserved symbol. */
static bool decode_chunk(uint16_t v, struct twcc_fb *fb, int n)
{
	if (!(v & 0x8000)) { /* run length */
		enum sym s = (enum sym)(v >> 13 & 3);
		int run = v & MAX_RUN;
		if (s == SYM_RESERVED)
			return false;
		for (int i = 0; i < run && i < n; i++)
			fb->pkts[fb->count++].arrival_us = s;
		return true;
	}
	bool two = v & 0x4000;
	int cap = two ? TWO_BIT_CAP : ONE_BIT_CAP;
	for (int i = 0; i < cap && i < n; i++) {
		int s = two ? v >> 2 * (TWO_BIT_CAP - 1 - i) & 3 : v >> (ONE_BIT_CAP - 1 - i) & 1;
		if (s == SYM_RESERVED)
			return false;
		fb->pkts[fb->count++].arrival_us = s;
	}
	return true;
}

/* Reads the status chunks; each status's symbol is parked in its arrival_us. */
static int read_chunks(struct cur *c, int status_count, struct twcc_fb *fb)
{
	while (fb->count < status_count) {
		if (cur_left(c) < 2)
			return -EBADMSG;
		if (!decode_chunk(cur_u16(c), fb, status_count - fb->count))
			return -EBADMSG;
	}
	return 0;
}

/* Reads one delta per received status and turns symbols into arrival times. */
static int read_deltas(struct cur *c, struct twcc_fb *fb)
{
	int64_t t = fb->ref_us;
	for (int i = 0; i < fb->count; i++) {
		struct twcc_pkt *p = &fb->pkts[i];
		int64_t s = p->arrival_us;
		p->seq = (uint16_t)(fb->base_seq + i);
		p->received = s != SYM_NONE;
		p->arrival_us = 0;
		if (s == SYM_NONE)
			continue;
		if (cur_left(c) < (size_t)s)
			return -EBADMSG;
		int64_t d = s == SYM_SMALL ? cur_u8(c) : (int16_t)cur_u16(c);
		t += d * DELTA_UNIT_US;
		p->arrival_us = t;
	}
	return 0;
}

int twcc_parse_fci(const uint8_t *fci, size_t len, struct twcc_fb *out)
{
	if (!fci || !out || len < FCI_HDR_LEN)
		return -EBADMSG;
	struct cur c = {fci, len, 0};
	out->base_seq = cur_u16(&c);
	int status_count = cur_u16(&c);
	int32_t ref = (int32_t)(cur_u24(&c) ^ 0x800000) - 0x800000;
	out->ref_us = (int64_t)ref * REF_UNIT_US;
	out->fb_count = cur_u8(&c);
	out->count = 0;
	if (status_count == 0 || status_count > TWCC_MAX_PKTS)
		return -EBADMSG;
	if (read_chunks(&c, status_count, out) != 0)
		return -EBADMSG;
	return read_deltas(&c, out);
}
