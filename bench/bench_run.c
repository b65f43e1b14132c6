/*
 * bench_run.c - one run of a scenario: the engine driven as fast as it goes, then the floor.
 *
 * Participants push their pre-read VP8 frames and Opus packets (with RFC 6464 levels, as
 * browsers send them) 200 ms ahead of the mixing clock, which advances in 20 ms steps; the
 * recipients are one recording (BENCH_RECORD) or one per participant (mix-minus audio).
 * CPU is getrusage user+sys around the mixing loop only; stages come from the engine.
 * The floor is then timed in the same process: each visible input decoded once and one VP8
 * encode per distinct video output (plus the mixed Opus decodes and one Opus encode per audio
 * output), with thread CPU clocks around the libvpx/libopus calls only.
 * Simulcast senders (sender "sim"): every participant has its clip at 180p, 360p and 720p (the
 * same content, keyframes aligned) and pushes one layer, as the server decodes one
 * (session/peer_layers.c): every CHOICE_US of media time the layer mix_layer_choose picks for
 * its largest tile (mix_engine_source_tile) becomes the target, and the participant moves to
 * it at the target layer's next keyframe, pushing the current layer until then. The floor
 * then decodes each tile's layer as of the end of the run. Turns (turn_ms): talker i sends
 * its tone only in turns k with k % talkers == i, a silent packet (level 127) otherwise, so
 * the active speaker moves.
 * bench_run_forked runs it in a child so each run's peak RSS is its own.
 * Single-threaded, but for a scenario's threads > 1: the engine then has a worker pool of
 * threads - 1 workers (getrusage counts their CPU; the wall clock shows the gain). Everything
 * allocated here, the pool included, is freed before returning.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "mix/aac.h"
#include "mix/compose.h"
#include "mix/layers.h"
#include "mix/media_file.h"
#include "mix/opus.h"
#include "mix/pool.h"
#include "mix/vp8.h"
#include "session/ladder.h"

#define LOOKAHEAD_US 200000
#define STEP_US      20000
#define CHOICE_US    200000 /* simulcast: the layer choice is made again this often */

struct part {
	uint32_t id;
	const struct bench_clip *vclip, *aclip;       /* vclip: the layer pushed now */
	const struct bench_clip *layer[BENCH_LAYERS]; /* simulcast: each layer's clip, else NULL */
	int cur, target; /* layer of vclip (-1: not one of the three), the one chosen */
	int vi, ai;
};

struct drive {
	const struct bench_scenario *sc;
	const struct bench_media *m;  /* the scenario's clips (simulcast: the 180p ones) */
	const struct bench_media *lm; /* simulcast: BENCH_LAYERS media, one per layer; else NULL */
	struct mix_layer sizes[BENCH_LAYERS];
	struct mix_engine *eng;
	struct mix_pool *pool; /* NULL unless sc->threads > 1 */
	struct mix_writer *wr;
	struct part *parts;
	struct bench_run *r;
	char err[512];
	int write_rc;
};

