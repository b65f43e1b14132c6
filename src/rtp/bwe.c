/*
 * bwe.c - send-side bandwidth estimation (see bwe.h): packet groups, the trendline filter and its
 * adaptive threshold, AIMD rate control with a link capacity estimate, an acked rate over a
 * sliding window, and the classic loss-based rules. Our own code after the concepts of
 * draft-ietf-rmcat-gcc-02 and libwebrtc's goog_cc (names of its classes cited where they
 * correspond). Single-threaded; the struct owns everything (one allocation).
 *
 * Times are int64 us. Differences of the receiver's clock are taken with wrapping arithmetic
 * (sub()) so that absurd arrival times cannot overflow; such jumps reset the delay state.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/bwe.h"

/* Trendline (libwebrtc TrendlineEstimator). */
#define TREND_SMOOTHING  0.9  /* exponential smoothing of the accumulated delay */
#define TREND_GAIN       4.0  /* threshold gain of the slope */
#define TREND_MAX_DELTAS 60   /* the slope is scaled by min(deltas seen, this) */
#define THR_START_MS     12.5 /* adaptive threshold gamma (GCC 5.4) */
#define THR_MIN_MS       6.0
#define THR_MAX_MS       600.0
#define THR_K_UP         0.0087 /* per ms, when |m| > gamma */
#define THR_K_DOWN       0.039  /* per ms, when |m| < gamma */
#define THR_MAX_OFFSET   15.0   /* |m| - gamma beyond this: a spike, gamma is not adapted */
#define THR_MAX_DT_US    100000
#define OVERUSE_MS       10.0 /* m above gamma at least this long (send time) */

/* AIMD (libwebrtc AimdRateControl, LinkCapacityEstimator). */
#define AIMD_MULT_PER_S    1.08 /* multiplicative increase per second, far from capacity */
#define AIMD_MIN_MULT_BPS  1000.0
#define AIMD_MIN_ADD_BPS_S 4000.0 /* additive increase floor, bit/s per second */
#define AIMD_FPS           30.0   /* frames assumed per second to size the additive step */
#define AIMD_MTU_BITS      (1200.0 * 8.0)
#define AIMD_EXTRA_RESP_US 100000 /* response time = RTT + this */
#define AIMD_APP_LIMIT     1.5    /* never above this x acked + AIMD_APP_SLACK when increasing */
#define AIMD_APP_SLACK     10000.0
#define AIMD_MAX_DT_US     1000000
#define CAP_ALPHA          0.05 /* link capacity: smoothing of the acked rate at decreases */
#define CAP_VAR_MIN        0.4  /* its normalised variance, kbit/s */
#define CAP_VAR_MAX        2.5
#define RTT_DEFAULT_US     200000
#define RTT_MIN_GAP_US     10000 /* decreases at least clamp(RTT, these) apart */
#define RTT_MAX_GAP_US     200000

/* Loss-based (libwebrtc SendSideBandwidthEstimation, classic). */
#define LOSS_HIGH        0.10
#define LOSS_LOW         0.02
#define LOSS_INCREASE    1.08 /* x the lowest estimate of the last LOSS_MIN_WIN_US, + 1 kbit/s */
#define LOSS_MIN_WIN_US  1000000
#define LOSS_DECREASE_US 300000 /* + RTT between two decreases */
#define LOSS_HIST        32

/* Acked rate: BWE_ACKED_US in buckets of ACKED_BUCKET_US of arrival time. */
#define ACKED_BUCKET_US 10000
#define ACKED_BUCKETS   (BWE_ACKED_US / ACKED_BUCKET_US)

enum pkt_state { PKT_FREE, PKT_SENT, PKT_LOST, PKT_RECV };

struct pkt {
	int64_t send_us;
	uint32_t size;
	uint16_t seq;
	uint8_t state; /* enum pkt_state */
};

