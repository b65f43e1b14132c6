/*
 * room.h - a room: its participants (peers), its media engine and the timer that drives the
 * engine's clock.
 *
 * The engine's media time is the room's monotonic age: a packet's timestamp is mapped to the
 * room age at which its stream's fastest recent packets arrived plus its participant's playout
 * delay (session/playout.h), which absorbs the jitter measured on that participant's path.
 * Threads: its loop only (env->loop): a room and all its peers live on one loop. The loop's
 * shard (session/shard.c) owns its rooms; a room owns its engine and timer and holds its peers
 * (the shard frees them on leave). Created on the first join, freed when the last peer leaves.
 * A room may have one active recording (rec): the server owns the recorder, the room routes
 * the recorder's engine packets to it and stops it when the room closes.
 */
#ifndef MCU_ROOM_H
#define MCU_ROOM_H

#include <stdint.h>

#include "mix/engine.h"
#include "session/outbox.h"
#include "session/recorder.h"
#include "signal/msg.h"

struct env;
struct peer;

struct room {
	char name[SIG_MAX_ROOM + 1];
	const struct env *env; /* its loop, config and services */
	void *slot;            /* the registry's entry for this room (session/server.c) */
	struct mix_engine *eng;
	struct peer **peers; /* join order */
	int npeers, cap_peers;
	int64_t t0_us;    /* monotonic time of creation */
	unsigned tick_id; /* GLib source id of the mixing timer */
	uint32_t active_speaker;
	struct recorder *rec;    /* the active recording, or NULL (owned by the server) */
	enum rec_state rec_told; /* the recording state last announced to the peers */
	uint64_t lag_skips;      /* times the mixing clock skipped ahead after falling behind */
	struct outbox out;       /* this tick's packets for the peers, sent after the tick */
};

/* What a recording asks for; zeros mean the room's settings. */
struct room_rec_opts {
	const char *format; /* "webm" (default), "mkv" or "mp4"; NULL: from path's extension */
	int width, height, video_bitrate;
	const char *path; /* explicit file (the operator's --record), or NULL: recordings_dir */
};

int room_new(struct room **out, const struct env *env, const char *name);
void room_free(struct room **r);

/* The room's age in microseconds (the clock inbound timestamps are mapped to). */
int64_t room_now(const struct room *r);
/* The engine media time at wall time room_now() (the same clock: delays are per participant). */
int64_t room_media_now(const struct room *r);

/* Adds a peer and its engine source; tells the others. -ENOSPC if the room is full. */
int room_add_peer(struct room *r, struct peer *p);
/* Removes a peer (engine source and recipient too); tells the others. */
void room_remove_peer(struct room *r, struct peer *p);
struct peer *room_peer_by_id(const struct room *r, uint32_t id);
/* Sends a JSON text to every peer but `except` (NULL: all). Frees text. */
void room_broadcast(struct room *r, const struct peer *except, char *text);

/*
 * Starts recording the room (a new recipient and writer thread; the file is created by the
 * writer, which calls on_opened). -EBUSY if a recording is active, -EINVAL for bad options,
 * -ENOTSUP for a format this FFmpeg cannot encode (mp4 without libx264: logged), -ENOMEM.
 * on_opened is not called on error.
 */
int room_start_recording(struct room *r, const struct room_rec_opts *o, rec_notify_fn on_opened,
                         void *opaque);
/* Stops the active recording; on_finished runs when the file is finished. -ENOENT if none. */
int room_stop_recording(struct room *r, rec_notify_fn on_finished, void *opaque);
/* Tells the peers about a change of the recording's state (a "recording" message). */
void room_announce_recording(struct room *r);

#endif
