/*
 * test_dtls.c - unit tests for src/net/dtls.c (DTLS-SRTP handshake over memory BIOs).
 *
 * A client and a server dtls_conn live in one process; each send callback queues datagrams
 * that the test delivers to the other side's dtls_conn_recv (optionally dropping some).
 * Checks: handshake both ways, crosswise SRTP keys (RFC 5764 4.2), the negotiated profile,
 * fingerprint format and mismatch (-EPERM on the checking side, an alert for the other),
 * garbage before/during/after the handshake (reliability checklist B7), the give-up timer,
 * recovery from a lost flight by retransmission, PEM loading checked against the openssl CLI,
 * and the RFC 5764 key layout checked against a plain OpenSSL client (AES128_CM_SHA1_80 only).
 * Single-threaded; the loss and give-up tests sleep for about a second each.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "net/dtls.h"

#define Q_MAX  64
#define DG_MAX 2048

struct queue {
	uint8_t d[Q_MAX][DG_MAX];
	size_t n[Q_MAX];
	size_t count;
	size_t sent; /* datagrams the sender produced, dropped ones included */
	int drop;    /* drop this many of the next datagrams */
	size_t max_len;
};

struct pair {
	struct dtls_cert *ccert, *scert;
	struct dtls_conn *client, *server;
	struct queue to_server, to_client;
	int client_rc, server_rc; /* 1 once completed, or the first error */
};

static void q_send(void *opaque, const uint8_t *data, size_t len)
{
	struct queue *q = opaque;

	q->sent++;
	if (len > q->max_len)
		q->max_len = len;
	if (q->drop > 0) {
		q->drop--;
		return;
	}
	assert_true(len <= DG_MAX);
	assert_true(q->count < Q_MAX);
	memcpy(q->d[q->count], data, len);
	q->n[q->count++] = len;
}

static bool q_pop(struct queue *q, uint8_t *buf, size_t *len)
{
	if (!q->count)
		return false;
	*len = q->n[0];
	memcpy(buf, q->d[0], *len);
	q->count--;
	memmove(q->d[0], q->d[1], q->count * DG_MAX);
	memmove(q->n, q->n + 1, q->count * sizeof(q->n[0]));
	return true;
}

/* Keeps 1 once completed; any error replaces it. */
static void note_rc(int *slot, int rc)
{
	if (rc < 0 || (rc == 1 && *slot == 0))
		*slot = rc;
}

/* Delivers queued datagrams both ways until both queues are empty. */
static void pump(struct pair *p)
{
	static uint8_t buf[DG_MAX];
	size_t len;

	for (int i = 0; i < 1000 && (p->to_server.count || p->to_client.count); i++) {
		if (q_pop(&p->to_server, buf, &len))
			note_rc(&p->server_rc, dtls_conn_recv(p->server, buf, len));
		if (q_pop(&p->to_client, buf, &len))
			note_rc(&p->client_rc, dtls_conn_recv(p->client, buf, len));
	}
}

static struct dtls_cert *new_cert(void)
{
	struct dtls_cert *c = NULL;
	char err[256] = "";

	int rc = dtls_cert_new(&c, NULL, NULL, err, sizeof(err));
	if (rc)
		print_error("dtls_cert_new: %s\n", err);
	assert_int_equal(rc, 0);
	assert_non_null(c);
	return c;
}

/* client_expects/server_expects: what each side expects of the other (NULL: the right one). */
static void pair_init(struct pair *p, const char *alg, const char *client_expects,
                      const char *server_expects)
{
	memset(p, 0, sizeof(*p));
	p->ccert = new_cert();
	p->scert = new_cert();
	if (!client_expects)
		client_expects = dtls_cert_fingerprint(p->scert);
	if (!server_expects)
		server_expects = dtls_cert_fingerprint(p->ccert);
	assert_int_equal(dtls_conn_new(&p->client, p->ccert, DTLS_CLIENT, alg, client_expects,
	                               q_send, &p->to_server),
	                 0);
	assert_int_equal(dtls_conn_new(&p->server, p->scert, DTLS_SERVER, alg, server_expects,
	                               q_send, &p->to_client),
	                 0);
}