static double now_s(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void rusage_cpu(double *user, double *sys)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6;
	*sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static long rss_now_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void on_packet(void *opaque, uint32_t rid, const struct mix_packet *p)
{
	struct drive *d = opaque;
	if (p->kind == MIX_VIDEO)
		d->r->video_bytes += p->size;
	else
		d->r->audio_bytes += p->size;
	if (d->wr && d->write_rc == 0)
		d->write_rc = mix_writer_write(d->wr, p, d->err, sizeof(d->err));
}

static void on_active_speaker(void *opaque, uint32_t src)
{
	struct drive *d = opaque;
	(void)src;
	d->r->speaker_changes++;
}

static int engine_new(struct drive *d)
{
	const struct bench_scenario *sc = d->sc;
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.width = sc->width;
	cfg.height = sc->height;
	cfg.fps = sc->fps;
	cfg.video_bitrate = sc->bitrate;
	cfg.layout = sc->layout;
	cfg.exclude_self = sc->exclude_self;
	cfg.max_tiles = sc->visible;
	cfg.max_mixed = sc->mixed;
	cfg.cb = (struct mix_engine_callbacks){
	    .opaque = d, .on_packet = on_packet, .on_active_speaker = on_active_speaker};
	if (sc->threads > 1) {
		int rc = mix_pool_new(&d->pool, sc->threads - 1);
		if (rc < 0)
			return rc;
	}
	cfg.pool = d->pool;
	return mix_engine_alloc(&d->eng, &cfg);
}

static int add_parts(struct drive *d)
{
	const struct bench_scenario *sc = d->sc;
	d->parts = calloc((size_t)sc->n, sizeof(*d->parts));
	if (!d->parts)
		return -ENOMEM;
	int rc = 0;
	for (int i = 0; i < sc->n && rc == 0; i++) {
		struct part *p = &d->parts[i];
		char name[32];
		snprintf(name, sizeof(name), "P%d", i + 1);
		p->id = (uint32_t)i + 1;
		p->vclip = &d->m->clip[i % BENCH_CLIPS];
		p->aclip = i < sc->talkers ? p->vclip : &d->m->silence;
		p->cur = p->target = bench_layer_of(sc->res);
		for (int l = 0; d->lm && l < BENCH_LAYERS; l++)
			p->layer[l] = &d->lm[l].clip[i % BENCH_CLIPS];
		if (d->lm) { /* shown nowhere yet: the smallest layer, as mix_layer_choose says */
			p->cur = p->target = mix_layer_choose(d->sizes, BENCH_LAYERS, 0, 0);
			p->vclip = p->layer[p->cur];
		}
		rc = mix_engine_add_source(d->eng, p->id, name);
		if (rc == 0 && i < sc->talkers)
			rc = mix_engine_set_audio_preskip(d->eng, p->id, p->vclip->preskip);
	}
	return rc;
}

/* Rung k of the server's default ladder for the scenario's output (session/ladder.h). */
static void place_on_rung(const struct bench_scenario *sc, int k, struct mix_recipient_opts *o)
{
	struct mix_engine_cfg def;
	mix_engine_cfg_default(&def); /* the bench's engines keep the default audio bitrate */
	struct ladder l;
	ladder_default(&l, sc->width, sc->height, sc->fps, sc->bitrate, def.audio_bitrate);
	const struct rung *r = &l.r[k < l.n ? k : l.n - 1];
	o->width = r->width;
	o->height = r->height;
	o->fps = r->fps;
	o->video_bitrate = r->bitrate;
	o->audio_bitrate = r->abitrate;
}

static int add_recipients(struct drive *d)
{
	const struct bench_scenario *sc = d->sc;
	int n = sc->mode == BENCH_RECORD ? 1 : sc->n, rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		struct mix_recipient_opts o;
		mix_recipient_opts_default(&o);
		o.self = sc->mode == BENCH_RECORD ? MIX_NO_SOURCE : (uint32_t)i + 1;
		o.video_codec = sc->vcodec;
		if (sc->rungs > 1 && sc->mode == BENCH_PER_RECIPIENT)
			place_on_rung(sc, i % sc->rungs, &o);
		if (sc->vcodec == MIX_VCODEC_H264 && sc->mode == BENCH_RECORD)
			o.audio_codec = MIX_ACODEC_AAC; /* an MP4 recording, as the server's */
		rc = mix_engine_add_recipient(d->eng, (uint32_t)i + 1, &o);
	}
	d->r->recipients = n;
	return rc;
}

/* MP4 (H.264 + AAC): the AAC encoder's config and priming, from a probe like the engine's. */
static int open_mp4_writer(struct drive *d, struct mix_writer_cfg *wc)
{
	struct mix_aac_enc *probe = NULL;
	struct mix_aac_enc_cfg ac;
	mix_aac_enc_cfg_default(&ac);
	int rc = mix_aac_enc_alloc(&probe, &ac);
	if (rc < 0)
		return rc;
	wc->format = "mp4";
	wc->opus_preskip = mix_aac_enc_delay(probe);
	wc->aac_config_size = mix_aac_enc_extradata(probe, &wc->aac_config);
	rc = mix_writer_open(&d->wr, wc, d->err, sizeof(d->err));
	mix_aac_enc_free(&probe);
	return rc;
}

static int open_writer(struct drive *d, const char *path)
{
	struct mix_opus_enc *probe = NULL;
	struct mix_opus_enc_cfg oc;
	mix_opus_enc_cfg_default(&oc);
	int rc = mix_opus_enc_alloc(&probe, &oc);
	if (rc < 0)
		return rc;
	struct mix_writer_cfg wc = {.path = path,
	                            .format = "webm",
	                            .video = true,
	                            .width = d->sc->width,
	                            .height = d->sc->height,
	                            .fps = d->sc->fps,
	                            .audio = true,
	                            .opus_preskip = mix_opus_enc_lookahead(probe)};
	mix_opus_enc_free(&probe);
	if (d->sc->vcodec == MIX_VCODEC_H264)
		return open_mp4_writer(d, &wc);
	return mix_writer_open(&d->wr, &wc, d->err, sizeof(d->err));
}

