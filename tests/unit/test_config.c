/*
 * test_config.c - src/config.c: the config file and the flags are refused, with a message naming
 * the key or flag, the value and why, when a key is unknown or a value is one the server could
 * not use (bad layout, odd width, a flag that is not a number or out of range, ...); what is
 * accepted at the edges of each range, the media engine takes too (room_config_check). The
 * shipped docs/mcu.example.json loads through the real parser and gives the defaults, and every
 * key the parser knows is in it and in docs/CONFIG.md. Run from the repository's top directory.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "session/room.h"

#define EXAMPLE "docs/mcu.example.json"
#define DOC     "docs/CONFIG.md"

static struct mcu_config cfg;
static char err[4096];

/* mcu_config_load on argv (NULL-terminated, without argv[0]); its stderr goes to err. */
static int load_argv(const char *const *args)
{
	char *argv[32] = {"mcu"};
	int argc = 1;
	while (args[argc - 1])
		argv[argc] = (char *)args[argc - 1], argc++;
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	int saved = dup(2);
	dup2(fileno(tmp), 2);
	int rc = mcu_config_load(&cfg, argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(err, 1, sizeof(err) - 1, tmp);
	err[n] = '\0';
	fclose(tmp);
	return rc;
}

#define LOAD(...) load_argv((const char *const[]){__VA_ARGS__, NULL})

/* Writes json into a new temporary file named in path (at least 32 bytes). */
static void write_tmp(const char *json, char *path)
{
	strcpy(path, "/tmp/test_config_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
}

/* Loads a config file holding json (and no flags). */
static int load_json(const char *json)
{
	char path[32];
	write_tmp(json, path);
	int rc = LOAD("--config", path);
	unlink(path);
	return rc;
}

static void expect_refused(int rc, const char *want)
{
	assert_int_equal(rc, -EINVAL);
	if (!strstr(err, want))
		fail_msg("expected \"%s\" in the message, got: %s", want, err);
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_refused(load_json("{\"width\": 640, \"widht\": 640}"), "unknown key \"widht\"");
	expect_refused(load_json("{\"Layout\": \"grid\"}"), "unknown key \"Layout\"");
}

static void test_bad_layout(void **state)
{
	(void)state;
	expect_refused(load_json("{\"layout\": \"spekaer\"}"),
	               "layout \"spekaer\": must be grid or speaker");
	expect_refused(load_json("{\"layout\": 1}"), "layout 1: must be a string");
	assert_int_equal(load_json("{\"layout\": \"speaker\"}"), 0);
	assert_string_equal(cfg.layout, "speaker");
}

static void test_bad_width(void **state)
{
	(void)state;
	expect_refused(load_json("{\"width\": 1281}"), "width 1281: must be even, 16..4096");
	expect_refused(load_json("{\"height\": 4098}"), "height 4098: must be even, 16..4096");
	expect_refused(load_json("{\"width\": 14}"), "width 14");
	expect_refused(load_json("{\"width\": \"640\"}"), "width \"640\": must be an integer");
	expect_refused(load_json("{\"width\": 640.0}"), "must be an integer");
}

static void test_other_values(void **state)
{
	(void)state;
	expect_refused(load_json("{\"port\": 0}"), "port 0: must be 1..65535");
	expect_refused(load_json("{\"bind\": \"localhost\"}"), "bind \"localhost\": not a numeric");
	expect_refused(load_json("{\"public_ip\": \"1.2.3\"}"), "public_ip");
	expect_refused(load_json("{\"log_level\": \"loud\"}"), "log_level \"loud\"");
	expect_refused(load_json("{\"fps\": 61}"), "fps 61: must be 1..60");
	expect_refused(load_json("{\"rtx\": 1}"), "rtx 1: must be true or false");
	expect_refused(load_json("{\"simulcast\": \"yes\"}"),
	               "simulcast \"yes\": must be true or false");
	assert_int_equal(load_json("{}"), 0);
	assert_true(cfg.simulcast); /* the default */
	assert_int_equal(load_json("{\"simulcast\": false}"), 0);
	assert_false(cfg.simulcast);
	expect_refused(load_json("{\"netsim\": \"loss=101\"}"), "netsim \"loss=101\"");
	expect_refused(load_json("{\"recordings_dir\": \"\"}"), "recordings_dir \"\"");
	expect_refused(load_json("{\"ice_servers\": [{\"url\": \"stun:a\"}]}"),
	               "unknown key \"url\"");
	expect_refused(load_json("{\"ice_servers\": [{\"urls\": \"http://a\"}]}"), "urls");
	expect_refused(load_json("{\"ice_servers\": [{\"urls\": [\"turn:a\"]}]}"), "TURN");
	assert_int_equal(load_json("{\"ice_servers\": [{\"urls\": \"stun:a:3478\"}, {\"urls\": "
	                           "[\"turn:b\"], \"username\": \"u\", \"credential\": \"c\"}]}"),
	                 0);
	expect_refused(load_json("{\"playout_delay_min_ms\": 90}"),
	               "playout_delay_min_ms 90 is above playout_delay_ms 80");
	expect_refused(load_json("{\"tls_cert\": \"c.pem\"}"), "tls_cert and tls_key");
	expect_refused(load_json("{\"ladder\": \"640x361@30:500\"}"), "sizes must be even");
	expect_refused(load_json("{\"fps\": 25, \"ladder\": \"640x360@30:500\"}"), "must divide");
	expect_refused(load_json("[1, 2]"), "not a JSON object");
	expect_refused(load_json("{\"port\": 80, \"port\": 81}"), "duplicate");
}

static void test_flags(void **state)
{
	(void)state;
	expect_refused(LOAD("--port", "abc"), "mcu: --port abc: not a number");
	expect_refused(LOAD("--port", "70000"), "mcu: --port 70000: must be 1..65535");
	expect_refused(LOAD("--port", "99999999999999999999"), "must be 1..65535");
	expect_refused(LOAD("--port", ""), "mcu: --port : not a number");
	expect_refused(LOAD("--loops", "-1"), "mcu: --loops -1: must be 0..64");
	expect_refused(LOAD("--bind", "0.0.0"), "mcu: --bind 0.0.0: not a numeric");
	expect_refused(LOAD("--log-level", "verbose"), "--log-level verbose: must be error");
	expect_refused(LOAD("--netsim", "loss=x"), "mcu: --netsim loss=x:");
	expect_refused(LOAD("--prot", "5"), "unknown flag '--prot'");
	expect_refused(LOAD("--port"), "--port: needs a value");
	expect_refused(LOAD("--record", "room"), "--record room: wants ROOM=PATH");
	expect_refused(LOAD("stray"), "unexpected argument 'stray'");
	assert_int_equal(LOAD("--port=9000", "--loops", "3", "--bind", "::1"), 0);
	assert_int_equal(cfg.port, 9000);
	assert_int_equal(cfg.loops, 3);
	/* a flag wins over the file, wherever it is */
	char path[32];
	write_tmp("{\"port\": 7000, \"loops\": 2}", path);
	assert_int_equal(LOAD("--port", "7001", "--config", path), 0);
	unlink(path);
	assert_int_equal(cfg.port, 7001);
	assert_int_equal(cfg.loops, 2);
}

/* What the config accepts at the edges of its ranges, the media engine accepts too. */
static void test_edges_suit_the_engine(void **state)
{
	(void)state;
	static const char *const edges[] = {
	    "{\"width\": 16, \"height\": 16, \"fps\": 1, \"layout\": \"speaker\"}",
	    "{\"width\": 4096, \"height\": 4096, \"fps\": 60, \"max_mixed\": 64}",
	    "{\"video_bitrate\": 30000, \"audio_bitrate\": 6000, \"exclude_self\": true}",
	    "{\"video_bitrate\": 50000000, \"audio_bitrate\": 510000, \"max_mixed\": 1}",
	    "{\"width\": 1922, \"height\": 1082, \"fps\": 7, \"tile_names\": false}",
	};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		if (load_json(edges[i]) != 0)
			fail_msg("%s refused: %s", edges[i], err);
		assert_int_equal(room_config_check(&cfg), 0);
	}
}

static void test_example_is_the_defaults(void **state)
{
	(void)state;
	static struct mcu_config defaults;
	unsetenv("MCU_SECRET");
	assert_int_equal(LOAD("--port", "8080"), 0);
	defaults = cfg;
	if (LOAD("--config", EXAMPLE) != 0)
		fail_msg("%s: %s", EXAMPLE, err);
	assert_memory_equal(&cfg, &defaults, sizeof(cfg));
	assert_int_equal(room_config_check(&cfg), 0);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (run from the repository's top directory)", path);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

/* Every key the parser knows is in the example and documented in CONFIG.md's tables. */
static void test_every_key_documented(void **state)
{
	(void)state;
	char *example = read_all(EXAMPLE), *doc = read_all(DOC);
	int n = 0;
	for (const char *k; (k = mcu_config_key(n)); n++) {
		char quoted[64], row[64];
		snprintf(quoted, sizeof(quoted), "\"%s\":", k);
		snprintf(row, sizeof(row), "`%s`", k);
		if (!strstr(example, quoted))
			fail_msg("key %s is not in %s", k, EXAMPLE);
		if (!strstr(doc, row))
			fail_msg("key %s is not documented in %s", k, DOC);
	}
	assert_true(n >= 30);
	free(example);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown_key),
	    cmocka_unit_test(test_bad_layout),
	    cmocka_unit_test(test_bad_width),
	    cmocka_unit_test(test_other_values),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_edges_suit_the_engine),
	    cmocka_unit_test(test_example_is_the_defaults),
	    cmocka_unit_test(test_every_key_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
