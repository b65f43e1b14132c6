/*
 * engine.c - the media engine's public API: sources, recipients, the tick clock and stats.
 *
 * The clock: audio ticks every 20 ms (tick n starts at n * 20000 us), video ticks every 1/fps
 * (tick n at n * 1e6 / fps, integer arithmetic so no drift; with cfg.tick_lock the grid follows
 * the lead source's frames, vlock.h). run_until() runs due ticks in time order, audio first on
 * ties, so the video tick sees the speaker state of its instant.
 * Engine thread only (see mix/engine.h), except engine_cpu_now and engine_stats_stage, which
 * the video tick's pool items call on their own stats. The engine owns sources, recipients,
 * outputs and the video tick's scratch array; it borrows cfg.pool. With cfg.latency it owns
 * its per-stage latency histograms (engine thread only; see mix_engine_latency_merge).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_int.h"
#include "mix/aac.h"
#include "mix/h264.h"
#include "mcu/ptrarray.h"

void mix_engine_cfg_default(struct mix_engine_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->width = 1280;
	cfg->height = 720;
	cfg->fps = 30;
	cfg->layout = MIX_LAYOUT_GRID;
	cfg->max_tiles = MIX_LAYOUT_MAX_TILES;
	cfg->speaker_strip = 6;
	cfg->video_bitrate = 2000000;
	cfg->audio_bitrate = 32000;
	cfg->opus_complexity = 5;
	cfg->max_mixed = 4;
	cfg->max_w = MIX_VP8_MAX_W;
	cfg->max_h = MIX_VP8_MAX_H;
	cfg->plc_max_us = 100000;
	cfg->tile_names = false; /* output unchanged unless asked for */
}

void mix_recipient_opts_default(struct mix_recipient_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->self = MIX_NO_SOURCE;
	o->video = o->audio = true;
	o->layout = -1;
	o->exclude_self = -1;
	o->pin = MIX_NO_SOURCE;
}

static int check_cfg(const struct mix_engine_cfg *c)
{
	if (c->width < 16 || c->height < 16 || c->width > 4096 || c->height > 4096 ||
	    (c->width | c->height) & 1)
		return -EINVAL;
	if (c->fps < 1 || c->fps > 60 || c->max_tiles < 1 || c->max_tiles > MIX_LAYOUT_MAX_TILES)
		return -EINVAL;
	if (c->speaker_strip < 0 || c->speaker_strip > MIX_LAYOUT_MAX_STRIP)
		return -EINVAL;
	if (c->video_bitrate < 10000 || c->audio_bitrate < 6000 || c->audio_bitrate > 510000 ||
	    c->max_mixed < 1 || c->max_mixed > 64)
		return -EINVAL;
	if (c->layout != MIX_LAYOUT_GRID && c->layout != MIX_LAYOUT_SPEAKER)
		return -EINVAL;
	return 0;
}

int mix_engine_alloc(struct mix_engine **out, const struct mix_engine_cfg *cfg)
{
	int rc = check_cfg(cfg);
	if (rc < 0)
		return rc;
	struct mix_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cfg = *cfg;
	struct mix_audio_cfg acfg;
	mix_audio_cfg_default(&acfg);
	acfg.max_mixed = cfg->max_mixed;
	rc = mix_audio_alloc(&e->amix, &acfg);
	if (rc < 0) {
		free(e);
		return rc;
	}
	e->active_speaker = MIX_NO_SOURCE;
	e->pin = MIX_NO_SOURCE;
	vlock_init(&e->vlock);
	if (cfg->latency && !(e->lat = malloc(sizeof(*e->lat)))) {
		mix_audio_free(&e->amix);
		free(e);
		return -ENOMEM;
	}
	if (e->lat)
		mix_latency_init(e->lat, MIX_LAT_HALF_US, mix_mono_us());
	*out = e;
	return 0;
}

