/*
 * test_opus.c - unit tests for the Opus encoder, decoder and helpers.
 *
 * A 1 kHz sine is encoded and decoded and compared with the original, aligned by the
 * encoder's lookahead (SNR of the decoded signal against the input). TOC parsing (RFC 6716
 * 3.1/3.2) is checked on crafted packets, concealment and FEC on a real stream, invalid
 * packets and garbage must give errors or bounded sample counts, never a crash, and the
 * OpusHead (RFC 7845 5.1) must be byte-exact. Exact-size heap copies let ASan see overreads.
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

#include "mix/opus.h"

#define RATE   48000
#define FRAME  960
#define FRAMES 50 /* 1 s */

static const double pi = 3.14159265358979323846;

static void make_sine(int16_t *pcm, int n, double hz, double amp)
{
	for (int i = 0; i < n; i++)
		pcm[i] = (int16_t)lrint(amp * sin(2 * pi * hz * i / RATE));
}

static struct mix_opus_enc *enc_new(bool fec, int loss)
{
	struct mix_opus_enc_cfg cfg;
	mix_opus_enc_cfg_default(&cfg);
	cfg.inband_fec = fec;
	cfg.packet_loss_perc = loss;
	struct mix_opus_enc *e = NULL;
	assert_int_equal(mix_opus_enc_alloc(&e, &cfg), 0);
	assert_non_null(e);
	return e;
}

/* Encodes frame i of pcm and checks the packet's metadata. */
static struct mix_packet *enc_frame(struct mix_opus_enc *e, const int16_t *pcm, int i)
{
	struct mix_packet *p = NULL;
	assert_int_equal(mix_opus_enc_encode(e, pcm + i * FRAME, (int64_t)i * 20000, &p), 0);
	assert_non_null(p);
	assert_int_equal(p->kind, MIX_AUDIO);
	assert_int_equal(p->duration_us, 20000);
	assert_int_equal(p->pts_us, (int64_t)i * 20000);
	assert_true(p->size > 0 && p->size <= 1500);
	return p;
}

static void test_cfg_default(void **state)
{
	struct mix_opus_enc_cfg cfg = {0};
	mix_opus_enc_cfg_default(&cfg);
	assert_int_equal(cfg.bitrate_bps, 32000);
	assert_int_equal(cfg.complexity, 5);
	assert_false(cfg.inband_fec);
	assert_int_equal(cfg.packet_loss_perc, 0);
	cfg.complexity = 11;
	struct mix_opus_enc *e = NULL;
	assert_int_equal(mix_opus_enc_alloc(&e, &cfg), -EINVAL);
	assert_null(e);
}

/* SNR (dB) of out[n + delay] against in[n] over n in [from, to). */
static double snr_db(const int16_t *in, const int16_t *out, int delay, int from, int to)
{
	double sig = 0, err = 0;
	for (int n = from; n < to; n++) {
		double d = (double)out[n + delay] - in[n];
		sig += (double)in[n] * in[n];
		err += d * d;
	}
	return err <= 0 ? 99.0 : 10.0 * log10(sig / err);
}

static void test_sine_round_trip(void **state)
{
	static int16_t in[FRAMES * FRAME], out[FRAMES * FRAME];
	make_sine(in, FRAMES * FRAME, 1000.0, 10000.0);
	struct mix_opus_enc *e = enc_new(false, 0);
	struct mix_opus_dec *d = NULL;
	assert_int_equal(mix_opus_dec_alloc(&d), 0);
	int la = mix_opus_enc_lookahead(e);
	assert_true(la > 0 && la < FRAME);
	size_t bytes = 0;
	int16_t pcm[MIX_OPUS_MAX_SAMPLES];
	for (int i = 0; i < FRAMES; i++) {
		struct mix_packet *p = enc_frame(e, in, i);
		bytes += p->size;
		assert_int_equal(mix_opus_packet_samples(p->data, p->size), FRAME);
		assert_int_equal(mix_opus_dec_decode(d, p->data, p->size, pcm), FRAME);
		memcpy(out + i * FRAME, pcm, sizeof(int16_t) * FRAME);
		mix_packet_unref(&p);
	}
	/*
	 * Align by the lookahead, then refine within +-8 samples (the codec's resamplers add a
	 * few samples; a 1 kHz period is 48 samples, so the refinement cannot slip a period).
	 * Skip the first 100 ms (encoder start-up).
	 */
	double best = -99;
	int best_delay = 0;
	for (int delay = la - 8; delay <= la + 8; delay++) {
		double snr = snr_db(in, out, delay, RATE / 10, FRAMES * FRAME - la - 8);
		if (snr > best) {
			best = snr;
			best_delay = delay;
		}
	}
	print_message("1 kHz sine, 32 kbit/s, %zu bytes/s: SNR %.1f dB at delay %d "
	              "(lookahead %d alone: %.1f dB)\n",
	              bytes, best, best_delay, la,
	              snr_db(in, out, la, RATE / 10, FRAMES * FRAME - la));
	assert_true(best > 20.0);
	mix_opus_dec_free(&d);
	assert_null(d);
	mix_opus_enc_free(&e);
	assert_null(e);
}

