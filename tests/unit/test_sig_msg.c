/*
 * test_sig_msg.c - unit tests for src/signal/msg.c (signaling JSON parse and build).
 *
 * Every client message type, then the rejections the protocol promises (unknown type, missing
 * and mistyped fields, over-long or badly formed values, invalid JSON, non-objects, hostile
 * nesting, duplicate keys) with their error slugs, and the builders, whose output is parsed
 * back with jansson. Single-threaded; pure functions.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "signal/msg.h"

/* Parses text; returns the rc and leaves the slug in *code (NULL on success). */
static int parse(const char *text, struct sig_msg *m, const char **code)
{
	char msg[256];
	int rc = sig_parse(text, strlen(text), m, code, msg, sizeof(msg));
	if (rc)
		assert_true(msg[0] != '\0');
	return rc;
}

static void expect_error(const char *text, const char *slug)
{
	struct sig_msg m;
	const char *code = NULL;
	assert_int_equal(parse(text, &m, &code), -EINVAL);
	assert_non_null(code);
	assert_string_equal(code, slug);
	assert_null(m.sdp);
	assert_null(m.candidate);
	sig_msg_clear(&m);
}

/* ---- valid messages ---- */

static void test_join(void **state)
{
	struct sig_msg m;
	const char *code;
	assert_int_equal(
	    parse("{\"type\":\"join\",\"room\":\"Room_1.a-b\",\"name\":\"Zoë 🎉\"}", &m, &code), 0);
	assert_null(code);
	assert_int_equal(m.type, SIG_JOIN);
	assert_string_equal(m.room, "Room_1.a-b");
	assert_string_equal(m.name, "Zoë 🎉");
	sig_msg_clear(&m);
	assert_int_equal(m.recv_codec, -1);
	sig_msg_clear(&m);
	/* Unknown extra fields are ignored. */
	assert_int_equal(
	    parse("{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"x\":[1]}", &m, &code), 0);
	sig_msg_clear(&m);
}

static void test_join_receive(void **state)
{
	struct sig_msg m;
	const char *code;
	assert_int_equal(parse("{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\","
	                       "\"receive\":{\"codec\":\"h264\",\"later\":1}}",
	                       &m, &code),
	                 0);
	assert_int_equal(m.recv_codec, 1);
	assert_int_equal(m.recv_max_width, 0);
	sig_msg_clear(&m);
	assert_int_equal(parse("{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"receive\":"
	                       "{\"max_width\":640,\"max_height\":360,\"max_fps\":15,"
	                       "\"max_bitrate\":400000}}",
	                       &m, &code),
	                 0);
	assert_int_equal(m.recv_max_width, 640);
	assert_int_equal(m.recv_max_height, 360);
	assert_int_equal(m.recv_max_fps, 15);
	assert_int_equal(m.recv_max_bitrate, 400000);
	assert_int_equal(m.recv_codec, -1);
	sig_msg_clear(&m);
	expect_error(
	    "{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"receive\":{\"max_fps\":0}}",
	    "bad-field");
	expect_error(
	    "{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"receive\":{\"max_width\":\"640\"}}",
	    "bad-field");
	expect_error(
	    "{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"receive\":{\"max_bitrate\":1000}}",
	    "bad-field");
	assert_int_equal(parse("{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\","
	                       "\"receive\":{\"codec\":\"vp8\"}}",
	                       &m, &code),
	                 0);
	assert_int_equal(m.recv_codec, 0);
	assert_false(m.layer_control);
	sig_msg_clear(&m);
	assert_int_equal(parse("{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\","
	                       "\"layer_control\":true}",
	                       &m, &code),
	                 0);
	assert_true(m.layer_control);
	sig_msg_clear(&m);
	expect_error("{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"layer_control\":1}",
	             "bad-field");
	assert_int_equal(
	    parse("{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"receive\":{}}", &m, &code),
	    0);
	assert_int_equal(m.recv_codec, -1);
	sig_msg_clear(&m);
	expect_error("{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"receive\":\"h264\"}",
	             "bad-field");
	expect_error(
	    "{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"receive\":{\"codec\":\"VP9\"}}",
	    "bad-field");
	expect_error("{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"receive\":{\"codec\":8}}",
	             "bad-field");
}

