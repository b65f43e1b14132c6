/*
 * test_h264_dec.c - unit tests for the H.264 decoder (mixer/h264_dec.c) and the WebRTC fit of
 * the H.264 encoder (mixer/h264_enc.c).
 *
 * Access units come from our own libx264 encoder: a round trip (sizes, colours), a P-frame
 * first (-EAGAIN), loss (an IDR needed, then decoding resumes), a stream over the cap (-E2BIG),
 * truncated and garbage input (never a picture, never a crash), argument checks; and the
 * encoder's output: Constrained Baseline SPS (profile_idc 66, constraint_set1), SPS + PPS
 * in band before every IDR, IDRs on request, and ffprobe's word on a 1280x720 stream
 * ("Constrained Baseline", no B-frames, level 31). Tests that need libx264 are skipped, with a
 * message, when this FFmpeg lacks it. Inputs live in exact-size heap buffers (ASan sees any
 * overread).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mix/h264.h"

#define MAX_AUS 80

/* A run of access units from libx264, each in an exact-size heap buffer. */
struct stream {
	uint8_t *au[MAX_AUS];
	size_t len[MAX_AUS];
	bool key[MAX_AUS];
	int n;
};

static bool need_x264(void)
{
	if (mix_h264_available())
		return true;
	print_message("SKIPPED: this FFmpeg has no libx264 encoder\n");
	return false;
}

/* A solid colour with a moving bright box (so P-frames carry something). */
static void draw(uint8_t *y, uint8_t *u, uint8_t *v, int w, int h, int n, const uint8_t yuv[3])
{
	memset(y, yuv[0], (size_t)w * h);
	memset(u, yuv[1], (size_t)w * h / 4);
	memset(v, yuv[2], (size_t)w * h / 4);
	int bx = (n * 4) % (w / 2), by = (n * 2) % (h / 2);
	for (int j = by; j < by + 16 && j < h; j++)
		for (int i = bx; i < bx + 16 && i < w; i++)
			y[j * w + i] = 235;
}

/* Encodes n pictures of w x h at 30 fps; kf_at >= 0: an IDR is requested at that picture. */
static void encode(struct stream *s, int w, int h, int n, const uint8_t yuv[3], int kf_at)
{
	memset(s, 0, sizeof(*s));
	struct mix_h264_enc_cfg cfg = {.width = w, .height = h, .fps = 30, .bitrate_bps = 800000};
	struct mix_h264_enc *e = NULL;
	assert_int_equal(mix_h264_enc_alloc(&e, &cfg), 0);
	uint8_t *y = malloc((size_t)w * h), *u = malloc((size_t)w * h / 4);
	uint8_t *v = malloc((size_t)w * h / 4);
	assert_true(y && u && v);
	for (int i = 0; i < n && s->n < MAX_AUS; i++) {
		draw(y, u, v, w, h, i, yuv);
		struct mix_picture pic = {
		    .data = {y, u, v}, .stride = {w, w / 2, w / 2}, .width = w, .height = h};
		if (i == kf_at)
			mix_h264_enc_request_keyframe(e);
		struct mix_packet *p = NULL;
		assert_int_equal(mix_h264_enc_encode(e, &pic, (int64_t)i * 1000000 / 30, &p), 0);
		if (!p)
			continue;
		s->au[s->n] = malloc(p->size);
		assert_non_null(s->au[s->n]);
		memcpy(s->au[s->n], p->data, p->size);
		s->len[s->n] = p->size;
		s->key[s->n] = p->keyframe;
		s->n++;
		mix_packet_unref(&p);
	}
	free(y);
	free(u);
	free(v);
	mix_h264_enc_free(&e);
}

static void stream_free(struct stream *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->au[i]);
	s->n = 0;
}

static int mean(const uint8_t *p, int stride, int x0, int y0, int w, int h)
{
	long sum = 0;
	for (int y = y0; y < y0 + h; y++)
		for (int x = x0; x < x0 + w; x++)
			sum += p[(size_t)y * stride + x];
	return (int)(sum / ((long)w * h));
}

static const uint8_t TEAL[3] = {120, 160, 80};

