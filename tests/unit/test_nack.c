/*
 * test_nack.c - unit tests for the NACK generator and the retransmission history.
 *
 * Generator: a single loss requested at once, again only after an RTT (at least 20 ms), at most
 * NACK_MAX_RETRIES times and forgotten after NACK_MAX_AGE_US; arrivals (retransmitted,
 * reordered, duplicate) remove entries; jumps never produce more than NACK_MAX_MISSING entries;
 * sequence wrap; a sender restart. History: put/get with tag checks, overwritten entries, wrap,
 * the per-packet resend limit, and a NACK flood whose output bytes are bounded; entries keep the
 * frame alive by reference (and let go of it when overwritten), and a retransmission rebuilt
 * from the shared frame is byte-identical, after SRTP unprotect, to the packet first sent.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/srtp.h"
#include "rtp/nack.h"
#include "rtp/rtp.h"
#include "rtp/vp8_rtp.h"

#define MS 1000

static struct nack_gen *new_gen(void)
{
	struct nack_gen *n = NULL;
	assert_int_equal(nack_gen_alloc(&n), 0);
	return n;
}

static void feed(struct nack_gen *n, const uint16_t *seqs, int count, int64_t now)
{
	for (int i = 0; i < count; i++)
		nack_gen_on_packet(n, seqs[i], now);
}

static int collect(struct nack_gen *n, int64_t now, int64_t rtt, uint16_t *out)
{
	return nack_gen_collect(n, now, rtt, out, 1024);
}

static void test_single_loss_retries(void **state)
{
	struct nack_gen *n = new_gen();
	const uint16_t s[] = {0, 1, 3};
	feed(n, s, 3, 0);
	assert_int_equal(nack_gen_missing(n), 1);
	uint16_t out[1024];
	int sent = 0;
	for (int64_t t = 0; t <= 600 * MS; t += 5 * MS) {
		int c = collect(n, t, 50 * MS, out);
		if (c) {
			assert_int_equal(c, 1);
			assert_int_equal(out[0], 2);
			assert_int_equal(t % (50 * MS), 0); /* once per RTT */
			sent++;
		}
	}
	assert_int_equal(sent, NACK_MAX_RETRIES);
	assert_int_equal(nack_gen_missing(n), 0);
	assert_int_equal(nack_gen_given_up(n), 1);
	nack_gen_free(&n);
	assert_null(n);
}

static void test_age_out_and_min_interval(void **state)
{
	struct nack_gen *n = new_gen();
	const uint16_t s[] = {10, 12};
	feed(n, s, 2, 0);
	uint16_t out[1024];
	int sent = 0;
	for (int64_t t = 0; t <= 1200 * MS; t += 10 * MS)
		sent += collect(n, t, 300 * MS, out);
	assert_int_equal(sent, 4); /* 0, 300, 600, 900 ms; then too old */
	assert_int_equal(nack_gen_missing(n), 0);
	nack_gen_free(&n);

	n = new_gen();
	feed(n, s, 2, 0);
	assert_int_equal(collect(n, 0, 1 * MS, out), 1);
	assert_int_equal(collect(n, 19 * MS, 1 * MS, out), 0); /* RTT floor of 20 ms */
	assert_int_equal(collect(n, 20 * MS, 1 * MS, out), 1);
	assert_int_equal(nack_gen_collect(n, 100 * MS, 0, out, 0), 0);
	nack_gen_free(&n);
}

static void test_arrival_removes(void **state)
{
	struct nack_gen *n = new_gen();
	const uint16_t s[] = {0, 1, 5};
	feed(n, s, 3, 0);
	assert_int_equal(nack_gen_missing(n), 3);
	uint16_t out[1024];
	assert_int_equal(collect(n, 0, 50 * MS, out), 3);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 3);
	assert_int_equal(out[2], 4);
	nack_gen_on_packet(n, 3, 10 * MS); /* retransmission */
	nack_gen_on_packet(n, 3, 11 * MS); /* duplicate of it */
	nack_gen_on_packet(n, 5, 12 * MS); /* duplicate */
	assert_int_equal(nack_gen_missing(n), 2);
	assert_int_equal(collect(n, 50 * MS, 50 * MS, out), 2);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 4);
	nack_gen_on_packet(n, 2, 60 * MS);
	nack_gen_on_packet(n, 4, 60 * MS);
	assert_int_equal(nack_gen_missing(n), 0);
	assert_int_equal(collect(n, 200 * MS, 50 * MS, out), 0);
	/* reordering: the late packet arrives before any NACK is collected */
	const uint16_t r[] = {7, 6};
	feed(n, r, 2, 300 * MS);
	assert_int_equal(nack_gen_missing(n), 0);
	assert_int_equal(nack_gen_given_up(n), 0);
	nack_gen_free(&n);
}

