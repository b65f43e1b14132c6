/*
 * vp8_rtp.h - VP8 RTP payload format (RFC 7741): descriptor parsing, frame reassembly from
 * packets in sequence order, and packetization.
 *
 * The assembler is fed packets in sequence order (after the reorder buffer) and emits complete
 * frames: a frame starts at a packet with S=1 and PID=0 and ends at the marker bit; a timestamp
 * change before the marker drops the incomplete frame. A sequence gap inside a frame drops that
 * frame; a gap anywhere flags the next complete frame loss_before so the decoder waits for a
 * keyframe. Frames are capped in size.
 * One assembler per inbound video stream, single-threaded; it owns its frame buffer.
 * The packetizer is a pure function.
 */
#ifndef MCU_VP8_RTP_H
#define MCU_VP8_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vp8_desc {
	bool start;     /* S bit */
	int partition;  /* PID */
	bool non_ref;   /* N bit */
	int picture_id; /* -1 if absent */
	int tl0picidx;  /* -1 if absent */
	int tid;        /* -1 if absent */
	size_t size;    /* descriptor length: the VP8 payload starts here */
};

/* Parses the payload descriptor (RFC 7741 4.2). 0, or -EBADMSG (also for an empty payload). */
int vp8_desc_parse(const uint8_t *p, size_t len, struct vp8_desc *d);

/*
 * Whether an RTP payload (descriptor included) starts a VP8 keyframe (S=1, PID=0, the frame
 * tag's P bit 0, the start code), and the size its header announces (RFC 6386 9.1-9.2), read
 * from this one packet without reassembly: 1 and *w, *h (1..16383), else 0.
 */
int vp8_rtp_keyframe_size(const uint8_t *p, size_t len, int *w, int *h);

struct vp8_frame {
	const uint8_t *data; /* borrowed from the assembler, valid until its next push */
	size_t size;
	uint32_t ts;
	bool keyframe;
	bool loss_before; /* frames (or parts) were lost since the previous emitted frame */
};

struct vp8_asm;

int vp8_asm_alloc(struct vp8_asm **out, size_t max_frame);
void vp8_asm_free(struct vp8_asm **a);

/*
 * Pushes one RTP payload in sequence order. Returns 1 and fills *f when this packet completes a
 * frame, 0 when more is needed or the packet was dropped, -EBADMSG for a bad descriptor (the
 * frame is dropped), -E2BIG when the frame exceeds max_frame (the frame is dropped), -ENOMEM,
 * -EINVAL. An empty payload (padding only) just advances the sequence number; an exact
 * duplicate of the previous sequence number is ignored.
 */
int vp8_asm_push(struct vp8_asm *a, uint16_t seq, uint32_t ts, bool marker, const uint8_t *payload,
                 size_t len, struct vp8_frame *f);

/* Frames dropped so far because of gaps, bad descriptors or size. */
uint64_t vp8_asm_dropped(const struct vp8_asm *a);

/*
 * Splits a frame into RTP payloads of at most max_payload bytes, each with a 4-byte descriptor
 * (X=1, I=1, 15-bit picture_id), calling emit for each (last one with marker = true).
 * Payload sizes are balanced. Returns the number of packets or a negative errno.
 */
int vp8_packetize(const uint8_t *frame, size_t len, size_t max_payload, uint16_t picture_id,
                  bool keyframe,
                  int (*emit)(void *opaque, const uint8_t *payload, size_t len, bool marker),
                  void *opaque);

/*
 * The same packets without copying: emit gets each packet's payload descriptor (desc_len
 * bytes) and the offset and length of the frame's part that follows it. Returns the number of
 * packets or a negative errno.
 */
int vp8_packetize_parts(size_t len, size_t max_payload, uint16_t picture_id,
                        int (*emit_fn)(void *opaque, const uint8_t *desc, size_t desc_len,
                                       size_t off, size_t n, bool marker),
                        void *opaque);

#endif
