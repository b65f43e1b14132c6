/*
 * recv.h - what one mcu-load client receives from the mix: RTP packets counted by payload
 * type, loss from sequence gaps (RFC 3550 A.3: expected from the extended highest sequence
 * number, no retransmissions are asked for, so this is the loss on the wire), video frames
 * (a packet with the marker bit ends one) and the gaps between them (freezes), and optionally
 * real decoding (VP8 reassembly + libvpx, Opus) to prove the stream is decodable.
 *
 * Threads: owned by one client, GLib loop thread only. Windows: recv_snap() copies counters;
 * the difference of two snapshots is a window (frame rate, loss); the longest gap is reset per
 * window with recv_window_reset().
 */
#ifndef LOAD_RECV_H
#define LOAD_RECV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vp8_asm;
struct mix_vp8_dec;
struct mix_opus_dec;

struct recv_seq {
	bool started;
	uint32_t ssrc;
	uint16_t max_seq;
	uint32_t cycles;
	uint32_t base;     /* extended sequence number of the first packet */
	uint64_t received; /* packets, duplicates included (RFC 3550 A.3) */
};

struct recv {
	int video_pt, audio_pt;
	int64_t freeze_us; /* a gap between video frames longer than this is a freeze */
	struct recv_seq vseq, aseq;
	uint64_t video_pkts, audio_pkts, other_pkts, bad_pkts, bytes;
	uint64_t frames, keyframes; /* video frames by marker bit; keyframes seen by peeking */
	int64_t first_frame_us, last_frame_us;
	int64_t win_max_gap_us; /* longest gap between frames since recv_window_reset */
	int64_t max_gap_us;     /* longest gap between frames, ever */
	uint64_t freezes;       /* gaps longer than freeze_us, ever */
	bool want_keyframe;     /* a video gap, or the decoder waits for a keyframe: send a PLI */
	/* decoding (only when enabled) */
	struct vp8_asm *vasm;
	struct mix_vp8_dec *vdec;
	struct mix_opus_dec *adec;
	int16_t *pcm;
	uint64_t decoded_frames, decoded_audio;
	uint64_t decode_errors; /* corrupt or oversized frames (not: waiting for a keyframe) */
	int width, height;      /* of the last decoded picture */
};

struct recv_snap {
	int64_t t_us;
	uint64_t video_pkts, audio_pkts, frames, freezes, decoded_frames, decoded_audio;
	uint64_t vexpected, vreceived, aexpected, areceived;
	int64_t max_gap_us; /* the window's longest gap, counting an ongoing one up to t_us */
};

/* decode: also reassemble and decode (costs a VP8 decoder per client). 0 or -ENOMEM. */
int recv_init(struct recv *r, int video_pt, int audio_pt, int64_t freeze_us, bool decode);
void recv_free(struct recv *r);
/* One unprotected RTP packet (not RTCP). */
void recv_on_rtp(struct recv *r, const uint8_t *pkt, size_t len, int64_t now_us);
void recv_window_reset(struct recv *r, int64_t now_us);
void recv_snap(const struct recv *r, int64_t now_us, struct recv_snap *s);
/* For RTCP receiver reports: cumulative loss and extended highest sequence of one stream. */
void recv_seq_report(const struct recv_seq *s, int32_t *lost, uint32_t *ext_max);

#endif