/* A burst of packets sent within BWE_GROUP_US of first_send. */
struct group {
	bool valid;
	int64_t first_send, last_send, last_arrival;
};

/* Invariant: n <= BWE_WINDOW; the samples are x[(head - n + i) mod W], oldest first. */
struct trendline {
	double acc, smoothed; /* ms */
	double x[BWE_WINDOW], y[BWE_WINDOW];
	int n, head, deltas;
	bool have_base;
	int64_t base_us;
	double trend, prev_trend, modified;
	double threshold;
	bool thr_started;
	int64_t thr_us;
	double time_over; /* ms; < 0: not over */
	int over_count;
	int signal; /* enum bwe_signal */
};

/* Sum of received bytes per ACKED_BUCKET_US of arrival time; tag = arrival / bucket. */
struct acked {
	bool any;
	int64_t first, newest;
	int64_t tag[ACKED_BUCKETS];
	uint64_t bytes[ACKED_BUCKETS];
};

/* The acked rate at overuse, smoothed: where the link's capacity was last seen. */
struct capacity {
	bool known;
	double est_kbps, var;
};

/* Estimates of the last LOSS_MIN_WIN_US, increasing from the front (a monotonic queue). */
struct minhist {
	int head, n;
	int64_t t[LOSS_HIST];
	double bps[LOSS_HIST];
};

struct bwe {
	struct bwe_cfg cfg;
	struct group cur, prev;
	bool have_offset;
	int64_t last_offset; /* arrival - send of the last received packet */
	struct trendline tl;
	struct acked acked;
	struct capacity cap;
	double delay_bps;
	int state;
	bool fb_received, has_updated, has_decreased;
	int64_t last_update_us, last_decrease_us, rtt_us;
	double loss_bps, loss;
	int loss_lost, loss_expected;
	bool has_loss, loss_decreased, has_loss_decrease;
	int64_t last_loss_decrease_us;
	struct minhist mh;
	uint64_t overuses, resets;
	struct pkt hist[BWE_HISTORY];
};

static int64_t sub(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a - (uint64_t)b);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- trendline filter and overuse detector (GCC 5.3-5.4) ---- */

static void trend_reset(struct trendline *t)
{
	double thr = t->threshold;
	*t = (struct trendline){.threshold = thr, .time_over = -1.0, .signal = BWE_NORMAL};
}

/* Least-squares slope of y over x; false when x does not vary. */
static bool trend_slope(const struct trendline *t, double *slope)
{
	double mx = 0, my = 0, num = 0, den = 0;
	for (int i = 0; i < t->n; i++) {
		mx += t->x[i];
		my += t->y[i];
	}
	mx /= t->n;
	my /= t->n;
	for (int i = 0; i < t->n; i++) {
		num += (t->x[i] - mx) * (t->y[i] - my);
		den += (t->x[i] - mx) * (t->x[i] - mx);
	}
	if (den <= 0)
		return false;
	*slope = num / den;
	return true;
}

/* gamma += dt * k * (|m| - gamma), not for spikes; libwebrtc UpdateThreshold. */
static void threshold_update(struct trendline *t, double m, int64_t now_us)
{
	if (!t->thr_started) {
		t->thr_started = true;
		t->thr_us = now_us;
	}
	double am = fabs(m);
	if (am - t->threshold > THR_MAX_OFFSET) {
		t->thr_us = now_us;
		return;
	}
	double k = am < t->threshold ? THR_K_DOWN : THR_K_UP;
	double dt_ms = (double)clamp64(sub(now_us, t->thr_us), 0, THR_MAX_DT_US) / 1000.0;
	t->threshold =
	    clampd(t->threshold + k * (am - t->threshold) * dt_ms, THR_MIN_MS, THR_MAX_MS);
	t->thr_us = now_us;
}

