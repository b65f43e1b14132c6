/*
 * vout.c - video outputs: output keys, encoder sharing, visibility, compositing and encoding.
 *
 * A recipient's video key is (layout, canvas size, frame rate, bitrate, codec, the sources in
 * its tiles in order). Recipients with equal keys share one vout: one compositor and one encoder
 * (VP8, or H.264 for MP4 recordings: a codec never shares another's encoder), whose packets
 * every one of them receives. When keys change (a join, a new speaker), a vout left without
 * recipients is re-keyed for a new key of the same codec, size and frame rate, so its stream
 * continues without a keyframe; a size or rate change always means a new encoder (never a live
 * resize, CVE-2023-5217; an encoder's rate is fixed). A vout of rate F is due, composed and
 * encoded, only on the engine's video ticks k with k % (engine fps / F) == 0.
 * A recipient moved to another vout (a join, new settings, video back on) is gated: it receives
 * that vout's packets only from its next keyframe, which a running encoder is asked for.
 * A source is visible, and video-decoded, only while it sits in some vout's tiles. Each tile
 * is drawn with its source's name as the label: the placeholder's initials, and the name label
 * on every tile when the engine's tile_names is set.
 * Which sources sit in a recipient's tiles, and where, is lineup.c's (stable positions).
 * The video tick forks and joins: with the engine's worker pool the visible sources decode in
 * parallel, then the vouts compose and encode in parallel; each item keeps its side effects
 * (counters, CPU time, keyframe requests, packets) in its struct vjob, applied in order by the
 * engine's thread after the join, so output and callbacks are those of a pool-less engine.
 * Engine thread only, but for the pool items (decode_item, encode_item): each touches its own
 * source or vout and its vjob, and reads the sources' pictures after the decodes joined.
 * The engine owns vouts; recipients point at them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "mcu/ptrarray.h"
#include "mix/h264.h"
#include "mix/pool.h"

struct vkey {
	int layout;
	int codec; /* enum mix_video_codec */
	int w, h;
	int fps; /* divides the engine's fps */
	int bitrate;
	int n;
	uint32_t tiles[MAX_TILES];
};

struct vout {
	struct vkey key;
	struct mix_compositor *comp;
	struct mix_vp8_enc *enc;   /* VP8 key */
	struct mix_h264_enc *h264; /* H.264 key */
	int matched;               /* recipients assigned in the current assignment pass */
	int64_t lat_encoded_us;    /* latency: its last frame's encode end, until sent (0: none) */
};

static bool key_eq(const struct vkey *a, const struct vkey *b)
{
	return a->layout == b->layout && a->codec == b->codec && a->w == b->w && a->h == b->h &&
	       a->fps == b->fps && a->bitrate == b->bitrate && a->n == b->n &&
	       !memcmp(a->tiles, b->tiles, sizeof(uint32_t) * (size_t)a->n);
}

void vout_free(struct vout **vp)
{
	struct vout *v = *vp;
	if (!v)
		return;
	mix_compositor_free(&v->comp);
	mix_vp8_enc_free(&v->enc);
	mix_h264_enc_free(&v->h264);
	free(v);
	*vp = NULL;
}

/* ---- the vout's encoder, whichever codec its key has ---- */

static int venc_alloc(struct vout *v)
{
	const struct vkey *k = &v->key;
	if (k->codec == MIX_VCODEC_H264) {
		struct mix_h264_enc_cfg hc = {
		    .width = k->w, .height = k->h, .fps = k->fps, .bitrate_bps = k->bitrate};
		return mix_h264_enc_alloc(&v->h264, &hc);
	}
	struct mix_vp8_enc_cfg ec = {
	    .width = k->w, .height = k->h, .fps = k->fps, .bitrate_bps = k->bitrate};
	return mix_vp8_enc_alloc(&v->enc, &ec);
}