static void pair_free(struct pair *p)
{
	dtls_conn_free(&p->client);
	dtls_conn_free(&p->server);
	assert_null(p->client);
	dtls_cert_free(&p->ccert);
	dtls_cert_free(&p->scert);
	assert_null(p->scert);
}

static int64_t min_timeout(struct pair *p)
{
	int64_t a = dtls_conn_timeout_us(p->client), b = dtls_conn_timeout_us(p->server);
	if (a < 0)
		return b;
	return b < 0 || a < b ? a : b;
}

/* Pumps and fires retransmission timers until both sides finished or failed. */
static void run(struct pair *p, int max_timeouts)
{
	pump(p);
	for (int i = 0; i < max_timeouts && (p->client_rc <= 0 || p->server_rc <= 0); i++) {
		if (p->client_rc < 0 || p->server_rc < 0)
			break;
		int64_t t = min_timeout(p);
		if (t < 0)
			break;
		usleep((useconds_t)t + 1000);
		note_rc(&p->client_rc, dtls_conn_on_timeout(p->client));
		note_rc(&p->server_rc, dtls_conn_on_timeout(p->server));
		pump(p);
	}
}

static void assert_keys_crosswise(struct pair *p)
{
	struct srtp_keys ck, sk;
	size_t kl = 0, sl = 0;

	assert_int_equal(dtls_conn_srtp_keys(p->client, &ck), 0);
	assert_int_equal(dtls_conn_srtp_keys(p->server, &sk), 0);
	assert_int_equal(ck.profile, sk.profile);
	assert_true(ck.profile == SRTP_PROFILE_AEAD_AES_128_GCM ||
	            ck.profile == SRTP_PROFILE_AES128_CM_SHA1_80);
	assert_int_equal(srtp_profile_lengths(ck.profile, &kl, &sl), 0);
	assert_int_equal(ck.master_len, kl + sl);
	assert_int_equal(sk.master_len, kl + sl);
	assert_memory_equal(ck.local, sk.remote, ck.master_len);
	assert_memory_equal(ck.remote, sk.local, ck.master_len);
	assert_memory_not_equal(ck.local, ck.remote, ck.master_len);
}

/* ---- tests ---- */

static void test_fingerprint_format(void **state)
{
	struct dtls_cert *a = new_cert(), *b = new_cert();
	const char *fp = dtls_cert_fingerprint(a);

	assert_int_equal(strlen(fp), 95);
	for (int i = 0; i < 95; i++) {
		if (i % 3 == 2)
			assert_int_equal(fp[i], ':');
		else
			assert_non_null(strchr("0123456789ABCDEF", fp[i]));
	}
	assert_string_not_equal(fp, dtls_cert_fingerprint(b)); /* fresh key each time */
	dtls_cert_free(&a);
	dtls_cert_free(&b);
	assert_null(a);
	dtls_cert_free(&a); /* NULL is fine */
}

static void test_handshake(void **state)
{
	struct pair p;
	struct srtp_keys k;

	pair_init(&p, "sha-256", NULL, NULL);
	assert_int_equal(dtls_conn_srtp_keys(p.client, &k), -EAGAIN);
	assert_int_equal(dtls_conn_timeout_us(p.server), -1);
	assert_int_equal(dtls_conn_start(p.server), 0); /* servers wait */
	assert_int_equal(p.to_client.sent, 0);
	assert_int_equal(dtls_conn_start(p.client), 0);
	assert_true(p.to_server.count >= 1);
	assert_true(dtls_conn_timeout_us(p.client) > 0);
	pump(&p);
	assert_int_equal(p.client_rc, 1);
	assert_int_equal(p.server_rc, 1);
	assert_true(dtls_conn_done(p.client) && dtls_conn_done(p.server));
	assert_keys_crosswise(&p);
	assert_int_equal(dtls_conn_srtp_keys(p.client, &k), 0);
	assert_int_equal(k.profile, SRTP_PROFILE_AEAD_AES_128_GCM); /* our first preference */
	assert_int_equal(k.master_len, 28);
	assert_true(p.to_server.max_len <= 1200 && p.to_client.max_len <= 1200);
	assert_int_equal(dtls_conn_bad_datagrams(p.client), 0);
	assert_int_equal(dtls_conn_bad_datagrams(p.server), 0);
	pair_free(&p);
}