static void round_trip(void **state)
{
	if (!need_x264())
		return;
	struct stream s;
	encode(&s, 320, 240, 10, TEAL, -1);
	assert_int_equal(s.n, 10);
	assert_true(s.key[0]);
	struct mix_h264_dec *d = NULL;
	assert_int_equal(mix_h264_dec_alloc(&d, 0, 0), 0);
	assert_true(mix_h264_dec_needs_keyframe(d));
	for (int i = 0; i < s.n; i++) {
		struct mix_picture pic = {0};
		assert_int_equal(mix_h264_dec_decode(d, s.au[i], s.len[i], &pic), 0);
		assert_false(mix_h264_dec_needs_keyframe(d));
		assert_int_equal(pic.width, 320);
		assert_int_equal(pic.height, 240);
		/* the lower right quarter: no box there */
		assert_true(abs(mean(pic.data[0], pic.stride[0], 200, 160, 100, 60) - TEAL[0]) <=
		            3);
		assert_true(abs(mean(pic.data[1], pic.stride[1], 100, 80, 50, 30) - TEAL[1]) <= 3);
		assert_true(abs(mean(pic.data[2], pic.stride[2], 100, 80, 50, 30) - TEAL[2]) <= 3);
	}
	mix_h264_dec_free(&d);
	mix_h264_dec_free(&d); /* idempotent */
	stream_free(&s);
}

static void p_frame_first_needs_idr(void **state)
{
	if (!need_x264())
		return;
	struct stream s;
	encode(&s, 160, 120, 4, TEAL, -1);
	assert_true(s.key[0] && !s.key[1]);
	struct mix_h264_dec *d = NULL;
	assert_int_equal(mix_h264_dec_alloc(&d, 0, 0), 0);
	struct mix_picture pic = {0};
	assert_int_equal(mix_h264_dec_decode(d, s.au[1], s.len[1], &pic), -EAGAIN);
	assert_null(pic.data[0]);
	assert_true(mix_h264_dec_needs_keyframe(d));
	assert_int_equal(mix_h264_dec_decode(d, s.au[0], s.len[0], &pic), 0);
	assert_int_equal(mix_h264_dec_decode(d, s.au[1], s.len[1], &pic), 0);
	mix_h264_dec_free(&d);
	stream_free(&s);
}

static void loss_waits_for_idr(void **state)
{
	if (!need_x264())
		return;
	struct stream s;
	encode(&s, 160, 120, 45, TEAL, 40); /* an IDR requested at 1.33 s */
	int idr = -1;
	for (int i = 1; i < s.n; i++)
		if (s.key[i])
			idr = i;
	assert_int_equal(idr, 40);
	struct mix_h264_dec *d = NULL;
	assert_int_equal(mix_h264_dec_alloc(&d, 0, 0), 0);
	struct mix_picture pic;
	for (int i = 0; i < 10; i++)
		assert_int_equal(mix_h264_dec_decode(d, s.au[i], s.len[i], &pic), 0);
	mix_h264_dec_mark_loss(d);
	assert_true(mix_h264_dec_needs_keyframe(d));
	for (int i = 12; i < idr; i++) {
		assert_int_equal(mix_h264_dec_decode(d, s.au[i], s.len[i], &pic), -EAGAIN);
		assert_true(mix_h264_dec_needs_keyframe(d));
	}
	assert_int_equal(mix_h264_dec_decode(d, s.au[idr], s.len[idr], &pic), 0);
	assert_false(mix_h264_dec_needs_keyframe(d));
	for (int i = idr + 1; i < s.n; i++)
		assert_int_equal(mix_h264_dec_decode(d, s.au[i], s.len[i], &pic), 0);
	assert_int_equal(pic.width, 160);
	mix_h264_dec_free(&d);
	stream_free(&s);
}

