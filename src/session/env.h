/*
 * env.h - what a room and its peers need from above, instead of the whole server: the
 * configuration, the DTLS certificate, the loop they live on, and a few services (send a
 * signaling message, report that a peer's session has ended, count a failure, new ids,
 * register a recorder).
 *
 * One env per loop, owned by the server for its whole life; rooms and peers on that loop hold a
 * pointer to it. Threads: cfg and cert are read-only after start; send and new_id are safe from
 * any thread; the other services are called on the env's loop.
 */
#ifndef MCU_ENV_H
#define MCU_ENV_H

#include <stdint.h>

struct mcu_config;
struct dtls_cert;
struct loop;
struct peer;
struct room;
struct recorder;
struct mix_pool;
struct json_t;

enum env_counter { ENV_ICE_FAILED, ENV_DTLS_FAILED, ENV_COUNTERS };

struct env_ops {
	/* Sends a JSON text to a connection; takes ownership of text (NULL is ignored). */
	void (*send)(void *up, uint64_t conn, char *text);
	/* The peer's session has ended: take it out of its room soon (not from inside this call).
	 */
	void (*peer_ended)(void *up, struct peer *p);
	void (*count)(void *up, enum env_counter c);
	/* An error message with this code was sent (counted by code). */
	void (*error_sent)(void *up, const char *code);
	/* A new participant or recipient id, unique in the process. */
	uint32_t (*new_id)(void *up);
	/* Takes ownership of a started recorder (reaped when its writer has finished). */
	int (*add_recorder)(void *up, struct recorder *rec);
	/* Something the API's snapshot shows has changed (e.g. a participant's output). */
	void (*changed)(void *up);
	/* A webhook event about room (server_event); takes fields over (NULL: none). */
	void (*event)(void *up, const char *event, const char *room, struct json_t *fields);
};

struct env {
	const struct mcu_config *cfg;
	struct dtls_cert *cert;
	struct loop *loop;
	struct mix_pool *pool; /* the engines' worker pool, shared by every loop; NULL = none */
	int64_t handshake_us;  /* how long ICE + DTLS may take after the offer; 0: 20 s (tests) */
	const struct env_ops *ops;
	void *up; /* the ops' context */
};

static inline void env_send(const struct env *e, uint64_t conn, char *text)
{
	e->ops->send(e->up, conn, text);
}

/* Sends {"type":"error"} with a code and message, and counts it. */
void env_send_error(const struct env *e, uint64_t conn, const char *code, const char *msg);

#endif
