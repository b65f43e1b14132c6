/*
 * live.c - the figures of the moment of GET /api/stats' "media" object and the loops' lag
 * (see live.h).
 */
#include "session/live.h"

#include <string.h>

#include "mix/engine.h"
#include "net/loop.h"
#include "session/peer.h"
#include "session/recorder.h"
#include "session/room.h"
#include "session/shard.h"

static void add_encoder(struct live *l, const struct mix_output_info *o)
{
	for (int i = 0; i < l->nenc; i++) {
		struct live_encoder *e = &l->enc[i];
		if (e->codec == (int)o->codec && e->width == o->width && e->height == o->height &&
		    e->fps == o->fps) {
			e->count++;
			return;
		}
	}
	if (l->nenc == LIVE_MAX_ENCODERS) {
		l->enc_other++;
		return;
	}
	l->enc[l->nenc++] = (struct live_encoder){(int)o->codec, o->width, o->height, o->fps, 1};
}

static void add_room(struct live *l, const struct room *r, int loop)
{
	for (int i = 0; i < r->npeers; i++) {
		const struct peer *p = r->peers[i];
		l->peers[peer_state(p)]++;
		for (int k = 0; k < 2; k++) {
			l->bps_in[k] += p->rates.in_bps[k];
			l->bps_out[k] += p->rates.out_bps[k];
		}
	}
	struct mix_output_info out[16];
	int n = mix_engine_video_outputs(r->eng, out, 16);
	for (int i = 0; i < n; i++)
		if (i < 16)
			add_encoder(l, &out[i]);
		else
			l->enc_other++;
	struct mix_engine_stats st;
	mix_engine_get_stats(r->eng, &st);
	l->audio_encoders += st.audio_encoders;
	if (r->rec) {
		struct rec_status rs;
		recorder_status(r->rec, &rs);
		l->recordings++;
		l->recording_bytes += rs.bytes;
	}
	if (r->lag_us > l->lag_us[loop])
		l->lag_us[loop] = r->lag_us;
	l->lag_skips[loop] += r->lag_skips;
}

void live_add_shard(struct live *l, struct shard *sh)
{
	int loop = loop_index(sh->loop);
	if (loop < 0 || loop >= SERVER_MAX_LOOPS)
		return;
	l->lag_skips[loop] += sh->lag_skips_gone;
	for (int i = 0; i < sh->nrooms_arr; i++)
		add_room(l, sh->rooms[i], loop);
}

static json_t *media_pair(const int64_t v[2])
{
	return json_pack("{s:I,s:I}", "audio", (json_int_t)v[0], "video", (json_int_t)v[1]);
}

json_t *live_json(const struct live *l)
{
	json_t *enc = json_array();
	for (int i = 0; i < l->nenc; i++) {
		const struct live_encoder *e = &l->enc[i];
		json_array_append_new(enc, json_pack("{s:s,s:i,s:i,s:i,s:i}", "codec",
		                                     e->codec == MIX_VCODEC_H264 ? "h264" : "vp8",
		                                     "width", e->width, "height", e->height, "fps",
		                                     e->fps, "count", e->count));
	}
	json_t *states = json_object();
	for (int i = 0; i < PEER_STATES; i++)
		json_object_set_new(states, peer_state_name((enum peer_state)i),
		                    json_integer(l->peers[i]));
	return json_pack("{s:o,s:o,s:o,s:o,s:i,s:i,s:i,s:I}", "peers_by_state", states,
	                 "bitrate_in", media_pair(l->bps_in), "bitrate_out", media_pair(l->bps_out),
	                 "video_encoders", enc, "video_encoders_unlisted", l->enc_other,
	                 "audio_encoders", l->audio_encoders, "recordings_active", l->recordings,
	                 "recording_bytes_active", (json_int_t)l->recording_bytes);
}

void live_loops_json(const struct live *l, json_t *loops)
{
	size_t i;
	json_t *o;
	json_array_foreach(loops, i, o)
	{
		if (i >= SERVER_MAX_LOOPS)
			break;
		json_object_set_new(o, "lag_ms", json_real((double)(l->lag_us[i] / 100) / 10.0));
		json_object_set_new(o, "lag_skips", json_integer((json_int_t)l->lag_skips[i]));
	}
}

void live_server_json(struct server *s, const struct live *l, json_t *server)
{
	const struct server_counters *t = &s->ctr;
	json_t *codes = json_object();
	for (int i = 0; i < SERVER_ERROR_CODES; i++)
		json_object_set_new(codes, server_error_codes[i],
		                    json_integer((json_int_t)atomic_load(&t->errors_by_code[i])));
	json_object_set_new(server, "errors_by_code", codes);
	json_object_set_new(server, "recordings_finished",
	                    json_integer((json_int_t)atomic_load(&t->recordings_finished)));
	json_object_set_new(server, "recordings_failed",
	                    json_integer((json_int_t)atomic_load(&t->recordings_failed)));
	json_object_set_new(server, "recording_bytes",
	                    json_integer((json_int_t)atomic_load(&t->recording_bytes_done) +
	                                 (json_int_t)l->recording_bytes));
}