static void test_offer(void **state)
{
	struct sig_msg m;
	const char *code;
	assert_int_equal(
	    parse("{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 1 1 IN IP4 0.0.0.0\\r\\n\"}", &m,
	          &code),
	    0);
	assert_int_equal(m.type, SIG_OFFER);
	assert_string_equal(m.sdp, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n");
	sig_msg_clear(&m);
	assert_null(m.sdp);
	sig_msg_clear(&m); /* twice is harmless */
}

static void test_offer_max_sdp(void **state)
{
	size_t n = SIG_MAX_SDP;
	char *text = malloc(n + 64);
	assert_non_null(text);
	int h = sprintf(text, "{\"type\":\"offer\",\"sdp\":\"");
	memset(text + h, 'a', n);
	strcpy(text + h + n, "\"}");
	struct sig_msg m;
	const char *code;
	assert_int_equal(parse(text, &m, &code), 0);
	assert_int_equal(strlen(m.sdp), n);
	sig_msg_clear(&m);
	/* One byte more is too long. */
	h = sprintf(text, "{\"type\":\"offer\",\"sdp\":\"");
	memset(text + h, 'a', n + 1);
	strcpy(text + h + n + 1, "\"}");
	expect_error(text, "bad-field");
	free(text);
}

static void test_candidate(void **state)
{
	struct sig_msg m;
	const char *code;
	assert_int_equal(
	    parse("{\"type\":\"candidate\",\"candidate\":\"candidate:1 1 udp 2122260223 "
	          "192.168.1.2 54321 typ host\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}",
	          &m, &code),
	    0);
	assert_int_equal(m.type, SIG_CANDIDATE);
	assert_string_equal(m.candidate, "candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host");
	assert_string_equal(m.mid, "0");
	assert_int_equal(m.mline, 0);
	sig_msg_clear(&m);
	/* sdpMid and sdpMLineIndex are optional (absent or null). */
	assert_int_equal(parse("{\"type\":\"candidate\",\"candidate\":\"candidate:x\"}", &m, &code),
	                 0);
	assert_string_equal(m.mid, "");
	assert_int_equal(m.mline, -1);
	sig_msg_clear(&m);
	assert_int_equal(parse("{\"type\":\"candidate\",\"candidate\":\"candidate:x\","
	                       "\"sdpMid\":null,\"sdpMLineIndex\":null}",
	                       &m, &code),
	                 0);
	assert_int_equal(m.mline, -1);
	sig_msg_clear(&m);
}

static void test_candidate_end(void **state)
{
	struct sig_msg m;
	const char *code;
	assert_int_equal(parse("{\"type\":\"candidate\",\"candidate\":null}", &m, &code), 0);
	assert_int_equal(m.type, SIG_CANDIDATE);
	assert_null(m.candidate);
	sig_msg_clear(&m);
	assert_int_equal(
	    parse("{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMid\":\"1\"}", &m, &code), 0);
	assert_null(m.candidate);
	assert_string_equal(m.mid, "1");
	sig_msg_clear(&m);
}

static void test_leave_ping(void **state)
{
	struct sig_msg m;
	const char *code;
	assert_int_equal(parse("{\"type\":\"leave\"}", &m, &code), 0);
	assert_int_equal(m.type, SIG_LEAVE);
	sig_msg_clear(&m);
	assert_int_equal(parse(" {\"type\" : \"ping\"} \n", &m, &code), 0);
	assert_int_equal(m.type, SIG_PING);
	sig_msg_clear(&m);
}

/* ---- rejections ---- */

static void test_unknown_type(void **state)
{
	expect_error("{\"type\":\"hello\"}", "unknown-type");
	expect_error("{\"type\":\"\"}", "unknown-type");
	expect_error("{\"type\":\"JOIN\",\"room\":\"r\",\"name\":\"n\"}", "unknown-type");
}

static void test_missing_fields(void **state)
{
	expect_error("{}", "missing-field");
	expect_error("{\"room\":\"r\"}", "missing-field");
	expect_error("{\"type\":\"join\",\"name\":\"n\"}", "missing-field");
	expect_error("{\"type\":\"join\",\"room\":\"r\"}", "missing-field");
	expect_error("{\"type\":\"offer\"}", "missing-field");
	expect_error("{\"type\":\"candidate\",\"sdpMid\":\"0\"}", "missing-field");
}

static void test_wrong_types(void **state)
{
	expect_error("{\"type\":7}", "bad-field");
	expect_error("{\"type\":null}", "bad-field");
	expect_error("{\"type\":\"join\",\"room\":5,\"name\":\"n\"}", "bad-field");
	expect_error("{\"type\":\"join\",\"room\":\"r\",\"name\":{}}", "bad-field");
	expect_error("{\"type\":\"offer\",\"sdp\":[\"v=0\"]}", "bad-field");
	expect_error("{\"type\":\"offer\",\"sdp\":\"\"}", "bad-field");
	expect_error("{\"type\":\"candidate\",\"candidate\":42}", "bad-field");
	expect_error(
	    "{\"type\":\"candidate\",\"candidate\":\"candidate:x\",\"sdpMLineIndex\":\"0\"}",
	    "bad-field");
	expect_error("{\"type\":\"candidate\",\"candidate\":\"candidate:x\",\"sdpMLineIndex\":0.5}",
	             "bad-field");
	expect_error("{\"type\":\"candidate\",\"candidate\":\"candidate:x\",\"sdpMLineIndex\":-1}",
	             "bad-field");
	expect_error("{\"type\":\"candidate\",\"candidate\":\"candidate:x\",\"sdpMid\":0}",
	             "bad-field");
}

static void test_lengths(void **state)
{
	char text[512], s65[66];
	memset(s65, 'a', 65);
	s65[65] = '\0';
	snprintf(text, sizeof(text), "{\"type\":\"join\",\"room\":\"%s\",\"name\":\"n\"}", s65);
	expect_error(text, "bad-field");
	snprintf(text, sizeof(text), "{\"type\":\"join\",\"room\":\"r\",\"name\":\"%s\"}", s65);
	expect_error(text, "bad-field");
	/* 64 is allowed; 64 bytes of UTF-8 are fewer characters. */
	struct sig_msg m;
	const char *code;
	s65[64] = '\0';
	snprintf(text, sizeof(text), "{\"type\":\"join\",\"room\":\"%s\",\"name\":\"%s\"}", s65,
	         s65);
	assert_int_equal(parse(text, &m, &code), 0);
	assert_int_equal(strlen(m.room), 64);
	sig_msg_clear(&m);
	char e33[200] = "";
	for (int i = 0; i < 33; i++)
		strcat(e33, "é"); /* 66 bytes */
	snprintf(text, sizeof(text), "{\"type\":\"join\",\"room\":\"r\",\"name\":\"%s\"}", e33);
	expect_error(text, "bad-field");
	expect_error("{\"type\":\"join\",\"room\":\"\",\"name\":\"n\"}", "bad-field");
	expect_error("{\"type\":\"join\",\"room\":\"r\",\"name\":\"\"}", "bad-field");
	/* Candidates: over 512 bytes, or a mid over 32. */
	char cand[700];
	memset(cand, 'c', sizeof(cand));
	memcpy(cand, "{\"type\":\"candidate\",\"candidate\":\"candidate:", 43);
	strcpy(cand + 43 + 520, "\"}"); /* a 530-byte candidate */
	expect_error(cand, "bad-field");
	expect_error("{\"type\":\"candidate\",\"candidate\":\"candidate:x\","
	             "\"sdpMid\":\"012345678901234567890123456789012\"}",
	             "bad-field");
}

static void test_bad_chars(void **state)
{
	expect_error("{\"type\":\"join\",\"room\":\"a b\",\"name\":\"n\"}", "bad-field");
	expect_error("{\"type\":\"join\",\"room\":\"../etc\",\"name\":\"n\"}", "bad-field");
	expect_error("{\"type\":\"join\",\"room\":\"r/x\",\"name\":\"n\"}", "bad-field");
	expect_error("{\"type\":\"join\",\"room\":\"caf\\u00e9\",\"name\":\"n\"}", "bad-field");
	expect_error("{\"type\":\"join\",\"room\":\"r\",\"name\":\"a\\nb\"}", "bad-field");
	expect_error("{\"type\":\"join\",\"room\":\"r\",\"name\":\"a\\u001fb\"}", "bad-field");
	expect_error("{\"type\":\"join\",\"room\":\"r\",\"name\":\"a\\u007fb\"}", "bad-field");
	/* NUL inside a string is refused by jansson itself. */
	expect_error("{\"type\":\"join\",\"room\":\"r\",\"name\":\"a\\u0000b\"}", "bad-json");
	/* A candidate must be an a=candidate value without line breaks. */
	expect_error("{\"type\":\"candidate\",\"candidate\":\"hello\"}", "bad-field");
	expect_error("{\"type\":\"candidate\",\"candidate\":\"candidate:1\\r\\na=evil\"}",
	             "bad-field");
}

static void test_bad_json(void **state)
{
	expect_error("", "bad-json");
	expect_error("not json", "bad-json");
	expect_error("{\"type\":\"ping\"", "bad-json");
	expect_error("{\"type\":\"ping\"} trailing", "bad-json");
	expect_error("[{\"type\":\"ping\"}]", "bad-json");
	expect_error("\"ping\"", "bad-json");
	expect_error("42", "bad-json");
	expect_error("null", "bad-json");
	/* Invalid UTF-8. */
	expect_error("{\"type\":\"join\",\"room\":\"r\",\"name\":\"\xff\xfe\"}", "bad-json");
	/* A NUL byte inside the buffer. */
	struct sig_msg m;
	const char *code;
	char msg[64];
	assert_int_equal(sig_parse("{\"type\":\"ping\"}\0x", 17, &m, &code, msg, sizeof(msg)),
	                 -EINVAL);
	assert_string_equal(code, "bad-json");
	sig_msg_clear(&m);
	/* Error outputs are optional. */
	assert_int_equal(sig_parse("nope", 4, &m, NULL, NULL, 0), -EINVAL);
	sig_msg_clear(&m);
}

static void test_deep_nesting(void **state)
{
	size_t depth = 10000;
	char *text = malloc(2 * depth + 1);
	assert_non_null(text);
	memset(text, '[', depth);
	memset(text + depth, ']', depth);
	text[2 * depth] = '\0';
	expect_error(text, "bad-json");
	/* Objects nested inside a valid message, and brackets inside strings do not count. */
	char *obj = malloc(8 * depth + 64);
	assert_non_null(obj);
	char *p = obj + sprintf(obj, "{\"type\":\"ping\",\"x\":");
	for (size_t i = 0; i < depth; i++)
		p += sprintf(p, "{\"a\":");
	*p++ = '1';
	for (size_t i = 0; i <= depth; i++)
		*p++ = '}';
	*p = '\0';
	expect_error(obj, "bad-json");
	struct sig_msg m;
	const char *code;
	assert_int_equal(
	    parse("{\"type\":\"join\",\"room\":\"r\",\"name\":\"[[[[[[[[[[[[\\\"{{{{{{{{{{\"}", &m,
	          &code),
	    0);
	assert_string_equal(m.name, "[[[[[[[[[[[[\"{{{{{{{{{{");
	sig_msg_clear(&m);
	free(obj);
	free(text);
}

static void test_duplicate_keys(void **state)
{
	expect_error("{\"type\":\"ping\",\"type\":\"leave\"}", "bad-json");
	expect_error("{\"type\":\"join\",\"room\":\"a\",\"room\":\"b\",\"name\":\"n\"}",
	             "bad-json");
}

static void test_too_large(void **state)
{
	size_t n = SIG_MAX_SDP + 8192;
	char *text = malloc(n + 1);
	assert_non_null(text);
	memset(text, ' ', n);
	memcpy(text, "{\"type\":\"ping\"}", 15);
	text[n] = '\0';
	expect_error(text, "bad-json");
	free(text);
}

/* ---- builders ---- */

/* Parses built text back; the caller decrefs. Also frees text. */
static json_t *load(char *text, const char *type)
{
	assert_non_null(text);
	assert_null(strchr(text, '\n'));
	json_error_t err;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	free(text);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "type")), type);
	return v;
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* mute, kick, rename: ids as strings, "all" and "except" for mute only, flags booleans. */
static void test_moderation(void **state)
{
	struct sig_msg m;
	const char *code;
	assert_int_equal(parse("{\"type\":\"mute\",\"audio\":true}", &m, &code), 0);
	assert_int_equal(m.type, SIG_MUTE);
	assert_int_equal(m.target, SIG_NO_ID);
	assert_int_equal(m.mute_audio, 1);
	assert_int_equal(m.mute_video, -1);
	assert_int_equal(parse("{\"type\":\"mute\",\"id\":\"42\",\"video\":false}", &m, &code), 0);
	assert_int_equal(m.target, 42);
	assert_int_equal(m.mute_video, 0);
	assert_int_equal(
	    parse("{\"type\":\"mute\",\"id\":\"all\",\"except\":\"7\",\"audio\":true}", &m, &code),
	    0);
	assert_true(m.target_all);
	assert_int_equal(m.except, 7);
	assert_int_equal(parse("{\"type\":\"kick\",\"id\":\"3\",\"reason\":\"spam\"}", &m, &code),
	                 0);
	assert_int_equal(m.type, SIG_KICK);
	assert_int_equal(m.target, 3);
	assert_string_equal(m.reason, "spam");
	assert_int_equal(parse("{\"type\":\"rename\",\"name\":\"Bob\"}", &m, &code), 0);
	assert_int_equal(m.type, SIG_RENAME);
	assert_int_equal(m.target, SIG_NO_ID);
	assert_string_equal(m.name, "Bob");
	expect_error("{\"type\":\"mute\"}", "missing-field");
	expect_error("{\"type\":\"mute\",\"audio\":1}", "bad-field");
	expect_error("{\"type\":\"mute\",\"id\":7,\"audio\":true}", "bad-field");
	expect_error("{\"type\":\"mute\",\"id\":\"0\",\"audio\":true}", "bad-field");
	expect_error("{\"type\":\"mute\",\"id\":\"12x\",\"audio\":true}", "bad-field");
	expect_error("{\"type\":\"mute\",\"id\":\"4294967295\",\"audio\":true}", "bad-field");
	expect_error("{\"type\":\"mute\",\"id\":\"99999999999999999999\",\"audio\":true}",
	             "bad-field");
	expect_error("{\"type\":\"mute\",\"id\":\"5\",\"except\":\"6\",\"audio\":true}",
	             "bad-field");
	expect_error("{\"type\":\"kick\"}", "missing-field");
	expect_error("{\"type\":\"kick\",\"id\":\"all\"}", "bad-field");
	expect_error("{\"type\":\"kick\",\"id\":\"3\",\"reason\":\"a\\nb\"}", "bad-field");
	expect_error("{\"type\":\"rename\"}", "missing-field");
	expect_error("{\"type\":\"rename\",\"name\":\"\"}", "bad-field");
	expect_error("{\"type\":\"rename\",\"name\":\"a\\u0001\"}", "bad-field");
}