/* Lower-case expected fingerprints are accepted (RFC 8122 hex is case-insensitive). */
static void test_handshake_lowercase_fp(void **state)
{
	struct pair p;
	char lower[96];

	pair_init(&p, "SHA-256", NULL, NULL);
	snprintf(lower, sizeof(lower), "%s", dtls_cert_fingerprint(p.scert));
	for (char *c = lower; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'F' ? *c + 32 : *c);
	dtls_conn_free(&p.client);
	assert_int_equal(
	    dtls_conn_new(&p.client, p.ccert, DTLS_CLIENT, "sha-256", lower, q_send, &p.to_server),
	    0);
	assert_int_equal(dtls_conn_start(p.client), 0);
	pump(&p);
	assert_int_equal(p.client_rc, 1);
	assert_int_equal(p.server_rc, 1);
	assert_keys_crosswise(&p);
	pair_free(&p);
}

static const char *other_fp(void)
{
	static char fp[96];
	struct dtls_cert *o = new_cert();

	snprintf(fp, sizeof(fp), "%s", dtls_cert_fingerprint(o));
	dtls_cert_free(&o);
	return fp;
}

static void test_fp_mismatch_client_checks(void **state)
{
	struct pair p;
	struct srtp_keys k;

	pair_init(&p, "sha-256", other_fp(), NULL);
	assert_int_equal(dtls_conn_start(p.client), 0);
	pump(&p);
	assert_int_equal(p.client_rc, -EPERM);
	assert_true(p.server_rc < 0); /* it got the client's bad_certificate alert */
	assert_false(dtls_conn_done(p.client));
	assert_false(dtls_conn_done(p.server));
	assert_int_equal(dtls_conn_srtp_keys(p.client, &k), -EAGAIN);
	assert_int_equal(dtls_conn_srtp_keys(p.server, &k), -EAGAIN);
	/* sticky */
	assert_int_equal(dtls_conn_recv(p.client, (const uint8_t *)"\x16", 1), -EPERM);
	assert_int_equal(dtls_conn_on_timeout(p.client), -EPERM);
	assert_int_equal(dtls_conn_timeout_us(p.client), -1);
	pair_free(&p);
}

static void test_fp_mismatch_server_checks(void **state)
{
	struct pair p;

	pair_init(&p, "sha-256", NULL, other_fp());
	assert_int_equal(dtls_conn_start(p.client), 0);
	pump(&p);
	assert_int_equal(p.server_rc, -EPERM);
	assert_int_equal(p.client_rc, -EPROTO);
	assert_false(dtls_conn_done(p.server));
	assert_false(dtls_conn_done(p.client));
	pair_free(&p);
}

