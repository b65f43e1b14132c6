/*
 * api_rooms.c - the HTTP API of one room and its participants (docs/PROTOCOL.md):
 *   GET    /api/rooms/{room}                         settings, participants, outputs, recording
 *   GET    /api/rooms/{room}/participants            the participants and their media state
 *   GET    /api/rooms/{room}/participants/{id}       one participant, with its counters
 *   POST   /api/rooms/{room}/participants/{id}       {"name"}: renames it
 *   DELETE /api/rooms/{room}/participants/{id}       removes it (it is told, then disconnected)
 *   POST   /api/rooms/{room}/participants/{id}/mute  {"audio","video"}: a moderator's mute
 *   POST   /api/rooms/{room}/mute                    {"audio","video","except"}: all but one
 *   POST   /api/rooms/{room}/layout                  {"layout","pin"}: the room's view
 *   POST   /api/rooms/{room}/participants/{id}/view  {"layout","pin","exclude_self"}: its own
 *   PUT    /api/rooms/{room}                         creates it with settings (room_settings.h)
 *   DELETE /api/rooms/{room}                         ends it: everyone removed, recording done
 *
 * Threads: a request arrives on the signaling thread, which validates it and posts it to the
 * room's loop (server_invoke); the loop acts, updates its snapshot and replies
 * (ws_http_complete through the server's http_done). The request (struct ctl) is owned by
 * whoever holds it: the signaling thread until posted, then the loop, which frees it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cluster/cluster.h"
#include "mix/engine.h"
#include "net/loop.h"
#include "session/api_int.h"
#include "session/peer.h"
#include "session/room.h"
#include "session/server.h"
#include "session/shard.h"
#include "signal/ws.h"

enum ctl_op {
	CTL_ROOM,
	CTL_LIST,
	CTL_SHOW,
	CTL_RENAME,
	CTL_KICK,
	CTL_MUTE,
	CTL_MUTE_ALL,
	CTL_PUT,
	CTL_END,
	CTL_LAYOUT,
	CTL_VIEW
};

struct ctl {
	struct server *srv;
	uint64_t id; /* the deferred HTTP request */
	enum ctl_op op;
	char room[SIG_MAX_ROOM + 1];
	uint32_t target, except;
	int audio, video; /* -1: unchanged */
	char name[SIG_MAX_NAME + 1];
	struct slot *slot; /* PUT: the slot registered for the room */
	/* layout, view: as the "layout" and "view" messages (sig_msg) */
	int layout, exclude_self;
	uint32_t pin;
	bool pin_set;
};

/* ---- JSON of the room's state (the room's loop) ---- */

static json_t *muted_by(const struct peer *p, bool video)
{
	json_t *a = json_array();
	const char *who[PEER_MUTE_KINDS] = {"self", "moderator"};
	for (int k = 0; k < PEER_MUTE_KINDS; k++)
		if (video ? p->mutes[k].video : p->mutes[k].audio)
			json_array_append_new(a, json_string(who[k]));
	return a;
}

static json_t *medium_json(const struct room *r, const struct peer *p, bool video)
{
	const struct in_stream *in = video ? &p->in_video : &p->in_audio;
	json_t *o =
	    json_pack("{s:b,s:b,s:o,s:i,s:i,s:f}", "receiving", in->packets > 0, "muted",
	              video ? peer_video_muted(p) : peer_audio_muted(p), "muted_by",
	              muted_by(p, video), "bitrate_in", p->rates.in_bps[video], "bitrate_out",
	              p->rates.out_bps[video], "loss_in", api_round3(in->loss));
	if (o && video) {
		json_object_set_new(o, "visible",
		                    json_boolean(mix_engine_source_visible(r->eng, p->id)));
		json_object_set_new(o, "loss_out", json_real(api_round3(p->rr_loss)));
	}
	return o;
}