static void check_samples(const uint8_t *pkt, size_t len, int want)
{
	uint8_t *b = malloc(len ? len : 1);
	assert_non_null(b);
	if (len)
		memcpy(b, pkt, len);
	assert_int_equal(mix_opus_packet_samples(b, len), want);
	free(b);
}

/* RFC 6716 3.1: config = toc >> 3, code = toc & 3; 3.2.5: code 3 frame count in byte 2. */
static void test_packet_samples(void **state)
{
	check_samples((const uint8_t[]){0x00}, 1, 480);            /* SILK NB 10 ms */
	check_samples((const uint8_t[]){0x08}, 1, 960);            /* SILK NB 20 ms */
	check_samples((const uint8_t[]){0x10}, 1, 1920);           /* SILK NB 40 ms */
	check_samples((const uint8_t[]){0x18}, 1, 2880);           /* SILK NB 60 ms */
	check_samples((const uint8_t[]){0x60}, 1, 480);            /* hybrid SWB 10 ms */
	check_samples((const uint8_t[]){0x80}, 1, 120);            /* CELT NB 2.5 ms */
	check_samples((const uint8_t[]){0xf8}, 1, 960);            /* CELT FB 20 ms */
	check_samples((const uint8_t[]){0xfc}, 1, 960);            /* stereo flag set */
	check_samples((const uint8_t[]){0x09, 0, 0}, 3, 1920);     /* code 1: two frames */
	check_samples((const uint8_t[]){0x0a, 1, 0, 0}, 4, 1920);  /* code 2: two frames */
	check_samples((const uint8_t[]){0x0b, 0x03}, 2, 2880);     /* code 3: 3 x 20 ms */
	check_samples((const uint8_t[]){0x0b, 0x06}, 2, 5760);     /* code 3: 6 x 20 ms */
	check_samples((const uint8_t[]){0x1b, 0x02}, 2, 5760);     /* code 3: 2 x 60 ms */
	check_samples((const uint8_t[]){0x83, 0x30}, 2, 5760);     /* code 3: 48 x 2.5 ms */
	check_samples((const uint8_t[]){0x0b, 0x07}, 2, -EBADMSG); /* 140 ms > 120 ms */
	check_samples((const uint8_t[]){0x1b, 0x03}, 2, -EBADMSG); /* 180 ms */
	check_samples((const uint8_t[]){0x0b, 0x00}, 2, -EBADMSG); /* zero frames */
	check_samples((const uint8_t[]){0x0b}, 1, -EBADMSG);       /* count byte missing */
	check_samples((const uint8_t[]){0x00}, 0, -EBADMSG);       /* empty */
	assert_int_equal(mix_opus_packet_samples(NULL, 0), -EBADMSG);
	assert_int_equal(mix_opus_packet_samples(NULL, 5), -EBADMSG);
}

/* Decodes a few real packets so the decoder has state, returning the decoder. */
static struct mix_opus_dec *primed_decoder(void)
{
	static int16_t in[5 * FRAME];
	make_sine(in, 5 * FRAME, 440.0, 8000.0);
	struct mix_opus_enc *e = enc_new(false, 0);
	struct mix_opus_dec *d = NULL;
	assert_int_equal(mix_opus_dec_alloc(&d), 0);
	int16_t pcm[MIX_OPUS_MAX_SAMPLES];
	for (int i = 0; i < 5; i++) {
		struct mix_packet *p = enc_frame(e, in, i);
		assert_int_equal(mix_opus_dec_decode(d, p->data, p->size, pcm), FRAME);
		mix_packet_unref(&p);
	}
	mix_opus_enc_free(&e);
	return d;
}