static void venc_keyframe(struct vout *v, int64_t min_gap_us)
{
	if (v->h264)
		mix_h264_enc_request_keyframe_gap(v->h264, min_gap_us);
	else
		mix_vp8_enc_request_keyframe_gap(v->enc, min_gap_us);
}

static void venc_set_bitrate(struct vout *v, int bps)
{
	if (v->h264)
		mix_h264_enc_set_bitrate(v->h264, bps);
	else
		mix_vp8_enc_set_bitrate(v->enc, bps);
}

static int venc_encode(struct vout *v, const struct mix_picture *pic, int64_t t_us,
                       struct mix_packet **p)
{
	if (v->h264)
		return mix_h264_enc_encode(v->h264, pic, t_us, p);
	return mix_vp8_enc_encode(v->enc, pic, t_us, p);
}

static int vout_new(struct mix_engine *e, const struct vkey *k, struct vout **out)
{
	struct vout *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->key = *k;
	int rc = mix_compositor_alloc(&v->comp, k->w, k->h);
	if (rc == 0) {
		mix_compositor_set_names(v->comp, e->cfg.tile_names);
		rc = venc_alloc(v);
	}
	if (rc < 0) {
		vout_free(&v);
		return rc;
	}
	*out = v;
	return 0;
}

int vout_count(const struct mix_engine *e)
{
	return e->nvout;
}

int mix_engine_video_outputs(const struct mix_engine *e, struct mix_output_info *out, int max)
{
	for (int i = 0; i < e->nvout && i < max; i++) {
		const struct vkey *k = &e->vout[i]->key;
		out[i] = (struct mix_output_info){(enum mix_video_codec)k->codec, k->w, k->h,
		                                  k->fps, k->bitrate};
	}
	return e->nvout;
}

int vout_tiles(const struct vout *v, uint32_t *out, int max)
{
	int n = v->key.n < max ? v->key.n : max;
	memcpy(out, v->key.tiles, sizeof(uint32_t) * (size_t)n);
	return n;
}

void vout_request_keyframe(struct vout *v, int64_t min_gap_us)
{
	venc_keyframe(v, min_gap_us);
}

/* ---- which sources a recipient sees ---- */

/* The sources in r's tiles, in tile order (the engine's lineup must be current). */
/* The pin r sees: its own, else the room's; MIX_NO_SOURCE if none applies. */
static uint32_t pin_of(const struct mix_engine *e, const struct recipient *r, uint32_t self)
{
	uint32_t pin = r->opts.pin != MIX_NO_SOURCE ? r->opts.pin : e->pin;
	return pin != self && engine_source(e, pin) ? pin : MIX_NO_SOURCE;
}

static int tile_sources(const struct mix_engine *e, const struct recipient *r, uint32_t *tiles)
{
	uint32_t self = r->opts.exclude_self ? r->opts.self : MIX_NO_SOURCE;
	uint32_t pin = pin_of(e, r, self);
	if (pin != MIX_NO_SOURCE)
		return lineup_pinned_view(&e->lineup, pin, self, e->cfg.speaker_strip, tiles);
	return lineup_view(&e->lineup, r->opts.layout, self, tiles);
}

static void recipient_key(const struct mix_engine *e, const struct recipient *r, struct vkey *k)
{
	memset(k, 0, sizeof(*k));
	uint32_t self = r->opts.exclude_self ? r->opts.self : MIX_NO_SOURCE;
	k->layout = pin_of(e, r, self) != MIX_NO_SOURCE ? MIX_LAYOUT_SPEAKER : r->opts.layout;
	k->codec = r->opts.video_codec;
	k->w = r->opts.width;
	k->h = r->opts.height;
	k->fps = r->opts.fps;
	k->bitrate = r->opts.video_bitrate;
	if (r->bitrate_cap > 0 && r->bitrate_cap < k->bitrate)
		k->bitrate = r->bitrate_cap < 30000 ? 30000 : r->bitrate_cap;
	k->n = tile_sources(e, r, k->tiles);
}

