/*
 * test_rungs.c - a ladder of outputs per recipient: per-output frame rates (fps dividing the
 * engine's), switching a recipient between sizes and rates while the engine runs
 * (mix_engine_set_recipient_video), video off and on again, and the await-keyframe gate: after
 * any move to another stream (a switch, a join of a running output, video back on) the
 * recipient's first video packet is a keyframe of the new output, and every packet it gets
 * decodes. Synthetic VP8 participants (solid colours) and Opus tones in, packets recorded per
 * recipient out, peeked (VP8 sizes) and decoded (VP8 or H.264).
 */
#include <errno.h>
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
#include "mix/vp8.h"

#define SRC_W   320
#define SRC_H   180
#define MAX_RCP 8
#define MAX_PKT 400

/* ---- a synthetic participant: solid-colour VP8 at 30 fps and a sine in Opus ---- */

struct fake {
	uint32_t id;
	struct mix_vp8_enc *venc;
	struct mix_opus_enc *aenc;
	uint8_t y[SRC_W * SRC_H], u[SRC_W * SRC_H / 4], v[SRC_W * SRC_H / 4];
	int64_t sample;
};

static void fake_init(struct fake *f, uint32_t id, uint8_t Y)
{
	memset(f, 0, sizeof(*f));
	f->id = id;
	struct mix_vp8_enc_cfg vc = {
	    .width = SRC_W, .height = SRC_H, .fps = 30, .bitrate_bps = 300000};
	assert_int_equal(mix_vp8_enc_alloc(&f->venc, &vc), 0);
	struct mix_opus_enc_cfg oc;
	mix_opus_enc_cfg_default(&oc);
	assert_int_equal(mix_opus_enc_alloc(&f->aenc, &oc), 0);
	memset(f->y, Y, sizeof(f->y));
	memset(f->u, 128, sizeof(f->u));
	memset(f->v, 128, sizeof(f->v));
}

static void fake_free(struct fake *f)
{
	mix_vp8_enc_free(&f->venc);
	mix_opus_enc_free(&f->aenc);
}

/* Pushes f's media for [t, t + 20 ms). */
static void fake_push(struct fake *f, struct mix_engine *e, int64_t t)
{
	int16_t pcm[960];
	for (int i = 0; i < 960; i++, f->sample++)
		pcm[i] =
		    (int16_t)(5000 * sin(2 * M_PI * (300.0 + 100 * f->id) * f->sample / 48000.0));
	struct mix_packet *pk = NULL;
	assert_int_equal(mix_opus_enc_encode(f->aenc, pcm, t, &pk), 0);
	mix_engine_push_audio(e, f->id, pk->data, pk->size, t, -1, false);
	mix_packet_unref(&pk);
	for (int64_t n = (t * 30 + 999999) / 1000000; n * 1000000 / 30 < t + 20000; n++) {
		struct mix_picture p = {.data = {f->y, f->u, f->v},
		                        .stride = {SRC_W, SRC_W / 2, SRC_W / 2},
		                        .width = SRC_W,
		                        .height = SRC_H};
		int64_t pts = n * 1000000 / 30;
		assert_int_equal(mix_vp8_enc_encode(f->venc, &p, pts, &pk), 0);
		if (pk)
			mix_engine_push_video(e, f->id, pk->data, pk->size, pts, false);
		mix_packet_unref(&pk);
	}
}

/* ---- what each recipient received ---- */

struct vrec {
	int64_t pts, dur;
	bool key;
	int w, h; /* VP8 keyframes only (mix_vp8_peek), else 0 */
};

struct rlog {
	bool h264; /* decode its video as H.264 */
	struct mix_vp8_dec *vp8;
	struct mix_h264_dec *avc;
	struct vrec v[MAX_PKT];
	int nv, na, decode_errors;
};

struct sink {
	struct rlog r[MAX_RCP];
};

