/*
 * h264_rtp.h - H.264 RTP payload format (RFC 6184), packetization-mode 1 (non-interleaved):
 * access-unit reassembly from packets in sequence order, and packetization of an Annex B access
 * unit into single NAL unit packets and FU-A fragments.
 *
 * The assembler is fed packets in sequence order (after the reorder buffer) and emits complete
 * access units as Annex B (a 4-byte start code before each NAL): single NAL unit packets (types
 * 1-23), STAP-A (24) and FU-A (28) are accepted; STAP-B, MTAP16/24, FU-B and the reserved types
 * are bad payloads. An access unit is the NALs of one RTP timestamp and ends at the marker bit;
 * a timestamp change before the marker drops the incomplete one (as vp8_asm: a sender that never
 * sets the marker gets nothing through). A sequence gap inside an access unit drops it; a gap
 * anywhere flags the next complete one loss_before so the decoder waits for a keyframe (H.264
 * has no start-of-frame bit: a frame whose first packets were lost between two frames is only
 * caught by that flag). Access units are capped in size.
 * One assembler per inbound video stream, single-threaded; it owns its frame buffer.
 * The packetizer is a pure function over the caller's bytes.
 */
#ifndef MCU_H264_RTP_H
#define MCU_H264_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct h264_frame {
	const uint8_t *data; /* Annex B access unit, borrowed until the assembler's next push */
	size_t size;
	uint32_t ts;
	bool keyframe;    /* holds an IDR slice (NAL type 5) */
	bool loss_before; /* frames (or parts) were lost since the previous emitted frame */
};

struct h264_asm;

int h264_asm_alloc(struct h264_asm **out, size_t max_frame);
void h264_asm_free(struct h264_asm **a);

/*
 * Pushes one RTP payload in sequence order. Returns 1 and fills *f when this packet completes an
 * access unit, 0 when more is needed or the packet was dropped, -EBADMSG for a bad payload (bad
 * or unsupported NAL type, forbidden_zero bit, truncated STAP-A, an FU-A broken without a
 * sequence gap; the access unit is dropped), -E2BIG when the access unit exceeds max_frame (it
 * is dropped), -ENOMEM, -EINVAL. An empty payload (padding only) just advances the sequence
 * number; an exact duplicate of the previous sequence number is ignored. After a drop, the
 * other packets of that timestamp are ignored.
 */
int h264_asm_push(struct h264_asm *a, uint16_t seq, uint32_t ts, bool marker,
                  const uint8_t *payload, size_t len, struct h264_frame *f);

/* Access units dropped so far because of gaps, bad payloads or size. */
uint64_t h264_asm_dropped(const struct h264_asm *a);

/*
 * Splits an Annex B access unit (3- or 4-byte start codes, as libx264 writes; zero bytes before
 * the first start code and after each NAL are not part of any NAL) into RTP payloads of at most
 * max_payload bytes (at least 3; capped at 1500): a NAL that fits is one single NAL unit packet,
 * a larger one FU-A fragments of balanced sizes. Nothing is copied: emit_fn gets each packet's
 * prefix (none for a single NAL unit packet, FU indicator + FU header for a fragment) and the
 * offset and length of the access unit's bytes that follow it (a fragment skips the NAL header
 * byte); the last packet has marker = true. The whole access unit is checked before the first
 * call. Returns the number of packets, -EINVAL for bad arguments, no NAL or non-zero bytes before
 * the first start code, -EBADMSG for a NAL with the forbidden_zero bit or a type outside 1-23,
 * -E2BIG, or emit_fn's negative return (which stops it).
 */
int h264_packetize_parts(const uint8_t *au, size_t len, size_t max_payload,
                         int (*emit_fn)(void *opaque, const uint8_t *prefix, size_t prefix_len,
                                        size_t off, size_t n, bool marker),
                         void *opaque);

/* The same packets, each copied into one buffer for emit (for tests and tools). */
int h264_packetize(const uint8_t *au, size_t len, size_t max_payload,
                   int (*emit)(void *opaque, const uint8_t *payload, size_t len, bool marker),
                   void *opaque);

/*
 * Iterates over the NALs of an Annex B buffer: start with *pos = 0; each call returns true with
 * the next non-empty NAL at au + *off, *n bytes (header byte included, trailing zero bytes
 * excluded), or false at the end. Bytes before the first start code are skipped.
 */
bool h264_annexb_next(const uint8_t *au, size_t len, size_t *pos, size_t *off, size_t *n);

/* Whether an Annex B access unit holds an IDR slice (NAL type 5). */
bool h264_au_is_keyframe(const uint8_t *au, size_t len);

#endif