/* ---- assignment of recipients to vouts ---- */

static struct vout *find_exact(struct mix_engine *e, const struct vkey *k)
{
	for (int i = 0; i < e->nvout; i++)
		if (key_eq(&e->vout[i]->key, k))
			return e->vout[i];
	return NULL;
}

/* An output no recipient kept this pass, of the same codec, size and rate: re-key it, keep its
 * stream. */
static struct vout *find_reusable(struct mix_engine *e, const struct vkey *k)
{
	for (int i = 0; i < e->nvout; i++) {
		struct vout *v = e->vout[i];
		if (v->matched == 0 && v->key.codec == k->codec && v->key.w == k->w &&
		    v->key.h == k->h && v->key.fps == k->fps) {
			if (v->key.bitrate != k->bitrate)
				venc_set_bitrate(v, k->bitrate);
			v->key = *k;
			return v;
		}
	}
	return NULL;
}

static int add_vout(struct mix_engine *e, const struct vkey *k, struct vout **out)
{
	int rc = ptrarray_reserve((void ***)&e->vout, e->nvout, &e->cap_vout);
	if (rc == 0)
		rc = vout_new(e, k, out);
	if (rc == 0)
		e->vout[e->nvout++] = *out;
	return rc;
}

static void free_unmatched(struct mix_engine *e)
{
	int j = 0;
	for (int i = 0; i < e->nvout; i++) {
		if (e->vout[i]->matched)
			e->vout[j++] = e->vout[i];
		else
			vout_free(&e->vout[i]);
	}
	e->nvout = j;
}

/* Pass 2: a recipient whose key no output has yet. */
static int assign_new(struct mix_engine *e, const struct vkey *k, struct vout **out, bool *fresh)
{
	*fresh = false;
	struct vout *v = find_exact(e, k);
	if (!v)
		v = find_reusable(e, k);
	if (!v) {
		int rc = add_vout(e, k, &v);
		if (rc < 0)
			return rc;
		*fresh = true;
	}
	v->matched++;
	*out = v;
	return 0;
}

/*
 * Moves r to v. Another stream than r had (or none) gates r until its next keyframe: a fresh
 * encoder's first frame is one; a running one is asked for one (coalesced by the encoder).
 * Staying on its vout (re-keyed in place or not) keeps r's stream: no gate.
 */
static void move_to(struct recipient *r, struct vout *v, bool fresh)
{
	if (v == r->vout)
		return;
	if (!fresh) /* r sees nothing of v before its next keyframe: as a newcomer's */
		venc_keyframe(v, MIX_KF_JOIN_GAP_US);
	r->vout = v;
	r->await_kf = true;
}

/* Each source's largest tile in any output (tile_w, tile_h; 0 in none). */
static void update_tile_sizes(struct mix_engine *e)
{
	for (int i = 0; i < e->nsrc; i++)
		e->src[i]->tile_w = e->src[i]->tile_h = 0;
	for (int j = 0; j < e->nvout; j++) {
		const struct vout *v = e->vout[j];
		struct mix_rect rects[MAX_TILES];
		int n = mix_layout_compute(v->key.layout, v->key.n, v->key.w, v->key.h, rects,
		                           MAX_TILES);
		for (int t = 0; t < n; t++) {
			struct source *s = engine_source(e, v->key.tiles[t]);
			if (s && rects[t].w * rects[t].h > s->tile_w * s->tile_h) {
				s->tile_w = rects[t].w;
				s->tile_h = rects[t].h;
			}
		}
	}
}

static void update_visibility(struct mix_engine *e, int64_t t_us)
{
	update_tile_sizes(e);
	for (int i = 0; i < e->nsrc; i++) {
		struct source *s = e->src[i];
		bool vis = s->tile_w > 0 && !s->video_muted;
		if (vis == s->visible)
			continue;
		if (source_set_visible(s, vis, e->cfg.max_w, e->cfg.max_h) == 0 && vis)
			engine_request_keyframe_src(e, s, t_us);
	}
}

