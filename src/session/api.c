/*
 * api.c - the HTTP API under /api/ (docs/PROTOCOL.md): GET /api/config (what the demo page
 * needs: ICE servers), GET /api/rooms (rooms, participants, recordings), and recordings:
 * POST/DELETE/GET /api/rooms/{room}/recording, GET /api/recordings and
 * GET /api/recordings/{file} (a download).
 *
 * GETs are answered on the signaling thread from snapshots the media thread rebuilds whenever
 * rooms, participants or recordings change (server_update_snapshot), under a mutex, so the
 * HTTP side never touches media-thread state. POST and DELETE post a command to the media
 * thread and wait (at most API_WAIT_MS) on a condition variable: the recorder's writer thread
 * answers once the file is created (POST: 201, or 500 with the error) or finished (DELETE:
 * 200 with the final size and duration); after the timeout the reply is 202 with the state
 * so far. The wait object is refcounted: whoever finishes last frees it.
 * Directory listing and downloads read the recordings directory on the signaling thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "auth/token.h"
#include "session/peer.h"
#include "session/recorder.h"
#include "session/room.h"
#include "session/server.h"
#include "signal/ws.h"

#define API_WAIT_MS       5000
#define API_MAX_FILE_NAME 200

/* ---- status JSON (any thread) ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static json_t *rec_json(const struct rec_status *st)
{
	char when[32] = "";
	time_t t = (time_t)st->started_unix;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	const char *file = base_name(st->path);
	json_t *o = json_pack(
	    "{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:I,s:f,s:s,s:I,s:I}", "room", st->room, "state",
	    rec_state_name(st->state), "path", st->path, "file", file, "format", st->format,
	    "width", st->width, "height", st->height, "video_bitrate", st->video_bitrate, "bytes",
	    (json_int_t)st->bytes, "duration_s", st->duration_s, "started", when, "packets",
	    (json_int_t)st->packets, "dropped", (json_int_t)st->dropped);
	if (o && st->first_write_ms)
		json_object_set_new(o, "first_write_ms", json_integer(st->first_write_ms));
	if (o && st->error[0])
		json_object_set_new(o, "error", json_string(st->error));
	return o;
}

static char *rec_text(const struct rec_status *st)
{
	json_t *o = rec_json(st);
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return t;
}

/* ---- snapshots (media thread) ---- */

static json_t *room_json(const struct room *r)
{
	json_t *people = json_array();
	for (int i = 0; i < r->npeers; i++) {
		char id[16];
		snprintf(id, sizeof(id), "%u", r->peers[i]->id);
		json_array_append_new(people,
		                      json_pack("{s:s, s:s}", "id", id, "name", r->peers[i]->name));
	}
	json_t *rec = json_null();
	if (r->rec) {
		struct rec_status st;
		recorder_status(r->rec, &st);
		rec = rec_json(&st);
	}
	return json_pack("{s:s, s:o, s:o}", "name", r->name, "participants", people, "recording",
	                 rec);
}

/* History (oldest first), then the recorders not yet reaped (in start order). */
static char *recs_snapshot(struct server *s)
{
	json_t *a = json_array();
	struct rec_status st;
	for (int i = 0; i < s->nhist; i++)
		json_array_append_new(a,
		                      rec_json(&s->hist[(s->hist_head + i) % SERVER_REC_HISTORY]));
	for (int i = 0; i < s->nrecs; i++) {
		recorder_status(s->recs[i], &st);
		json_array_append_new(a, rec_json(&st));
	}
	char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

void server_update_snapshot(struct server *s)
{
	json_t *rooms = json_array();
	for (int i = 0; i < s->nrooms; i++)
		json_array_append_new(rooms, room_json(s->rooms[i]));
	char *text = json_dumps(rooms, JSON_COMPACT);
	json_decref(rooms);
	char *recs = recs_snapshot(s);
	pthread_mutex_lock(&s->snap_lock);
	free(s->rooms_json);
	s->rooms_json = text;
	free(s->recs_json);
	s->recs_json = recs;
	pthread_mutex_unlock(&s->snap_lock);
}

static void reply_text(struct ws_http_reply *r, int status, const char *text)
{
	r->status = status;
	r->body = text ? strdup(text) : NULL;
	r->body_len = r->body ? strlen(r->body) : 0;
	r->content_type = "application/json";
}

static void reply_owned(struct ws_http_reply *r, int status, char *text)
{
	r->status = status;
	r->body = text;
	r->body_len = text ? strlen(text) : 0;
	r->content_type = "application/json";
}

static void reply_error(struct ws_http_reply *r, int status, const char *code, const char *msg)
{
	json_t *o = json_pack("{s:s,s:s}", "error", code, "message", msg);
	reply_owned(r, status, o ? json_dumps(o, JSON_COMPACT) : NULL);
	json_decref(o);
}

/* ---- POST/DELETE: a command to the media thread and a bounded wait ---- */

struct api_call {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_int refs;
	struct server *srv;
	int pending_status; /* the answer from the writer thread, sent after a snapshot update */
	char *pending_body;
	bool done;
	int status;
	char *body;
	/* the request */
	char room[SIG_MAX_ROOM + 1];
	char format[8];
	struct room_rec_opts opts;
};

static struct api_call *call_new(struct server *s, const char *room)
{
	struct api_call *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&c->refs, 2); /* the waiter and the media-thread side */
	c->srv = s;
	snprintf(c->room, sizeof(c->room), "%s", room);
	return c;
}

