/*
 * fuzz_twcc.c - libFuzzer target for transport-wide CC feedback (src/rtp/twcc.c), both ways.
 *
 * (a) The input as a feedback FCI: twcc_parse_fci; when it parses, the statuses are numbered
 *     from the base, at most TWCC_MAX_PKTS, arrival times are the reference time plus whole
 *     250 us deltas that each fit 16 bits signed, and not-received packets have none.
 * (b) The input as records of 4 bytes [seq delta: be16][time: be16] fed to a twcc_recv:
 *     seq delta 0x7fff is "build a feedback now" with cap 24 + time % 1500, anything else a
 *     packet at seq += delta, arrival += time (bit 15 set: (time & 0x7fff) ms, else
 *     (time & 0x7fff) - 0x4000 us, so arrivals may go backwards). At the end feedbacks are
 *     built (cap 1500) until none is pending. Each one goes through rtcp_parse and
 *     twcc_parse_fci and is checked against a model: bases only move forward, fb_count counts
 *     up, and a status is "received" exactly when a packet with that (unwrapped) sequence
 *     number was fed before the build, with the first such packet's arrival to 250 us.
 * Any mismatch aborts.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "rtp/rtcp.h"
#include "rtp/twcc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS    1024
#define BUILD_MARK 0x7fff
#define ORIGIN     ((int64_t)1 << 32)

static struct twcc_fb fb;

static void check_fci(const uint8_t *data, size_t size)
{
	if (twcc_parse_fci(data, size, &fb) != 0)
		return;
	if (fb.count < 1 || fb.count > TWCC_MAX_PKTS)
		abort();
	int64_t t = fb.ref_us;
	for (int i = 0; i < fb.count; i++) {
		const struct twcc_pkt *p = &fb.pkts[i];
		if (p->seq != (uint16_t)(fb.base_seq + i))
			abort();
		if (!p->received) {
			if (p->arrival_us != 0)
				abort();
			continue;
		}
		int64_t d = p->arrival_us - t;
		if (d % 250 != 0 || d < -8192000 || d > 8191750)
			abort();
		t = p->arrival_us;
	}
}

/* One fed packet of the model: unwrapped seq, arrival, position in the input. */
struct fed {
	int64_t u, arrival_us;
	int order;
};

struct op {
	bool build;
	int cap;
	uint16_t seq;
	int64_t arrival_us;
	int64_t hi; /* the newest unwrapped seq after this op */
};

struct model {
	struct op ops[MAX_OPS];
	int n_ops;
	struct fed fed[MAX_OPS]; /* sorted by (u, order) */
	int n_fed;
	uint8_t fb_count;
	int feedbacks;
	int64_t reported_end; /* one past the last reported status */
};

static struct model m;

static int cmp_fed(const void *a, const void *b)
{
	const struct fed *x = a, *y = b;
	if (x->u != y->u)
		return x->u < y->u ? -1 : 1;
	return x->order - y->order;
}

static int64_t time_step(uint16_t v)
{
	if (v & 0x8000)
		return (int64_t)(v & 0x7fff) * 1000;
	return (int64_t)(v & 0x7fff) - 0x4000;
}

/* Decodes the records and unwraps sequence numbers the way the receiver must. */
static void decode_ops(const uint8_t *data, size_t size)
{
	uint16_t seq = 0;
	int64_t t = 1000000000, hi = 0;
	m.n_ops = m.n_fed = 0;
	for (size_t off = 0; off + 4 <= size && m.n_ops < MAX_OPS; off += 4) {
		uint16_t sd = (uint16_t)(data[off] << 8 | data[off + 1]);
		uint16_t tv = (uint16_t)(data[off + 2] << 8 | data[off + 3]);
		struct op *o = &m.ops[m.n_ops];
		o->build = sd == BUILD_MARK;
		if (o->build) {
			o->cap = TWCC_FB_MIN_LEN + tv % 1500;
		} else {
			seq = (uint16_t)(seq + sd);
			t += time_step(tv);
			int64_t u = m.n_fed == 0 ? ORIGIN + seq
			                         : hi + (int16_t)(uint16_t)(seq - (uint16_t)hi);
			if (m.n_fed == 0 || u > hi)
				hi = u;
			o->seq = seq;
			o->arrival_us = t;
			m.fed[m.n_fed++] = (struct fed){u, t, m.n_ops};
		}
		o->hi = hi;
		m.n_ops++;
	}
	qsort(m.fed, (size_t)m.n_fed, sizeof(m.fed[0]), cmp_fed);
}

