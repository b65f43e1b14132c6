/*
 * test_srtp.c - unit tests for src/net/srtp.c (SRTP/SRTCP sessions over libsrtp2).
 *
 * For both profiles (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM): a sender and a receiver with
 * swapped keys round-trip RTP and RTCP; tampering (-EACCES), replay (-EALREADY), NACK resends
 * of one sequence number, the inbound SSRC cap (-ENOSPC, checklist C3: unauthenticated
 * packets take no slot) and the protect capacity check. End to end: two DTLS associations
 * (src/net/dtls.c) handshake in memory and their exported keys drive two sessions.
 * Single-threaded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/dtls.h"
#include "net/srtp.h"

#define PKT_MAX 1500

static const enum srtp_profile profiles[] = {SRTP_PROFILE_AES128_CM_SHA1_80,
                                             SRTP_PROFILE_AEAD_AES_128_GCM};

/* Keys for a sender and a receiver of profile p: each one's local is the other's remote. */
static void make_keys(enum srtp_profile p, struct srtp_keys *snd, struct srtp_keys *rcv)
{
	size_t kl, sl;

	assert_int_equal(srtp_profile_lengths(p, &kl, &sl), 0);
	memset(snd, 0, sizeof(*snd));
	snd->profile = p;
	snd->master_len = kl + sl;
	for (size_t i = 0; i < snd->master_len; i++) {
		snd->local[i] = (uint8_t)(i * 7 + 1);
		snd->remote[i] = (uint8_t)(i * 13 + 5);
	}
	*rcv = *snd;
	memcpy(rcv->local, snd->remote, sizeof(rcv->local));
	memcpy(rcv->remote, snd->local, sizeof(rcv->remote));
}