static void call_unref(struct api_call *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c->body);
	free(c->pending_body);
	free(c);
}

/* Any thread: the answer (body owned), then drops the media side's reference. */
static void call_finish(struct api_call *c, int status, char *body)
{
	pthread_mutex_lock(&c->lock);
	c->done = true;
	c->status = status;
	c->body = body;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	call_unref(c);
}

static char *error_text(const char *code, const char *msg, const struct rec_status *st)
{
	json_t *o = json_pack("{s:s,s:s}", "error", code, "message", msg);
	if (o && st)
		json_object_set_new(o, "recording", rec_json(st));
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return t;
}

/* Media thread: the snapshots show the new state before the waiter replies. */
static void finish_after_snapshot(struct server *s, void *data)
{
	struct api_call *c = data;
	server_update_snapshot(s);
	char *body = c->pending_body;
	c->pending_body = NULL;
	call_finish(c, c->pending_status, body);
}

/* Writer thread: hands the answer to the media thread (or answers at once if it is busy). */
static void answer_via_media(struct api_call *c, int status, char *body)
{
	c->pending_status = status;
	c->pending_body = body;
	if (server_invoke(c->srv, finish_after_snapshot, c) < 0) {
		c->pending_body = NULL;
		call_finish(c, status, body);
	}
}

/* Writer thread: the file was created, or could not be. */
static void on_opened(void *opaque, const struct rec_status *st)
{
	bool failed = st->state == REC_FAILED;
	answer_via_media(opaque, failed ? 500 : 201, rec_text(st));
}

/* Writer thread: the file is finished. */
static void on_finished(void *opaque, const struct rec_status *st)
{
	answer_via_media(opaque, 200, rec_text(st));
}

/* Media thread. */
static void do_start(struct server *s, void *data)
{
	struct api_call *c = data;
	struct room *r = server_find_room(s, c->room);
	if (!r) {
		call_finish(c, 404, error_text("no-such-room", "no such room", NULL));
		return;
	}
	int rc = room_start_recording(r, &c->opts, on_opened, c);
	if (rc == 0) {
		server_update_snapshot(s);
		return; /* on_opened finishes the call */
	}
	struct rec_status st = {0};
	if (rc == -EBUSY)
		recorder_status(r->rec, &st);
	call_finish(c,
	            rc == -EBUSY    ? 409
	            : rc == -EINVAL ? 400
	                            : 500,
	            rc == -EBUSY
	                ? error_text("already-recording", "the room is being recorded", &st)
	            : rc == -EINVAL ? error_text("bad-field", "bad recording options", NULL)
	                            : error_text("record-failed", strerror(-rc), NULL));
}

/* Media thread. */
static void do_stop(struct server *s, void *data)
{
	struct api_call *c = data;
	struct room *r = server_find_room(s, c->room);
	if (!r || room_stop_recording(r, on_finished, c) < 0) {
		call_finish(c, 404,
		            error_text("not-recording", "the room is not being recorded", NULL));
		return;
	}
	server_update_snapshot(s);
}