static void test_jumps_bounded(void **state)
{
	struct nack_gen *n = new_gen();
	uint16_t out[1024];
	nack_gen_on_packet(n, 0, 0);
	nack_gen_on_packet(n, 3500, 0);
	assert_int_equal(nack_gen_missing(n), 0);
	assert_int_equal(collect(n, 0, 50 * MS, out), 0);
	nack_gen_on_packet(n, 3500 + NACK_MAX_MISSING + 2, 0); /* one over */
	assert_int_equal(nack_gen_missing(n), 0);
	nack_gen_free(&n);
	n = new_gen();
	uint16_t base = 4000;
	nack_gen_on_packet(n, base, 0);
	nack_gen_on_packet(n, (uint16_t)(base + NACK_MAX_MISSING + 1), 0); /* exactly the max */
	assert_int_equal(nack_gen_missing(n), NACK_MAX_MISSING);
	nack_gen_on_packet(n, (uint16_t)(base + NACK_MAX_MISSING + 102), 0); /* 100 more */
	assert_int_equal(nack_gen_missing(n), NACK_MAX_MISSING);
	assert_int_equal(nack_gen_given_up(n), 100);
	int c = collect(n, 0, 50 * MS, out);
	assert_int_equal(c, NACK_MAX_MISSING);
	assert_int_equal(out[0], base + 101); /* the oldest were dropped */
	assert_int_equal(out[c - 1], base + NACK_MAX_MISSING + 101);
	/* a bounded caller buffer: the rest follows on the next call */
	nack_gen_free(&n);
	n = new_gen();
	nack_gen_on_packet(n, 0, 0);
	nack_gen_on_packet(n, 101, 0);
	assert_int_equal(nack_gen_collect(n, 0, 50 * MS, out, 60), 60);
	assert_int_equal(nack_gen_collect(n, 1 * MS, 50 * MS, out, 60), 40);
	assert_int_equal(out[0], 61);
	nack_gen_free(&n);
}

static void test_wrap_and_restart(void **state)
{
	struct nack_gen *n = new_gen();
	const uint16_t s[] = {65533, 65534, 2};
	feed(n, s, 3, 0);
	uint16_t out[1024];
	assert_int_equal(collect(n, 0, 50 * MS, out), 3);
	assert_int_equal(out[0], 65535);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 1);
	nack_gen_on_packet(n, 0, 1 * MS);
	assert_int_equal(nack_gen_missing(n), 2);
	nack_gen_free(&n);
	/* a sender restart far behind: two packets in sequence */
	n = new_gen();
	const uint16_t a[] = {20000, 20001, 1000, 1001, 1002, 1004};
	feed(n, a, 6, 0);
	assert_int_equal(collect(n, 0, 50 * MS, out), 1);
	assert_int_equal(out[0], 1003);
	nack_gen_free(&n);
}

static struct rtx_history *new_hist(int cap)
{
	struct rtx_history *h = NULL;
	assert_int_equal(rtx_history_alloc(&h, cap), 0);
	return h;
}

/* Stores packet seq: a frame of its own (len bytes: seq >> 8, then seq & 0xff), then dropped. */
static void put(struct rtx_history *h, uint16_t seq, size_t len, int64_t now)
{
	uint8_t b[1500];
	memset(b, seq & 0xff, len);
	b[0] = (uint8_t)(seq >> 8);
	struct rtx_pkt rp = {.frame = mix_packet_copy(b, len), .len = (uint16_t)len, .ssrc = 7};
	assert_non_null(rp.frame);
	assert_int_equal(rtx_history_put(h, seq, &rp, now), 0);
	mix_packet_unref(&rp.frame); /* the history keeps its own reference */
}

