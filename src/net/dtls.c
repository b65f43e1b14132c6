/*
 * dtls.c - DTLS-SRTP with OpenSSL over memory BIOs (RFC 6347 DTLS 1.2, RFC 5764 DTLS-SRTP,
 * RFC 8827 / RFC 8122 fingerprint check, RFC 7983 demux range).
 *
 * dtls_cert: a self-signed ECDSA P-256 certificate (or one loaded from PEM) and the SSL_CTX
 * every association uses; immutable after creation, shareable between threads.
 * dtls_conn: one SSL object with an input memory BIO (one received datagram at a time) and an
 * output memory BIO drained after every OpenSSL call: its records are regrouped into datagrams
 * of at most DTLS_MTU bytes, the boundaries OpenSSL itself assumed (it packs records while
 * BIO_wpending + next record fits the MTU). Datagrams that are not well-framed DTLS (and
 * epoch-0 handshake fragments with impossible lengths) are dropped and counted before OpenSSL
 * sees them, so the peer's garbage cannot kill the association. The peer's certificate is
 * checked against its SDP fingerprint in the verify callback (the handshake fails with an
 * alert) and again after the handshake; then the SRTP master keys are exported (RFC 5764 4.2).
 * The handshake gives up DTLS_GIVEUP_US after its first datagram. Single-threaded per conn.
 */
#include "net/dtls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define DTLS_MTU           1200
#define DTLS_MAX_DATAGRAM  18432      /* one 16 KiB record + header + expansion */
#define DTLS_MAX_HS_MSG    32768      /* epoch-0 handshake message_length cap */
#define DTLS_REC_HDR       13         /* RFC 6347 4.1 */
#define DTLS_HS_HDR        12         /* RFC 6347 4.2.2 */
#define DTLS_GIVEUP_US     20000000LL /* whole handshake, as Janus */
#define DTLS_TIMER_INIT    500000u    /* first retransmission, microseconds */
#define DTLS_TIMER_MAX     4000000u   /* backoff cap */
#define DTLS_FP_MAX        64         /* SHA-512 digest */
#define DTLS_CIPHERS       "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:!aNULL:!eNULL:!MD5:!DSS:!PSK"
#define DTLS_SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
#define DTLS_EXPORT_LABEL  "EXTRACTOR-dtls_srtp"

struct dtls_cert {
	X509 *x509;
	EVP_PKEY *key;
	SSL_CTX *ctx;
	char fp[3 * 32]; /* SHA-256: 32 "XX" joined by ':' + NUL */
};

/*
 * Invariants: err != 0 means dead (sticky, every call returns it); done means keys are valid;
 * started_us == 0 until the handshake's first datagram (client: start, server: first recv).
 */
struct dtls_conn {
	SSL *ssl;
	BIO *rbio; /* owned by ssl */
	BIO *wbio; /* owned by ssl */
	enum dtls_role role;
	const EVP_MD *fp_md;
	uint8_t fp[DTLS_FP_MAX]; /* the peer's expected certificate digest */
	unsigned fp_len;
	bool fp_bad; /* the verify callback saw a mismatching certificate */
	bool done;
	int err;
	int64_t started_us;
	int64_t giveup_us;
	dtls_send_fn send;
	void *opaque;
	struct srtp_keys keys;
	uint64_t bad;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Formats "what: <OpenSSL's last error>" into err and clears the thread's error queue. */
static int set_err(char *err, size_t errlen, const char *what, int rc)
{
	char buf[256] = "";
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", buf);
	ERR_clear_error();
	return rc;
}

/* ---- certificate ---- */

static int x509_fill(X509 *x, EVP_PKEY *key)
{
	uint64_t serial;
	X509_NAME *name = X509_get_subject_name(x);

	if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
		return -EIO;
	serial &= INT64_MAX; /* positive */
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -86400L) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mcu", -1,
	                                -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key) ||
	    X509_sign(x, key, EVP_sha256()) <= 0)
		return -EIO;
	return 0;
}

