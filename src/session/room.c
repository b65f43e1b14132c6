/*
 * room.c - a room: peers, the media engine and the mixing timer (see room.h).
 *
 * The timer fires every 5 ms on the media loop and advances the engine to the current media
 * time; the engine runs whatever 20 ms audio and 1/fps video ticks are due. Engine callbacks
 * route mixed packets to peers, keyframe requests to senders, and speaker changes to everyone.
 * Media thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "log.h"
#include "mcu/ptrarray.h"
#include "session/peer.h"
#include "session/room.h"
#include "session/server.h"

#define ROOM_TICK_MS 5

int64_t room_now(const struct room *r)
{
	return g_get_monotonic_time() - r->t0_us;
}

int64_t room_media_now(const struct room *r)
{
	return room_now(r) - r->delay_us;
}

struct peer *room_peer_by_id(const struct room *r, uint32_t id)
{
	for (int i = 0; i < r->npeers; i++)
		if (r->peers[i]->id == id)
			return r->peers[i];
	return NULL;
}

void room_broadcast(struct room *r, const struct peer *except, char *text)
{
	for (int i = 0; text && i < r->npeers; i++)
		if (r->peers[i] != except)
			server_send(r->srv, r->peers[i]->conn, strdup(text));
	free(text);
}

/* ---- engine callbacks ---- */

static void on_packet(void *opaque, uint32_t rid, const struct mix_packet *pkt)
{
	struct peer *p = room_peer_by_id(opaque, rid);
	if (p)
		peer_out_packet(p, pkt);
}

static void on_keyframe_request(void *opaque, uint32_t src)
{
	struct peer *p = room_peer_by_id(opaque, src);
	if (p)
		peer_request_keyframe(p);
}

static void on_active_speaker(void *opaque, uint32_t src)
{
	struct room *r = opaque;
	r->active_speaker = src;
	room_broadcast(r, NULL, sig_active_speaker(src));
}

static gboolean on_tick(gpointer data)
{
	struct room *r = data;
	for (int i = 0; i < r->npeers; i++)
		peer_in_poll(r->peers[i]);
	int rc = mix_engine_run_until(r->eng, room_media_now(r));
	if (rc < 0)
		LOG_E("room %s: engine error %d", r->name, rc);
	return G_SOURCE_CONTINUE;
}

static int engine_cfg(const struct server *s, struct room *r, struct mix_engine_cfg *ec)
{
	const struct mcu_config *c = s->cfg;
	mix_engine_cfg_default(ec);
	ec->width = c->width;
	ec->height = c->height;
	ec->fps = c->fps;
	ec->exclude_self = c->exclude_self;
	ec->video_bitrate = c->video_bitrate;
	ec->audio_bitrate = c->audio_bitrate;
	ec->max_mixed = c->max_mixed;
	ec->opus_fec = true;
	ec->cb = (struct mix_engine_callbacks){.opaque = r,
					       .on_packet = on_packet,
					       .on_keyframe_request = on_keyframe_request,
					       .on_active_speaker = on_active_speaker};
	return mix_layout_parse(c->layout, &ec->layout);
}

int room_new(struct room **out, struct server *srv, const char *name)
{
	struct room *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->srv = srv;
	r->t0_us = g_get_monotonic_time();
	r->delay_us = (int64_t)srv->cfg->playout_delay_ms * 1000;
	r->active_speaker = MIX_NO_SOURCE;
	struct mix_engine_cfg ec;
	int rc = engine_cfg(srv, r, &ec);
	if (rc == 0)
		rc = mix_engine_alloc(&r->eng, &ec);
	if (rc < 0) {
		free(r);
		return rc;
	}
	GSource *t = g_timeout_source_new(ROOM_TICK_MS);
	g_source_set_callback(t, on_tick, r, NULL);
	r->tick_id = g_source_attach(t, srv->ctx);
	g_source_unref(t);
	*out = r;
	return 0;
}

void room_free(struct room **rp)
{
	struct room *r = *rp;
	if (!r)
		return;
	if (r->tick_id) {
		GSource *t = g_main_context_find_source_by_id(r->srv->ctx, r->tick_id);
		if (t)
			g_source_destroy(t);
	}
	mix_engine_free(&r->eng);
	free(r->peers);
	free(r);
	*rp = NULL;
}

static char *joined_message(struct room *r, struct peer *p)
{
	struct sig_participant *others = calloc((size_t)r->npeers + 1, sizeof(*others));
	if (!others)
		return NULL;
	int n = 0;
	for (int i = 0; i < r->npeers; i++)
		if (r->peers[i] != p)
			others[n++] = (struct sig_participant){r->peers[i]->id, r->peers[i]->name};
	char *text = sig_joined(p->id, r->name, others, n);
	free(others);
	return text;
}

int room_add_peer(struct room *r, struct peer *p)
{
	int rc = ptrarray_reserve((void ***)&r->peers, r->npeers, &r->cap_peers);
	if (rc == 0)
		rc = mix_engine_add_source(r->eng, p->id, p->name);
	if (rc < 0)
		return rc;
	r->peers[r->npeers++] = p;
	p->room = r;
	server_send(r->srv, p->conn, joined_message(r, p));
	room_broadcast(r, p, sig_participant_joined(p->id, p->name));
	if (r->active_speaker != MIX_NO_SOURCE)
		server_send(r->srv, p->conn, sig_active_speaker(r->active_speaker));
	return 0;
}

void room_remove_peer(struct room *r, struct peer *p)
{
	mix_engine_remove_recipient(r->eng, p->id);
	mix_engine_remove_source(r->eng, p->id);
	ptrarray_remove((void **)r->peers, &r->npeers, p);
	p->room = NULL;
	room_broadcast(r, NULL, sig_participant_left(p->id));
}