/* Looks seq up; when found, rebuilds it and checks it is that packet. *len: the packet's size. */
static int get(struct rtx_history *h, uint16_t seq, int64_t now, int64_t interval, size_t *len)
{
	const struct rtx_pkt *rp = NULL;
	int r = rtx_history_get(h, seq, now, interval, &rp);
	if (r == 0) {
		uint8_t b[RTP_MAX_PACKET];
		int l = rtx_pkt_write(rp, seq, b, sizeof(b));
		struct rtp_hdr hd;
		assert_true(l > 0);
		assert_int_equal(rtp_parse(b, (size_t)l, &hd), RTP_OK);
		assert_int_equal(hd.seq, seq);
		assert_int_equal(hd.payload[0], seq >> 8);
		assert_int_equal(hd.payload[hd.payload_len - 1], seq & 0xff);
		if (len)
			*len = (size_t)l;
	}
	return r;
}

static void test_history_put_get(void **state)
{
	struct rtx_history *h = new_hist(64);
	assert_int_equal(get(h, 1, 0, 0, NULL), -ENOENT);
	for (int s = 0; s < 100; s++)
		put(h, (uint16_t)s, 100 + (size_t)s, 0);
	size_t len = 0;
	assert_int_equal(get(h, 99, 0, 20 * MS, &len), 0);
	assert_int_equal(len, 12 + 199);
	assert_int_equal(get(h, 36, 0, 20 * MS, &len), 0);       /* the oldest kept */
	assert_int_equal(get(h, 35, 0, 20 * MS, NULL), -ENOENT); /* overwritten */
	assert_int_equal(get(h, 10, 0, 20 * MS, NULL), -ENOENT);
	assert_int_equal(get(h, 100, 0, 20 * MS, NULL), -ENOENT); /* never sent */
	assert_int_equal(get(h, 30000, 0, 20 * MS, NULL), -ENOENT);
	uint8_t b[100] = {0};
	struct rtx_pkt rp = {.frame = NULL, .len = 10};
	assert_int_equal(rtx_history_put(h, 1, &rp, 0), -EINVAL); /* no frame */
	rp.frame = mix_packet_copy(b, sizeof(b));
	rp.offset = 91;
	assert_int_equal(rtx_history_put(h, 1, &rp, 0), -EINVAL); /* past the frame's end */
	rp.offset = 90;
	rp.prefix_len = RTX_MAX_PREFIX + 1;
	assert_int_equal(rtx_history_put(h, 1, &rp, 0), -EINVAL);
	rp.prefix_len = 0;
	rp.ext_len = RTX_MAX_EXT + 1;
	assert_int_equal(rtx_history_put(h, 1, &rp, 0), -EINVAL);
	assert_int_equal(get(h, 1, 0, 0, NULL), -ENOENT); /* none of them stored */
	mix_packet_unref(&rp.frame);
	struct rtx_history *bad = NULL;
	assert_int_equal(rtx_history_alloc(&bad, 15), -EINVAL);
	assert_int_equal(rtx_history_alloc(&bad, 8193), -EINVAL);
	rtx_history_free(&h);
	assert_null(h);
}

static void test_history_rate_limit_and_wrap(void **state)
{
	struct rtx_history *h = new_hist(100); /* not a power of two */
	for (int i = 0; i < 90; i++)
		put(h, (uint16_t)(65500 + i), 500, 0); /* 65500 .. 53 */
	assert_int_equal(get(h, 65535, 0, 20 * MS, NULL), 0);
	assert_int_equal(get(h, 0, 0, 20 * MS, NULL), 0);
	assert_int_equal(get(h, 53, 0, 20 * MS, NULL), 0);
	assert_int_equal(get(h, 65500, 0, 20 * MS, NULL), 0);
	assert_int_equal(get(h, 0, 10 * MS, 20 * MS, NULL), -EAGAIN);
	assert_int_equal(get(h, 0, 19 * MS, 20 * MS, NULL), -EAGAIN);
	assert_int_equal(get(h, 0, 20 * MS, 20 * MS, NULL), 0);
	/* 20 more wrap the ring: 65500..65509 are overwritten */
	for (int i = 90; i < 110; i++)
		put(h, (uint16_t)(65500 + i), 500, 30 * MS);
	assert_int_equal(get(h, 65509, 30 * MS, 20 * MS, NULL), -ENOENT);
	assert_int_equal(get(h, 65510, 30 * MS, 20 * MS, NULL), 0);
	assert_int_equal(get(h, 73, 30 * MS, 20 * MS, NULL), 0);
	rtx_history_free(&h);
}

