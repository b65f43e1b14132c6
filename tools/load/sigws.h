/*
 * sigws.h - mcu-load's WebSocket client for signaling (RFC 6455, libwebsockets 4.1): many
 * connections on one lws context served by one thread of its own.
 *
 * Threads: sigws_new() starts the service thread; every lws call happens there. The other
 * calls may come from any thread (mcu-load calls them from its GLib loop thread): they queue a
 * request under a lock and wake the service thread (lws_cancel_service). Events (open, each
 * whole text message, close) are delivered on the GMainContext given to sigws_new(), through
 * g_main_context_invoke, so the client code that handles them is single-threaded.
 * Ownership: a sigws_conn belongs to its sigws and lives until sigws_free() (after the thread
 * stopped); events already posted to the GLib context when sigws_free() returns still run,
 * so their opaque pointers must outlive one more iteration of that context.
 * Only plain ws:// URLs are supported (the load test runs on loopback).
 */
#ifndef LOAD_SIGWS_H
#define LOAD_SIGWS_H

#include <stddef.h>
#include <stdint.h>

#define SIGWS_MAX_MESSAGE (70 * 1024) /* the server's 64 KiB limit plus slack */
#define SIGWS_MAX_QUEUE   64          /* outbound messages per connection (drop-oldest) */

typedef struct _GMainContext GMainContext;

struct sigws_callbacks {
	void (*on_open)(void *opaque);
	void (*on_message)(void *opaque, const char *text, size_t len); /* text NUL-terminated */
	void (*on_close)(void *opaque, const char *why);                /* once, last event */
};

struct sigws;
struct sigws_conn;

int sigws_new(struct sigws **out, GMainContext *deliver);
/* Stops the thread and closes every connection (no events are delivered for those closes). */
void sigws_free(struct sigws **s);

/* url: ws://HOST[:PORT]/PATH. Connects in the background. 0, -EINVAL (bad URL), -ENOMEM. */
int sigws_connect(struct sigws *s, const char *url, const struct sigws_callbacks *cb, void *opaque,
                  struct sigws_conn **out);
/* Queues one text message (copied). 0, -ENOMEM, -ENOTCONN once closed. */
int sigws_send(struct sigws_conn *c, const char *text);
/* Closes the connection (status 1000) after what is queued; on_close follows. */
void sigws_close(struct sigws_conn *c);
/* Messages dropped because the queue was full. */
uint64_t sigws_dropped(struct sigws_conn *c);

#endif