static void decode(struct rlog *l, const struct mix_packet *p)
{
	struct mix_picture pic;
	int rc;
	if (l->h264) {
		if (!l->avc)
			assert_int_equal(mix_h264_dec_alloc(&l->avc, 0, 0), 0);
		rc = mix_h264_dec_decode(l->avc, p->data, p->size, &pic);
	} else {
		if (!l->vp8)
			assert_int_equal(mix_vp8_dec_alloc(&l->vp8, 0, 0), 0);
		rc = mix_vp8_dec_decode(l->vp8, p->data, p->size, &pic);
	}
	l->decode_errors += rc < 0;
}

static void on_packet(void *opaque, uint32_t rid, const struct mix_packet *p)
{
	struct sink *s = opaque;
	assert_true(rid < MAX_RCP);
	struct rlog *l = &s->r[rid];
	if (p->kind == MIX_AUDIO) {
		l->na++;
		return;
	}
	assert_true(l->nv < MAX_PKT);
	struct vrec *v = &l->v[l->nv++];
	*v = (struct vrec){.pts = p->pts_us, .dur = p->duration_us, .key = p->keyframe};
	struct mix_vp8_info info;
	if (!l->h264 && mix_vp8_peek(p->data, p->size, &info) == 0) {
		assert_int_equal(info.keyframe, p->keyframe);
		v->w = info.width;
		v->h = info.height;
	}
	decode(l, p);
}

static void sink_free(struct sink *s)
{
	for (int i = 0; i < MAX_RCP; i++) {
		mix_vp8_dec_free(&s->r[i].vp8);
		mix_h264_dec_free(&s->r[i].avc);
	}
}

/* An engine (w x h at 30 fps) recording into s, with nf participants that do not receive. */
static struct mix_engine *room(struct sink *s, int w, int h, struct fake *f, int nf)
{
	memset(s, 0, sizeof(*s));
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.width = w;
	cfg.height = h;
	cfg.video_bitrate = 600000;
	cfg.cb = (struct mix_engine_callbacks){.opaque = s, .on_packet = on_packet};
	struct mix_engine *e = NULL;
	assert_int_equal(mix_engine_alloc(&e, &cfg), 0);
	for (int i = 0; i < nf; i++) {
		fake_init(&f[i], (uint32_t)i + 1, (uint8_t)(60 + 50 * i));
		assert_int_equal(mix_engine_add_source(e, (uint32_t)i + 1, "p"), 0);
	}
	return e;
}

/* A recipient (not a participant) at w x h (0: the engine's), fps (0: the engine's). */
static void watcher(struct mix_engine *e, uint32_t rid, int w, int h, int fps, int codec)
{
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	o.width = w;
	o.height = h;
	o.fps = fps;
	o.video_codec = codec;
	assert_int_equal(mix_engine_add_recipient(e, rid, &o), 0);
}

/* Runs [from, to) in 20 ms steps with every participant's media. */
static void run(struct mix_engine *e, struct fake *f, int nf, int64_t from, int64_t to)
{
	for (int64_t t = from; t < to; t += 20000) {
		for (int i = 0; i < nf; i++)
			fake_push(&f[i], e, t);
		assert_int_equal(mix_engine_run_until(e, t + 20000), 0);
	}
}

static int encoders(const struct mix_engine *e)
{
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	return st.video_encoders;
}

/* pts is a tick of a 1/fps clock (k * 1e6 / fps, rounded down like the engine's). */
static bool on_clock(int64_t pts, int fps)
{
	int64_t k = (pts * fps + 500000) / 1000000;
	return k * 1000000 / fps == pts;
}

/*
 * rid's packets from index `from` on: the first one is a keyframe (of w x h for VP8), and so
 * every packet after a switch starts the new stream with a keyframe; none failed to decode.
 */
static void starts_with_keyframe(const struct rlog *l, int from, int w, int h)
{
	assert_true(l->nv > from);
	assert_true(l->v[from].key);
	if (!l->h264) {
		assert_int_equal(l->v[from].w, w);
		assert_int_equal(l->v[from].h, h);
	}
	assert_int_equal(l->decode_errors, 0);
}