static void over_cap_refused(void **state)
{
	if (!need_x264())
		return;
	struct stream s;
	encode(&s, 640, 360, 2, TEAL, -1);
	struct mix_h264_dec *d = NULL;
	assert_int_equal(mix_h264_dec_alloc(&d, 320, 240), 0);
	struct mix_picture pic = {0};
	assert_int_equal(mix_h264_dec_decode(d, s.au[0], s.len[0], &pic), -E2BIG);
	assert_true(mix_h264_dec_needs_keyframe(d));
	assert_int_equal(mix_h264_dec_decode(d, s.au[1], s.len[1], &pic), -EAGAIN);
	assert_null(pic.data[0]);
	mix_h264_dec_free(&d);
	/* a wide stream under the pixel count of the cap is refused too */
	struct stream w;
	encode(&w, 480, 64, 1, TEAL, -1);
	assert_int_equal(mix_h264_dec_alloc(&d, 320, 240), 0);
	assert_int_equal(mix_h264_dec_decode(d, w.au[0], w.len[0], &pic), -E2BIG);
	mix_h264_dec_free(&d);
	/* exactly at the cap is fine */
	assert_int_equal(mix_h264_dec_alloc(&d, 640, 360), 0);
	assert_int_equal(mix_h264_dec_decode(d, s.au[0], s.len[0], &pic), 0);
	assert_int_equal(pic.width, 640);
	assert_int_equal(pic.height, 360);
	mix_h264_dec_free(&d);
	stream_free(&s);
	stream_free(&w);
}

static uint8_t *copy_of(const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n ? n : 1);
	assert_non_null(b);
	memcpy(b, p, n);
	return b;
}

/* Never a picture from garbage, truncations or bit flips without an intact IDR first. */
static void garbage_never_shows(void **state)
{
	struct mix_h264_dec *d = NULL;
	assert_int_equal(mix_h264_dec_alloc(&d, 0, 0), 0);
	struct mix_picture pic = {0};
	uint32_t seed = 12345;
	for (int k = 0; k < 200; k++) {
		size_t n = 1 + k * 7 % 300;
		uint8_t *b = malloc(n);
		assert_non_null(b);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			b[i] = (uint8_t)(seed >> 16);
		}
		if (k % 2 && n > 4) /* a start code and an IDR or SPS header in front */
			memcpy(b, k % 4 == 1 ? "\0\0\1\x65" : "\0\0\0\1\x67", n > 5 ? 5 : 4);
		int rc = mix_h264_dec_decode(d, b, n, &pic);
		assert_true(rc == -EBADMSG || rc == -EAGAIN || rc == -ENODATA || rc == -E2BIG);
		free(b);
	}
	assert_null(pic.data[0]);
	uint8_t zero = 0;
	assert_int_equal(mix_h264_dec_decode(d, &zero, 0, &pic), -EBADMSG);
	assert_int_equal(mix_h264_dec_decode(d, NULL, 0, &pic), -EBADMSG);
	assert_int_equal(mix_h264_dec_decode(d, NULL, 4, &pic), -EINVAL);
	assert_int_equal(mix_h264_dec_decode(NULL, &zero, 1, &pic), -EINVAL);
	assert_int_equal(mix_h264_dec_decode(d, &zero, 1, NULL), -EINVAL);
	mix_h264_dec_free(&d);
	assert_int_equal(mix_h264_dec_alloc(&d, -1, 0), -EINVAL);
	assert_int_equal(mix_h264_dec_alloc(NULL, 0, 0), -EINVAL);
	assert_true(mix_h264_dec_needs_keyframe(NULL));
	mix_h264_dec_mark_loss(NULL);
	mix_h264_dec_free(NULL);
}

static void truncated_idr_not_shown(void **state)
{
	if (!need_x264())
		return;
	struct stream s;
	encode(&s, 320, 240, 3, TEAL, -1);
	struct mix_h264_dec *d = NULL;
	struct mix_picture pic = {0};
	for (size_t cut = 8; cut < s.len[0]; cut += s.len[0] / 7) {
		assert_int_equal(mix_h264_dec_alloc(&d, 0, 0), 0);
		uint8_t *b = copy_of(s.au[0], cut);
		int rc = mix_h264_dec_decode(d, b, cut, &pic);
		assert_true(rc < 0);
		assert_true(mix_h264_dec_needs_keyframe(d));
		free(b);
		/* the intact IDR then decodes */
		assert_int_equal(mix_h264_dec_decode(d, s.au[0], s.len[0], &pic), 0);
		mix_h264_dec_free(&d);
	}
	/* a decoding stream hit by a truncated P-frame shows nothing until the next IDR */
	assert_int_equal(mix_h264_dec_alloc(&d, 0, 0), 0);
	assert_int_equal(mix_h264_dec_decode(d, s.au[0], s.len[0], &pic), 0);
	uint8_t *b = copy_of(s.au[1], s.len[1] / 2);
	assert_true(mix_h264_dec_decode(d, b, s.len[1] / 2, &pic) < 0);
	free(b);
	assert_true(mix_h264_dec_needs_keyframe(d));
	assert_int_equal(mix_h264_dec_decode(d, s.au[2], s.len[2], &pic), -EAGAIN);
	mix_h264_dec_free(&d);
	stream_free(&s);
}