static void test_view_layout(void **state)
{
	struct sig_msg m;
	const char *code;
	assert_int_equal(parse("{\"type\":\"view\"}", &m, &code), 0);
	assert_int_equal(m.type, SIG_VIEW);
	assert_int_equal(m.layout, -1);
	assert_int_equal(m.pin, SIG_NO_ID);
	assert_int_equal(m.exclude_self, -1);
	assert_int_equal(
	    parse("{\"type\":\"view\",\"layout\":\"speaker\",\"pin\":\"4\",\"exclude_self\":true}",
	          &m, &code),
	    0);
	assert_int_equal(m.layout, 1);
	assert_int_equal(m.pin, 4);
	assert_int_equal(m.exclude_self, 1);
	assert_int_equal(parse("{\"type\":\"view\",\"layout\":\"room\",\"pin\":null}", &m, &code),
	                 0);
	assert_int_equal(m.layout, -1);
	assert_true(m.pin_set);
	assert_int_equal(m.pin, SIG_NO_ID);
	assert_int_equal(parse("{\"type\":\"layout\",\"layout\":\"grid\"}", &m, &code), 0);
	assert_int_equal(m.type, SIG_LAYOUT);
	assert_int_equal(m.layout, 0);
	assert_false(m.pin_set);
	assert_int_equal(parse("{\"type\":\"layout\",\"pin\":\"9\"}", &m, &code), 0);
	assert_int_equal(m.pin, 9);
	expect_error("{\"type\":\"layout\"}", "missing-field");
	expect_error("{\"type\":\"layout\",\"layout\":\"room\"}", "bad-field");
	expect_error("{\"type\":\"view\",\"layout\":\"tiles\"}", "bad-field");
	expect_error("{\"type\":\"view\",\"pin\":4}", "bad-field");
	expect_error("{\"type\":\"view\",\"exclude_self\":\"yes\"}", "bad-field");
	char *t = sig_layout("speaker", 4);
	assert_string_equal(t, "{\"type\":\"layout\",\"layout\":\"speaker\",\"pin\":\"4\"}");
	free(t);
	t = sig_layout("grid", SIG_NO_ID);
	assert_string_equal(t, "{\"type\":\"layout\",\"layout\":\"grid\",\"pin\":null}");
	free(t);
}