static int cert_generate(struct dtls_cert *c, char *err, size_t errlen)
{
	c->key = EVP_EC_gen("P-256");
	if (!c->key)
		return set_err(err, errlen, "EC P-256 key generation failed", -EIO);
	c->x509 = X509_new();
	if (!c->x509)
		return set_err(err, errlen, "X509_new failed", -ENOMEM);
	if (x509_fill(c->x509, c->key) < 0)
		return set_err(err, errlen, "self-signed certificate creation failed", -EIO);
	return 0;
}

static int cert_load(struct dtls_cert *c, const char *cert_pem, const char *key_pem, char *err,
                     size_t errlen)
{
	BIO *b = BIO_new_file(cert_pem, "r");

	if (b) {
		c->x509 = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	if (!c->x509)
		return set_err(err, errlen, "cannot read the certificate PEM", -EINVAL);
	b = BIO_new_file(key_pem, "r");
	if (b) {
		c->key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	if (!c->key)
		return set_err(err, errlen, "cannot read the private key PEM", -EINVAL);
	if (X509_check_private_key(c->x509, c->key) != 1)
		return set_err(err, errlen, "the private key does not match the certificate",
		               -EINVAL);
	return 0;
}

static void hex_colons(const uint8_t *md, unsigned n, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (unsigned i = 0; i < n; i++) {
		*out++ = hex[md[i] >> 4];
		*out++ = hex[md[i] & 15];
		*out++ = i + 1 < n ? ':' : '\0';
	}
}

static int cert_fingerprint(struct dtls_cert *c)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (!X509_digest(c->x509, EVP_sha256(), md, &n) || n != 32)
		return -EIO;
	hex_colons(md, n, c->fp);
	return 0;
}

/* The verify callback; defined with the connection code below. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *store);

static int ctx_configure(SSL_CTX *ctx, const struct dtls_cert *c)
{
	SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION |
	                             SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
	                             SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	if (!SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, DTLS_CIPHERS) ||
	    !SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") ||
	    SSL_CTX_set_tlsext_use_srtp(ctx, DTLS_SRTP_PROFILES) != 0 || /* 0 is success */
	    SSL_CTX_use_certificate(ctx, c->x509) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, c->key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		return -EIO;
	return 0;
}

int dtls_cert_new(struct dtls_cert **out, const char *cert_pem, const char *key_pem, char *err,
                  size_t errlen)
{
	int rc;

	*out = NULL;
	if (!cert_pem != !key_pem)
		return set_err(err, errlen, "give both the certificate and the key, or neither",
		               -EINVAL);
	struct dtls_cert *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	rc =
	    cert_pem ? cert_load(c, cert_pem, key_pem, err, errlen) : cert_generate(c, err, errlen);
	if (rc == 0 && cert_fingerprint(c) < 0)
		rc = set_err(err, errlen, "certificate digest failed", -EIO);
	if (rc == 0) {
		c->ctx = SSL_CTX_new(DTLS_method());
		if (!c->ctx || ctx_configure(c->ctx, c) < 0)
			rc = set_err(err, errlen, "DTLS context setup failed", -EIO);
	}
	if (rc < 0) {
		dtls_cert_free(&c);
		return rc;
	}
	*out = c;
	return 0;
}

void dtls_cert_free(struct dtls_cert **c)
{
	if (!*c)
		return;
	SSL_CTX_free((*c)->ctx);
	X509_free((*c)->x509);
	EVP_PKEY_free((*c)->key);
	free(*c);
	*c = NULL;
}

const char *dtls_cert_fingerprint(const struct dtls_cert *c)
{
	return c->fp;
}

/* ---- remote fingerprint (RFC 8122 5: hash-func SP 2UHEX *(":" 2UHEX)) ---- */

