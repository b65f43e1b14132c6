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

#include <stdbool.h>
#include <stdint.h>

#include "mix/engine.h"
#include "session/outbox.h"
#include "session/peer.h"
#include "session/recorder.h"
#include "session/room_settings.h"
#include "signal/msg.h"

struct env;
struct mcu_config;
struct peer;

struct room {
	char name[SIG_MAX_ROOM + 1];
	const struct env *env;    /* its loop, config and services */
	struct room_settings set; /* its own settings (PUT) or the server's */
	int64_t empty_since_us;   /* monotonic time its last participant left (or it was made) */
	bool auto_recorded;       /* set.record has been started */
	void *slot;               /* the registry's entry for this room (session/server.c) */
	struct mix_engine *eng;
	struct peer **peers; /* join order */
	int npeers, cap_peers;
	int64_t t0_us;    /* monotonic time of creation */
	unsigned tick_id; /* GLib source id of the mixing timer */
	uint32_t active_speaker;
	struct recorder *rec;    /* the active recording, or NULL (owned by the server) */
	enum rec_state rec_told; /* the recording state last announced to the peers */
	const struct recorder *rec_stopped; /* stopped here, writer not done yet (told when done) */
	uint64_t lag_skips;  /* times the mixing clock skipped ahead after falling behind */
	int64_t lag_us;      /* how far behind real time the mixing was at the last tick */
	uint32_t presenter;  /* the peer whose screen is presented, or SIG_NO_ID */
	uint32_t pin_before; /* the room's pin when the presentation began */
	struct outbox out;   /* this tick's packets for the peers, sent after the tick */
};

/* What a recording asks for; zeros mean the room's settings. */
struct room_rec_opts {
	const char *format; /* "webm" (default), "mkv" or "mp4"; NULL: from path's extension */
	int width, height, video_bitrate;
	const char *path; /* explicit file (the operator's --record), or NULL: recordings_dir */
};

/* A room with settings set (NULL: the server's). */
int room_new(struct room **out, const struct env *env, const char *name,
             const struct room_settings *set);
/* Whether a room's engine can be made with this configuration: 0, or the engine's -errno (any
 * thread; main.c checks once at start, so no join fails on a setting). */
int room_config_check(const struct mcu_config *c);
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
/*
 * Sets p's mute of one kind (by itself or a moderator: peer.h) for audio and video (-1: leave
 * as is). The engine then drops and skips p's muted media (mix_engine_set_source_muted). When
 * p's muted state changes, everyone is told ({"type":"muted"}, including p). Returns whether
 * it changed.
 */
bool room_set_mute(struct room *r, struct peer *p, enum peer_mute_by by, int audio, int video);
/*
 * The room's layout (enum mix_layout_kind, -1: unchanged) and, with set_pin, its pin
 * (SIG_NO_ID: none): every recipient without a view of its own follows; everyone is told
 * ({"type":"layout"}). -EINVAL for a bad layout, -ENOENT for a pin not in the room.
 */
int room_set_layout(struct room *r, int layout, bool set_pin, uint32_t pin);
/* Distinct views of their own the participants of a room may have (each costs an encoder). */
#define ROOM_MAX_VIEWS 8

/* p's own view (see mix_engine_set_recipient_view; pin SIG_NO_ID: the room's). -ENOENT for a
 * pin not in the room, -ENOSPC when it would be a view beyond ROOM_MAX_VIEWS, -EINVAL. */
int room_set_view(struct room *r, struct peer *p, int layout, int exclude_self, uint32_t pin);
/*
 * p shares its screen (peer.c, its offer named one): a source of its own ("name (screen)"),
 * presented: pinned large for everyone (the room's pin before it comes back when it stops),
 * everyone told ({"type":"presentation"}). 0 or -errno.
 */
int room_screen_start(struct room *r, struct peer *p);
/* p's screen stops (a "screen" message, or p leaves): its source goes, the pin comes back. */
void room_screen_stop(struct room *r, struct peer *p);
/* A moderator's mute of everyone but except (SIG_NO_ID: nobody); how many changed. */
int room_mute_all(struct room *r, uint32_t except, int audio, int video);
/* Renames p (a valid display name): its tile follows and everyone is told ("renamed"). */
void room_rename(struct room *r, struct peer *p, const char *name);
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
/*
 * The writer of rec has finished (st: finished or failed): if the room stopped rec and has not
 * started another recording since, tells the peers the final state. Any recorder may be passed.
 */
void room_recording_done(struct room *r, const struct recorder *rec, const struct rec_status *st);

#endif
