/*
 * vp8.h - VP8 decoding and encoding with libvpx, and a bounds-checked frame header peek.
 *
 * Decoder: shows no picture libvpx detects as corrupt (VP8 has no checksum). After a decode error
 * or a reported loss it refuses inter frames (-EAGAIN: "keyframe needed") until the next keyframe
 * decodes. Frames larger than the configured cap are refused (-E2BIG) without being handed to
 * libvpx. Encoder: realtime, CBR, libwebrtc-like settings; one thread; keyframe requests coalesced
 * to at most one per second; bitrate changeable live; size fixed for the encoder's life (recreate
 * to resize: reconfiguring a live encoder's size is how CVE-2023-5217 was reached). Each object is
 * single-threaded; it owns its libvpx context.
 */
#ifndef MIX_VP8_H
#define MIX_VP8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mix/packet.h"
#include "mix/picture.h"

#define MIX_VP8_MAX_W 1920
#define MIX_VP8_MAX_H 1088

struct mix_vp8_info {
	bool keyframe;
	int width, height; /* only for keyframes, else 0 */
};

/*
 * Parses the VP8 frame tag (RFC 6386 9.1). 0, or -EBADMSG for a truncated/invalid header
 * (also: version > 3, zero width or height, first partition past the end).
 */
int mix_vp8_peek(const uint8_t *data, size_t len, struct mix_vp8_info *info);

struct mix_vp8_dec;

/* max_w/max_h: the size cap (0 = MIX_VP8_MAX_W/H). */
int mix_vp8_dec_alloc(struct mix_vp8_dec **out, int max_w, int max_h);
void mix_vp8_dec_free(struct mix_vp8_dec **d);

/*
 * Decodes one complete frame. On success returns 0 and sets *pic to the new picture (borrowed,
 * valid until the next decode call or free). Returns -EAGAIN if a keyframe is needed first
 * (the frame is not decoded), -E2BIG if over the size cap, -EBADMSG on a corrupt frame (after
 * either the decoder needs a keyframe), -ENODATA if the frame decoded but shows nothing (a
 * hidden frame; state intact), -EINVAL for NULL arguments. *pic is left untouched on error.
 */
int mix_vp8_dec_decode(struct mix_vp8_dec *d, const uint8_t *data, size_t len,
                       struct mix_picture *pic);

/* Tells the decoder frames were lost: it will wait for a keyframe. */
void mix_vp8_dec_mark_loss(struct mix_vp8_dec *d);
bool mix_vp8_dec_needs_keyframe(const struct mix_vp8_dec *d);

struct mix_vp8_enc_cfg {
	int width, height; /* even, 16..4096 */
	int fps;           /* 1..60 */
	int bitrate_bps;   /* target, 10 kbit/s .. 100 Mbit/s */
	int cpu_used;      /* 0 = automatic: -8 above 320x180, -6 at or below */
};

struct mix_vp8_enc;

int mix_vp8_enc_alloc(struct mix_vp8_enc **out, const struct mix_vp8_enc_cfg *cfg);
void mix_vp8_enc_free(struct mix_vp8_enc **e);

/* Changes the target bitrate of a running encoder. */
int mix_vp8_enc_set_bitrate(struct mix_vp8_enc *e, int bitrate_bps);

/* Asks for a keyframe; honoured at the next encode at least 1 s after the previous keyframe. */
void mix_vp8_enc_request_keyframe(struct mix_vp8_enc *e);
/* The same, honoured min_gap_us after the previous keyframe (e.g. MIX_KF_JOIN_GAP_US for a
 * newcomer); pending requests are served at the smallest of their gaps. */
void mix_vp8_enc_request_keyframe_gap(struct mix_vp8_enc *e, int64_t min_gap_us);

/*
 * Encodes one picture of the configured size with presentation time pts_us (increasing; a
 * non-increasing pts is moved forward).
 * *out is a new packet (caller owns one reference) or NULL if the rate control dropped the
 * frame. 0 or negative errno.
 */
int mix_vp8_enc_encode(struct mix_vp8_enc *e, const struct mix_picture *pic, int64_t pts_us,
                       struct mix_packet **out);

/* Keyframes produced so far (for stats and tests). */
int mix_vp8_enc_keyframes(const struct mix_vp8_enc *e);

#endif
