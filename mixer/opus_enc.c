/*
 * opus_enc.c - Opus encoding with libopus: 48 kHz mono, 20 ms frames, VoIP/voice mode, VBR.
 *
 * One packet per 960-sample frame (RFC 6716), bitrate changeable live, optional inband FEC
 * tuned by the expected loss. Also writes the OpusHead identification header of RFC 7845
 * 5.1 for recordings. Single-threaded per object; the object owns its OpusEncoder; output
 * packets belong to the caller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "mix/opus.h"

#define OPUS_RATE     48000
#define FRAME_SAMPLES 960 /* 20 ms */
#define FRAME_US      20000
#define MAX_PACKET    1500
#define MIN_BPS       6000
#define MAX_BPS       510000

struct mix_opus_enc {
	OpusEncoder *st;
	int lookahead; /* samples, fixed for the application mode */
};

void mix_opus_enc_cfg_default(struct mix_opus_enc_cfg *cfg)
{
	cfg->bitrate_bps = 32000;
	cfg->complexity = 5;
	cfg->inband_fec = false;
	cfg->packet_loss_perc = 0;
}

static int check_cfg(const struct mix_opus_enc_cfg *c)
{
	if (c->bitrate_bps < MIN_BPS || c->bitrate_bps > MAX_BPS)
		return -EINVAL;
	if (c->complexity < 0 || c->complexity > 10)
		return -EINVAL;
	if (c->packet_loss_perc < 0 || c->packet_loss_perc > 100)
		return -EINVAL;
	return 0;
}

static int set_controls(OpusEncoder *st, const struct mix_opus_enc_cfg *c)
{
	int bad = 0;
	bad |= opus_encoder_ctl(st, OPUS_SET_BITRATE(c->bitrate_bps)) != OPUS_OK;
	bad |= opus_encoder_ctl(st, OPUS_SET_COMPLEXITY(c->complexity)) != OPUS_OK;
	bad |= opus_encoder_ctl(st, OPUS_SET_INBAND_FEC(c->inband_fec ? 1 : 0)) != OPUS_OK;
	bad |= opus_encoder_ctl(st, OPUS_SET_PACKET_LOSS_PERC(c->packet_loss_perc)) != OPUS_OK;
	bad |= opus_encoder_ctl(st, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)) != OPUS_OK;
	bad |= opus_encoder_ctl(st, OPUS_SET_VBR(1)) != OPUS_OK;
	bad |= opus_encoder_ctl(st, OPUS_SET_VBR_CONSTRAINT(1)) != OPUS_OK;
	return bad ? -EINVAL : 0;
}

int mix_opus_enc_alloc(struct mix_opus_enc **out, const struct mix_opus_enc_cfg *cfg)
{
	if (!out || !cfg || check_cfg(cfg))
		return -EINVAL;
	struct mix_opus_enc *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	int err = 0;
	e->st = opus_encoder_create(OPUS_RATE, 1, OPUS_APPLICATION_VOIP, &err);
	if (!e->st || err != OPUS_OK) {
		free(e);
		return -ENOMEM;
	}
	opus_int32 la = 0;
	if (set_controls(e->st, cfg) || opus_encoder_ctl(e->st, OPUS_GET_LOOKAHEAD(&la))) {
		mix_opus_enc_free(&e);
		return -EINVAL;
	}
	e->lookahead = (int)la;
	*out = e;
	return 0;
}

void mix_opus_enc_free(struct mix_opus_enc **pe)
{
	if (!pe || !*pe)
		return;
	opus_encoder_destroy((*pe)->st);
	free(*pe);
	*pe = NULL;
}

int mix_opus_enc_set_bitrate(struct mix_opus_enc *e, int bitrate_bps)
{
	if (!e || bitrate_bps < MIN_BPS || bitrate_bps > MAX_BPS)
		return -EINVAL;
	if (opus_encoder_ctl(e->st, OPUS_SET_BITRATE(bitrate_bps)) != OPUS_OK)
		return -EINVAL;
	return 0;
}

int mix_opus_enc_encode(struct mix_opus_enc *e, const int16_t *pcm, int64_t pts_us,
                        struct mix_packet **out)
{
	if (!e || !pcm || !out)
		return -EINVAL;
	*out = NULL;
	uint8_t buf[MAX_PACKET];
	opus_int32 n = opus_encode(e->st, pcm, FRAME_SAMPLES, buf, MAX_PACKET);
	if (n <= 0)
		return -EIO;
	struct mix_packet *p = mix_packet_copy(buf, (size_t)n);
	if (!p)
		return -ENOMEM;
	p->kind = MIX_AUDIO;
	p->pts_us = pts_us;
	p->duration_us = FRAME_US;
	p->keyframe = false;
	*out = p;
	return 0;
}

int mix_opus_enc_lookahead(const struct mix_opus_enc *e)
{
	return e ? e->lookahead : 0;
}

static void wr_le16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)(v >> 8 & 0xff);
}

static void wr_le32(uint8_t *p, uint32_t v)
{
	wr_le16(p, v & 0xffff);
	wr_le16(p + 2, v >> 16);
}

/* RFC 7845 5.1: magic, version 1, channels, pre-skip, input rate, gain 0, mapping family 0. */
void mix_opus_head(uint8_t out[19], int preskip)
{
	memcpy(out, "OpusHead", 8);
	out[8] = 1;
	out[9] = 1;
	wr_le16(out + 10, preskip < 0 ? 0 : preskip > 0xffff ? 0xffff : (unsigned)preskip);
	wr_le32(out + 12, OPUS_RATE);
	wr_le16(out + 16, 0);
	out[18] = 0;
}
