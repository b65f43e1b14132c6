/*
 * fuzz_opus.c - libFuzzer target for Opus packet validation and decoding (mixer/opus_dec.c):
 * mix_opus_packet_samples (the TOC and frame-count check, RFC 6716 3.1/3.2) and, through a
 * fresh decoder, mix_opus_dec_decode, the inband-FEC decode and a short concealment.
 * Invariants: a packet the TOC check accepts decodes to at most MIX_OPUS_MAX_SAMPLES, and one it
 * rejects is rejected by the decoder too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "failalloc.h"
#include "mix/opus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int16_t pcm[MIX_OPUS_MAX_SAMPLES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	failalloc_reset(data, size);
	int samples = mix_opus_packet_samples(data, size);
	if (samples != -EBADMSG && (samples < 120 || samples > MIX_OPUS_MAX_SAMPLES))
		abort();
	struct mix_opus_dec *d = NULL;
	int rc = mix_opus_dec_alloc(&d);
	if (rc == -ENOMEM) /* FUZZ_FAIL_ALLOC */
		return 0;
	if (rc != 0)
		abort();
	int n = mix_opus_dec_decode(d, data, size, pcm);
	if (samples < 0 && n != -EBADMSG)
		abort();
	if (n >= 0 && (n > MIX_OPUS_MAX_SAMPLES || n != samples))
		abort();
	if (samples > 0) {
		int f = mix_opus_dec_decode_fec(d, data, size, 960, pcm);
		if (f > 960)
			abort();
	}
	if (mix_opus_dec_conceal(d, 960, pcm) > 960)
		abort();
	mix_opus_dec_free(&d);
	return 0;
}