/* the offer's "screen" mid, and {"type":"screen","mid":null} */
static void test_screen(void **state)
{
	struct sig_msg m;
	const char *code;
	assert_int_equal(parse("{\"type\":\"offer\",\"sdp\":\"v=0\",\"screen\":\"2\"}", &m, &code),
	                 0);
	assert_string_equal(m.mid, "2");
	sig_msg_clear(&m);
	assert_int_equal(parse("{\"type\":\"offer\",\"sdp\":\"v=0\",\"screen\":null}", &m, &code),
	                 0);
	assert_string_equal(m.mid, "");
	sig_msg_clear(&m);
	expect_error("{\"type\":\"offer\",\"sdp\":\"v=0\",\"screen\":\"\"}", "bad-field");
	expect_error("{\"type\":\"offer\",\"sdp\":\"v=0\",\"screen\":2}", "bad-field");
	expect_error("{\"type\":\"offer\",\"sdp\":\"v=0\",\"screen\":"
	             "\"0123456789012345678901234567890123\"}",
	             "bad-field");
	assert_int_equal(parse("{\"type\":\"screen\",\"mid\":null}", &m, &code), 0);
	assert_int_equal(m.type, SIG_SCREEN);
	expect_error("{\"type\":\"screen\"}", "missing-field");
	expect_error("{\"type\":\"screen\",\"mid\":\"2\"}", "bad-field");
	char *t = sig_presentation(4, 9);
	assert_string_equal(t, "{\"type\":\"presentation\",\"id\":\"4\",\"source\":\"9\"}");
	free(t);
	t = sig_presentation(SIG_NO_ID, SIG_NO_ID);
	assert_string_equal(t, "{\"type\":\"presentation\",\"id\":null,\"source\":null}");
	free(t);
	const char *rids[] = {"q", "h"};
	t = sig_layers(rids, 2);
	assert_string_equal(t, "{\"type\":\"layers\",\"active\":[\"q\",\"h\"]}");
	free(t);
}