/*
 * C1: 100 NACKs a second, each asking for ~6000 sequence numbers (one 1472-byte RTCP packet of
 * 365 FCIs). Each stored packet may come back at most once per interval and at most
 * RTX_MAX_RESENDS times in all.
 */
static void flood(int cap, int stored, uint64_t *bytes_out, int *max_per_pkt)
{
	struct rtx_history *h = new_hist(cap);
	const uint16_t first = 60000;
	for (int i = 0; i < stored; i++)
		put(h, (uint16_t)(first + i), 1200, 0);
	static int count[65536];
	memset(count, 0, sizeof(count));
	*bytes_out = 0;
	const int64_t interval = 100 * MS;
	for (int round = 0; round < 100; round++) {
		int64_t now = round * 10 * MS;
		for (int i = 0; i < 6200; i++) {
			uint16_t seq = (uint16_t)(first + i);
			size_t len = 0;
			int r = get(h, seq, now, interval, &len);
			assert_true(r == 0 || r == -EAGAIN || r == -ENOENT || r == -EDQUOT);
			if (r == 0) {
				*bytes_out += len;
				count[seq]++;
			}
		}
	}
	*max_per_pkt = 0;
	for (int i = 0; i < 65536; i++)
		*max_per_pkt = count[i] > *max_per_pkt ? count[i] : *max_per_pkt;
	rtx_history_free(&h);
}

static void test_nack_flood(void **state)
{
	uint64_t out;
	int per;
	flood(8192, 6000, &out, &per);
	assert_int_equal(per, RTX_MAX_RESENDS); /* not 1 s / 100 ms = 10: capped in all */
	assert_true(out <= 6000ull * 1212 * RTX_MAX_RESENDS);
	flood(1024, 6000, &out, &per); /* a realistic history: most are gone */
	assert_int_equal(per, RTX_MAX_RESENDS);
	assert_true(out <= 1024ull * 1212 * 10);
	uint64_t in = 100ull * 1472;
	print_message("flood: %llu bytes in, %llu out with a 1024-packet history\n",
	              (unsigned long long)in, (unsigned long long)out);
}

static int refs(const struct mix_packet *f)
{
	return __atomic_load_n(&f->refs_, __ATOMIC_RELAXED);
}

/* Packetizes frame like peer_out.c: each part is written, protected, and remembered. */
struct sender {
	struct rtx_history *h;
	struct srtp_sess *srtp;
	struct rtx_pkt rp;
	uint16_t seq;
	int n;
	uint8_t sent[8][RTP_MAX_PACKET]; /* the plain packets as first written */
	int len[8];
};

static int emit(void *opaque, const uint8_t *desc, size_t desc_len, size_t off, size_t n,
                bool marker)
{
	struct sender *s = opaque;
	assert_true(s->n < 8);
	memcpy(s->rp.prefix, desc, desc_len);
	s->rp.prefix_len = (uint8_t)desc_len;
	s->rp.offset = (uint32_t)off;
	s->rp.len = (uint16_t)n;
	s->rp.marker = marker;
	int l = rtx_pkt_write(&s->rp, s->seq, s->sent[s->n], RTP_MAX_PACKET);
	assert_true(l > 0);
	s->len[s->n++] = l;
	assert_int_equal(rtx_history_put(s->h, s->seq++, &s->rp, 0), 0);
	return 0;
}

static void keys(struct srtp_keys *snd, struct srtp_keys *rcv)
{
	snd->profile = SRTP_PROFILE_AES128_CM_SHA1_80;
	snd->master_len = 30;
	for (int i = 0; i < SRTP_MASTER_MAX; i++) {
		snd->local[i] = (uint8_t)(i * 7 + 1);
		snd->remote[i] = (uint8_t)(i * 11 + 3);
	}
	*rcv = *snd;
	memcpy(rcv->local, snd->remote, sizeof(rcv->local));
	memcpy(rcv->remote, snd->local, sizeof(rcv->remote));
}

