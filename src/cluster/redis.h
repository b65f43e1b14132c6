/*
 * redis.h - one asynchronous connection to a Redis server (hiredis) on an event loop
 * (net/loop.h): connects from a redis://HOST:PORT URL, reconnects every REDIS_RETRY_MS while
 * down, and counts a connection whose replies stop coming for REDIS_STALL_MS as down (it is
 * dropped: every pending command gets a NULL reply), so a Redis that vanished without closing
 * is noticed as fast as one that closed.
 *
 * Threads: created, used and freed on its loop only (or before the loop starts); every
 * callback runs there. hiredis is included here, in redis.c and, for its reply type, in cluster.c.
 * Ownership: the caller owns the struct redis; a reply is the library's, valid during the
 * callback only.
 */
#ifndef MCU_REDIS_H
#define MCU_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REDIS_RETRY_MS 500
#define REDIS_STALL_MS 2000

struct loop;
struct redis;
struct redisReply;

struct redis_callbacks {
	void *opaque;
	void (*on_up)(void *opaque);                    /* connected (again) */
	void (*on_down)(void *opaque, const char *why); /* lost (or a connect failed) */
};

/*
 * Parses url ("redis://HOST:PORT", HOST an IPv4 address or a name, PORT 1..65535) into host and
 * *port: 0, or -EINVAL with a reason in err.
 */
int redis_parse_url(const char *url, char *host, size_t host_cap, int *port, char *err,
                    size_t errlen);
/* A connection to url on loop l (connecting at once, then whenever down). 0 or -errno. */
int redis_new(struct redis **out, struct loop *l, const char *url,
              const struct redis_callbacks *cb);
void redis_free(struct redis **r);
bool redis_is_up(const struct redis *r);

/* The reply to a command: NULL when the connection went down before it came. */
typedef void (*redis_reply_fn)(void *arg, struct redisReply *reply);
/* Sends a command (hiredis format: "SET %s %b", ...). -ENOTCONN while down (fn not called). */
int redis_cmd(struct redis *r, redis_reply_fn fn, void *arg, const char *fmt, ...);
/*
 * Subscribes this connection to channel (it then takes no other command: use a connection of
 * its own): fn(arg, payload, len) for every message published there. Again after each
 * reconnect: call it from on_up. -ENOTCONN while down.
 */
typedef void (*redis_message_fn)(void *arg, const char *payload, size_t len);
int redis_subscribe(struct redis *r, const char *channel, redis_message_fn fn, void *arg);
/* The same with an argument vector (argv[i] of argvlen[i] bytes). */
int redis_cmd_argv(struct redis *r, redis_reply_fn fn, void *arg, int argc, const char **argv,
                   const size_t *argvlen);

#endif
