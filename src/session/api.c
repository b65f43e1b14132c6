/*
 * api.c - the HTTP API under /api/ (docs/PROTOCOL.md): GET /api/config (what the demo page
 * needs: ICE servers), GET /api/rooms (rooms, participants, recordings), and recordings:
 * POST/DELETE/GET /api/rooms/{room}/recording, GET /api/recordings and
 * GET /api/recordings/{file} (a download).
 *
 * Threads: every request arrives on the signaling thread (libwebsockets) and never waits
 * there. GETs of rooms and recordings are answered from snapshots each loop rebuilds when its
 * rooms, participants or recordings change (shard_update_snapshot), under the server's
 * snap_lock. POST and DELETE of a recording, and GET /api/stats, are deferred
 * (WS_HTTP_DEFER): a command goes to the room's loop (or to every loop for the stats) and the
 * reply is sent later with ws_http_complete, from the loop or after the recorder's writer
 * thread has created (POST: 201, or 500 with the error) or finished (DELETE: 200 with the
 * final size and duration) the file; ws.c answers 504 if that takes over its HTTP timeout.
 * Directory listing and downloads read the recordings directory on the signaling thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "auth/token.h"
#include "cluster/cluster.h"
#include "net/loop.h"
#include "net/webhook.h"
#include "session/api_int.h"
#include "session/live.h"
#include "session/metrics.h"
#include "session/peer.h"
#include "session/recorder.h"
#include "session/room.h"
#include "session/server.h"
#include "session/shard.h"
#include "signal/ws.h"

#define API_MAX_FILE_NAME 200
/* Durations and rates with three decimals at most: rounded with ROUND3 and dumped with
 * API_JSON (jansson writes 17 significant digits otherwise: 0.14000000000000001). */
#define ROUND3(x) (round((x)*1000.0) / 1000.0)
#define API_JSON  (JSON_COMPACT | JSON_REAL_PRECISION(15))

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
	    (json_int_t)st->bytes, "duration_s", ROUND3(st->duration_s), "started", when, "packets",
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
	char *t = o ? json_dumps(o, API_JSON) : NULL;
	json_decref(o);
	return t;
}

/* ---- snapshots (a shard's loop; read under snap_lock) ---- */

static json_t *room_json(const struct room *r)
{
	json_t *people = json_array();
	for (int i = 0; i < r->npeers; i++) {
		const struct peer *p = r->peers[i];
		char id[16], out[32];
		snprintf(id, sizeof(id), "%u", p->id);
		peer_rung_name(p, out, sizeof(out));
		int abps = peer_audio_bitrate(p);
		json_array_append_new(
		    people, json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", id, "name", p->name,
		                      "codec", peer_vcodec_name(p), "output", out, "audio_bitrate",
		                      abps > 0 ? json_integer(abps) : json_null()));
	}
	json_t *rec = json_null();
	if (r->rec) {
		struct rec_status st;
		recorder_status(r->rec, &st);
		rec = rec_json(&st);
	}
	return json_pack("{s:s, s:o, s:o, s:i}", "name", r->name, "participants", people,
	                 "recording", rec, "loop", loop_index(r->env->loop));
}

/* The elements of a JSON array, without the brackets ("" for none). */
static char *elements(json_t *a)
{
	char *t = json_dumps(a, API_JSON);
	json_decref(a);
	if (!t)
		return NULL;
	size_t n = strlen(t);
	memmove(t, t + 1, n - 2);
	t[n - 2] = '\0';
	return t;
}

char *api_rooms_snapshot(struct shard *sh)
{
	json_t *a = json_array();
	for (int i = 0; i < sh->nrooms_arr; i++)
		json_array_append_new(a, room_json(sh->rooms[i]));
	return elements(a);
}

char *api_recs_snapshot(struct shard *sh)
{
	json_t *a = json_array();
	struct rec_status st;
	for (int i = 0; i < sh->nrecs; i++) {
		recorder_status(sh->recs[i], &st);
		json_array_append_new(a, rec_json(&st));
	}
	return elements(a);
}