static json_t *participant_json(const struct room *r, const struct peer *p, bool counters)
{
	char id[16], out[32];
	snprintf(id, sizeof(id), "%u", p->id);
	peer_rung_name(p, out, sizeof(out));
	int abps = peer_audio_bitrate(p);
	json_t *o =
	    json_pack("{s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:s,s:s,s:o}", "id", id, "name", p->name,
	              "state", peer_state_name(peer_state(p)), "admin", p->admin, "audio",
	              medium_json(r, p, false), "video", medium_json(r, p, true), "rtt_ms",
	              p->rtt_us > 0 ? json_real(api_round3(p->rtt_us / 1000.0)) : json_null(),
	              "output", out, "codec", peer_vcodec_name(p), "audio_bitrate",
	              abps > 0 ? json_integer(abps) : json_null());
	static const char *const layouts[] = {"room", "grid", "speaker"};
	char pin[16];
	snprintf(pin, sizeof(pin), "%u", p->view.pin);
	json_object_set_new(
	    o, "view",
	    json_pack("{s:s,s:o,s:o}", "layout", layouts[p->view.layout + 1], "pin",
	              p->view.pin == SIG_NO_ID ? json_null() : json_string(pin), "exclude_self",
	              p->view.exclude_self < 0 ? json_null() : json_boolean(p->view.exclude_self)));
	json_t *sim = peer_layers_json(p);
	json_object_set_new(o, "simulcast", sim ? sim : json_null());
	if (o && counters)
		json_object_set_new(o, "counters", api_peer_stats_json(&p->st));
	return o;
}

static json_t *participants_json(const struct room *r)
{
	json_t *a = json_array();
	for (int i = 0; i < r->npeers; i++)
		json_array_append_new(a, participant_json(r, r->peers[i], false));
	return a;
}

/* The distinct outputs the participants receive, with how many receive each. */
static json_t *outputs_json(json_t *people)
{
	json_t *by = json_object(), *v;
	size_t i;
	json_array_foreach(people, i, v)
	{
		char key[64];
		snprintf(key, sizeof(key), "%s %s", json_string_value(json_object_get(v, "output")),
		         json_string_value(json_object_get(v, "codec")));
		json_t *n = json_object_get(by, key);
		json_object_set_new(by, key, json_integer(n ? json_integer_value(n) + 1 : 1));
	}
	return by;
}

static json_t *room_detail_json(const struct room *r)
{
	struct mix_engine_stats st;
	mix_engine_get_stats(r->eng, &st);
	json_t *people = participants_json(r);
	json_t *rec = json_null();
	if (r->rec) {
		struct rec_status rs;
		recorder_status(r->rec, &rs);
		rec = api_rec_json(&rs);
	}
	json_t *settings = room_settings_json(&r->set);
	json_object_set_new(settings, "exclude_self", json_boolean(r->env->cfg->exclude_self));
	json_object_set_new(settings, "held", json_boolean(((struct slot *)r->slot)->held));
	uint32_t pin = mix_engine_pin(r->eng);
	char pins[16];
	snprintf(pins, sizeof(pins), "%u", pin);
	json_object_set_new(settings, "pin",
	                    pin == MIX_NO_SOURCE ? json_null() : json_string(pins));
	json_t *enc = json_pack("{s:i,s:i,s:i,s:o,s:I,s:I}", "video", st.video_encoders, "audio",
	                        st.audio_encoders, "video_decoders", st.video_decoders, "outputs",
	                        outputs_json(people), "video_ticks", (json_int_t)st.video_ticks,
	                        "video_ticks_moved", (json_int_t)st.video_ticks_moved);
	json_t *pres = json_null();
	const struct peer *pr = r->presenter != SIG_NO_ID ? room_peer_by_id(r, r->presenter) : NULL;
	if (pr) {
		char a[16], b[16];
		snprintf(a, sizeof(a), "%u", pr->id);
		snprintf(b, sizeof(b), "%u", pr->screen.src);
		pres = json_pack("{s:s,s:s}", "id", a, "source", b);
	}
	json_object_set_new(enc, "presentation", pres);
	return json_pack("{s:s,s:i,s:f,s:o,s:o,s:o,s:o}", "name", r->name, "loop",
	                 loop_index(r->env->loop), "age_s", api_round3(room_now(r) / 1e6),
	                 "settings", settings, "participants", people, "encoders", enc, "recording",
	                 rec);
}