static void test_bad_arguments(void **state)
{
	struct dtls_cert *c = new_cert();
	struct dtls_conn *d = (struct dtls_conn *)1;
	const char *fp = dtls_cert_fingerprint(c);
	char buf[128];

	assert_int_equal(dtls_conn_new(&d, c, DTLS_SERVER, "md5", fp, q_send, NULL), -EINVAL);
	assert_null(d);
	assert_int_equal(dtls_conn_new(&d, c, DTLS_SERVER, NULL, fp, q_send, NULL), -EINVAL);
	assert_int_equal(dtls_conn_new(&d, c, DTLS_SERVER, "sha-256", NULL, q_send, NULL), -EINVAL);
	/* sha-1 wants 20 bytes, this is 32 */
	assert_int_equal(dtls_conn_new(&d, c, DTLS_SERVER, "sha-1", fp, q_send, NULL), -EINVAL);
	assert_int_equal(dtls_conn_new(&d, c, DTLS_SERVER, "sha-256", "AB:CD", q_send, NULL),
	                 -EINVAL);
	snprintf(buf, sizeof(buf), "%s:00", fp); /* too long */
	assert_int_equal(dtls_conn_new(&d, c, DTLS_SERVER, "sha-256", buf, q_send, NULL), -EINVAL);
	snprintf(buf, sizeof(buf), "%s", fp);
	buf[2] = '-';
	assert_int_equal(dtls_conn_new(&d, c, DTLS_SERVER, "sha-256", buf, q_send, NULL), -EINVAL);
	snprintf(buf, sizeof(buf), "%s", fp);
	buf[4] = 'G';
	assert_int_equal(dtls_conn_new(&d, c, DTLS_SERVER, "sha-256", buf, q_send, NULL), -EINVAL);
	assert_int_equal(dtls_conn_new(&d, c, DTLS_SERVER, "sha-256", fp, NULL, NULL), -EINVAL);
	assert_int_equal(
	    dtls_conn_new(&d, c, DTLS_SERVER, "sha-1",
	                  "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33", q_send,
	                  NULL),
	    0);
	dtls_conn_free(&d);
	assert_null(d);
	dtls_conn_free(&d);
	dtls_cert_free(&c);
}

/* ---- garbage (checklist B7) ---- */

static size_t make_random(uint8_t *b, size_t n, unsigned seed, uint8_t first)
{
	srand(seed);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rand();
	b[0] = first;
	return n;
}

/* A DTLS 1.2 record header: type, version FE FD, epoch, seq 0, length. */
static size_t rec_hdr(uint8_t *b, uint8_t type, unsigned epoch, unsigned len)
{
	memset(b, 0, 13);
	b[0] = type;
	b[1] = 0xFE;
	b[2] = 0xFD;
	b[3] = (uint8_t)(epoch >> 8);
	b[4] = (uint8_t)epoch;
	b[10] = 7;
	b[11] = (uint8_t)(len >> 8);
	b[12] = (uint8_t)len;
	return 13;
}

/* A handshake record whose fragment claims a 16 MiB message. */
static size_t huge_fragment(uint8_t *b)
{
	size_t n = rec_hdr(b, 22, 0, 12 + 4);
	uint8_t hs[16] = {1, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4};
	memcpy(b + n, hs, sizeof(hs));
	return n + sizeof(hs);
}

/* Sends every kind of garbage to c; each must return 0 and be counted. */
static void send_garbage(struct dtls_conn *c)
{
	uint8_t b[1500];
	uint64_t before = dtls_conn_bad_datagrams(c);
	size_t n;

	n = make_random(b, 200, 1, 0x99); /* outside 20..63: not DTLS (RFC 7983) */
	assert_int_equal(dtls_conn_recv(c, b, n), 0);
	n = make_random(b, 1200, 2, 0x16);
	assert_int_equal(dtls_conn_recv(c, b, n), 0);
	n = rec_hdr(b, 22, 0, 0xFFFF) + 20; /* bogus record length */
	assert_int_equal(dtls_conn_recv(c, b, n), 0);
	assert_int_equal(dtls_conn_recv(c, b, 7), 0); /* truncated header */
	assert_int_equal(dtls_conn_recv(c, b, 0), 0);
	n = huge_fragment(b);
	assert_int_equal(dtls_conn_recv(c, b, n), 0);
	n = huge_fragment(b); /* a valid record followed by a truncated one */
	memcpy(b + n, b, 10);
	assert_int_equal(dtls_conn_recv(c, b, n + 10), 0);
	n = rec_hdr(b, 30, 0, 4) + 4; /* unknown content type */
	assert_int_equal(dtls_conn_recv(c, b, n), 0);
	assert_int_equal(dtls_conn_bad_datagrams(c), before + 8);
}

