/*
 * h264_dec.c - H.264 decoding with libavcodec's "h264" decoder (see mix/h264.h).
 *
 * One thread (no frame-threading delay), AV_CODEC_FLAG_LOW_DELAY, no corrupt output
 * (AV_CODEC_FLAG_OUTPUT_CORRUPT cleared; frames with decode_error_flags or
 * AV_FRAME_FLAG_CORRUPT are not shown either). Each access unit is first scanned (a bounds-
 * checked Annex B walk over its NAL unit types) and run through libavcodec's h264 parser on a
 * context of its own: the parser reports the picture size from the active SPS, so a stream over
 * the size cap is refused (-E2BIG) before the decoder allocates anything for it; the decoder's
 * max_pixels and a check of every decoded frame's size back that up. The decoder tracks "needs
 * keyframe": true at start, after an error, a corrupt frame or a reported loss; while set,
 * access units with slices but no IDR slice (NAL type 5) are refused with -EAGAIN (parameter
 * sets and SEI alone still go in, and show nothing). The returned picture is a reference to
 * libavcodec's frame, kept until the next picture replaces it or the decoder is freed. libavcodec's
 * messages about the stream are moved down to debug level (a remote sender controls them).
 * Single-threaded per object; the object owns its contexts, the frames and a padded copy of the
 * input.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>

#include "mix/h264.h"
#include "mix/vp8.h"

#define DIM_MIN   2     /* the compositor refuses smaller pictures (as vp8_dec.c) */
#define DIM_LIMIT 16383 /* as vp8_dec.c: caps beyond this make no sense */

#define NAL_SLICE     1
#define NAL_SLICE_DPC 4 /* types 1..4: non-IDR slices and data partitions */
#define NAL_IDR       5

struct mix_h264_dec {
	AVCodecContext *ctx;
	AVCodecContext *pctx; /* the parser's context: it writes profile/level there */
	AVCodecParserContext *parser;
	AVPacket *pkt;
	AVFrame *frame; /* the picture last returned */
	AVFrame *next;  /* receives the next picture */
	uint8_t *buf;   /* the access unit plus zeroed AV_INPUT_BUFFER_PADDING_SIZE */
	size_t buf_cap;
	int max_w, max_h;
	bool need_kf;
};

/* What an access unit holds, from its NAL unit headers. */
struct au_info {
	int nals;
	bool idr, slice; /* an IDR slice; a non-IDR slice (or data partition) */
};

/* Walks the Annex B start codes (00 00 01, also the 4-byte form) of [p, p + len). */
static void scan_nals(const uint8_t *p, size_t len, struct au_info *info)
{
	memset(info, 0, sizeof(*info));
	for (size_t i = 0; i + 3 < len; i++) {
		if (p[i] != 0 || p[i + 1] != 0 || p[i + 2] != 1)
			continue;
		int type = p[i + 3] & 0x1f;
		info->nals++;
		info->idr |= type == NAL_IDR;
		info->slice |= type >= NAL_SLICE && type <= NAL_SLICE_DPC;
		i += 2;
	}
}

static void free_contexts(struct mix_h264_dec *d)
{
	avcodec_free_context(&d->ctx);
	avcodec_free_context(&d->pctx);
	if (d->parser)
		av_parser_close(d->parser);
	d->parser = NULL;
	av_packet_free(&d->pkt);
	av_frame_free(&d->frame);
	av_frame_free(&d->next);
	free(d->buf);
	d->buf = NULL;
}

/* max_pixels is a backstop for the exact check: rounded up, as libavcodec checks it on the
 * aligned buffer size (a width-aligned 1000x1000 would fail a 1000x1000 limit). */
static int open_decoder(struct mix_h264_dec *d)
{
	const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_H264);
	if (!codec)
		return -ENOTSUP;
	d->ctx = avcodec_alloc_context3(codec);
	d->pctx = avcodec_alloc_context3(NULL);
	d->parser = av_parser_init(AV_CODEC_ID_H264);
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
	d->next = av_frame_alloc();
	if (!d->ctx || !d->pctx || !d->parser || !d->pkt || !d->frame || !d->next)
		return -ENOMEM;
	d->parser->flags |= PARSER_FLAG_COMPLETE_FRAMES;
	/* A remote sender's broken stream must not flood the log: errors go out at debug level. */
	d->ctx->log_level_offset = AV_LOG_DEBUG - AV_LOG_ERROR;
	d->pctx->log_level_offset = AV_LOG_DEBUG - AV_LOG_ERROR;
	d->ctx->thread_count = 1;
	d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	d->ctx->flags &= ~AV_CODEC_FLAG_OUTPUT_CORRUPT;
	d->ctx->max_pixels = (int64_t)((d->max_w + 63) & ~63) * ((d->max_h + 31) & ~31);
	return avcodec_open2(d->ctx, codec, NULL) < 0 ? -ENOMEM : 0;
}

int mix_h264_dec_alloc(struct mix_h264_dec **out, int max_w, int max_h)
{
	if (!out || max_w < 0 || max_h < 0 || max_w > DIM_LIMIT || max_h > DIM_LIMIT)
		return -EINVAL;
	struct mix_h264_dec *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->max_w = max_w ? max_w : MIX_VP8_MAX_W;
	d->max_h = max_h ? max_h : MIX_VP8_MAX_H;
	d->need_kf = true;
	int err = open_decoder(d);
	if (err) {
		free_contexts(d);
		free(d);
		return err;
	}
	*out = d;
	return 0;
}