/* The size of each layer, from its first keyframe (every layer is known from the start). */
static int layer_sizes(struct drive *d)
{
	for (int l = 0; l < BENCH_LAYERS; l++) {
		const struct bench_clip *c = &d->lm[l].clip[0];
		struct mix_vp8_info in;
		if (mix_vp8_peek(c->arena + c->video[0].off, c->video[0].size, &in) < 0 ||
		    !in.keyframe)
			return -EINVAL;
		d->sizes[l] = (struct mix_layer){in.width, in.height, true};
	}
	return 0;
}

/* Simulcast: each sender's layer for its largest tile now (mix_layer_choose), as the server. */
static void choose_layers(struct drive *d)
{
	for (int i = 0; i < d->sc->n; i++) {
		struct part *p = &d->parts[i];
		int tw, th;
		if (mix_engine_source_tile(d->eng, p->id, &tw, &th) < 0)
			continue;
		int k = mix_layer_choose(d->sizes, BENCH_LAYERS, tw, th);
		if (k >= 0)
			p->target = k;
	}
}

/* Moves p to its target layer if that layer's frame at p's next time is a keyframe. */
static void maybe_switch(struct drive *d, struct part *p)
{
	const struct bench_clip *t = p->layer[p->target];
	if (p->vi >= p->vclip->nvideo)
		return;
	int64_t pts = p->vclip->video[p->vi].pts_us;
	int j = p->vi < t->nvideo ? p->vi : t->nvideo - 1; /* the layers' frames are aligned */
	while (j > 0 && t->video[j - 1].pts_us >= pts)
		j--;
	while (j < t->nvideo && t->video[j].pts_us < pts)
		j++;
	struct mix_vp8_info in;
	if (j >= t->nvideo || mix_vp8_peek(t->arena + t->video[j].off, t->video[j].size, &in) < 0 ||
	    !in.keyframe)
		return;
	p->vclip = t;
	p->vi = j;
	p->cur = p->target;
	d->r->layer_switches++;
}

static void feed_video(struct drive *d, struct part *p, int64_t until)
{
	for (;;) {
		if (p->target != p->cur)
			maybe_switch(d, p);
		const struct bench_clip *v = p->vclip;
		if (p->vi >= v->nvideo || v->video[p->vi].pts_us > until)
			return;
		const struct bench_pkt *k = &v->video[p->vi++];
		if (p->cur >= 0 && mix_engine_source_visible(d->eng, p->id))
			d->r->layer_frames[p->cur]++;
		mix_engine_push_video(d->eng, p->id, v->arena + k->off, k->size, k->pts_us, false);
	}
}

/* With turns, talker i speaks only in turns k with k % talkers == i: silent otherwise. */
static bool off_turn(const struct bench_scenario *sc, int i, int64_t pts)
{
	if (sc->turn_ms <= 0 || i >= sc->talkers)
		return false;
	int64_t k = (pts > 0 ? pts : 0) / ((int64_t)sc->turn_ms * 1000);
	return k % sc->talkers != i;
}

/* Pushes every participant's packets with pts <= until. */
static void feed(struct drive *d, int64_t until)
{
	const struct bench_clip *sil = &d->m->silence;
	for (int i = 0; i < d->sc->n; i++) {
		struct part *p = &d->parts[i];
		const struct bench_clip *a = p->aclip;
		feed_video(d, p, until);
		for (; p->ai < a->naudio && a->audio[p->ai].pts_us <= until; p->ai++) {
			const struct bench_pkt *k = &a->audio[p->ai];
			const uint8_t *data = a->arena + k->off;
			size_t size = k->size;
			int level = k->level;
			if (off_turn(d->sc, i, k->pts_us)) { /* the silent packet in its place */
				data = sil->arena + sil->audio[0].off;
				size = sil->audio[0].size;
				level = 127;
			}
			mix_engine_push_audio(d->eng, p->id, data, size, k->pts_us, level, false);
		}
	}
}

static void progress_line(const struct drive *d, int64_t t, double w0)
{
	double w = now_s(CLOCK_MONOTONIC) - w0;
	fprintf(stderr, "\rmcu-bench: %-22s %5.1f / %.1f s media, %5.1fx real time   ", d->sc->name,
	        t / 1e6, d->m->dur_us / 1e6, w > 0 ? t / 1e6 / w : 0.0);
}

