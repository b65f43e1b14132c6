/*
 * shard.h - the part of the server that lives on one event loop: the rooms placed on that loop
 * and their peers, the recordings of those rooms, and this loop's share of the counters and of
 * the HTTP API's snapshots.
 *
 * Threads: everything below runs on the shard's loop, except where a comment says otherwise.
 * The snapshot texts are written by the loop and read by the signaling thread under the
 * server's snap_lock.
 * Ownership: the server owns its shards; a shard owns its loop, its rooms (through the
 * registry's slots), their peers, and every recorder started on it until the writer thread has
 * finished and the recorder is reaped.
 */
#ifndef MCU_SHARD_H
#define MCU_SHARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mix/engine.h"
#include "session/env.h"
#include "session/peer.h"
#include "signal/msg.h"

struct server;
struct slot;
struct loop;
struct room;
struct recorder;

struct shard {
	struct server *srv;
	struct loop *loop;
	struct env env;            /* handed to this loop's rooms and peers */
	atomic_int nrooms, npeers; /* for placement and the API (written on the loop) */
	/* loop only */
	struct room **rooms;
	int nrooms_arr, cap_rooms;
	struct recorder **recs;
	int nrecs, cap_recs;
	unsigned rec_timer;
	unsigned idle_timer; /* while held rooms (PUT) are on this loop */
	int64_t rec_log_us;
	struct peer_stats peers_gone; /* counters of the peers that have left, summed */
	struct mix_latency lat_gone;  /* stages of the rooms that have closed (windowed) */
	uint64_t lag_skips_gone;      /* the closed rooms' room->lag_skips, summed */
	/* snapshots (server's snap_lock): JSON array elements, comma-separated, no brackets */
	char *snap_rooms, *snap_recs;
};

/* Any thread (at start-up): a shard with its loop, not yet running. 0 or -errno. */
int shard_new(struct shard **out, struct server *srv, int index);
/* Any thread, at shutdown: tears down on the loop, finishes recordings, stops and frees. */
void shard_free(struct shard **sh);

/* A join, after the registry has bound (conn, id) to slot and counted a reference. */
void shard_join(struct shard *sh, struct slot *sl, uint64_t conn, uint32_t id,
                const struct sig_msg *m);
/* A message from a joined peer (offer, candidate, leave, record). */
void shard_message(struct shard *sh, struct slot *sl, uint32_t id, const struct sig_msg *m);
/* The connection closed or the peer's session ended: the peer leaves its room. */
void shard_leave(struct shard *sh, struct slot *sl, uint32_t id);

/*
 * Removes participant id from room r: it gets {"type":"removed","reason"}, then its socket is
 * closed; the others get participant-left. r is freed if id was its last participant.
 * -ENOENT if id is not in r.
 */
int shard_kick(struct shard *sh, struct room *r, uint32_t id, const char *reason);

/*
 * PUT: creates the room of a slot registered by server_room_put (on the slot's loop) and
 * watches it for its idle timeout. The room, or NULL (the slot was released).
 */
struct room *shard_room_put(struct shard *sh, struct slot *sl);
/*
 * Ends room r: every participant is removed with reason (as shard_kick), its recording is
 * finished, the API's hold is dropped; r is freed. How many participants were removed.
 */
int shard_room_end(struct shard *sh, struct room *r, const char *reason);

/* Rebuilds this loop's part of the /api/rooms and recordings snapshots. */
void shard_update_snapshot(struct shard *sh);
/* Adds this loop's peers' counters (current and gone) to sum. */
void shard_peer_stats(struct shard *sh, struct peer_stats *sum);
/* Adds this loop's rooms' per-stage latency, closed rooms' too (their windows as of now_us,
 * monotonic), to into. */
void shard_latency(struct shard *sh, struct mix_latency *into, int64_t now_us);
/* The room named `name` on this loop, or NULL. */
struct room *shard_find_room(struct shard *sh, const char *name);

#endif