void mix_engine_free(struct mix_engine **ep)
{
	struct mix_engine *e = *ep;
	if (!e)
		return;
	for (int i = 0; i < e->nsrc; i++)
		source_free(&e->src[i]);
	for (int i = 0; i < e->nrcp; i++)
		free(e->rcp[i]);
	for (int i = 0; i < e->nvout; i++)
		vout_free(&e->vout[i]);
	for (int i = 0; i < e->naout; i++)
		aout_free(&e->aout[i]);
	free(e->src);
	free(e->rcp);
	free(e->vout);
	free(e->aout);
	free(e->vjobs);
	free(e->lat);
	mix_audio_free(&e->amix);
	free(e);
	*ep = NULL;
}

struct source *engine_source(const struct mix_engine *e, uint32_t id)
{
	for (int i = 0; i < e->nsrc; i++)
		if (e->src[i]->id == id)
			return e->src[i];
	return NULL;
}

static struct recipient *find_rcp(const struct mix_engine *e, uint32_t id, int *idx)
{
	for (int i = 0; i < e->nrcp; i++) {
		if (e->rcp[i]->id == id) {
			if (idx)
				*idx = i;
			return e->rcp[i];
		}
	}
	return NULL;
}

int mix_engine_add_source(struct mix_engine *e, uint32_t src, const char *name)
{
	if (src == MIX_NO_SOURCE)
		return -EINVAL;
	if (engine_source(e, src))
		return -EEXIST;
	if (ptrarray_reserve((void ***)&e->src, e->nsrc, &e->cap_src) < 0)
		return -ENOMEM;
	struct source *s = source_new(src, name, ++e->join_seq);
	if (!s)
		return -ENOMEM;
	s->lat.on = e->lat != NULL;
	e->src[e->nsrc++] = s;
	e->tiles_dirty = true;
	return 0;
}

void mix_engine_remove_source(struct mix_engine *e, uint32_t src)
{
	for (int i = 0; i < e->nsrc; i++) {
		if (e->src[i]->id != src)
			continue;
		source_free(&e->src[i]);
		memmove(&e->src[i], &e->src[i + 1], sizeof(void *) * (size_t)(e->nsrc - i - 1));
		e->nsrc--;
		mix_audio_remove_source(e->amix, src);
		if (e->active_speaker == src) {
			e->active_speaker = MIX_NO_SOURCE;
			if (e->cfg.cb.on_active_speaker)
				e->cfg.cb.on_active_speaker(e->cfg.cb.opaque, MIX_NO_SOURCE);
		}
		e->tiles_dirty = true;
		return;
	}
}

/* Visibility must be current before a frame is accepted or dropped as invisible. */
static int ensure_assigned(struct mix_engine *e)
{
	return e->tiles_dirty ? vouts_assign(e, mix_engine_now(e)) : 0;
}

/* A pushed frame's stamps, its reorder stage recorded: none unless latency is on and it has
 * an arrival time. */
static struct lat_stamp stamp_push(struct mix_engine *e, enum mix_lat_stage st, int64_t arrived)
{
	if (!e->lat || arrived <= 0)
		return (struct lat_stamp){0};
	struct lat_stamp t = {arrived, mix_mono_us()};
	engine_lat_add(e, st, t.handed_us, t.handed_us - arrived);
	return t;
}

int mix_engine_push_video_at(struct mix_engine *e, uint32_t src, const uint8_t *data, size_t len,
                             int64_t pts_us, int64_t ready_us, bool loss_before, int64_t arrived_us)
{
	struct source *s = engine_source(e, src);
	if (!s)
		return -ENOENT;
	int rc = ensure_assigned(e);
	if (rc < 0)
		return rc;
	if (s->video_muted) {
		e->st.frames_dropped_muted++;
		return 0;
	}
	struct lat_stamp t = stamp_push(e, MIX_LAT_VIDEO_REORDER, arrived_us);
	return source_push_video(s, data, len, pts_us, ready_us, loss_before, t, &e->st);
}

int mix_engine_push_video(struct mix_engine *e, uint32_t src, const uint8_t *data, size_t len,
                          int64_t pts_us, bool loss_before)
{
	return mix_engine_push_video_at(e, src, data, len, pts_us, pts_us, loss_before, 0);
}