int vouts_assign(struct mix_engine *e, int64_t t_us)
{
	struct vkey *keys = calloc((size_t)(e->nrcp ? e->nrcp : 1), sizeof(*keys));
	struct vout **next = calloc((size_t)(e->nrcp ? e->nrcp : 1), sizeof(*next));
	int rc = keys && next ? 0 : -ENOMEM;
	if (rc == 0)
		rc = lineup_update(&e->lineup, e->src, e->nsrc, e->cfg.max_tiles,
		                   e->cfg.speaker_strip, e->active_speaker);
	for (int i = 0; i < e->nrcp && rc == 0; i++)
		recipient_key(e, e->rcp[i], &keys[i]);
	for (int i = 0; i < e->nvout; i++)
		e->vout[i]->matched = 0;
	/* Pass 1: exact matches, so re-keying never takes an output someone keeps. */
	for (int i = 0; i < e->nrcp && rc == 0; i++) {
		if (e->rcp[i]->opts.video && (next[i] = find_exact(e, &keys[i])))
			next[i]->matched++;
	}
	for (int i = 0; i < e->nrcp && rc == 0; i++) {
		struct recipient *r = e->rcp[i];
		bool fresh = false;
		if (r->opts.video && !next[i])
			rc = assign_new(e, &keys[i], &next[i], &fresh);
		if (rc == 0 && next[i])
			move_to(r, next[i], fresh);
		else if (rc == 0)
			r->vout = NULL;
	}
	free(keys);
	free(next);
	if (rc < 0)
		return rc;
	free_unmatched(e);
	update_visibility(e, t_us);
	e->tiles_dirty = false;
	return 0;
}

void vouts_release_recipient(struct mix_engine *e, struct recipient *r)
{
	r->vout = NULL;
	e->tiles_dirty = true;
}

/* ---- the video tick: fork (decode, then compose + encode), join, then callbacks ---- */

/*
 * One item of the tick's fork: a visible source to decode, or a vout to compose and encode.
 * Everything the item changes outside its own source or vout lands here, to be applied by
 * the engine's thread after the join, in item order (the order of a pool-less engine).
 */
struct vjob {
	struct source *s; /* decode phase */
	bool need_kf;
	struct vout *v; /* compose + encode phase */
	struct mix_packet *pkt;
	int rc;
	int64_t encoded_us;         /* latency: when its encode ended (monotonic) */
	struct mix_engine_stats st; /* counters and CPU times of this item */
};

struct vtick {
	struct mix_engine *e;
	int64_t t_us;
	int64_t pts_us; /* the output frames' time: t_us's slot of the 1/fps grid */
	struct vjob *jobs;
	int64_t wall_us; /* latency: the tick's start (monotonic), 0: latency off */
};

/* Room for n items, zeroed. */
static int vjobs_reserve(struct mix_engine *e, int n)
{
	if (n > e->cap_vjobs) {
		struct vjob *j = realloc(e->vjobs, sizeof(*j) * (size_t)n);
		if (!j)
			return -ENOMEM;
		e->vjobs = j;
		e->cap_vjobs = n;
	}
	if (n > 0)
		memset(e->vjobs, 0, sizeof(*e->vjobs) * (size_t)n);
	return 0;
}

/*
 * Decodes what one visible source has due by this tick (a pool item). A frame due within half
 * a frame interval after the tick counts as due: the tick shows the frame nearest in time (at
 * most half an interval early), not the last one before it (up to a whole interval late).
 */
static void decode_item(void *arg, int i)
{
	const struct vtick *vt = arg;
	struct vjob *j = &vt->jobs[i];
	double t0 = engine_cpu_now();
	int64_t horizon = vt->t_us + 500000 / vt->e->cfg.fps;
	j->need_kf = source_decode_video(j->s, horizon, &j->st);
	engine_stats_stage(&j->st, MIX_STAGE_VIDEO_DECODE, t0);
}

