/*
 * test_engine.c - the engine end to end without files: synthetic participants (VP8 frames and
 * Opus packets made by our own encoders) in, encoded packets out, decoded again and checked.
 * Covers encoder sharing counts, decode-only-what-is-seen, placeholders, name labels on tiles
 * (tile_names), mix-minus through the codecs, A/V alignment of the output, keyframe
 * requests and a participant that sends H.264 (when libx264 is there to make its stream).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mix/engine.h"
#include "mix/h264.h"
#include "mix/opus.h"
#include "mix/vp8.h"

#define SRC_W 320
#define SRC_H 180

/* ---- a synthetic participant: solid-colour VP8 and a sine (or silence) Opus ---- */

struct fake {
	uint32_t id;
	struct mix_vp8_enc *venc;
	struct mix_opus_enc *aenc;
	uint8_t y[SRC_W * SRC_H], u[SRC_W * SRC_H / 4], v[SRC_W * SRC_H / 4];
	double freq; /* 0 = silence */
	double amp;
	int64_t sample;
};

static void fake_init(struct fake *f, uint32_t id, uint8_t Y, uint8_t U, uint8_t V, double freq)
{
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->freq = freq;
	f->amp = 6000;
	struct mix_vp8_enc_cfg vc = {
	    .width = SRC_W, .height = SRC_H, .fps = 30, .bitrate_bps = 300000};
	assert_int_equal(mix_vp8_enc_alloc(&f->venc, &vc), 0);
	struct mix_opus_enc_cfg oc;
	mix_opus_enc_cfg_default(&oc);
	assert_int_equal(mix_opus_enc_alloc(&f->aenc, &oc), 0);
	memset(f->y, Y, sizeof(f->y));
	memset(f->u, U, sizeof(f->u));
	memset(f->v, V, sizeof(f->v));
}

static void fake_free(struct fake *f)
{
	mix_vp8_enc_free(&f->venc);
	mix_opus_enc_free(&f->aenc);
}

static void fake_video(struct fake *f, struct mix_engine *e, int64_t pts)
{
	struct mix_picture p = {.data = {f->y, f->u, f->v},
	                        .stride = {SRC_W, SRC_W / 2, SRC_W / 2},
	                        .width = SRC_W,
	                        .height = SRC_H};
	struct mix_packet *pk = NULL;
	assert_int_equal(mix_vp8_enc_encode(f->venc, &p, pts, &pk), 0);
	if (pk)
		mix_engine_push_video(e, f->id, pk->data, pk->size, pts, false);
	mix_packet_unref(&pk);
}

static void fake_audio(struct fake *f, struct mix_engine *e, int64_t pts, int level)
{
	int16_t pcm[960];
	for (int i = 0; i < 960; i++, f->sample++)
		pcm[i] = f->freq > 0
		             ? (int16_t)(f->amp * sin(2 * M_PI * f->freq * f->sample / 48000.0))
		             : 0;
	struct mix_packet *pk = NULL;
	assert_int_equal(mix_opus_enc_encode(f->aenc, pcm, pts, &pk), 0);
	mix_engine_push_audio(e, f->id, pk->data, pk->size, pts, level, false);
	mix_packet_unref(&pk);
}

/* Pushes media of every fake for [t, t + 20 ms) and runs the engine to t + 20 ms. */
static void step(struct mix_engine *e, struct fake *f, int n, int64_t t, bool video, int level)
{
	for (int i = 0; i < n; i++) {
		fake_audio(&f[i], e, t, level);
		for (int64_t v = (t * 30 + 999999) / 1000000; video && v * 1000000 / 30 < t + 20000;
		     v++)
			fake_video(&f[i], e, v * 1000000 / 30);
	}
	assert_int_equal(mix_engine_run_until(e, t + 20000), 0);
}

/* ---- a recording sink: keeps the last video packet and decodes audio per recipient ---- */

#define MAX_RCP 16
struct sink {
	struct mix_vp8_dec *vdec[MAX_RCP];
	struct mix_picture pic[MAX_RCP];
	int frames[MAX_RCP];
	struct mix_opus_dec *adec[MAX_RCP];
	int16_t *pcm[MAX_RCP];
	int nsamples[MAX_RCP];
	int64_t first_bright_video, first_loud_audio;
	int keyframe_reqs;
	uint32_t kf_src[64];
	uint64_t video_bytes_before, video_bytes_after; /* recipient 1, before/after 1 s */
};

static void on_packet(void *opaque, uint32_t rid, const struct mix_packet *p)
{
	struct sink *s = opaque;
	assert_true(rid < MAX_RCP);
	if (p->kind == MIX_VIDEO) {
		if (rid == 1 && p->pts_us < 1000000)
			s->video_bytes_before += p->size;
		else if (rid == 1 && p->pts_us >= 1200000)
			s->video_bytes_after += p->size * 5 / 4; /* 0.8 s scaled to 1 s */
		if (!s->vdec[rid])
			assert_int_equal(mix_vp8_dec_alloc(&s->vdec[rid], 0, 0), 0);
		if (mix_vp8_dec_decode(s->vdec[rid], p->data, p->size, &s->pic[rid]) == 0)
			s->frames[rid]++;
		/* A/V test: the centre of the canvas turns bright at the flash. */
		const struct mix_picture *pc = &s->pic[rid];
		if (s->frames[rid] && s->first_bright_video < 0 &&
		    pc->data[0][(pc->height / 2) * pc->stride[0] + pc->width / 2] > 150)
			s->first_bright_video = p->pts_us;
		return;
	}
	if (!s->adec[rid]) {
		assert_int_equal(mix_opus_dec_alloc(&s->adec[rid]), 0);
		s->pcm[rid] = calloc(48000 * 20, sizeof(int16_t));
	}
	int16_t buf[MIX_OPUS_MAX_SAMPLES];
	int n = mix_opus_dec_decode(s->adec[rid], p->data, p->size, buf);
	assert_true(n > 0);
	if (s->nsamples[rid] + n <= 48000 * 20) {
		memcpy(s->pcm[rid] + s->nsamples[rid], buf, sizeof(int16_t) * (size_t)n);
		s->nsamples[rid] += n;
	}
	if (s->first_loud_audio < 0 && mix_audio_level_dbov(buf, n) > -40)
		s->first_loud_audio = p->pts_us;
}

