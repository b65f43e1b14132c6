/*
 * test_token.c - unit tests for src/auth/token.c: round trips, every refusal reason, tampering
 * with either half, non-canonical base64, and the size limits.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/token.h"

#define NOW    1800000000LL
#define SECRET "correct horse battery staple"

static const char *check(const char *tok, const char *room, enum token_role need)
{
	const char *why = "unset";
	int rc = token_check(SECRET, tok, room, need, NOW, &why);
	return rc == 0 ? "ok" : why;
}

static void make(const char *room, enum token_role role, int64_t exp, char *out)
{
	assert_int_equal(token_make(SECRET, room, role, exp, out, TOKEN_MAX + 1), 0);
}

static void test_round_trip(void **state)
{
	char t[TOKEN_MAX + 1];
	make("room-1", TOKEN_PARTICIPANT, NOW + 60, t);
	assert_string_equal(check(t, "room-1", TOKEN_PARTICIPANT), "ok");
	assert_string_equal(check(t, "", TOKEN_PARTICIPANT), "ok"); /* any room */
	assert_string_equal(check(t, "room-2", TOKEN_PARTICIPANT), "wrong-room");
	assert_string_equal(check(t, NULL, TOKEN_PARTICIPANT), "wrong-room");
	assert_string_equal(check(t, "room-1", TOKEN_ADMIN), "wrong-role");
	/* Only [A-Za-z0-9_-] and one dot. */
	assert_int_equal(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	                           "-_."),
	                 strlen(t));
	assert_non_null(strchr(t, '.'));
	assert_null(strchr(strchr(t, '.') + 1, '.'));
}

static void test_admin_and_star(void **state)
{
	char t[TOKEN_MAX + 1];
	make("*", TOKEN_ADMIN, NOW + 60, t);
	assert_string_equal(check(t, "anything", TOKEN_ADMIN), "ok");
	assert_string_equal(check(t, "anything", TOKEN_PARTICIPANT), "ok"); /* admin implies */
	assert_string_equal(check(t, NULL, TOKEN_ADMIN), "ok");
	make("r", TOKEN_ADMIN, NOW + 60, t);
	assert_string_equal(check(t, "r", TOKEN_ADMIN), "ok");
	assert_string_equal(check(t, NULL, TOKEN_ADMIN), "wrong-room");
	make("*", TOKEN_PARTICIPANT, NOW + 60, t);
	assert_string_equal(check(t, "x", TOKEN_PARTICIPANT), "ok");
	assert_string_equal(check(t, NULL, TOKEN_ADMIN), "wrong-role");
}

static void test_expiry(void **state)
{
	char t[TOKEN_MAX + 1];
	make("r", TOKEN_PARTICIPANT, NOW, t);
	assert_string_equal(check(t, "r", TOKEN_PARTICIPANT), "expired");
	make("r", TOKEN_PARTICIPANT, NOW + 1, t);
	assert_string_equal(check(t, "r", TOKEN_PARTICIPANT), "ok");
}

static void test_wrong_secret_and_tampering(void **state)
{
	char t[TOKEN_MAX + 1];
	make("r", TOKEN_PARTICIPANT, NOW + 60, t);
	const char *why;
	assert_int_equal(token_check("other secret", t, "r", TOKEN_PARTICIPANT, NOW, &why),
	                 -EACCES);
	assert_string_equal(why, "bad-signature");
	/* Flip each character of the payload and of the signature in turn. */
	size_t n = strlen(t);
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '.')
			continue;
		char u[TOKEN_MAX + 1];
		memcpy(u, t, n + 1);
		u[i] = u[i] == 'A' ? 'B' : 'A';
		assert_string_not_equal(check(u, "r", TOKEN_PARTICIPANT), "ok");
	}
	/* A payload signed for another room cannot be spliced onto this signature. */
	char a[TOKEN_MAX + 1], b[TOKEN_MAX + 1];
	make("a", TOKEN_ADMIN, NOW + 60, a);
	make("b", TOKEN_PARTICIPANT, NOW + 60, b);
	char spliced[2 * TOKEN_MAX + 2];
	snprintf(spliced, sizeof(spliced), "%.*s%s", (int)(strchr(a, '.') - a), a, strchr(b, '.'));
	assert_string_equal(check(spliced, "a", TOKEN_ADMIN), "bad-signature");
}

static void test_malformed(void **state)
{
	static const char *bad[] = {"",          ".",       "abc",
	                            "abc.",      ".abc",    "a.b.c",
	                            "!!!!.????", "dj.AAAA", "djF8cnxwYXJ0aWNpcGFudHwx.A"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(check(bad[i], "r", TOKEN_PARTICIPANT), "malformed");
	assert_string_equal(check(NULL, "r", TOKEN_PARTICIPANT), "malformed");
	char huge[TOKEN_MAX + 64];
	memset(huge, 'A', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	huge[10] = '.';
	assert_string_equal(check(huge, "r", TOKEN_PARTICIPANT), "malformed");
	/* No secret: nothing verifies. */
	const char *why;
	assert_int_equal(token_check("", "x.y", "r", TOKEN_PARTICIPANT, NOW, &why), -EACCES);
}

/* The same bytes must have exactly one accepted spelling. */
static void test_non_canonical_base64(void **state)
{
	char t[TOKEN_MAX + 1];
	make("r", TOKEN_PARTICIPANT, NOW + 60, t);
	size_t n = strlen(t);
	/* A 32-byte MAC is 43 characters whose last carries 2 unused bits. */
	char *last = &t[n - 1];
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	int v = (int)(strchr(alpha, *last) - alpha);
	*last = alpha[v ^ 1];
	assert_string_equal(check(t, "r", TOKEN_PARTICIPANT), "malformed");
}

static void test_make_refuses(void **state)
{
	char t[TOKEN_MAX + 1];
	assert_int_equal(token_make(SECRET, "bad room", TOKEN_PARTICIPANT, NOW, t, sizeof(t)),
	                 -EINVAL);
	assert_int_equal(token_make(SECRET, "", TOKEN_PARTICIPANT, NOW, t, sizeof(t)), -EINVAL);
	assert_int_equal(token_make("", "r", TOKEN_PARTICIPANT, NOW, t, sizeof(t)), -EINVAL);
	assert_int_equal(token_make(SECRET, "r", TOKEN_PARTICIPANT, NOW, t, 20), -ENOSPC);
	char room[66];
	memset(room, 'a', 65);
	room[65] = '\0';
	assert_int_equal(token_make(SECRET, room, TOKEN_PARTICIPANT, NOW, t, sizeof(t)), -EINVAL);
	room[64] = '\0';
	assert_int_equal(token_make(SECRET, room, TOKEN_ADMIN, NOW + 5, t, sizeof(t)), 0);
	assert_string_equal(check(t, room, TOKEN_ADMIN), "ok");
	assert_int_equal(token_role_parse("admin"), TOKEN_ADMIN);
	assert_int_equal(token_role_parse("participant"), TOKEN_PARTICIPANT);
	assert_int_equal(token_role_parse("root"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_admin_and_star),
	    cmocka_unit_test(test_expiry),       cmocka_unit_test(test_wrong_secret_and_tampering),
	    cmocka_unit_test(test_malformed),    cmocka_unit_test(test_non_canonical_base64),
	    cmocka_unit_test(test_make_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