int mix_engine_push_audio_at(struct mix_engine *e, uint32_t src, const uint8_t *data, size_t len,
                             int64_t pts_us, int level, bool loss_before, int64_t arrived_us)
{
	struct source *s = engine_source(e, src);
	if (!s)
		return -ENOENT;
	if (s->audio_muted) {
		e->st.audio_dropped_muted++;
		return 0;
	}
	struct lat_stamp t = stamp_push(e, MIX_LAT_AUDIO_REORDER, arrived_us);
	return source_push_audio(s, data, len, pts_us, level, loss_before, t, &e->st);
}

int mix_engine_push_audio(struct mix_engine *e, uint32_t src, const uint8_t *data, size_t len,
                          int64_t pts_us, int level, bool loss_before)
{
	return mix_engine_push_audio_at(e, src, data, len, pts_us, level, loss_before, 0);
}

int mix_engine_set_source_video_codec(struct mix_engine *e, uint32_t src,
                                      enum mix_video_codec codec)
{
	struct source *s = engine_source(e, src);
	if (!s)
		return -ENOENT;
	int rc = source_set_video_codec(s, (int)codec);
	if (rc < 0 && rc != -EINVAL)
		e->tiles_dirty = true; /* the source lost its decoder: the next assign retries */
	return rc;
}

int mix_engine_set_source_muted(struct mix_engine *e, uint32_t src, bool audio, bool video)
{
	struct source *s = engine_source(e, src);
	if (!s)
		return -ENOENT;
	if (video != s->video_muted)
		e->tiles_dirty = true; /* visibility follows (vout.c) */
	s->audio_muted = audio;
	s->video_muted = video;
	return 0;
}

int mix_engine_set_source_name(struct mix_engine *e, uint32_t src, const char *name)
{
	struct source *s = engine_source(e, src);
	if (!s)
		return -ENOENT;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
	return 0;
}

bool mix_engine_source_visible(const struct mix_engine *e, uint32_t src)
{
	const struct source *s = engine_source(e, src);
	return s && s->visible;
}

int mix_engine_source_tile(const struct mix_engine *e, uint32_t src, int *w, int *h)
{
	const struct source *s = engine_source(e, src);
	*w = s ? s->tile_w : 0;
	*h = s ? s->tile_h : 0;
	return s ? 0 : -ENOENT;
}

int mix_engine_set_audio_preskip(struct mix_engine *e, uint32_t src, int samples)
{
	struct source *s = engine_source(e, src);
	if (!s)
		return -ENOENT;
	if (samples < 0 || samples > 48000)
		return -EINVAL;
	s->preskip_left = samples;
	return 0;
}

/* A known codec pair, and this FFmpeg has its encoders: -EINVAL or -ENOTSUP otherwise. */
static int codecs_check(const struct mix_recipient_opts *o)
{
	if (o->video_codec != MIX_VCODEC_VP8 && o->video_codec != MIX_VCODEC_H264)
		return -EINVAL;
	if (o->audio_codec != MIX_ACODEC_OPUS && o->audio_codec != MIX_ACODEC_AAC)
		return -EINVAL;
	if (o->video && o->video_codec == MIX_VCODEC_H264 && !mix_h264_available())
		return -ENOTSUP;
	if (o->audio && o->audio_codec == MIX_ACODEC_AAC && !mix_aac_available())
		return -ENOTSUP;
	return 0;
}

/* The video settings of resolved options: 0 means the engine's. */
static void resolve_video(const struct mix_engine *e, struct mix_recipient_opts *o)
{
	if (!o->width)
		o->width = e->cfg.width;
	if (!o->height)
		o->height = e->cfg.height;
	if (!o->fps)
		o->fps = e->cfg.fps;
	if (!o->video_bitrate)
		o->video_bitrate = e->cfg.video_bitrate;
}

/* An Opus bitrate a recipient may ask for: 0 (the engine's) or what an encoder takes. */
static bool audio_bitrate_ok(int bps)
{
	return bps == 0 || (bps >= 6000 && bps <= 510000);
}

