/*
 * ladder.h - the ladder of video outputs a room offers (e.g. 1280x720@30, 640x360@30,
 * 640x360@15, 320x180@15, then audio only), and the choice of one rung per recipient: a ceiling
 * from what its device asks for (the join's receive profile), and below it what its link
 * carries (the browser's bandwidth estimate of our downlink, REMB today). Each rung also has an
 * Opus bitrate, so audio keeps priority on a slow link; audio only uses the lowest rung's.
 *
 * Link rules (struct rung_ctl, fed one estimate at a time, about once a second):
 *   - An estimate only says the link is congested when it falls: a receive-side estimator never
 *     rises above about 1.5 x what it receives, so a low but steady estimate is an
 *     application-limited one (little motion), not a slow link.
 *   - A fall is an estimate below LADDER_FALL x the highest of the last LADDER_PEAK_US. Two
 *     estimates in a row that fall and that the current rung does not fit (its bitrate above
 *     LADDER_HEADROOM x the estimate) move the recipient down at once, to the best rung the
 *     estimate fits, or to audio only below LADDER_FLOOR of the lowest rung's bitrate. A fall
 *     below LADDER_FLOOR x the current rung's bitrate (the rung cannot hold) moves at once.
 *   - Up: one rung at a time, once up_wait has passed since the last such estimate
 *     (LADDER_UP_WAIT at first), with an estimate at least LADDER_FLOOR x the current rung's
 * bitrate; the next step may follow LADDER_STEP_US later. A step up is also the probe of the link:
 * a fall within LADDER_PROBE_US of it doubles up_wait (up to LADDER_UP_MAX); a step held that long
 *     resets it.
 *   - Probe first (probe_first, where the sender can probe with padding, transport-cc): instead
 *     of stepping up, the estimate returns RUNG_PROBE with the rung it would step to; the caller
 *     sends that much more for a moment and reports with rung_ctl_probe_done: a probe that held
 *     steps up; after one that failed the next comes LADDER_PROBE_AGAIN_US later (it cost a
 *     short queue, not a picture, so it does not back off; libwebrtc probes every 5 s too).
 * Pure functions and plain data, any thread; a rung_ctl belongs to its peer's loop.
 */
#ifndef MCU_LADDER_H
#define MCU_LADDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LADDER_MAX      8
#define LADDER_HEADROOM 0.85 /* share of an estimate a rung's bitrate may take */
/* a rung holds while the estimate is at least this x its bitrate */
#define LADDER_FLOOR          0.5
#define LADDER_UP_WAIT        6000000  /* us */
#define LADDER_UP_MAX         12000000 /* us */
#define LADDER_STEP_US        3000000  /* between two steps up */
#define LADDER_PROBE_US       5000000  /* a fall this soon after a step up: the probe failed */
#define LADDER_FALL           0.9      /* an estimate below this x the recent peak is a fall */
#define LADDER_PEAK_US        5000000  /* how long the peak is remembered */
#define LADDER_PROBE_AGAIN_US 5000000  /* after a failed padding probe, the next one */

/* Opus bitrates (bit/s): the least a rung may have; the defaults of ladder_default_abitrate */
#define LADDER_AUDIO_MIN 6000
#define LADDER_AUDIO_MID 24000 /* below the top two rungs, above the lowest */
#define LADDER_AUDIO_LOW 16000 /* the lowest rung (and so audio only) */

struct rung {
	int width, height, fps, bitrate; /* bitrate in bit/s */
	int abitrate;                    /* the Opus bitrate of this rung, bit/s */
};

/* Rungs from best to worst; index n means audio only. */
struct ladder {
	int n;
	struct rung r[LADDER_MAX];
};

/*
 * Parses "1280x720@30:1500,640x360@15:350:24" (video kbit/s after the first colon, an optional
 * Opus kbit/s after a second), best first, each rung no larger, faster or dearer (video or
 * audio) than the one before, fps dividing engine_fps, sizes even 16..4096, audio
 * 6..audio_bitrate (bit/s, the configured audio bitrate). A rung without an audio part gets
 * ladder_default_abitrate() for its place, at most the rung before's. 0, or -EINVAL with a
 * message in err.
 */
int ladder_parse(const char *spec, int engine_fps, int audio_bitrate, struct ladder *out, char *err,
                 size_t errlen);

/*
 * The default Opus bitrate of rung i of n under a configured audio bitrate: audio_bitrate on
 * the top two rungs, LADDER_AUDIO_LOW on the lowest (when it is not one of those),
 * LADDER_AUDIO_MID between; never above audio_bitrate nor below LADDER_AUDIO_MIN.
 */
int ladder_default_abitrate(int i, int n, int audio_bitrate);

/*
 * The default ladder for an output of w x h at fps and bitrate: itself, half the size, half
 * the size at half the rate, a quarter of the size at half the rate (the rate halved only when
 * fps is even; sizes rounded to even), at 100 %, 40 %, 25 % and 10 % of the bitrate; audio
 * as ladder_default_abitrate() (32, 32, 24 and 16 kbit/s under the default 32000).
 */
void ladder_default(struct ladder *l, int w, int h, int fps, int bitrate, int audio_bitrate);

/* "1280x720@30:1500:32,..." into buf (kbit/s, rounded down), as ladder_parse reads it. */
void ladder_describe(const struct ladder *l, char *buf, size_t n);

/* The Opus bitrate of rung cur (l->n, audio only: the lowest rung's). */
int ladder_abitrate(const struct ladder *l, int cur);

/* What a device asks for; 0 = no limit. */
struct recv_profile {
	int max_width, max_height, max_fps, max_bitrate;
};

/* The best rung the profile allows (the last rung if none fits it). */
int ladder_ceiling(const struct ladder *l, const struct recv_profile *p);

/*
 * The best rung at or below ceiling that an estimate of bps carries with headroom; else the
 * lowest rung while bps is at least LADDER_FLOOR of its bitrate; else l->n (audio only). A
 * rung's bitrate here (and in ladder_need and the link rules) is its video and audio together.
 */
int ladder_fit(const struct ladder *l, int ceiling, uint64_t bps);

/* The smallest estimate (bit/s) that rung i fits with headroom (what ladder_fit wants for it). */
uint64_t ladder_need(const struct ladder *l, int i);

/* One recipient's position on the ladder and the state of its link rules. */
struct rung_ctl {
	int cur, ceiling;
	int64_t next_up; /* no step up before this */
	int64_t last_up; /* when cur last stepped up (INT64_MIN: never) */
	int64_t up_wait; /* time after a fall before the next step up */
	int down_votes;  /* estimates in a row that say down */
	uint64_t peak;   /* highest estimate since peak_at */
	int64_t peak_at;
	bool probe_first; /* ask for a probe before each step up */
	bool probing;     /* a probe is running: no step up or other probe until it is done */
};

enum rung_why { RUNG_SAME, RUNG_DOWN, RUNG_UP, RUNG_PROBE };

void rung_ctl_init(struct rung_ctl *c, int ceiling, int64_t now_us);

/*
 * Feeds one estimate at now_us; returns whether cur moved (and which way), or RUNG_PROBE (only
 * with probe_first): probe for the step to cur - 1, then call rung_ctl_probe_done. A move down
 * during a probe ends it (the caller stops probing).
 */
enum rung_why rung_ctl_estimate(struct rung_ctl *c, const struct ladder *l, uint64_t bps,
                                int64_t now_us);

/* The probe asked for ended: held (RUNG_UP: cur moved up) or failed (RUNG_SAME, backs off). */
enum rung_why rung_ctl_probe_done(struct rung_ctl *c, bool held, int64_t now_us);

#endif