/* The first packet fed with unwrapped seq u, or NULL. */
static const struct fed *first_fed(int64_t u)
{
	int lo = 0, hi = m.n_fed;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (m.fed[mid].u < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m.n_fed && m.fed[lo].u == u ? &m.fed[lo] : NULL;
}

static int grab_fci(void *opaque, const struct rtcp_item *it)
{
	const struct rtcp_item **out = opaque;
	if (it->kind != RTCP_TWCC || it->sender_ssrc != 1 || it->media_ssrc != 2)
		abort();
	*out = it;
	return 0;
}

/* Checks one built feedback against the model (ops [0, k) were fed before it). */
static void check_feedback(const uint8_t *buf, int n, int cap, int k, int64_t hi)
{
	if (n % 4 != 0 || n > cap || n < TWCC_FB_MIN_LEN)
		abort();
	const struct rtcp_item *it = NULL;
	if (rtcp_parse(buf, (size_t)n, grab_fci, &it) != 1 || !it)
		abort();
	if (twcc_parse_fci(it->fci, it->fci_len, &fb) != 0)
		abort();
	if (fb.fb_count != m.fb_count++)
		abort();
	int64_t base = hi + (int16_t)(uint16_t)(fb.base_seq - (uint16_t)hi);
	if ((m.feedbacks++ > 0 && base < m.reported_end) || base + fb.count > hi + 1)
		abort();
	m.reported_end = base + fb.count;
	int64_t ref = INT64_MIN;
	for (int i = 0; i < fb.count; i++) {
		const struct fed *f = first_fed(base + i);
		bool rx = f && f->order < k;
		if (fb.pkts[i].received != rx)
			abort();
		if (!rx)
			continue;
		if (ref == INT64_MIN) {
			ref = f->arrival_us / 64000 * 64000; /* arrivals stay positive */
			if (fb.ref_us != ref)
				abort();
		}
		if (fb.pkts[i].arrival_us > f->arrival_us ||
		    fb.pkts[i].arrival_us <= f->arrival_us - 250)
			abort();
	}
}

static void build_check(struct twcc_recv *r, int cap, int k, int64_t hi)
{
	uint8_t buf[1600];
	int n = twcc_recv_build(r, 1, 2, buf, (size_t)cap);
	if (n < 0)
		abort();
	if (n > 0)
		check_feedback(buf, n, cap, k, hi);
}

static void check_recv(const uint8_t *data, size_t size)
{
	struct twcc_recv *r = NULL;
	if (twcc_recv_alloc(&r) != 0)
		return; /* allocation failure injected */
	decode_ops(data, size);
	m.fb_count = 0;
	m.feedbacks = 0;
	int64_t hi = 0;
	for (int k = 0; k < m.n_ops; k++) {
		const struct op *o = &m.ops[k];
		if (o->build)
			build_check(r, o->cap, k, hi);
		else
			twcc_recv_on_packet(r, o->seq, o->arrival_us);
		if (twcc_recv_pending(r) > TWCC_RECV_WINDOW)
			abort();
		hi = o->hi;
	}
	for (int i = 0; twcc_recv_pending(r) > 0; i++) {
		if (i > TWCC_RECV_WINDOW)
			abort();
		build_check(r, 1500, m.n_ops, hi);
	}
	if (m.n_fed > 0 && m.feedbacks > 0 && m.reported_end != hi + 1)
		abort();
	struct twcc_recv_stats st;
	twcc_recv_get_stats(r, &st);
	if (st.packets != (uint64_t)m.n_fed || st.feedbacks != (uint64_t)m.feedbacks)
		abort();
	twcc_recv_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	failalloc_reset(data, size);
	check_fci(data, size);
	check_recv(data, size);
	return 0;
}