/* Protects a copy of pkt with snd and unprotects it with rcv; the plain length. */
static size_t round_trip(struct srtp_sess *snd, struct srtp_sess *rcv, const uint8_t *pkt,
                         size_t len, uint8_t *out)
{
	memcpy(out, pkt, len);
	assert_int_equal(srtp_sess_protect_rtp(snd, out, &len, RTP_MAX_PACKET + SRTP_MAX_TRAILER),
	                 0);
	assert_int_equal(srtp_sess_unprotect_rtp(rcv, out, &len), 0);
	return len;
}

static void test_history_shares_frame(void **state)
{
	struct sender s = {.h = new_hist(16), .seq = 65534};
	uint8_t data[3000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	struct mix_packet *frame = mix_packet_copy(data, sizeof(data));
	assert_non_null(frame);
	s.rp = (struct rtx_pkt){.frame = frame,
	                        .pt = 96,
	                        .ts = 123456,
	                        .ssrc = 0xabcdef01,
	                        .ext_id = 3,
	                        .ext_len = 3,
	                        .ext = {1, 2, 3}};
	int count = vp8_packetize_parts(sizeof(data), 1150, 77, emit, &s);
	assert_int_equal(count, 3);           /* 65534, 65535, 0: across the wrap */
	assert_int_equal(refs(frame), 1 + 3); /* ours and one per entry: no copies */

	/* The first send reaches the receiver intact... */
	struct srtp_keys ks, kr;
	keys(&ks, &kr);
	struct srtp_sess *snd = NULL, *rcv = NULL, *rcv2 = NULL;
	assert_int_equal(srtp_sess_new(&snd, &ks), 0);
	assert_int_equal(srtp_sess_new(&rcv, &kr), 0);
	assert_int_equal(srtp_sess_new(&rcv2, &kr), 0);
	uint8_t b[RTP_MAX_PACKET + SRTP_MAX_TRAILER];
	size_t total = 0;
	for (int i = 0; i < count; i++) {
		size_t l = round_trip(snd, rcv, s.sent[i], (size_t)s.len[i], b);
		assert_int_equal(l, s.len[i]);
		assert_memory_equal(b, s.sent[i], l);
		struct rtp_hdr h;
		assert_int_equal(rtp_parse(b, l, &h), RTP_OK);
		total += h.payload_len - 4;
	}
	assert_int_equal(total, sizeof(data));

	/* ... and with our reference gone, each retransmission is the same packet, byte for byte
	 * (to a receiver that lost the originals: the same index is a replay for the first one). */
	mix_packet_unref(&frame);
	for (int i = 0; i < count; i++) {
		uint16_t seq = (uint16_t)(65534 + i);
		const struct rtx_pkt *rp = NULL;
		assert_int_equal(rtx_history_get(s.h, seq, 0, 20 * MS, &rp), 0);
		uint8_t again[RTP_MAX_PACKET];
		int l = rtx_pkt_write(rp, seq, again, sizeof(again));
		assert_int_equal(l, s.len[i]);
		size_t m = round_trip(snd, rcv2, again, (size_t)l, b);
		assert_int_equal(m, s.len[i]);
		assert_memory_equal(b, s.sent[i], m);
	}

	/* Overwriting the entries lets go of the frame; so does freeing the history. */
	frame = mix_packet_copy(data, 10);
	struct rtx_pkt rp = {.frame = frame, .len = 10};
	for (int i = 0; i < 16; i++)
		assert_int_equal(rtx_history_put(s.h, (uint16_t)(1 + i), &rp, 0), 0);
	assert_int_equal(refs(frame), 1 + 16);
	for (int i = 0; i < 8; i++)
		assert_int_equal(rtx_history_put(s.h, (uint16_t)(1 + i), &rp, 0),
		                 0); /* same frame */
	assert_int_equal(refs(frame), 1 + 16);
	rtx_history_free(&s.h);
	assert_int_equal(refs(frame), 1);
	mix_packet_unref(&frame);
	srtp_sess_free(&snd);
	srtp_sess_free(&rcv);
	srtp_sess_free(&rcv2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_loss_retries),
	    cmocka_unit_test(test_age_out_and_min_interval),
	    cmocka_unit_test(test_arrival_removes),
	    cmocka_unit_test(test_jumps_bounded),
	    cmocka_unit_test(test_wrap_and_restart),
	    cmocka_unit_test(test_history_put_get),
	    cmocka_unit_test(test_history_rate_limit_and_wrap),
	    cmocka_unit_test(test_nack_flood),
	    cmocka_unit_test(test_history_shares_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
