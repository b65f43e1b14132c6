/*
 * opus_dec.c - Opus decoding with libopus: 48 kHz mono int16, loss concealment and inband FEC.
 *
 * Packets are validated from their TOC byte and frame count (RFC 6716 3.1, 3.2) before they
 * reach the decoder; stereo packets are downmixed by libopus. Concealment and FEC cover a
 * caller-given duration that must be a multiple of 2.5 ms (120 samples), <= 120 ms.
 * Single-threaded per object; the object owns its OpusDecoder, callers own the pcm buffers.
 */
#include <errno.h>
#include <stdlib.h>

#include <opus/opus.h>

#include "mix/opus.h"

#define OPUS_RATE       48000
#define OPUS_MIN_FRAME  120       /* 2.5 ms */
#define OPUS_MAX_PACKET (1 << 16) /* far above any real packet: 120 ms of 1275-byte frames */

struct mix_opus_dec {
	OpusDecoder *st;
};

/* RFC 6716 3.1/3.2: samples per frame from the TOC times the frame count. */
int mix_opus_packet_samples(const uint8_t *data, size_t len)
{
	if (!data || len == 0 || len > OPUS_MAX_PACKET)
		return -EBADMSG;
	int n = opus_packet_get_nb_samples(data, (opus_int32)len, OPUS_RATE);
	if (n <= 0 || n > MIX_OPUS_MAX_SAMPLES)
		return -EBADMSG;
	return n;
}

int mix_opus_dec_alloc(struct mix_opus_dec **out)
{
	if (!out)
		return -EINVAL;
	struct mix_opus_dec *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	int err = 0;
	d->st = opus_decoder_create(OPUS_RATE, 1, &err);
	if (!d->st || err != OPUS_OK) {
		free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void mix_opus_dec_free(struct mix_opus_dec **pd)
{
	if (!pd || !*pd)
		return;
	opus_decoder_destroy((*pd)->st);
	free(*pd);
	*pd = NULL;
}

int mix_opus_dec_decode(struct mix_opus_dec *d, const uint8_t *data, size_t len, int16_t *pcm)
{
	if (!d || !pcm)
		return -EINVAL;
	if (mix_opus_packet_samples(data, len) < 0)
		return -EBADMSG;
	int n = opus_decode(d->st, data, (opus_int32)len, pcm, MIX_OPUS_MAX_SAMPLES, 0);
	return n < 0 ? -EBADMSG : n;
}

static bool valid_span(int samples)
{
	return samples > 0 && samples <= MIX_OPUS_MAX_SAMPLES && samples % OPUS_MIN_FRAME == 0;
}

int mix_opus_dec_conceal(struct mix_opus_dec *d, int samples, int16_t *pcm)
{
	if (!d || !pcm || !valid_span(samples))
		return -EINVAL;
	int n = opus_decode(d->st, NULL, 0, pcm, samples, 0);
	return n < 0 ? -EBADMSG : n;
}

int mix_opus_dec_decode_fec(struct mix_opus_dec *d, const uint8_t *data, size_t len, int samples,
                            int16_t *pcm)
{
	if (!d || !pcm || !valid_span(samples))
		return -EINVAL;
	if (mix_opus_packet_samples(data, len) < 0)
		return -EBADMSG;
	int n = opus_decode(d->st, data, (opus_int32)len, pcm, samples, 1);
	return n < 0 ? -EBADMSG : n;
}
