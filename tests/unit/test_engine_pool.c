/*
 * test_engine_pool.c - an engine with a worker pool (cfg.pool) emits exactly what the same
 * engine without one emits: the same packets, byte for byte, to the same recipients, in the
 * same order, with the same keyframe requests and counters. Two engines get the same input in
 * lockstep: moving synthetic participants, exclude-self recipients (one encoder each) in two
 * canvas sizes, a full-grid recipient, one at 15 fps (encoded every other tick) switched
 * mid-run to another size and 10 fps (mix_engine_set_recipient_video: a fresh encoder, the
 * await-keyframe gate), an H.264 one and an H.264 participant (its decodes run in parallel with
 * the VP8 ones) when libx264 is there, a late joiner (visibility keyframe requests) and a loss
 * (decoder keyframe requests). The pooled engine also records its per-stage latency
 * (cfg.latency, stamped pushes), which must change no byte; every stage gets samples.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mix/engine.h"
#include "mix/h264.h"
#include "mix/opus.h"
#include "mix/pool.h"
#include "mix/vp8.h"

#define SRC_W   160
#define SRC_H   96
#define NSRC    5
#define STEPS   75 /* 20 ms steps: 1.5 s */
#define MAX_LOG 20000
#define H264_ID 3 /* this participant sends H.264 when libx264 is there */

/* A synthetic participant: a moving gradient in VP8 (or H.264), a tone in Opus. */
struct fake {
	uint32_t id;
	struct mix_vp8_enc *venc;
	struct mix_h264_enc *henc;
	struct mix_opus_enc *aenc;
	uint8_t y[SRC_W * SRC_H], u[SRC_W * SRC_H / 4], v[SRC_W * SRC_H / 4];
	int64_t sample;
};

static void fake_init(struct fake *f, uint32_t id)
{
	memset(f, 0, sizeof(*f));
	f->id = id;
	struct mix_vp8_enc_cfg vc = {
	    .width = SRC_W, .height = SRC_H, .fps = 30, .bitrate_bps = 200000};
	assert_int_equal(mix_vp8_enc_alloc(&f->venc, &vc), 0);
	struct mix_h264_enc_cfg hc = {
	    .width = SRC_W, .height = SRC_H, .fps = 30, .bitrate_bps = 200000};
	if (id == H264_ID && mix_h264_available())
		assert_int_equal(mix_h264_enc_alloc(&f->henc, &hc), 0);
	struct mix_opus_enc_cfg oc;
	mix_opus_enc_cfg_default(&oc);
	assert_int_equal(mix_opus_enc_alloc(&f->aenc, &oc), 0);
	memset(f->u, (int)(60 + 30 * id), sizeof(f->u));
	memset(f->v, (int)(200 - 25 * id), sizeof(f->v));
}

static void fake_free(struct fake *f)
{
	mix_vp8_enc_free(&f->venc);
	mix_h264_enc_free(&f->henc);
	mix_opus_enc_free(&f->aenc);
}

/* One encoded video frame of f at frame number n (the picture moves with n). */
static struct mix_packet *fake_frame(struct fake *f, int64_t n, int64_t pts)
{
	for (int r = 0; r < SRC_H; r++)
		for (int c = 0; c < SRC_W; c++)
			f->y[r * SRC_W + c] =
			    (uint8_t)(16 + ((c + r + n * 3 * (int64_t)f->id) & 127));
	struct mix_picture p = {.data = {f->y, f->u, f->v},
	                        .stride = {SRC_W, SRC_W / 2, SRC_W / 2},
	                        .width = SRC_W,
	                        .height = SRC_H};
	struct mix_packet *pk = NULL;
	if (f->henc)
		assert_int_equal(mix_h264_enc_encode(f->henc, &p, pts, &pk), 0);
	else
		assert_int_equal(mix_vp8_enc_encode(f->venc, &p, pts, &pk), 0);
	return pk;
}

static struct mix_packet *fake_audio(struct fake *f, int64_t pts)
{
	int16_t pcm[960];
	for (int i = 0; i < 960; i++, f->sample++)
		pcm[i] =
		    (int16_t)(5000 * sin(2 * M_PI * (200.0 + 90 * f->id) * f->sample / 48000.0));
	struct mix_packet *pk = NULL;
	assert_int_equal(mix_opus_enc_encode(f->aenc, pcm, pts, &pk), 0);
	return pk;
}

/* What one engine emitted, in order. kf_src entries are keyframe requests (rid = ~0). */
struct entry {
	uint32_t rid;
	struct mix_packet *pkt; /* a reference; NULL for a keyframe request */
	uint32_t kf_src;
};

struct log {
	struct entry e[MAX_LOG];
	int n;
};