/* Overuse: m > gamma for OVERUSE_MS of send time, twice, with the trend not falling. */
static void detect(struct bwe *b, double send_delta_ms, int64_t now_us)
{
	struct trendline *t = &b->tl;
	double m = fmin(t->deltas, TREND_MAX_DELTAS) * t->trend * TREND_GAIN;
	t->modified = m;
	if (m > t->threshold) {
		t->time_over = t->time_over < 0 ? send_delta_ms / 2 : t->time_over + send_delta_ms;
		t->over_count++;
		if (t->time_over > OVERUSE_MS && t->over_count > 1 && t->trend >= t->prev_trend) {
			t->signal = BWE_OVERUSE;
			t->time_over = 0;
			t->over_count = 0;
			b->overuses++;
		}
	} else {
		t->time_over = -1.0;
		t->over_count = 0;
		t->signal = m < -t->threshold ? BWE_UNDERUSE : BWE_NORMAL;
	}
	t->prev_trend = t->trend;
	threshold_update(t, m, now_us);
}

/* One inter-group delay variation d (ms), at the later group's arrival. */
static void trend_update(struct bwe *b, double d_ms, double send_delta_ms, int64_t arrival_us)
{
	struct trendline *t = &b->tl;
	if (!t->have_base) {
		t->have_base = true;
		t->base_us = arrival_us;
	}
	if (t->deltas < 1000)
		t->deltas++;
	t->acc += d_ms;
	t->smoothed = TREND_SMOOTHING * t->smoothed + (1 - TREND_SMOOTHING) * t->acc;
	t->x[t->head] = (double)sub(arrival_us, t->base_us) / 1000.0;
	t->y[t->head] = t->smoothed;
	t->head = (t->head + 1) % BWE_WINDOW;
	if (t->n < BWE_WINDOW)
		t->n++;
	double slope;
	if (t->n == BWE_WINDOW && trend_slope(t, &slope))
		t->trend = slope;
	detect(b, send_delta_ms, arrival_us);
}

/* ---- packet groups (GCC 5.2; libwebrtc InterArrival) ---- */

static void group_start(struct group *g, int64_t send_us, int64_t arrival_us)
{
	*g = (struct group){true, send_us, send_us, arrival_us};
}

static void groups_reset(struct bwe *b)
{
	b->cur.valid = false;
	b->prev.valid = false;
	b->resets++;
}

static void group_delta(struct bwe *b)
{
	int64_t ds = sub(b->cur.last_send, b->prev.last_send);
	int64_t da = sub(b->cur.last_arrival, b->prev.last_arrival);
	trend_update(b, (double)sub(da, ds) / 1000.0, (double)ds / 1000.0, b->cur.last_arrival);
}

static void group_on_packet(struct bwe *b, int64_t send_us, int64_t arrival_us)
{
	struct group *c = &b->cur;
	if (!c->valid) {
		group_start(c, send_us, arrival_us);
		return;
	}
	if (send_us < c->first_send)
		return; /* sent before the current group: out of order, no delay information */
	if (sub(arrival_us, c->last_arrival) < 0) {
		groups_reset(b); /* arrival went backwards */
		group_start(c, send_us, arrival_us);
		return;
	}
	if (send_us - c->first_send <= BWE_GROUP_US) {
		if (send_us > c->last_send)
			c->last_send = send_us;
		c->last_arrival = arrival_us;
		return;
	}
	if (b->prev.valid)
		group_delta(b);
	b->prev = *c;
	group_start(c, send_us, arrival_us);
}

/* ---- acked rate ---- */

static int64_t floor_div(int64_t a, int64_t d)
{
	int64_t q = a / d;
	return (a % d < 0) ? q - 1 : q;
}

