/*
 * webhook.h - events POSTed as JSON to one URL (docs/PROTOCOL.md, "Webhooks"), from a thread
 * of the webhook's own, through libcurl.
 *
 * Each event is a JSON object {"event", "id", "time", ...the caller's fields}, signed with
 * HMAC-SHA256(secret, timestamp "." body) in X-MCU-Signature (unsigned with an empty secret),
 * the Unix timestamp in X-MCU-Timestamp so a receiver can refuse replays. Events go out one at
 * a time in the order they were posted: a 2xx delivers one; a connection error, a timeout, a
 * 5xx or a 429 is retried after a backoff that doubles (a retrying event holds back the ones
 * after it); any other status gives it up. Every outcome is counted.
 *
 * Threads: webhook_post and webhook_stats may be called from any thread and never block (a
 * mutex held for a list append); the sender thread alone runs libcurl. webhook_new and
 * webhook_free belong to the owner (the server, at start and after its loops have stopped).
 * Ownership: the caller owns the webhook; posted events (their JSON) belong to the webhook.
 */
#ifndef MCU_WEBHOOK_H
#define MCU_WEBHOOK_H

#include <stdint.h>

#include <jansson.h>

#define WEBHOOK_MAX_EVENT 48 /* an event name: [a-z0-9._-], 1..47 characters */

struct webhook;

/* Settings; 0 in a field means its default. */
struct webhook_opts {
	int queue_max;          /* events waiting at most; more are dropped (1024) */
	int attempts;           /* tries per event, the first one included (5) */
	int backoff_ms;         /* wait before the first retry, doubled for each next one (500) */
	int backoff_max_ms;     /* the longest wait between tries (30000) */
	int connect_timeout_ms; /* per try: connecting (2000) */
	int timeout_ms;         /* per try: the whole request and its answer (5000) */
	int drain_ms;           /* webhook_free goes on delivering for at most this long (2000) */
};

struct webhook_stats {
	uint64_t queued;    /* events accepted */
	uint64_t delivered; /* answered 2xx */
	uint64_t retries;   /* tries after the first */
	uint64_t failed;    /* given up: another status, tries used up, or cut short at exit */
	uint64_t dropped;   /* never tried: the queue was full, or still waiting at exit */
	uint64_t pending;   /* accepted and not yet delivered or given up */
};

/*
 * Creates the webhook and starts its thread. url: http:// or https://; secret: "" or NULL to
 * send unsigned; opts may be NULL. 0, -EINVAL (bad URL), -ENOMEM or -errno.
 */
int webhook_new(struct webhook **out, const char *url, const char *secret,
                const struct webhook_opts *opts);
/*
 * Any thread, never blocks: queues event `event` with the fields of `data` (an object, taken
 * over: the reference is the webhook's; NULL for none; its keys "event", "id" and "time" are
 * ignored). 0, -ENOSPC (the queue is full: dropped and counted), -EINVAL (a bad name) or
 * -ENOMEM.
 */
int webhook_post(struct webhook *wh, const char *event, json_t *data);
/* Any thread: the counters so far. */
void webhook_stats(struct webhook *wh, struct webhook_stats *out);
/* Any thread: {"enabled", "queued", "delivered", "retries", "failed", "dropped", "pending"};
 * wh may be NULL (disabled, zeros). NULL if out of memory. */
json_t *webhook_stats_json(struct webhook *wh);
/*
 * Stops taking new tries once the queue is empty or opts.drain_ms have passed (whichever comes
 * first), counts what is left as dropped, joins the thread and frees. Sets *wh to NULL.
 */
void webhook_free(struct webhook **wh);

#endif
