/*
 * reorder.c - per-stream reorder buffer: a ring of packet copies indexed by the extended
 * (unwrapped, RFC 3550 A.1) sequence number, with `next` the next sequence to release.
 *
 * The ring has 2*cap slots (rounded up to 64) so that a packet up to 2*cap ahead can be stored
 * while the window (cap) is exceeded; pop then gives up on the oldest gap at once. A gap is
 * otherwise skipped when the packet that has waited longest behind it is max_wait_us old.
 * A jump further than the ring resets the buffer (held packets dropped, the jump counted as
 * lost) in O(ring/64). A packet far behind (more than max(cap, 3000)) twice in sequence is
 * taken as a sender restart and resynchronises (RFC 3550 A.1 bad_seq). Held slots are found
 * with a bitmap, so no loop runs per missing packet.
 *
 * Memory follows what is held, not the ring: a slot is a small header; the packet copies live in
 * 1500-byte buffers taken when a packet is stored and given back when it has been released (the
 * one popped last is lent to the caller until the next call). Up to REORDER_SPARE free buffers
 * are kept for reuse, so a stream arriving in order cycles through one or two buffers with no
 * allocation per packet; buffers beyond that (a burst of reordering or loss) are freed as soon
 * as they are released. Before, every stream held a ring of 1500-byte slots (1.5 MiB for video)
 * that in-order traffic touched in full within seconds.
 * One per inbound stream, single-threaded; owns its packet copies.
 */
#include "rtp/reorder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define REORDER_MAX_PKT 1500
#define REORDER_BASE    (1ull << 40) /* extended seq of the first packet: never underflows */
#define REORDER_DROPOUT 3000         /* RFC 3550 A.1 MAX_DROPOUT */
#define REORDER_NO_BAD  0x10000u
#define REORDER_SPARE   4 /* free buffers kept for reuse */

struct slot {
	uint64_t ext;
	int64_t arrival;
	uint16_t len;
	uint8_t *data; /* REORDER_MAX_PKT bytes while held */
};

struct reorder {
	int cap; /* window: at most cap sequence numbers from next to highest */
	int64_t max_wait_us;
	size_t ring; /* slots, a multiple of 64, >= 2 * cap */
	struct slot *slots;
	uint64_t *held; /* bitmap over slots: set = slot holds a packet */
	int count;      /* packets held; all in [next, next + ring) */
	bool started;
	uint64_t next;    /* next extended seq to release */
	uint64_t highest; /* highest extended seq held or released; >= next - 1 */
	int64_t oldest;   /* earliest arrival among held packets, if oldest_valid */
	bool oldest_valid;
	int pending_lost; /* skipped since the last release, reported with the next one */
	uint32_t bad_seq; /* RFC 3550 A.1 resync candidate, REORDER_NO_BAD if none */
	uint8_t *lent; /* the buffer of the packet popped last, the caller's until the next call */
	int64_t lent_arrival; /* ... and the time it was pushed */
	uint8_t *spare[REORDER_SPARE];
	int nspare;
	struct reorder_stats st;
};

void reorder_set_wait(struct reorder *r, int64_t max_wait_us)
{
	if (r && max_wait_us >= 0)
		r->max_wait_us = max_wait_us;
}