static void test_build_moderation(void **state)
{
	char *t = sig_muted(5, true, false, "moderator");
	assert_string_equal(t, "{\"type\":\"muted\",\"id\":\"5\",\"audio\":true,\"video\":false,"
	                       "\"by\":\"moderator\"}");
	free(t);
	t = sig_renamed(5, "Zoë");
	assert_string_equal(t, "{\"type\":\"renamed\",\"id\":\"5\",\"name\":\"Zoë\"}");
	free(t);
	t = sig_removed("bye");
	assert_string_equal(t, "{\"type\":\"removed\",\"reason\":\"bye\"}");
	free(t);
}

static void test_build_joined(void **state)
{
	struct sig_participant others[] = {{7, "Ann"}, {4294967294u, "Bob \"B\" \\ ü"}};
	json_t *v = load(sig_joined(12, "room1", others, 2), "joined");
	assert_string_equal(str(v, "id"), "12");
	assert_string_equal(str(v, "room"), "room1");
	json_t *list = json_object_get(v, "participants");
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(str(json_array_get(list, 0), "id"), "7");
	assert_string_equal(str(json_array_get(list, 0), "name"), "Ann");
	assert_string_equal(str(json_array_get(list, 1), "id"), "4294967294");
	assert_string_equal(str(json_array_get(list, 1), "name"), "Bob \"B\" \\ ü");
	json_decref(v);
	v = load(sig_joined(1, "r", NULL, 0), "joined");
	assert_int_equal(json_array_size(json_object_get(v, "participants")), 0);
	json_decref(v);
}

