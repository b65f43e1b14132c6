/*
 * nack.c - Generic NACK (RFC 4585 6.2.1) policy on both sides.
 *
 * nack_gen keeps the missing sequence numbers as a small array in sequence order (oldest
 * first, at most NACK_MAX_MISSING), each with its detection time, last request time and retry
 * count. A forward jump larger than NACK_MAX_MISSING clears the list instead of NACKing it;
 * a packet far behind twice in sequence is a sender restart (RFC 3550 A.1 bad_seq).
 *
 * rtx_history is a ring of packet recipes (struct rtx_pkt: a frame reference and the RTP fields)
 * indexed by the extended (unwrapped) sequence number modulo cap, each tagged with that number
 * so a lookup never returns a different packet, and with the time it was last resent so a NACK
 * flood resends each packet at most once per interval. A slot is 64 bytes instead of a
 * 1500-byte copy; the frames it references are the engine's, shared by every recipient of an
 * output. Both are single-threaded and own their memory (the history one frame reference per
 * used slot).
 */
#include "rtp/nack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/rtp.h"

#define NACK_MIN_INTERVAL_US 20000
#define NACK_RESYNC          3000 /* RFC 3550 A.1 MAX_DROPOUT */

struct nack_item {
	uint16_t seq;
	uint8_t retries;  /* requests made so far */
	int64_t first_us; /* when it was found missing */
	int64_t last_us;  /* last request, valid if retries > 0 */
};

struct nack_gen {
	bool started;
	uint16_t highest; /* newest sequence number seen */
	uint32_t bad_seq; /* resync candidate, 0x10000 if none */
	int n;            /* items[0..n) in sequence order, oldest first */
	struct nack_item items[NACK_MAX_MISSING];
	uint64_t given_up; /* dropped by age, retries, jumps or list overflow */
};

int nack_gen_alloc(struct nack_gen **out)
{
	if (!out)
		return -EINVAL;
	struct nack_gen *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->bad_seq = 0x10000;
	*out = n;
	return 0;
}

void nack_gen_free(struct nack_gen **n)
{
	if (!n || !*n)
		return;
	free(*n);
	*n = NULL;
}

int nack_gen_missing(const struct nack_gen *n)
{
	return n ? n->n : 0;
}

uint64_t nack_gen_given_up(const struct nack_gen *n)
{
	return n ? n->given_up : 0;
}

static void remove_at(struct nack_gen *n, int i)
{
	memmove(&n->items[i], &n->items[i + 1], (size_t)(n->n - i - 1) * sizeof(n->items[0]));
	n->n--;
}

static void clear(struct nack_gen *n)
{
	n->given_up += (uint64_t)n->n;
	n->n = 0;
}

/* Records highest+1 .. seq-1 as missing, dropping the oldest entries to make room. */
static void add_gap(struct nack_gen *n, uint16_t seq, int64_t now_us)
{
	int gap = (uint16_t)(seq - n->highest) - 1;
	int excess = n->n + gap - NACK_MAX_MISSING;
	if (excess > 0) {
		n->given_up += (uint64_t)excess;
		memmove(&n->items[0], &n->items[excess],
		        (size_t)(n->n - excess) * sizeof(n->items[0]));
		n->n -= excess;
	}
	for (int k = 1; k <= gap; k++) {
		struct nack_item *it = &n->items[n->n++];
		it->seq = (uint16_t)(n->highest + k);
		it->retries = 0;
		it->first_us = now_us;
		it->last_us = 0;
	}
}

/* A packet not newer than highest: a retransmission, reordering, duplicate or restart. */
static void on_old(struct nack_gen *n, uint16_t seq)
{
	for (int i = 0; i < n->n; i++) {
		if (n->items[i].seq == seq) {
			remove_at(n, i);
			return;
		}
	}
	if ((uint16_t)(n->highest - seq) <= NACK_RESYNC)
		return;
	if (seq == n->bad_seq) { /* two in sequence far behind: the sender restarted */
		clear(n);
		n->highest = seq;
		n->bad_seq = 0x10000;
		return;
	}
	n->bad_seq = (uint16_t)(seq + 1);
}

void nack_gen_on_packet(struct nack_gen *n, uint16_t seq, int64_t now_us)
{
	if (!n)
		return;
	if (!n->started) {
		n->started = true;
		n->highest = seq;
		return;
	}
	if (!seq_newer(seq, n->highest)) {
		on_old(n, seq);
		return;
	}
	n->bad_seq = 0x10000;
	if ((uint16_t)(seq - n->highest) - 1 > NACK_MAX_MISSING)
		clear(n); /* a jump: don't NACK thousands */
	else
		add_gap(n, seq, now_us);
	n->highest = seq;
}

/* True if the item is finished: too old, or out of retries and due again. */
static bool expired(const struct nack_item *it, int64_t now_us, int64_t interval)
{
	if (now_us - it->first_us > NACK_MAX_AGE_US)
		return true;
	return it->retries >= NACK_MAX_RETRIES && now_us - it->last_us >= interval;
}