static void on_kf(void *opaque, uint32_t src)
{
	struct sink *s = opaque;
	if (s->keyframe_reqs < 64)
		s->kf_src[s->keyframe_reqs] = src;
	s->keyframe_reqs++;
}

static void sink_free(struct sink *s)
{
	for (int i = 0; i < MAX_RCP; i++) {
		mix_vp8_dec_free(&s->vdec[i]);
		mix_opus_dec_free(&s->adec[i]);
		free(s->pcm[i]);
	}
}

/* An engine on cfg whose callbacks record into a fresh sink s. */
static struct mix_engine *engine_on(struct sink *s, struct mix_engine_cfg *cfg)
{
	memset(s, 0, sizeof(*s));
	s->first_bright_video = s->first_loud_audio = -1;
	cfg->cb = (struct mix_engine_callbacks){
	    .opaque = s, .on_packet = on_packet, .on_keyframe_request = on_kf};
	struct mix_engine *e = NULL;
	assert_int_equal(mix_engine_alloc(&e, cfg), 0);
	return e;
}

static struct mix_engine *new_engine(struct sink *s, int w, int h, bool exclude_self)
{
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.width = w;
	cfg.height = h;
	cfg.exclude_self = exclude_self;
	cfg.video_bitrate = 500000;
	return engine_on(s, &cfg);
}

static void add_participant(struct mix_engine *e, uint32_t id, bool recipient)
{
	char name[16];
	snprintf(name, sizeof(name), "P %u", id);
	assert_int_equal(mix_engine_add_source(e, id, name), 0);
	if (!recipient)
		return;
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	o.self = id;
	assert_int_equal(mix_engine_add_recipient(e, id, &o), 0);
}