static void test_build_answer_error_pong(void **state)
{
	json_t *v = load(sig_answer("v=0\r\ns=-\r\n"), "answer");
	assert_string_equal(str(v, "sdp"), "v=0\r\ns=-\r\n");
	json_decref(v);
	v = load(sig_error("room-full", "the room has 16 participants"), "error");
	assert_string_equal(str(v, "code"), "room-full");
	assert_string_equal(str(v, "message"), "the room has 16 participants");
	json_decref(v);
	v = load(sig_pong(), "pong");
	assert_int_equal(json_object_size(v), 1);
	json_decref(v);
	/* Text that is not UTF-8 cannot be sent: NULL, not broken JSON. */
	assert_null(sig_error("bad-json", "\xff"));
}

static void test_build_output(void **state)
{
	json_t *v = load(sig_output(640, 360, 15, 375000, "vp8", 24000, "link-down"), "output");
	json_t *video = json_object_get(v, "video");
	assert_int_equal(json_integer_value(json_object_get(video, "width")), 640);
	assert_int_equal(json_integer_value(json_object_get(video, "bitrate")), 375000);
	assert_string_equal(str(video, "codec"), "vp8");
	assert_int_equal(json_integer_value(json_object_get(v, "audio_bitrate")), 24000);
	assert_string_equal(str(v, "reason"), "link-down");
	json_decref(v);
	/* audio only: no video, the lowest rung's audio bitrate */
	v = load(sig_output(0, 0, 0, 0, "vp8", 16000, "link-down"), "output");
	assert_true(json_is_null(json_object_get(v, "video")));
	assert_int_equal(json_integer_value(json_object_get(v, "audio_bitrate")), 16000);
	json_decref(v);
	/* no audio received */
	v = load(sig_output(1280, 720, 30, 1500000, "h264", 0, "profile"), "output");
	assert_true(json_is_null(json_object_get(v, "audio_bitrate")));
	json_decref(v);
}

