/*
 * recorder.h - a live recording of one room: one more recipient of the room's engine (no self
 * to exclude, video + audio) whose packets go to a file written by a thread of its own:
 * WebM or Matroska (VP8 + Opus) in mix_writer's live mode (a cluster every 500 ms, flushed: a
 * killed process leaves a playable file), or MP4 (H.264 + AAC from encoders of its own, never
 * the room's VP8 one) written under a hidden temporary name and renamed when it is finished
 * (an MP4 survives a clean stop, not a kill).
 *
 * Threads: recorder_start, _push, _poll, _stop and _free run on the media thread; the writer
 * thread touches only the recorder's queue and status (under its mutex) and its mix_writer.
 * Packets cross over as references in a bounded queue that drops the oldest and counts, so the
 * media thread never waits on the disk. recorder_status is safe from any thread that holds the
 * recorder alive (the media thread owns it).
 * Ownership: the server owns recorders until their writer thread has finished and they are
 * reaped; the room points at its active one. Notify callbacks run once, on the writer thread.
 */
#ifndef MCU_RECORDER_H
#define MCU_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "mix/engine.h"
#include "signal/msg.h"

#define REC_MAX_PATH  1024
#define REC_MAX_ERROR (REC_MAX_PATH + 200)
#define REC_QUEUE_MAX 1024 /* packets (about 12 s of 30 fps video + 50 audio packets/s) */

enum rec_state { REC_STARTING, REC_RECORDING, REC_STOPPING, REC_FINISHED, REC_FAILED };

struct rec_status {
	enum rec_state state;
	char room[SIG_MAX_ROOM + 1];
	char path[REC_MAX_PATH];   /* "" until the file is created */
	char format[8];            /* "webm" | "mkv" | "mp4" */
	char error[REC_MAX_ERROR]; /* why it failed, "" otherwise */
	int width, height, video_bitrate;
	int64_t bytes;
	double duration_s; /* media time written so far */
	int64_t started_unix;
	int64_t first_write_ms; /* wall clock (ms since 1970) when the first packet was written */
	uint64_t packets, dropped; /* written; dropped by the full queue or while failed */
};

struct recorder;

/* Called on the writer thread: once the file is open (or failed), once it is finished. */
typedef void (*rec_notify_fn)(void *opaque, const struct rec_status *st);

struct rec_cfg {
	const char *room;
	const char *dir;    /* server-named file "<room>-<UTC>.<ext>" in dir, or: */
	const char *path;   /* an explicit path (the operator's --record); NULL for dir */
	const char *format; /* "webm", "mkv" or "mp4"; NULL: webm (or the explicit path's ext) */
	int width, height, fps, video_bitrate; /* resolved: never 0 */
	bool own_encoder_hint;                 /* for the log only */
	uint32_t rid;                          /* the engine recipient id to use */
	rec_notify_fn on_opened;
	void *opaque;
};

/* Media thread: adds the engine recipient and starts the writer thread. 0 or -errno. */
int recorder_start(struct recorder **out, struct mix_engine *eng, const struct rec_cfg *cfg);
/* Media thread: a packet for this recorder's recipient (borrowed; a reference is queued). */
void recorder_push(struct recorder *r, const struct mix_packet *p);
/* Media thread, about twice a second: keyframe requests until one came; stops on failure. */
void recorder_poll(struct recorder *r, int64_t now_us);
/*
 * Media thread: removes the engine recipient and asks the writer to finish the file (trailer,
 * cues). on_finished (may be NULL) is called on the writer thread when it is done. Idempotent.
 */
void recorder_stop(struct recorder *r, rec_notify_fn on_finished, void *opaque);
/* Whether recorder_stop has been called. */
bool recorder_stopped(const struct recorder *r);
/* Whether the writer thread has finished (then recorder_free does not wait). */
bool recorder_done(const struct recorder *r);
/* Stops if needed and waits for the writer thread to finish the file (the status is final). */
void recorder_wait(struct recorder *r);
/* Media thread: true once, at the first call after the writer has created the file. */
bool recorder_take_opened(struct recorder *r);
/* Stops if needed, waits for the writer thread, frees. Sets *r to NULL. */
void recorder_free(struct recorder **r);

uint32_t recorder_rid(const struct recorder *r);
const char *recorder_room(const struct recorder *r);
void recorder_status(struct recorder *r, struct rec_status *out);
const char *rec_state_name(enum rec_state s);

/* The format a recording gets: `format` if set, else the path's extension, else "webm". */
const char *recorder_format_for(const char *format, const char *path);
/*
 * Whether recordings in this format ("webm", "mkv", "mp4") can be made: 0, -EINVAL for an
 * unknown format, -ENOTSUP when this FFmpeg lacks an encoder it needs. *why (may be NULL)
 * gets a message for the user (a constant string) on error. Any thread.
 */
int recorder_check_format(const char *format, const char **why);

/* "<room>-<YYYYmmddTHHMMSSZ>.<ext>" for unix time t (no directory). */
void recorder_file_name(char *out, size_t n, const char *room, int64_t t, const char *ext);

#endif
