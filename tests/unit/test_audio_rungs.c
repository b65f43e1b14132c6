/*
 * test_audio_rungs.c - per-recipient Opus bitrates (a ladder rung's audio bitrate): the audio
 * output key includes the bitrate, so recipients on different bitrates get encoders of their
 * own and those on the same one share; mix_engine_set_recipient_audio_bitrate moves a recipient
 * live (a lone listener's encoder is re-tuned in place); the packets' sizes follow the bitrate;
 * bad bitrates are refused and 0 means the engine's. One synthetic participant sends a tone over
 * noise in Opus; audio-only recipients; packets counted per recipient. Single-threaded.
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

#include "mix/aac.h"
#include "mix/codec.h"
#include "mix/engine.h"
#include "mix/opus.h"

#define SRC     1
#define MAX_RCP 8

/* ---- a sender: a 440 Hz tone over white noise, Opus at 64 kbit/s ---- */

struct sender {
	struct mix_opus_enc *enc;
	int64_t sample;
	uint32_t rng;
};

static void sender_init(struct sender *s)
{
	memset(s, 0, sizeof(*s));
	s->rng = 12345;
	struct mix_opus_enc_cfg oc;
	mix_opus_enc_cfg_default(&oc);
	oc.bitrate_bps = 64000;
	assert_int_equal(mix_opus_enc_alloc(&s->enc, &oc), 0);
}

static void sender_push(struct sender *s, struct mix_engine *e, int64_t pts)
{
	int16_t pcm[960];
	for (int i = 0; i < 960; i++, s->sample++) {
		s->rng = s->rng * 1103515245u + 12345u;
		double noise = ((double)(s->rng >> 16 & 0x7fff) / 16384.0 - 1.0) * 3000;
		pcm[i] =
		    (int16_t)(6000 * sin(2 * M_PI * 440 * (double)s->sample / 48000.0) + noise);
	}
	struct mix_packet *pk = NULL;
	assert_int_equal(mix_opus_enc_encode(s->enc, pcm, pts, &pk), 0);
	assert_int_equal(mix_engine_push_audio(e, SRC, pk->data, pk->size, pts, 10, false), 0);
	mix_packet_unref(&pk);
}

/* ---- what each recipient got ---- */

struct counts {
	uint64_t packets[MAX_RCP + 1], bytes[MAX_RCP + 1];
	/* a copy of the last packet (its address could be reused by the next one) */
	uint8_t last[MAX_RCP + 1][1500];
	size_t last_len[MAX_RCP + 1];
};

/* Whether recipients a and b got the same last packet (a shared encoder's). */
static bool same_last(const struct counts *c, uint32_t a, uint32_t b)
{
	return c->last_len[a] == c->last_len[b] && c->last_len[a] > 0 &&
	       memcmp(c->last[a], c->last[b], c->last_len[a]) == 0;
}

static void on_packet(void *opaque, uint32_t rid, const struct mix_packet *p)
{
	struct counts *c = opaque;
	if (p->kind != MIX_AUDIO || rid > MAX_RCP)
		return;
	c->packets[rid]++;
	c->bytes[rid] += p->size;
	c->last_len[rid] = p->size < sizeof(c->last[rid]) ? p->size : sizeof(c->last[rid]);
	memcpy(c->last[rid], p->data, c->last_len[rid]);
}

static struct mix_engine *engine_new(struct counts *c, int audio_bitrate)
{
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.width = 320;
	cfg.height = 180;
	cfg.audio_bitrate = audio_bitrate;
	cfg.cb = (struct mix_engine_callbacks){.opaque = c, .on_packet = on_packet};
	struct mix_engine *e = NULL;
	assert_int_equal(mix_engine_alloc(&e, &cfg), 0);
	assert_int_equal(mix_engine_add_source(e, SRC, "tone"), 0);
	return e;
}

/* An audio-only listener (not a source) at bps (0: the engine's). */
static int add_listener(struct mix_engine *e, uint32_t rid, int codec, int bps)
{
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	o.video = false;
	o.audio_codec = codec;
	o.audio_bitrate = bps;
	return mix_engine_add_recipient(e, rid, &o);
}

/* Runs n 20 ms ticks from *t, pushing the sender's audio; clears the counts first. */
static void run(struct mix_engine *e, struct sender *s, struct counts *c, int64_t *t, int n)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < n; i++, *t += 20000) {
		sender_push(s, e, *t);
		assert_int_equal(mix_engine_run_until(e, *t + 20000), 0);
	}
}

static int audio_encoders(const struct mix_engine *e)
{
	struct mix_engine_stats st;
	mix_engine_get_stats(e, &st);
	return st.audio_encoders;
}

static double mean_bytes(const struct counts *c, uint32_t rid)
{
	assert_true(c->packets[rid] > 0);
	return (double)c->bytes[rid] / (double)c->packets[rid];
}