int reorder_alloc(struct reorder **out, int cap, int64_t max_wait_us)
{
	if (!out || cap < 2 || cap > 4096 || max_wait_us < 0)
		return -EINVAL;
	struct reorder *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cap = cap;
	r->max_wait_us = max_wait_us;
	r->ring = ((size_t)cap * 2 + 63) / 64 * 64;
	r->slots = calloc(r->ring, sizeof(*r->slots));
	r->held = calloc(r->ring / 64, sizeof(*r->held));
	r->bad_seq = REORDER_NO_BAD;
	if (!r->slots || !r->held) {
		reorder_free(&r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

/* A buffer for a packet to store: a spare one, or a new one. NULL on OOM. */
static uint8_t *take_buf(struct reorder *r)
{
	if (r->nspare)
		return r->spare[--r->nspare];
	uint8_t *b = malloc(REORDER_MAX_PKT);
	if (b)
		r->st.buffers_allocated++;
	return b;
}

/* Gives a buffer back: kept as a spare if there is room, else freed. */
static void give_buf(struct reorder *r, uint8_t *b)
{
	if (!b)
		return;
	if (r->nspare < REORDER_SPARE)
		r->spare[r->nspare++] = b;
	else
		free(b);
}

/* The caller is done with the packet popped last. */
static void take_back_lent(struct reorder *r)
{
	give_buf(r, r->lent);
	r->lent = NULL;
}

/* Gives back the buffers of every held packet (the bitmap is cleared by the caller). */
static void release_held(struct reorder *r)
{
	for (size_t w = 0; w < r->ring / 64; w++) {
		for (uint64_t bits = r->held[w]; bits; bits &= bits - 1) {
			struct slot *s = &r->slots[w * 64 + (size_t)__builtin_ctzll(bits)];
			give_buf(r, s->data);
			s->data = NULL;
		}
	}
}

void reorder_free(struct reorder **r)
{
	if (!r || !*r)
		return;
	if ((*r)->held && (*r)->slots)
		release_held(*r);
	take_back_lent(*r);
	for (int i = 0; i < (*r)->nspare; i++)
		free((*r)->spare[i]);
	free((*r)->slots);
	free((*r)->held);
	free(*r);
	*r = NULL;
}

void reorder_get_stats(const struct reorder *r, struct reorder_stats *st)
{
	if (r && st)
		*st = r->st;
}

static bool is_held(const struct reorder *r, uint64_t ext)
{
	size_t i = ext % r->ring;
	return (r->held[i / 64] >> (i % 64)) & 1;
}

static void set_held(struct reorder *r, uint64_t ext, bool on)
{
	size_t i = ext % r->ring;
	if (on)
		r->held[i / 64] |= 1ull << (i % 64);
	else
		r->held[i / 64] &= ~(1ull << (i % 64));
}

/* RFC 3550 A.1-style unwrap of a 16-bit seq to the extended seq nearest `ref`. */
static uint64_t unwrap(uint16_t seq, uint64_t ref)
{
	uint16_t d = (uint16_t)(seq - (uint16_t)ref);
	return d < 0x8000 ? ref + d : ref - (0x10000u - d);
}

/* First held extended seq at or after next (count > 0). Word-wise over the bitmap. */
static uint64_t first_held(const struct reorder *r)
{
	uint64_t e = r->next;
	for (;;) {
		size_t i = e % r->ring;
		uint64_t w = r->held[i / 64] >> (i % 64);
		if (w)
			return e + (uint64_t)__builtin_ctzll(w);
		e += 64 - i % 64;
	}
}

/* Earliest arrival among held packets (count > 0), recomputed only after it was released. */
static int64_t oldest_arrival(struct reorder *r)
{
	if (r->oldest_valid)
		return r->oldest;
	bool any = false;
	for (size_t w = 0; w < r->ring / 64; w++) {
		for (uint64_t bits = r->held[w]; bits; bits &= bits - 1) {
			const struct slot *s = &r->slots[w * 64 + (size_t)__builtin_ctzll(bits)];
			if (!any || s->arrival < r->oldest)
				r->oldest = s->arrival;
			any = true;
		}
	}
	r->oldest_valid = any;
	return r->oldest;
}

/*
 * Drops everything held and restarts at ext. `skipped` sequence numbers (held ones included)
 * are reported with the next release; those never received count as lost.
 */
static void reset_at(struct reorder *r, uint64_t ext, uint64_t skipped)
{
	r->st.overflow += (uint64_t)r->count;
	if (skipped)
		r->st.lost += skipped - (uint64_t)r->count;
	release_held(r);
	memset(r->held, 0, r->ring / 64 * sizeof(*r->held));
	r->count = 0;
	r->oldest_valid = false;
	uint64_t lost = skipped + (uint64_t)r->pending_lost;
	r->pending_lost = lost > 0x7fffffff ? 0x7fffffff : (int)lost;
	r->next = ext;
	r->highest = ext - 1;
	r->bad_seq = REORDER_NO_BAD;
}

/* A packet before next: too old, unless it is the second of a far-back pair (a restart). */
static int push_old(struct reorder *r, uint16_t seq, uint64_t ext)
{
	uint64_t behind = r->next - ext;
	uint64_t far = r->cap > REORDER_DROPOUT ? (uint64_t)r->cap : REORDER_DROPOUT;
	if (behind > far) {
		if (seq == r->bad_seq) {
			reset_at(r, ext, 0);
			return 0;
		}
		r->bad_seq = (uint16_t)(seq + 1);
	}
	r->st.too_old++;
	return -ERANGE;
}

static void store(struct reorder *r, uint64_t ext, uint8_t *buf, const uint8_t *pkt, size_t len,
                  int64_t now)
{
	struct slot *s = &r->slots[ext % r->ring];
	s->data = buf;
	s->ext = ext;
	s->arrival = now;
	s->len = (uint16_t)len;
	if (len)
		memcpy(s->data, pkt, len);
	set_held(r, ext, true);
	if (r->count == 0 || (r->oldest_valid && now < r->oldest)) {
		r->oldest = now;
		r->oldest_valid = true;
	}
	r->count++;
	if (ext > r->highest)
		r->highest = ext;
}

int reorder_push(struct reorder *r, uint16_t seq, const uint8_t *pkt, size_t len, int64_t now_us)
{
	if (!r || len > REORDER_MAX_PKT || (!pkt && len))
		return -EINVAL;
	take_back_lent(r);
	r->st.pushed++;
	if (!r->started) {
		r->started = true;
		r->next = REORDER_BASE + seq;
		r->highest = r->next - 1;
	}
	uint64_t ext = unwrap(seq, r->next);
	if (ext < r->next) {
		int e = push_old(r, seq, ext);
		if (e < 0)
			return e;
	} else if (ext - r->next >= r->ring) {
		reset_at(r, ext, ext - r->next); /* a jump: give up on all */
	} else if (is_held(r, ext)) {
		r->st.duplicates++;
		return -EEXIST;
	}
	r->bad_seq = REORDER_NO_BAD;
	uint8_t *buf = take_buf(r);
	if (!buf) {
		r->st.no_memory++;
		return -ENOMEM;
	}
	store(r, ext, buf, pkt, len, now_us);
	if ((uint64_t)r->count > r->st.held_max)
		r->st.held_max = (uint64_t)r->count;
	return 0;
}

/* Skips the gap at next if the window is exceeded or the longest waiter waited max_wait. */
static bool skip_gap(struct reorder *r, int64_t now_us)
{
	bool full = r->highest - r->next >= (uint64_t)r->cap;
	if (!full && now_us - oldest_arrival(r) < r->max_wait_us)
		return false;
	if (full)
		r->st.overflow++;
	uint64_t first = first_held(r);
	uint64_t n = first - r->next;
	r->st.lost += n;
	n += (uint64_t)r->pending_lost;
	r->pending_lost = n > 0x7fffffff ? 0x7fffffff : (int)n;
	r->next = first;
	return true;
}

int reorder_pop(struct reorder *r, int64_t now_us, uint16_t *seq, const uint8_t **pkt, size_t *len,
                int *lost)
{
	if (!r)
		return 0;
	take_back_lent(r);
	if (!r->count)
		return 0;
	if (!is_held(r, r->next) && !skip_gap(r, now_us))
		return 0;
	struct slot *s = &r->slots[r->next % r->ring];
	set_held(r, r->next, false);
	r->count--;
	if (r->oldest_valid && s->arrival == r->oldest)
		r->oldest_valid = false;
	r->next++;
	r->st.released++;
	if (seq)
		*seq = (uint16_t)s->ext;
	r->lent = s->data;
	r->lent_arrival = s->arrival;
	s->data = NULL;
	if (pkt)
		*pkt = r->lent;
	if (len)
		*len = s->len;
	if (lost)
		*lost = r->pending_lost;
	r->pending_lost = 0;
	return 1;
}

int64_t reorder_popped_arrival(const struct reorder *r)
{
	return r ? r->lent_arrival : 0;
}