static void sess_pair(enum srtp_profile p, struct srtp_sess **snd, struct srtp_sess **rcv)
{
	struct srtp_keys ks, kr;

	make_keys(p, &ks, &kr);
	assert_int_equal(srtp_sess_new(snd, &ks), 0);
	assert_int_equal(srtp_sess_new(rcv, &kr), 0);
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* RFC 3550 5.1: V=2, PT 96, then payload bytes. Returns the length. */
static size_t make_rtp(uint8_t *b, uint16_t seq, uint32_t ssrc, size_t payload)
{
	b[0] = 0x80;
	b[1] = 96;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	put32(b + 4, seq * 960u);
	put32(b + 8, ssrc);
	for (size_t i = 0; i < payload; i++)
		b[12 + i] = (uint8_t)(i ^ seq);
	return 12 + payload;
}

/* RFC 3550 6.4.1: a sender report without report blocks (28 bytes). */
static size_t make_sr(uint8_t *b, uint32_t ssrc)
{
	memset(b, 0, 28);
	b[0] = 0x80;
	b[1] = 200;
	b[3] = 6;
	put32(b + 4, ssrc);
	put32(b + 8, 0xE1234567);
	put32(b + 20, 42);
	return 28;
}

static size_t tag_len(enum srtp_profile p)
{
	return p == SRTP_PROFILE_AEAD_AES_128_GCM ? 16 : 10;
}

static void test_profile_lengths(void **state)
{
	size_t k = 0, s = 0;

	assert_int_equal(srtp_profile_lengths(SRTP_PROFILE_AES128_CM_SHA1_80, &k, &s), 0);
	assert_true(k == 16 && s == 14);
	assert_int_equal(srtp_profile_lengths(SRTP_PROFILE_AEAD_AES_128_GCM, &k, &s), 0);
	assert_true(k == 16 && s == 12);
	assert_int_equal(srtp_profile_lengths((enum srtp_profile)2, &k, &s), -ENOTSUP);
	assert_true(k + s <= SRTP_MASTER_MAX);
}

static void test_bad_keys(void **state)
{
	struct srtp_keys ks, kr;
	struct srtp_sess *s = (struct srtp_sess *)1;

	make_keys(SRTP_PROFILE_AES128_CM_SHA1_80, &ks, &kr);
	ks.master_len = 28;
	assert_int_equal(srtp_sess_new(&s, &ks), -EINVAL);
	assert_null(s);
	ks.profile = (enum srtp_profile)8;
	assert_int_equal(srtp_sess_new(&s, &ks), -ENOTSUP);
	srtp_sess_free(&s);
}

static void roundtrip_rtp(enum srtp_profile p)
{
	struct srtp_sess *snd, *rcv;
	uint8_t plain[PKT_MAX], buf[PKT_MAX + SRTP_MAX_TRAILER];
	static const size_t sizes[] = {0, 1, 160, 1000, 1188};

	sess_pair(p, &snd, &rcv);
	for (uint16_t seq = 65530, i = 0; i < 20; seq++, i++) { /* wraps */
		size_t n = make_rtp(plain, seq, 0x11223344, sizes[i % 5]);
		size_t len = n;
		memcpy(buf, plain, n);
		assert_int_equal(srtp_sess_protect_rtp(snd, buf, &len, sizeof(buf)), 0);
		assert_int_equal(len, n + tag_len(p));
		assert_memory_equal(buf, plain, 12); /* header stays clear */
		if (n > 12)
			assert_memory_not_equal(buf + 12, plain + 12, n - 12);
		assert_int_equal(srtp_sess_unprotect_rtp(rcv, buf, &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(buf, plain, n);
	}
	/* and back the other way */
	size_t n = make_rtp(plain, 7, 0xCAFE, 50), len = n;
	memcpy(buf, plain, n);
	assert_int_equal(srtp_sess_protect_rtp(rcv, buf, &len, sizeof(buf)), 0);
	assert_int_equal(srtp_sess_unprotect_rtp(snd, buf, &len), 0);
	assert_memory_equal(buf, plain, n);
	srtp_sess_free(&snd);
	srtp_sess_free(&rcv);
	assert_null(snd);
}

static void roundtrip_rtcp(enum srtp_profile p)
{
	struct srtp_sess *snd, *rcv;
	uint8_t plain[64], buf[64 + SRTP_MAX_TRAILER];
	struct srtp_sess_stats st;

	sess_pair(p, &snd, &rcv);
	for (int i = 0; i < 5; i++) {
		size_t n = make_sr(plain, 0x5555), len = n;
		put32(plain + 16, (uint32_t)i);
		memcpy(buf, plain, n);
		assert_int_equal(srtp_sess_protect_rtcp(snd, buf, &len, sizeof(buf)), 0);
		assert_int_equal(len, n + 4 + tag_len(p)); /* RFC 3711 3.4: E|index, tag */
		assert_int_equal(srtp_sess_unprotect_rtcp(rcv, buf, &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(buf, plain, n);
	}
	srtp_sess_get_stats(rcv, &st);
	assert_int_equal(st.rtcp_auth_fail + st.rtcp_replay + st.ssrc_refused + st.other_err, 0);
	srtp_sess_free(&snd);
	srtp_sess_free(&rcv);
}

static void test_roundtrip(void **state)
{
	for (size_t i = 0; i < 2; i++) {
		roundtrip_rtp(profiles[i]);
		roundtrip_rtcp(profiles[i]);
	}
}

static void tamper(enum srtp_profile p)
{
	struct srtp_sess *snd, *rcv;
	uint8_t buf[PKT_MAX + SRTP_MAX_TRAILER], copy[sizeof(buf)];
	struct srtp_sess_stats st;
	size_t len = make_rtp(buf, 1, 0xAB, 100);

	sess_pair(p, &snd, &rcv);
	assert_int_equal(srtp_sess_protect_rtp(snd, buf, &len, sizeof(buf)), 0);
	memcpy(copy, buf, len);
	buf[40] ^= 1;
	size_t l2 = len;
	assert_int_equal(srtp_sess_unprotect_rtp(rcv, buf, &l2), -EACCES);
	l2 = len;
	assert_int_equal(srtp_sess_unprotect_rtp(rcv, copy, &l2), 0); /* the intact one passes */
	len = make_sr(buf, 0xAB);
	assert_int_equal(srtp_sess_protect_rtcp(snd, buf, &len, sizeof(buf)), 0);
	buf[len - 1] ^= 0x80; /* the tag */
	assert_int_equal(srtp_sess_unprotect_rtcp(rcv, buf, &len), -EACCES);
	srtp_sess_get_stats(rcv, &st);
	assert_int_equal(st.rtp_auth_fail, 1);
	assert_int_equal(st.rtcp_auth_fail, 1);
	assert_int_equal(st.rtp_replay + st.rtcp_replay + st.ssrc_refused + st.other_err, 0);
	srtp_sess_free(&snd);
	srtp_sess_free(&rcv);
}

static void test_tamper(void **state)
{
	tamper(profiles[0]);
	tamper(profiles[1]);
}

/* Protects RTP seq for ssrc with snd, unprotects with rcv; returns the unprotect result. */
static int send_rtp(struct srtp_sess *snd, struct srtp_sess *rcv, uint16_t seq, uint32_t ssrc)
{
	uint8_t buf[200 + SRTP_MAX_TRAILER];
	size_t len = make_rtp(buf, seq, ssrc, 40);

	assert_int_equal(srtp_sess_protect_rtp(snd, buf, &len, sizeof(buf)), 0);
	return srtp_sess_unprotect_rtp(rcv, buf, &len);
}

static void replay(enum srtp_profile p)
{
	struct srtp_sess *snd, *rcv;
	uint8_t buf[PKT_MAX + SRTP_MAX_TRAILER], copy[sizeof(buf)];
	struct srtp_sess_stats st;
	size_t len = make_rtp(buf, 100, 0xAB, 100), l2;

	sess_pair(p, &snd, &rcv);
	assert_int_equal(srtp_sess_protect_rtp(snd, buf, &len, sizeof(buf)), 0);
	memcpy(copy, buf, len);
	l2 = len;
	assert_int_equal(srtp_sess_unprotect_rtp(rcv, buf, &l2), 0);
	l2 = len;
	assert_int_equal(srtp_sess_unprotect_rtp(rcv, copy, &l2), -EALREADY);
	/* seq 1000 arrives after 3000: behind the 1024-packet window */
	len = make_rtp(copy, 1000, 0xAB, 10);
	assert_int_equal(srtp_sess_protect_rtp(snd, copy, &len, sizeof(copy)), 0);
	assert_int_equal(send_rtp(snd, rcv, 3000, 0xAB), 0);
	assert_int_equal(srtp_sess_unprotect_rtp(rcv, copy, &len), -EALREADY);
	assert_int_equal(send_rtp(snd, rcv, 2500, 0xAB), 0); /* late but inside the window */
	/* RTCP replay */
	len = make_sr(buf, 0xAB);
	assert_int_equal(srtp_sess_protect_rtcp(snd, buf, &len, sizeof(buf)), 0);
	memcpy(copy, buf, len);
	l2 = len;
	assert_int_equal(srtp_sess_unprotect_rtcp(rcv, buf, &l2), 0);
	l2 = len;
	assert_int_equal(srtp_sess_unprotect_rtcp(rcv, copy, &l2), -EALREADY);
	srtp_sess_get_stats(rcv, &st);
	assert_int_equal(st.rtp_replay, 2);
	assert_int_equal(st.rtcp_replay, 1);
	assert_int_equal(st.rtp_auth_fail + st.rtcp_auth_fail + st.ssrc_refused, 0);
	srtp_sess_free(&snd);
	srtp_sess_free(&rcv);
}

static void test_replay(void **state)
{
	replay(profiles[0]);
	replay(profiles[1]);
}

/* A NACK answer re-protects a sequence number already sent: allowed (allow_repeat_tx). */
static void test_resend_same_seq(void **state)
{
	struct srtp_sess *snd, *rcv;
	uint8_t a[200 + SRTP_MAX_TRAILER], b[sizeof(a)];
	size_t la = make_rtp(a, 9, 0x77, 40), lb = make_rtp(b, 9, 0x77, 40);

	sess_pair(SRTP_PROFILE_AES128_CM_SHA1_80, &snd, &rcv);
	assert_int_equal(srtp_sess_protect_rtp(snd, a, &la, sizeof(a)), 0);
	assert_int_equal(send_rtp(snd, rcv, 10, 0x77), 0);
	assert_int_equal(srtp_sess_protect_rtp(snd, b, &lb, sizeof(b)), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la); /* same key stream, same packet */
	assert_int_equal(srtp_sess_unprotect_rtp(rcv, b, &lb), 0); /* first arrival of 9 */
	srtp_sess_free(&snd);
	srtp_sess_free(&rcv);
}

static void test_ssrc_cap(void **state)
{
	struct srtp_sess *snd, *rcv;
	uint8_t buf[200 + SRTP_MAX_TRAILER];
	struct srtp_sess_stats st;
	size_t len;

	sess_pair(SRTP_PROFILE_AEAD_AES_128_GCM, &snd, &rcv);
	/* forged packets for many SSRCs fail authentication and take no slot */
	for (uint32_t i = 0; i < 50; i++) {
		len = make_rtp(buf, 1, 0x9000 + i, 40);
		assert_int_equal(srtp_sess_protect_rtp(snd, buf, &len, sizeof(buf)), 0);
		buf[20] ^= 0xFF;
		assert_int_equal(srtp_sess_unprotect_rtp(rcv, buf, &len), -EACCES);
	}
	for (uint32_t i = 0; i < SRTP_MAX_SSRCS; i++)
		assert_int_equal(send_rtp(snd, rcv, 1, 0x1000 + i), 0);
	assert_int_equal(send_rtp(snd, rcv, 1, 0x2000), -ENOSPC);
	assert_int_equal(send_rtp(snd, rcv, 2, 0x2001), -ENOSPC);
	assert_int_equal(send_rtp(snd, rcv, 2, 0x1000), 0); /* known SSRCs carry on */
	len = make_sr(buf, 0x2002);
	assert_int_equal(srtp_sess_protect_rtcp(snd, buf, &len, sizeof(buf)), 0);
	assert_int_equal(srtp_sess_unprotect_rtcp(rcv, buf, &len), -ENOSPC);
	len = make_sr(buf, 0x1003);
	assert_int_equal(srtp_sess_protect_rtcp(snd, buf, &len, sizeof(buf)), 0);
	assert_int_equal(srtp_sess_unprotect_rtcp(rcv, buf, &len), 0);
	srtp_sess_get_stats(rcv, &st);
	assert_int_equal(st.ssrc_refused, 3);
	assert_int_equal(st.rtp_auth_fail, 50);
	/* a stopped stream's SSRC is given back: another takes its place, and it is new if it
	 * comes back (the table full again) */
	srtp_sess_forget_ssrc(rcv, 0x1005);
	srtp_sess_forget_ssrc(rcv, 0x7777); /* unknown: nothing */
	srtp_sess_forget_ssrc(NULL, 0x1005);
	assert_int_equal(send_rtp(snd, rcv, 3, 0x2000), 0);
	assert_int_equal(send_rtp(snd, rcv, 4, 0x2000), 0);
	assert_int_equal(send_rtp(snd, rcv, 3, 0x1005), -ENOSPC);
	srtp_sess_forget_ssrc(rcv, 0x2000);
	assert_int_equal(send_rtp(snd, rcv, 4, 0x1005), 0);
	srtp_sess_free(&snd);
	srtp_sess_free(&rcv);
}

static void test_capacity_and_short(void **state)
{
	struct srtp_sess *snd, *rcv;
	uint8_t buf[200 + SRTP_MAX_TRAILER];
	struct srtp_sess_stats st;
	size_t n = make_rtp(buf, 1, 0x42, 40), len = n;

	sess_pair(SRTP_PROFILE_AES128_CM_SHA1_80, &snd, &rcv);
	assert_int_equal(srtp_sess_protect_rtp(snd, buf, &len, n + SRTP_MAX_TRAILER - 1), -ENOSPC);
	assert_int_equal(len, n);
	assert_int_equal(srtp_sess_protect_rtcp(snd, buf, &len, n), -ENOSPC);
	assert_int_equal(srtp_sess_protect_rtp(snd, buf, &len, n + SRTP_MAX_TRAILER), 0);
	len = 11;
	assert_int_equal(srtp_sess_protect_rtp(snd, buf, &len, sizeof(buf)), -EINVAL);
	assert_int_equal(srtp_sess_unprotect_rtp(rcv, buf, &len), -EINVAL);
	len = 7;
	assert_int_equal(srtp_sess_unprotect_rtcp(rcv, buf, &len), -EINVAL);
	len = 0;
	assert_int_equal(srtp_sess_unprotect_rtp(rcv, buf, &len), -EINVAL);
	srtp_sess_get_stats(rcv, &st);
	assert_int_equal(st.other_err, 3);
	srtp_sess_free(&snd);
	srtp_sess_free(&rcv);
}

/* ---- end to end: DTLS-SRTP key export drives the sessions ---- */

struct queue {
	uint8_t d[32][1500];
	size_t n[32], count;
};

static void q_send(void *opaque, const uint8_t *data, size_t len)
{
	struct queue *q = opaque;

	assert_true(q->count < 32 && len <= 1500);
	memcpy(q->d[q->count], data, len);
	q->n[q->count++] = len;
}

/* Delivers q's datagrams in order to c; returns how many completed the handshake. */
static int deliver(struct queue *q, struct dtls_conn *c)
{
	int done = 0;

	for (size_t i = 0; i < q->count; i++) {
		int rc = dtls_conn_recv(c, q->d[i], q->n[i]);
		assert_true(rc == 0 || rc == 1);
		done += rc;
	}
	q->count = 0;
	return done;
}

static void handshake(struct dtls_conn *cl, struct dtls_conn *sv, struct queue *to_sv,
                      struct queue *to_cl)
{
	int done = 0;

	assert_int_equal(dtls_conn_start(cl), 0);
	for (int i = 0; i < 20 && (to_sv->count || to_cl->count); i++) {
		done += deliver(to_sv, sv);
		done += deliver(to_cl, cl);
	}
	assert_int_equal(done, 2);
}

static void exchange(struct srtp_sess *from, struct srtp_sess *to, uint32_t ssrc)
{
	uint8_t plain[PKT_MAX], buf[PKT_MAX + SRTP_MAX_TRAILER];
	size_t n = make_rtp(plain, 1234, ssrc, 300), len = n;

	memcpy(buf, plain, n);
	assert_int_equal(srtp_sess_protect_rtp(from, buf, &len, sizeof(buf)), 0);
	assert_int_equal(srtp_sess_unprotect_rtp(to, buf, &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(buf, plain, n);
	n = len = make_sr(plain, ssrc);
	memcpy(buf, plain, n);
	assert_int_equal(srtp_sess_protect_rtcp(from, buf, &len, sizeof(buf)), 0);
	assert_int_equal(srtp_sess_unprotect_rtcp(to, buf, &len), 0);
	assert_memory_equal(buf, plain, n);
}

static void test_dtls_srtp_end_to_end(void **state)
{
	static struct queue to_sv, to_cl;
	struct dtls_cert *cc, *sc;
	struct dtls_conn *cl, *sv;
	struct srtp_keys kc, ks;
	struct srtp_sess *sc_sess, *ss_sess;
	char err[256];

	assert_int_equal(dtls_cert_new(&cc, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(dtls_cert_new(&sc, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(dtls_conn_new(&cl, cc, DTLS_CLIENT, "sha-256", dtls_cert_fingerprint(sc),
	                               q_send, &to_sv),
	                 0);
	assert_int_equal(dtls_conn_new(&sv, sc, DTLS_SERVER, "sha-256", dtls_cert_fingerprint(cc),
	                               q_send, &to_cl),
	                 0);
	handshake(cl, sv, &to_sv, &to_cl);
	assert_int_equal(dtls_conn_srtp_keys(cl, &kc), 0);
	assert_int_equal(dtls_conn_srtp_keys(sv, &ks), 0);
	assert_int_equal(srtp_sess_new(&sc_sess, &kc), 0);
	assert_int_equal(srtp_sess_new(&ss_sess, &ks), 0);
	exchange(sc_sess, ss_sess, 0xC0FFEE);
	exchange(ss_sess, sc_sess, 0xBEEF);
	srtp_sess_free(&sc_sess);
	srtp_sess_free(&ss_sess);
	dtls_conn_free(&cl);
	dtls_conn_free(&sv);
	dtls_cert_free(&cc);
	dtls_cert_free(&sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_profile_lengths),
	    cmocka_unit_test(test_bad_keys),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_tamper),
	    cmocka_unit_test(test_replay),
	    cmocka_unit_test(test_resend_same_seq),
	    cmocka_unit_test(test_ssrc_cap),
	    cmocka_unit_test(test_capacity_and_short),
	    cmocka_unit_test(test_dtls_srtp_end_to_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
