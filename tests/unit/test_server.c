/*
 * test_server.c - session/server.c and shard.c without sockets: a server with two event loops
 * gets JSON messages as the signaling thread would hand them over (no WebSocket: replies are
 * dropped), and the registry is checked from outside. New rooms are spread over the loops, a
 * room's participants share its loop, limits hold, a room is freed with its last participant,
 * a connection may leave and join again, the server tears down rooms still in use, and rooms
 * made by PUT are held (not freed when empty) until DELETE. A peer whose ICE never connects is
 * dropped at the handshake deadline as ice-failed (not dtls-failed), and the numbers of
 * GET /api/stats have three decimals at most.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "log.h"
#include "net/dtls.h"
#include "session/room.h"
#include "session/server.h"
#include "session/shard.h"
#include "signal/ws.h"

static struct mcu_config cfg;
static struct server srv;
static struct dtls_cert *cert;

/* Deferred HTTP replies (GET /api/stats), caught instead of going to ws.c. */
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static char *done_body;
static int done_status;

static int catch_reply(void *ctx, uint64_t id, struct ws_http_reply *r)
{
	pthread_mutex_lock(&done_lock);
	free(done_body);
	done_body = r->body;
	done_status = r->status;
	r->body = NULL;
	pthread_mutex_unlock(&done_lock);
	free(r->file);
	r->file = NULL;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	char *argv[] = {"mcu", NULL};
	assert_int_equal(mcu_config_load(&cfg, 1, argv), 0);
	mcu_log_set_level(MCU_LOG_WARN);
	cfg.loops = 2;
	cfg.max_participants = 3;
	cfg.max_rooms = 5;
	cfg.secret[0] = '\0';
	memset(&srv, 0, sizeof(srv));
	srv.http_done = catch_reply;
	assert_int_equal(server_init(&srv, &cfg, cert), 0);
	assert_int_equal(server_start(&srv), 0);
	return 0;
}

/* The same with a DTLS certificate (offers are answered) and a 1 s handshake deadline. */
static int setup_media(void **state)
{
	char err[256];
	assert_int_equal(dtls_cert_new(&cert, NULL, NULL, err, sizeof(err)), 0);
	char *argv[] = {"mcu", NULL};
	assert_int_equal(mcu_config_load(&cfg, 1, argv), 0);
	mcu_log_set_level(MCU_LOG_ERROR);
	cfg.loops = 1;
	memset(&srv, 0, sizeof(srv));
	assert_int_equal(server_init(&srv, &cfg, cert), 0);
	srv.shards[0]->env.handshake_us = 1000000;
	assert_int_equal(server_start(&srv), 0);
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	server_fini(&srv);
	dtls_cert_free(&cert);
	pthread_mutex_lock(&done_lock);
	free(done_body);
	done_body = NULL;
	pthread_mutex_unlock(&done_lock);
	return 0;
}

static void send_msg(uint64_t conn, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	server_on_message(&srv, conn, text, strlen(text));
}

static void join(uint64_t conn, const char *room)
{
	send_msg(conn, "{\"type\":\"join\",\"room\":\"%s\",\"name\":\"p%llu\"}", room,
	         (unsigned long long)conn);
}

/* GET path through the HTTP API: its status, and whether its body contains want. */
static int probe(const char *path, const char *want)
{
	struct ws_http_request req = {.id = 1, .method = "GET", .path = path, .authorization = ""};
	struct ws_http_reply reply = {0};
	server_on_http(&srv, &req, &reply);
	assert_non_null(reply.body);
	if (want && !strstr(reply.body, want))
		fail_msg("%s: %s has no %s", path, reply.body, want);
	free(reply.body);
	return reply.status;
}

static int peers_on_loops(void)
{
	int n = 0;
	for (int i = 0; i < srv.nshards; i++)
		n += atomic_load(&srv.shards[i]->npeers);
	return n;
}

/* Waits (at most 5 s) until the loops hold n peers. */
static void wait_peers(int n)
{
	for (int i = 0; i < 500 && peers_on_loops() != n; i++)
		usleep(10000);
	assert_int_equal(peers_on_loops(), n);
}

static void test_rooms_spread_over_loops(void **state)
{
	(void)state;
	join(1, "a");
	join(2, "b");
	join(3, "c");
	join(4, "d");
	wait_peers(4);
	struct shard *a = server_room_shard(&srv, "a"), *b = server_room_shard(&srv, "b");
	struct shard *c = server_room_shard(&srv, "c"), *d = server_room_shard(&srv, "d");
	assert_non_null(a);
	/* Loads are equal (idle), so rooms alternate by count. */
	int on0 = (a == srv.shards[0]) + (b == srv.shards[0]) + (c == srv.shards[0]) +
	          (d == srv.shards[0]);
	assert_int_equal(on0, 2);
	assert_int_equal(atomic_load(&srv.shards[0]->nrooms), 2);
	assert_int_equal(atomic_load(&srv.shards[1]->nrooms), 2);
	int rooms, people;
	server_counts(&srv, &rooms, &people);
	assert_int_equal(rooms, 4);
	assert_int_equal(people, 4);
}