static void on_packet(void *opaque, uint32_t rid, const struct mix_packet *p)
{
	struct log *l = opaque;
	assert_true(l->n < MAX_LOG);
	l->e[l->n++] = (struct entry){.rid = rid, .pkt = mix_packet_ref((struct mix_packet *)p)};
}

static void on_kf(void *opaque, uint32_t src)
{
	struct log *l = opaque;
	assert_true(l->n < MAX_LOG);
	l->e[l->n++] = (struct entry){.rid = UINT32_MAX, .kf_src = src};
}

static struct mix_engine *engine_new(struct log *l, struct mix_pool *pool)
{
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.width = 320;
	cfg.height = 192;
	cfg.video_bitrate = 300000;
	cfg.exclude_self = true;
	cfg.pool = pool;
	cfg.latency = pool != NULL; /* stamping must not change the output */
	cfg.cb = (struct mix_engine_callbacks){
	    .opaque = l, .on_packet = on_packet, .on_keyframe_request = on_kf};
	struct mix_engine *e = NULL;
	assert_int_equal(mix_engine_alloc(&e, &cfg), 0);
	return e;
}

/* Participant i (1-based) and its recipient; odd ones get a smaller canvas. */
static void join(struct mix_engine *e, uint32_t id)
{
	char name[16];
	snprintf(name, sizeof(name), "P%u", id);
	assert_int_equal(mix_engine_add_source(e, id, name), 0);
	if (id == H264_ID && mix_h264_available())
		assert_int_equal(mix_engine_set_source_video_codec(e, id, MIX_VCODEC_H264), 0);
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	o.self = id;
	if (id % 2) {
		o.width = 256;
		o.height = 144;
	}
	assert_int_equal(mix_engine_add_recipient(e, id, &o), 0);
}

/* Recipients that see everyone: a grid (shares no encoder with the exclude-self ones), the
 * same at 15 fps, and an H.264 one when this FFmpeg has libx264. */
static void watchers(struct mix_engine *e)
{
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	o.exclude_self = 0;
	assert_int_equal(mix_engine_add_recipient(e, 100, &o), 0);
	o.fps = 15;
	assert_int_equal(mix_engine_add_recipient(e, 102, &o), 0);
	o.fps = 0;
	if (mix_h264_available()) {
		o.video_codec = MIX_VCODEC_H264;
		o.audio = false;
		assert_int_equal(mix_engine_add_recipient(e, 101, &o), 0);
	}
}

/* Same input to both engines: every fake's media for [t, t + 20 ms), then run to t + 20 ms. */
static void step(struct mix_engine **e, struct fake *f, int nf, int64_t t, int64_t lose_at)
{
	for (int i = 0; i < nf; i++) {
		struct mix_packet *a = fake_audio(&f[i], t);
		for (int k = 0; k < 2; k++)
			mix_engine_push_audio_at(e[k], f[i].id, a->data, a->size, t, -1, false,
			                         mix_mono_us());
		mix_packet_unref(&a);
		for (int64_t v = (t * 30 + 999999) / 1000000; v * 1000000 / 30 < t + 20000; v++) {
			int64_t pts = v * 1000000 / 30;
			struct mix_packet *p = fake_frame(&f[i], v, pts);
			bool lost = i == 1 && pts >= lose_at && pts < lose_at + 100000;
			for (int k = 0; k < 2 && p && !lost; k++)
				mix_engine_push_video_at(e[k], f[i].id, p->data, p->size, pts, pts,
				                         i == 1 && pts >= lose_at + 100000 &&
				                             pts < lose_at + 134000,
				                         mix_mono_us());
			mix_packet_unref(&p);
		}
	}
	for (int k = 0; k < 2; k++) {
		assert_int_equal(mix_engine_run_until(e[k], t + 20000), 0);
		mix_engine_latency_sent(e[k], mix_mono_us());
	}
}

/* Every stage of the engine with latency on has samples, in order of size: no stage's median
 * above the total's 95th percentile; the one without has none. */
static void check_latency(struct mix_engine *off, struct mix_engine *on)
{
	struct mix_latency l;
	int64_t now = mix_mono_us();
	mix_latency_init(&l, 0, now);
	mix_engine_latency_merge(off, &l, now);
	for (int i = 0; i < MIX_LAT_COUNT; i++)
		assert_int_equal(lat_hist_count(&l.h[i]), 0);
	mix_engine_latency_merge(on, &l, now);
	for (int i = 0; i < MIX_LAT_COUNT; i++) {
		enum mix_lat_stage total =
		    mix_lat_stage_is_video(i) ? MIX_LAT_VIDEO_TOTAL : MIX_LAT_AUDIO_TOTAL;
		double p50 = lat_hist_quantile_us(&l.h[i], 0.5);
		assert_true(lat_hist_count(&l.h[i]) > 0);
		assert_true(p50 >= 0);
		assert_true(p50 <= lat_hist_quantile_us(&l.h[total], 0.95) + 1000);
	}
}