static const EVP_MD *fp_md_by_name(const char *alg)
{
	if (!alg)
		return NULL;
	if (!strcasecmp(alg, "sha-1"))
		return EVP_sha1();
	if (!strcasecmp(alg, "sha-256"))
		return EVP_sha256();
	if (!strcasecmp(alg, "sha-384"))
		return EVP_sha384();
	if (!strcasecmp(alg, "sha-512"))
		return EVP_sha512();
	return NULL;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Parses exactly want bytes of colon-separated hex pairs. */
static int fp_parse(const char *s, uint8_t *out, size_t want)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < want; i++) {
		int hi = hexval(s[0]);
		int lo = hi < 0 ? -1 : hexval(s[1]);
		if (lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i + 1 < want && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

static bool fp_matches(const struct dtls_conn *c, X509 *x)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (!x || !X509_digest(x, c->fp_md, md, &n))
		return false;
	return n == c->fp_len && memcmp(md, c->fp, n) == 0;
}

/*
 * Accepts any chain (self-signed certificates are the norm) whose leaf matches the SDP
 * fingerprint; a mismatch fails the handshake here, so the peer gets a bad_certificate alert.
 */
static int verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct dtls_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;

	if (!c)
		return 0;
	if (X509_STORE_CTX_get_error_depth(store) != 0)
		return 1;
	if (!fp_matches(c, X509_STORE_CTX_get_current_cert(store))) {
		c->fp_bad = true;
		return 0;
	}
	return 1;
}

/* ---- output: regroup the records OpenSSL wrote into datagrams ---- */

/* Length of the record at p (header included), or n when it is truncated. */
static size_t record_len(const uint8_t *p, size_t n)
{
	if (n < DTLS_REC_HDR)
		return n;
	size_t rl = DTLS_REC_HDR + ((size_t)p[11] << 8 | p[12]);
	return rl > n ? n : rl;
}

static void send_records(struct dtls_conn *c, const uint8_t *p, size_t n)
{
	size_t start = 0, pos = 0;

	while (pos < n) {
		size_t rl = record_len(p + pos, n - pos);
		if (pos > start && pos + rl - start > DTLS_MTU) {
			c->send(c->opaque, p + start, pos - start);
			start = pos;
		}
		pos += rl;
	}
	if (pos > start)
		c->send(c->opaque, p + start, pos - start);
}

static void flush_out(struct dtls_conn *c)
{
	char *p = NULL;
	long n = BIO_get_mem_data(c->wbio, &p);

	if (n <= 0 || !p)
		return;
	send_records(c, (const uint8_t *)p, (size_t)n);
	(void)BIO_reset(c->wbio);
}

/* ---- input validation (before OpenSSL): RFC 7983 range, RFC 6347 4.1 and 4.2.2 framing ---- */

static uint32_t rd24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* The fragments of an epoch-0 (plaintext) handshake record. */
static bool hs_frags_valid(const uint8_t *p, size_t n)
{
	if (n == 0)
		return false;
	while (n > 0) {
		if (n < DTLS_HS_HDR)
			return false;
		uint32_t msg_len = rd24(p + 1), frag_off = rd24(p + 6), frag_len = rd24(p + 9);
		if (frag_len > n - DTLS_HS_HDR || msg_len > DTLS_MAX_HS_MSG ||
		    frag_off + frag_len > msg_len)
			return false;
		p += DTLS_HS_HDR + frag_len;
		n -= DTLS_HS_HDR + frag_len;
	}
	return true;
}

static bool datagram_valid(const uint8_t *p, size_t n)
{
	if (n == 0 || p[0] < 20 || p[0] > 63)
		return false;
	while (n > 0) {
		if (n < DTLS_REC_HDR)
			return false;
		size_t rl = (size_t)p[11] << 8 | p[12];
		unsigned epoch = (unsigned)p[3] << 8 | p[4];
		/* change_cipher_spec, alert, handshake, application_data; DTLS major 0xFE */
		if (p[0] < 20 || p[0] > 23 || p[1] != 0xFE || rl > n - DTLS_REC_HDR)
			return false;
		if (p[0] == 22 && epoch == 0 && !hs_frags_valid(p + DTLS_REC_HDR, rl))
			return false;
		p += DTLS_REC_HDR + rl;
		n -= DTLS_REC_HDR + rl;
	}
	return true;
}

/* ---- connection ---- */

