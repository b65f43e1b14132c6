/*
 * token.h - access tokens: HMAC-SHA256 over a room, a role and an expiry, signed with the
 * server's shared secret.
 *
 * Format: base64url("v1|ROOM|ROLE|EXPIRY") "." base64url(HMAC-SHA256(secret, that payload)),
 * ROOM a room name or "*" (every room), ROLE "participant" or "admin", EXPIRY Unix seconds.
 * A participant token lets its holder join ROOM; an admin token also allows every /api call on
 * ROOM (room "*": every /api call). The signature is checked in constant time before anything
 * in the payload is believed.
 *
 * Threads: pure functions, any thread. No allocation; callers own every buffer.
 */
#ifndef MCU_TOKEN_H
#define MCU_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_MAX 512 /* longest token accepted or made, bytes */

enum token_role { TOKEN_PARTICIPANT, TOKEN_ADMIN };

/* "participant" / "admin" -> role; -1 otherwise. */
int token_role_parse(const char *s);

/*
 * Writes a token for room (a room name or "*") with role, expiring at exp (Unix seconds).
 * 0, or -EINVAL (bad room, empty secret), -ENOSPC (out too small).
 */
int token_make(const char *secret, const char *room, enum token_role role, int64_t exp, char *out,
               size_t outlen);

/*
 * Checks that token is validly signed with secret, unexpired at now, and allows `need` on room
 * (room NULL: an action on no room in particular, which only a "*" token allows; room "": any
 * room's token will do). Admin implies participant. 0 if allowed; -EACCES otherwise, with a short
 * reason in *why
 * ("malformed", "bad-signature", "expired", "wrong-room", "wrong-role").
 */
int token_check(const char *secret, const char *token, const char *room, enum token_role need,
                int64_t now, const char **why);

#endif
