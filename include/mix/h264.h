/*
 * h264.h - H.264 decoding with libavcodec's "h264" decoder (participants that send H.264, as
 * WebRTC browsers do) and encoding with libavcodec's "libx264" (WebRTC recipients and MP4
 * recordings).
 *
 * Decoder: the contract of the VP8 decoder (mix/vp8.h). Input is one complete access unit in
 * Annex B (start codes), at most MIX_H264_MAX_AU bytes; whatever libavcodec's h264 decoder
 * handles is accepted (Constrained Baseline from browsers, Main, High), as long as it decodes to
 * 8-bit 4:2:0 (yuv420p or yuvj420p): 4:2:2, 4:4:4, monochrome and high bit depth pictures are
 * refused with -EBADMSG, not converted. Pictures over the size cap are refused (-E2BIG), checked
 * on the SPS before the decoder sees the access unit and again on the decoded frame. No frame
 * libavcodec flags corrupt is shown (error concealment is never shown). After a decode error or
 * a reported loss, access units with slices but without an IDR slice (NAL type 5) are refused
 * with -EAGAIN until an IDR decodes; parameter sets and SEI alone are always decoded. One
 * thread, low delay: the picture of an access unit comes out of the call that decoded it.
 *
 * Encoder settings: Constrained Baseline (profile=baseline: no CABAC, no B-frames, no 8x8
 * transform; what every WebRTC H.264 recipient decodes, and fine for MP4), the level libx264
 * derives from the size, frame rate and VBV (3.1 at 1280x720/30, 4.0 at 1920x1080/30), preset
 * superfast, tune zerolatency (no lookahead: one packet out per picture in), no intra refresh, one
 * thread, yuv420p (BT.601 limited range, like the compositor's canvas), VBV-constrained bitrate
 * (max rate = target, 1 s buffer: CBR-ish), an IDR every 2 s and on request (coalesced to at most
 * one per second, like the VP8 encoder). Packets are Annex B access units; every IDR carries SPS
 * and PPS in band right before it (repeat headers, no global header), so a WebRTC recipient can
 * start at any IDR and a muxer builds the avcC from the first one. The size is fixed for the
 * encoder's life; the bitrate changes live.
 *
 * libx264 may be missing from an FFmpeg build: mix_h264_available() tells (a runtime probe),
 * and mix_h264_enc_alloc() then fails with -ENOTSUP.
 * Each object is single-threaded and owns its AVCodecContext(s); pictures given to the encoder
 * are borrowed for the call, its output packets belong to the caller; the decoder's pictures
 * are borrowed from it (valid until its next decode call or free).
 */
#ifndef MIX_H264_H
#define MIX_H264_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mix/packet.h"
#include "mix/picture.h"

/* The largest access unit the decoder accepts (a 1080p IDR at a high rate is well under). */
#define MIX_H264_MAX_AU (4u << 20)

struct mix_h264_dec;

/* max_w/max_h: the size cap (0 = MIX_VP8_MAX_W/H, 1920x1088). -EINVAL, -ENOMEM, -ENOTSUP (no
 * h264 decoder in this FFmpeg). */
int mix_h264_dec_alloc(struct mix_h264_dec **out, int max_w, int max_h);
void mix_h264_dec_free(struct mix_h264_dec **d);

/*
 * Decodes one complete access unit in Annex B. Returns as mix_vp8_dec_decode: 0 and *pic (borrowed,
 * valid until the next decode call or free), -EAGAIN if an IDR is needed first (not decoded),
 * -E2BIG if the picture is over the size cap (or the access unit over MIX_H264_MAX_AU bytes),
 * -EBADMSG if corrupt, not 4:2:0 8-bit, or holding no NAL unit (after -E2BIG or -EBADMSG the
 * decoder waits for an IDR), -ENODATA if nothing is shown (parameter sets only; state intact),
 * -ENOMEM, -EINVAL for NULL arguments. *pic is left untouched on error.
 */
int mix_h264_dec_decode(struct mix_h264_dec *d, const uint8_t *data, size_t len,
                        struct mix_picture *pic);

/* Tells the decoder access units were lost: it will wait for an IDR. */
void mix_h264_dec_mark_loss(struct mix_h264_dec *d);
bool mix_h264_dec_needs_keyframe(const struct mix_h264_dec *d);

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
/* The same, honoured min_gap_us after the previous keyframe (as mix_vp8_enc_request_keyframe_gap).
 */
void mix_h264_enc_request_keyframe_gap(struct mix_h264_enc *e, int64_t min_gap_us);

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