/* RFC 6347 4.2.4.1 backoff, from a shorter first timer than OpenSSL's 1 s. */
static unsigned int timer_cb(SSL *s, unsigned int timer_us)
{
	if (timer_us == 0)
		return DTLS_TIMER_INIT;
	return timer_us >= DTLS_TIMER_MAX / 2 ? DTLS_TIMER_MAX : timer_us * 2;
}

static int conn_ssl_setup(struct dtls_conn *c, SSL_CTX *ctx)
{
	c->ssl = SSL_new(ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (!c->ssl || !c->rbio || !c->wbio) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		return -ENOMEM;
	}
	BIO_set_mem_eof_return(c->rbio, -1); /* empty: "retry", not EOF */
	BIO_set_mem_eof_return(c->wbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_app_data(c->ssl, c);
	SSL_set_options(c->ssl, SSL_OP_NO_QUERY_MTU);
	if (!SSL_set_mtu(c->ssl, DTLS_MTU))
		return -EIO;
	DTLS_set_timer_cb(c->ssl, timer_cb);
	if (c->role == DTLS_SERVER)
		SSL_set_accept_state(c->ssl);
	else
		SSL_set_connect_state(c->ssl);
	return 0;
}

int dtls_conn_new(struct dtls_conn **out, const struct dtls_cert *cert, enum dtls_role role,
                  const char *remote_fp_alg, const char *remote_fp, dtls_send_fn send, void *opaque)
{
	const EVP_MD *md = fp_md_by_name(remote_fp_alg);
	int rc;

	*out = NULL;
	if (!md || !send || (role != DTLS_SERVER && role != DTLS_CLIENT))
		return -EINVAL;
	struct dtls_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->role = role;
	c->fp_md = md;
	c->fp_len = (unsigned)EVP_MD_get_size(md);
	c->send = send;
	c->opaque = opaque;
	c->giveup_us = DTLS_GIVEUP_US;
	rc = fp_parse(remote_fp, c->fp, c->fp_len);
	if (rc == 0)
		rc = conn_ssl_setup(c, cert->ctx);
	if (rc < 0) {
		ERR_clear_error();
		dtls_conn_free(&c);
		return rc;
	}
	*out = c;
	return 0;
}

void dtls_conn_free(struct dtls_conn **c)
{
	if (!*c)
		return;
	SSL_free((*c)->ssl); /* frees both BIOs */
	OPENSSL_cleanse(&(*c)->keys, sizeof((*c)->keys));
	free(*c);
	*c = NULL;
}

/* Marks the connection dead with rc (sticky) and forgets OpenSSL's error queue. */
static int conn_fail(struct dtls_conn *c, int rc)
{
	c->err = rc;
	ERR_clear_error();
	return rc;
}

/* Maps a failed SSL call: 0 when OpenSSL just waits for more datagrams, else sticky -errno. */
static int ssl_result(struct dtls_conn *c, int ret)
{
	int e = SSL_get_error(c->ssl, ret);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	if (c->fp_bad)
		return conn_fail(c, -EPERM);
	if (e == SSL_ERROR_ZERO_RETURN)
		return conn_fail(c, -ECONNRESET);
	return conn_fail(c, -EPROTO);
}

/* RFC 5764 4.2: client_key | server_key | client_salt | server_salt. */
static int export_keys(struct dtls_conn *c)
{
	const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(c->ssl);
	uint8_t m[2 * SRTP_MASTER_MAX];
	size_t kl, sl;

	if (!p || srtp_profile_lengths((enum srtp_profile)p->id, &kl, &sl) < 0)
		return -EPROTO;
	if (SSL_export_keying_material(c->ssl, m, 2 * (kl + sl), DTLS_EXPORT_LABEL,
	                               strlen(DTLS_EXPORT_LABEL), NULL, 0, 0) != 1)
		return -EPROTO;
	bool srv = c->role == DTLS_SERVER;
	uint8_t *ck = m, *sk = m + kl, *cs = m + 2 * kl, *ss = m + 2 * kl + sl;
	c->keys.profile = (enum srtp_profile)p->id;
	c->keys.master_len = kl + sl;
	memcpy(c->keys.local, srv ? sk : ck, kl);
	memcpy(c->keys.local + kl, srv ? ss : cs, sl);
	memcpy(c->keys.remote, srv ? ck : sk, kl);
	memcpy(c->keys.remote + kl, srv ? cs : ss, sl);
	OPENSSL_cleanse(m, sizeof(m));
	return 0;
}

/* The handshake just completed: re-check the peer certificate, then export the keys. */
static int handshake_done(struct dtls_conn *c)
{
	X509 *peer = SSL_get1_peer_certificate(c->ssl);
	bool ok = fp_matches(c, peer);
	int rc;

	X509_free(peer);
	if (!ok)
		return conn_fail(c, -EPERM);
	rc = export_keys(c);
	if (rc < 0)
		return conn_fail(c, rc);
	c->done = true;
	return 1;
}

static int handshake_step(struct dtls_conn *c)
{
	ERR_clear_error();
	int ret = SSL_do_handshake(c->ssl);
	flush_out(c);
	if (ret == 1)
		return handshake_done(c);
	return ssl_result(c, ret);
}

/* After the handshake: lets OpenSSL handle retransmitted flights and alerts; data is dropped. */
static int read_step(struct dtls_conn *c)
{
	uint8_t buf[2048];
	int ret;

	for (int i = 0; i < 64; i++) {
		ERR_clear_error();
		ret = SSL_read(c->ssl, buf, sizeof(buf));
		flush_out(c);
		if (ret <= 0)
			return ssl_result(c, ret);
	}
	return 0;
}

int dtls_conn_start(struct dtls_conn *c)
{
	if (c->err)
		return c->err;
	if (c->role != DTLS_CLIENT || c->started_us)
		return 0;
	c->started_us = now_us();
	return handshake_step(c);
}

int dtls_conn_recv(struct dtls_conn *c, const uint8_t *data, size_t len)
{
	int rc;

	if (c->err)
		return c->err;
	if (len > DTLS_MAX_DATAGRAM || !datagram_valid(data, len)) {
		c->bad++;
		return 0;
	}
	if (!c->started_us)
		c->started_us = now_us();
	if (BIO_write(c->rbio, data, (int)len) != (int)len)
		return conn_fail(c, -ENOMEM);
	rc = c->done ? read_step(c) : handshake_step(c);
	if (rc == -EPROTO)
		c->bad++;
	(void)BIO_reset(c->rbio); /* never let two datagrams run together */
	return rc;
}

/* Microseconds left on OpenSSL's retransmission timer, or -1 when it is not running. */
static int64_t ssl_timer_us(struct dtls_conn *c)
{
	struct timeval tv;

	if (DTLSv1_get_timeout(c->ssl, &tv) != 1)
		return -1;
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

int64_t dtls_conn_timeout_us(struct dtls_conn *c)
{
	if (c->err)
		return -1;
	int64_t t = ssl_timer_us(c);
	if (c->done || !c->started_us)
		return t;
	int64_t left = c->started_us + c->giveup_us - now_us();
	if (left < 0)
		left = 0;
	return t < 0 || left < t ? left : t;
}

int dtls_conn_on_timeout(struct dtls_conn *c)
{
	if (c->err)
		return c->err;
	if (!c->done && c->started_us && now_us() - c->started_us >= c->giveup_us)
		return conn_fail(c, -ETIMEDOUT);
	ERR_clear_error();
	int ret = (int)DTLSv1_handle_timeout(c->ssl);
	flush_out(c);
	if (ret < 0) /* OpenSSL's own retransmission limit */
		return conn_fail(c, c->done ? -EPROTO : -ETIMEDOUT);
	return 0;
}

bool dtls_conn_done(const struct dtls_conn *c)
{
	return c->done && !c->err;
}

int dtls_conn_srtp_keys(const struct dtls_conn *c, struct srtp_keys *out)
{
	if (!c->done)
		return -EAGAIN;
	*out = c->keys;
	return 0;
}

uint64_t dtls_conn_bad_datagrams(const struct dtls_conn *c)
{
	return c->bad;
}

void dtls_conn_set_giveup_us(struct dtls_conn *c, int64_t us)
{
	c->giveup_us = us;
}
