/*
 * server.h - the server: configuration, the DTLS certificate, the signaling front end, one
 * shard per event loop (about one per core), and the registry that maps room names and
 * WebSocket connections to the loop that runs them.
 *
 * Threads:
 * - the signaling thread (libwebsockets) parses each message (pure), looks its connection or
 *   room up in the registry and posts it to that room's loop (net/loop.h); it answers the HTTP
 *   API from snapshots, or later (ws_http_complete) for calls that need a loop;
 * - each loop runs its shard (session/shard.h): its rooms, their peers, engines, recordings;
 * - recorder writer threads hand results back by posting to their loop.
 * The registry (slots, bindings, placement) is under reg_lock, taken briefly by the signaling
 * thread and by loops (join, leave); nothing blocks while holding it. Counters are atomics or
 * per shard and summed on read. Hand-offs are bounded: at most SERVER_MAX_INFLIGHT commands
 * wait for the loops; beyond that a client gets "server-busy".
 * Ownership: the server owns its shards and the registry's slots; a slot's room is created and
 * freed on the slot's loop (the shard owns it); a slot lives while any connection is bound to
 * it or a join for it is in flight (refs).
 */
#ifndef MCU_SERVER_H
#define MCU_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "session/env.h"
#include "session/peer.h"
#include "signal/msg.h"

#define SERVER_MAX_INFLIGHT 4096
#define SERVER_MAX_LOOPS    64
#define SERVER_REC_HISTORY  64 /* finished recordings remembered for the status API */

struct loop;
struct room;
struct shard;
struct ws_server;
struct ws_http_reply;
struct ws_http_request;
struct dtls_cert;
struct rec_status;
struct mix_pool;

/* Process-wide counters (any thread). */
struct server_counters {
	atomic_uint_fast64_t joins, leaves, offers, errors_sent, busy_rejects;
	atomic_uint_fast64_t rooms_created, rooms_freed, ice_failed, dtls_failed;
	atomic_uint_fast64_t auth_failures;     /* joins refused for want of a valid token */
	atomic_uint_fast64_t api_auth_failures; /* /api requests refused for want of a token */
};

/* A room's registry entry. name, sh, refs: under reg_lock; room: the slot's loop only. */
struct slot {
	char name[SIG_MAX_ROOM + 1];
	struct shard *sh;  /* the loop the room lives on, chosen at the first join */
	int refs;          /* connections bound (or joining); the slot goes at 0 */
	struct room *room; /* created by the first join on the loop */
};

/* A joined (or joining) connection. */
struct binding {
	uint64_t conn;
	uint32_t peer_id;
	struct slot *slot;
};

/* Sends a deferred HTTP reply (ws_http_complete, or a test's replacement). */
typedef int (*server_http_done_fn)(void *ctx, uint64_t id, struct ws_http_reply *reply);

struct server {
	const struct mcu_config *cfg;
	struct ws_server *ws;
	struct dtls_cert *cert;
	struct shard **shards;
	int nshards;
	struct mix_pool
	    *pool; /* the engines' worker pool (loops - 1 threads), NULL with one loop */
	atomic_int inflight;
	atomic_uint next_id;
	struct server_counters ctr;
	server_http_done_fn http_done; /* default: ws_http_complete on ws */
	void *http_done_ctx;
	/* the registry (reg_lock) */
	pthread_mutex_t reg_lock;
	struct slot **slots;
	int nslots, cap_slots;
	struct binding *binds;
	int nbinds, cap_binds;
	bool record_used[CFG_MAX_RECORD]; /* cfg->record[i] has started (once per server run) */
	/* snapshots and finished recordings (snap_lock) */
	pthread_mutex_t snap_lock;
	struct rec_status *hist; /* ring of SERVER_REC_HISTORY, oldest first from hist_head */
	int nhist, hist_head;
};

/*
 * Creates the server: cfg->loops loops (not yet running), the certificate must be set by the
 * caller (s->cert) before server_start. 0 or -errno. ws is attached later (server_set_ws).
 */
int server_init(struct server *s, const struct mcu_config *cfg, struct dtls_cert *cert);
/* Starts the loops' threads. 0 or -errno. */
int server_start(struct server *s);
/*
 * Tears every room and peer down on its loop, finishes every recording (trailer, cues), stops
 * and joins the loops, frees everything. The signaling thread must have stopped calling in.
 */
void server_fini(struct server *s);

/* ---- the registry (any thread; takes reg_lock) ---- */

/* The shard running room `name`, or NULL. */
struct shard *server_room_shard(struct server *s, const char *name);
/* Takes one more reference of a slot that has one (on the slot's loop, for a posted leave). */
void server_slot_ref(struct server *s, struct slot *sl);
/* Releases one reference of a slot; true if it was the last (the slot is out of the registry
 * and the caller, on the slot's loop, frees its room and the slot). */
bool server_slot_release(struct server *s, struct slot *sl);
/* Removes the binding of (conn, peer_id) if it is still there. */
void server_unbind(struct server *s, uint64_t conn, uint32_t peer_id);
/* Rooms and bound connections right now. */
void server_counts(struct server *s, int *rooms, int *participants);
/* Claims cfg->record[i] for a room just created: the path to record to, or NULL. */
const char *server_claim_record(struct server *s, const char *room);

/* ---- recordings and snapshots (any thread; takes snap_lock) ---- */

/* Remembers a finished recording's status for the API. */
void server_remember_recording(struct server *s, const struct rec_status *st);
/* Adds a peer's counters to a sum. */
void server_peer_stats_add(struct peer_stats *sum, const struct peer_stats *st);

/* ---- signaling thread: ws.h callbacks ---- */

void server_on_message(void *opaque, uint64_t conn, const char *text, size_t len);
void server_on_close(void *opaque, uint64_t conn);
void server_on_rate_limited(void *opaque, uint64_t conn);
void server_on_http(void *opaque, const struct ws_http_request *req, struct ws_http_reply *reply);

/* Any thread: sends a JSON text (takes ownership of text, frees it). */
void server_send(struct server *s, uint64_t conn, char *text);
/* Any thread: sends {"type":"error"} with a code and message, and counts it. */
void server_send_error(struct server *s, uint64_t conn, const char *code, const char *msg);

/*
 * Any thread: runs fn(sh, data) on shard sh's loop. Counts against SERVER_MAX_INFLIGHT:
 * -EBUSY if too much is in flight (fn is not called), -ENOMEM.
 */
int server_invoke(struct server *s, struct shard *sh, void (*fn)(struct shard *sh, void *data),
                  void *data);

#endif
