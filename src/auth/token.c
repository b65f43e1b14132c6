/*
 * token.c - access tokens (see token.h): base64url, HMAC-SHA256 with OpenSSL, and the checks.
 * Pure functions, any thread.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/token.h"

#define MAC_LEN     32
#define PAYLOAD_MAX 160
#define ROOM_MAX    64

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding. Returns the length written, or -1 if out is too small. */
static int b64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t need = (n * 4 + 2) / 3;
	if (need + 1 > cap)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		size_t chars = n - i >= 3 ? 4 : n - i + 1;
		for (size_t k = 0; k < chars; k++)
			out[o++] = b64[(v >> (18 - 6 * k)) & 63];
	}
	out[o] = '\0';
	return (int)o;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

/* Decodes n base64url characters (no padding). Returns bytes written, or -1. */
static int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	if (n % 4 == 1 || (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
		return -1;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero (one encoding per payload). */
	if (acc & ((1u << bits) - 1))
		return -1;
	return (int)o;
}

static bool room_ok(const char *room)
{
	size_t n = strlen(room);
	if (!strcmp(room, "*"))
		return true;
	if (n < 1 || n > ROOM_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = room[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

static const char *role_name(enum token_role r)
{
	return r == TOKEN_ADMIN ? "admin" : "participant";
}

int token_role_parse(const char *s)
{
	if (!strcmp(s, "participant"))
		return TOKEN_PARTICIPANT;
	if (!strcmp(s, "admin"))
		return TOKEN_ADMIN;
	return -1;
}

static void mac(const char *secret, const uint8_t *msg, size_t n, uint8_t out[MAC_LEN])
{
	unsigned len = MAC_LEN;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, n, out, &len);
}

int token_make(const char *secret, const char *room, enum token_role role, int64_t exp, char *out,
               size_t outlen)
{
	if (!secret || !secret[0] || !room_ok(room))
		return -EINVAL;
	char payload[PAYLOAD_MAX];
	int n = snprintf(payload, sizeof(payload), "v1|%s|%s|%lld", room, role_name(role),
	                 (long long)exp);
	uint8_t sig[MAC_LEN];
	mac(secret, (const uint8_t *)payload, (size_t)n, sig);
	int a = b64_encode((const uint8_t *)payload, (size_t)n, out, outlen);
	if (a < 0 || (size_t)a + 2 > outlen)
		return -ENOSPC;
	out[a] = '.';
	if (b64_encode(sig, sizeof(sig), out + a + 1, outlen - (size_t)a - 1) < 0)
		return -ENOSPC;
	return 0;
}

struct claims {
	char room[ROOM_MAX + 1];
	int role;
	int64_t exp;
};

/* "v1|ROOM|ROLE|EXP" -> claims. */
static bool parse_payload(const char *p, struct claims *c)
{
	if (strncmp(p, "v1|", 3))
		return false;
	p += 3;
	const char *bar = strchr(p, '|');
	if (!bar || bar == p || (size_t)(bar - p) > ROOM_MAX)
		return false;
	memcpy(c->room, p, (size_t)(bar - p));
	c->room[bar - p] = '\0';
	const char *role = bar + 1;
	bar = strchr(role, '|');
	char rbuf[16];
	if (!bar || (size_t)(bar - role) >= sizeof(rbuf))
		return false;
	memcpy(rbuf, role, (size_t)(bar - role));
	rbuf[bar - role] = '\0';
	c->role = token_role_parse(rbuf);
	const char *e = bar + 1;
	if (c->role < 0 || !room_ok(c->room) || !*e || strlen(e) > 18)
		return false;
	c->exp = 0;
	for (; *e; e++) {
		if (*e < '0' || *e > '9')
			return false;
		c->exp = c->exp * 10 + (*e - '0');
	}
	return true;
}

/* Splits and verifies the signature; fills payload (NUL-terminated). */
static const char *verify(const char *secret, const char *token, char payload[PAYLOAD_MAX])
{
	size_t n = strnlen(token, TOKEN_MAX + 1);
	const char *dot = memchr(token, '.', n);
	if (n > TOKEN_MAX || !dot)
		return "malformed";
	int plen = b64_decode(token, (size_t)(dot - token), (uint8_t *)payload, PAYLOAD_MAX - 1);
	uint8_t sig[MAC_LEN + 3], want[MAC_LEN];
	int slen = b64_decode(dot + 1, n - (size_t)(dot - token) - 1, sig, sizeof(sig));
	if (plen <= 0 || slen != MAC_LEN)
		return "malformed";
	payload[plen] = '\0';
	mac(secret, (const uint8_t *)payload, (size_t)plen, want);
	if (CRYPTO_memcmp(sig, want, MAC_LEN) != 0)
		return "bad-signature";
	return NULL;
}

int token_check(const char *secret, const char *token, const char *room, enum token_role need,
                int64_t now, const char **why)
{
	const char *dummy;
	const char **w = why ? why : &dummy;
	char payload[PAYLOAD_MAX];
	struct claims c;
	if (!secret || !secret[0] || !token) {
		*w = "malformed";
		return -EACCES;
	}
	*w = verify(secret, token, payload);
	if (!*w && !parse_payload(payload, &c))
		*w = "malformed";
	if (!*w && c.exp <= now)
		*w = "expired";
	bool any = room && !room[0];
	if (!*w && !any && strcmp(c.room, "*") && (!room || strcmp(c.room, room)))
		*w = "wrong-room";
	if (!*w && (int)need > c.role)
		*w = "wrong-role";
	return *w ? -EACCES : 0;
}