/* The decode times a source's item kept (latency on), recorded by the engine's thread. */
static void lat_decodes(struct mix_engine *e, struct source *s, int64_t wall_us)
{
	for (int i = 0; i < s->lat.ndec; i++)
		engine_lat_add(e, MIX_LAT_VIDEO_DECODE, wall_us, s->lat.dec_us[i]);
	s->lat.ndec = 0;
}

/* Decodes every visible source (in parallel with a pool), then requests keyframes in order. */
static int decode_visible(struct mix_engine *e, int64_t t_us, int64_t wall_us)
{
	int n = 0;
	for (int i = 0; i < e->nsrc; i++)
		n += e->src[i]->visible;
	if (vjobs_reserve(e, n) < 0)
		return -ENOMEM;
	for (int i = 0, k = 0; i < e->nsrc; i++)
		if (e->src[i]->visible)
			e->vjobs[k++].s = e->src[i];
	struct vtick vt = {.e = e, .t_us = t_us, .jobs = e->vjobs};
	mix_pool_run(e->cfg.pool, n, decode_item, &vt);
	for (int i = 0; i < n; i++) {
		engine_stats_add(&e->st, &e->vjobs[i].st);
		lat_decodes(e, e->vjobs[i].s, wall_us);
		if (e->vjobs[i].need_kf)
			engine_request_keyframe_src(e, e->vjobs[i].s, t_us);
	}
	return 0;
}

/* Draws v's tiles from the sources' current pictures (read-only: the decodes have joined). */
static int compose(const struct mix_engine *e, struct vout *v, struct mix_engine_stats *st)
{
	struct mix_rect rects[MAX_TILES];
	int n = mix_layout_compute(v->key.layout, v->key.n, v->key.w, v->key.h, rects, MAX_TILES);
	if (n < 0)
		return n;
	int rc = mix_compositor_set_tiles(v->comp, rects, n);
	for (int i = 0; i < n && rc >= 0; i++) {
		const struct source *s = engine_source(e, v->key.tiles[i]);
		if (!s)
			continue;
		/* A picture the compositor refuses costs that tile its picture, not the tick. */
		if (mix_compositor_draw(v->comp, i, s->have_pic ? &s->pic : NULL, s->serial,
		                        s->name) < 0) {
			st->decode_errors++;
			mix_compositor_draw(v->comp, i, NULL, 0, s->name);
		}
	}
	return rc < 0 ? rc : 0;
}

/* Composes and encodes one vout (a pool item); its packet waits in the item for the join. */
static void encode_item(void *arg, int i)
{
	const struct vtick *vt = arg;
	struct vjob *j = &vt->jobs[i];
	double t0 = engine_cpu_now();
	j->rc = compose(vt->e, j->v, &j->st);
	engine_stats_stage(&j->st, MIX_STAGE_COMPOSE, t0);
	t0 = engine_cpu_now();
	if (j->rc == 0) {
		struct mix_picture canvas = mix_compositor_canvas(j->v->comp);
		j->rc = venc_encode(j->v, &canvas, vt->pts_us, &j->pkt);
		j->st.frames_encoded += j->rc == 0 && j->pkt;
	}
	engine_stats_stage(&j->st, MIX_STAGE_VIDEO_ENCODE, t0);
	if (vt->wall_us)
		j->encoded_us = mix_mono_us();
}

/* Sends v's packet p to v's recipients, but for those awaiting a keyframe while p is none. */
static void send_packet(struct mix_engine *e, const struct vout *v, const struct mix_packet *p)
{
	for (int i = 0; i < e->nrcp; i++) {
		struct recipient *r = e->rcp[i];
		if (r->vout != v || (r->await_kf && !p->keyframe))
			continue;
		r->await_kf = false;
		engine_emit(e, r->id, p);
	}
}