/* ---- tests ---- */

/* At 15 fps a recipient gets every other tick, from an encoder of its own, on a 1/15 s clock. */
static void half_rate_output(void **state)
{
	struct sink s;
	struct fake f[2];
	struct mix_engine *e = room(&s, 640, 360, f, 2);
	watcher(e, 1, 0, 0, 0, 0);
	watcher(e, 2, 0, 0, 15, 0);
	run(e, f, 2, 0, 1000000);
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_encoders, 2);
	assert_int_equal(st.video_ticks, 30);
	assert_int_equal(s.r[1].nv, 30);
	assert_int_equal(s.r[2].nv, 15);
	assert_int_equal(st.frames_encoded, 45); /* only real encodes count */
	for (int i = 0; i < s.r[2].nv; i++) {
		assert_true(on_clock(s.r[2].v[i].pts, 15));
		assert_int_equal(s.r[2].v[i].dur, 1000000 / 15);
	}
	starts_with_keyframe(&s.r[1], 0, 640, 360);
	starts_with_keyframe(&s.r[2], 0, 640, 360);
	for (int i = 0; i < 2; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* Recipients at 10 fps and 5 fps of the same size have encoders of their own, not shared. */
static void rates_do_not_share(void **state)
{
	struct sink s;
	struct fake f[1];
	struct mix_engine *e = room(&s, 320, 180, f, 1);
	watcher(e, 1, 0, 0, 10, 0);
	watcher(e, 2, 0, 0, 10, 0);
	watcher(e, 3, 0, 0, 5, 0);
	run(e, f, 1, 0, 1000000);
	assert_int_equal(encoders(e), 2);
	assert_int_equal(s.r[1].nv, 10);
	assert_int_equal(s.r[2].nv, 10);
	assert_int_equal(s.r[3].nv, 5);
	for (int i = 0; i < s.r[3].nv; i++)
		assert_true(on_clock(s.r[3].v[i].pts, 5));
	fake_free(&f[0]);
	mix_engine_free(&e);
	sink_free(&s);
}

static void bad_rates(void **state)
{
	struct sink s;
	struct mix_engine *e = room(&s, 320, 180, NULL, 0);
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	const int bad[] = {7, 4, 45, 60, -1};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.fps = bad[i];
		assert_int_equal(mix_engine_add_recipient(e, 1, &o), -EINVAL);
	}
	o.fps = 10;
	assert_int_equal(mix_engine_add_recipient(e, 1, &o), 0);
	assert_int_equal(mix_engine_set_recipient_video(e, 1, true, 0, 0, 4, 0), -EINVAL);
	assert_int_equal(mix_engine_set_recipient_video(e, 1, true, 321, 180, 0, 0), -EINVAL);
	assert_int_equal(mix_engine_set_recipient_video(e, 1, true, 0, 0, 0, 5000), -EINVAL);
	assert_int_equal(mix_engine_set_recipient_video(e, 2, true, 0, 0, 0, 0), -ENOENT);
	assert_int_equal(mix_engine_set_recipient_video(e, 1, true, 0, 0, 30, 0), 0);
	assert_int_equal(mix_engine_set_recipient_video(e, 1, false, 0, 0, 7, 0), 0); /* ignored */
	mix_engine_free(&e);
}

/*
 * Switching a recipient's size mid-run: its first packet afterwards is a keyframe of the new
 * size; a second recipient switched onto the same rung shares the (running) encoder and waits
 * for its next keyframe, getting nothing before; switching back makes a fresh 1280x720 stream.
 */
