/*
 * h264_enc.c - H.264 encoding through libavcodec's "libx264" (see mix/h264.h).
 *
 * libx264 settings: profile baseline (libx264's baseline is Constrained Baseline: no CABAC, no
 * B-frames, no 8x8 transform, no weighted prediction; what WebRTC recipients decode, and MP4
 * players too), level chosen by libx264 from size, rate and VBV, preset superfast (a fifth
 * less CPU than veryfast on a 720p grid), tune zerolatency (no lookahead, so each picture gives
 * its packet at once), one thread, forced IDRs, no intra refresh, an IDR every 2 s, bitrate with
 * max rate = target and a 1 s VBV buffer. No global header and repeat-headers: SPS/PPS travel
 * in band before every IDR (a WebRTC recipient joins at any IDR). The encoder's time base is 1/fps:
 * a picture's pts is its frame number on the media clock; a small ring maps it back to the caller's
 * microseconds. Keyframe requests are coalesced like the VP8 encoder's: at most one per second of
 * pts. Engine thread only (single-threaded per object); the object owns its AVCodecContext, AVFrame
 * and AVPacket; pictures are borrowed (libavcodec copies them), packets are returned.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/mathematics.h>
#include <libavutil/opt.h>

#include "avenc.h"
#include "mix/h264.h"
#include "kf_req.h"

#define US_PER_S      1000000
#define KF_MIN_GAP_US 1000000
#define GOP_SECONDS   2
#define MIN_DIM       16
#define MAX_DIM       4096
#define MIN_BPS       10000
#define MAX_BPS       100000000
#define PTS_RING      16

struct mix_h264_enc {
	AVCodecContext *ctx;
	AVFrame *frame;
	AVPacket *pkt;
	int width, height, fps;
	int64_t frame_dur_us;
	int64_t last_pts; /* last encoder pts given (frame number) */
	int64_t ring_us[PTS_RING];
	bool started;
	struct kf_req kf;
	int keyframes;
};

bool mix_h264_available(void)
{
	return avcodec_find_encoder_by_name("libx264") != NULL;
}

static int check_cfg(const struct mix_h264_enc_cfg *c)
{
	if (c->width < MIN_DIM || c->height < MIN_DIM || c->width > MAX_DIM ||
	    c->height > MAX_DIM || (c->width & 1) || (c->height & 1))
		return -EINVAL;
	if (c->fps < 1 || c->fps > 60 || c->bitrate_bps < MIN_BPS || c->bitrate_bps > MAX_BPS)
		return -EINVAL;
	return 0;
}

static void set_rate(AVCodecContext *ctx, int bps)
{
	ctx->bit_rate = bps;
	ctx->rc_max_rate = bps;
	ctx->rc_buffer_size = bps; /* 1 s */
}

static void set_params(AVCodecContext *ctx, const struct mix_h264_enc_cfg *c)
{
	ctx->width = c->width;
	ctx->height = c->height;
	ctx->pix_fmt = AV_PIX_FMT_YUV420P;
	ctx->time_base = (AVRational){1, c->fps};
	ctx->framerate = (AVRational){c->fps, 1};
	ctx->gop_size = GOP_SECONDS * c->fps;
	ctx->max_b_frames = 0;
	ctx->thread_count = 1;
	ctx->color_range = AVCOL_RANGE_MPEG;
	ctx->colorspace = AVCOL_SPC_SMPTE170M;
	ctx->color_primaries = AVCOL_PRI_SMPTE170M;
	ctx->color_trc = AVCOL_TRC_SMPTE170M;
	set_rate(ctx, c->bitrate_bps);
}

static int open_codec(struct mix_h264_enc *e, const struct mix_h264_enc_cfg *c)
{
	const AVCodec *codec;
	int err = avenc_alloc("libx264", &codec, &e->ctx, &e->frame, &e->pkt);
	if (err)
		return err;
	set_params(e->ctx, c);
	AVDictionary *opts = NULL;
	av_dict_set(&opts, "preset", "superfast", 0);
	av_dict_set(&opts, "tune", "zerolatency", 0);
	av_dict_set(&opts, "profile", "baseline", 0); /* Constrained Baseline */
	av_dict_set(&opts, "forced-idr", "1", 0);
	av_dict_set(&opts, "intra-refresh", "0", 0);
	/* log=1: warnings and errors only */
	av_dict_set(&opts, "x264-params", "log=1:repeat-headers=1", 0);
	int ret = avcodec_open2(e->ctx, codec, &opts);
	av_dict_free(&opts);
	return ret < 0 ? avenc_err(ret) : 0;
}

