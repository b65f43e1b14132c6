/*
 * lineup.c - who is shown when a room has more people than tiles, with stable tile positions.
 *
 * Sources are ranked by recency: the latest audio tick they were mixed above silence first
 * (so the current speakers lead), then join order. The grid shows the top max_tiles of that
 * rank; the speaker layout shows the active speaker (else the top one) in tile 0 and the top
 * speaker_strip of the others in its strip. Positions are sticky: a slot keeps its source
 * until that source leaves the room or drops out of the top; a source entering the top takes
 * the first freed slot (the one of the source it displaces, in place), the grid grows at its
 * end when nobody was displaced, and a freed slot nobody takes is removed (the grid shrinks).
 * A room that never had more people than tiles is therefore in join order.
 *
 * A recipient that excludes itself sees the room's view as if it had left: its slot is taken
 * by the next source in rank (the best one not shown), or removed when nobody waits. So
 * recipients not shown share the room's view (one encoder), and each one shown gets its own.
 *
 * The state is the slots only; everything else is derived from engine state at each update,
 * so the result depends on the input alone. Cost: one sort of the sources per update, and
 * O(tiles) per recipient. Engine thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

static int by_join(const void *a, const void *b)
{
	const struct source *x = *(struct source *const *)a, *y = *(struct source *const *)b;
	return x->join_seq < y->join_seq ? -1 : x->join_seq > y->join_seq;
}

/* Most recent speaker first; never-spoken sources after, in join order. */
static int by_recency(const void *a, const void *b)
{
	const struct source *x = *(struct source *const *)a, *y = *(struct source *const *)b;
	if (x->last_spoke != y->last_spoke)
		return x->last_spoke > y->last_spoke ? -1 : 1;
	return by_join(a, b);
}

static bool has(const uint32_t *ids, int n, uint32_t id)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* The first cap sources of the ranking, skipping `skip`; returns how many. */
static int top(struct source *const *rank, int n, uint32_t skip, int cap, uint32_t *want)
{
	int k = 0;
	for (int i = 0; i < n && k < cap; i++)
		if (rank[i]->id != skip)
			want[k++] = rank[i]->id;
	return k;
}

/* The best-ranked source neither in ids nor `skip`, or MIX_NO_SOURCE. */
static uint32_t next_waiting(struct source *const *rank, int n, const uint32_t *ids, int nids,
                             uint32_t skip)
{
	for (int i = 0; i < n; i++)
		if (rank[i]->id != skip && !has(ids, nids, rank[i]->id))
			return rank[i]->id;
	return MIX_NO_SOURCE;
}

/*
 * Makes slots hold the set `want` with as little movement as possible: kept sources stay put,
 * entrants (in join order) take freed slots in slot order, then go at the end; freed slots
 * nobody takes are removed.
 */
static void sticky(struct lineup_slots *sl, const uint32_t *want, int nwant,
                   struct source *const *join, int nsrc)
{
	uint32_t old[MAX_TILES];
	int nold = sl->n;
	memcpy(old, sl->ids, sizeof(old));
	for (int i = 0; i < sl->n; i++)
		if (!has(want, nwant, sl->ids[i]))
			sl->ids[i] = MIX_NO_SOURCE;
	int free_i = 0;
	for (int j = 0; j < nsrc; j++) {
		uint32_t id = join[j]->id;
		if (!has(want, nwant, id) || has(old, nold, id))
			continue;
		while (free_i < sl->n && sl->ids[free_i] != MIX_NO_SOURCE)
			free_i++;
		if (free_i < sl->n)
			sl->ids[free_i] = id;
		else if (sl->n < MAX_TILES)
			sl->ids[sl->n++] = id;
	}
	int k = 0;
	for (int i = 0; i < sl->n; i++)
		if (sl->ids[i] != MIX_NO_SOURCE)
			sl->ids[k++] = sl->ids[i];
	sl->n = k;
}

static void update_grid(struct lineup *st, struct source *const *rank, int n,
                        struct source *const *join, int max_tiles)
{
	uint32_t want[MAX_TILES] = {0};
	int nwant = top(rank, n, MIX_NO_SOURCE, max_tiles, want);
	sticky(&st->grid, want, nwant, join, n);
	st->grid_next = next_waiting(rank, n, st->grid.ids, st->grid.n, MIX_NO_SOURCE);
}

static void update_speaker(struct lineup *st, struct source *const *rank, int n,
                           struct source *const *join, int strip, uint32_t active)
{
	st->main = n == 0 ? MIX_NO_SOURCE : rank[0]->id;
	for (int i = 0; i < n; i++)
		if (rank[i]->id == active)
			st->main = active;
	uint32_t want[MAX_TILES] = {0};
	int nwant = top(rank, n, st->main, strip, want);
	sticky(&st->strip, want, nwant, join, n);
	st->strip_next = next_waiting(rank, n, st->strip.ids, st->strip.n, st->main);
	st->strip_best = nwant > 0 ? want[0] : MIX_NO_SOURCE;
}

int lineup_update(struct lineup *st, struct source *const *src, int nsrc, int max_tiles, int strip,
                  uint32_t active_speaker)
{
	struct source **rank = malloc(sizeof(*rank) * (size_t)(nsrc ? nsrc : 1));
	if (!rank)
		return -ENOMEM;
	memcpy(rank, src, sizeof(*rank) * (size_t)nsrc);
	qsort(rank, (size_t)nsrc, sizeof(*rank), by_recency);
	update_grid(st, rank, nsrc, src, max_tiles);
	update_speaker(st, rank, nsrc, src, strip, active_speaker);
	free(rank);
	return 0;
}

/* Copies slots into tiles with `self` replaced by `fill` (or removed); returns the count. */
static int without(const struct lineup_slots *sl, uint32_t self, uint32_t fill, uint32_t *tiles)
{
	int n = 0;
	for (int i = 0; i < sl->n; i++) {
		if (sl->ids[i] != self)
			tiles[n++] = sl->ids[i];
		else if (fill != MIX_NO_SOURCE)
			tiles[n++] = fill;
	}
	return n;
}

static int speaker_view(const struct lineup *st, uint32_t self, uint32_t *tiles)
{
	if (st->main == MIX_NO_SOURCE)
		return 0;
	if (st->main != self) {
		tiles[0] = st->main;
		return 1 + without(&st->strip, self, st->strip_next, tiles + 1);
	}
	/* self is the main: the top of the others (the strip's best) takes tile 0 and its strip
	 * slot goes to the next in rank; with an empty strip, the best waiting is the main. */
	uint32_t main = st->strip.n > 0 ? st->strip_best : st->strip_next;
	if (main == MIX_NO_SOURCE)
		return 0;
	tiles[0] = main;
	return 1 + without(&st->strip, main, st->strip_next, tiles + 1);
}

int lineup_view(const struct lineup *st, int layout, uint32_t self, uint32_t *tiles)
{
	if (layout == MIX_LAYOUT_SPEAKER)
		return speaker_view(st, self, tiles);
	return without(&st->grid, self, st->grid_next, tiles);
}

int lineup_pinned_view(const struct lineup *st, uint32_t pin, uint32_t self, int strip,
                       uint32_t *tiles)
{
	uint32_t view[MAX_TILES];
	int n = speaker_view(st, self, view), k = 0;
	tiles[k++] = pin;
	for (int i = 0; i < n && k < 1 + strip; i++)
		if (view[i] != pin)
			tiles[k++] = view[i];
	return k;
}