/* ---- acting (the room's loop) ---- */

static void reply(struct ctl *c, int status, json_t *body)
{
	struct ws_http_reply r = {0};
	api_reply_owned(&r, status, body ? json_dumps(body, JSON_COMPACT) : NULL);
	json_decref(body);
	server_http_done(c->srv, c->id, &r);
	free(c);
}

static void reply_error(struct ctl *c, int status, const char *code, const char *msg)
{
	reply(c, status, json_pack("{s:s,s:s}", "error", code, "message", msg));
}

/* Runs a request that names a participant on p. */
static void act_on(struct shard *sh, struct ctl *c, struct room *r, struct peer *p)
{
	switch (c->op) {
	case CTL_SHOW:
		reply(c, 200, participant_json(r, p, true));
		return;
	case CTL_RENAME:
		room_rename(r, p, c->name);
		break;
	case CTL_MUTE:
		room_set_mute(r, p, PEER_MUTE_MODERATOR, c->audio, c->video);
		break;
	case CTL_VIEW: {
		int rc = room_set_view(r, p, c->layout, c->exclude_self, c->pin);
		if (rc == -ENOSPC) {
			reply_error(c, 409, "too-many-views",
			            "the room has as many views of their own as it allows");
			return;
		}
		if (rc < 0) {
			reply_error(c, 404, "no-such-participant", "pin: no such participant");
			return;
		}
		break;
	}
	case CTL_KICK: {
		char id[16];
		snprintf(id, sizeof(id), "%u", p->id);
		shard_kick(sh, r, p->id, "removed by a moderator"); /* r may be gone */
		shard_update_snapshot(sh);
		reply(c, 200, json_pack("{s:s}", "removed", id));
		return;
	}
	default:
		break;
	}
	shard_update_snapshot(sh);
	reply(c, 200, participant_json(r, p, false));
}

static void run_put(struct shard *sh, void *data)
{
	struct ctl *c = data;
	struct room *r = shard_room_put(sh, c->slot);
	if (r)
		reply(c, 201, room_detail_json(r));
	else
		reply_error(c, 503, "server-busy", "could not create the room");
}

static void run_ctl(struct shard *sh, void *data)
{
	struct ctl *c = data;
	struct room *r = shard_find_room(sh, c->room);
	if (r && c->op == CTL_END) {
		int n = shard_room_end(sh, r, "the room was ended");
		reply(c, 200, json_pack("{s:s,s:i}", "ended", c->room, "removed", n));
		return;
	}
	if (!r) {
		reply_error(c, 404, "no-such-room", "no such room");
		return;
	}
	if (c->op == CTL_ROOM) {
		reply(c, 200, room_detail_json(r));
	} else if (c->op == CTL_LIST) {
		reply(c, 200, participants_json(r));
	} else if (c->op == CTL_LAYOUT) {
		if (room_set_layout(r, c->layout, c->pin_set, c->pin) < 0)
			reply_error(c, 404, "no-such-participant", "pin: no such participant");
		else
			reply(c, 200, room_detail_json(r));
	} else if (c->op == CTL_MUTE_ALL) {
		int n = room_mute_all(r, c->except, c->audio, c->video);
		shard_update_snapshot(sh);
		reply(c, 200, json_pack("{s:i}", "changed", n));
	} else {
		struct peer *p = room_peer_by_id(r, c->target);
		if (p)
			act_on(sh, c, r, p);
		else
			reply_error(c, 404, "no-such-participant",
			            "no participant with this id in the room");
	}
}

/* ---- the request (signaling thread) ---- */

