/*
 * fuzz_h264_dec.c - libFuzzer target for the H.264 decoder (mixer/h264_dec.c, libavcodec's
 * h264 decoder behind our checks) with a 640x480 cap.
 *
 * The input is a raw Annex B stream (what `ffmpeg -c:v libx264 -f h264` writes, so the seeds
 * are plain libx264 output): it is cut into at most MAX_AUS access units, each ending with a
 * slice NAL unit (parameter sets and SEI go with the slice after them), and each is decoded in
 * turn from its own exact-size heap copy. Then a loss is reported and the last unit decoded
 * again. Invariants: only the documented returns; a picture is within the cap, at least 2x2,
 * with planes that can be read whole (ASan checks the reads); -EAGAIN leaves the decoder
 * waiting for an IDR; after a reported loss only an IDR decodes.
 *
 * Seeds (tests/fuzz/corpus/h264_dec/seed-*): 64x64 libx264 streams made with
 *   ffmpeg -f lavfi -i testsrc=size=64x64:rate=30 -frames:v N -c:v libx264 -pix_fmt P [opts]
 *          -f h264 seed-....h264
 * Constrained Baseline (IDR + P; 3 slices), Main yuvj420p, High with B-frames, High 10 and
 * High 4:4:4 (refused: not 8-bit 4:2:0), and a 704x64 one over the cap. regress-*: fixed
 * findings. The rest is a minimised fuzzing corpus. Only our code is instrumented for
 * coverage (libavcodec's decoder is fuzzed upstream, by OSS-Fuzz).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "mix/h264.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP_W   640
#define CAP_H   480
#define MAX_AUS 8

/* The end of the access unit starting at p: after its first slice NAL unit, or n. */
static size_t au_end(const uint8_t *p, size_t n)
{
	bool slice = false;
	for (size_t i = 0; i + 3 < n; i++) {
		if (p[i] != 0 || p[i + 1] != 0 || p[i + 2] != 1)
			continue;
		if (slice)
			return i;
		int type = p[i + 3] & 0x1f;
		slice = type >= 1 && type <= 5;
		i += 2;
	}
	return n;
}

static bool has_idr(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 3 < n; i++)
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1 && (p[i + 3] & 0x1f) == 5)
			return true;
	return false;
}

/* Reads every row of every plane: a picture pointing outside its frame trips ASan. */
static unsigned touch(const struct mix_picture *pic)
{
	if (pic->width < 2 || pic->height < 2 || pic->width > CAP_W || pic->height > CAP_H)
		abort();
	unsigned sum = 0;
	for (int i = 0; i < 3; i++) {
		int w = i ? (pic->width + 1) / 2 : pic->width;
		int h = i ? (pic->height + 1) / 2 : pic->height;
		if (!pic->data[i] || pic->stride[i] < w)
			abort();
		for (int y = 0; y < h; y++)
			sum += pic->data[i][(size_t)y * pic->stride[i]] +
			       pic->data[i][(size_t)y * pic->stride[i] + w - 1];
	}
	return sum;
}

static volatile unsigned sink;

static int decode(struct mix_h264_dec *d, const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, p, n);
	struct mix_picture pic = {0};
	int rc = mix_h264_dec_decode(d, copy, n, &pic);
	free(copy);
	if (rc == 0)
		sink += touch(&pic);
	else if (rc != -EAGAIN && rc != -E2BIG && rc != -EBADMSG && rc != -ENODATA && rc != -ENOMEM)
		abort();
	if (rc == -EAGAIN && !mix_h264_dec_needs_keyframe(d))
		abort();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	failalloc_reset(data, size);
	struct mix_h264_dec *d = NULL;
	int rc = mix_h264_dec_alloc(&d, CAP_W, CAP_H);
	if (rc == -ENOMEM) /* FUZZ_FAIL_ALLOC */
		return 0;
	if (rc != 0)
		abort();
	size_t off = 0, last = 0, last_len = 0;
	for (int k = 0; k < MAX_AUS && off < size; k++) {
		size_t n = au_end(data + off, size - off);
		decode(d, data + off, n);
		last = off;
		last_len = n;
		off += n;
	}
	mix_h264_dec_mark_loss(d);
	if (!mix_h264_dec_needs_keyframe(d))
		abort();
	rc = decode(d, data + last, last_len);
	if (rc == 0 && !has_idr(data + last, last_len))
		abort();
	mix_h264_dec_free(&d);
	return 0;
}
