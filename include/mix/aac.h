/*
 * aac.h - AAC-LC encoding with libavcodec's native "aac" encoder, for MP4 recordings.
 *
 * Input is the engine's audio: 48 kHz mono int16 in 20 ms ticks (960 samples). AAC frames are
 * 1024 samples, so input is buffered and a tick gives zero or one packet (rarely more).
 * Timestamps follow the engine's convention for audio (mix/engine.h): a packet's pts is the
 * time of its first DECODED sample; the encoder's priming (mix_aac_enc_delay, 1024 samples)
 * delays everything, so the first packet starts that many samples before the first input
 * sample, and a muxer must skip them (an MP4 edit list does).
 * The AudioSpecificConfig (mix_aac_enc_extradata) depends only on the configuration.
 *
 * The native encoder may be missing from an FFmpeg build: mix_aac_available() tells (a
 * runtime probe) and mix_aac_enc_alloc() then fails with -ENOTSUP.
 * Each object is single-threaded and owns its AVCodecContext and sample FIFO; output packets
 * belong to the caller.
 */
#ifndef MIX_AAC_H
#define MIX_AAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mix/packet.h"

#define MIX_AAC_FRAME 1024 /* samples per AAC frame */

/* Whether this FFmpeg has the native aac encoder. Any thread. */
bool mix_aac_available(void);

struct mix_aac_enc_cfg {
	int bitrate_bps; /* default 96000, 16000..320000 */
};

void mix_aac_enc_cfg_default(struct mix_aac_enc_cfg *cfg);

struct mix_aac_enc;

/* 0, -EINVAL (bad config), -ENOTSUP (no aac encoder), -ENOMEM or -EIO. */
int mix_aac_enc_alloc(struct mix_aac_enc **out, const struct mix_aac_enc_cfg *cfg);
void mix_aac_enc_free(struct mix_aac_enc **e);

/*
 * Appends n samples (n <= 4096); the first push fixes the clock: `first` is the sample index
 * (at 48 kHz on the caller's media clock) of pcm[0]; later pushes are taken as contiguous.
 * Encodes every complete frame. 0 or -errno; after an error, pull what is ready.
 */
int mix_aac_enc_push(struct mix_aac_enc *e, const int16_t *pcm, int n, int64_t first);

/* The next encoded packet: returns 1 and sets *out (caller owns it), or 0 if none is ready. */
int mix_aac_enc_pull(struct mix_aac_enc *e, struct mix_packet **out);

/* The encoder's priming in samples (the pre-skip a reader must drop). */
int mix_aac_enc_delay(const struct mix_aac_enc *e);

/* The AudioSpecificConfig (borrowed, valid for the encoder's life); returns its size. */
size_t mix_aac_enc_extradata(const struct mix_aac_enc *e, const uint8_t **data);

#endif
