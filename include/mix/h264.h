/*
 * h264.h - H.264 encoding with libavcodec's "libx264", for MP4 recordings.
 *
 * Settings: preset superfast, tune zerolatency (no B-frames, no lookahead: one packet out per
 * picture in), one thread, yuv420p (BT.601 limited range, like the compositor's canvas),
 * VBV-constrained bitrate (max rate = target, 1 s buffer: CBR-ish), an IDR every 2 s and on
 * request (coalesced to at most one per second, like the VP8 encoder). Packets are Annex B;
 * every keyframe carries SPS and PPS in band, so a muxer builds the avcC from the first one.
 * The size is fixed for the encoder's life; the bitrate changes live.
 *
 * libx264 may be missing from an FFmpeg build: mix_h264_available() tells (a runtime probe),
 * and mix_h264_enc_alloc() then fails with -ENOTSUP.
 * Each object is single-threaded and owns its AVCodecContext; pictures are borrowed for the
 * call, output packets belong to the caller.
 */
#ifndef MIX_H264_H
#define MIX_H264_H

#include <stdbool.h>
#include <stdint.h>

#include "mix/packet.h"
#include "mix/picture.h"

/* Whether this FFmpeg has the libx264 encoder. Any thread. */
bool mix_h264_available(void);

struct mix_h264_enc_cfg {
	int width, height; /* even, 16..4096 */
	int fps;           /* 1..60 */
	int bitrate_bps;   /* 10 kbit/s .. 100 Mbit/s */
};

struct mix_h264_enc;

/* 0, -EINVAL (bad config), -ENOTSUP (no libx264), -ENOMEM or -EIO (libx264 refused). */
int mix_h264_enc_alloc(struct mix_h264_enc **out, const struct mix_h264_enc_cfg *cfg);
void mix_h264_enc_free(struct mix_h264_enc **e);

/* Changes the target (and VBV) bitrate; applied from the next picture. */
int mix_h264_enc_set_bitrate(struct mix_h264_enc *e, int bitrate_bps);

/* Asks for an IDR; honoured at the next encode at least 1 s after the previous keyframe. */
void mix_h264_enc_request_keyframe(struct mix_h264_enc *e);

/*
 * Encodes one picture of the configured size at pts_us (increasing; a non-increasing pts is
 * moved forward). *out is a new packet (caller owns one reference) or NULL if the encoder
 * gave none for this picture. 0 or negative errno.
 */
int mix_h264_enc_encode(struct mix_h264_enc *e, const struct mix_picture *pic, int64_t pts_us,
                        struct mix_packet **out);

/* Keyframes produced so far (for stats and tests). */
int mix_h264_enc_keyframes(const struct mix_h264_enc *e);

#endif