static void test_conceal(void **state)
{
	struct mix_opus_dec *d = primed_decoder();
	int16_t pcm[MIX_OPUS_MAX_SAMPLES];
	assert_int_equal(mix_opus_dec_conceal(d, 960, pcm), 960);
	assert_int_equal(mix_opus_dec_conceal(d, 120, pcm), 120);
	assert_int_equal(mix_opus_dec_conceal(d, 480, pcm), 480);
	assert_int_equal(mix_opus_dec_conceal(d, MIX_OPUS_MAX_SAMPLES, pcm), MIX_OPUS_MAX_SAMPLES);
	int bad[] = {0, -120, 100, 121, 959, MIX_OPUS_MAX_SAMPLES + 120};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mix_opus_dec_conceal(d, bad[i], pcm), -EINVAL);
	mix_opus_dec_free(&d);

	/* Concealment on a fresh decoder (nothing received yet) works too. */
	assert_int_equal(mix_opus_dec_alloc(&d), 0);
	assert_int_equal(mix_opus_dec_conceal(d, 960, pcm), 960);
	mix_opus_dec_free(&d);
}

static void test_decode_invalid(void **state)
{
	struct mix_opus_dec *d = primed_decoder();
	int16_t pcm[MIX_OPUS_MAX_SAMPLES];
	/* Code 2 whose first frame length (200) runs past the end of the packet. */
	const uint8_t overlong[] = {0x0a, 200, 1, 2};
	assert_int_equal(mix_opus_dec_decode(d, overlong, sizeof(overlong), pcm), -EBADMSG);
	const uint8_t too_long[] = {0x0b, 0x07, 0, 0};
	assert_int_equal(mix_opus_dec_decode(d, too_long, sizeof(too_long), pcm), -EBADMSG);
	const uint8_t zero_frames[] = {0x0b, 0x00};
	assert_int_equal(mix_opus_dec_decode(d, zero_frames, sizeof(zero_frames), pcm), -EBADMSG);
	assert_int_equal(mix_opus_dec_decode(d, overlong, 0, pcm), -EBADMSG);
	assert_int_equal(mix_opus_dec_decode(d, NULL, 0, pcm), -EBADMSG);

	/* Random garbage: many random strings are valid Opus, so: an error or a sane count. */
	uint32_t seed = 12345;
	int errors = 0;
	for (int it = 0; it < 500; it++) {
		seed = seed * 1664525u + 1013904223u;
		size_t len = 1 + (seed >> 8) % 200;
		uint8_t *b = malloc(len);
		assert_non_null(b);
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1664525u + 1013904223u;
			b[k] = (uint8_t)(seed >> 24);
		}
		int r = mix_opus_dec_decode(d, b, len, pcm);
		free(b);
		assert_true(r == -EBADMSG || (r > 0 && r <= MIX_OPUS_MAX_SAMPLES));
		errors += r < 0;
	}
	print_message("random garbage packets: %d/500 rejected, the rest decoded\n", errors);
	/* The decoder still works afterwards. */
	assert_int_equal(mix_opus_dec_conceal(d, 960, pcm), 960);
	mix_opus_dec_free(&d);
}

static double energy(const int16_t *pcm, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += (double)pcm[i] * pcm[i];
	return s / n;
}

/* 200 ms of silence, then a 300 Hz tone with a slow 3 Hz amplitude modulation. */
static void make_onset(int16_t *pcm, int n)
{
	for (int i = 0; i < n; i++) {
		double env = 1.0 + 0.5 * sin(2 * pi * 3.0 * i / RATE);
		pcm[i] = i < 10 * FRAME
		             ? 0
		             : (int16_t)lrint(8000.0 * env * sin(2 * pi * 300.0 * i / RATE));
	}
}

/*
 * Loses packet 10 (the tone's first frame) and covers it from packet 11: decoder A with
 * decode_fec, decoder B with plain concealment. Returns the mean square of A's and B's
 * output for the lost frame.
 */
