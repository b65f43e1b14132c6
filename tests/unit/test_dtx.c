/*
 * test_dtx.c - gaps in a source's audio through the engine (mixer/source.c): Opus DTX (packets
 * far apart after silence, no loss reported) is silence, neither concealed nor counted; a
 * reported loss, or a gap in speech, is concealed (PLC, then inband FEC); DTX frames and
 * silent senders that report RFC 6464 levels are not decoded.
 *
 * One sender (source 1, a 440 Hz tone or silence from our Opus encoder) and one listener
 * (recipient 2), whose mixed audio is decoded back. Packets are pushed 60 ms ahead of the
 * engine clock, as the server's playout delay does, so a gap is seen both with the next packet
 * queued and, for long gaps, with nothing queued yet.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mix/engine.h"
#include "mix/opus.h"

#define LAG_US   60000
#define MAX_OUT  (48000 * 4)
#define LISTENER 2

struct rig {
	struct mix_engine *e;
	struct mix_opus_enc *enc;
	struct mix_opus_dec *dec;
	int64_t sample; /* the tone's phase */
	int16_t out[MAX_OUT];
	int nout;
};

static void on_packet(void *opaque, uint32_t rid, const struct mix_packet *p)
{
	struct rig *r = opaque;
	if (p->kind != MIX_AUDIO || rid != LISTENER)
		return;
	int16_t pcm[MIX_OPUS_MAX_SAMPLES];
	int n = mix_opus_dec_decode(r->dec, p->data, p->size, pcm);
	assert_true(n > 0);
	if (r->nout + n <= MAX_OUT) {
		memcpy(r->out + r->nout, pcm, sizeof(int16_t) * (size_t)n);
		r->nout += n;
	}
}

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	struct mix_engine_cfg cfg;
	mix_engine_cfg_default(&cfg);
	cfg.cb.opaque = r;
	cfg.cb.on_packet = on_packet;
	assert_int_equal(mix_engine_alloc(&r->e, &cfg), 0);
	assert_int_equal(mix_engine_add_source(r->e, 1, "sender"), 0);
	struct mix_recipient_opts o;
	mix_recipient_opts_default(&o);
	o.video = false;
	assert_int_equal(mix_engine_add_recipient(r->e, LISTENER, &o), 0);
	struct mix_opus_enc_cfg oc;
	mix_opus_enc_cfg_default(&oc);
	assert_int_equal(mix_opus_enc_alloc(&r->enc, &oc), 0);
	assert_int_equal(mix_opus_dec_alloc(&r->dec), 0);
}

static void rig_free(struct rig *r)
{
	mix_engine_free(&r->e);
	mix_opus_enc_free(&r->enc);
	mix_opus_dec_free(&r->dec);
}

/*
 * Runs a plan, one character per 20 ms slot: T a tone packet, S a silent one, t and s the same
 * encoded but never sent (lost, or not sent in DTX), L a tone packet after a reported loss,
 * X a silent one after a reported loss, D a 1-byte DTX frame. level: the RFC 6464 level sent
 * with tone packets and D (silent ones get 127), or -1 for none.
 */
static void run(struct rig *r, const char *plan, int level)
{
	int64_t t = 0;
	for (const char *c = plan; *c; c++, t += 20000) {
		bool tone = *c == 'T' || *c == 't' || *c == 'L';
		int16_t pcm[960];
		for (int i = 0; i < 960; i++, r->sample++)
			pcm[i] =
			    tone ? (int16_t)(8000 * sin(2 * M_PI * 440 * r->sample / 48000.0)) : 0;
		struct mix_packet *p = NULL;
		assert_int_equal(mix_opus_enc_encode(r->enc, pcm, t, &p), 0);
		int lvl = level < 0 ? -1 : tone || *c == 'D' ? level : 127;
		if (*c == 'D')
			mix_engine_push_audio(r->e, 1, p->data, 1, t, lvl, false);
		else if (*c != 't' && *c != 's')
			mix_engine_push_audio(r->e, 1, p->data, p->size, t, lvl,
			                      *c == 'L' || *c == 'X');
		mix_packet_unref(&p);
		if (t + 20000 > LAG_US)
			assert_int_equal(mix_engine_run_until(r->e, t + 20000 - LAG_US), 0);
	}
	assert_int_equal(mix_engine_run_until(r->e, t), 0);
}

/* The quietest 5 ms of the listener's audio in [from, to) ms. */
static double min_rms(const struct rig *r, int from_ms, int to_ms)
{
	double lo = 1e9;
	for (int ms = from_ms; ms + 5 <= to_ms && (ms + 5) * 48 <= r->nout; ms++) {
		double sum = 0;
		for (int i = ms * 48; i < (ms + 5) * 48; i++)
			sum += (double)r->out[i] * r->out[i];
		double rms = sqrt(sum / 240);
		lo = rms < lo ? rms : lo;
	}
	return lo;
}