static void acked_add(struct acked *a, int64_t arrival_us, uint32_t size)
{
	int64_t tag = floor_div(arrival_us, ACKED_BUCKET_US);
	if (!a->any) {
		memset(a, 0, sizeof(*a));
		for (int i = 0; i < ACKED_BUCKETS; i++)
			a->tag[i] = INT64_MIN;
		a->any = true;
		a->first = a->newest = tag;
	}
	if (tag > a->newest)
		a->newest = tag;
	if (tag <= a->newest - ACKED_BUCKETS)
		return; /* older than the window */
	int i = (int)(((tag % ACKED_BUCKETS) + ACKED_BUCKETS) % ACKED_BUCKETS);
	if (a->tag[i] != tag) {
		a->tag[i] = tag;
		a->bytes[i] = 0;
	}
	a->bytes[i] += size;
}

/* bit/s over the window; 0 (unknown) until a full window of arrivals has been seen. */
static double acked_rate(const struct acked *a)
{
	if (!a->any || a->newest - a->first < ACKED_BUCKETS)
		return 0;
	uint64_t sum = 0;
	for (int i = 0; i < ACKED_BUCKETS; i++)
		if (a->tag[i] != INT64_MIN && a->tag[i] > a->newest - ACKED_BUCKETS)
			sum += a->bytes[i];
	return (double)sum * 8.0 * 1e6 / BWE_ACKED_US;
}

/* ---- AIMD rate control (GCC 5.5) ---- */

static double cap_dev(const struct capacity *c)
{
	return 3.0 * sqrt(c->est_kbps * c->var);
}

static void cap_on_overuse(struct capacity *c, double bps)
{
	double kbps = bps / 1000.0;
	if (c->known && kbps < c->est_kbps - cap_dev(c))
		c->known = false; /* far below: the link changed */
	if (!c->known) {
		*c = (struct capacity){true, kbps, CAP_VAR_MIN};
		return;
	}
	c->est_kbps = (1 - CAP_ALPHA) * c->est_kbps + CAP_ALPHA * kbps;
	double err = c->est_kbps - kbps;
	c->var = (1 - CAP_ALPHA) * c->var + CAP_ALPHA * err * err / fmax(c->est_kbps, 1.0);
	c->var = clampd(c->var, CAP_VAR_MIN, CAP_VAR_MAX);
}

static void aimd_decrease(struct bwe *b, int64_t now_us)
{
	double acked = acked_rate(&b->acked);
	int64_t gap = clamp64(b->rtt_us, RTT_MIN_GAP_US, RTT_MAX_GAP_US);
	bool due = !b->has_decreased || sub(now_us, b->last_decrease_us) >= gap ||
	           (acked > 0 && acked < 0.5 * b->delay_bps);
	b->state = BWE_DECREASE;
	if (!due)
		return;
	double target = (acked > 0 ? acked : b->delay_bps) * BWE_BETA;
	if (acked > 0)
		cap_on_overuse(&b->cap, acked);
	if (target < b->delay_bps)
		b->delay_bps = target;
	b->has_decreased = true;
	b->last_decrease_us = now_us;
}

/* About one packet per response time (libwebrtc AdditiveRateIncrease). */
static double additive(const struct bwe *b, double dt_s)
{
	double resp_s = (double)(b->rtt_us + AIMD_EXTRA_RESP_US) / 1e6;
	double frame_bits = b->delay_bps / AIMD_FPS;
	double pkts = fmax(1.0, ceil(frame_bits / AIMD_MTU_BITS));
	return fmax(AIMD_MIN_ADD_BPS_S, frame_bits / pkts / resp_s) * dt_s;
}

static double multiplicative(const struct bwe *b, double dt_s)
{
	double inc = b->delay_bps * (pow(AIMD_MULT_PER_S, dt_s) - 1.0);
	return dt_s > 0 ? fmax(inc, AIMD_MIN_MULT_BPS) : 0;
}

static void aimd_increase(struct bwe *b, double dt_s)
{
	double acked = acked_rate(&b->acked);
	if (acked > 0 && b->cap.known && acked / 1000.0 > b->cap.est_kbps + cap_dev(&b->cap))
		b->cap.known = false; /* far above: multiplicative again */
	double next = b->delay_bps + (b->cap.known ? additive(b, dt_s) : multiplicative(b, dt_s));
	double limit = AIMD_APP_LIMIT * acked + AIMD_APP_SLACK;
	if (acked > 0 && next > limit)
		next = fmax(b->delay_bps, limit);
	b->delay_bps = next;
}