/* An optional boolean field: -1 absent, 0, 1; -2 if not a boolean. */
static int body_flag(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return !v ? -1 : json_is_boolean(v) ? json_is_true(v) : -2;
}

/* {"layout", "pin", "exclude_self"} of a room's layout or a participant's view. */
static const char *parse_view_body(json_t *o, struct ctl *c)
{
	json_t *l = json_object_get(o, "layout"), *p = json_object_get(o, "pin");
	const char *ls = json_string_value(l);
	bool view = c->op == CTL_VIEW;
	if (l && !(ls && (!strcmp(ls, "grid") || !strcmp(ls, "speaker") ||
	                  (view && !strcmp(ls, "room")))))
		return view ? "\"layout\": \"grid\", \"speaker\" or \"room\""
		            : "\"layout\": \"grid\" or \"speaker\"";
	c->layout = !ls || !strcmp(ls, "room") ? -1 : !strcmp(ls, "speaker");
	c->pin_set = p != NULL;
	if (p && !json_is_null(p) &&
	    !(json_is_string(p) && (c->pin = sig_id_parse(json_string_value(p)))))
		return "\"pin\": a participant id or null";
	c->exclude_self = body_flag(o, "exclude_self");
	if (c->exclude_self < -1 || (!view && json_object_get(o, "exclude_self")))
		return "\"exclude_self\": true or false (for a participant's view)";
	if (!view && !l && !p)
		return "\"layout\" and/or \"pin\"";
	return NULL;
}

/* The POST body of a mute or a rename into c: NULL, or what is wrong with it. */
static const char *parse_body(const struct ws_http_request *req, struct ctl *c)
{
	json_t *o = req->body_len
	                ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL)
	                : NULL;
	const char *bad = NULL;
	if (!json_is_object(o)) {
		bad = "the body must be a JSON object";
	} else if (c->op == CTL_LAYOUT || c->op == CTL_VIEW) {
		bad = parse_view_body(o, c);
	} else if (c->op == CTL_RENAME) {
		json_t *v = json_object_get(o, "name");
		const char *n = json_string_value(v);
		if (!n || !sig_name_ok(n, json_string_length(v)))
			bad = "\"name\": 1-64 bytes of UTF-8 without control characters";
		else
			snprintf(c->name, sizeof(c->name), "%s", n);
	} else {
		c->audio = body_flag(o, "audio");
		c->video = body_flag(o, "video");
		json_t *ex = json_object_get(o, "except");
		if (c->audio < -1 || c->video < -1 || (c->audio < 0 && c->video < 0))
			bad = "\"audio\" and/or \"video\": true or false";
		else if (ex && (c->op != CTL_MUTE_ALL || !json_is_string(ex) ||
		                !(c->except = sig_id_parse(json_string_value(ex)))))
			bad = "\"except\": a participant id (only for the room's mute)";
	}
	json_decref(o);
	return bad;
}

/* The operation of rest ("", "/participants", "/participants/ID[/mute]", "/mute") and method;
 * -1 for no such path, -2 for a method the path does not take. */
static int route(const char *rest, const char *method, struct ctl *c)
{
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	bool del = !strcmp(method, "DELETE");
	if (!*rest)
		return get ? CTL_ROOM : del ? CTL_END : !strcmp(method, "PUT") ? CTL_PUT : -2;
	if (!strcmp(rest, "/participants"))
		return get ? CTL_LIST : -2;
	if (!strcmp(rest, "/mute"))
		return post ? CTL_MUTE_ALL : -2;
	if (!strcmp(rest, "/layout"))
		return post ? CTL_LAYOUT : -2;
	const char *pre = "/participants/";
	if (strncmp(rest, pre, strlen(pre)))
		return -1;
	char id[16];
	const char *s = rest + strlen(pre), *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(id))
		return -1;
	memcpy(id, s, n);
	id[n] = '\0';
	if (!(c->target = sig_id_parse(id)))
		return -1;
	if (slash && !strcmp(slash, "/view"))
		return post ? CTL_VIEW : -2;
	if (slash)
		return !strcmp(slash, "/mute") ? (post ? CTL_MUTE : -2) : -1;
	return get ? CTL_SHOW : post ? CTL_RENAME : del ? CTL_KICK : -2;
}