/* Signaling thread: "[" every shard's part "]". Caller frees. */
static char *joined_parts(struct server *s, bool recs)
{
	size_t n = 3;
	pthread_mutex_lock(&s->snap_lock);
	for (int i = 0; i < s->nshards; i++) {
		const char *t = recs ? s->shards[i]->snap_recs : s->shards[i]->snap_rooms;
		n += (t ? strlen(t) : 0) + 1;
	}
	char *out = malloc(n), *w = out;
	if (out) {
		*w++ = '[';
		for (int i = 0; i < s->nshards; i++) {
			const char *t = recs ? s->shards[i]->snap_recs : s->shards[i]->snap_rooms;
			if (!t || !*t)
				continue;
			if (w > out + 1)
				*w++ = ',';
			w = stpcpy(w, t);
		}
		strcpy(w, "]");
	}
	pthread_mutex_unlock(&s->snap_lock);
	return out;
}

/* Any thread: finished recordings (oldest first), then the active ones. */
static json_t *recordings_now(struct server *s)
{
	char *active = joined_parts(s, true);
	json_t *a = json_array();
	pthread_mutex_lock(&s->snap_lock);
	for (int i = 0; i < s->nhist; i++)
		json_array_append_new(a,
		                      rec_json(&s->hist[(s->hist_head + i) % SERVER_REC_HISTORY]));
	pthread_mutex_unlock(&s->snap_lock);
	json_t *b = json_loads(active ? active : "[]", 0, NULL);
	json_array_extend(a, b);
	json_decref(b);
	free(active);
	return a;
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

/* Replies with o (taken over). */
static void reply_json(struct ws_http_reply *r, int status, json_t *o)
{
	reply_owned(r, status, o ? json_dumps(o, API_JSON) : NULL);
	json_decref(o);
}

static void reply_error(struct ws_http_reply *r, int status, const char *code, const char *msg)
{
	json_t *o = json_pack("{s:s,s:s}", "error", code, "message", msg);
	reply_owned(r, status, o ? json_dumps(o, JSON_COMPACT) : NULL);
	json_decref(o);
}

/* ---- POST/DELETE: a command to the room's loop, answered later (WS_HTTP_DEFER) ---- */

struct api_call {
	struct server *srv;
	struct shard *sh;
	uint64_t id;        /* the deferred HTTP request */
	int pending_status; /* the answer from the writer thread, sent after a snapshot update */
	char *pending_body;
	/* the request */
	char room[SIG_MAX_ROOM + 1];
	char format[8];
	struct room_rec_opts opts;
};

static struct api_call *call_new(struct server *s, const char *room, uint64_t id)
{
	struct api_call *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->srv = s;
	c->id = id;
	snprintf(c->room, sizeof(c->room), "%s", room);
	return c;
}

/* Any thread: sends the answer (body owned) and frees the call. */
static void call_finish(struct api_call *c, int status, char *body)
{
	struct ws_http_reply r = {0};
	reply_owned(&r, status, body);
	server_http_done(c->srv, c->id, &r);
	free(c->pending_body);
	free(c);
}

static char *error_text(const char *code, const char *msg, const struct rec_status *st)
{
	json_t *o = json_pack("{s:s,s:s}", "error", code, "message", msg);
	if (o && st)
		json_object_set_new(o, "recording", rec_json(st));
	char *t = o ? json_dumps(o, API_JSON) : NULL;
	json_decref(o);
	return t;
}

/* The room's loop: the snapshots show the new state before the reply goes. */
static void finish_after_snapshot(struct shard *sh, void *data)
{
	struct api_call *c = data;
	shard_update_snapshot(sh);
	char *body = c->pending_body;
	c->pending_body = NULL;
	call_finish(c, c->pending_status, body);
}

/* Writer thread: hands the answer to the room's loop (or answers at once if it is busy). */
static void answer_via_loop(struct api_call *c, int status, char *body)
{
	c->pending_status = status;
	c->pending_body = body;
	if (server_invoke(c->srv, c->sh, finish_after_snapshot, c) < 0) {
		c->pending_body = NULL;
		call_finish(c, status, body);
	}
}

/* Writer thread: the file was created, or could not be. */
static void on_opened(void *opaque, const struct rec_status *st)
{
	bool failed = st->state == REC_FAILED;
	answer_via_loop(opaque, failed ? 500 : 201, rec_text(st));
}

/* Writer thread: the file is finished. */
static void on_finished(void *opaque, const struct rec_status *st)
{
	answer_via_loop(opaque, 200, rec_text(st));
}

/* The room's loop. */
static void do_start(struct shard *sh, void *data)
{
	struct api_call *c = data;
	struct room *r = shard_find_room(sh, c->room);
	if (!r) {
		call_finish(c, 404, error_text("no-such-room", "no such room", NULL));
		return;
	}
	int rc = room_start_recording(r, &c->opts, on_opened, c);
	if (rc == 0) {
		shard_update_snapshot(sh);
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

/* The room's loop. */
static void do_stop(struct shard *sh, void *data)
{
	struct api_call *c = data;
	struct room *r = shard_find_room(sh, c->room);
	if (!r || room_stop_recording(r, on_finished, c) < 0) {
		call_finish(c, 404,
		            error_text("not-recording", "the room is not being recorded", NULL));
		return;
	}
	shard_update_snapshot(sh);
}

/* Signaling thread: posts fn to the room's loop; the reply follows from there. */
static void call_run(struct server *s, struct api_call *c, void (*fn)(struct shard *sh, void *data),
                     struct ws_http_reply *reply)
{
	c->sh = server_room_shard(s, c->room);
	if (!c->sh) {
		free(c);
		reply_error(reply, 404, "no-such-room", "no such room");
		return;
	}
	if (server_invoke(s, c->sh, fn, c) < 0) {
		free(c);
		reply_error(reply, 503, "server-busy", "too many requests in flight, retry");
		return;
	}
	reply->status = WS_HTTP_DEFER;
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
	json_t *a = recordings_now(s);
	json_t *found = NULL, *v;
	size_t i;
	json_array_foreach(a, i, v)
	{
		if (!strcmp(json_string_value(json_object_get(v, "room")) ?: "", room))
			found = v;
	}
	if (found)
		reply_owned(reply, 200, json_dumps(found, API_JSON));
	else
		reply_error(reply, 404, "not-recording", "no recording of this room");
	json_decref(a);
}

static void recording_api(struct server *s, const struct ws_http_request *req, const char *room,
                          struct ws_http_reply *reply)
{
	const char *method = req->method;
	if (!strcmp(method, "GET")) {
		get_recording(s, room, reply);
		return;
	}
	if (strcmp(method, "POST") && strcmp(method, "DELETE")) {
		reply_text(reply, 405, "{\"error\":\"method-not-allowed\"}");
		return;
	}
	struct api_call *c = call_new(s, room, req->id);
	if (!c) {
		reply_error(reply, 503, "server-busy", "out of memory");
		return;
	}
	bool post = !strcmp(method, "POST");
	int bad = post ? parse_opts(req->body, req->body_len, c) : 0;
	if (bad < 0) {
		const char *why = NULL;
		recorder_check_format(c->format, &why);
		free(c);
		if (bad == -ENOTSUP)
			reply_error(reply, 501, "unsupported-format", why);
		else
			reply_error(reply, 400, "bad-field",
			            "body: {\"format\":\"webm\"|\"mkv\"|\"mp4\", \"width\", "
			            "\"height\", \"bitrate\"}");
		return;
	}
	call_run(s, c, post ? do_start : do_stop, reply);
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

/* Whether a recording still being written has this file name (now: recordings_now's). */
static bool is_active(json_t *now, const char *file)
{
	bool active = false;
	json_t *v;
	size_t i;
	json_array_foreach(now, i, v)
	{
		const char *st = json_string_value(json_object_get(v, "state")) ?: "";
		const char *f = json_string_value(json_object_get(v, "file")) ?: "";
		if (!strcmp(f, file) && strcmp(st, "finished") && strcmp(st, "failed"))
			active = true;
	}
	return active;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Any thread: the finished files of the recordings directory, by name. */
static json_t *recording_files(struct server *s)
{
	const char *dir = s->cfg->recordings_dir;
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, by_name);
	json_t *a = json_array(), *now = n > 0 ? recordings_now(s) : NULL;
	for (int i = 0; i < n; i++) {
		const char *f = ents[i]->d_name;
		char path[REC_MAX_PATH + 256];
		struct stat sb;
		snprintf(path, sizeof(path), "%s/%s", dir, f);
		if (file_name_ok(f) && !is_active(now, f) && lstat(path, &sb) == 0 &&
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
	json_decref(now);
	return a;
}

char *server_recordings_json(struct server *s, int max)
{
	json_t *a = recording_files(s);
	while (max >= 0 && json_array_size(a) > (size_t)max)
		json_array_remove(a, 0);
	char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

/* GET /api/recordings: ours; in a cluster each file with its node, and the other nodes' as of
 * the last beat (their urls on their node). */
static void list_recordings(struct server *s, struct ws_http_reply *reply)
{
	json_t *a = recording_files(s), *r;
	size_t i;
	if (s->cluster) {
		json_array_foreach(a, i, r)
		{
			json_object_set_new(r, "node", json_string(cluster_id(s->cluster)));
		}
		json_t *others = cluster_recordings(s->cluster);
		json_array_extend(a, others); /* copies its items' references */
		json_decref(others);
	}
	reply_json(reply, 200, a);
}

/* In a cluster: a file another node holds (its listing as of the last beat) is redirected
 * there (307, Location: its url on that node). false if no node lists it. */
static bool redirect_to_holder(struct server *s, const char *file, struct ws_http_reply *reply)
{
	json_t *others = s->cluster ? cluster_recordings(s->cluster) : NULL, *f;
	size_t i;
	bool found = false;
	json_array_foreach(others, i, f)
	{
		const char *name = json_string_value(json_object_get(f, "file"));
		const char *url = json_string_value(json_object_get(f, "url"));
		if (!found && name && url && !strcmp(name, file) &&
		    strlen(url) < sizeof(reply->location)) {
			snprintf(reply->location, sizeof(reply->location), "%s", url);
			reply_json(reply, 307,
			           json_pack("{s:s,s:s,s:O}", "error", "elsewhere", "url", url,
			                     "node", json_object_get(f, "node")));
			found = true;
		}
	}
	json_decref(others);
	return found;
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
	if (!ok && redirect_to_holder(s, file, reply))
		return;
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

/* ---- GET /api/stats: counters from every loop, gathered asynchronously ---- */

/* clang-format off */
#define PEER_STAT_FIELDS \
	X(rtp_in) X(rtcp_in) X(srtp_errors) X(rtp_dropped) X(unknown_ssrc) X(dtls_in) \
	X(nacks_sent) X(nacks_received) X(retransmits) X(retransmits_limited) X(plis_sent) \
	X(plis_received) X(plis_limited) X(remb_received) X(frames_in) X(frames_dropped) \
	X(twcc_sent) X(twcc_received) X(rtx_in) X(rtx_padding) X(padding_sent) \
	X(packets_lost_in) X(packets_lost_out)
/* clang-format on */

void server_peer_stats_add(struct peer_stats *sum, const struct peer_stats *st)
{
#define X(f) sum->f += st->f;
	PEER_STAT_FIELDS
#undef X
}

static json_t *peers_json(const struct peer_stats *t)
{
	json_t *o = json_object();
#define X(f) json_object_set_new(o, #f, json_integer((json_int_t)t->f));
	PEER_STAT_FIELDS
#undef X
	return o;
}

/* ---- shared with api_rooms.c (api_int.h) ---- */

void api_reply_owned(struct ws_http_reply *r, int status, char *text)
{
	reply_owned(r, status, text);
}

void api_reply_error(struct ws_http_reply *r, int status, const char *code, const char *msg)
{
	reply_error(r, status, code, msg);
}

json_t *api_rec_json(const struct rec_status *st)
{
	return rec_json(st);
}

json_t *api_peer_stats_json(const struct peer_stats *t)
{
	return peers_json(t);
}

double api_round3(double v)
{
	return round(v * 1000) / 1000;
}

#define C(f) (json_int_t) atomic_load(&t->f)
static json_t *server_json(struct server *s)
{
	const struct server_counters *t = &s->ctr;
	int rooms, participants;
	server_counts(s, &rooms, &participants);
	return json_pack("{s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rooms", rooms,
	                 "participants", participants, "joins", C(joins), "leaves", C(leaves),
	                 "offers", C(offers), "errors_sent", C(errors_sent), "busy_rejects",
	                 C(busy_rejects), "rooms_created", C(rooms_created), "rooms_freed",
	                 C(rooms_freed), "ice_failed", C(ice_failed), "dtls_failed", C(dtls_failed),
	                 "auth_failures", C(auth_failures), "api_auth_failures",
	                 C(api_auth_failures));
}
#undef C

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

/* Each loop: load, CPU, rooms and peers. */
static json_t *loops_json(struct server *s)
{
	json_t *a = json_array();
	for (int i = 0; i < s->nshards; i++) {
		struct shard *sh = s->shards[i];
		uint64_t posted;
		int maxq;
		loop_post_stats(sh->loop, &posted, &maxq);
		double cpu_seconds_to_millisecond = ROUND3(loop_cpu_seconds(sh->loop));
		json_array_append_new(a, json_pack("{s:i,s:f,s:f,s:i,s:i,s:I,s:i}", "index", i,
		                                   "load", loop_load_permille(sh->loop) / 1000.0,
		                                   "cpu_s", cpu_seconds_to_millisecond, "rooms",
		                                   atomic_load(&sh->nrooms), "participants",
		                                   atomic_load(&sh->npeers), "posted",
		                                   (json_int_t)posted, "max_queued", maxq));
	}
	return a;
}

/* Open file descriptors and resident memory of the process. */
static json_t *process_json(struct server *s)
{
	int fds = 0;
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *e; d && (e = readdir(d));)
		fds += e->d_name[0] != '.';
	if (d)
		closedir(d);
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f && fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	if (f)
		fclose(f);
	int rooms, participants;
	server_counts(s, &rooms, &participants);
	struct rlimit rl = {0};
	getrlimit(RLIMIT_NOFILE, &rl);
	double per = ROUND3(participants ? (double)fds / participants : 0.0);
	return json_pack("{s:i,s:I,s:f,s:I}", "fds", fds, "fd_limit", (json_int_t)rl.rlim_cur,
	                 "fds_per_participant", per, "rss_kib",
	                 (json_int_t)(rss * (sysconf(_SC_PAGESIZE) / 1024)));
}

struct stats_call {
	struct server *srv;
	uint64_t id;
	pthread_mutex_t lock;
	int left; /* loops still to report */
	bool partial;
	struct peer_stats sum;
	struct mix_latency lat; /* every room's stages, merged */
	bool metrics;           /* GET /metrics: the Prometheus text of the same figures */
	struct live live;       /* the figures of the moment */
};

/* Milliseconds with one decimal, or null for an empty stage. */
static json_t *ms_json(const struct lat_hist *h, double q)
{
	double us = lat_hist_quantile_us(h, q);
	return us < 0 ? json_null() : json_real(round(us / 100.0) / 10.0);
}

/* {"video": {"reorder": {"p50_ms", "p95_ms", "n"}, ...}, "audio": {...}} */
static json_t *latency_json(const struct mix_latency *l)
{
	json_t *kind[2] = {json_object(), json_object()}; /* audio, video */
	for (int i = 0; i < MIX_LAT_COUNT; i++) {
		const struct lat_hist *h = &l->h[i];
		json_object_set_new(kind[mix_lat_stage_is_video(i)], mix_lat_stage_name(i),
		                    json_pack("{s:o,s:o,s:I}", "p50_ms", ms_json(h, 0.5), "p95_ms",
		                              ms_json(h, 0.95), "n",
		                              (json_int_t)lat_hist_count(h)));
	}
	return json_pack("{s:o,s:o}", "video", kind[1], "audio", kind[0]);
}

static void stats_done(struct stats_call *c)
{
	struct server *s = c->srv;
	json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "server", server_json(s),
	                      "signaling", signaling_json(s), "peers", peers_json(&c->sum), "loops",
	                      loops_json(s), "process", process_json(s), "latency",
	                      latency_json(&c->lat), "webhooks", webhook_stats_json(s->webhook));
	if (o) {
		json_object_set_new(o, "media", live_json(&c->live));
		live_loops_json(&c->live, json_object_get(o, "loops"));
		live_server_json(s, &c->live, json_object_get(o, "server"));
	}
	struct ws_http_reply r = {0};
	if (c->partial) {
		reply_error(&r, 503, "server-busy", "too many requests in flight, retry");
	} else if (c->metrics) {
		char *text = o ? metrics_render(o) : NULL;
		reply_owned(&r, text ? 200 : 500, text);
		r.content_type = METRICS_CONTENT_TYPE;
	} else {
		reply_owned(&r, o ? 200 : 500,
		            o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL);
	}
	json_decref(o);
	server_http_done(s, c->id, &r);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* One loop's share (or a loop that could not be asked: partial). The last one replies. */
static void stats_part(struct stats_call *c, struct shard *sh)
{
	pthread_mutex_lock(&c->lock);
	if (sh) {
		shard_peer_stats(sh, &c->sum);
		shard_latency(sh, &c->lat, mix_mono_us());
		live_add_shard(&c->live, sh);
	} else
		c->partial = true;
	bool last = --c->left == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		stats_done(c);
}

static void do_stats(struct shard *sh, void *data)
{
	stats_part(data, sh);
}

/* GET /api/stats, or with metrics GET /metrics: asks every loop, the last one replies. */
static void get_stats(struct server *s, uint64_t id, bool metrics, struct ws_http_reply *reply)
{
	struct stats_call *c = calloc(1, sizeof(*c));
	if (!c) {
		reply_error(reply, 503, "server-busy", "out of memory");
		return;
	}
	c->srv = s;
	c->id = id;
	c->metrics = metrics;
	c->left = s->nshards;
	mix_latency_init(&c->lat, 0, 0);
	pthread_mutex_init(&c->lock, NULL);
	reply->status = WS_HTTP_DEFER; /* set first: the last part may reply before we return */
	int n = s->nshards;
	for (int i = 0; i < n; i++)
		if (server_invoke(s, s->shards[i], do_stats, c) < 0)
			stats_part(c, NULL);
}

/* ---- GET /healthz and /readyz: open (no token), for load balancers and orchestrators ---- */

#define LOOP_STALLED_MS 5000 /* a loop whose 1 s load timer has not run for this long */

/* Each loop's heartbeat age (ms) as a JSON array; *stalled if one is over LOOP_STALLED_MS. */
static json_t *loop_ages(struct server *s, bool *stalled)
{
	json_t *a = json_array();
	for (int i = 0; a && i < s->nshards; i++) {
		int64_t age = loop_beat_age_ms(s->shards[i]->loop);
		*stalled = *stalled || age > LOOP_STALLED_MS;
		json_array_append_new(a, json_integer((json_int_t)age));
	}
	return a;
}

/*
 * /healthz: 200 while every loop runs (503 "loop-stalled" otherwise). /readyz: also 503
 * "server-full" when no new room fits (joins to existing rooms may still work).
 */
static void health(struct server *s, bool ready, struct ws_http_reply *reply)
{
	bool stalled = false;
	json_t *ages = loop_ages(s, &stalled);
	int rooms, participants;
	server_counts(s, &rooms, &participants);
	const char *why = stalled                               ? "loop-stalled"
	                  : ready && rooms >= s->cfg->max_rooms ? "server-full"
	                                                        : NULL;
	json_t *o = json_pack("{s:s,s:o*,s:i,s:i,s:i}", "status", why ? why : "ok",
	                      "loop_beat_age_ms", ages, "rooms", rooms, "max_rooms",
	                      s->cfg->max_rooms, "participants", participants);
	reply_owned(reply, why ? 503 : 200, o ? json_dumps(o, JSON_COMPACT) : NULL);
	json_decref(o);
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
	atomic_fetch_add(&s->ctr.api_auth_failures, 1);
	char msg[96];
	snprintf(msg, sizeof(msg), "a valid Bearer token is needed (%s)", why);
	reply_error(reply, 401, "unauthorized", msg);
	return false;
}

char *server_rooms_json(struct server *s)
{
	return joined_parts(s, false);
}

/* GET /api/rooms in a cluster: ours and, as of the last beat, the other nodes', each with its
 * node. */
static void cluster_rooms_reply(struct server *s, struct ws_http_reply *reply)
{
	char *text = joined_parts(s, false);
	json_t *a = text ? json_loads(text, 0, NULL) : NULL, *r;
	free(text);
	size_t i;
	json_array_foreach(a, i, r)
	{
		json_object_set_new(r, "node", json_string(cluster_id(s->cluster)));
	}
	json_t *others = a ? cluster_rooms(s->cluster) : NULL;
	if (others)
		json_array_extend(a, others); /* copies its items' references */
	json_decref(others);
	reply_json(reply, a ? 200 : 500, a);
}

/*
 * A call about one room: in a cluster, one running on another node is forwarded there (the
 * reply comes back later), unless `here` (it was forwarded to us, or placed here).
 */
static bool forwarded(struct server *s, const struct ws_http_request *req, const char *room,
                      bool here, struct ws_http_reply *reply)
{
	if (!s->cluster || here || server_room_shard(s, room) ||
	    !cluster_take_http(s->cluster, req, room))
		return false;
	reply->status = WS_HTTP_DEFER;
	return true;
}

static void on_http(struct server *s, const struct ws_http_request *req,
                    struct ws_http_reply *reply, bool here)
{
	const char *method = req->method, *path = req->path;
	char room[SIG_MAX_ROOM + 1];
	bool healthz = !strcmp(path, "/healthz"), readyz = !strcmp(path, "/readyz");
	if ((healthz || readyz) && !strcmp(method, "GET")) {
		health(s, readyz, reply);
		return;
	}
	if (recording_path(path, room)) {
		if (authorized(s, req, room, TOKEN_ADMIN, reply) &&
		    !forwarded(s, req, room, here, reply))
			recording_api(s, req, room, reply);
		return;
	}
	if (api_rooms_path(path, room)) {
		if (authorized(s, req, room, TOKEN_ADMIN, reply) &&
		    !forwarded(s, req, room, here, reply))
			api_rooms(s, req, room, reply);
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
	if (config && s->cluster) { /* the page reconnects to another node when its node dies */
		json_t *o = json_pack("{s:o,s:o}", "iceServers",
		                      json_loads(s->cfg->ice_servers_json, 0, NULL), "nodes",
		                      cluster_urls(s->cluster));
		reply_json(reply, 200, o);
	} else if (config) {
		char buf[1200];
		snprintf(buf, sizeof(buf), "{\"iceServers\":%s}", s->cfg->ice_servers_json);
		reply_text(reply, 200, buf);
	} else if (!strcmp(path, "/api/rooms") && s->cluster) {
		cluster_rooms_reply(s, reply);
	} else if (!strcmp(path, "/api/rooms")) {
		reply_owned(reply, 200, joined_parts(s, false));
	} else if (!strcmp(path, "/api/stats")) {
		get_stats(s, req->id, false, reply);
	} else if (!strcmp(path, "/metrics")) {
		get_stats(s, req->id, true, reply);
	} else if (!strcmp(path, "/api/cluster")) {
		if (s->cluster)
			reply_json(reply, 200, cluster_json(s->cluster));
		else
			reply_error(reply, 404, "not-found",
			            "this node is not in a cluster (--cluster)");
	} else if (!strcmp(path, "/api/recordings")) {
		list_recordings(s, reply);
	} else if (!strncmp(path, "/api/recordings/", 16)) {
		download(s, path + 16, reply);
	} else {
		reply_text(reply, 404, "{\"error\":\"not-found\"}");
	}
}

void server_on_http(void *opaque, const struct ws_http_request *req, struct ws_http_reply *reply)
{
	on_http(opaque, req, reply, false);
}

void server_http_here(struct server *s, const struct ws_http_request *req,
                      struct ws_http_reply *reply)
{
	on_http(s, req, reply, true);
}
