/*
 * vp8_dec.c - VP8 decoding with libvpx (one thread, no postprocessing, no error concealment).
 *
 * Every frame is first checked with mix_vp8_peek (RFC 6386 9.1): malformed headers and
 * keyframes above the size cap or below 2x2 (the compositor's smallest picture) never reach
 * libvpx. The decoder tracks "needs keyframe":
 * true at start, after a decode error, a corrupt frame (VP8D_GET_FRAME_CORRUPTED) or a
 * reported loss; while set, inter frames are refused with -EAGAIN. A corrupt frame is never
 * shown. The returned picture points into libvpx's frame buffer, valid until the next decode
 * or free. Single-threaded per object; the object owns its libvpx context.
 */
#include <errno.h>
#include <stdlib.h>

#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>

#include "mix/vp8.h"

/* Smaller pictures are refused by the compositor: a 64x1 keyframe made every video tick of
 * the room fail (found by fuzz_pipeline). */
#define VP8_DIM_MIN   2
#define VP8_DIM_LIMIT 16383 /* 14-bit field, RFC 6386 9.2 */

struct mix_vp8_dec {
	vpx_codec_ctx_t ctx;
	int max_w, max_h; /* size cap, checked before libvpx sees a keyframe */
	bool need_kf;     /* inter frames are refused while set */
};

int mix_vp8_dec_alloc(struct mix_vp8_dec **out, int max_w, int max_h)
{
	if (!out || max_w < 0 || max_h < 0 || max_w > VP8_DIM_LIMIT || max_h > VP8_DIM_LIMIT)
		return -EINVAL;
	struct mix_vp8_dec *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	vpx_codec_dec_cfg_t cfg = {.threads = 1, .w = 0, .h = 0};
	if (vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0) != VPX_CODEC_OK) {
		free(d);
		return -ENOMEM;
	}
	d->max_w = max_w ? max_w : MIX_VP8_MAX_W;
	d->max_h = max_h ? max_h : MIX_VP8_MAX_H;
	d->need_kf = true;
	*out = d;
	return 0;
}

void mix_vp8_dec_free(struct mix_vp8_dec **pd)
{
	if (!pd || !*pd)
		return;
	vpx_codec_destroy(&(*pd)->ctx);
	free(*pd);
	*pd = NULL;
}

/* Checks the header: -EBADMSG malformed, -E2BIG over the cap, -EAGAIN keyframe needed. */
static int check_frame(const struct mix_vp8_dec *d, const uint8_t *data, size_t len)
{
	struct mix_vp8_info info;
	if (mix_vp8_peek(data, len, &info) < 0)
		return -EBADMSG;
	if (info.keyframe && (info.width > d->max_w || info.height > d->max_h))
		return -E2BIG;
	if (info.keyframe && (info.width < VP8_DIM_MIN || info.height < VP8_DIM_MIN))
		return -EBADMSG;
	if (!info.keyframe && d->need_kf)
		return -EAGAIN;
	return 0;
}

/* Runs libvpx on one frame and rejects frames it reports as corrupt. */
static int run_decoder(struct mix_vp8_dec *d, const uint8_t *data, size_t len)
{
	if (len > UINT32_MAX)
		return -EBADMSG;
	if (vpx_codec_decode(&d->ctx, data, (unsigned int)len, NULL, 0) != VPX_CODEC_OK)
		return -EBADMSG;
	int corrupted = 0;
	if (vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, &corrupted) != VPX_CODEC_OK)
		return -EBADMSG;
	return corrupted ? -EBADMSG : 0;
}

static void fill_picture(const vpx_image_t *img, struct mix_picture *pic)
{
	for (int i = 0; i < 3; i++) {
		pic->data[i] = img->planes[i];
		pic->stride[i] = img->stride[i];
	}
	pic->width = (int)img->d_w;
	pic->height = (int)img->d_h;
}

/*
 * Returns 0 and a picture, or -ENODATA when libvpx decoded the frame but has nothing to show
 * (a frame with show_frame = 0); the decoder state stays valid in that case.
 */
int mix_vp8_dec_decode(struct mix_vp8_dec *d, const uint8_t *data, size_t len,
                       struct mix_picture *pic)
{
	if (!d || !pic)
		return -EINVAL;
	int err = check_frame(d, data, len);
	if (!err)
		err = run_decoder(d, data, len);
	if (err) {
		/* A skipped or broken frame leaves the references stale: wait for a keyframe. */
		d->need_kf = true;
		return err;
	}
	d->need_kf = false;
	vpx_codec_iter_t iter = NULL;
	const vpx_image_t *img = vpx_codec_get_frame(&d->ctx, &iter);
	if (!img)
		return -ENODATA;
	if (img->fmt != VPX_IMG_FMT_I420 || img->d_w < VP8_DIM_MIN || img->d_h < VP8_DIM_MIN) {
		d->need_kf = true;
		return -EBADMSG;
	}
	fill_picture(img, pic);
	return 0;
}

void mix_vp8_dec_mark_loss(struct mix_vp8_dec *d)
{
	if (d)
		d->need_kf = true;
}

bool mix_vp8_dec_needs_keyframe(const struct mix_vp8_dec *d)
{
	return !d || d->need_kf;
}
