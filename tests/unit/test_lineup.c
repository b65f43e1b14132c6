/*
 * test_lineup.c - who is shown when a room has more people than tiles (mixer/lineup.c),
 * through the engine: positions stay put while others speak, a new speaker replaces the least
 * recently active tile in place, a leaver's slot is refilled by the most recently active
 * waiting source (or the grid shrinks), exclude-self views, the speaker strip, determinism.
 * Participants send only Opus packets with RFC 6464 levels (who speaks is the level).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mix/engine.h"
#include "mix/opus.h"

#define NSRC    12
#define MAX_SRC 300
#define WATCHER 100 /* a recipient that is not a participant */

struct room {
	struct mix_engine *e;
	struct mix_packet *silence; /* one Opus packet of silence, pushed by everyone */
	bool here[MAX_SRC + 1];     /* by source id */
	int64_t t;
};

static void on_packet(void *opaque, uint32_t rid, const struct mix_packet *p)
{
}

static void room_init(struct room *r, int nsrc, int max_tiles, int layout, int strip)
{
	memset(r, 0, sizeof(*r));
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.width = 160;
	cfg.height = 96;
	cfg.fps = 5;
	cfg.max_tiles = max_tiles;
	cfg.layout = layout;
	cfg.speaker_strip = strip;
	cfg.cb.on_packet = on_packet;
	assert_int_equal(mix_engine_alloc(&r->e, &cfg), 0);
	struct mix_opus_enc *enc = NULL;
	struct mix_opus_enc_cfg oc;
	mix_opus_enc_cfg_default(&oc);
	assert_int_equal(mix_opus_enc_alloc(&enc, &oc), 0);
	int16_t zeros[960] = {0};
	assert_int_equal(mix_opus_enc_encode(enc, zeros, 0, &r->silence), 0);
	mix_opus_enc_free(&enc);
	for (uint32_t id = 1; id <= (uint32_t)nsrc; id++) {
		assert_int_equal(mix_engine_add_source(r->e, id, "p"), 0);
		r->here[id] = true;
	}
}

static void add_watcher(struct room *r, uint32_t rid, uint32_t self, int exclude_self)
{
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	o.self = self;
	o.exclude_self = exclude_self;
	o.audio = false;
	assert_int_equal(mix_engine_add_recipient(r->e, rid, &o), 0);
}

static void room_free(struct room *r)
{
	mix_packet_unref(&r->silence);
	mix_engine_free(&r->e);
}

/* ms of media in which `speaker` (0: nobody) is loud and everyone else silent. */
static void talk(struct room *r, uint32_t speaker, int ms)
{
	for (int64_t end = r->t + ms * 1000; r->t < end; r->t += 20000) {
		for (uint32_t id = 1; id <= MAX_SRC; id++)
			if (r->here[id])
				mix_engine_push_audio(r->e, id, r->silence->data, r->silence->size,
				                      r->t, id == speaker ? 10 : 127, false);
		assert_int_equal(mix_engine_run_until(r->e, r->t + 20000), 0);
	}
}

static void leave(struct room *r, uint32_t id)
{
	mix_engine_remove_source(r->e, id);
	r->here[id] = false;
}

static void expect_tiles(struct room *r, uint32_t rid, const uint32_t *want, int n)
{
	uint32_t got[32];
	int k = mix_engine_recipient_tiles(r->e, rid, got, 32);
	for (int i = 0; i < k && i < n; i++)
		if (got[i] != want[i])
			fail_msg("tile %d of %u: source %u, want %u", i, rid, got[i], want[i]);
	assert_int_equal(k, n);
}

