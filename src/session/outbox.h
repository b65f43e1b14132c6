/*
 * outbox.h - the mixed packets one room tick hands to its recipients, sent after the tick in
 * parallel over the engines' worker pool: the per-recipient work (packetization, RTP header,
 * retransmission history, SRTP, ICE send) touches only that recipient's peer, so recipients
 * are split over the pool's threads, each peer's packets staying on one thread and in order.
 *
 * Threads: outbox_add and outbox_flush on the room's loop; during the flush, pool threads call
 * peer_out_packet for disjoint sets of peers while the loop thread waits in (and helps) the
 * fork, so nothing else touches those peers meanwhile. Without a pool (--loops 1) the flush is
 * the same loop, inline.
 * Ownership: the outbox holds a reference to each packet until it is sent or dropped; it holds
 * (does not own) the peers, which must stay alive until the flush (the room flushes at the end
 * of the tick that filled it; peers are only removed from posted functions).
 */
#ifndef MCU_OUTBOX_H
#define MCU_OUTBOX_H

#include <stdint.h>

struct peer;
struct mix_packet;
struct mix_pool;

#define OUTBOX_MAX 65536 /* packets per tick; beyond it they are dropped and counted */

struct outbox_item {
	struct peer *p;
	struct mix_packet *pkt;
};

struct outbox {
	struct outbox_item *items;
	int n, cap;
	uint64_t dropped; /* packets over OUTBOX_MAX or out of memory */
};

/* Queues pkt (a reference is taken) for peer p. */
void outbox_add(struct outbox *o, struct peer *p, const struct mix_packet *pkt);
/* Sends every queued packet (pool may be NULL: inline) and empties the outbox. */
void outbox_flush(struct outbox *o, struct mix_pool *pool);
/* Drops what is queued and frees the outbox's memory. */
void outbox_free(struct outbox *o);

#endif