static void switch_rungs(void **state)
{
	struct sink s;
	struct fake f[2];
	struct mix_engine *e = room(&s, 1280, 720, f, 2);
	watcher(e, 1, 0, 0, 0, 0);
	watcher(e, 2, 0, 0, 0, 0);
	run(e, f, 2, 0, 400000);
	assert_int_equal(encoders(e), 1);
	starts_with_keyframe(&s.r[1], 0, 1280, 720);
	starts_with_keyframe(&s.r[2], 0, 1280, 720);

	/* rid 1 to 320x180 at 15 fps: a fresh encoder, a keyframe of that size first */
	int m1 = s.r[1].nv;
	assert_int_equal(mix_engine_set_recipient_video(e, 1, true, 320, 180, 15, 150000), 0);
	run(e, f, 2, 400000, 500000);
	assert_int_equal(encoders(e), 2);

	/* rid 2 onto the same rung at 0.5 s: shared, and gated until the encoder's next keyframe,
	 * which comes MIX_KF_JOIN_GAP_US after its first (at 0.4 s), not a second after */
	int m2 = s.r[2].nv;
	assert_int_equal(mix_engine_set_recipient_video(e, 2, true, 320, 180, 15, 150000), 0);
	run(e, f, 2, 500000, 600000);
	assert_int_equal(encoders(e), 1);
	assert_int_equal(s.r[2].nv, m2); /* nothing yet: no delta frames of the new stream */
	run(e, f, 2, 600000, 1800000);
	starts_with_keyframe(&s.r[1], m1, 320, 180);
	for (int i = m1; i < s.r[1].nv; i++)
		assert_true(on_clock(s.r[1].v[i].pts, 15));
	starts_with_keyframe(&s.r[2], m2, 320, 180);
	assert_true(s.r[2].v[m2].pts >= 400000 + MIX_KF_JOIN_GAP_US &&
	            s.r[2].v[m2].pts < 400000 + MIX_KF_JOIN_GAP_US + 100000);
	/* ... the same packets as rid 1 from there */
	int n1 = s.r[1].nv, n2 = s.r[2].nv;
	assert_true(n2 - m2 >= 2);
	for (int i = 1; i <= n2 - m2; i++)
		assert_int_equal(s.r[1].v[n1 - i].pts, s.r[2].v[n2 - i].pts);

	/* rid 1 back to the engine's rung: a fresh 1280x720 encoder */
	m1 = s.r[1].nv;
	assert_int_equal(mix_engine_set_recipient_video(e, 1, true, 0, 0, 0, 0), 0);
	run(e, f, 2, 1800000, 2000000);
	assert_int_equal(encoders(e), 2);
	starts_with_keyframe(&s.r[1], m1, 1280, 720);
	assert_int_equal(s.r[1].nv - m1, 6); /* 30 fps again */
	assert_int_equal(s.r[2].decode_errors, 0);
	for (int i = 0; i < 2; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/*
 * Video off: no more video, audio goes on. Video on again, rejoining a running shared output:
 * nothing until its next keyframe, which comes first. A recipient joining a running shared
 * output is gated the same way.
 */
static void video_off_and_on(void **state)
{
	struct sink s;
	struct fake f[2];
	struct mix_engine *e = room(&s, 320, 180, f, 2);
	watcher(e, 1, 0, 0, 0, 0);
	watcher(e, 2, 0, 0, 0, 0);
	run(e, f, 2, 0, 400000);
	int mv = s.r[1].nv, ma = s.r[1].na;
	assert_int_equal(mix_engine_set_recipient_video(e, 1, false, 0, 0, 0, 0), 0);
	run(e, f, 2, 400000, 800000);
	assert_int_equal(s.r[1].nv, mv);
	assert_int_equal(s.r[1].na - ma, 20);
	assert_int_equal(encoders(e), 1); /* rid 2's */

	/* on again at 0.8 s: the shared encoder's last keyframe was at 0, so the next comes at
	 * once (a returning recipient's keyframe waits MIX_KF_JOIN_GAP_US at most) */
	assert_int_equal(mix_engine_set_recipient_video(e, 1, true, 0, 0, 0, 0), 0);
	run(e, f, 2, 800000, 1200000);
	assert_int_equal(encoders(e), 1);
	starts_with_keyframe(&s.r[1], mv, 320, 180);
	assert_true(s.r[1].v[mv].pts >= 800000 && s.r[1].v[mv].pts < 900000);
	assert_int_equal(s.r[1].v[mv].pts, s.r[2].v[s.r[2].nv - (s.r[1].nv - mv)].pts);
	int64_t kf = s.r[1].v[mv].pts;

	/* a newcomer joining the running output right after waits for the keyframe
	 * MIX_KF_JOIN_GAP_US after that one, and gets nothing before */
	watcher(e, 3, 0, 0, 0, 0);
	run(e, f, 2, 1200000, 2200000);
	assert_int_equal(encoders(e), 1);
	starts_with_keyframe(&s.r[3], 0, 320, 180);
	assert_true(s.r[3].v[0].pts >= 1200000 && s.r[3].v[0].pts >= kf + MIX_KF_JOIN_GAP_US);
	assert_true(s.r[3].v[0].pts < 1300000);
	assert_true(s.r[3].na >= 45); /* its audio did not wait */

	/* joins close together share a keyframe: rid 4 at 2.2 s gets one at once; rids 5 and 6,
	 * 50 and 100 ms later, both wait for the one MIX_KF_JOIN_GAP_US after it */
	watcher(e, 4, 0, 0, 0, 0);
	run(e, f, 2, 2200000, 2250000);
	watcher(e, 5, 0, 0, 0, 0);
	run(e, f, 2, 2250000, 2300000);
	watcher(e, 6, 0, 0, 0, 0);
	run(e, f, 2, 2300000, 2800000);
	starts_with_keyframe(&s.r[4], 0, 320, 180);
	starts_with_keyframe(&s.r[5], 0, 320, 180);
	starts_with_keyframe(&s.r[6], 0, 320, 180);
	assert_true(s.r[4].v[0].pts < 2300000);
	assert_int_equal(s.r[5].v[0].pts, s.r[6].v[0].pts);
	assert_true(s.r[5].v[0].pts >= s.r[4].v[0].pts + MIX_KF_JOIN_GAP_US);
	int kfs = 0;
	for (int i = 0; i < s.r[4].nv; i++)
		kfs += s.r[4].v[i].key;
	assert_int_equal(kfs, 2); /* three joins, two keyframes */
	for (int i = 0; i < 2; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* An H.264 recipient at 15 fps next to a VP8 one at 30: half the packets, on a 1/15 s clock,
 * an IDR first, every access unit decodes. */
static void h264_half_rate(void **state)
{
	if (!mix_h264_available()) {
		print_message("SKIPPED: this FFmpeg has no libx264 encoder\n");
		return;
	}
	struct sink s;
	struct fake f[2];
	struct mix_engine *e = room(&s, 640, 360, f, 2);
	s.r[2].h264 = s.r[3].h264 = true;
	watcher(e, 1, 0, 0, 0, MIX_VCODEC_VP8);
	watcher(e, 2, 0, 0, 15, MIX_VCODEC_H264);
	run(e, f, 2, 0, 1000000);
	assert_int_equal(encoders(e), 2);
	assert_int_equal(s.r[1].nv, 30);
	assert_int_equal(s.r[2].nv, 15);
	starts_with_keyframe(&s.r[2], 0, 0, 0);
	for (int i = 0; i < s.r[2].nv; i++) {
		assert_true(on_clock(s.r[2].v[i].pts, 15));
		assert_int_equal(s.r[2].v[i].dur, 1000000 / 15);
	}
	/* switched to 320x180 at 5 fps: a fresh encoder, an IDR first */
	int m = s.r[2].nv;
	assert_int_equal(mix_engine_set_recipient_video(e, 2, true, 320, 180, 5, 0), 0);
	run(e, f, 2, 1000000, 2000000);
	assert_int_equal(s.r[2].nv - m, 5);
	starts_with_keyframe(&s.r[2], m, 0, 0);
	for (int i = 0; i < 2; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(half_rate_output), cmocka_unit_test(rates_do_not_share),
	    cmocka_unit_test(bad_rates),        cmocka_unit_test(switch_rungs),
	    cmocka_unit_test(video_off_and_on), cmocka_unit_test(h264_half_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