static void fec_vs_plc(bool fec, double *fec_ms, double *plc_ms)
{
	static int16_t in[20 * FRAME];
	make_onset(in, 20 * FRAME);
	struct mix_opus_enc *e = enc_new(fec, 20);
	struct mix_opus_dec *a = NULL, *b = NULL;
	assert_int_equal(mix_opus_dec_alloc(&a), 0);
	assert_int_equal(mix_opus_dec_alloc(&b), 0);
	int16_t pa[MIX_OPUS_MAX_SAMPLES], pb[MIX_OPUS_MAX_SAMPLES];
	for (int i = 0; i < 20; i++) {
		struct mix_packet *p = enc_frame(e, in, i);
		if (i == 11) {
			assert_int_equal(mix_opus_dec_decode_fec(a, p->data, p->size, FRAME, pa),
			                 FRAME);
			assert_int_equal(mix_opus_dec_conceal(b, FRAME, pb), FRAME);
			*fec_ms = energy(pa, FRAME);
			*plc_ms = energy(pb, FRAME);
		}
		if (i != 10) {
			assert_int_equal(mix_opus_dec_decode(a, p->data, p->size, pa), FRAME);
			assert_int_equal(mix_opus_dec_decode(b, p->data, p->size, pb), FRAME);
		}
		mix_packet_unref(&p);
	}
	mix_opus_dec_free(&a);
	mix_opus_dec_free(&b);
	mix_opus_enc_free(&e);
}

/*
 * With inband FEC on, packet k+1 carries a low-rate copy of packet k. Losing the first frame
 * of a tone after silence: concealment can only extend the silence, FEC brings the tone back.
 */
static void test_fec(void **state)
{
	double fec_ms = 0, plc_ms = 0, nofec_ms = 0, nofec_plc = 0;
	fec_vs_plc(true, &fec_ms, &plc_ms);
	fec_vs_plc(false, &nofec_ms, &nofec_plc);
	print_message("lost onset frame, mean square: FEC %.0f, PLC %.0f; FEC off: %.0f\n", fec_ms,
	              plc_ms, nofec_ms);
	assert_true(fec_ms > 1e6); /* the tone (input mean square ~3.6e7) */
	assert_true(fec_ms > 100 * (plc_ms + 1));
	assert_true(fec_ms > 100 * (nofec_ms + 1));

	struct mix_opus_dec *d = NULL;
	assert_int_equal(mix_opus_dec_alloc(&d), 0);
	int16_t pcm[MIX_OPUS_MAX_SAMPLES];
	const uint8_t toc_only[] = {0x08};
	assert_int_equal(mix_opus_dec_decode_fec(d, toc_only, 1, 100, pcm), -EINVAL);
	assert_int_equal(mix_opus_dec_decode_fec(d, toc_only, 0, 960, pcm), -EBADMSG);
	mix_opus_dec_free(&d);
}

static void test_set_bitrate(void **state)
{
	static int16_t in[FRAMES * FRAME];
	make_sine(in, FRAMES * FRAME, 1000.0, 10000.0);
	struct mix_opus_enc *e = enc_new(false, 0);
	size_t hi = 0, lo = 0;
	for (int i = 0; i < 25; i++) {
		struct mix_packet *p = enc_frame(e, in, i);
		hi += i >= 10 ? p->size : 0;
		mix_packet_unref(&p);
	}
	assert_int_equal(mix_opus_enc_set_bitrate(e, 12000), 0);
	for (int i = 25; i < FRAMES; i++) {
		struct mix_packet *p = enc_frame(e, in, i);
		lo += i >= 35 ? p->size : 0;
		mix_packet_unref(&p);
	}
	print_message("bytes per 15 frames: %zu at 32 kbit/s, %zu at 12 kbit/s\n", hi, lo);
	assert_true(lo < hi);
	assert_int_equal(mix_opus_enc_set_bitrate(e, 1000), -EINVAL);
	mix_opus_enc_free(&e);
}

static void test_opus_head(void **state)
{
	const uint8_t want[19] = {'O',  'p',  'u',  's',  'H',  'e',  'a', 'd', 1, 1,
	                          0x38, 0x01, 0x80, 0xbb, 0x00, 0x00, 0,   0,   0};
	uint8_t out[19];
	memset(out, 0xaa, sizeof(out));
	mix_opus_head(out, 312);
	assert_memory_equal(out, want, sizeof(want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cfg_default),    cmocka_unit_test(test_sine_round_trip),
	    cmocka_unit_test(test_packet_samples), cmocka_unit_test(test_conceal),
	    cmocka_unit_test(test_decode_invalid), cmocka_unit_test(test_fec),
	    cmocka_unit_test(test_set_bitrate),    cmocka_unit_test(test_opus_head),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
