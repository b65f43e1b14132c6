/*
 * test_server.c - session/server.c and shard.c without sockets: a server with two event loops
 * gets JSON messages as the signaling thread would hand them over (no WebSocket: replies are
 * dropped), and the registry is checked from outside. New rooms are spread over the loops, a
 * room's participants share its loop, limits hold, a room is freed with its last participant,
 * a connection may leave and join again, and the server tears down rooms still in use.
 */
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

#include "config.h"
#include "log.h"
#include "session/server.h"
#include "session/shard.h"
#include "signal/ws.h"

static struct mcu_config cfg;
static struct server srv;

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
	assert_int_equal(server_init(&srv, &cfg, NULL), 0);
	assert_int_equal(server_start(&srv), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	server_fini(&srv);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rooms_spread_over_loops, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_room_shares_its_loop_and_limits_hold, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_last_leave_frees_room_and_rejoin, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