int mix_h264_enc_alloc(struct mix_h264_enc **out, const struct mix_h264_enc_cfg *cfg)
{
	if (!out || !cfg || check_cfg(cfg))
		return -EINVAL;
	struct mix_h264_enc *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	int err = open_codec(e, cfg);
	if (err) {
		mix_h264_enc_free(&e);
		return err;
	}
	e->width = cfg->width;
	e->height = cfg->height;
	e->fps = cfg->fps;
	e->frame_dur_us = US_PER_S / cfg->fps;
	*out = e;
	return 0;
}

void mix_h264_enc_free(struct mix_h264_enc **pe)
{
	if (!pe || !*pe)
		return;
	avenc_free(&(*pe)->ctx, &(*pe)->frame, &(*pe)->pkt);
	free(*pe);
	*pe = NULL;
}

/* libavcodec's libx264 wrapper reconfigures x264 when these change between pictures. */
int mix_h264_enc_set_bitrate(struct mix_h264_enc *e, int bitrate_bps)
{
	if (!e || bitrate_bps < MIN_BPS || bitrate_bps > MAX_BPS)
		return -EINVAL;
	set_rate(e->ctx, bitrate_bps);
	return 0;
}

void mix_h264_enc_request_keyframe_gap(struct mix_h264_enc *e, int64_t min_gap_us)
{
	if (e)
		kf_req_ask(&e->kf, min_gap_us);
}

void mix_h264_enc_request_keyframe(struct mix_h264_enc *e)
{
	mix_h264_enc_request_keyframe_gap(e, KF_MIN_GAP_US);
}

int mix_h264_enc_keyframes(const struct mix_h264_enc *e)
{
	return e ? e->keyframes : 0;
}

static bool valid_picture(const struct mix_h264_enc *e, const struct mix_picture *pic)
{
	if (pic->width != e->width || pic->height != e->height)
		return false;
	for (int i = 0; i < 3; i++)
		if (!pic->data[i] || pic->stride[i] < (i ? (e->width + 1) / 2 : e->width))
			return false;
	return true;
}

/* The encoder pts (frame number on the media clock), strictly increasing. */
static int64_t next_pts(struct mix_h264_enc *e, int64_t pts_us)
{
	int64_t pts = av_rescale(pts_us, e->fps, US_PER_S);
	if (e->started && pts <= e->last_pts)
		pts = e->last_pts + 1;
	e->last_pts = pts;
	e->ring_us[pts & (PTS_RING - 1)] = pts_us;
	return pts;
}

/* Points the frame at the borrowed picture: libavcodec copies a frame it does not own. */
static void wrap_picture(AVFrame *f, const struct mix_picture *pic, int64_t pts)
{
	f->format = AV_PIX_FMT_YUV420P;
	f->width = pic->width;
	f->height = pic->height;
	for (int i = 0; i < 3; i++) {
		f->data[i] = (uint8_t *)(uintptr_t)pic->data[i];
		f->linesize[i] = pic->stride[i];
	}
	f->pts = pts;
}

/* The packet libavcodec has for us, if any, as a mix_packet. */
static int receive(struct mix_h264_enc *e, struct mix_packet **out)
{
	int ret = avcodec_receive_packet(e->ctx, e->pkt);
	if (ret == AVERROR(EAGAIN))
		return 0;
	if (ret < 0)
		return -EIO;
	struct mix_packet *p = mix_packet_copy(e->pkt->data, (size_t)e->pkt->size);
	if (p) {
		p->kind = MIX_VIDEO;
		p->keyframe = e->pkt->flags & AV_PKT_FLAG_KEY;
		p->pts_us = e->ring_us[e->pkt->pts & (PTS_RING - 1)];
		p->duration_us = e->frame_dur_us;
	}
	av_packet_unref(e->pkt);
	*out = p;
	return p ? 0 : -ENOMEM;
}

int mix_h264_enc_encode(struct mix_h264_enc *e, const struct mix_picture *pic, int64_t pts_us,
                        struct mix_packet **out)
{
	if (!e || !pic || !out || !valid_picture(e, pic))
		return -EINVAL;
	*out = NULL;
	bool force = kf_req_due(&e->kf, pts_us);
	wrap_picture(e->frame, pic, next_pts(e, pts_us));
	e->frame->pict_type = force ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	e->started = true;
	int ret = avcodec_send_frame(e->ctx, e->frame);
	memset(e->frame->data, 0, sizeof(e->frame->data));
	if (ret < 0)
		return avenc_err(ret);
	ret = receive(e, out);
	if (ret < 0 || !*out)
		return ret;
	if ((*out)->keyframe) {
		e->keyframes++;
		kf_req_done(&e->kf, (*out)->pts_us);
	}
	return 0;
}
