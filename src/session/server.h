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
 * it or a join for it is in flight (refs). It owns its webhook (net/webhook.h, a sender thread
 * of its own) when webhook_url is set: server_event queues an event from any thread.
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
#include "session/room_settings.h"
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
struct webhook;
struct cluster;
struct json_t;

/* The error codes of docs/PROTOCOL.md, counted one by one; others count as the last, "other". */
#define SERVER_ERROR_CODES 27
extern const char *const server_error_codes[SERVER_ERROR_CODES];

/* Process-wide counters (any thread). */
struct server_counters {
	atomic_uint_fast64_t joins, leaves, offers, errors_sent, busy_rejects;
	atomic_uint_fast64_t rooms_created, rooms_freed, ice_failed, dtls_failed;
	atomic_uint_fast64_t auth_failures;     /* joins refused for want of a valid token */
	atomic_uint_fast64_t api_auth_failures; /* /api requests refused for want of a token */
	atomic_uint_fast64_t errors_by_code[SERVER_ERROR_CODES]; /* server_error_codes */
	atomic_uint_fast64_t recordings_finished, recordings_failed;
	atomic_uint_fast64_t recording_bytes_done; /* bytes of the finished and failed ones */
};

/*
 * A room's registry entry. name, sh, refs, held: under reg_lock; set: written before the slot
 * is in the registry, then read-only; room: the slot's loop only.
 */
struct slot {
	char name[SIG_MAX_ROOM + 1];
	struct shard *sh; /* the loop the room lives on, chosen at the first join (or PUT) */
	int refs;         /* connections bound (or joining), and the API's hold; goes at 0 */
	bool held;        /* made by PUT /api/rooms/{room}: one ref is the API's, until the room
	                   * ends (DELETE) or stays empty for its idle timeout */
	struct room_settings *set; /* its own settings (owned), NULL: the server's */
	struct room *room;         /* created by the first join (or PUT) on the loop */
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
	struct webhook *webhook;       /* events to webhook_url, NULL when none is set */
	struct cluster *cluster;       /* main's (cluster/cluster.h), NULL: a single node */
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
/*
 * PUT: registers room `name` with its own settings (copied), held by the API, on the least
 * loaded loop; the caller then creates it there (shard_room_put). 0 with *out set; -EEXIST
 * (the room exists), -ENOSPC (max_rooms), -ENOMEM.
 */
int server_room_put(struct server *s, const char *name, const struct room_settings *set,
                    struct slot **out);
/* Releases the API's hold of a slot (if held); true if that was the last reference (as
 * server_slot_release). */
bool server_slot_unhold(struct server *s, struct slot *sl);
/* Frees a slot out of the registry (and its settings); its room must be gone. */
void server_slot_free(struct slot *sl);
/* Removes the binding of (conn, peer_id) if it is still there. */
void server_unbind(struct server *s, uint64_t conn, uint32_t peer_id);
/* Rooms and bound connections right now. */
void server_counts(struct server *s, int *rooms, int *participants);
/* The names of the rooms registered here (at most max); how many. */
int server_room_names(struct server *s, char (*names)[SIG_MAX_ROOM + 1], int max);
/* Claims cfg->record[i] for a room just created: the path to record to, or NULL. */
const char *server_claim_record(struct server *s, const char *room);

/* ---- recordings and snapshots (any thread; takes snap_lock) ---- */

/* Remembers a finished recording's status for the API. */
void server_remember_recording(struct server *s, const struct rec_status *st);
/* Adds a peer's counters to a sum. */
void server_peer_stats_add(struct peer_stats *sum, const struct peer_stats *st);

/* ---- signaling thread: ws.h callbacks ---- */

void server_on_message(void *opaque, uint64_t conn, const char *text, size_t len);
/* Any thread: a join the cluster placed on this node (taken as a message of conn, with no
 * further placement). */
void server_join_here(struct server *s, uint64_t conn, const char *text, size_t len);
void server_on_close(void *opaque, uint64_t conn);
void server_on_rate_limited(void *opaque, uint64_t conn);
void server_on_http(void *opaque, const struct ws_http_request *req, struct ws_http_reply *reply);
/* Any thread: an /api/ call forwarded to this node by the cluster (no further forwarding). */
void server_http_here(struct server *s, const struct ws_http_request *req,
                      struct ws_http_reply *reply);
/* Any thread: completes a deferred /api/ call (one forwarded from another node goes back
 * there). Takes the reply's body and file. */
void server_http_done(struct server *s, uint64_t id, struct ws_http_reply *reply);
/* Any thread: the /api/rooms JSON of this node's rooms (malloc'd). */
char *server_rooms_json(struct server *s);
/* Any thread: the finished files in the recordings directory as GET /api/recordings lists them
 * (a JSON array text, by name; the last max of them, all if max < 0), or NULL. free() it. */
char *server_recordings_json(struct server *s, int max);

/* Any thread: sends a JSON text (takes ownership of text, frees it). */
void server_send(struct server *s, uint64_t conn, char *text);
/* Any thread: closes a connection (1000) after the messages queued for it. */
void server_close(struct server *s, uint64_t conn);
/* Any thread: counts an error message sent (errors_sent and by code). */
void server_count_error(struct server *s, const char *code);
/* Any thread: sends {"type":"error"} with a code and message, and counts it. */
void server_send_error(struct server *s, uint64_t conn, const char *code, const char *msg);

/*
 * Any thread, never blocks: a webhook event (docs/PROTOCOL.md, "Webhooks"), e.g.
 * server_event(s, "participant-muted", room, json_pack("{s:{s:s,s:s}}", "participant", ...)):
 * {"event", "id", "time", "room", ...fields}. Takes fields over (an object, or NULL); nothing
 * happens without a webhook_url.
 */
void server_event(struct server *s, const char *event, const char *room, struct json_t *fields);

/*
 * Any thread: runs fn(sh, data) on shard sh's loop. Counts against SERVER_MAX_INFLIGHT:
 * -EBUSY if too much is in flight (fn is not called), -ENOMEM.
 */
int server_invoke(struct server *s, struct shard *sh, void (*fn)(struct shard *sh, void *data),
                  void *data);

#endif