int nack_gen_collect(struct nack_gen *n, int64_t now_us, int64_t rtt_us, uint16_t *out, int max)
{
	if (!n || !out || max <= 0)
		return 0;
	int64_t interval = rtt_us > NACK_MIN_INTERVAL_US ? rtt_us : NACK_MIN_INTERVAL_US;
	int count = 0, kept = 0;
	for (int i = 0; i < n->n; i++) {
		struct nack_item *it = &n->items[i];
		if (expired(it, now_us, interval)) {
			n->given_up++;
			continue;
		}
		bool due = it->retries == 0 || now_us - it->last_us >= interval;
		if (due && count < max && it->retries < NACK_MAX_RETRIES) {
			out[count++] = it->seq;
			it->retries++;
			it->last_us = now_us;
		}
		n->items[kept++] = *it;
	}
	n->n = kept;
	return count;
}

int rtx_pkt_write(const struct rtx_pkt *p, uint16_t seq, uint8_t *buf, size_t cap)
{
	return rtx_pkt_write_ext(p, seq, NULL, buf, cap);
}

int rtx_pkt_write_ext(const struct rtx_pkt *p, uint16_t seq, const struct rtp_ext_elem *extra,
                      uint8_t *buf, size_t cap)
{
	if (!p || !p->frame || !buf || p->prefix_len > RTX_MAX_PREFIX || p->ext_len > RTX_MAX_EXT ||
	    (size_t)p->offset + p->len > p->frame->size)
		return -EINVAL;
	struct rtp_hdr h = {
	    .marker = p->marker, .pt = p->pt, .seq = seq, .ts = p->ts, .ssrc = p->ssrc};
	struct rtp_ext_elem ext[2];
	int n_ext = 0;
	if (p->ext_id != 0)
		ext[n_ext++] = (struct rtp_ext_elem){p->ext_id, p->ext_len, p->ext};
	if (extra != NULL)
		ext[n_ext++] = *extra;
	int n = rtp_write_ext(buf, cap, &h, ext, n_ext, NULL, 0);
	if (n < 0)
		return n;
	size_t total = (size_t)n + p->prefix_len + p->len;
	if (total > cap)
		return -ENOSPC;
	memcpy(buf + n, p->prefix, p->prefix_len);
	if (p->len)
		memcpy(buf + n + p->prefix_len, p->frame->data + p->offset, p->len);
	return (int)total;
}

struct rtx_slot {
	bool used;
	bool resent;
	uint8_t resends;    /* times resent, at most RTX_MAX_RESENDS */
	uint64_t ext;       /* extended seq: the tag a lookup must match */
	int64_t resent_us;  /* last resend, valid if resent */
	struct rtx_pkt pkt; /* pkt.frame is the history's reference while used */
};

struct rtx_history {
	int cap;
	bool started;
	uint64_t last_ext; /* extended seq of the newest put, the unwrap reference */
	struct rtx_slot *slots;
};

int rtx_history_alloc(struct rtx_history **out, int cap)
{
	if (!out || cap < 16 || cap > 8192)
		return -EINVAL;
	struct rtx_history *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->slots = calloc((size_t)cap, sizeof(*h->slots));
	if (!h->slots) {
		free(h);
		return -ENOMEM;
	}
	h->cap = cap;
	*out = h;
	return 0;
}

void rtx_history_free(struct rtx_history **h)
{
	if (!h || !*h)
		return;
	for (int i = 0; i < (*h)->cap; i++)
		mix_packet_unref(&(*h)->slots[i].pkt.frame);
	free((*h)->slots);
	free(*h);
	*h = NULL;
}

/* RFC 3550 A.1-style unwrap of seq to the extended number nearest the newest put. */
static uint64_t rtx_unwrap(const struct rtx_history *h, uint16_t seq)
{
	uint16_t d = (uint16_t)(seq - (uint16_t)h->last_ext);
	return d < 0x8000 ? h->last_ext + d : h->last_ext - (0x10000u - d);
}

int rtx_history_put(struct rtx_history *h, uint16_t seq, const struct rtx_pkt *p, int64_t now_us)
{
	(void)now_us;
	if (!h || !p || !p->frame || (size_t)p->offset + p->len > p->frame->size ||
	    p->prefix_len > RTX_MAX_PREFIX || p->ext_len > RTX_MAX_EXT)
		return -EINVAL;
	if (!h->started) {
		h->started = true;
		h->last_ext = (1ull << 40) + seq;
	}
	uint64_t ext = rtx_unwrap(h, seq);
	struct rtx_slot *s = &h->slots[ext % (uint64_t)h->cap];
	struct mix_packet *old = s->pkt.frame;
	s->used = true;
	s->resent = false;
	s->resends = 0;
	s->ext = ext;
	s->pkt = *p;
	s->pkt.frame = mix_packet_ref(p->frame);
	mix_packet_unref(&old); /* after the ref: it may be the same frame */
	if (ext > h->last_ext)
		h->last_ext = ext;
	return 0;
}

int rtx_history_get(struct rtx_history *h, uint16_t seq, int64_t now_us, int64_t min_interval_us,
                    const struct rtx_pkt **p)
{
	if (!h || !p)
		return -EINVAL;
	if (!h->started)
		return -ENOENT;
	uint64_t ext = rtx_unwrap(h, seq);
	struct rtx_slot *s = &h->slots[ext % (uint64_t)h->cap];
	if (!s->used || s->ext != ext)
		return -ENOENT;
	if (s->resent && now_us - s->resent_us < min_interval_us)
		return -EAGAIN;
	if (s->resends >= RTX_MAX_RESENDS)
		return -EDQUOT;
	s->resends++;
	s->resent = true;
	s->resent_us = now_us;
	*p = &s->pkt;
	return 0;
}