/* Two bitrates: two encoders; the same bitrate: one, sharing its packets; sizes follow. */
static void different_bitrates_different_encoders(void **state)
{
	(void)state;
	struct counts c;
	struct sender s;
	sender_init(&s);
	struct mix_engine *e = engine_new(&c, 32000);
	int64_t t = 0;
	assert_int_equal(add_listener(e, 1, MIX_ACODEC_OPUS, 32000), 0);
	assert_int_equal(add_listener(e, 2, MIX_ACODEC_OPUS, 16000), 0);
	assert_int_equal(add_listener(e, 3, MIX_ACODEC_OPUS, 16000), 0);
	assert_int_equal(add_listener(e, 4, MIX_ACODEC_OPUS, 0), 0); /* the engine's: 32000 */
	run(e, &s, &c, &t, 25); /* settle (the sender is mixed after its first ticks) */
	run(e, &s, &c, &t, 50); /* one second measured */
	assert_int_equal(audio_encoders(e), 2);
	for (uint32_t r = 1; r <= 4; r++)
		assert_int_equal(c.packets[r], 50);
	assert_true(same_last(&c, 2, 3)); /* 16k: one shared packet */
	assert_true(same_last(&c, 1, 4)); /* 32k: one shared packet */
	assert_false(same_last(&c, 1, 2));
	double hi = mean_bytes(&c, 1), lo = mean_bytes(&c, 2);
	print_message("mean Opus packet: %.1f bytes at 32k, %.1f at 16k\n", hi, lo);
	assert_true(lo < 0.7 * hi);
	assert_true(hi > 60 && hi < 100); /* about 80 bytes a 20 ms packet at 32 kbit/s */
	assert_true(lo > 25 && lo < 55);  /* about 40 at 16 kbit/s */
	mix_engine_free(&e);
	mix_opus_enc_free(&s.enc);
}

/* Moves between bitrates while running: shares, splits, re-tunes a lone listener in place. */
static void set_audio_bitrate_live(void **state)
{
	(void)state;
	struct counts c;
	struct sender s;
	sender_init(&s);
	struct mix_engine *e = engine_new(&c, 32000);
	int64_t t = 0;
	assert_int_equal(add_listener(e, 1, MIX_ACODEC_OPUS, 0), 0);
	run(e, &s, &c, &t, 50);
	assert_int_equal(audio_encoders(e), 1);
	double before = mean_bytes(&c, 1);
	/* the lone listener moves down: its encoder is re-tuned, not replaced */
	assert_int_equal(mix_engine_set_recipient_audio_bitrate(e, 1, 16000), 0);
	run(e, &s, &c, &t, 50);
	assert_int_equal(audio_encoders(e), 1);
	assert_int_equal(c.packets[1], 50);
	double after = mean_bytes(&c, 1);
	print_message("lone listener: %.1f bytes at 32k, %.1f after the move to 16k\n", before,
	              after);
	assert_true(after < 0.7 * before);
	/* a second listener at 32k: two encoders; it joins at 16k: one */
	assert_int_equal(add_listener(e, 2, MIX_ACODEC_OPUS, 32000), 0);
	run(e, &s, &c, &t, 5);
	assert_int_equal(audio_encoders(e), 2);
	assert_int_equal(mix_engine_set_recipient_audio_bitrate(e, 2, 16000), 0);
	run(e, &s, &c, &t, 5);
	assert_int_equal(audio_encoders(e), 1);
	assert_true(same_last(&c, 1, 2));
	/* 0: back to the engine's bitrate, a new encoder beside the shared 16k one */
	assert_int_equal(mix_engine_set_recipient_audio_bitrate(e, 2, 0), 0);
	run(e, &s, &c, &t, 50);
	assert_int_equal(audio_encoders(e), 2);
	assert_true(mean_bytes(&c, 1) < 0.7 * mean_bytes(&c, 2));
	/* a recipient leaving frees its encoder */
	mix_engine_remove_recipient(e, 2);
	run(e, &s, &c, &t, 1);
	assert_int_equal(audio_encoders(e), 1);
	/* refusals */
	assert_int_equal(mix_engine_set_recipient_audio_bitrate(e, 9, 16000), -ENOENT);
	assert_int_equal(mix_engine_set_recipient_audio_bitrate(e, 1, 5999), -EINVAL);
	assert_int_equal(mix_engine_set_recipient_audio_bitrate(e, 1, 510001), -EINVAL);
	assert_int_equal(mix_engine_set_recipient_audio_bitrate(e, 1, -1), -EINVAL);
	assert_int_equal(add_listener(e, 3, MIX_ACODEC_OPUS, 5000), -EINVAL);
	mix_engine_free(&e);
	mix_opus_enc_free(&s.enc);
}

/* A speaker who also listens gets sum - own per bitrate; AAC ignores the bitrate. */
static void mix_minus_and_aac(void **state)
{
	(void)state;
	struct counts c;
	struct sender s;
	sender_init(&s);
	struct mix_engine *e = engine_new(&c, 24000);
	int64_t t = 0;
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	o.video = false;
	o.self = SRC; /* the sender listens too: it hears the mix minus itself */
	o.audio_bitrate = 16000;
	assert_int_equal(mix_engine_add_recipient(e, SRC, &o), 0);
	assert_int_equal(add_listener(e, 2, MIX_ACODEC_OPUS, 16000), 0);
	assert_int_equal(add_listener(e, 3, MIX_ACODEC_OPUS, 0), 0); /* 24000 */
	run(e, &s, &c, &t, 50);
	assert_int_equal(audio_encoders(e), 3); /* 16k minus SRC, 16k full, 24k full */
	assert_false(same_last(&c, SRC, 2));
	if (mix_aac_available()) {
		assert_int_equal(add_listener(e, 4, MIX_ACODEC_AAC, 16000), 0);
		assert_int_equal(add_listener(e, 5, MIX_ACODEC_AAC, 0), 0);
		run(e, &s, &c, &t, 50);
		assert_int_equal(audio_encoders(e), 4); /* one AAC full mix for both */
		assert_true(c.packets[4] > 0);
		assert_int_equal(c.packets[4], c.packets[5]);
	}
	mix_engine_free(&e);
	mix_opus_enc_free(&s.enc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(different_bitrates_different_encoders),
	    cmocka_unit_test(set_audio_bitrate_live),
	    cmocka_unit_test(mix_minus_and_aac),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
