/*
 * test_vp8.c - unit tests for mix_vp8_peek, the VP8 decoder and the VP8 encoder.
 *
 * Header peek on crafted RFC 6386 9.1 frame tags and every truncation, the decoder's size cap
 * and keyframe-needed state, corrupt input, an encode->decode round trip of a synthetic moving
 * 640x360 picture checked by Y-PSNR, keyframe coalescing, live bitrate changes and config
 * validation. Truncated inputs live in exact-size heap buffers so ASan sees any overread.
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

#include "mix/vp8.h"

/* An owned I420 test image (no dependency on the canvas module). */
struct img {
	uint8_t *p[3];
	int w, h;
};

static void img_alloc(struct img *im, int w, int h)
{
	im->w = w;
	im->h = h;
	im->p[0] = malloc((size_t)w * h);
	im->p[1] = malloc((size_t)w * h / 4);
	im->p[2] = malloc((size_t)w * h / 4);
	assert_non_null(im->p[0]);
	assert_non_null(im->p[1]);
	assert_non_null(im->p[2]);
}

static void img_free(struct img *im)
{
	for (int i = 0; i < 3; i++)
		free(im->p[i]);
}

static struct mix_picture img_view(const struct img *im)
{
	struct mix_picture pic = {.width = im->w, .height = im->h};
	for (int i = 0; i < 3; i++) {
		pic.data[i] = im->p[i];
		pic.stride[i] = i ? im->w / 2 : im->w;
	}
	return pic;
}

/* A diagonal gradient with a bright box that moves 4 px right and 2 px down per frame. */
static void draw_frame(struct img *im, int n)
{
	int bx = (n * 4) % (im->w - 64), by = (n * 2) % (im->h - 64);
	for (int y = 0; y < im->h; y++) {
		for (int x = 0; x < im->w; x++) {
			int inbox = x >= bx && x < bx + 64 && y >= by && y < by + 64;
			im->p[0][y * im->w + x] =
			    inbox ? 235 : (uint8_t)(16 + (x + y) * 200 / (im->w + im->h));
		}
	}
	for (int y = 0; y < im->h / 2; y++) {
		for (int x = 0; x < im->w / 2; x++) {
			im->p[1][y * im->w / 2 + x] = (uint8_t)(64 + x * 128 / (im->w / 2));
			im->p[2][y * im->w / 2 + x] = (uint8_t)(64 + y * 128 / (im->h / 2));
		}
	}
}