/* Power of frequency f in pcm (Goertzel), normalised per sample. */
static double tone_power(const int16_t *pcm, int n, double f)
{
	double k = 2 * cos(2 * M_PI * f / 48000), s1 = 0, s2 = 0;
	for (int i = 0; i < n; i++) {
		double s0 = pcm[i] + k * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return (s1 * s1 + s2 * s2 - k * s1 * s2) / n / n;
}

/* ---- tests ---- */

static void grid_of_nine_shares_one_encoder(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 640, 360, false);
	struct fake f[9];
	for (int i = 0; i < 9; i++) {
		fake_init(&f[i], (uint32_t)i + 1, (uint8_t)(40 + 20 * i), 128, 128, 300 + 100 * i);
		add_participant(e, (uint32_t)i + 1, true);
	}
	for (int64_t t = 0; t < 400000; t += 20000)
		step(e, f, 9, t, true, -1);
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_encoders, 1);
	assert_int_equal(st.visible_sources, 9);
	assert_int_equal(st.video_decoders, 9);
	assert_true(st.audio_encoders <= 5);
	assert_true(st.audio_encoders >= 2); /* speakers hear sum - own */
	for (int r = 1; r <= 9; r++)
		assert_true(s.frames[r] >= 10);
	uint32_t tiles[32];
	assert_int_equal(mix_engine_recipient_tiles(e, 5, tiles, 32), 9);
	for (int i = 0; i < 9; i++)
		assert_int_equal(tiles[i], (uint32_t)i + 1); /* join order */
	for (int i = 0; i < 9; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

static void exclude_self_needs_one_encoder_each(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 320, 180, true);
	struct fake f[9];
	for (int i = 0; i < 9; i++) {
		fake_init(&f[i], (uint32_t)i + 1, 100, 128, 128, 0);
		add_participant(e, (uint32_t)i + 1, true);
	}
	for (int64_t t = 0; t < 100000; t += 20000)
		step(e, f, 9, t, true, -1);
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_encoders, 9);
	uint32_t tiles[32];
	int n = mix_engine_recipient_tiles(e, 3, tiles, 32);
	assert_int_equal(n, 8);
	for (int i = 0; i < n; i++)
		assert_int_not_equal(tiles[i], 3);
	for (int i = 0; i < 9; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* 100 participants, 9 tiles, 4 mixed: 1 VP8 encoder, <= 5 Opus, only 9 decoders. */
static void large_room(void **state)
{
	struct sink s;
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.width = 640;
	cfg.height = 360;
	cfg.max_tiles = 9;
	cfg.max_mixed = 4;
	struct mix_engine *e = engine_on(&s, &cfg);
	static struct fake f[100];
	for (int i = 0; i < 100; i++) {
		/* six people talk, the rest are silent */
		fake_init(&f[i], (uint32_t)i + 1, 120, 128, 128, i % 17 == 0 ? 200.0 + 37 * i : 0);
		add_participant(e, (uint32_t)i + 1, i < 14); /* 14 of them receive */
	}
	for (int64_t t = 0; t < 300000; t += 20000)
		step(e, f, 100, t, true, -1);
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_encoders, 1);
	assert_true(st.audio_encoders <= 5);
	assert_int_equal(st.visible_sources, 9);
	assert_int_equal(st.video_decoders, 9);
	assert_true(st.frames_dropped_invisible > 0);
	/* each decoded frame belongs to a visible source: 9 sources x ~9 frames */
	assert_true(st.frames_decoded <= 9 * 10);
	for (int i = 0; i < 100; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* Sources with RFC 6464 levels are not decoded unless mixed. */
static void header_levels_skip_decoding(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 320, 180, false);
	struct fake f[10];
	for (int i = 0; i < 10; i++) {
		fake_init(&f[i], (uint32_t)i + 1, 100, 128, 128, i < 2 ? 440 + 100 * i : 0);
		add_participant(e, (uint32_t)i + 1, false);
	}
	for (int64_t t = 0; t < 200000; t += 20000) {
		for (int i = 0; i < 10; i++)
			fake_audio(&f[i], e, t, i < 2 ? 20 : 127);
		assert_int_equal(mix_engine_run_until(e, t + 20000), 0);
	}
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	/* 10 ticks x 2 talkers decoded, not 10 x 10 */
	assert_true(st.audio_decoded_packets <= 2 * 10 + 2);
	assert_true(st.audio_decoded_packets >= 2 * 9);
	for (int i = 0; i < 10; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* A source without video shows the dark placeholder, never green. */
static void placeholder_tile(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 640, 360, false);
	struct fake f[2];
	fake_init(&f[0], 1, 200, 128, 128, 0);
	fake_init(&f[1], 2, 200, 128, 128, 0);
	add_participant(e, 1, false);
	add_participant(e, 2, false);
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	assert_int_equal(mix_engine_add_recipient(e, 7, &o), 0);
	for (int64_t t = 0; t < 300000; t += 20000) {
		fake_video(&f[0], e, t); /* only source 1 sends video */
		fake_audio(&f[1], e, t, -1);
		assert_int_equal(mix_engine_run_until(e, t + 20000), 0);
	}
	assert_true(s.frames[7] > 5);
	const struct mix_picture *p = &s.pic[7];
	/* 2x1 grid: left tile source 1 (bright), right tile placeholder (dark) */
	int yl = p->data[0][(p->height / 2) * p->stride[0] + p->width / 4];
	int yr = p->data[0][(p->height / 4) * p->stride[0] + 3 * p->width / 4 - 60];
	assert_true(yl > 170);
	assert_true(yr > 25 && yr < 70);
	for (int y = 0; y < p->height / 2; y += 8)
		for (int x = 0; x < p->width / 2; x += 8) {
			assert_true(abs(p->data[1][y * p->stride[1] + x] - 128) < 20);
			assert_true(abs(p->data[2][y * p->stride[2] + x] - 128) < 20);
		}
	fake_free(&f[0]);
	fake_free(&f[1]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* Mean luma of the w x h block at (x, y) of p. */
static int mean_luma(const struct mix_picture *p, int x, int y, int w, int h)
{
	int sum = 0;
	for (int j = y; j < y + h; j++)
		for (int i = x; i < x + w; i++)
			sum += p->data[0][(size_t)j * p->stride[0] + i];
	return sum / (w * h);
}

/*
 * The decoded output of a 1280x720 2-tile grid, "P 1" live and bright, "P 2" a placeholder,
 * with tile_names on or off: luma of the left padding of tile 0's label box, of the first
 * stroke of tile 1's "P", and of tile 0's centre. Tiles are at least 360 high: labels at 3x,
 * the box 2f = 6 px in from the tile's left and bottom, 36 high, the text 6 px inside it.
 */
static void names_output(bool on, int out[3])
{
	struct sink s;
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.video_bitrate = 1500000;
	cfg.tile_names = on;
	struct mix_engine *e = engine_on(&s, &cfg);
	struct fake f;
	fake_init(&f, 1, 200, 128, 128, 0);
	add_participant(e, 1, false);
	add_participant(e, 2, false);
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	assert_int_equal(mix_engine_add_recipient(e, 7, &o), 0);
	for (int64_t t = 0; t < 400000; t += 20000) {
		fake_video(&f, e, t);
		assert_int_equal(mix_engine_run_until(e, t + 20000), 0);
	}
	assert_true(s.frames[7] > 5);
	struct mix_rect r[2];
	assert_int_equal(mix_layout_compute(MIX_LAYOUT_GRID, 2, 1280, 720, r, 2), 2);
	assert_true(r[0].h >= 360 && r[1].h == r[0].h);
	const struct mix_picture *p = &s.pic[7];
	int box_y = r[0].y + r[0].h - 6 - 36;
	out[0] = mean_luma(p, r[0].x + 7, box_y + 8, 4, 20);
	out[1] = mean_luma(p, r[1].x + 12, box_y + 6, 3, 21);
	out[2] = mean_luma(p, r[0].x + r[0].w / 2, r[0].y + r[0].h / 2, 16, 16);
	fake_free(&f);
	mix_engine_free(&e);
	sink_free(&s);
}

static void tile_names_drawn(void **state)
{
	int off[3], on[3];
	names_output(false, off);
	names_output(true, on);
	assert_true(off[0] > 170); /* default: the picture, no label */
	assert_true(off[1] < 70);
	assert_true(on[0] < 110); /* the box darkens the picture */
	assert_true(on[1] > 150); /* light text, on the placeholder too */
	assert_true(off[2] > 170 && on[2] > 170);
}

/* Through Opus both ways: each speaker hears the others but not itself. */
static void mix_minus_through_codecs(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 320, 180, false);
	struct fake f[3];
	const double freq[3] = {400, 1000, 2500};
	for (int i = 0; i < 3; i++) {
		fake_init(&f[i], (uint32_t)i + 1, 100, 128, 128, freq[i]);
		add_participant(e, (uint32_t)i + 1, true);
	}
	for (int64_t t = 0; t < 1000000; t += 20000)
		step(e, f, 3, t, false, -1);
	for (int r = 1; r <= 3; r++) {
		int n = s.nsamples[r];
		assert_true(n >= 40000);
		const int16_t *pcm = s.pcm[r] + n / 2; /* the second half: speakers settled */
		for (int k = 0; k < 3; k++) {
			double p = tone_power(pcm, n / 2, freq[k]);
			if (k + 1 == r)
				assert_true(p < 1e4); /* own tone absent */
			else
				assert_true(p > 1e5); /* others present */
		}
	}
	for (int i = 0; i < 3; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* A flash and a beep at the same instant come out at the same output time. */
static void av_alignment(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 320, 180, false);
	struct fake f;
	fake_init(&f, 1, 30, 128, 128, 0);
	add_participant(e, 1, false);
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	assert_int_equal(mix_engine_add_recipient(e, 9, &o), 0);
	const int64_t flash = 1000000;
	for (int64_t t = 0; t < 2000000; t += 20000) {
		if (t == flash) {
			memset(f.y, 230, sizeof(f.y));
			f.freq = 1000;
			f.amp = 12000;
			mix_vp8_enc_request_keyframe(f.venc);
		}
		step(e, &f, 1, t, true, -1);
	}
	assert_true(s.first_bright_video >= 0);
	assert_true(s.first_loud_audio >= 0);
	int64_t d = s.first_bright_video - s.first_loud_audio;
	print_message("flash at %lld us, beep at %lld us\n", (long long)s.first_bright_video,
	              (long long)s.first_loud_audio);
	assert_true(llabs(d) <= 40000);
	assert_true(llabs(s.first_bright_video - flash) <= 40000);
	fake_free(&f);
	mix_engine_free(&e);
	sink_free(&s);
}

/* Becoming visible asks the source for a keyframe; invisible frames are not decoded. */
static void visibility_requests_keyframe(void **state)
{
	struct sink s;
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.width = 320;
	cfg.height = 180;
	cfg.max_tiles = 1;
	struct mix_engine *e = engine_on(&s, &cfg);
	struct fake f[2];
	fake_init(&f[0], 1, 100, 128, 128, 0);
	fake_init(&f[1], 2, 100, 128, 128, 0);
	add_participant(e, 1, false);
	add_participant(e, 2, false);
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	assert_int_equal(mix_engine_add_recipient(e, 3, &o), 0);
	for (int64_t t = 0; t < 200000; t += 20000)
		step(e, f, 2, t, true, -1);
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_decoders, 1);
	assert_true(s.keyframe_reqs >= 1);
	assert_int_equal(s.kf_src[0], 1);
	/* source 2 starts talking: with one tile, the most recent speaker is shown */
	f[1].freq = 500;
	int before = s.keyframe_reqs;
	for (int64_t t = 200000; t < 600000; t += 20000)
		step(e, f, 2, t, true, -1);
	uint32_t tile;
	assert_int_equal(mix_engine_recipient_tiles(e, 3, &tile, 1), 1);
	assert_int_equal(tile, 2);
	assert_true(s.keyframe_reqs > before);
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_decoders, 1);
	assert_int_equal(st.video_encoders, 1); /* re-keyed, not a second encoder */
	for (int i = 0; i < 2; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* A muted source leaves the mix at once and is not decoded; unmuted it comes back (and its
 * video asks for a keyframe); a rename reaches its placeholder. */
static void mute_and_rename(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 320, 180, false);
	struct fake f[2];
	const double freq[2] = {400, 1000};
	for (int i = 0; i < 2; i++) {
		fake_init(&f[i], (uint32_t)i + 1, 100, 128, 128, freq[i]);
		add_participant(e, (uint32_t)i + 1, false);
	}
	struct mix_recipient_opts o; /* a listener who hears both */
	mix_recipient_opts_default(&o);
	assert_int_equal(mix_engine_add_recipient(e, 9, &o), 0);
	int64_t t = 0;
	for (; t < 600000; t += 20000)
		step(e, f, 2, t, true, -1);
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_decoders, 2);
	assert_true(mix_engine_source_visible(e, 2));
	/* mute 2's audio and video: gone from recipient 9's mix from the next tick */
	assert_int_equal(mix_engine_set_source_muted(e, 2, true, true), 0);
	assert_int_equal(mix_engine_set_source_muted(e, 7, true, true), -ENOENT);
	int from = s.nsamples[9];
	for (; t < 1400000; t += 20000)
		step(e, f, 2, t, true, -1);
	/* the mix's first 40 ms after the mute may still hold the tone's tail (encoder lookahead)
	 */
	const int16_t *pcm = s.pcm[9] + from + 1920;
	int n = s.nsamples[9] - from - 1920;
	assert_true(n > 20000);
	assert_true(tone_power(pcm, n, 1000) < 1e4);
	assert_true(tone_power(pcm, n, 400) > 1e5);
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_decoders, 1); /* 2 keeps its tile, undecoded */
	assert_false(mix_engine_source_visible(e, 2));
	uint32_t tiles[4];
	assert_int_equal(mix_engine_recipient_tiles(e, 9, tiles, 4), 2);
	assert_true(st.audio_dropped_muted > 0 && st.frames_dropped_muted > 0);
	/* unmuted: decoded again, asked for a keyframe, heard again */
	int kf = s.keyframe_reqs;
	assert_int_equal(mix_engine_set_source_muted(e, 2, false, false), 0);
	assert_int_equal(mix_engine_set_source_name(e, 2, "Zed"), 0);
	from = s.nsamples[9];
	for (; t < 2200000; t += 20000)
		step(e, f, 2, t, true, -1);
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_decoders, 2);
	assert_true(s.keyframe_reqs > kf);
	pcm = s.pcm[9] + from + 9600;
	n = s.nsamples[9] - from - 9600;
	assert_true(tone_power(pcm, n, 1000) > 1e5);
	for (int i = 0; i < 2; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* A pinned source takes tile 0 (room-wide, or one recipient's own pin); recipients follow the
 * room's layout unless they chose one; equal views share an encoder. */
static void pin_and_views(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 320, 180, false);
	struct fake f[3];
	for (int i = 0; i < 3; i++) {
		fake_init(&f[i], (uint32_t)i + 1, 100, 128, 128, 0);
		add_participant(e, (uint32_t)i + 1, true);
	}
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	assert_int_equal(mix_engine_add_recipient(e, 9, &o), 0);
	int64_t t = 0;
	for (; t < 200000; t += 20000)
		step(e, f, 3, t, true, -1);
	uint32_t tiles[8];
	assert_int_equal(mix_engine_recipient_tiles(e, 9, tiles, 8), 3);
	assert_int_equal(tiles[0], 1); /* grid, join order */
	int w1, h1, w3, h3;
	assert_int_equal(mix_engine_source_tile(e, 1, &w1, &h1), 0);
	assert_int_equal(mix_engine_source_tile(e, 3, &w3, &h3), 0);
	assert_true(w1 > 0 && w1 <= 160 && h1 > 0 && h1 <= 90); /* a quarter of 320x180 */
	assert_true(w3 == w1 && h3 == h1);
	assert_int_equal(mix_engine_source_tile(e, 77, &w1, &h1), -ENOENT);
	mix_engine_set_pin(e, 3);
	for (; t < 400000; t += 20000)
		step(e, f, 3, t, true, -1);
	assert_int_equal(mix_engine_pin(e), 3);
	/* the pinned source's largest tile is the large one; the others are in the strip */
	assert_int_equal(mix_engine_source_tile(e, 3, &w3, &h3), 0);
	assert_int_equal(mix_engine_source_tile(e, 1, &w1, &h1), 0);
	assert_true(w3 > 160 && h3 > 90);
	assert_true(w1 > 0 && w1 * h1 < w3 * h3);
	assert_int_equal(mix_engine_recipient_tiles(e, 9, tiles, 8), 3);
	assert_int_equal(tiles[0], 3);
	assert_int_equal(mix_engine_recipient_tiles(e, 1, tiles, 8), 3);
	assert_int_equal(tiles[0], 3);
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_encoders, 1); /* everyone sees the same pinned view */
	/* recipient 1 pins 2 for itself: a second view, a second encoder */
	assert_int_equal(mix_engine_set_recipient_view(e, 1, -1, -1, 2), 0);
	assert_int_equal(mix_engine_set_recipient_view(e, 77, -1, -1, 2), -ENOENT);
	assert_int_equal(mix_engine_set_recipient_view(e, 1, 5, -1, 2), -EINVAL);
	for (; t < 600000; t += 20000)
		step(e, f, 3, t, true, -1);
	assert_int_equal(mix_engine_recipient_tiles(e, 1, tiles, 8), 3);
	assert_int_equal(tiles[0], 2);
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_encoders, 2);
	/* a pin that leaves is ignored; the room's layout changes those without their own */
	mix_engine_set_pin(e, MIX_NO_SOURCE);
	assert_int_equal(mix_engine_set_recipient_view(e, 1, MIX_LAYOUT_GRID, -1, MIX_NO_SOURCE),
	                 0);
	assert_int_equal(mix_engine_set_layout(e, MIX_LAYOUT_SPEAKER), 0);
	assert_int_equal(mix_engine_set_layout(e, (enum mix_layout_kind)7), -EINVAL);
	for (; t < 800000; t += 20000)
		step(e, f, 3, t, true, -1);
	assert_int_equal(mix_engine_layout(e), MIX_LAYOUT_SPEAKER);
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.video_encoders, 2); /* 1 on its own grid, the others on speaker */
	for (int i = 0; i < 3; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

static void leaving_source_leaves_grid(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 320, 180, false);
	struct fake f[3];
	for (int i = 0; i < 3; i++) {
		fake_init(&f[i], (uint32_t)i + 1, 100, 128, 128, 0);
		add_participant(e, (uint32_t)i + 1, i == 0);
	}
	for (int64_t t = 0; t < 100000; t += 20000)
		step(e, f, 3, t, true, -1);
	uint32_t tiles[8];
	assert_int_equal(mix_engine_recipient_tiles(e, 1, tiles, 8), 3);
	mix_engine_remove_source(e, 2);
	for (int64_t t = 100000; t < 200000; t += 20000)
		step(e, (struct fake[]){f[0]}, 1, t, true, -1);
	assert_int_equal(mix_engine_recipient_tiles(e, 1, tiles, 8), 2);
	assert_int_equal(tiles[0], 1);
	assert_int_equal(tiles[1], 3);
	assert_int_equal(mix_engine_push_video(e, 2, (const uint8_t *)"x", 1, 0, false), -ENOENT);
	for (int i = 0; i < 3; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* Speaker layout: the active speaker takes tile 0, the strip holds the others. */
static void speaker_layout(void **state)
{
	struct sink s;
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.width = 320;
	cfg.height = 180;
	cfg.layout = MIX_LAYOUT_SPEAKER;
	cfg.speaker_strip = 3;
	struct mix_engine *e = engine_on(&s, &cfg);
	struct fake f[6];
	for (int i = 0; i < 6; i++) {
		fake_init(&f[i], (uint32_t)i + 1, 100, 128, 128, 0);
		add_participant(e, (uint32_t)i + 1, false);
	}
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	assert_int_equal(mix_engine_add_recipient(e, 10, &o), 0);
	f[4].freq = 700; /* participant 5 talks */
	for (int64_t t = 0; t < 600000; t += 20000)
		step(e, f, 6, t, false, -1);
	uint32_t tiles[16];
	int n = mix_engine_recipient_tiles(e, 10, tiles, 16);
	assert_int_equal(n, 4);
	assert_int_equal(tiles[0], 5);
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.active_speaker, 5);
	for (int i = 1; i < n; i++)
		assert_int_not_equal(tiles[i], 5);
	/* participant 2 takes over; 5 moves into the strip */
	f[4].freq = 0;
	f[1].freq = 900;
	for (int64_t t = 600000; t < 4000000; t += 20000)
		step(e, f, 6, t, false, -1);
	n = mix_engine_recipient_tiles(e, 10, tiles, 16);
	assert_int_equal(tiles[0], 2);
	bool five_in_strip = false;
	for (int i = 1; i < n; i++)
		five_in_strip |= tiles[i] == 5;
	assert_true(five_in_strip);
	for (int i = 0; i < 6; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* Past max_tiles a speaker who is not shown takes the least recently active tile (here the
 * last joiner's, all others silent), in place (test_lineup.c covers the rule). */
static void grid_shows_recent_speakers(void **state)
{
	struct sink s;
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.width = 320;
	cfg.height = 180;
	struct mix_engine *e = engine_on(&s, &cfg);
	static struct fake f[30];
	for (int i = 0; i < 30; i++) {
		fake_init(&f[i], (uint32_t)i + 1, 100, 128, 128, i == 29 ? 600 : 0);
		add_participant(e, (uint32_t)i + 1, false);
	}
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	assert_int_equal(mix_engine_add_recipient(e, 9, &o), 0);
	for (int64_t t = 0; t < 200000; t += 20000)
		step(e, f, 30, t, false, -1);
	uint32_t tiles[32];
	int n = mix_engine_recipient_tiles(e, 9, tiles, 32);
	assert_int_equal(n, 25);
	assert_int_equal(tiles[24], 30); /* the talker (joined last) is in, in 25's tile */
	for (int i = 1; i < n; i++)
		assert_true(tiles[i] > tiles[i - 1]);
	for (int i = 0; i < 30; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* A bitrate cap re-keys the shared output: still one encoder, smaller frames. */
/* A caller that fell behind skips the missed ticks: nothing is encoded for them, the clock
 * jumps, and mixing carries on from there. */
static void skip_ahead(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 320, 180, false);
	struct fake f[2];
	for (int i = 0; i < 2; i++) {
		fake_init(&f[i], (uint32_t)i + 1, 100, 128, 128, 440 + 220 * i);
		add_participant(e, (uint32_t)i + 1, true);
	}
	for (int64_t t = 0; t < 1000000; t += 20000)
		step(e, f, 2, t, true, -1);
	struct mix_engine_stats a, b;
	mix_engine_get_stats(e, &a);
	mix_engine_skip_to(e, 5000000);
	assert_int_equal(mix_engine_now(e), 5000000);
	mix_engine_get_stats(e, &b);
	assert_int_equal(b.audio_ticks_skipped, 200); /* 1 s .. 5 s of 20 ms */
	assert_int_equal(b.video_ticks_skipped, 120); /* ... of 1/30 s */
	assert_true(b.frames_encoded == a.frames_encoded);
	int frames = s.frames[1];
	for (int64_t t = 5000000; t < 6000000; t += 20000)
		step(e, f, 2, t, true, -1);
	mix_engine_get_stats(e, &b);
	assert_int_equal(b.audio_ticks, a.audio_ticks + 50);
	assert_true(s.frames[1] > frames + 20); /* video goes on after the jump */
	/* ... and so does audio: recipient 1 hears source 2 in the last half second. */
	double sum = 0;
	for (int k = s.nsamples[1] - 24000; k < s.nsamples[1]; k++)
		sum += (double)s.pcm[1][k] * s.pcm[1][k];
	double rms = sqrt(sum / 24000);
	print_message("rms after the skip: %.0f\n", rms);
	assert_true(rms > 1000);
	for (int i = 0; i < 2; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("the engine hung");
}

/*
 * Regression (found by the load generator at 20 participants): a burst of late audio, more
 * than the per-source sample FIFO holds, made the concealment loop spin forever once the FIFO
 * was full.
 */
static void late_audio_burst_does_not_hang(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 320, 180, false);
	struct fake f[2];
	for (int i = 0; i < 2; i++) {
		fake_init(&f[i], (uint32_t)i + 1, 300 + 200 * i, 128, 128, 0);
		add_participant(e, (uint32_t)i + 1, true);
	}
	mix_engine_skip_to(e, 1500000);
	/* 60 packets (1.2 s) that all end before the next tick: 57 600 samples at once. */
	for (int64_t t = 300000; t < 1500000; t += 20000)
		for (int i = 0; i < 2; i++)
			fake_audio(&f[i], e, t, -1);
	signal(SIGALRM, on_alarm);
	alarm(20);
	assert_int_equal(mix_engine_run_until(e, 1600000), 0);
	alarm(0);
	for (int64_t t = 1600000; t < 2000000; t += 20000)
		step(e, f, 2, t, false, -1);
	for (int i = 0; i < 2; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

static void bitrate_cap(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 640, 360, false);
	struct fake f[2];
	for (int i = 0; i < 2; i++) {
		fake_init(&f[i], (uint32_t)i + 1, 100, 128, 128, 0);
		for (int k = 0; k < SRC_W * SRC_H; k++)
			f[i].y[k] = (uint8_t)(rand() & 0xff); /* noise: hard to compress */
		add_participant(e, (uint32_t)i + 1, true);
	}
	uint64_t bytes_before = 0, bytes_after = 0;
	for (int64_t t = 0; t < 2000000; t += 20000) {
		if (t == 1000000)
			assert_int_equal(mix_engine_set_recipient_bitrate(e, 1, 100000), 0);
		if (t == 1000000)
			assert_int_equal(mix_engine_set_recipient_bitrate(e, 2, 100000), 0);
		struct mix_engine_stats st;
		mix_engine_get_stats(e, &st);
		uint64_t before = st.frames_encoded;
		step(e, f, 2, t, true, -1);
		mix_engine_get_stats(e, &st);
		(void)before;
		assert_int_equal(st.video_encoders, 1);
	}
	for (int r = 1; r <= 2; r++)
		assert_true(s.frames[r] > 50);
	bytes_before = s.video_bytes_before;
	bytes_after = s.video_bytes_after;
	print_message("video bytes: %llu in the first second, %llu in the second\n",
	              (unsigned long long)bytes_before, (unsigned long long)bytes_after);
	assert_true(bytes_after * 3 < bytes_before);
	for (int i = 0; i < 2; i++)
		fake_free(&f[i]);
	mix_engine_free(&e);
	sink_free(&s);
}

/* After a loss the source's frames are not decoded until a keyframe, which is requested. */
static void loss_waits_for_keyframe(void **state)
{
	struct sink s;
	struct mix_engine *e = new_engine(&s, 320, 180, false);
	struct fake f;
	fake_init(&f, 1, 100, 128, 128, 0);
	add_participant(e, 1, true);
	for (int64_t t = 0; t < 1500000; t += 20000)
		step(e, &f, 1, t, true, -1);
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	uint64_t decoded = st.frames_decoded;
	int reqs = s.keyframe_reqs;
	struct mix_picture p = {.data = {f.y, f.u, f.v},
	                        .stride = {SRC_W, SRC_W / 2, SRC_W / 2},
	                        .width = SRC_W,
	                        .height = SRC_H};
	/* two inter frames; the first follows a loss */
	for (int k = 0; k < 2; k++) {
		struct mix_packet *pk = NULL;
		int64_t pts = 1500000 + k * 33333;
		assert_int_equal(mix_vp8_enc_encode(f.venc, &p, pts, &pk), 0);
		assert_false(pk->keyframe);
		mix_engine_push_video(e, 1, pk->data, pk->size, pts, k == 0);
		mix_packet_unref(&pk);
	}
	assert_int_equal(mix_engine_run_until(e, 1600000), 0);
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.frames_decoded, decoded); /* nothing decoded after the loss */
	assert_int_equal(s.keyframe_reqs, reqs + 1);
	assert_int_equal(s.kf_src[reqs], 1);
	/* the sender answers with a keyframe: decoding resumes */
	mix_vp8_enc_request_keyframe(f.venc);
	for (int64_t t = 1600000; t < 2700000; t += 20000)
		step(e, &f, 1, t, true, -1);
	mix_engine_get_stats(e, &st);
	assert_true(st.frames_decoded > decoded + 5);
	fake_free(&f);
	mix_engine_free(&e);
	sink_free(&s);
}

/* Mean U and V of the w x h chroma block at (x, y) of p. */
static void mean_chroma(const struct mix_picture *p, int x, int y, int w, int h, int uv[2])
{
	for (int k = 0; k < 2; k++) {
		int sum = 0;
		for (int j = y; j < y + h; j++)
			for (int i = x; i < x + w; i++)
				sum += p->data[1 + k][(size_t)j * p->stride[1 + k] + i];
		uv[k] = sum / (w * h);
	}
}

/* Pushes src 1's H.264 frames (encoded from f's picture) for [t, t + 20 ms). */
static void h264_video(struct fake *f, struct mix_h264_enc *he, struct mix_engine *e, int64_t t)
{
	for (int64_t v = (t * 30 + 999999) / 1000000; v * 1000000 / 30 < t + 20000; v++) {
		struct mix_picture p = {.data = {f->y, f->u, f->v},
		                        .stride = {SRC_W, SRC_W / 2, SRC_W / 2},
		                        .width = SRC_W,
		                        .height = SRC_H};
		struct mix_packet *pk = NULL;
		assert_int_equal(mix_h264_enc_encode(he, &p, v * 1000000 / 30, &pk), 0);
		if (pk)
			assert_int_equal(mix_engine_push_video(e, f->id, pk->data, pk->size,
			                                       v * 1000000 / 30, false),
			                 0);
		mix_packet_unref(&pk);
	}
}

/*
 * A participant sending H.264 (a colour) next to one sending VP8 (dark): its tile shows its
 * colour in the decoded output, with no decode error. Switching it back to VP8 recreates the
 * decoder: it asks for a keyframe and shows the VP8 stream.
 */
static void h264_source_shown(void **state)
{
	if (!mix_h264_available()) {
		print_message("SKIPPED: this FFmpeg has no libx264 encoder\n");
		return;
	}
	struct sink s;
	struct mix_engine *e = new_engine(&s, 640, 360, false);
	struct fake f[2];
	fake_init(&f[0], 1, 150, 70, 190, 0);
	fake_init(&f[1], 2, 60, 128, 128, 0);
	struct mix_h264_enc_cfg hc = {
	    .width = SRC_W, .height = SRC_H, .fps = 30, .bitrate_bps = 300000};
	struct mix_h264_enc *he = NULL;
	assert_int_equal(mix_h264_enc_alloc(&he, &hc), 0);
	add_participant(e, 1, false);
	add_participant(e, 2, false);
	assert_int_equal(mix_engine_set_source_video_codec(e, 1, MIX_VCODEC_H264), 0);
	assert_int_equal(mix_engine_set_source_video_codec(e, 1, (enum mix_video_codec)7), -EINVAL);
	assert_int_equal(mix_engine_set_source_video_codec(e, 99, MIX_VCODEC_H264), -ENOENT);
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	assert_int_equal(mix_engine_add_recipient(e, 7, &o), 0);
	for (int64_t t = 0; t < 1200000; t += 20000) {
		h264_video(&f[0], he, e, t);
		fake_video(&f[1], e, t);
		assert_int_equal(mix_engine_run_until(e, t + 20000), 0);
	}
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.decode_errors, 0);
	assert_int_equal(st.video_decoders, 2);
	assert_true(st.frames_decoded > 50);
	assert_true(s.frames[7] > 25);
	/* 2x1 grid: the left tile is source 1's colour, the right one source 2's grey */
	const struct mix_picture *p = &s.pic[7];
	int uv[2];
	assert_true(abs(mean_luma(p, p->width / 8, p->height / 3, 32, 32) - 150) < 12);
	mean_chroma(p, p->width / 16, p->height / 6, 16, 16, uv);
	assert_true(abs(uv[0] - 70) < 12 && abs(uv[1] - 190) < 12);
	assert_true(abs(mean_luma(p, 5 * p->width / 8, p->height / 3, 32, 32) - 60) < 12);
	/* back to VP8: a keyframe request for source 1, then its VP8 frames show */
	int reqs = s.keyframe_reqs;
	assert_int_equal(mix_engine_set_source_video_codec(e, 1, MIX_VCODEC_VP8), 0);
	assert_int_equal(mix_engine_run_until(e, 1240000), 0); /* a video tick without video */
	memset(f[0].y, 200, sizeof(f[0].y));
	for (int64_t t = 1240000; t < 1600000; t += 20000)
		step(e, f, 2, t, true, -1);
	mix_engine_get_stats(e, &st);
	assert_int_equal(st.decode_errors, 0);
	assert_true(s.keyframe_reqs > reqs);
	assert_int_equal(s.kf_src[reqs], 1);
	assert_true(mean_luma(p, p->width / 8, p->height / 3, 32, 32) > 185);
	mix_h264_enc_free(&he);
	fake_free(&f[0]);
	fake_free(&f[1]);
	mix_engine_free(&e);
	sink_free(&s);
}

static void bad_config(void **state)
{
	struct mix_engine_cfg cfg;
	struct mix_engine *e = NULL;
	mix_engine_cfg_default(&cfg);
	cfg.width = 641;
	assert_int_equal(mix_engine_alloc(&e, &cfg), -EINVAL);
	mix_engine_cfg_default(&cfg);
	cfg.fps = 0;
	assert_int_equal(mix_engine_alloc(&e, &cfg), -EINVAL);
	mix_engine_cfg_default(&cfg);
	cfg.max_tiles = 26;
	assert_int_equal(mix_engine_alloc(&e, &cfg), -EINVAL);
	mix_engine_cfg_default(&cfg);
	assert_int_equal(mix_engine_alloc(&e, &cfg), 0);
	assert_int_equal(mix_engine_add_source(e, 1, "a"), 0);
	assert_int_equal(mix_engine_add_source(e, 1, "a"), -EEXIST);
	assert_int_equal(mix_engine_add_source(e, MIX_NO_SOURCE, "a"), -EINVAL);
	assert_int_equal(mix_engine_push_audio(e, 1, (const uint8_t *)"", 0, 0, -1, false),
	                 -EBADMSG);
	mix_engine_free(&e);
	assert_null(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(grid_of_nine_shares_one_encoder),
	    cmocka_unit_test(exclude_self_needs_one_encoder_each),
	    cmocka_unit_test(large_room),
	    cmocka_unit_test(header_levels_skip_decoding),
	    cmocka_unit_test(placeholder_tile),
	    cmocka_unit_test(tile_names_drawn),
	    cmocka_unit_test(mix_minus_through_codecs),
	    cmocka_unit_test(av_alignment),
	    cmocka_unit_test(visibility_requests_keyframe),
	    cmocka_unit_test(leaving_source_leaves_grid),
	    cmocka_unit_test(mute_and_rename),
	    cmocka_unit_test(pin_and_views),
	    cmocka_unit_test(speaker_layout),
	    cmocka_unit_test(grid_shows_recent_speakers),
	    cmocka_unit_test(bitrate_cap),
	    cmocka_unit_test(skip_ahead),
	    cmocka_unit_test(late_audio_burst_does_not_hang),
	    cmocka_unit_test(loss_waits_for_keyframe),
	    cmocka_unit_test(h264_source_shown),
	    cmocka_unit_test(bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
