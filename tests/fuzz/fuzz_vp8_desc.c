/*
 * fuzz_vp8_desc.c - libFuzzer target for the VP8 RTP payload descriptor (RFC 7741 4.2,
 * src/rtp/vp8_rtp.c) and the VP8 frame header peek (RFC 6386 9.1, mixer/vp8_peek.c):
 * vp8_desc_parse on the input, mix_vp8_peek on the VP8 payload after the descriptor and on the
 * whole input, and vp8_rtp_keyframe_size on the input. Invariants: the descriptor ends inside the
 * input, fields are in range, a peeked keyframe has non-zero 14-bit dimensions.
 */
#include <stdint.h>
#include <stdlib.h>

#include "failalloc.h"
#include "mix/vp8.h"
#include "rtp/vp8_rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void peek(const uint8_t *p, size_t n)
{
	struct mix_vp8_info info;
	if (mix_vp8_peek(p, n, &info) != 0)
		return;
	if (info.keyframe && (info.width < 1 || info.width > 16383 || info.height < 1 ||
	                      info.height > 16383 || n < 10))
		abort();
	if (!info.keyframe && (info.width != 0 || info.height != 0 || n < 3))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	failalloc_reset(data, size);
	struct vp8_desc d;
	peek(data, size);
	if (vp8_desc_parse(data, size, &d) != 0)
		return 0;
	if (d.size < 1 || d.size >= size || d.partition < 0 || d.partition > 7 ||
	    d.picture_id < -1 || d.picture_id > 0x7fff || d.tl0picidx < -1 || d.tl0picidx > 255 ||
	    d.tid < -1 || d.tid > 3)
		abort();
	peek(data + d.size, size - d.size);
	int w = 0, h = 0;
	int k = vp8_rtp_keyframe_size(data, size, &w, &h);
	if (k != 0 &&
	    (k != 1 || !d.start || d.partition != 0 || w < 1 || w > 16383 || h < 1 || h > 16383))
		abort();
	return 0;
}