/* The loudest sample of the listener's audio in [from, to) ms. */
static int peak(const struct rig *r, int from_ms, int to_ms)
{
	int hi = 0;
	for (int i = from_ms * 48; i < to_ms * 48 && i < r->nout; i++)
		hi = abs(r->out[i]) > hi ? abs(r->out[i]) : hi;
	return hi;
}

static uint64_t plc(const struct rig *r)
{
	struct mix_engine_stats st;
	mix_engine_get_stats(r->e, &st);
	return st.plc_samples;
}

/* 0.4 s of tone, 0.2 s of silence, then DTX: a silent packet every 400 ms for 2 s. */
#define DTX_PLAN                                                                                   \
	"TTTTTTTTTTTTTTTTTTTT"                                                                     \
	"SSSSSSSSSS"                                                                               \
	"sssssssssSssssssssss"                                                                     \
	"sssssssssSssssssssss"                                                                     \
	"sssssssssSssssssssss"                                                                     \
	"sssssssssSssssssssss"                                                                     \
	"sssssssssSssssssssss"

static void dtx_gaps_are_silence(void **state)
{
	struct rig r;
	rig_init(&r);
	run(&r, DTX_PLAN, -1);
	assert_int_equal(plc(&r), 0);
	assert_true(min_rms(&r, 100, 350) > 1000); /* the tone went through */
	assert_true(peak(&r, 800, 2500) < 30);     /* then silence, no PLC artefacts */
	rig_free(&r);
}

/* The same with levels: silent packets of an unmixed source are not even decoded. */
static void dtx_with_levels_not_decoded(void **state)
{
	struct rig r;
	rig_init(&r);
	run(&r, DTX_PLAN, 20);
	struct mix_engine_stats st;
	mix_engine_get_stats(r.e, &st);
	assert_int_equal(st.plc_samples, 0);
	/* the 20 tone packets only, though the source stays mixed a while after the tone */
	assert_true(st.audio_decoded_packets >= 18);
	assert_true(st.audio_decoded_packets <= 20);
	assert_true(peak(&r, 800, 2500) < 30);
	rig_free(&r);
}

/* A 1-byte DTX frame is silence whatever its level says, and is never decoded. */
static void dtx_frame_is_silent(void **state)
{
	struct rig r;
	rig_init(&r);
	run(&r, "TTTTTTTTTTSSSSSSSSSSDsssssssssDsssssssssDsssssssss", 40);
	struct mix_engine_stats st;
	mix_engine_get_stats(r.e, &st);
	assert_int_equal(st.plc_samples, 0);
	assert_true(st.audio_decoded_packets <= 20);
	assert_true(peak(&r, 500, 1000) < 30);
	rig_free(&r);
}

/* A reported loss in a tone is concealed (PLC/FEC): counted, and the tone does not stop. */
static void real_loss_is_concealed(void **state)
{
	struct rig r;
	rig_init(&r);
	run(&r, "TTTTTTTTTTTTTTTtLTTTTTTTTTTTTT", -1);
	assert_true(plc(&r) >= 960);
	assert_true(min_rms(&r, 100, 550) > 1000);
	rig_free(&r);
}

/* A gap in speech with no loss reported (a late packet, a clock step) is concealed too. */
static void gap_in_speech_is_concealed(void **state)
{
	struct rig r;
	rig_init(&r);
	run(&r, "TTTTTTTTTTTTTTTtTTTTTTTTTTTTTT", -1);
	assert_true(plc(&r) >= 960);
	assert_true(min_rms(&r, 100, 550) > 1000);
	rig_free(&r);
}

/* A loss reported during DTX is concealed (and counted), though it conceals silence. */
static void loss_in_dtx_is_counted(void **state)
{
	struct rig r;
	rig_init(&r);
	run(&r, "TTTTTTTTTTSSSSSSSSSSSSSSSSSsSSSSSSSS", -1);
	assert_int_equal(plc(&r), 0); /* the same gap, no loss reported: DTX */
	rig_free(&r);
	rig_init(&r);
	run(&r, "TTTTTTTTTTSSSSSSSSSSSSSSSSSsXSSSSSSS", -1);
	assert_true(plc(&r) >= 960);
	assert_true(peak(&r, 500, 700) < 30);
	rig_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(dtx_gaps_are_silence),
	    cmocka_unit_test(dtx_with_levels_not_decoded),
	    cmocka_unit_test(dtx_frame_is_silent),
	    cmocka_unit_test(real_loss_is_concealed),
	    cmocka_unit_test(gap_in_speech_is_concealed),
	    cmocka_unit_test(loss_in_dtx_is_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