static void test_garbage(void **state)
{
	struct pair p;
	uint8_t b[256];
	size_t n;

	pair_init(&p, "sha-256", NULL, NULL);
	send_garbage(p.server);
	send_garbage(p.client);
	assert_int_equal(dtls_conn_timeout_us(p.server), -1); /* garbage starts no timer */
	assert_int_equal(dtls_conn_start(p.client), 0);
	send_garbage(p.client); /* mid-handshake */
	pump(&p);
	assert_int_equal(p.client_rc, 1);
	assert_int_equal(p.server_rc, 1);
	send_garbage(p.server);
	send_garbage(p.client);
	/* well-framed but unauthenticated records after the handshake: dropped, still alive */
	n = rec_hdr(b, 23, 1, 64);
	make_random(b + n, 64, 3, 0x55);
	assert_int_equal(dtls_conn_recv(p.server, b, n + 64), 0);
	b[0] = 22;
	assert_int_equal(dtls_conn_recv(p.client, b, n + 64), 0);
	b[0] = 21; /* a forged plaintext alert in epoch 0 */
	n = rec_hdr(b, 21, 0, 2);
	b[n] = 2;
	b[n + 1] = 40;
	assert_int_equal(dtls_conn_recv(p.server, b, n + 2), 0);
	assert_true(dtls_conn_done(p.client) && dtls_conn_done(p.server));
	assert_int_equal(dtls_conn_bad_datagrams(p.server), 16);
	assert_int_equal(dtls_conn_bad_datagrams(p.client), 24);
	assert_keys_crosswise(&p);
	pair_free(&p);
}

/* A well-framed ClientHello with a garbage body reaches OpenSSL: a fatal error, not a crash. */
static void test_framed_garbage_hello(void **state)
{
	struct pair p;
	uint8_t b[256];
	size_t n;

	pair_init(&p, "sha-256", NULL, NULL);
	n = rec_hdr(b, 22, 0, 12 + 40); /* a "ClientHello" of 40 random bytes */
	uint8_t hs[12] = {1, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 40};
	memcpy(b + n, hs, 12);
	make_random(b + n + 12, 40, 4, 0x03);
	assert_int_equal(dtls_conn_recv(p.server, b, n + 52), -EPROTO);
	assert_int_equal(dtls_conn_bad_datagrams(p.server), 1);
	assert_int_equal(p.to_client.count, 1);                         /* the fatal alert */
	assert_int_equal(dtls_conn_recv(p.server, b, n + 52), -EPROTO); /* sticky, not recounted */
	assert_int_equal(dtls_conn_bad_datagrams(p.server), 1);
	pair_free(&p);
}

/* ---- timers ---- */

static void test_giveup(void **state)
{
	struct pair p;
	uint8_t buf[DG_MAX];
	size_t len = 0;
	int rc = 0;

	pair_init(&p, "sha-256", NULL, NULL);
	dtls_conn_set_giveup_us(p.server, 1200000);
	assert_int_equal(dtls_conn_start(p.client), 0);
	while (q_pop(&p.to_server, buf, &len)) /* the ClientHello, then silence */
		assert_int_equal(dtls_conn_recv(p.server, buf, len), 0);
	size_t first_flight = p.to_client.sent;
	assert_true(first_flight >= 1);
	for (int i = 0; i < 20 && rc == 0; i++) {
		int64_t t = dtls_conn_timeout_us(p.server);
		assert_true(t >= 0 && t <= 1200000);
		usleep((useconds_t)t);
		rc = dtls_conn_on_timeout(p.server);
	}
	assert_int_equal(rc, -ETIMEDOUT);
	assert_true(p.to_client.sent > first_flight); /* it retransmitted meanwhile */
	assert_int_equal(dtls_conn_timeout_us(p.server), -1);
	assert_int_equal(dtls_conn_on_timeout(p.server), -ETIMEDOUT);
	assert_int_equal(dtls_conn_recv(p.server, buf, len), -ETIMEDOUT);
	pair_free(&p);
}