static void test_room_shares_its_loop_and_limits_hold(void **state)
{
	(void)state;
	assert_int_equal(probe("/readyz", "\"ok\""), 200);
	join(1, "a");
	wait_peers(1);
	struct shard *sh = server_room_shard(&srv, "a");
	join(2, "a");
	join(3, "a");
	join(4, "a"); /* over max_participants (3): refused */
	join(1, "b"); /* conn 1 has already joined: refused */
	wait_peers(3);
	usleep(100000);
	assert_int_equal(atomic_load(&sh->npeers), 3);
	assert_int_equal(peers_on_loops(), 3);
	assert_null(server_room_shard(&srv, "b"));
	int rooms, people;
	server_counts(&srv, &rooms, &people);
	assert_int_equal(rooms, 1);
	assert_int_equal(people, 3);
	for (int i = 0; i < 5; i++) /* up to max_rooms */
		join(10 + (uint64_t)i, (const char *[]){"r1", "r2", "r3", "r4", "r5"}[i]);
	wait_peers(7);
	server_counts(&srv, &rooms, &people);
	assert_int_equal(rooms, 5);
	assert_null(server_room_shard(&srv, "r5"));
	/* full: not ready for a new room, but alive */
	assert_int_equal(probe("/readyz", "\"server-full\""), 503);
	assert_int_equal(probe("/healthz", "\"ok\""), 200);
	assert_true(atomic_load(&srv.ctr.errors_sent) >= 3);
}

static void test_last_leave_frees_room_and_rejoin(void **state)
{
	(void)state;
	join(1, "a");
	join(2, "a");
	wait_peers(2);
	send_msg(1, "{\"type\":\"leave\"}");
	wait_peers(1);
	assert_non_null(server_room_shard(&srv, "a"));
	server_on_close(&srv, 2);
	wait_peers(0);
	for (int i = 0; i < 500 && server_room_shard(&srv, "a"); i++)
		usleep(10000);
	assert_null(server_room_shard(&srv, "a"));
	assert_int_equal(atomic_load(&srv.ctr.rooms_freed), 1);
	join(1, "a"); /* the same connection joins again after its leave */
	wait_peers(1);
	assert_non_null(server_room_shard(&srv, "a"));
	send_msg(7, "{\"type\":\"offer\",\"sdp\":\"v=0\"}"); /* not joined: an error, no crash */
	server_on_close(&srv, 7);
	assert_int_equal(atomic_load(&srv.ctr.joins), 3);
	/* teardown frees room a and its peer on its loop */
}

/* Deferred HTTP replies, caught instead of ws.c's. */
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static int done_status;

static int on_done(void *ctx, uint64_t id, struct ws_http_reply *reply)
{
	(void)ctx;
	(void)id;
	pthread_mutex_lock(&done_mu);
	done_status = reply->status;
	pthread_mutex_unlock(&done_mu);
	free(reply->body);
	reply->body = NULL;
	return 0;
}

/* A request through the HTTP API; its status (waited for when deferred, at most 5 s). */
static int call(const char *method, const char *path, const char *body)
{
	struct ws_http_request req = {.id = 2,
	                              .method = method,
	                              .path = path,
	                              .authorization = "",
	                              .body = body,
	                              .body_len = body ? strlen(body) : 0};
	struct ws_http_reply reply = {0};
	pthread_mutex_lock(&done_mu);
	done_status = 0;
	pthread_mutex_unlock(&done_mu);
	server_on_http(&srv, &req, &reply);
	free(reply.body);
	if (reply.status != WS_HTTP_DEFER)
		return reply.status;
	int st = 0;
	for (int i = 0; i < 500 && !st; i++) {
		usleep(10000);
		pthread_mutex_lock(&done_mu);
		st = done_status;
		pthread_mutex_unlock(&done_mu);
	}
	return st;
}

/* A room made by PUT: counts as a room, its hold is no participant, it outlives its last
 * participant, DELETE ends it; PUTs beyond max_rooms are refused; teardown frees held rooms. */
static void test_put_room_held(void **state)
{
	(void)state;
	srv.http_done = on_done;
	assert_int_equal(call("PUT", "/api/rooms/held", "{\"max_participants\":2}"), 201);
	assert_int_equal(call("PUT", "/api/rooms/held", NULL), 409);
	assert_int_equal(call("PUT", "/api/rooms/x", "{\"layout\":\"nope\"}"), 400);
	int rooms, people;
	server_counts(&srv, &rooms, &people);
	assert_int_equal(rooms, 1);
	join(1, "held");
	join(2, "held");
	join(3, "held"); /* over the room's own limit (2) */
	wait_peers(2);
	usleep(100000);
	assert_int_equal(peers_on_loops(), 2);
	server_on_close(&srv, 1);
	server_on_close(&srv, 2);
	wait_peers(0);
	usleep(100000);
	assert_non_null(server_room_shard(&srv, "held")); /* still there, empty */
	assert_int_equal(call("GET", "/api/rooms/held", NULL), 200);
	assert_int_equal(call("DELETE", "/api/rooms/held", NULL), 200);
	assert_null(server_room_shard(&srv, "held"));
	assert_int_equal(call("DELETE", "/api/rooms/held", NULL), 404);
	for (int i = 0; i < 5; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/api/rooms/h%d", i);
		assert_int_equal(call("PUT", path, "{}"), 201);
	}
	assert_int_equal(call("PUT", "/api/rooms/h5", "{}"), 503); /* max_rooms */
	join(4, "h1");
	wait_peers(1); /* teardown: one held room in use, four empty */
}

