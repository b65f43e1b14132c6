/*
 * bwe.h - a send-side bandwidth estimate of our downlink to one browser, in the spirit of Google
 * Congestion Control (draft-ietf-rmcat-gcc-02; libwebrtc's goog_cc), fed with per-packet results
 * of transport-wide congestion control feedback.
 *
 * Three parts (see bwe.c for the details and the constants):
 *   - Delay-based (GCC 5.2-5.4): packets are grouped by send time (a group is a burst sent within
 *     BWE_GROUP_US of its first packet); each pair of consecutive groups gives a delay variation
 *     d = arrival difference - send difference. A trendline filter (libwebrtc's
 *     TrendlineEstimator) takes the least-squares slope of the smoothed accumulated delay over
 *     the last BWE_WINDOW groups; that slope, scaled, is compared to an adaptive threshold
 *     (GCC 5.4): overuse, underuse or normal.
 *   - AIMD rate control (GCC 5.5; libwebrtc's AimdRateControl): overuse decreases the rate to
 *     BWE_BETA x the acked rate (what the receiver got over the last BWE_ACKED_US); normal
 *     increases it, 8 %/s while far from the link capacity last seen at a decrease, about one
 *     packet per response time (RTT + 100 ms) near it; never above 1.5 x acked + 10 kbit/s (a
 *     sender that sends less than its estimate learns nothing above that).
 *   - Loss-based (GCC 6; libwebrtc's classic SendSideBandwidthEstimation): over at least
 *     BWE_LOSS_MIN_PKTS results, loss above 10 % cuts the estimate by half the loss fraction,
 *     loss below 2 % sets it 8 % above the lowest estimate of the last second, else it holds.
 * The estimate is the lower of the delay-based and the loss-based ones, within [min, max].
 *
 * Robust to duplicate, reordered and unknown results, sequence number wrap, a receiver clock
 * that jumps (the delay state restarts), feedback with nothing received. Bounded memory: the
 * last BWE_HISTORY packets sent (older ones are forgotten and their results ignored).
 *
 * Single-threaded: a bwe belongs to its peer's loop. Pure: no I/O, no clock; time comes in.
 */
#ifndef MCU_BWE_H
#define MCU_BWE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BWE_HISTORY       8192    /* packets sent whose results we still wait for */
#define BWE_GROUP_US      5000    /* a burst: sent within this of the group's first packet */
#define BWE_WINDOW        20      /* groups in the trendline's regression */
#define BWE_ACKED_US      500000  /* window of the acked rate (receiver arrival time) */
#define BWE_BETA          0.85    /* overuse: down to this x the acked rate */
#define BWE_LOSS_MIN_PKTS 20      /* results per loss fraction */
#define BWE_JUMP_US       3000000 /* a change of arrival - send this large: the clock jumped */

struct bwe;

struct bwe_cfg {
	int start_bps, min_bps, max_bps; /* e.g. 300k, 50k, 5M */
};

/* 0, or -EINVAL (min <= start <= max, min > 0 required), -ENOMEM. */
int bwe_alloc(struct bwe **out, const struct bwe_cfg *cfg);
/* Frees *b and sets it to NULL; NULL is fine. */
void bwe_free(struct bwe **b);

/*
 * We sent a packet with transport-wide seq `seq` (16-bit, wraps), `size` bytes, at send_us
 * (monotonic). The last BWE_HISTORY packets are remembered; older ones are forgotten.
 */
void bwe_on_sent(struct bwe *b, uint16_t seq, size_t size, int64_t send_us);

/*
 * One packet's result from a feedback: received with the receiver's arrival time (receiver clock,
 * us; only differences matter), or lost. Results of one feedback come in order of seq, then
 * bwe_on_feedback_end(now_us). Unknown seqs (never sent, forgotten) and repeated results are
 * ignored; a packet reported lost and later received counts as received.
 */
void bwe_on_result(struct bwe *b, uint16_t seq, bool received, int64_t arrival_us);
/* The end of one feedback, at our now_us: updates the estimates. */
void bwe_on_feedback_end(struct bwe *b, int64_t now_us);

/* An RTT sample (from RTCP RR), us: used by the rate control's response time. */
void bwe_on_rtt(struct bwe *b, int64_t rtt_us);

/* The current estimate (bit/s), min(delay-based, loss-based), within [min, max]. */
uint64_t bwe_estimate(const struct bwe *b);

enum bwe_state { BWE_HOLD, BWE_INCREASE, BWE_DECREASE };
enum bwe_signal { BWE_NORMAL, BWE_OVERUSE, BWE_UNDERUSE };

/* For logs and tests. */
struct bwe_stats {
	uint64_t delay_bps, loss_bps, acked_bps; /* acked_bps 0 until BWE_ACKED_US of arrivals */
	double trend;     /* the modified trend (ms), compared to threshold */
	double threshold; /* the adaptive threshold gamma (ms) */
	int state;        /* enum bwe_state of the rate control */
	double loss;      /* the last loss fraction, 0..1 */
	uint64_t overuses;
	int signal;      /* enum bwe_signal: the detector's last output */
	uint64_t resets; /* times the group state restarted (arrival backwards, clock jump) */
};

void bwe_get_stats(const struct bwe *b, struct bwe_stats *st);

/* "hold", "increase", "decrease". */
const char *bwe_state_name(int state);

#endif