/* Hold -> increase on normal, decrease on overuse, hold on underuse and after a decrease. */
static void aimd_update(struct bwe *b, int64_t now_us)
{
	int64_t dt =
	    b->has_updated ? clamp64(sub(now_us, b->last_update_us), 0, AIMD_MAX_DT_US) : 0;
	b->has_updated = true;
	b->last_update_us = now_us;
	switch (b->tl.signal) {
	case BWE_OVERUSE:
		aimd_decrease(b, now_us);
		break;
	case BWE_UNDERUSE:
		b->state = BWE_HOLD;
		break;
	default:
		if (b->state == BWE_DECREASE) {
			b->state = BWE_HOLD;
			break;
		}
		b->state = BWE_INCREASE;
		aimd_increase(b, (double)dt / 1e6);
	}
	b->delay_bps = clampd(b->delay_bps, b->cfg.min_bps, b->cfg.max_bps);
}

/* ---- loss-based (GCC 6) ---- */

static void minhist_push(struct minhist *h, int64_t now_us, double bps)
{
	while (h->n > 0 && sub(now_us, h->t[h->head]) >= LOSS_MIN_WIN_US) {
		h->head = (h->head + 1) % LOSS_HIST;
		h->n--;
	}
	while (h->n > 0 && h->bps[(h->head + h->n - 1) % LOSS_HIST] >= bps)
		h->n--;
	if (h->n == LOSS_HIST) {
		h->head = (h->head + 1) % LOSS_HIST;
		h->n--;
	}
	int i = (h->head + h->n) % LOSS_HIST;
	h->t[i] = now_us;
	h->bps[i] = bps;
	h->n++;
}

/* A new loss fraction once BWE_LOSS_MIN_PKTS results have come; false before. */
static bool loss_fraction(struct bwe *b)
{
	if (b->loss_expected < BWE_LOSS_MIN_PKTS)
		return false;
	b->loss = (double)b->loss_lost / b->loss_expected;
	b->loss_lost = b->loss_expected = 0;
	b->has_loss = true;
	return true;
}

/*
 * At every feedback, with the last loss fraction (libwebrtc UpdateEstimate): below 2 %, 8 % above
 * the lowest estimate of the last second (so about 8 %/s, and a decrease followed by good news is
 * undone at once); above 10 %, down by half the loss, once per fraction and at most once per
 * LOSS_DECREASE_US + RTT; in between, hold.
 */
static void loss_update(struct bwe *b, int64_t now_us)
{
	double est = (double)bwe_estimate(b);
	minhist_push(&b->mh, now_us, est);
	if (loss_fraction(b))
		b->loss_decreased = false;
	if (!b->has_loss)
		return;
	if (b->loss < LOSS_LOW) {
		b->loss_bps = b->mh.bps[b->mh.head] * LOSS_INCREASE + 1000.0;
	} else if (b->loss > LOSS_HIGH && !b->loss_decreased) {
		int64_t gap = LOSS_DECREASE_US + b->rtt_us;
		if (!b->has_loss_decrease || sub(now_us, b->last_loss_decrease_us) >= gap) {
			b->loss_bps = est * (1.0 - 0.5 * b->loss);
			b->loss_decreased = true;
			b->has_loss_decrease = true;
			b->last_loss_decrease_us = now_us;
		}
	}
	b->loss_bps = clampd(b->loss_bps, b->cfg.min_bps, b->cfg.max_bps);
}

/* ---- API ---- */