/* Signaling thread: posts fn and waits for the answer (202 with `pending` after a timeout). */
static void call_run(struct server *s, struct api_call *c, void (*fn)(struct server *s, void *data),
                     const char *pending, struct ws_http_reply *reply)
{
	if (server_invoke(s, fn, c) < 0) {
		call_unref(c);
		call_unref(c);
		reply_error(reply, 503, "server-busy", "too many requests in flight, retry");
		return;
	}
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += API_WAIT_MS / 1000;
	pthread_mutex_lock(&c->lock);
	while (!c->done && pthread_cond_timedwait(&c->cond, &c->lock, &until) == 0)
		;
	if (c->done) {
		reply_owned(reply, c->status, c->body);
		c->body = NULL;
	} else {
		char buf[160];
		snprintf(buf, sizeof(buf), "{\"room\":\"%s\",\"state\":\"%s\"}", c->room, pending);
		reply_text(reply, 202, buf);
	}
	pthread_mutex_unlock(&c->lock);
	call_unref(c);
}

/* Optional POST body {"format","width","height","bitrate"}. 0, -EINVAL or -ENOTSUP (format). */
static int parse_opts(const char *body, size_t len, struct api_call *c)
{
	if (!body || !len)
		return 0;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	int rc = o && json_is_object(o) ? 0 : -EINVAL;
	json_t *v;
	if (rc == 0 && (v = json_object_get(o, "format"))) {
		const char *f = json_string_value(v);
		rc = f ? recorder_check_format(f, NULL) : -EINVAL;
		if (rc != -EINVAL) {
			snprintf(c->format, sizeof(c->format), "%s", f);
			c->opts.format = c->format;
		}
	}
	const char *keys[] = {"width", "height", "bitrate"};
	int *dst[] = {&c->opts.width, &c->opts.height, &c->opts.video_bitrate};
	for (int i = 0; rc == 0 && i < 3; i++) {
		if (!(v = json_object_get(o, keys[i])))
			continue;
		json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
		rc = n > 0 && n <= 50000000 ? 0 : -EINVAL;
		*dst[i] = (int)n;
	}
	if (rc == 0 && !c->opts.width != !c->opts.height)
		rc = -EINVAL;
	json_decref(o);
	return rc;
}

/* "/api/rooms/{room}/recording": copies a valid room name. */
static bool recording_path(const char *path, char room[SIG_MAX_ROOM + 1])
{
	const char *pre = "/api/rooms/", *suf = "/recording";
	size_t lp = strlen(pre), ls = strlen(suf), n = strlen(path);
	if (n <= lp + ls || strncmp(path, pre, lp) || strcmp(path + n - ls, suf))
		return false;
	size_t rn = n - lp - ls;
	if (!sig_room_name_ok(path + lp, rn))
		return false;
	memcpy(room, path + lp, rn);
	room[rn] = '\0';
	return true;
}

/* GET: the room's active recording, else its last finished one (from the snapshot). */
static void get_recording(struct server *s, const char *room, struct ws_http_reply *reply)
{
	pthread_mutex_lock(&s->snap_lock);
	json_t *a = json_loads(s->recs_json ? s->recs_json : "[]", 0, NULL);
	pthread_mutex_unlock(&s->snap_lock);
	json_t *found = NULL, *v;
	size_t i;
	json_array_foreach(a, i, v)
	{
		if (!strcmp(json_string_value(json_object_get(v, "room")) ?: "", room))
			found = v;
	}
	if (found)
		reply_owned(reply, 200, json_dumps(found, JSON_COMPACT));
	else
		reply_error(reply, 404, "not-recording", "no recording of this room");
	json_decref(a);
}

static void recording_api(struct server *s, const char *method, const char *room, const char *body,
                          size_t body_len, struct ws_http_reply *reply)
{
	if (!strcmp(method, "GET")) {
		get_recording(s, room, reply);
		return;
	}
	struct api_call *c = call_new(s, room);
	if (!c) {
		reply_error(reply, 503, "server-busy", "out of memory");
		return;
	}
	bool post = !strcmp(method, "POST");
	int bad = post ? parse_opts(body, body_len, c) : 0;
	if (bad < 0) {
		const char *why = NULL;
		recorder_check_format(c->format, &why);
		call_unref(c);
		call_unref(c);
		if (bad == -ENOTSUP)
			reply_error(reply, 501, "unsupported-format", why);
		else
			reply_error(reply, 400, "bad-field",
			            "body: {\"format\":\"webm\"|\"mkv\"|\"mp4\", \"width\", "
			            "\"height\", \"bitrate\"}");
		return;
	}
	call_run(s, c, post ? do_start : do_stop, post ? "starting" : "stopping", reply);
}

/* ---- the recordings directory (signaling thread) ---- */

