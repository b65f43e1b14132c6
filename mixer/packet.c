/*
 * packet.c - refcounted encoded packets (see mix/packet.h).
 * Any thread: the refcount is atomic. Data and header live in one allocation.
 */
#include <stdlib.h>
#include <string.h>

#include "mix/packet.h"

struct mix_packet *mix_packet_alloc(size_t size)
{
	struct mix_packet *p = malloc(sizeof(*p) + size + 1);
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->data = (uint8_t *)(p + 1);
	p->size = size;
	__atomic_store_n(&p->refs_, 1, __ATOMIC_RELAXED);
	return p;
}

struct mix_packet *mix_packet_copy(const uint8_t *data, size_t size)
{
	struct mix_packet *p = mix_packet_alloc(size);
	if (p && size)
		memcpy(p->data, data, size);
	return p;
}

struct mix_packet *mix_packet_ref(struct mix_packet *p)
{
	if (p)
		__atomic_add_fetch(&p->refs_, 1, __ATOMIC_RELAXED);
	return p;
}

void mix_packet_unref(struct mix_packet **pp)
{
	if (!pp || !*pp)
		return;
	struct mix_packet *p = *pp;
	*pp = NULL;
	if (__atomic_sub_fetch(&p->refs_, 1, __ATOMIC_ACQ_REL) == 0)
		free(p);
}