/* NAL unit types of an Annex B access unit, in order (offsets of their headers in off). */
static int nal_types(const uint8_t *p, size_t len, int *types, size_t *off, int max)
{
	int n = 0;
	for (size_t i = 0; i + 3 < len && n < max; i++) {
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1) {
			off[n] = i + 3;
			types[n++] = p[i + 3] & 0x1f;
			i += 2;
		}
	}
	return n;
}

/* Every IDR carries SPS and PPS before its slice; the SPS says Constrained Baseline. */
static void encoder_fits_webrtc(void **state)
{
	if (!need_x264())
		return;
	struct stream s;
	encode(&s, 640, 360, 75, TEAL, 40); /* IDRs: 0, 40 (requested), 100 (2 s GOP after 40) */
	int keys = 0;
	for (int i = 0; i < s.n; i++) {
		int t[16];
		size_t off[16];
		int n = nal_types(s.au[i], s.len[i], t, off, 16);
		assert_true(n > 0);
		bool idr = false, sps = false, pps = false;
		for (int k = 0; k < n; k++) {
			if (t[k] == 7) {
				sps = true;
				const uint8_t *h = s.au[i] + off[k];
				assert_true(off[k] + 4 <= s.len[i]);
				assert_int_equal(h[1], 66); /* profile_idc: Baseline */
				assert_true(h[2] & 0x40);   /* constraint_set1: Constrained */
				assert_true(h[3] >= 10 &&
				            h[3] <= 31); /* level_idc, libx264's choice */
			}
			pps |= t[k] == 8 && sps;
			if (t[k] == 5) {
				assert_true(sps && pps);
				idr = true;
			}
			assert_true(t[k] != 1 || !s.key[i]);
		}
		assert_int_equal(idr, s.key[i]);
		keys += idr;
	}
	assert_int_equal(keys, 2);
	assert_true(s.key[0] && s.key[40]);
	stream_free(&s);
}

/* ffprobe on the raw stream of a 1280x720 encoder (the engine's default canvas). */
static void ffprobe_says_constrained_baseline(void **state)
{
	if (!need_x264())
		return;
	if (system("command -v ffprobe >/dev/null 2>&1") != 0) {
		print_message("SKIPPED: no ffprobe\n");
		return;
	}
	struct stream s;
	encode(&s, 1280, 720, 35, TEAL, -1);
	char path[64];
	snprintf(path, sizeof(path), "/tmp/test_h264_dec_%d.h264", (int)getpid());
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (int i = 0; i < s.n; i++)
		assert_int_equal(fwrite(s.au[i], 1, s.len[i], f), s.len[i]);
	assert_int_equal(fclose(f), 0);
	char cmd[256], out[256] = {0};
	snprintf(cmd, sizeof(cmd),
	         "ffprobe -v error -select_streams v -show_entries "
	         "stream=profile,level,has_b_frames,width,height -of csv=p=0 '%s'",
	         path);
	FILE *pf = popen(cmd, "r");
	assert_non_null(pf);
	size_t n = fread(out, 1, sizeof(out) - 1, pf);
	assert_int_equal(pclose(pf), 0);
	out[n] = 0;
	print_message("ffprobe: %s", out);
	assert_non_null(strstr(out, "Constrained Baseline,1280,720,0,31"));
	unlink(path);
	stream_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(p_frame_first_needs_idr),
	    cmocka_unit_test(loss_waits_for_idr),
	    cmocka_unit_test(over_cap_refused),
	    cmocka_unit_test(garbage_never_shows),
	    cmocka_unit_test(truncated_idr_not_shown),
	    cmocka_unit_test(encoder_fits_webrtc),
	    cmocka_unit_test(ffprobe_says_constrained_baseline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