/* Resolved options the engine can serve: -EINVAL, -ENOTSUP (codecs_check) or 0. */
static int check_opts(const struct mix_engine *e, const struct mix_recipient_opts *o)
{
	if (o->width < 16 || o->height < 16 || o->width > 4096 || o->height > 4096 ||
	    (o->width | o->height) & 1 || o->video_bitrate < 10000)
		return -EINVAL;
	if (!audio_bitrate_ok(o->audio_bitrate))
		return -EINVAL;
	if (o->fps < 1 || o->fps > e->cfg.fps || e->cfg.fps % o->fps)
		return -EINVAL;
	if (o->layout != MIX_LAYOUT_GRID && o->layout != MIX_LAYOUT_SPEAKER)
		return -EINVAL;
	return codecs_check(o);
}

static int resolve_opts(const struct mix_engine *e, const struct mix_recipient_opts *in,
                        struct mix_recipient_opts *o)
{
	*o = *in;
	resolve_video(e, o);
	if (o->layout < 0)
		o->layout = (int)e->cfg.layout;
	if (o->exclude_self < 0)
		o->exclude_self = e->cfg.exclude_self;
	if (!o->audio_bitrate)
		o->audio_bitrate = e->cfg.audio_bitrate;
	return check_opts(e, o);
}

int mix_engine_add_recipient(struct mix_engine *e, uint32_t rid,
                             const struct mix_recipient_opts *opts)
{
	struct mix_recipient_opts def;
	if (!opts) {
		mix_recipient_opts_default(&def);
		opts = &def;
	}
	if (find_rcp(e, rid, NULL))
		return -EEXIST;
	struct recipient *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->id = rid;
	r->own_layout = opts->layout >= 0;
	int rc = resolve_opts(e, opts, &r->opts);
	if (rc == 0)
		rc = ptrarray_reserve((void ***)&e->rcp, e->nrcp, &e->cap_rcp);
	if (rc < 0) {
		free(r);
		return rc;
	}
	e->rcp[e->nrcp++] = r;
	e->tiles_dirty = true;
	return 0;
}

void mix_engine_remove_recipient(struct mix_engine *e, uint32_t rid)
{
	int i;
	struct recipient *r = find_rcp(e, rid, &i);
	if (!r)
		return;
	vouts_release_recipient(e, r);
	aouts_release_recipient(e, r);
	free(r);
	memmove(&e->rcp[i], &e->rcp[i + 1], sizeof(void *) * (size_t)(e->nrcp - i - 1));
	e->nrcp--;
	e->tiles_dirty = true;
}

static void request_keyframe(struct mix_engine *e, uint32_t rid, int64_t min_gap_us)
{
	struct recipient *r = find_rcp(e, rid, NULL);
	if (r && r->vout)
		vout_request_keyframe(r->vout, min_gap_us);
}

void mix_engine_request_keyframe(struct mix_engine *e, uint32_t rid)
{
	request_keyframe(e, rid, MIX_KF_GAP_US);
}

void mix_engine_request_join_keyframe(struct mix_engine *e, uint32_t rid)
{
	request_keyframe(e, rid, MIX_KF_JOIN_GAP_US);
}

int mix_engine_set_recipient_bitrate(struct mix_engine *e, uint32_t rid, int bps)
{
	struct recipient *r = find_rcp(e, rid, NULL);
	if (!r)
		return -ENOENT;
	if (bps < 0)
		return -EINVAL;
	r->bitrate_cap = bps;
	e->tiles_dirty = true;
	return 0;
}

int mix_engine_set_recipient_video(struct mix_engine *e, uint32_t rid, bool on, int width,
                                   int height, int fps, int bitrate)
{
	struct recipient *r = find_rcp(e, rid, NULL);
	if (!r)
		return -ENOENT;
	struct mix_recipient_opts o = r->opts;
	o.video = on;
	if (on) {
		o.width = width;
		o.height = height;
		o.fps = fps;
		o.video_bitrate = bitrate;
		resolve_video(e, &o);
	}
	int rc = check_opts(e, &o);
	if (rc < 0)
		return rc;
	r->opts = o;
	e->tiles_dirty = true; /* the next tick's assignment moves it (vout.c gates the move) */
	return 0;
}