int bwe_alloc(struct bwe **out, const struct bwe_cfg *cfg)
{
	if (!out || !cfg || cfg->min_bps <= 0 || cfg->start_bps < cfg->min_bps ||
	    cfg->max_bps < cfg->start_bps)
		return -EINVAL;
	struct bwe *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cfg = *cfg;
	b->tl.threshold = THR_START_MS;
	trend_reset(&b->tl);
	b->delay_bps = b->loss_bps = cfg->start_bps;
	b->state = BWE_HOLD;
	b->rtt_us = RTT_DEFAULT_US;
	*out = b;
	return 0;
}

void bwe_free(struct bwe **b)
{
	if (!b || !*b)
		return;
	free(*b);
	*b = NULL;
}

void bwe_on_sent(struct bwe *b, uint16_t seq, size_t size, int64_t send_us)
{
	if (!b)
		return;
	struct pkt *p = &b->hist[seq % BWE_HISTORY];
	*p = (struct pkt){send_us, size > UINT32_MAX ? UINT32_MAX : (uint32_t)size, seq, PKT_SENT};
}

/* A clock jump restarts the delay state (groups, trendline, acked rate). */
static void check_jump(struct bwe *b, int64_t send_us, int64_t arrival_us)
{
	int64_t offset = sub(arrival_us, send_us);
	int64_t change = sub(offset, b->last_offset);
	if (b->have_offset && (change > BWE_JUMP_US || change < -BWE_JUMP_US)) {
		groups_reset(b);
		trend_reset(&b->tl);
		b->acked.any = false;
	}
	b->have_offset = true;
	b->last_offset = offset;
}

static void on_received(struct bwe *b, const struct pkt *p, int64_t arrival_us)
{
	b->fb_received = true;
	check_jump(b, p->send_us, arrival_us);
	acked_add(&b->acked, arrival_us, p->size);
	group_on_packet(b, p->send_us, arrival_us);
}

void bwe_on_result(struct bwe *b, uint16_t seq, bool received, int64_t arrival_us)
{
	if (!b)
		return;
	struct pkt *p = &b->hist[seq % BWE_HISTORY];
	if (p->state == PKT_FREE || p->seq != seq || p->state == PKT_RECV)
		return;
	if (p->state == PKT_SENT) {
		b->loss_expected++;
		b->loss_lost += !received;
	}
	if (!received) {
		p->state = PKT_LOST;
		return;
	}
	p->state = PKT_RECV; /* a late arrival of a packet reported lost still counts here */
	on_received(b, p, arrival_us);
}

void bwe_on_feedback_end(struct bwe *b, int64_t now_us)
{
	if (!b)
		return;
	if (b->fb_received)
		aimd_update(b, now_us);
	b->fb_received = false;
	loss_update(b, now_us);
}

void bwe_on_rtt(struct bwe *b, int64_t rtt_us)
{
	if (b && rtt_us > 0)
		b->rtt_us = rtt_us > 10 * 1000000LL ? 10 * 1000000LL : rtt_us;
}

uint64_t bwe_estimate(const struct bwe *b)
{
	if (!b)
		return 0;
	double est = fmin(b->delay_bps, b->loss_bps);
	return (uint64_t)clampd(est, b->cfg.min_bps, b->cfg.max_bps);
}

const char *bwe_state_name(int state)
{
	switch (state) {
	case BWE_HOLD:
		return "hold";
	case BWE_INCREASE:
		return "increase";
	case BWE_DECREASE:
		return "decrease";
	default:
		return "?";
	}
}

void bwe_get_stats(const struct bwe *b, struct bwe_stats *st)
{
	if (!st)
		return;
	*st = (struct bwe_stats){0};
	if (!b)
		return;
	st->delay_bps = (uint64_t)b->delay_bps;
	st->loss_bps = (uint64_t)b->loss_bps;
	st->acked_bps = (uint64_t)acked_rate(&b->acked);
	st->trend = b->tl.modified;
	st->threshold = b->tl.threshold;
	st->state = b->state;
	st->loss = b->loss;
	st->overuses = b->overuses;
	st->signal = b->tl.signal;
	st->resets = b->resets;
}