static void test_build_candidate(void **state)
{
	json_t *v =
	    load(sig_candidate("candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0), "candidate");
	assert_string_equal(str(v, "candidate"), "candidate:1 1 udp 1 127.0.0.1 9 typ host");
	assert_string_equal(str(v, "sdpMid"), "0");
	assert_int_equal(json_integer_value(json_object_get(v, "sdpMLineIndex")), 0);
	json_decref(v);
	v = load(sig_candidate(NULL, "1", 1), "candidate");
	assert_true(json_is_null(json_object_get(v, "candidate")));
	json_decref(v);
	v = load(sig_candidate(NULL, NULL, -1), "candidate");
	assert_true(json_is_null(json_object_get(v, "candidate")));
	assert_null(json_object_get(v, "sdpMid"));
	assert_null(json_object_get(v, "sdpMLineIndex"));
	json_decref(v);
	/* What we build, we parse. */
	char *t = sig_candidate("candidate:abc", "0", 0);
	struct sig_msg m;
	const char *code;
	assert_int_equal(parse(t, &m, &code), 0);
	assert_string_equal(m.candidate, "candidate:abc");
	sig_msg_clear(&m);
	free(t);
}

static void test_build_participants_speaker(void **state)
{
	json_t *v = load(sig_participant_joined(99, "Eve"), "participant-joined");
	assert_string_equal(str(v, "id"), "99");
	assert_string_equal(str(v, "name"), "Eve");
	json_decref(v);
	v = load(sig_participant_left(99), "participant-left");
	assert_string_equal(str(v, "id"), "99");
	json_decref(v);
	v = load(sig_active_speaker(5), "active-speaker");
	assert_string_equal(str(v, "id"), "5");
	json_decref(v);
	v = load(sig_active_speaker(0xffffffffu), "active-speaker");
	assert_true(json_is_null(json_object_get(v, "id")));
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_join),
	    cmocka_unit_test(test_join_receive),
	    cmocka_unit_test(test_offer),
	    cmocka_unit_test(test_offer_max_sdp),
	    cmocka_unit_test(test_candidate),
	    cmocka_unit_test(test_candidate_end),
	    cmocka_unit_test(test_leave_ping),
	    cmocka_unit_test(test_unknown_type),
	    cmocka_unit_test(test_missing_fields),
	    cmocka_unit_test(test_wrong_types),
	    cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_bad_chars),
	    cmocka_unit_test(test_bad_json),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_moderation),
	    cmocka_unit_test(test_build_moderation),
	    cmocka_unit_test(test_view_layout),
	    cmocka_unit_test(test_screen),
	    cmocka_unit_test(test_build_joined),
	    cmocka_unit_test(test_build_answer_error_pong),
	    cmocka_unit_test(test_build_output),
	    cmocka_unit_test(test_build_candidate),
	    cmocka_unit_test(test_build_participants_speaker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