int mix_engine_set_layout(struct mix_engine *e, enum mix_layout_kind layout)
{
	if (layout != MIX_LAYOUT_GRID && layout != MIX_LAYOUT_SPEAKER)
		return -EINVAL;
	e->cfg.layout = layout;
	for (int i = 0; i < e->nrcp; i++)
		if (!e->rcp[i]->own_layout)
			e->rcp[i]->opts.layout = (int)layout;
	e->tiles_dirty = true;
	return 0;
}

void mix_engine_set_pin(struct mix_engine *e, uint32_t src)
{
	e->pin = src;
	e->tiles_dirty = true;
}

enum mix_layout_kind mix_engine_layout(const struct mix_engine *e)
{
	return e->cfg.layout;
}

uint32_t mix_engine_pin(const struct mix_engine *e)
{
	return e->pin;
}

int mix_engine_set_recipient_view(struct mix_engine *e, uint32_t rid, int layout, int exclude_self,
                                  uint32_t pin)
{
	struct recipient *r = find_rcp(e, rid, NULL);
	if (!r)
		return -ENOENT;
	if (layout > MIX_LAYOUT_SPEAKER || layout < -1 || exclude_self < -1 || exclude_self > 1)
		return -EINVAL;
	r->own_layout = layout >= 0;
	r->opts.layout = layout >= 0 ? layout : (int)e->cfg.layout;
	r->opts.exclude_self = exclude_self >= 0 ? exclude_self : e->cfg.exclude_self;
	r->opts.pin = pin;
	e->tiles_dirty = true;
	return 0;
}

int mix_engine_set_recipient_audio_bitrate(struct mix_engine *e, uint32_t rid, int bps)
{
	struct recipient *r = find_rcp(e, rid, NULL);
	if (!r)
		return -ENOENT;
	if (!audio_bitrate_ok(bps))
		return -EINVAL;
	r->opts.audio_bitrate = bps ? bps : e->cfg.audio_bitrate; /* aout.c moves it next tick */
	return 0;
}

/* ---- clock ---- */

static int64_t audio_tick_time(uint64_t n)
{
	return (int64_t)n * 20000;
}

static int64_t video_tick_time(const struct mix_engine *e, uint64_t n)
{
	return e->vbase_us + (int64_t)((n - e->vbase_n) * 1000000 / (uint64_t)e->cfg.fps);
}

int64_t engine_grid_slot(const struct mix_engine *e, int64_t t_us)
{
	return (t_us * e->cfg.fps + 500000) / 1000000;
}

/* The source the video ticks follow (vlock.h): the pinned one, else the active speaker, else
 * the first visible source in join order; it must be visible. NULL: none. */
static const struct source *lock_lead(const struct mix_engine *e)
{
	const uint32_t pick[2] = {e->pin, e->active_speaker};
	for (int i = 0; i < 2; i++) {
		const struct source *s =
		    pick[i] != MIX_NO_SOURCE ? engine_source(e, pick[i]) : NULL;
		if (s && s->visible)
			return s;
	}
	for (int i = 0; i < e->nsrc; i++)
		if (e->src[i]->visible)
			return e->src[i];
	return NULL;
}

/*
 * The earliest the tick after one at t_us may come: past the end of t_us's slot of the 1/fps
 * grid (rounded to the nearest slot, with SLOT_SPARE_US to spare on both sides for the
 * rounding a file's time base adds), so no two ticks share a slot. Recordings then stay
 * constant-rate for tools that assume it (ffmpeg maps frames to 1/fps slots and drops a
 * frame that lands in its predecessor's).
 */
#define SLOT_SPARE_US 1000
static int64_t next_slot_start(const struct mix_engine *e, int64_t t_us)
{
	int64_t slot = engine_grid_slot(e, t_us + SLOT_SPARE_US);
	return (2 * slot + 1) * 1000000 / (2 * (int64_t)e->cfg.fps) + SLOT_SPARE_US;
}

/* After video tick n ran at t_us: with the lock on, tick n + 1 moves toward the lead's frames,
 * but never into tick n's slot. */
