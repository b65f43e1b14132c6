/*
 * test_room_settings.c - per-room settings (src/session/room_settings.c): the server's
 * defaults, a PUT body's overrides, and every refusal naming what is wrong.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "session/room_settings.h"

static struct mcu_config cfg;

static int parse(struct room_settings *s, const char *body, char *err)
{
	room_settings_default(s, &cfg);
	return room_settings_parse(s, &cfg, body, strlen(body), err, 200);
}

static void defaults_and_overrides(void **state)
{
	struct room_settings s;
	char err[200] = "";
	assert_int_equal(parse(&s, "", err), 0);
	assert_string_equal(s.layout, cfg.layout);
	assert_int_equal(s.width, cfg.width);
	assert_int_equal(s.max_participants, cfg.max_participants);
	assert_int_equal(s.ladder.n, cfg.ladder.n);
	assert_string_equal(s.record, "");
	assert_int_equal(parse(&s,
	                       "{\"layout\":\"speaker\",\"width\":640,\"height\":360,"
	                       "\"max_participants\":5,\"record\":true,\"idle_timeout_s\":0}",
	                       err),
	                 0);
	assert_string_equal(s.layout, "speaker");
	assert_int_equal(s.width, 640);
	assert_int_equal(s.ladder.r[0].width, 640);
	assert_int_equal(s.ladder.r[0].height, 360);
	assert_int_equal(s.max_participants, 5);
	assert_string_equal(s.record, "webm");
	assert_int_equal(s.idle_timeout_s, 0);
	assert_int_equal(
	    parse(&s, "{\"ladder\":\"854x480@30:1000,426x240@15:300\",\"record\":\"mkv\"}", err),
	    0);
	assert_int_equal(s.width, 854);
	assert_int_equal(s.ladder.n, 2);
	assert_string_equal(s.record, "mkv");
	json_t *j = room_settings_json(&s);
	assert_string_equal(json_string_value(json_object_get(j, "record")), "mkv");
	assert_int_equal(json_integer_value(json_object_get(j, "width")), 854);
	json_decref(j);
}

static void refusals(void **state)
{
	struct room_settings s;
	char err[200];
	const struct {
		const char *body, *says;
	} bad[] = {
	    {"[]", "JSON object"},
	    {"{\"widht\":640}", "widht"},
	    {"{\"layout\":\"spekaer\"}", "layout"},
	    {"{\"width\":641,\"height\":360}", "even"},
	    {"{\"width\":640}", "together"},
	    {"{\"width\":8,\"height\":8}", "width"},
	    {"{\"max_participants\":0}", "max_participants"},
	    {"{\"max_participants\":100000}", "max_participants"},
	    {"{\"record\":\"avi\"}", "record"},
	    {"{\"ladder\":\"junk\"}", ""},
	    {"{\"ladder\":\"640x360@30:500\",\"width\":1280,\"height\":720}", "first rung"},
	    {"{\"idle_timeout_s\":-1}", "idle_timeout_s"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(&s, bad[i].body, err), -EINVAL);
		assert_true(err[0] != '\0');
		assert_non_null(strstr(err, bad[i].says));
	}
}

int main(void)
{
	char *argv[] = {"mcu", NULL};
	if (mcu_config_load(&cfg, 1, argv) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults_and_overrides),
	    cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