static int mix_loop(struct drive *d, bool progress)
{
	double u0, s0, u1, s1, w0 = now_s(CLOCK_MONOTONIC), last = w0;
	rusage_cpu(&u0, &s0);
	int rc = 0;
	for (int64_t t = 0; t < d->m->dur_us && rc >= 0; t += STEP_US) {
		if (d->lm && t % CHOICE_US == 0)
			choose_layers(d);
		feed(d, t + LOOKAHEAD_US);
		rc = mix_engine_run_until(d->eng, t + STEP_US);
		if (rc >= 0 && d->write_rc < 0)
			rc = d->write_rc;
		if (progress && now_s(CLOCK_MONOTONIC) - last >= 1.0) {
			last = now_s(CLOCK_MONOTONIC);
			progress_line(d, t, w0);
		}
	}
	rusage_cpu(&u1, &s1);
	d->r->wall_s = now_s(CLOCK_MONOTONIC) - w0;
	d->r->user_s = u1 - u0;
	d->r->sys_s = s1 - s0;
	d->r->cpu_s = d->r->user_s + d->r->sys_s;
	d->r->media_s = d->m->dur_us / 1e6;
	return rc;
}

static void take_stats(struct drive *d)
{
	struct mix_engine_stats st;
	mix_engine_get_stats(d->eng, &st);
	struct bench_run *r = d->r;
	for (int s = 0; s < MIX_STAGE_COUNT; s++)
		r->stage_s[s] = st.stage_cpu_s[s];
	r->video_encoders = st.video_encoders;
	r->audio_encoders = st.audio_encoders;
	r->visible_sources = st.visible_sources;
	r->video_decoders = st.video_decoders;
	r->frames_decoded = st.frames_decoded;
	r->frames_encoded = st.frames_encoded;
	r->audio_packets = st.audio_packets_encoded;
	r->frames_dropped_invisible = st.frames_dropped_invisible;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	r->rss_peak_kib = ru.ru_maxrss;
}

/* ---- the floor ---- */

struct floor_job {
	const struct bench_scenario *sc;
	const struct bench_media *m;
	const struct part *parts; /* each tile's clip: its source's layer at the end of the run */
	uint32_t tiles[MIX_LAYOUT_MAX_TILES + MIX_LAYOUT_MAX_STRIP];
	int ntiles;
	int video_outputs, audio_outputs;
	struct mix_vp8_dec **dec;
	struct mix_vp8_enc **enc;
	struct mix_compositor *comp;
	struct bench_floor *f;
};

static double timed_decode(struct mix_vp8_dec *dec, const struct bench_clip *c, int i,
                           struct mix_picture *pic, bool *have)
{
	double t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	*have = mix_vp8_dec_decode(dec, c->arena + c->video[i].off, c->video[i].size, pic) == 0;
	return now_s(CLOCK_THREAD_CPUTIME_ID) - t0;
}

