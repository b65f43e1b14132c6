/*
 * server.h - the server's shared state: configuration, the DTLS certificate, the signaling
 * front end, the media loop (one GLib main context on one thread), and the rooms and peers.
 *
 * Threads: the signaling thread (libwebsockets) parses messages and hands them to the media
 * thread (server_post); everything in rooms and peers runs on the media thread. Outbound
 * signaling goes through ws_send (thread-safe). Hand-offs are bounded: at most
 * SERVER_MAX_INFLIGHT commands wait for the media thread; beyond that a client gets a
 * "server-busy" error.
 * Recordings: the server owns every recorder until its writer thread has finished; a 500 ms
 * timer on the media thread polls them (keyframes, failures, progress in the log), reaps the
 * finished ones into a short history and rebuilds the snapshot the HTTP API reads.
 */
#ifndef MCU_SERVER_H
#define MCU_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "config.h"
#include "session/peer.h"

#define SERVER_MAX_INFLIGHT 4096
#define SERVER_REC_HISTORY  64 /* finished recordings remembered for the status API */

struct room;
struct peer;
struct ws_server;
struct dtls_cert;
struct recorder;
struct rec_status;

struct server_stats {
	uint64_t joins, leaves, offers, errors_sent, busy_rejects;
	uint64_t rooms_created, rooms_freed, ice_failed, dtls_failed;
	uint64_t auth_failures; /* joins refused for want of a valid token */
};

struct server {
	const struct mcu_config *cfg;
	struct ws_server *ws;
	struct dtls_cert *cert;
	GMainContext *ctx;
	GMainLoop *loop;
	atomic_int inflight;
	atomic_uint_fast64_t api_auth_failures; /* /api requests refused for want of a token */
	/* media thread only: */
	struct room **rooms;
	int nrooms, cap_rooms;
	struct peer **peers; /* every joined peer, any room */
	int npeers, cap_peers;
	uint32_t next_peer_id;
	struct server_stats st;
	struct peer_stats peers_gone; /* counters of the peers that have left, summed */
	/* recordings (media thread): every recorder not yet reaped, the last finished ones */
	struct recorder **recs;
	int nrecs, cap_recs;
	struct rec_status *hist; /* ring of SERVER_REC_HISTORY, oldest first from hist_head */
	int nhist, hist_head;
	unsigned rec_timer;
	int64_t rec_log_us;
	bool record_used[CFG_MAX_RECORD]; /* cfg->record[i] has started (once per server run) */
	/* JSON snapshots for GET /api/rooms and the recording API, rebuilt by the media thread */
	pthread_mutex_t snap_lock;
	char *rooms_json;
	char *recs_json; /* array of recording statuses, newest last */
};

/* Media thread: adds a peer's counters to a sum (for GET /api/stats). */
void server_peer_stats_add(struct peer_stats *sum, const struct peer_stats *st);

/* Media thread: rebuilds the /api/rooms snapshot after a change. */
void server_update_snapshot(struct server *s);
/* Signaling thread: answers /api/ requests. */
struct ws_http_reply;
struct ws_http_request;
void server_on_http(void *opaque, const struct ws_http_request *req, struct ws_http_reply *reply);

/* Media thread: rooms and peers. */
struct room *server_find_room(struct server *s, const char *name);
int server_add_room(struct server *s, struct room *r);
void server_remove_room(struct server *s, struct room *r);
struct peer *server_peer_by_conn(struct server *s, uint64_t conn);
int server_add_peer(struct server *s, struct peer *p);
void server_remove_peer(struct server *s, struct peer *p);

/* Media thread: takes ownership of a started recorder. 0 or -ENOMEM. */
int server_add_recorder(struct server *s, struct recorder *rec);
/* Media thread, at shutdown: stops every recording and waits for the files to be finished. */
void server_free_recorders(struct server *s);
/* Media thread: starts the --record recordings of a room that has just been created. */
void server_room_created(struct server *s, struct room *r);

/* Signaling thread: runs fn(data) on the media thread. -EBUSY if too much is in flight. */
int server_invoke(struct server *s, void (*fn)(struct server *s, void *data), void *data);

/* Any thread: sends a JSON text (takes ownership of text, frees it). */
void server_send(struct server *s, uint64_t conn, char *text);
/* Any thread: sends {"type":"error"} with a code and message. */
void server_send_error(struct server *s, uint64_t conn, const char *code, const char *msg);

/*
 * Media thread: removes the peer of conn from its room soon (from an idle callback, so it is
 * safe to call from inside the peer's own transport callbacks). The WebSocket stays open; the
 * client may join again.
 */
void server_drop_conn(struct server *s, uint64_t conn);

/* Signaling thread callbacks (see ws.h). */
void server_on_message(void *opaque, uint64_t conn, const char *text, size_t len);
void server_on_close(void *opaque, uint64_t conn);
void server_on_rate_limited(void *opaque, uint64_t conn);

#endif