/* A name the server could have made: [A-Za-z0-9_.-], no leading dot, .webm, .mkv or .mp4. */
static bool file_name_ok(const char *f)
{
	size_t n = strlen(f);
	if (n < 6 || n > API_MAX_FILE_NAME || f[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!sig_room_name_ok(f + i, 1))
			return false;
	const char *dot = strrchr(f, '.');
	return dot &&
	       (!strcasecmp(dot, ".webm") || !strcasecmp(dot, ".mkv") || !strcasecmp(dot, ".mp4"));
}

/* Whether a recording still being written has this file name. */
static bool is_active(struct server *s, const char *file)
{
	pthread_mutex_lock(&s->snap_lock);
	json_t *a = json_loads(s->recs_json ? s->recs_json : "[]", 0, NULL);
	pthread_mutex_unlock(&s->snap_lock);
	bool active = false;
	json_t *v;
	size_t i;
	json_array_foreach(a, i, v)
	{
		const char *st = json_string_value(json_object_get(v, "state")) ?: "";
		const char *f = json_string_value(json_object_get(v, "file")) ?: "";
		if (!strcmp(f, file) && strcmp(st, "finished") && strcmp(st, "failed"))
			active = true;
	}
	json_decref(a);
	return active;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void list_recordings(struct server *s, struct ws_http_reply *reply)
{
	const char *dir = s->cfg->recordings_dir;
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, by_name);
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		const char *f = ents[i]->d_name;
		char path[REC_MAX_PATH + 256];
		struct stat sb;
		snprintf(path, sizeof(path), "%s/%s", dir, f);
		if (file_name_ok(f) && !is_active(s, f) && lstat(path, &sb) == 0 &&
		    S_ISREG(sb.st_mode)) {
			char url[sizeof(ents[i]->d_name) + 32], when[32];
			struct tm tm;
			gmtime_r(&sb.st_mtime, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			snprintf(url, sizeof(url), "/api/recordings/%s", f);
			json_array_append_new(a, json_pack("{s:s,s:I,s:s,s:s}", "file", f, "bytes",
			                                   (json_int_t)sb.st_size, "modified", when,
			                                   "url", url));
		}
		free(ents[i]);
	}
	free(ents);
	reply_owned(reply, 200, json_dumps(a, JSON_COMPACT));
	json_decref(a);
}

static void download(struct server *s, const char *file, struct ws_http_reply *reply)
{
	char path[REC_MAX_PATH + 256];
	if (!file_name_ok(file)) {
		reply_error(reply, 404, "not-found", "no such recording");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", s->cfg->recordings_dir, file);
	/* A regular file, not a symbolic link: checked here, streamed by ws.c. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat sb;
	bool ok = fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
	if (fd >= 0)
		close(fd);
	if (!ok || !(reply->file = strdup(path))) {
		reply_error(reply, 404, "not-found", "no such recording");
		return;
	}
	reply->status = 200;
	const char *ext = strrchr(file, '.');
	reply->content_type = !strcasecmp(ext, ".mkv")   ? "video/x-matroska"
	                      : !strcasecmp(ext, ".mp4") ? "video/mp4"
	                                                 : "video/webm";
}

/* ---- GET /api/stats: counters from the media thread ---- */

/* clang-format off */
#define PEER_STAT_FIELDS \
	X(rtp_in) X(rtcp_in) X(srtp_errors) X(rtp_dropped) X(unknown_ssrc) X(dtls_in) \
	X(nacks_sent) X(nacks_received) X(retransmits) X(retransmits_limited) X(plis_sent) \
	X(plis_received) X(plis_limited) X(remb_received) X(frames_in) X(frames_dropped)
/* clang-format on */

void server_peer_stats_add(struct peer_stats *sum, const struct peer_stats *st)
{
#define X(f) sum->f += st->f;
	PEER_STAT_FIELDS
#undef X
}

static json_t *peers_json(struct server *s)
{
	struct peer_stats t = s->peers_gone;
	for (int i = 0; i < s->npeers; i++)
		server_peer_stats_add(&t, &s->peers[i]->st);
	json_t *o = json_object();
#define X(f) json_object_set_new(o, #f, json_integer((json_int_t)t.f));
	PEER_STAT_FIELDS
#undef X
	return o;
}

static json_t *server_json(struct server *s)
{
	const struct server_stats *t = &s->st;
	json_t *o = json_pack(
	    "{s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rooms", s->nrooms,
	    "participants", s->npeers, "joins", (json_int_t)t->joins, "leaves",
	    (json_int_t)t->leaves, "offers", (json_int_t)t->offers, "errors_sent",
	    (json_int_t)t->errors_sent, "busy_rejects", (json_int_t)t->busy_rejects,
	    "rooms_created", (json_int_t)t->rooms_created, "rooms_freed",
	    (json_int_t)t->rooms_freed, "ice_failed", (json_int_t)t->ice_failed, "dtls_failed",
	    (json_int_t)t->dtls_failed, "auth_failures", (json_int_t)t->auth_failures,
	    "api_auth_failures", (json_int_t)atomic_load(&s->api_auth_failures));
	return o;
}

static json_t *signaling_json(struct server *s)
{
	struct ws_stats w = {0};
	if (s->ws)
		ws_server_stats(s->ws, &w);
	return json_pack("{s:I,s:I,s:I,s:I,s:I}", "connections", (json_int_t)w.connections,
	                 "messages", (json_int_t)w.messages, "rate_limited",
	                 (json_int_t)w.rate_limited, "closed_rate", (json_int_t)w.closed_rate,
	                 "closed_too_big", (json_int_t)w.closed_too_big);
}

/* Media thread. */
static void do_stats(struct server *s, void *data)
{
	json_t *o = json_pack("{s:o,s:o,s:o}", "server", server_json(s), "signaling",
	                      signaling_json(s), "peers", peers_json(s));
	call_finish(data, o ? 200 : 500, o ? json_dumps(o, JSON_COMPACT) : NULL);
	json_decref(o);
}

static void get_stats(struct server *s, struct ws_http_reply *reply)
{
	struct api_call *c = call_new(s, "");
	if (!c) {
		reply_error(reply, 503, "server-busy", "out of memory");
		return;
	}
	call_run(s, c, do_stats, "pending", reply);
}

/*
 * With a secret set, the request must carry "Authorization: Bearer TOKEN" allowing `need` on
 * room (see token_check). Replies 401 and returns false otherwise.
 */
static bool authorized(struct server *s, const struct ws_http_request *req, const char *room,
                       enum token_role need, struct ws_http_reply *reply)
{
	if (!s->cfg->secret[0])
		return true;
	const char *a = req->authorization, *why = "missing";
	bool bearer = !strncasecmp(a, "Bearer ", 7);
	if (bearer &&
	    token_check(s->cfg->secret, a + 7, room, need, (int64_t)time(NULL), &why) == 0)
		return true;
	atomic_fetch_add(&s->api_auth_failures, 1);
	char msg[96];
	snprintf(msg, sizeof(msg), "a valid Bearer token is needed (%s)", why);
	reply_error(reply, 401, "unauthorized", msg);
	return false;
}

void server_on_http(void *opaque, const struct ws_http_request *req, struct ws_http_reply *reply)
{
	struct server *s = opaque;
	const char *method = req->method, *path = req->path;
	char room[SIG_MAX_ROOM + 1];
	if (recording_path(path, room)) {
		if (authorized(s, req, room, TOKEN_ADMIN, reply))
			recording_api(s, method, room, req->body, req->body_len, reply);
		return;
	}
	if (strcmp(method, "GET") != 0) {
		reply_text(reply, 405, "{\"error\":\"method-not-allowed\"}");
		return;
	}
	/* The demo page needs the config with any room's token; the rest is for admins. */
	bool config = !strcmp(path, "/api/config");
	if (!authorized(s, req, config ? "" : NULL, config ? TOKEN_PARTICIPANT : TOKEN_ADMIN,
	                reply))
		return;
	if (config) {
		char buf[1200];
		snprintf(buf, sizeof(buf), "{\"iceServers\":%s}", s->cfg->ice_servers_json);
		reply_text(reply, 200, buf);
	} else if (!strcmp(path, "/api/rooms")) {
		pthread_mutex_lock(&s->snap_lock);
		reply_text(reply, 200, s->rooms_json ? s->rooms_json : "[]");
		pthread_mutex_unlock(&s->snap_lock);
	} else if (!strcmp(path, "/api/stats")) {
		get_stats(s, reply);
	} else if (!strcmp(path, "/api/recordings")) {
		list_recordings(s, reply);
	} else if (!strncmp(path, "/api/recordings/", 16)) {
		download(s, path + 16, reply);
	} else {
		reply_text(reply, 404, "{\"error\":\"not-found\"}");
	}
}