void mix_h264_dec_free(struct mix_h264_dec **pd)
{
	if (!pd || !*pd)
		return;
	free_contexts(*pd);
	free(*pd);
	*pd = NULL;
}

/* Copies the access unit into the padded buffer libavcodec's bitstream readers need. */
static int stage_input(struct mix_h264_dec *d, const uint8_t *data, size_t len)
{
	size_t need = len + AV_INPUT_BUFFER_PADDING_SIZE;
	if (need > d->buf_cap) {
		uint8_t *b = realloc(d->buf, need);
		if (!b)
			return -ENOMEM;
		d->buf = b;
		d->buf_cap = need;
	}
	memcpy(d->buf, data, len);
	memset(d->buf + len, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	return 0;
}

/* The parser's picture size from the active SPS (0 until it has seen a slice). */
static int check_size(struct mix_h264_dec *d, size_t len)
{
	uint8_t *out = NULL;
	int out_len = 0;
	av_parser_parse2(d->parser, d->pctx, &out, &out_len, d->buf, (int)len, AV_NOPTS_VALUE,
	                 AV_NOPTS_VALUE, 0);
	if (d->parser->width > d->max_w || d->parser->height > d->max_h)
		return -E2BIG;
	return 0;
}

/* Checks the access unit: -EBADMSG no NAL unit, -E2BIG too big, -EAGAIN keyframe needed. */
static int check_au(struct mix_h264_dec *d, const uint8_t *data, size_t len, struct au_info *info)
{
	if (len > MIX_H264_MAX_AU)
		return -E2BIG;
	scan_nals(data, len, info);
	if (info->nals == 0)
		return -EBADMSG;
	if (d->need_kf && info->slice && !info->idr)
		return -EAGAIN;
	int err = stage_input(d, data, len);
	return err ? err : check_size(d, len);
}

/* An access unit without a slice shows nothing: a frame it flushes out (an end of sequence
 * releasing a delayed picture, found by fuzz_h264_dec) is an old one, possibly from before a
 * loss. */
static int drain(struct mix_h264_dec *d)
{
	while (avcodec_receive_frame(d->ctx, d->next) == 0)
		av_frame_unref(d->next);
	return -ENODATA;
}

/* Hands the access unit to libavcodec; a frame left from earlier is dropped first. */
static int send_au(struct mix_h264_dec *d, size_t len)
{
	d->pkt->data = d->buf;
	d->pkt->size = (int)len;
	int ret = avcodec_send_packet(d->ctx, d->pkt);
	if (ret == AVERROR(EAGAIN)) {
		drain(d);
		ret = avcodec_send_packet(d->ctx, d->pkt);
	}
	d->pkt->data = NULL;
	d->pkt->size = 0;
	if (ret == AVERROR(ENOMEM))
		return -ENOMEM;
	return ret < 0 ? -EBADMSG : 0;
}

/* Checks the decoded frame d->next: shown only if whole, 4:2:0 8-bit and within the cap. */
static int check_frame(const struct mix_h264_dec *d, const AVFrame *f)
{
	if (f->decode_error_flags || (f->flags & AV_FRAME_FLAG_CORRUPT))
		return -EBADMSG;
	if (f->width > d->max_w || f->height > d->max_h)
		return -E2BIG;
	if (f->width < DIM_MIN || f->height < DIM_MIN)
		return -EBADMSG;
	if (f->format != AV_PIX_FMT_YUV420P && f->format != AV_PIX_FMT_YUVJ420P)
		return -EBADMSG;
	for (int i = 0; i < 3; i++)
		if (!f->data[i] || f->linesize[i] < (i ? (f->width + 1) / 2 : f->width))
			return -EBADMSG;
	return 0;
}

static int receive(struct mix_h264_dec *d)
{
	int ret = avcodec_receive_frame(d->ctx, d->next);
	if (ret == AVERROR(EAGAIN))
		return -ENODATA;
	if (ret < 0)
		return ret == AVERROR(ENOMEM) ? -ENOMEM : -EBADMSG;
	int err = check_frame(d, d->next);
	if (err) {
		av_frame_unref(d->next);
		return err;
	}
	av_frame_unref(d->frame);
	av_frame_move_ref(d->frame, d->next);
	return 0;
}

static void fill_picture(const AVFrame *f, struct mix_picture *pic)
{
	for (int i = 0; i < 3; i++) {
		pic->data[i] = f->data[i];
		pic->stride[i] = f->linesize[i];
	}
	pic->width = f->width;
	pic->height = f->height;
}

int mix_h264_dec_decode(struct mix_h264_dec *d, const uint8_t *data, size_t len,
                        struct mix_picture *pic)
{
	if (!d || !pic || (!data && len))
		return -EINVAL;
	struct au_info info;
	int err = check_au(d, data, len, &info);
	if (!err && info.idr && d->need_kf)
		avcodec_flush_buffers(d->ctx); /* restart clean: no stale frame or reference */
	if (!err)
		err = send_au(d, len);
	if (!err && info.idr)
		d->need_kf = false;
	if (!err)
		err = info.idr || info.slice ? receive(d) : drain(d);
	if (err == -ENODATA)
		return err;
	if (err) {
		/* A refused or broken access unit leaves the references stale: wait for an IDR. */
		d->need_kf = true;
		return err;
	}
	fill_picture(d->frame, pic);
	return 0;
}

void mix_h264_dec_mark_loss(struct mix_h264_dec *d)
{
	if (d)
		d->need_kf = true;
}

bool mix_h264_dec_needs_keyframe(const struct mix_h264_dec *d)
{
	return !d || d->need_kf;
}