static void test_lost_client_hello(void **state)
{
	struct pair p;

	pair_init(&p, "sha-256", NULL, NULL);
	p.to_server.drop = 1;
	assert_int_equal(dtls_conn_start(p.client), 0);
	assert_int_equal(p.to_server.count, 0);
	run(&p, 10);
	assert_int_equal(p.client_rc, 1);
	assert_int_equal(p.server_rc, 1);
	assert_true(p.to_server.sent >= 3);
	assert_keys_crosswise(&p);
	pair_free(&p);
}

static void test_lost_server_flight(void **state)
{
	struct pair p;

	pair_init(&p, "sha-256", NULL, NULL);
	p.to_client.drop = 1;
	assert_int_equal(dtls_conn_start(p.client), 0);
	run(&p, 10);
	assert_int_equal(p.client_rc, 1);
	assert_int_equal(p.server_rc, 1);
	assert_keys_crosswise(&p);
	pair_free(&p);
}

/* The server's last flight (ChangeCipherSpec, Finished) is lost: the client retransmits its
 * flight after the server finished, and the server answers it. */
static void test_lost_last_flight(void **state)
{
	struct pair p;
	uint8_t buf[DG_MAX];
	size_t len;

	pair_init(&p, "sha-256", NULL, NULL);
	assert_int_equal(dtls_conn_start(p.client), 0);
	for (int i = 0; i < 10 && p.server_rc == 0; i++) {
		while (q_pop(&p.to_server, buf, &len))
			note_rc(&p.server_rc, dtls_conn_recv(p.server, buf, len));
		if (p.server_rc == 1)
			p.to_client.count = 0; /* drop the server's CCS + Finished */
		while (q_pop(&p.to_client, buf, &len))
			note_rc(&p.client_rc, dtls_conn_recv(p.client, buf, len));
	}
	assert_int_equal(p.server_rc, 1);
	assert_int_equal(p.client_rc, 0);
	run(&p, 10);
	assert_int_equal(p.client_rc, 1);
	assert_keys_crosswise(&p);
	pair_free(&p);
}

static void test_free_mid_handshake(void **state)
{
	struct pair p;
	uint8_t buf[DG_MAX];
	size_t len;

	pair_init(&p, "sha-256", NULL, NULL);
	assert_int_equal(dtls_conn_start(p.client), 0);
	while (q_pop(&p.to_server, buf, &len))
		assert_int_equal(dtls_conn_recv(p.server, buf, len), 0);
	pair_free(&p); /* LeakSanitizer checks the rest */
}

/* ---- PEM files, checked against the openssl CLI ---- */

static bool sh(const char *fmt, const char *dir)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, dir, dir, dir);
	return system(cmd) == 0;
}

/* `openssl x509 -fingerprint` output for alg ("sha256", "sha1"), after the '='. */
static void cli_fingerprint(const char *dir, const char *alg, char *out, size_t outlen)
{
	char cmd[1024], line[512] = "";

	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -fingerprint -%s -in %s/c.pem", alg, dir);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	pclose(f);
	char *eq = strchr(line, '=');
	assert_non_null(eq);
	eq[strcspn(eq, "\r\n")] = '\0';
	snprintf(out, outlen, "%s", eq + 1);
}