#define EXPECT(r, rid, ...)                                                                        \
	expect_tiles(r, rid, (const uint32_t[]){__VA_ARGS__},                                      \
	             (int)(sizeof((const uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t)))

/* Below max_tiles everyone is shown in join order, whoever talks. */
static void small_room_in_join_order(void **state)
{
	struct room r;
	room_init(&r, 4, 4, MIX_LAYOUT_GRID, 6);
	add_watcher(&r, WATCHER, MIX_NO_SOURCE, 0);
	talk(&r, 3, 600);
	EXPECT(&r, WATCHER, 1, 2, 3, 4);
	room_free(&r);
}

/*
 * 6 people, 4 tiles. A visible speaker moves nothing; a waiting one replaces the least
 * recently active tile (never-spoken ones rank by join order, the latest joiner lowest) in
 * place, and nobody else moves.
 */
static void new_speaker_replaces_least_recent_in_place(void **state)
{
	struct room r;
	room_init(&r, 6, 4, MIX_LAYOUT_GRID, 6);
	add_watcher(&r, WATCHER, MIX_NO_SOURCE, 0);
	talk(&r, 0, 200);
	EXPECT(&r, WATCHER, 1, 2, 3, 4);
	talk(&r, 2, 600);
	talk(&r, 0, 1000);
	EXPECT(&r, WATCHER, 1, 2, 3, 4); /* 2 was on the grid: nothing moves */
	talk(&r, 5, 600);
	talk(&r, 0, 1000);
	EXPECT(&r, WATCHER, 1, 2, 3, 5); /* 4 (never spoke, joined last) made room */
	talk(&r, 6, 600);
	talk(&r, 0, 1000);
	EXPECT(&r, WATCHER, 1, 2, 6, 5); /* then 3; 5 keeps its tile */
	talk(&r, 1, 600);
	talk(&r, 0, 1000);
	EXPECT(&r, WATCHER, 1, 2, 6, 5);
	talk(&r, 4, 600); /* 2 is now the least recently active */
	talk(&r, 0, 1000);
	EXPECT(&r, WATCHER, 1, 4, 6, 5);
	room_free(&r);
}

/* A visible leaver's tile goes to the most recently active waiting source, in place; with
 * nobody waiting the grid shrinks, keeping the others' order. */
static void leaver_refilled_then_grid_shrinks(void **state)
{
	struct room r;
	room_init(&r, 6, 4, MIX_LAYOUT_GRID, 6);
	add_watcher(&r, WATCHER, MIX_NO_SOURCE, 0);
	talk(&r, 6, 600); /* replaces 4 */
	talk(&r, 0, 1000);
	talk(&r, 5, 600); /* replaces 3 */
	talk(&r, 0, 1000);
	EXPECT(&r, WATCHER, 1, 2, 5, 6);
	/* waiting: 3 and 4, never spoke... */
	talk(&r, 4, 600); /* ...until 4 speaks: replaces 2 (1 ranks above it by join order) */
	talk(&r, 0, 1000);
	EXPECT(&r, WATCHER, 1, 4, 5, 6);
	leave(&r, 5); /* waiting: 2 and 3, neither spoke: 2 by join order */
	talk(&r, 0, 200);
	EXPECT(&r, WATCHER, 1, 4, 2, 6);
	leave(&r, 1);
	talk(&r, 0, 200);
	EXPECT(&r, WATCHER, 3, 4, 2, 6);
	leave(&r, 4);
	talk(&r, 0, 200);
	EXPECT(&r, WATCHER, 3, 2, 6);
	room_free(&r);
}

/*
 * exclude_self: a recipient not shown sees the room's view (and shares its encoder); one
 * shown sees its tile taken by the best waiting source.
 */
static void exclude_self_views(void **state)
{
	struct room r;
	room_init(&r, 6, 4, MIX_LAYOUT_GRID, 6);
	add_watcher(&r, WATCHER, MIX_NO_SOURCE, 0);
	add_watcher(&r, 2, 2, 1);
	add_watcher(&r, 6, 6, 1);
	talk(&r, 0, 200);
	EXPECT(&r, WATCHER, 1, 2, 3, 4);
	EXPECT(&r, 2, 1, 5, 3, 4);
	EXPECT(&r, 6, 1, 2, 3, 4);
	struct mix_engine_stats st;
	mix_engine_get_stats(r.e, &st);
	assert_int_equal(st.video_encoders, 2);
	talk(&r, 6, 600);
	talk(&r, 0, 600);
	EXPECT(&r, WATCHER, 1, 2, 3, 6);
	EXPECT(&r, 6, 1, 2, 3, 4); /* 4, the best waiting, in 6's slot */
	EXPECT(&r, 2, 1, 4, 3, 6);
	room_free(&r);
}

/* Speaker layout: tile 0 is the active speaker; the strip keeps positions by the same rule. */
static void speaker_strip_stable(void **state)
{
	struct room r;
	room_init(&r, 8, 25, MIX_LAYOUT_SPEAKER, 3);
	add_watcher(&r, WATCHER, MIX_NO_SOURCE, 0);
	talk(&r, 0, 200);
	EXPECT(&r, WATCHER, 1, 2, 3, 4);
	talk(&r, 7, 600);
	EXPECT(&r, WATCHER, 7, 2, 3, 1); /* 1 left tile 0 and took 4's strip slot */
	talk(&r, 2, 1500);
	EXPECT(&r, WATCHER, 2, 7, 3, 1); /* 7 takes 2's strip slot; 3 and 1 stay */
	talk(&r, 5, 1500);
	EXPECT(&r, WATCHER, 5, 7, 2, 1); /* 2 replaces 3, the least recently active */
	room_free(&r);
}

/* The same input gives the same tiles, tick by tick. */
static void deterministic(void **state)
{
	uint32_t seen[2][40][8];
	for (int run = 0; run < 2; run++) {
		struct room r;
		room_init(&r, NSRC, 5, MIX_LAYOUT_GRID, 6);
		add_watcher(&r, WATCHER, MIX_NO_SOURCE, 0);
		for (int k = 0; k < 40; k++) {
			talk(&r, (uint32_t)(k * 7 % NSRC) + 1, 200);
			if (k == 20)
				leave(&r, 3);
			memset(seen[run][k], 0, sizeof(seen[run][k]));
			assert_int_equal(mix_engine_recipient_tiles(r.e, WATCHER, seen[run][k], 8),
			                 5);
		}
		room_free(&r);
	}
	assert_memory_equal(seen[0], seen[1], sizeof(seen[0]));
}

/*
 * 300 people who all receive with exclude_self, 25 tiles: those not shown share one view, so
 * the room needs at most 26 video encoders, and the speakers come in without moving anyone.
 */
static void large_room_exclude_self(void **state)
{
	struct room r;
	room_init(&r, MAX_SRC, 25, MIX_LAYOUT_GRID, 6);
	for (uint32_t id = 1; id <= MAX_SRC; id++)
		add_watcher(&r, id, id, 1);
	talk(&r, 0, 200);
	uint32_t before[25], after[25];
	assert_int_equal(mix_engine_recipient_tiles(r.e, 300, before, 25), 25);
	for (int i = 0; i < 25; i++)
		assert_int_equal(before[i], (uint32_t)i + 1);
	talk(&r, 200, 600);
	talk(&r, 150, 600);
	assert_int_equal(mix_engine_recipient_tiles(r.e, 300, after, 25), 25);
	for (int i = 0; i < 23; i++)
		assert_int_equal(after[i], before[i]); /* 25 and 24 made room, in place */
	assert_int_equal(after[23], 150);
	assert_int_equal(after[24], 200);
	struct mix_engine_stats st;
	mix_engine_get_stats(r.e, &st);
	assert_int_equal(st.video_encoders, 26);
	/* 25 shown, plus the best waiting one, in each shown recipient's own tile */
	assert_int_equal(st.visible_sources, 26);
	room_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(small_room_in_join_order),
	    cmocka_unit_test(new_speaker_replaces_least_recent_in_place),
	    cmocka_unit_test(leaver_refilled_then_grid_shrinks),
	    cmocka_unit_test(exclude_self_views),
	    cmocka_unit_test(speaker_strip_stable),
	    cmocka_unit_test(deterministic),
	    cmocka_unit_test(large_room_exclude_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