/* Whether v encodes on video tick n: every (engine fps / v's fps)-th tick. */
static bool vout_due(const struct mix_engine *e, const struct vout *v, uint64_t n)
{
	return n % (uint64_t)(e->cfg.fps / v->key.fps) == 0;
}

/*
 * Latency of an output frame encoded on the tick that started at wall_us: its encode stage,
 * its send stage to come, and the wait of each tile's new picture (its first composition).
 */
static void lat_encoded(struct mix_engine *e, const struct vjob *j, int64_t wall_us)
{
	engine_lat_add(e, MIX_LAT_VIDEO_ENCODE, j->encoded_us, j->encoded_us - wall_us);
	j->v->lat_encoded_us = j->encoded_us;
	for (int t = 0; t < j->v->key.n; t++) {
		struct source *s = engine_source(e, j->v->key.tiles[t]);
		if (!s || !s->lat.pic.handed_us)
			continue;
		engine_lat_add(e, MIX_LAT_VIDEO_WAIT, wall_us, wall_us - s->lat.pic.handed_us);
		if (!s->lat.v_sent_arrived)
			s->lat.v_sent_arrived = s->lat.pic.arrived_us;
		s->lat.pic = (struct lat_stamp){0};
	}
}

void vouts_lat_sent(struct mix_engine *e, int64_t now_us)
{
	for (int i = 0; i < e->nvout; i++) {
		struct vout *v = e->vout[i];
		if (v->lat_encoded_us)
			engine_lat_add(e, MIX_LAT_VIDEO_SEND, now_us, now_us - v->lat_encoded_us);
		v->lat_encoded_us = 0;
	}
}

/*
 * Composes and encodes every vout due at this tick (in parallel with a pool), then sends their
 * packets in vout order. The first vout that failed ends the tick there, as if the later ones
 * had not run: their packets are dropped unsent.
 */
static int encode_outputs(struct mix_engine *e, int64_t t_us, uint64_t tick, int64_t wall_us)
{
	int n = 0, rc = 0;
	for (int i = 0; i < e->nvout; i++)
		n += vout_due(e, e->vout[i], tick);
	if (vjobs_reserve(e, n) < 0)
		return -ENOMEM;
	for (int i = 0, k = 0; i < e->nvout; i++)
		if (vout_due(e, e->vout[i], tick))
			e->vjobs[k++].v = e->vout[i];
	/* stamped on the grid: a moved tick (compose on arrival) keeps files constant-rate */
	struct vtick vt = {.e = e,
	                   .t_us = t_us,
	                   .pts_us = engine_grid_slot(e, t_us) * 1000000 / e->cfg.fps,
	                   .jobs = e->vjobs,
	                   .wall_us = wall_us};
	mix_pool_run(e->cfg.pool, n, encode_item, &vt);
	for (int i = 0; i < n; i++) {
		struct vjob *j = &e->vjobs[i];
		if (rc == 0) {
			engine_stats_add(&e->st, &j->st);
			rc = j->rc;
		}
		if (rc == 0 && j->pkt && wall_us)
			lat_encoded(e, j, wall_us);
		if (rc == 0 && j->pkt)
			send_packet(e, j->v, j->pkt);
		mix_packet_unref(&j->pkt);
	}
	return rc < 0 ? rc : 0;
}

int vouts_tick(struct mix_engine *e, int64_t t_us, uint64_t n)
{
	int64_t wall_us = e->lat ? mix_mono_us() : 0; /* the tick's start, for the latency */
	if (e->tiles_dirty) {
		int rc = vouts_assign(e, t_us);
		if (rc < 0)
			return rc;
	}
	int rc = decode_visible(e, t_us, wall_us);
	return rc < 0 ? rc : encode_outputs(e, t_us, n, wall_us);
}
