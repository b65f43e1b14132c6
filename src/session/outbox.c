/*
 * outbox.c - a room tick's outgoing packets, sent in parallel per recipient (see outbox.h).
 *
 * Work item k of K sends, in queue order, the packets of the peers whose id is k modulo K, so
 * a peer's packets keep their order and only one thread touches a peer. K is a few times the
 * pool's threads, so a slow item (a big frame to many peers) evens out.
 */
#include <stdlib.h>

#include "mix/packet.h"
#include "mix/pool.h"
#include "session/outbox.h"
#include "session/peer.h"

#define ITEMS_PER_THREAD 4
#define MIN_PARALLEL     32 /* fewer packets than this are sent inline */

void outbox_add(struct outbox *o, struct peer *p, const struct mix_packet *pkt)
{
	if (o->n == o->cap) {
		int cap = o->cap ? o->cap * 2 : 256;
		struct outbox_item *it =
		    cap <= OUTBOX_MAX ? realloc(o->items, sizeof(*it) * (size_t)cap) : NULL;
		if (!it) {
			o->dropped++;
			return;
		}
		o->items = it;
		o->cap = cap;
	}
	o->items[o->n++] = (struct outbox_item){p, mix_packet_ref((struct mix_packet *)pkt)};
}

struct flush {
	struct outbox *o;
	int k; /* items */
};

static void send_part(void *arg, int i)
{
	struct flush *f = arg;
	for (int j = 0; j < f->o->n; j++) {
		struct outbox_item *it = &f->o->items[j];
		if ((int)(it->p->id % (uint32_t)f->k) == i)
			peer_out_packet(it->p, it->pkt);
	}
}

void outbox_flush(struct outbox *o, struct mix_pool *pool)
{
	int threads = mix_pool_threads(pool);
	struct flush f = {o,
	                  threads && o->n >= MIN_PARALLEL ? (threads + 1) * ITEMS_PER_THREAD : 1};
	mix_pool_run(pool, f.k, send_part, &f);
	for (int j = 0; j < o->n; j++)
		mix_packet_unref(&o->items[j].pkt);
	o->n = 0;
}

void outbox_free(struct outbox *o)
{
	for (int j = 0; j < o->n; j++)
		mix_packet_unref(&o->items[j].pkt);
	free(o->items);
	*o = (struct outbox){0};
}
