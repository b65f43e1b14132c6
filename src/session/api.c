/*
 * api.c - the HTTP API under /api/ (docs/PROTOCOL.md): GET /api/config (what the demo page
 * needs: ICE servers) and GET /api/rooms (rooms and their participants).
 *
 * Requests are answered on the signaling thread from a snapshot the media thread rebuilds
 * whenever rooms or participants change (server_update_snapshot), under a mutex, so the HTTP
 * side never touches media-thread state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "session/peer.h"
#include "session/room.h"
#include "session/server.h"
#include "signal/ws.h"

static json_t *room_json(const struct room *r)
{
	json_t *people = json_array();
	for (int i = 0; i < r->npeers; i++) {
		char id[16];
		snprintf(id, sizeof(id), "%u", r->peers[i]->id);
		json_array_append_new(people,
				      json_pack("{s:s, s:s}", "id", id, "name", r->peers[i]->name));
	}
	return json_pack("{s:s, s:o}", "name", r->name, "participants", people);
}

void server_update_snapshot(struct server *s)
{
	json_t *rooms = json_array();
	for (int i = 0; i < s->nrooms; i++)
		json_array_append_new(rooms, room_json(s->rooms[i]));
	char *text = json_dumps(rooms, JSON_COMPACT);
	json_decref(rooms);
	pthread_mutex_lock(&s->snap_lock);
	free(s->rooms_json);
	s->rooms_json = text;
	pthread_mutex_unlock(&s->snap_lock);
}

static void reply_text(struct ws_http_reply *r, int status, const char *text)
{
	r->status = status;
	r->body = text ? strdup(text) : NULL;
	r->body_len = r->body ? strlen(r->body) : 0;
	r->content_type = "application/json";
}

void server_on_http(void *opaque, const char *method, const char *path, const char *body,
		    size_t body_len, struct ws_http_reply *reply)
{
	struct server *s = opaque;
	if (strcmp(method, "GET") != 0) {
		reply_text(reply, 405, "{\"error\":\"method-not-allowed\"}");
		return;
	}
	if (!strcmp(path, "/api/config")) {
		char buf[1200];
		snprintf(buf, sizeof(buf), "{\"iceServers\":%s}", s->cfg->ice_servers_json);
		reply_text(reply, 200, buf);
	} else if (!strcmp(path, "/api/rooms")) {
		pthread_mutex_lock(&s->snap_lock);
		reply_text(reply, 200, s->rooms_json ? s->rooms_json : "[]");
		pthread_mutex_unlock(&s->snap_lock);
	} else {
		reply_text(reply, 404, "{\"error\":\"not-found\"}");
	}
}