static void handshake_with_pem_server(const char *dir, const char *alg, const char *fp)
{
	struct pair p;
	char path_c[512], path_k[512], err[256];

	pair_init(&p, "sha-256", NULL, NULL);
	dtls_conn_free(&p.client);
	dtls_conn_free(&p.server);
	dtls_cert_free(&p.scert);
	snprintf(path_c, sizeof(path_c), "%s/c.pem", dir);
	snprintf(path_k, sizeof(path_k), "%s/k.pem", dir);
	assert_int_equal(dtls_cert_new(&p.scert, path_c, path_k, err, sizeof(err)), 0);
	assert_int_equal(
	    dtls_conn_new(&p.client, p.ccert, DTLS_CLIENT, alg, fp, q_send, &p.to_server), 0);
	assert_int_equal(dtls_conn_new(&p.server, p.scert, DTLS_SERVER, "sha-256",
	                               dtls_cert_fingerprint(p.ccert), q_send, &p.to_client),
	                 0);
	assert_int_equal(dtls_conn_start(p.client), 0);
	pump(&p);
	assert_int_equal(p.client_rc, 1);
	assert_int_equal(p.server_rc, 1);
	assert_keys_crosswise(&p);
	pair_free(&p);
}

static void check_pem(const char *dir, const char *newkey)
{
	char cmd[512], fp[256], fp1[256], path_c[512], path_k[512], err[256] = "";
	struct dtls_cert *c = NULL;

	snprintf(cmd, sizeof(cmd),
	         "openssl req -x509 %s -nodes -keyout %%s/k.pem -out %%s/c.pem -days 2 "
	         "-subj /CN=test >/dev/null 2>&1",
	         newkey);
	assert_true(sh(cmd, dir));
	snprintf(path_c, sizeof(path_c), "%s/c.pem", dir);
	snprintf(path_k, sizeof(path_k), "%s/k.pem", dir);
	assert_int_equal(dtls_cert_new(&c, path_c, path_k, err, sizeof(err)), 0);
	cli_fingerprint(dir, "sha256", fp, sizeof(fp));
	assert_string_equal(dtls_cert_fingerprint(c), fp);
	dtls_cert_free(&c);
	cli_fingerprint(dir, "sha1", fp1, sizeof(fp1));
	handshake_with_pem_server(dir, "sha-1", fp1);
	handshake_with_pem_server(dir, "sha-256", fp);
}

