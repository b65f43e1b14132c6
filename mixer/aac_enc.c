/*
 * aac_enc.c - AAC-LC encoding through libavcodec's native "aac" encoder (see mix/aac.h).
 *
 * 48 kHz mono, float planar in, one packet per 1024-sample frame. The engine's 960-sample
 * ticks are gathered in a one-frame buffer; each complete frame gets pts = the sample index of
 * its first sample, and libavcodec stamps its packet that minus the encoder's priming
 * (initial_padding), which is the time of the packet's first decoded sample. Packets wait in a
 * small queue until pulled. The AudioSpecificConfig comes from the global header.
 * Engine thread only (single-threaded per object); the object owns its AVCodecContext,
 * AVFrame, AVPacket and queued packets; pulled packets belong to the caller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>

#include "avenc.h"
#include "mix/aac.h"

#define RATE      48000
#define MAX_PUSH  4096
#define OUT_QUEUE 8
#define MIN_BPS   16000
#define MAX_BPS   320000

struct mix_aac_enc {
	AVCodecContext *ctx;
	AVFrame *frame;
	AVPacket *pkt;
	float buf[MIX_AAC_FRAME];
	int fill;
	int64_t buf_pts; /* sample index of buf[0] */
	bool started;
	struct mix_packet *q[OUT_QUEUE];
	int qhead, qn;
};

bool mix_aac_available(void)
{
	return avcodec_find_encoder_by_name("aac") != NULL;
}

void mix_aac_enc_cfg_default(struct mix_aac_enc_cfg *cfg)
{
	cfg->bitrate_bps = 96000;
}

static int open_codec(struct mix_aac_enc *e, const struct mix_aac_enc_cfg *c)
{
	const AVCodec *codec;
	int err = avenc_alloc("aac", &codec, &e->ctx, &e->frame, &e->pkt);
	if (err)
		return err;
	AVCodecContext *ctx = e->ctx;
	ctx->sample_fmt = AV_SAMPLE_FMT_FLTP;
	ctx->sample_rate = RATE;
	av_channel_layout_default(&ctx->ch_layout, 1);
	ctx->bit_rate = c->bitrate_bps;
	ctx->time_base = (AVRational){1, RATE};
	ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	int ret = avcodec_open2(ctx, codec, NULL);
	if (ret < 0)
		return avenc_err(ret);
	if (ctx->frame_size != MIX_AAC_FRAME || ctx->extradata_size <= 0)
		return -EIO;
	e->frame->format = AV_SAMPLE_FMT_FLTP;
	e->frame->sample_rate = RATE;
	e->frame->nb_samples = MIX_AAC_FRAME;
	if (av_channel_layout_copy(&e->frame->ch_layout, &ctx->ch_layout) < 0 ||
	    av_frame_get_buffer(e->frame, 0) < 0)
		return -ENOMEM;
	return 0;
}

int mix_aac_enc_alloc(struct mix_aac_enc **out, const struct mix_aac_enc_cfg *cfg)
{
	if (!out || !cfg || cfg->bitrate_bps < MIN_BPS || cfg->bitrate_bps > MAX_BPS)
		return -EINVAL;
	struct mix_aac_enc *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	int err = open_codec(e, cfg);
	if (err) {
		mix_aac_enc_free(&e);
		return err;
	}
	*out = e;
	return 0;
}

/* Drains the encoder's queue (the frames still inside), so closing it does not warn. */
static void flush(struct mix_aac_enc *e)
{
	if (!e->ctx || !e->pkt || !avcodec_is_open(e->ctx) || avcodec_send_frame(e->ctx, NULL) < 0)
		return;
	while (avcodec_receive_packet(e->ctx, e->pkt) >= 0)
		av_packet_unref(e->pkt);
}

void mix_aac_enc_free(struct mix_aac_enc **pe)
{
	struct mix_aac_enc *e = pe ? *pe : NULL;
	if (!e)
		return;
	for (int i = 0; i < e->qn; i++)
		mix_packet_unref(&e->q[(e->qhead + i) % OUT_QUEUE]);
	flush(e);
	avenc_free(&e->ctx, &e->frame, &e->pkt);
	free(e);
	*pe = NULL;
}

int mix_aac_enc_delay(const struct mix_aac_enc *e)
{
	return e ? e->ctx->initial_padding : 0;
}

size_t mix_aac_enc_extradata(const struct mix_aac_enc *e, const uint8_t **data)
{
	*data = e->ctx->extradata;
	return (size_t)e->ctx->extradata_size;
}

/* Moves every packet libavcodec has into the queue. */
static int drain(struct mix_aac_enc *e)
{
	for (;;) {
		int ret = avcodec_receive_packet(e->ctx, e->pkt);
		if (ret == AVERROR(EAGAIN))
			return 0;
		if (ret < 0)
			return -EIO;
		struct mix_packet *p =
		    e->qn < OUT_QUEUE ? mix_packet_copy(e->pkt->data, (size_t)e->pkt->size) : NULL;
		if (p) {
			p->kind = MIX_AUDIO;
			p->pts_us = av_rescale(e->pkt->pts, 1000000, RATE);
			p->duration_us = av_rescale(e->pkt->duration, 1000000, RATE);
			e->q[(e->qhead + e->qn++) % OUT_QUEUE] = p;
		}
		av_packet_unref(e->pkt);
		if (!p)
			return e->qn < OUT_QUEUE ? -ENOMEM : -ENOBUFS;
	}
}

/* Encodes the full buffer as one frame. */
static int encode_buffer(struct mix_aac_enc *e)
{
	if (av_frame_make_writable(e->frame) < 0)
		return -ENOMEM;
	memcpy(e->frame->data[0], e->buf, sizeof(e->buf));
	e->frame->pts = e->buf_pts;
	e->buf_pts += MIX_AAC_FRAME;
	e->fill = 0;
	int ret = avcodec_send_frame(e->ctx, e->frame);
	if (ret < 0)
		return avenc_err(ret);
	return drain(e);
}

int mix_aac_enc_push(struct mix_aac_enc *e, const int16_t *pcm, int n, int64_t first)
{
	if (!e || !pcm || n < 0 || n > MAX_PUSH)
		return -EINVAL;
	if (!e->started) {
		e->buf_pts = first;
		e->started = true;
	}
	for (int i = 0; i < n; i++) {
		e->buf[e->fill++] = (float)pcm[i] * (1.0f / 32768.0f);
		if (e->fill == MIX_AAC_FRAME) {
			int ret = encode_buffer(e);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

int mix_aac_enc_pull(struct mix_aac_enc *e, struct mix_packet **out)
{
	*out = NULL;
	if (!e || e->qn == 0)
		return 0;
	*out = e->q[e->qhead];
	e->q[e->qhead] = NULL;
	e->qhead = (e->qhead + 1) % OUT_QUEUE;
	e->qn--;
	return 1;
}