/* A captured Chromium offer without its candidates (nothing for ICE to reach), as a
 * message. */
static char *offer_message(void)
{
	FILE *f = fopen("assets/sdp/chromium-sendrecv.sdp", "r");
	assert_non_null(f);
	char line[2048], sdp[32768] = "";
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, "a=candidate", 11))
			snprintf(sdp + strlen(sdp), sizeof(sdp) - strlen(sdp), "%s\r\n", line);
	}
	fclose(f);
	json_t *o = json_pack("{s:s,s:s}", "type", "offer", "sdp", sdp);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

static void test_handshake_without_ice_is_ice_failed(void **state)
{
	(void)state;
	join(1, "h");
	wait_peers(1);
	char *offer = offer_message();
	server_on_message(&srv, 1, offer, strlen(offer));
	free(offer);
	for (int i = 0; i < 500 && atomic_load(&srv.ctr.ice_failed) == 0; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&srv.ctr.ice_failed), 1);
	assert_int_equal(atomic_load(&srv.ctr.dtls_failed), 0);
	wait_peers(0); /* the peer was taken out of its room */
	assert_int_equal(atomic_load(&srv.ctr.offers), 1);
}

/* Every number with a fraction in text has at most three decimals. */
static void assert_three_decimals(const char *text)
{
	for (const char *c = text; *c; c++) {
		if (*c != '.' || c == text || c[-1] < '0' || c[-1] > '9')
			continue;
		size_t n = strspn(c + 1, "0123456789");
		if (n > 3)
			fail_msg("%.*s has %zu decimals in %s", (int)n + 8, c - 4, n, text);
	}
}

static void test_stats_three_decimals(void **state)
{
	(void)state;
	join(1, "a");
	wait_peers(1);
	usleep(300000); /* the loops have spent some CPU: cpu_s is not a round number */
	struct ws_http_request req = {
	    .id = 7, .method = "GET", .path = "/api/stats", .authorization = ""};
	struct ws_http_reply reply = {0};
	server_on_http(&srv, &req, &reply);
	assert_int_equal(reply.status, WS_HTTP_DEFER);
	char *body = NULL;
	int status = 0;
	for (int i = 0; i < 500 && !body; i++) {
		usleep(10000);
		pthread_mutex_lock(&done_lock);
		body = done_body;
		status = done_status;
		done_body = NULL;
		pthread_mutex_unlock(&done_lock);
	}
	assert_non_null(body);
	assert_int_equal(status, 200);
	assert_non_null(strstr(body, "\"cpu_s\":"));
	assert_three_decimals(body);
	free(body);
}

static int setup_big_rooms(void **state)
{
	int rc = setup(state);
	cfg.max_participants = 12; /* read at each join */
	return rc;
}

/* Views of their own cost an encoder each: a room takes ROOM_MAX_VIEWS distinct ones; one
 * that someone already has is shared and always fits. */
static void test_views_capped(void **state)
{
	(void)state;
	for (uint64_t c = 1; c <= 10; c++)
		join(c, "v");
	wait_peers(10);
	for (uint64_t c = 1; c <= 10; c++) /* ids 1..10 in join order: ten distinct pins */
		send_msg(c, "{\"type\":\"view\",\"pin\":\"%llu\"}",
		         (unsigned long long)(c % 10 + 1));
	send_msg(1, "{\"type\":\"view\",\"pin\":\"3\"}"); /* peer 2's view: shared, it fits */
	atomic_uint_fast64_t *refused = &srv.ctr.errors_by_code[SERVER_ERROR_CODES - 2];
	assert_string_equal(server_error_codes[SERVER_ERROR_CODES - 2], "too-many-views");
	for (int i = 0; i < 200 && atomic_load(refused) < 10 - ROOM_MAX_VIEWS; i++)
		usleep(10000);
	usleep(100000);
	assert_int_equal(atomic_load(refused), 10 - ROOM_MAX_VIEWS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rooms_spread_over_loops, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_room_shares_its_loop_and_limits_hold, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_last_leave_frees_room_and_rejoin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_room_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_views_capped, setup_big_rooms, teardown),
	    cmocka_unit_test_setup_teardown(test_stats_three_decimals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_handshake_without_ice_is_ice_failed, setup_media,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
