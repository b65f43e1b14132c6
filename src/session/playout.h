/*
 * playout.h - a participant's adaptive playout delay: how far behind the fastest recent arrival
 * its media is played, measured rather than fixed (the role of NetEq's delay manager).
 *
 * Each in-order packet reports its lateness: how much later it arrived than the fastest packet
 * of its stream in the last one to two seconds (arrival - RTP time, against the smallest such
 * transit). Over the last 4 to 8 seconds, the video target is the video packets' 99th
 * percentile of that lateness plus a small margin; the audio target is the audio packets' 99.9th
 * percentile (a late audio packet is a concealed one) plus the margin, plus one audio packet time
 * while audio losses are recent (so the next packet's Opus FEC arrives before the lost one is due),
 * and at least the video target less PLAYOUT_AV_MAX_US. Both are clamped to [floor, ceiling]. A
 * rise shows as soon as enough late packets are counted; a fall only once the late ones leave the
 * window. The mapping in peer_in.c decides when a change is applied (audio only in silence, or when
 * packets are late). Each medium plays at its own delay, so audio never waits for video's larger
 * jitter (its packets are paced over each frame), within PLAYOUT_AV_MAX_US of the other's: audio
 * rises to the video target less that, and video to the audio's delay less that. Its loop only (the
 * peer's); embedded in struct peer, no allocation.
 */
#ifndef MCU_PLAYOUT_H
#define MCU_PLAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#define PLAYOUT_BUCKETS   256     /* 1 ms each; the last counts everything later */
#define PLAYOUT_HALF_US   4000000 /* the window is this and the previous half */
#define PLAYOUT_MARGIN_US 2000
#define PLAYOUT_FEC_US    20000    /* while losses are recent: one audio packet more */
#define PLAYOUT_LOSS_US   10000000 /* "recent" */
#define PLAYOUT_AV_MAX_US 30000    /* the most one medium's delay may differ from the other's */

struct playout_hist {
	uint16_t n[2][PLAYOUT_BUCKETS]; /* current and previous half */
	uint32_t total[2];
};

struct playout {
	int64_t floor_us, ceil_us;
	struct playout_hist audio, video;
	int64_t half_start;
	int64_t last_loss; /* room time of the last audio loss, or INT64_MIN */
	bool started;
};

void playout_init(struct playout *po, int64_t floor_us, int64_t ceil_us);
/* An in-order packet arrived late_us after its stream's fastest recent transit. */
void playout_note(struct playout *po, bool video, int64_t late_us, int64_t now);
/* An in-order audio packet came after a gap in sequence numbers (loss or reordering). */
void playout_note_loss(struct playout *po, int64_t now);
/* The delay wanted now for audio, and for video, in [floor, ceiling] (microseconds). */
int64_t playout_target_audio(const struct playout *po, int64_t now);
int64_t playout_target_video(const struct playout *po);

#endif