static void lock_ticks(struct mix_engine *e, uint64_t n, int64_t t_us)
{
	if (!e->cfg.tick_lock)
		return;
	const struct source *s = lock_lead(e);
	int64_t period = 1000000 / e->cfg.fps;
	int64_t move = vlock_update(&e->vlock, s ? s->id : MIX_NO_SOURCE, t_us,
	                            s ? s->shown_pts : INT64_MIN, s ? s->shown_ready : 0, period);
	if (move == 0)
		return;
	int64_t next = video_tick_time(e, n + 1) + move, earliest = next_slot_start(e, t_us);
	e->vbase_us = next > earliest ? next : earliest;
	e->vbase_n = n + 1;
}

int64_t mix_engine_now(const struct mix_engine *e)
{
	int64_t a = audio_tick_time(e->audio_tick), v = video_tick_time(e, e->video_tick);
	return a < v ? a : v;
}

void mix_engine_skip_to(struct mix_engine *e, int64_t t_us)
{
	while (audio_tick_time(e->audio_tick) < t_us) {
		e->audio_tick++;
		e->st.audio_ticks_skipped++;
	}
	while (video_tick_time(e, e->video_tick) < t_us) {
		e->video_tick++;
		e->st.video_ticks_skipped++;
	}
}

int mix_engine_run_one(struct mix_engine *e, int64_t t_us)
{
	int64_t ta = audio_tick_time(e->audio_tick);
	int64_t tv = video_tick_time(e, e->video_tick);
	int rc;
	if (ta >= t_us && tv >= t_us)
		return 0;
	if (ta <= tv) {
		rc = aouts_tick(e, ta);
		e->audio_tick++;
		e->st.audio_ticks++;
	} else {
		rc = vouts_tick(e, tv, e->video_tick);
		if (rc >= 0)
			lock_ticks(e, e->video_tick, tv);
		e->video_tick++;
		e->st.video_ticks++;
	}
	return rc < 0 ? rc : 1;
}

int mix_engine_run_until(struct mix_engine *e, int64_t t_us)
{
	int rc;
	while ((rc = mix_engine_run_one(e, t_us)) == 1)
		;
	return rc;
}

/* ---- helpers shared by vout.c and aout.c ---- */

double engine_cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void engine_stats_stage(struct mix_engine_stats *st, enum mix_stage s, double t0)
{
	st->stage_cpu_s[s] += engine_cpu_now() - t0;
}

void engine_stage_add(struct mix_engine *e, enum mix_stage s, double t0)
{
	engine_stats_stage(&e->st, s, t0);
}

/* clang-format off */
#define ENGINE_COUNTERS \
	X(frames_decoded) X(frames_dropped_invisible) X(frames_dropped_queue) X(decode_errors) \
	X(keyframe_requests) X(frames_encoded) X(audio_packets_encoded) X(plc_samples) \
	X(audio_decoded_packets) X(audio_decode_errors) X(audio_bad_packets) \
	X(audio_dropped_queue) X(audio_late_packets) X(frames_dropped_muted) \
	X(audio_dropped_muted)
/* clang-format on */

void engine_stats_add(struct mix_engine_stats *into, const struct mix_engine_stats *from)
{
#define X(f) into->f += from->f;
	ENGINE_COUNTERS
#undef X
	for (int s = 0; s < MIX_STAGE_COUNT; s++)
		into->stage_cpu_s[s] += from->stage_cpu_s[s];
}

void engine_emit(struct mix_engine *e, uint32_t rid, const struct mix_packet *p)
{
	if (e->cfg.cb.on_packet)
		e->cfg.cb.on_packet(e->cfg.cb.opaque, rid, p);
}

/*
 * Keyframe requests to a source: at most one per SRC_KF_REQ_GAP_US of media time, repeated at
 * that pace while the decoder still waits (a request or the keyframe itself can be lost: at
 * 5 % loss, one in twenty; libwebrtc's receiver repeats every 200 ms). The peer's PLI limiter
 * has the same gap.
 */