bool api_rooms_path(const char *path, char room[SIG_MAX_ROOM + 1])
{
	const char *pre = "/api/rooms/";
	if (strncmp(path, pre, strlen(pre)))
		return false;
	const char *s = path + strlen(pre), *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (!sig_room_name_ok(s, n))
		return false;
	memcpy(room, s, n);
	room[n] = '\0';
	return true;
}

/* PUT: the room's settings, its slot registered and the creation posted to its loop. */
static void put_room(struct server *s, const struct ws_http_request *req, struct ctl *c,
                     struct ws_http_reply *out)
{
	struct room_settings set;
	char err[200];
	room_settings_default(&set, s->cfg);
	if (room_settings_parse(&set, s->cfg, req->body, req->body_len, err, sizeof(err)) < 0) {
		api_reply_error(out, 400, "bad-field", err);
		free(c);
		return;
	}
	char room[SIG_MAX_ROOM + 1]; /* c is the loop's once invoked */
	memcpy(room, c->room, sizeof(room));
	int rc = server_room_put(s, c->room, &set, &c->slot);
	if (rc == 0 && server_invoke(s, c->slot->sh, run_put, c) == 0) {
		if (s->cluster) /* for the node it moves to if this one dies */
			cluster_room_settings(s->cluster, room, req->body ? req->body : "",
			                      req->body ? req->body_len : 0);
		out->status = WS_HTTP_DEFER;
		return;
	}
	if (rc == 0 && server_slot_unhold(s, c->slot))
		server_slot_free(c->slot); /* no room was made */
	if (rc == -EEXIST)
		api_reply_error(out, 409, "room-exists", "the room exists: end it first");
	else if (rc == -ENOSPC)
		api_reply_error(out, 503, "server-full", "the server has reached its room limit");
	else
		api_reply_error(out, 503, "server-busy", "too many requests in flight, retry");
	free(c);
}

void api_rooms(struct server *s, const struct ws_http_request *req, const char *room,
               struct ws_http_reply *out)
{
	struct ctl *c = calloc(1, sizeof(*c));
	if (!c) {
		api_reply_error(out, 503, "server-busy", "out of memory");
		return;
	}
	*c = (struct ctl){.srv = s,
	                  .id = req->id,
	                  .audio = -1,
	                  .video = -1,
	                  .except = SIG_NO_ID,
	                  .layout = -1,
	                  .exclude_self = -1,
	                  .pin = SIG_NO_ID};
	snprintf(c->room, sizeof(c->room), "%s", room);
	int op = route(req->path + strlen("/api/rooms/") + strlen(room), req->method, c);
	if (op == CTL_PUT) {
		c->op = CTL_PUT;
		put_room(s, req, c, out);
		return;
	}
	const char *bad = NULL;
	if (op >= 0) {
		c->op = (enum ctl_op)op;
		if (op == CTL_RENAME || op == CTL_MUTE || op == CTL_MUTE_ALL || op == CTL_LAYOUT ||
		    op == CTL_VIEW)
			bad = parse_body(req, c);
	}
	struct shard *sh = op >= 0 && !bad ? server_room_shard(s, room) : NULL;
	if (op == -1)
		api_reply_error(out, 404, "not-found", "no such path");
	else if (op == -2)
		api_reply_error(out, 405, "method-not-allowed",
		                "this path does not take this method");
	else if (bad)
		api_reply_error(out, 400, "bad-field", bad);
	else if (!sh)
		api_reply_error(out, 404, "no-such-room", "no such room");
	else if (server_invoke(s, sh, run_ctl, c) < 0)
		api_reply_error(out, 503, "server-busy", "too many requests in flight, retry");
	else {
		out->status = WS_HTTP_DEFER;
		return;
	}
	free(c);
}