/* The moving picture plus deterministic luma noise of +-amp (costly detail, every frame). */
static void draw_noisy(struct img *im, int n, int amp, uint32_t *seed)
{
	draw_frame(im, n);
	for (size_t k = 0; k < (size_t)im->w * im->h; k++) {
		*seed = *seed * 1664525u + 1013904223u;
		int v = im->p[0][k] + (int)(*seed >> 16) % (2 * amp + 1) - amp;
		im->p[0][k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
	}
}

static double y_psnr(const struct img *ref, const struct mix_picture *pic)
{
	double se = 0;
	for (int y = 0; y < ref->h; y++) {
		for (int x = 0; x < ref->w; x++) {
			double d = (double)ref->p[0][y * ref->w + x] -
			           (double)pic->data[0][y * pic->stride[0] + x];
			se += d * d;
		}
	}
	double mse = se / ((double)ref->w * ref->h);
	return mse <= 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

static struct mix_vp8_enc *enc_new(int w, int h, int fps, int bps)
{
	struct mix_vp8_enc_cfg cfg = {.width = w, .height = h, .fps = fps, .bitrate_bps = bps};
	struct mix_vp8_enc *e = NULL;
	assert_int_equal(mix_vp8_enc_alloc(&e, &cfg), 0);
	assert_non_null(e);
	return e;
}

/* Encodes frame n of the synthetic sequence at 30 fps; fails the test on a dropped frame. */
static struct mix_packet *enc_frame(struct mix_vp8_enc *e, struct img *im, int n)
{
	draw_frame(im, n);
	struct mix_picture pic = img_view(im);
	struct mix_packet *p = NULL;
	assert_int_equal(mix_vp8_enc_encode(e, &pic, (int64_t)n * 1000000 / 30, &p), 0);
	assert_non_null(p);
	return p;
}

/* Returns a heap copy of exactly len bytes, so ASan catches reads past the end. */
static uint8_t *dup_exact(const uint8_t *src, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);
	assert_non_null(b);
	if (len)
		memcpy(b, src, len);
	return b;
}

/* RFC 6386 9.1: keyframe, version 0, shown, first partition 5 bytes, 640x360 (with scale). */
static const uint8_t key_hdr[15] = {0xb0, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x42,
                                    0x68, 0x81, 1,    2,    3,    4,    5};
/* Inter frame, shown, first partition 2 bytes. */
static const uint8_t inter_hdr[5] = {0x51, 0x00, 0x00, 7, 8};

static void test_peek_keyframe(void **state)
{
	struct mix_vp8_info info = {0};
	assert_int_equal(mix_vp8_peek(key_hdr, sizeof(key_hdr), &info), 0);
	assert_true(info.keyframe);
	assert_int_equal(info.width, 640);
	assert_int_equal(info.height, 360);
}

static void test_peek_interframe(void **state)
{
	struct mix_vp8_info info = {.width = 9, .height = 9};
	assert_int_equal(mix_vp8_peek(inter_hdr, sizeof(inter_hdr), &info), 0);
	assert_false(info.keyframe);
	assert_int_equal(info.width, 0);
	assert_int_equal(info.height, 0);
}

static void test_peek_truncated(void **state)
{
	struct mix_vp8_info info;
	assert_int_equal(mix_vp8_peek(NULL, 0, &info), -EBADMSG);
	for (size_t len = 0; len < sizeof(key_hdr); len++) {
		uint8_t *b = dup_exact(key_hdr, len);
		assert_int_equal(mix_vp8_peek(b, len, &info), -EBADMSG);
		free(b);
	}
	for (size_t len = 0; len < sizeof(inter_hdr); len++) {
		uint8_t *b = dup_exact(inter_hdr, len);
		assert_int_equal(mix_vp8_peek(b, len, &info), -EBADMSG);
		free(b);
	}
}

static void test_peek_invalid(void **state)
{
	struct mix_vp8_info info;
	uint8_t b[sizeof(key_hdr)];
	memcpy(b, key_hdr, sizeof(b));
	b[4] = 0x02; /* bad start code */
	assert_int_equal(mix_vp8_peek(b, sizeof(b), &info), -EBADMSG);
	memcpy(b, key_hdr, sizeof(b));
	b[6] = 0;
	b[7] = 0xc0; /* width 0 (scale bits only) */
	assert_int_equal(mix_vp8_peek(b, sizeof(b), &info), -EBADMSG);
	memcpy(b, key_hdr, sizeof(b));
	b[0] |= 4 << 1; /* version 4 */
	assert_int_equal(mix_vp8_peek(b, sizeof(b), &info), -EBADMSG);
	memcpy(b, key_hdr, sizeof(b));
	b[2] = 0xff; /* first partition far beyond the buffer */
	assert_int_equal(mix_vp8_peek(b, sizeof(b), &info), -EBADMSG);
}

static void test_dec_rejects_oversize(void **state)
{
	struct mix_vp8_dec *d = NULL;
	assert_int_equal(mix_vp8_dec_alloc(&d, 0, 0), 0);
	uint8_t b[sizeof(key_hdr)];
	memcpy(b, key_hdr, sizeof(b));
	b[6] = 4000 & 0xff; /* 4000 x 360 > 1920 x 1088 */
	b[7] = 4000 >> 8;
	struct mix_picture pic = {.width = -1};
	assert_int_equal(mix_vp8_dec_decode(d, b, sizeof(b), &pic), -E2BIG);
	assert_int_equal(pic.width, -1);
	assert_true(mix_vp8_dec_needs_keyframe(d));
	mix_vp8_dec_free(&d);
	assert_null(d);

	/* A real 640x360 keyframe against a 320x180 cap. */
	struct img im;
	img_alloc(&im, 640, 360);
	struct mix_vp8_enc *e = enc_new(640, 360, 30, 800000);
	struct mix_packet *p = enc_frame(e, &im, 0);
	assert_int_equal(mix_vp8_dec_alloc(&d, 320, 180), 0);
	assert_int_equal(mix_vp8_dec_decode(d, p->data, p->size, &pic), -E2BIG);
	mix_packet_unref(&p);
	mix_vp8_dec_free(&d);
	mix_vp8_enc_free(&e);
	img_free(&im);
	assert_int_equal(mix_vp8_dec_alloc(&d, -1, 100), -EINVAL);
}

static void test_round_trip_psnr(void **state)
{
	struct img im;
	img_alloc(&im, 640, 360);
	struct mix_vp8_enc *e = enc_new(640, 360, 30, 1000000);
	struct mix_vp8_dec *d = NULL;
	assert_int_equal(mix_vp8_dec_alloc(&d, 0, 0), 0);
	double sum = 0, min = 1e9;
	size_t bytes = 0;
	for (int n = 0; n < 30; n++) {
		struct mix_packet *p = enc_frame(e, &im, n);
		assert_int_equal(p->kind, MIX_VIDEO);
		assert_int_equal(p->pts_us, (int64_t)n * 1000000 / 30);
		assert_int_equal(p->duration_us, 1000000 / 30);
		if (n == 0)
			assert_true(p->keyframe);
		struct mix_picture pic;
		assert_int_equal(mix_vp8_dec_decode(d, p->data, p->size, &pic), 0);
		assert_int_equal(pic.width, 640);
		assert_int_equal(pic.height, 360);
		double psnr = y_psnr(&im, &pic);
		sum += psnr;
		min = psnr < min ? psnr : min;
		bytes += p->size;
		mix_packet_unref(&p);
	}
	print_message("round trip 640x360 @1 Mbps: Y-PSNR mean %.2f dB, min %.2f dB, %zu bytes\n",
	              sum / 30, min, bytes);
	assert_true(min > 30.0);
	assert_int_equal(mix_vp8_enc_keyframes(e), 1);
	mix_vp8_dec_free(&d);
	mix_vp8_enc_free(&e);
	img_free(&im);
}

static void test_keyframe_coalescing(void **state)
{
	struct img im;
	img_alloc(&im, 320, 180);
	struct mix_vp8_enc *e = enc_new(320, 180, 30, 300000);
	int keys = 0;
	for (int n = 0; n < 90; n++) {
		mix_vp8_enc_request_keyframe(e);
		struct mix_packet *p = enc_frame(e, &im, n);
		keys += p->keyframe;
		if (n == 0 || n == 30 || n == 60)
			assert_true(p->keyframe);
		mix_packet_unref(&p);
	}
	print_message("keyframes for 90 requests over 3 s: %d\n", keys);
	assert_true(keys <= 1 + 3);
	assert_int_equal(keys, mix_vp8_enc_keyframes(e));
	mix_vp8_enc_free(&e);
	img_free(&im);
}

#define NOISE_AMP 12
/* Average bytes per frame over frames [from, to) of a noisy picture at 30 fps. */
static double avg_bytes(struct mix_vp8_enc *e, struct img *im, uint32_t *seed, int from, int to)
{
	size_t bytes = 0;
	for (int n = from; n < to; n++) {
		draw_noisy(im, n, NOISE_AMP, seed);
		struct mix_picture pic = img_view(im);
		struct mix_packet *p = NULL;
		assert_int_equal(mix_vp8_enc_encode(e, &pic, (int64_t)n * 1000000 / 30, &p), 0);
		bytes += p ? p->size : 0;
		mix_packet_unref(&p);
	}
	return (double)bytes / (to - from);
}

static void test_set_bitrate(void **state)
{
	struct img im;
	img_alloc(&im, 320, 180);
	uint32_t seed = 1;
	struct mix_vp8_enc *e = enc_new(320, 180, 30, 2000000);
	avg_bytes(e, &im, &seed, 0, 30);
	double hi = avg_bytes(e, &im, &seed, 30, 60);
	assert_int_equal(mix_vp8_enc_set_bitrate(e, 200000), 0);
	avg_bytes(e, &im, &seed, 60, 90);
	double lo = avg_bytes(e, &im, &seed, 90, 120);
	print_message("bytes/frame: %.0f at 2 Mbps, %.0f at 200 kbps\n", hi, lo);
	assert_true(lo * 3 < hi);
	/* CBR: near the targets of 8333 and 833 bytes per frame. */
	assert_true(hi > 8333 * 0.6 && hi < 8333 * 1.5);
	assert_true(lo > 833 * 0.5 && lo < 833 * 1.5);
	assert_int_equal(mix_vp8_enc_set_bitrate(e, 0), -EINVAL);
	mix_vp8_enc_free(&e);
	img_free(&im);
}

/* Encodes 3 frames: a keyframe then two inter frames. */
static void make_stream(struct mix_packet *p[3])
{
	struct img im;
	img_alloc(&im, 320, 180);
	struct mix_vp8_enc *e = enc_new(320, 180, 30, 300000);
	for (int n = 0; n < 3; n++)
		p[n] = enc_frame(e, &im, n);
	assert_true(p[0]->keyframe);
	assert_false(p[1]->keyframe);
	assert_false(p[2]->keyframe);
	mix_vp8_enc_free(&e);
	img_free(&im);
}

static void test_dec_needs_keyframe(void **state)
{
	struct mix_packet *p[3];
	make_stream(p);
	struct mix_vp8_dec *d = NULL;
	assert_int_equal(mix_vp8_dec_alloc(&d, 0, 0), 0);
	struct mix_picture pic = {.width = -1};
	assert_true(mix_vp8_dec_needs_keyframe(d));
	assert_int_equal(mix_vp8_dec_decode(d, p[1]->data, p[1]->size, &pic), -EAGAIN);
	assert_int_equal(pic.width, -1);
	assert_int_equal(mix_vp8_dec_decode(d, p[0]->data, p[0]->size, &pic), 0);
	assert_false(mix_vp8_dec_needs_keyframe(d));
	assert_int_equal(mix_vp8_dec_decode(d, p[1]->data, p[1]->size, &pic), 0);
	mix_vp8_dec_mark_loss(d);
	assert_true(mix_vp8_dec_needs_keyframe(d));
	assert_int_equal(mix_vp8_dec_decode(d, p[2]->data, p[2]->size, &pic), -EAGAIN);
	assert_int_equal(mix_vp8_dec_decode(d, p[2]->data, p[2]->size, &pic), -EAGAIN);
	assert_int_equal(mix_vp8_dec_decode(d, p[0]->data, p[0]->size, &pic), 0);
	assert_int_equal(pic.width, 320);
	assert_int_equal(mix_vp8_dec_decode(d, p[1]->data, p[1]->size, &pic), 0);
	mix_vp8_dec_free(&d);
	for (int n = 0; n < 3; n++)
		mix_packet_unref(&p[n]);
}

static void test_dec_truncated_keyframe(void **state)
{
	struct mix_packet *p[3];
	make_stream(p);
	struct mix_vp8_dec *d = NULL;
	assert_int_equal(mix_vp8_dec_alloc(&d, 0, 0), 0);
	size_t full = p[0]->size;
	size_t cuts[] = {0, 1, 3, 9, 10, 20, full / 4, full / 2, full * 3 / 4, full - 16};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		uint8_t *b = dup_exact(p[0]->data, cuts[i]);
		struct mix_picture pic = {.width = -1};
		int r = mix_vp8_dec_decode(d, b, cuts[i], &pic);
		free(b);
		assert_int_equal(r, -EBADMSG);
		assert_int_equal(pic.width, -1);
		assert_true(mix_vp8_dec_needs_keyframe(d));
		/* An inter frame after the broken keyframe is refused too. */
		assert_int_equal(mix_vp8_dec_decode(d, p[1]->data, p[1]->size, &pic), -EAGAIN);
	}
	struct mix_picture pic;
	assert_int_equal(mix_vp8_dec_decode(d, p[0]->data, p[0]->size, &pic), 0);
	mix_vp8_dec_free(&d);
	for (int n = 0; n < 3; n++)
		mix_packet_unref(&p[n]);
}

