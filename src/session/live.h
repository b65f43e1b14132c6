/*
 * live.h - what the rooms and peers are doing right now, gathered loop by loop for GET
 * /api/stats and /metrics: peers by state, bit rates in and out, the live encoders by codec
 * and size, active recordings, and how far each loop's mixing runs behind real time.
 *
 * Threads: live_add_shard runs on a shard's loop (it reads that loop's rooms) under the
 * caller's lock of the struct live; live_json on any thread once every loop has added.
 */
#ifndef MCU_LIVE_H
#define MCU_LIVE_H

#include <stdint.h>

#include <jansson.h>

#include "session/peer.h"
#include "session/server.h"

#define LIVE_MAX_ENCODERS 64 /* distinct (codec, size, rate) outputs listed; more are summed */

struct live_encoder {
	int codec, width, height, fps, count;
};

struct live {
	int peers[PEER_STATES];        /* by enum peer_state */
	int64_t bps_in[2], bps_out[2]; /* [0] audio, [1] video: bit/s over the last second */
	int audio_encoders;            /* Opus and AAC, every room */
	struct live_encoder enc[LIVE_MAX_ENCODERS];
	int nenc, enc_other;              /* listed; and encoders beyond the list */
	int recordings;                   /* active */
	int64_t recording_bytes;          /* written so far by the active ones */
	int64_t lag_us[SERVER_MAX_LOOPS]; /* per loop: the furthest behind a room's mixing was */
	uint64_t lag_skips[SERVER_MAX_LOOPS]; /* per loop: times a room's mixing skipped ahead */
};

/* Adds shard sh's rooms and peers (on sh's loop). */
void live_add_shard(struct live *l, struct shard *sh);
/* {"peers_by_state", "bitrate_in", "bitrate_out", "video_encoders", "audio_encoders",
 * "recordings_active", "recording_bytes_active"}. */
json_t *live_json(const struct live *l);
/* Adds to the "server" object: "errors_by_code" {code: n}, "recordings_finished",
 * "recordings_failed" and "recording_bytes" (written by every recording, active ones too). */
void live_server_json(struct server *s, const struct live *l, json_t *server);
/* Adds "lag_ms" and "lag_skips" to each loop object of loops (in loop order). */
void live_loops_json(const struct live *l, json_t *loops);

#endif
