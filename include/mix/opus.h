/*
 * opus.h - Opus decoding (with packet loss concealment) and encoding with libopus.
 *
 * Everything is 48 kHz mono int16. Decoders accept mono or stereo packets (downmixed) of
 * 2.5..120 ms. Encoders produce one packet per 20 ms frame, voice mode.
 * Each object is single-threaded and owns its libopus state.
 */
#ifndef MIX_OPUS_H
#define MIX_OPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mix/packet.h"

#define MIX_OPUS_MAX_SAMPLES 5760 /* 120 ms at 48 kHz */

/* Samples (at 48 kHz) in one Opus packet from its TOC (RFC 6716 3.1), or -EBADMSG. */
int mix_opus_packet_samples(const uint8_t *data, size_t len);

struct mix_opus_dec;

int mix_opus_dec_alloc(struct mix_opus_dec **out);
void mix_opus_dec_free(struct mix_opus_dec **d);

/* Decodes a packet into pcm (room for MIX_OPUS_MAX_SAMPLES). Returns samples or -EBADMSG. */
int mix_opus_dec_decode(struct mix_opus_dec *d, const uint8_t *data, size_t len, int16_t *pcm);

/* Conceals `samples` lost samples (a multiple of 120, <= MIX_OPUS_MAX_SAMPLES). Returns samples. */
int mix_opus_dec_conceal(struct mix_opus_dec *d, int samples, int16_t *pcm);

/*
 * Decodes the previous packet's inband FEC data from this packet to cover `samples`.
 * -EINVAL for a bad sample count, -EBADMSG for a bad packet.
 */
int mix_opus_dec_decode_fec(struct mix_opus_dec *d, const uint8_t *data, size_t len, int samples,
                            int16_t *pcm);

struct mix_opus_enc_cfg {
	int bitrate_bps;      /* default 32000, 6000..510000 */
	int complexity;       /* 0..10, default 5 */
	bool inband_fec;      /* default false */
	int packet_loss_perc; /* expected loss for FEC, default 0 */
};

void mix_opus_enc_cfg_default(struct mix_opus_enc_cfg *cfg);

struct mix_opus_enc;

int mix_opus_enc_alloc(struct mix_opus_enc **out, const struct mix_opus_enc_cfg *cfg);
void mix_opus_enc_free(struct mix_opus_enc **e);
int mix_opus_enc_set_bitrate(struct mix_opus_enc *e, int bitrate_bps);

/* Encodes 960 samples (20 ms). *out: new packet (caller owns a reference). 0 or -errno. */
int mix_opus_enc_encode(struct mix_opus_enc *e, const int16_t *pcm, int64_t pts_us,
                        struct mix_packet **out);

/* The encoder's lookahead in samples (the pre-skip to write in an OpusHead). */
int mix_opus_enc_lookahead(const struct mix_opus_enc *e);

/* Writes a 19-byte OpusHead (RFC 7845 5.1) for mono 48 kHz with the given pre-skip. */
void mix_opus_head(uint8_t out[19], int preskip);

#endif