#define FLIPS 1 /* bytes flipped per trial */
/*
 * Bytes flipped in a keyframe. VP8 has no checksum, so libvpx cannot notice every flip;
 * what must hold: a corrupted header or partition layout is an error, the decoder never
 * crashes or overreads, and after any error it waits for a keyframe.
 */
static void test_dec_flipped_bytes(void **state)
{
	struct mix_packet *p[3];
	make_stream(p);
	struct mix_vp8_dec *d = NULL;
	assert_int_equal(mix_vp8_dec_alloc(&d, 0, 0), 0);
	struct mix_picture pic = {.width = -1};
	uint8_t *b = dup_exact(p[0]->data, p[0]->size);
	b[3] ^= 0xff; /* start code */
	assert_int_equal(mix_vp8_dec_decode(d, b, p[0]->size, &pic), -EBADMSG);
	assert_int_equal(pic.width, -1);
	free(b);

	uint32_t seed = 7;
	int errors = 0;
	for (int it = 0; it < 300; it++) {
		b = dup_exact(p[0]->data, p[0]->size);
		for (int k = 0; k < FLIPS; k++) {
			seed = seed * 1664525u + 1013904223u;
			b[10 + (seed >> 8) % (p[0]->size - 10)] ^= (uint8_t)(seed | 1);
		}
		int r = mix_vp8_dec_decode(d, b, p[0]->size, &pic);
		free(b);
		assert_true(r == 0 || r == -EBADMSG || r == -ENODATA || r == -E2BIG);
		if (r == 0) {
			assert_true(pic.width > 0 && pic.height > 0);
		} else {
			errors++;
			assert_true(mix_vp8_dec_needs_keyframe(d));
		}
	}
	print_message("%d random byte flip(s) in a keyframe: %d/300 trials rejected\n", FLIPS,
	              errors);
	mix_vp8_dec_free(&d);
	for (int n = 0; n < 3; n++)
		mix_packet_unref(&p[n]);
}

