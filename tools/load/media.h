/*
 * media.h - mcu-load's pre-encoded media: a clip read once (VP8 frames and Opus packets, with
 * an RFC 6464 level per Opus packet computed once by decoding it) and, per client, a replay
 * cursor that hands out the clip's packets when they are due, looping forever, with the
 * client's own RTP timestamps. Nothing is encoded per client.
 *
 * Threads: a clip is immutable after clip_load() and may be shared by every client (and
 * thread). A replay is owned by one client and used on the GLib loop thread only.
 */
#ifndef LOAD_MEDIA_H
#define LOAD_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLIP_MAX_BYTES   (256u << 20)
#define CLIP_MAX_PACKETS (1 << 20)

struct clip_pkt {
	uint32_t off, size; /* into clip->data */
	int64_t pts_us;     /* from the clip's start */
	bool key;           /* video: a keyframe */
	uint8_t level;      /* audio: RFC 6464 level, 0..127 (-dBov) */
};

struct clip {
	uint8_t *data;
	size_t len, cap;
	struct clip_pkt *video, *audio;
	int nvideo, naudio, vcap, acap;
	int64_t period_us; /* loop length: both streams restart together every period */
	double fps;        /* the video's mean frame rate */
};

/*
 * Reads the first VP8 stream of video_path and the first Opus stream of audio_path (either may
 * be NULL; both may name the same file) into memory. The first video frame must be a keyframe.
 * 0, or a negative errno with a message in err.
 */
int clip_load(struct clip **out, const char *video_path, const char *audio_path, char *err,
              size_t errlen);
void clip_free(struct clip **c);

enum replay_kind { REPLAY_VIDEO, REPLAY_AUDIO };

/* A packet due now, as it goes on the wire (before RTP packetization). */
struct replay_pkt {
	enum replay_kind kind;
	const uint8_t *data; /* borrowed from the clip */
	size_t size;
	uint32_t rtp_ts;
	bool key;
	uint8_t level;
};

struct replay {
	const struct clip *clip;
	int64_t start_us;        /* monotonic time of the clip's position 0 */
	int vi, ai;              /* next packet of each stream */
	int64_t vbase, abase;    /* media time of the current loop's start, per stream */
	uint32_t vts0, ats0;     /* random RTP timestamp origins */
	int64_t max_lag_us;      /* the latest a packet was handed out after its due time */
	uint64_t resyncs;        /* times the replay fell more than a second behind and skipped */
	uint64_t keyframe_skips; /* keyframe requests served by skipping to the next keyframe */
};

void replay_init(struct replay *r, const struct clip *clip, int64_t start_us, uint32_t vts0,
                 uint32_t ats0);
/* Returns 1 and fills *p with the next packet due at now_us (call until 0). */
int replay_next(struct replay *r, int64_t now_us, struct replay_pkt *p);
/*
 * A keyframe request (PLI/FIR): the video continues from the clip's next keyframe at once,
 * its media time unchanged (the RTP timestamps stay smooth).
 */
void replay_skip_to_keyframe(struct replay *r);

#endif