/* One video frame time: decode each tile's source (timed), draw (untimed), encode (timed). */
static int floor_frame(struct floor_job *j, int fi, int64_t pts)
{
	for (int t = 0; t < j->ntiles; t++) {
		const struct bench_clip *c = j->parts[j->tiles[t] - 1].vclip;
		if (fi >= c->nvideo)
			continue;
		struct mix_picture pic;
		bool have = false;
		j->f->video_decode_s += timed_decode(j->dec[t], c, fi, &pic, &have);
		if (have)
			mix_compositor_draw(j->comp, t, &pic, (uint64_t)fi + 1, NULL);
	}
	struct mix_picture canvas = mix_compositor_canvas(j->comp);
	for (int o = 0; o < j->video_outputs; o++) {
		struct mix_packet *pk = NULL;
		double t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
		int rc = mix_vp8_enc_encode(j->enc[o], &canvas, pts, &pk);
		j->f->video_encode_s += now_s(CLOCK_THREAD_CPUTIME_ID) - t0;
		mix_packet_unref(&pk);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int floor_video_alloc(struct floor_job *j)
{
	const struct bench_scenario *sc = j->sc;
	struct mix_rect rects[MIX_LAYOUT_MAX_TILES + MIX_LAYOUT_MAX_STRIP];
	int n = mix_layout_compute(sc->layout, j->ntiles, sc->width, sc->height, rects,
	                           MIX_LAYOUT_MAX_TILES + MIX_LAYOUT_MAX_STRIP);
	j->dec = calloc((size_t)j->ntiles + 1, sizeof(*j->dec));
	j->enc = calloc((size_t)j->video_outputs + 1, sizeof(*j->enc));
	int rc = n < 0 ? n : j->dec && j->enc ? 0 : -ENOMEM;
	if (rc == 0)
		rc = mix_compositor_alloc(&j->comp, sc->width, sc->height);
	if (rc == 0)
		rc = mix_compositor_set_tiles(j->comp, rects, n);
	for (int t = 0; t < j->ntiles && rc == 0; t++)
		rc = mix_vp8_dec_alloc(&j->dec[t], 0, 0);
	struct mix_vp8_enc_cfg ec = {
	    .width = sc->width, .height = sc->height, .fps = sc->fps, .bitrate_bps = sc->bitrate};
	for (int o = 0; o < j->video_outputs && rc == 0; o++)
		rc = mix_vp8_enc_alloc(&j->enc[o], &ec);
	return rc;
}

static void floor_video_free(struct floor_job *j)
{
	for (int t = 0; j->dec && t < j->ntiles; t++)
		mix_vp8_dec_free(&j->dec[t]);
	for (int o = 0; j->enc && o < j->video_outputs; o++)
		mix_vp8_enc_free(&j->enc[o]);
	free(j->dec);
	free(j->enc);
	mix_compositor_free(&j->comp);
}

static int floor_video(struct floor_job *j)
{
	int rc = floor_video_alloc(j);
	int frames = (int)(j->m->dur_us * j->sc->fps / 1000000);
	for (int fi = 0; fi < frames && rc == 0; fi++)
		rc = floor_frame(j, fi, (int64_t)fi * 1000000 / j->sc->fps);
	floor_video_free(j);
	return rc;
}

/* The K mixed talkers decoded once, one Opus encode per audio output (of the first's PCM). */
static int floor_audio(struct floor_job *j)
{
	int k = j->sc->talkers < j->sc->mixed ? j->sc->talkers : j->sc->mixed;
	struct mix_opus_enc_cfg oc;
	mix_opus_enc_cfg_default(&oc);
	struct mix_opus_dec *dec = NULL;
	struct mix_opus_enc *enc = NULL;
	int16_t *pcm = malloc(sizeof(int16_t) * MIX_OPUS_MAX_SAMPLES);
	int rc = pcm ? mix_opus_dec_alloc(&dec) : -ENOMEM;
	if (rc == 0)
		rc = mix_opus_enc_alloc(&enc, &oc);
	for (int s = 0; s < k && rc == 0; s++) {
		const struct bench_clip *c = &j->m->clip[s % BENCH_CLIPS];
		for (int i = 0; i < c->naudio; i++) {
			double t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
			int ns = mix_opus_dec_decode(dec, c->arena + c->audio[i].off,
			                             c->audio[i].size, pcm);
			for (int o = 0; s == 0 && ns >= 960 && o < j->audio_outputs; o++) {
				struct mix_packet *pk = NULL;
				mix_opus_enc_encode(enc, pcm, 0, &pk);
				mix_packet_unref(&pk);
			}
			j->f->audio_s += now_s(CLOCK_THREAD_CPUTIME_ID) - t0;
		}
	}
	mix_opus_enc_free(&enc);
	mix_opus_dec_free(&dec);
	free(pcm);
	return rc;
}

static int measure_floor(struct drive *d)
{
	struct floor_job j = {.sc = d->sc, .m = d->m, .parts = d->parts, .f = &d->r->floor};
	j.ntiles = mix_engine_recipient_tiles(d->eng, 1, j.tiles,
	                                      MIX_LAYOUT_MAX_TILES + MIX_LAYOUT_MAX_STRIP);
	j.video_outputs = d->r->video_encoders > 0 ? d->r->video_encoders : 1;
	j.audio_outputs = d->r->audio_encoders > 0 ? d->r->audio_encoders : 1;
	memset(j.f, 0, sizeof(*j.f));
	int rc = j.ntiles > 0 ? floor_video(&j) : -EINVAL;
	if (rc == 0)
		rc = floor_audio(&j);
	j.f->total_s = j.f->video_decode_s + j.f->video_encode_s + j.f->audio_s;
	return rc;
}

static void drive_free(struct drive *d)
{
	if (d->wr) {
		int rc = mix_writer_close(&d->wr, d->err, sizeof(d->err));
		if (rc < 0 && d->write_rc == 0)
			d->write_rc = rc;
	}
	mix_engine_free(&d->eng);
	mix_pool_free(&d->pool);
	free(d->parts);
	d->parts = NULL;
}

/* The scenario's clips: one resolution, or (sender "sim") every layer's, in m[0..2]. */
static int load_media(const struct bench_scenario *sc, const struct bench_paths *p,
                      struct bench_media *m, int *nm)
{
	char err[512];
	bool sim = !strcmp(sc->res, "sim");
	int rc = 0;
	for (*nm = 0; *nm < (sim ? BENCH_LAYERS : 1) && rc == 0; (*nm)++) {
		rc = bench_media_load(&m[*nm], p->media_dir, sim ? bench_layer_res(*nm) : sc->res,
		                      err, sizeof(err));
		if (rc < 0)
			fprintf(stderr, "mcu-bench: %s\n", err);
		else if (m[*nm].dur_us < m[0].dur_us) /* every layer's media: the shortest */
			m[0].dur_us = m[*nm].dur_us;
	}
	if (rc < 0)
		while (--(*nm) >= 0)
			bench_media_free(&m[*nm]);
	return rc;
}

int bench_run_once(const struct bench_scenario *sc, const struct bench_paths *p,
                   const char *out_path, bool progress, struct bench_run *r)
{
	struct bench_media m[BENCH_LAYERS];
	int nm = 0;
	memset(r, 0, sizeof(*r));
	int rc = load_media(sc, p, m, &nm);
	if (rc < 0)
		return rc;
	struct drive d = {.sc = sc, .m = &m[0], .lm = nm > 1 ? m : NULL, .r = r};
	r->rss_base_kib = rss_now_kib();
	rc = d.lm ? layer_sizes(&d) : 0;
	if (rc == 0)
		rc = engine_new(&d);
	if (rc == 0)
		rc = add_parts(&d);
	if (rc == 0)
		rc = add_recipients(&d);
	if (rc == 0 && out_path)
		rc = open_writer(&d, out_path);
	if (rc == 0)
		rc = mix_loop(&d, progress);
	if (rc == 0) {
		take_stats(&d);
		rc = measure_floor(&d);
	}
	drive_free(&d);
	if (rc == 0 && d.write_rc < 0)
		rc = d.write_rc;
	if (rc < 0)
		fprintf(stderr, "mcu-bench: %s: run failed (%d) %s\n", sc->name, rc,
		        d.write_rc < 0 ? d.err : "");
	for (int i = 0; i < nm; i++)
		bench_media_free(&m[i]);
	r->ok = rc == 0;
	return rc;
}

int bench_decode_cost(const char *media_dir, const char *res, double *cores)
{
	struct bench_media m;
	char err[512];
	int rc = bench_media_load(&m, media_dir, res, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "mcu-bench: %s\n", err);
		return rc;
	}
	double cpu = 0, media = 0;
	for (int c = 0; c < 3 && rc == 0; c++) {
		struct mix_vp8_dec *dec = NULL;
		rc = mix_vp8_dec_alloc(&dec, 0, 0);
		for (int i = 0; i < m.clip[c].nvideo && rc == 0; i++) {
			struct mix_picture pic;
			bool have = false;
			cpu += timed_decode(dec, &m.clip[c], i, &pic, &have);
		}
		media += m.clip[c].dur_us / 1e6;
		mix_vp8_dec_free(&dec);
	}
	bench_media_free(&m);
	*cores = media > 0 ? cpu / media : 0;
	return rc;
}

int bench_run_forked(const struct bench_scenario *sc, const struct bench_paths *p,
                     const char *out_path, bool progress, struct bench_run *r)
{
	int fd[2];
	if (pipe(fd) < 0)
		return -errno;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(fd[0]);
		struct bench_run cr;
		int rc = bench_run_once(sc, p, out_path, progress, &cr);
		ssize_t w = write(fd[1], &cr, sizeof(cr));
		_exit(rc == 0 && w == (ssize_t)sizeof(cr) ? 0 : 1);
	}
	close(fd[1]);
	memset(r, 0, sizeof(*r));
	ssize_t got = read(fd[0], r, sizeof(*r));
	close(fd[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	if (got != (ssize_t)sizeof(*r) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		r->ok = false;
		return -EIO;
	}
	return 0;
}