static void test_enc_bad_config(void **state)
{
	struct mix_vp8_enc *e = NULL;
	struct mix_vp8_enc_cfg cfg = {
	    .width = 320, .height = 180, .fps = 30, .bitrate_bps = 300000};
	int bad_cpu[] = {1, 5, 16, -14, -16, -100};
	for (size_t i = 0; i < sizeof(bad_cpu) / sizeof(bad_cpu[0]); i++) {
		cfg.cpu_used = bad_cpu[i];
		assert_int_equal(mix_vp8_enc_alloc(&e, &cfg), -EINVAL);
		assert_null(e);
	}
	int good_cpu[] = {-1, -6, -13};
	for (size_t i = 0; i < sizeof(good_cpu) / sizeof(good_cpu[0]); i++) {
		cfg.cpu_used = good_cpu[i];
		assert_int_equal(mix_vp8_enc_alloc(&e, &cfg), 0);
		mix_vp8_enc_free(&e);
		assert_null(e);
	}
	cfg.cpu_used = 0;
	cfg.width = 321;
	assert_int_equal(mix_vp8_enc_alloc(&e, &cfg), -EINVAL);
	cfg.width = 320;
	cfg.height = 179;
	assert_int_equal(mix_vp8_enc_alloc(&e, &cfg), -EINVAL);
	cfg.height = 180;
	cfg.fps = 0;
	assert_int_equal(mix_vp8_enc_alloc(&e, &cfg), -EINVAL);
	cfg.fps = 61;
	assert_int_equal(mix_vp8_enc_alloc(&e, &cfg), -EINVAL);
	cfg.fps = 30;
	cfg.bitrate_bps = 0;
	assert_int_equal(mix_vp8_enc_alloc(&e, &cfg), -EINVAL);
	assert_null(e);
}

static void test_enc_wrong_picture_size(void **state)
{
	struct img im;
	img_alloc(&im, 320, 180);
	struct mix_vp8_enc *e = enc_new(640, 360, 30, 800000);
	struct mix_picture pic = img_view(&im);
	struct mix_packet *p = NULL;
	assert_int_equal(mix_vp8_enc_encode(e, &pic, 0, &p), -EINVAL);
	assert_null(p);
	mix_vp8_enc_free(&e);
	img_free(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_peek_keyframe),
	    cmocka_unit_test(test_peek_interframe),
	    cmocka_unit_test(test_peek_truncated),
	    cmocka_unit_test(test_peek_invalid),
	    cmocka_unit_test(test_dec_rejects_oversize),
	    cmocka_unit_test(test_round_trip_psnr),
	    cmocka_unit_test(test_keyframe_coalescing),
	    cmocka_unit_test(test_set_bitrate),
	    cmocka_unit_test(test_dec_needs_keyframe),
	    cmocka_unit_test(test_dec_truncated_keyframe),
	    cmocka_unit_test(test_dec_flipped_bytes),
	    cmocka_unit_test(test_enc_bad_config),
	    cmocka_unit_test(test_enc_wrong_picture_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