void engine_request_keyframe_src(struct mix_engine *e, struct source *s, int64_t t_us)
{
	if (t_us - s->last_kf_req_us < SRC_KF_REQ_GAP_US)
		return;
	s->last_kf_req_us = t_us;
	e->st.keyframe_requests++;
	if (e->cfg.cb.on_keyframe_request)
		e->cfg.cb.on_keyframe_request(e->cfg.cb.opaque, s->id);
}

/* ---- per-stage latency ---- */

int64_t mix_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void mix_latency_init(struct mix_latency *l, int64_t half_us, int64_t now_us)
{
	for (int i = 0; i < MIX_LAT_COUNT; i++)
		lat_hist_init(&l->h[i], half_us, now_us);
}

const char *mix_lat_stage_name(enum mix_lat_stage s)
{
	static const char *const names[MIX_LAT_COUNT] = {
	    "reorder", "wait", "decode", "encode", "send",  "total",
	    "reorder", "wait", "encode", "send",   "total",
	};
	return (unsigned)s < MIX_LAT_COUNT ? names[s] : "?";
}

bool mix_lat_stage_is_video(enum mix_lat_stage s)
{
	return s <= MIX_LAT_VIDEO_TOTAL;
}

void engine_lat_add(struct mix_engine *e, enum mix_lat_stage st, int64_t now_us, int64_t us)
{
	if (e->lat)
		lat_hist_add(&e->lat->h[st], now_us, us);
}

/* A source's frame and packet composed or mixed since the last send: total. */
static void source_lat_sent(struct mix_engine *e, struct source *s, int64_t now_us)
{
	if (s->lat.v_sent_arrived)
		engine_lat_add(e, MIX_LAT_VIDEO_TOTAL, now_us, now_us - s->lat.v_sent_arrived);
	if (s->lat.a_sent_arrived)
		engine_lat_add(e, MIX_LAT_AUDIO_TOTAL, now_us, now_us - s->lat.a_sent_arrived);
	s->lat.v_sent_arrived = s->lat.a_sent_arrived = 0;
}

void mix_engine_latency_sent(struct mix_engine *e, int64_t now_us)
{
	if (!e->lat)
		return;
	vouts_lat_sent(e, now_us);
	aouts_lat_sent(e, now_us);
	for (int i = 0; i < e->nsrc; i++)
		source_lat_sent(e, e->src[i], now_us);
}

void mix_latency_merge(struct mix_latency *into, const struct mix_latency *from, int64_t now_us)
{
	for (int i = 0; i < MIX_LAT_COUNT; i++)
		lat_hist_merge(&into->h[i], &from->h[i], now_us);
}

void mix_engine_latency_merge(const struct mix_engine *e, struct mix_latency *into, int64_t now_us)
{
	if (e->lat)
		mix_latency_merge(into, e->lat, now_us);
}

/* ---- introspection ---- */

void mix_engine_get_stats(const struct mix_engine *e, struct mix_engine_stats *st)
{
	*st = e->st;
	st->sources = e->nsrc;
	st->recipients = e->nrcp;
	st->video_encoders = vout_count(e);
	st->audio_encoders = e->naout;
	st->visible_sources = 0;
	st->video_decoders = 0;
	for (int i = 0; i < e->nsrc; i++) {
		st->visible_sources += e->src[i]->visible;
		st->video_decoders += source_has_decoder(e->src[i]);
	}
	st->active_speaker = e->active_speaker;
	st->video_ticks_moved = e->vlock.moved;
}

const char *mix_stage_name(enum mix_stage s)
{
	static const char *const names[MIX_STAGE_COUNT] = {
	    "video_decode", "compose", "video_encode", "audio_decode", "audio_mix", "audio_encode",
	};
	return (unsigned)s < MIX_STAGE_COUNT ? names[s] : "?";
}

int mix_engine_recipient_tiles(const struct mix_engine *e, uint32_t rid, uint32_t *out, int max)
{
	const struct recipient *r = find_rcp(e, rid, NULL);
	if (!r || !r->vout)
		return 0;
	return vout_tiles(r->vout, out, max);
}