static void test_pem(void **state)
{
	char dir[] = "/tmp/test_dtls.XXXXXX", path_c[512], path_k[512], err[256] = "";
	struct dtls_cert *c = (struct dtls_cert *)1;

	assert_non_null(mkdtemp(dir));
	check_pem(dir, "-newkey ec -pkeyopt ec_paramgen_curve:P-256");
	check_pem(dir, "-newkey rsa:2048");
	snprintf(path_c, sizeof(path_c), "%s/c.pem", dir);
	snprintf(path_k, sizeof(path_k), "%s/k2.pem", dir);
	assert_true(sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
	               "-out %s/k2.pem >/dev/null 2>&1",
	               dir));
	assert_int_equal(dtls_cert_new(&c, path_c, path_k, err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, "does not match"));
	assert_int_equal(dtls_cert_new(&c, "/nonexistent/c.pem", path_k, err, sizeof(err)),
	                 -EINVAL);
	assert_int_equal(dtls_cert_new(&c, path_k, path_k, err, sizeof(err)), -EINVAL);
	assert_int_equal(dtls_cert_new(&c, path_c, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(dtls_cert_new(&c, path_c, path_k, NULL, 0), -EINVAL);
	assert_null(c);
	assert_true(sh("rm -f %s/c.pem %s/k.pem %s/k2.pem", dir));
	assert_int_equal(rmdir(dir), 0);
}

/* ---- oracle: a plain OpenSSL client offering only AES128_CM_SHA1_80 ---- */

struct raw_client {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rbio, *wbio;
};

static void raw_client_init(struct raw_client *r, const char *dir)
{
	char path[512];

	r->ctx = SSL_CTX_new(DTLS_client_method());
	assert_non_null(r->ctx);
	snprintf(path, sizeof(path), "%s/c.pem", dir);
	assert_int_equal(SSL_CTX_use_certificate_file(r->ctx, path, SSL_FILETYPE_PEM), 1);
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(r->ctx, path, SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_set_tlsext_use_srtp(r->ctx, "SRTP_AES128_CM_SHA1_80"), 0);
	r->ssl = SSL_new(r->ctx);
	r->rbio = BIO_new(BIO_s_mem());
	r->wbio = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(r->rbio, -1);
	SSL_set_bio(r->ssl, r->rbio, r->wbio);
	SSL_set_connect_state(r->ssl);
}

/* Runs the raw client's handshake step, then hands what it wrote to the server. */
static int raw_client_step(struct raw_client *r, struct dtls_conn *server)
{
	int ret = SSL_do_handshake(r->ssl), rc = 0;
	char *p;
	long n = BIO_get_mem_data(r->wbio, &p);

	if (n > 0)
		rc = dtls_conn_recv(server, (const uint8_t *)p, (size_t)n);
	(void)BIO_reset(r->wbio);
	assert_true(rc >= 0);
	return ret == 1 ? 1 : 0;
}

static void test_oracle_openssl_client(void **state)
{
	char dir[] = "/tmp/test_dtls.XXXXXX", fp[256];
	struct queue to_client = {.count = 0};
	struct dtls_cert *sc = new_cert();
	struct dtls_conn *server;
	struct raw_client r;
	struct srtp_keys k;
	uint8_t m[60], buf[DG_MAX];
	size_t len;
	int done = 0;

	assert_non_null(mkdtemp(dir));
	assert_true(sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	               "-keyout %s/k.pem -out %s/c.pem -days 2 -subj /CN=raw >/dev/null 2>&1",
	               dir));
	cli_fingerprint(dir, "sha256", fp, sizeof(fp));
	assert_int_equal(dtls_conn_new(&server, sc, DTLS_SERVER, "sha-256", fp, q_send, &to_client),
	                 0);
	raw_client_init(&r, dir);
	for (int i = 0; i < 20 && !done; i++) {
		done = raw_client_step(&r, server);
		while (q_pop(&to_client, buf, &len)) {
			BIO_write(r.rbio, buf, (int)len);
			done = raw_client_step(&r, server);
		}
	}
	assert_int_equal(done, 1);
	assert_true(dtls_conn_done(server));
	assert_int_equal(dtls_conn_srtp_keys(server, &k), 0);
	assert_int_equal(k.profile, SRTP_PROFILE_AES128_CM_SHA1_80);
	assert_int_equal(k.master_len, 30);
	/* RFC 5764 4.2: client_key(16) server_key(16) client_salt(14) server_salt(14) */
	assert_int_equal(
	    SSL_export_keying_material(r.ssl, m, sizeof(m), "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0),
	    1);
	assert_memory_equal(k.local, m + 16, 16);
	assert_memory_equal(k.local + 16, m + 46, 14);
	assert_memory_equal(k.remote, m, 16);
	assert_memory_equal(k.remote + 16, m + 32, 14);
	SSL_free(r.ssl);
	SSL_CTX_free(r.ctx);
	dtls_conn_free(&server);
	dtls_cert_free(&sc);
	assert_true(sh("rm -f %s/c.pem %s/k.pem", dir));
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fingerprint_format),
	    cmocka_unit_test(test_handshake),
	    cmocka_unit_test(test_handshake_lowercase_fp),
	    cmocka_unit_test(test_fp_mismatch_client_checks),
	    cmocka_unit_test(test_fp_mismatch_server_checks),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_framed_garbage_hello),
	    cmocka_unit_test(test_giveup),
	    cmocka_unit_test(test_lost_client_hello),
	    cmocka_unit_test(test_lost_server_flight),
	    cmocka_unit_test(test_lost_last_flight),
	    cmocka_unit_test(test_free_mid_handshake),
	    cmocka_unit_test(test_pem),
	    cmocka_unit_test(test_oracle_openssl_client),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