static void compare_logs(const struct log *a, const struct log *b)
{
	assert_int_equal(a->n, b->n);
	int video = 0;
	for (int i = 0; i < a->n; i++) {
		const struct entry *x = &a->e[i], *y = &b->e[i];
		assert_int_equal(x->rid, y->rid);
		assert_int_equal(x->kf_src, y->kf_src);
		assert_int_equal(x->pkt == NULL, y->pkt == NULL);
		if (!x->pkt)
			continue;
		assert_int_equal(x->pkt->kind, y->pkt->kind);
		assert_int_equal(x->pkt->pts_us, y->pkt->pts_us);
		assert_int_equal(x->pkt->keyframe, y->pkt->keyframe);
		assert_int_equal(x->pkt->size, y->pkt->size);
		assert_memory_equal(x->pkt->data, y->pkt->data, x->pkt->size);
		video += x->pkt->kind == MIX_VIDEO;
	}
	assert_true(video > 100);
}

static void log_free(struct log *l)
{
	for (int i = 0; i < l->n; i++)
		mix_packet_unref(&l->e[i].pkt);
	l->n = 0;
}

static void same_output_with_threads(int threads)
{
	static struct log logs[2];
	struct mix_pool *pool = NULL;
	assert_int_equal(mix_pool_new(&pool, threads), 0);
	struct mix_engine *e[2] = {engine_new(&logs[0], NULL), engine_new(&logs[1], pool)};
	struct fake f[NSRC];
	for (int i = 0; i < NSRC; i++)
		fake_init(&f[i], (uint32_t)i + 1);
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < NSRC - 1; i++)
			join(e[k], f[i].id);
		watchers(e[k]);
	}
	for (int s = 0; s < STEPS; s++) {
		if (s == 30) /* a late joiner: everyone's tiles change, a new encoder */
			for (int k = 0; k < 2; k++)
				join(e[k], f[NSRC - 1].id);
		if (s == 45) /* the 15 fps watcher moves to another rung */
			for (int k = 0; k < 2; k++)
				assert_int_equal(mix_engine_set_recipient_video(
				                     e[k], 102, true, 256, 144, 10, 200000),
				                 0);
		step(e, f, s < 30 ? NSRC - 1 : NSRC, (int64_t)s * 20000, 600000);
	}
	struct mix_engine_stats st[2];
	for (int k = 0; k < 2; k++)
		mix_engine_get_stats(e[k], &st[k]);
	assert_true(st[0].video_encoders >= NSRC + 1);
	assert_int_equal(st[0].video_encoders, st[1].video_encoders);
	assert_int_equal(st[0].frames_decoded, st[1].frames_decoded);
	assert_int_equal(st[0].frames_encoded, st[1].frames_encoded);
	assert_int_equal(st[0].keyframe_requests, st[1].keyframe_requests);
	assert_int_equal(st[0].decode_errors, st[1].decode_errors);
	assert_int_equal(st[0].decode_errors, 0);
	assert_true(st[1].stage_cpu_s[MIX_STAGE_VIDEO_ENCODE] > 0);
	assert_true(st[1].stage_cpu_s[MIX_STAGE_VIDEO_DECODE] > 0);
	compare_logs(&logs[0], &logs[1]);
	check_latency(e[0], e[1]);
	/* the rungs: 100 at 30 fps; 102 at 15 fps for 0.9 s (14 ticks), then 10 fps (6 ticks) */
	int v100 = 0, v102 = 0;
	for (int i = 0; i < logs[0].n; i++) {
		const struct entry *x = &logs[0].e[i];
		v100 += x->pkt && x->pkt->kind == MIX_VIDEO && x->rid == 100;
		v102 += x->pkt && x->pkt->kind == MIX_VIDEO && x->rid == 102;
	}
	assert_int_equal(v100, STEPS * 20 * 30 / 1000);
	assert_int_equal(v102, 14 + 6);
	int kf = 0;
	for (int i = 0; i < logs[0].n; i++)
		kf += logs[0].e[i].pkt == NULL;
	assert_true(kf >= NSRC + 1); /* visibility of each, the late joiner, the loss */
	for (int k = 0; k < 2; k++) {
		mix_engine_free(&e[k]);
		log_free(&logs[k]);
	}
	for (int i = 0; i < NSRC; i++)
		fake_free(&f[i]);
	mix_pool_free(&pool);
}

static void same_output_two_threads(void **state)
{
	(void)state;
	same_output_with_threads(1); /* the caller and one worker */
}

static void same_output_three_threads(void **state)
{
	(void)state;
	same_output_with_threads(2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(same_output_two_threads),
	    cmocka_unit_test(same_output_three_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
