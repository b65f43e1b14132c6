/*
 * fuzz_http_api.c - libFuzzer target for the HTTP API's request handling (server_on_http in
 * src/session/api.c with the token checks of src/auth/token.c), as ws.c hands requests over:
 * a method of GET/POST/DELETE, a path under /api (at most 1023 bytes, no query), the
 * Authorization header and an optional body.
 *
 * Input: byte 0 picks the server (bit 0: with a secret) and the method (bits 1-2); the rest is
 * "PATH\nAUTHORIZATION\nBODY". Two servers live for the whole run, each with two event loops
 * (session/server.h) so the deferred replies (GET /api/stats gathers from every loop) really
 * cross threads, no rooms, and a recordings directory holding one file. A deferred reply is
 * caught by the server's http_done hook instead of ws.c and waited for (at most 10 s).
 * Invariants: a status in 100..599, a JSON reply that parses, and every deferred request
 * answered exactly once.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <jansson.h>

#include "failalloc.h"
#include "config.h"
#include "session/server.h"
#include "signal/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "fuzz-secret"

static struct server *servers[2];

/* The deferred reply of the request in flight (one at a time: libFuzzer runs one input). */
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static uint64_t done_id;
static int done_count;
static struct ws_http_reply done_reply;

static int catch_reply(void *ctx, uint64_t id, struct ws_http_reply *reply)
{
	pthread_mutex_lock(&done_lock);
	done_id = id;
	done_count++;
	done_reply = *reply;
	pthread_cond_signal(&done_cond);
	pthread_mutex_unlock(&done_lock);
	return 0;
}

/* Waits for the deferred reply of request id; aborts after 10 s or on a wrong id. */
static void wait_reply(uint64_t id, struct ws_http_reply *out)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&done_lock);
	while (done_count == 0)
		if (pthread_cond_timedwait(&done_cond, &done_lock, &until) != 0)
			abort();
	if (done_count != 1 || done_id != id)
		abort();
	*out = done_reply;
	done_count = 0;
	pthread_mutex_unlock(&done_lock);
}

static struct server *server_start_fuzz(const char *dir, bool secret)
{
	struct mcu_config *c = calloc(1, sizeof(*c));
	struct server *s = calloc(1, sizeof(*s));
	if (!c || !s)
		abort();
	snprintf(c->recordings_dir, sizeof(c->recordings_dir), "%s", dir);
	snprintf(c->ice_servers_json, sizeof(c->ice_servers_json), "[]");
	if (secret)
		snprintf(c->secret, sizeof(c->secret), "%s", SECRET);
	c->loops = 2;
	c->max_rooms = 1;
	c->max_participants = 1;
	s->http_done = catch_reply;
	s->http_done_ctx = s;
	if (server_init(s, c, NULL) < 0 || server_start(s) < 0)
		abort();
	return s;
}

static void setup(void)
{
	static char dir[] = "/tmp/fuzz_http_api.XXXXXX";
	if (!mkdtemp(dir))
		abort();
	char path[64];
	snprintf(path, sizeof(path), "%s/room-1.webm", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	fputs("\x1a\x45\xdf\xa3 not really a webm", f);
	fclose(f);
	servers[0] = server_start_fuzz(dir, false);
	servers[1] = server_start_fuzz(dir, true);
}

/* Copies the next '\n'-terminated field (or the rest) into out; advances *p. */
static size_t field(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl ? nl : end) - *p);
	size_t k = n < cap - 1 ? n : cap - 1;
	memcpy(out, *p, k);
	out[k] = '\0';
	*p += n + (nl ? 1 : 0);
	return k;
}

static void check_reply(const struct ws_http_reply *r)
{
	if (r->status < 100 || r->status > 599)
		abort();
	if (!r->body || !r->content_type || strcmp(r->content_type, "application/json") != 0)
		return;
	json_t *o = json_loadb(r->body, r->body_len, 0, NULL);
	if (!o)
		abort();
	json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, setup); /* before the first failalloc_reset: never fails */
	failalloc_reset(data, size);
	if (size < 1)
		return 0;
	static const char *methods[] = {"GET", "POST", "DELETE", "GET"};
	struct server *s = servers[data[0] & 1];
	const char *method = methods[(data[0] >> 1) & 3];
	const uint8_t *p = data + 1, *end = data + size;
	char path[1024], auth[1024];
	char raw[1024];
	field(&p, end, raw, sizeof(raw));
	/* ws.c passes only "/api" and "/api/..." paths, NUL-free (the copy stops at a NUL). */
	if (!strcmp(raw, "/api") || !strncmp(raw, "/api/", 5))
		snprintf(path, sizeof(path), "%s", raw);
	else
		snprintf(path, sizeof(path), "/api/%.1000s", raw);
	field(&p, end, auth, sizeof(auth));
	size_t blen = (size_t)(end - p);
	char *body = NULL;
	if (blen) {
		body = malloc(blen + 1); /* ws.c NUL-terminates bodies */
		if (!body)
			return 0;
		memcpy(body, p, blen);
		body[blen] = '\0';
	}
	static uint64_t next_id;
	struct ws_http_request req = {.method = method,
	                              .path = path,
	                              .body = body,
	                              .body_len = blen,
	                              .authorization = auth,
	                              .id = ++next_id};
	struct ws_http_reply reply = {.status = 404};
	server_on_http(s, &req, &reply);
	if (reply.status == WS_HTTP_DEFER)
		wait_reply(req.id, &reply);
	check_reply(&reply);
	if (reply.file && reply.status != 200)
		abort();
	free(reply.file);
	free(reply.body);
	free(body);
	return 0;
}
