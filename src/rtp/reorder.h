/*
 * reorder.h - the per-stream reorder ("jitter") buffer: packets in, packets out in sequence
 * order. A missing packet is waited for up to max_wait_us (time for a NACK retransmission to
 * arrive); after that the gap is skipped and reported as lost. Duplicates and packets older
 * than what was already released are dropped. Capacity is bounded (cap packets); when full,
 * the oldest gap is given up on. Counters for each drop reason.
 *
 * Playout timing is not done here: the room's mixing clock runs each participant's playout
 * delay behind arrival and the engine conceals what is late. One per inbound stream,
 * single-threaded; it owns copies of the packets it holds, and its memory follows how many it
 * holds (not cap): a stream that arrives in order costs a few KiB.
 */
#ifndef MCU_REORDER_H
#define MCU_REORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reorder;

/*
 * pushed: every push call; duplicates, too_old: pushes rejected for that reason; released:
 * packets popped; lost: sequence numbers skipped without ever arriving; overflow: gaps given
 * up on early because the window (cap) was exceeded, plus held packets discarded by a reset
 * (a jump too far ahead to store, or a sender restart far behind); no_memory: pushes refused
 * for want of a packet buffer; held_max: the most packets ever held at once (each in a
 * 1500-byte buffer); buffers_allocated: packet buffers allocated (in order: one or two in all).
 */
struct reorder_stats {
	uint64_t pushed, released, duplicates, too_old, lost, overflow;
	uint64_t no_memory, held_max, buffers_allocated;
};

/* cap: 2..4096 packets held; max_wait_us: how long a gap may delay later packets. */
int reorder_alloc(struct reorder **out, int cap, int64_t max_wait_us);
void reorder_free(struct reorder **r);

/*
 * Adds a packet (copied; len <= 1500). 0, or -EEXIST (duplicate), -ERANGE (too old, including
 * a duplicate of a released packet), -ENOMEM, -EINVAL. The first packet defines the start (earlier
 * ones that arrive later are too old). A packet too far ahead to store (2*cap rounded up to 64)
 * resets the buffer: what it held is discarded and everything skipped is reported as lost with
 * that packet. Two consecutive packets more than max(cap, 3000) behind restart it there
 * (RFC 3550 A.1).
 */
int reorder_push(struct reorder *r, uint16_t seq, const uint8_t *pkt, size_t len, int64_t now_us);

/*
 * Releases the next packet in order if it is there, or skips a gap that has waited long
 * enough. Returns 1 with *seq, *pkt and *len set (pkt valid until the next reorder_push or
 * reorder_pop), and *lost = the number of packets skipped just before it; 0 if nothing can be
 * released now. A gap is skipped once the packet that has waited longest behind it has waited
 * max_wait_us, or at once when more than cap sequence numbers are outstanding.
 */
int reorder_pop(struct reorder *r, int64_t now_us, uint16_t *seq, const uint8_t **pkt, size_t *len,
                int *lost);

/* Changes how long a gap may delay later packets (from the next pop on). */
void reorder_set_wait(struct reorder *r, int64_t max_wait_us);

/* The now_us the packet popped last was pushed with (its arrival), for latency stamps. */
int64_t reorder_popped_arrival(const struct reorder *r);

void reorder_get_stats(const struct reorder *r, struct reorder_stats *st);

#endif
