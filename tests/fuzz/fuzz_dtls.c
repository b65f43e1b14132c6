/*
 * fuzz_dtls.c - libFuzzer target for a DTLS server association in handshake (src/net/dtls.c):
 * its own framing check (RFC 7983 first byte, record tiling, handshake fragment bounds) and,
 * past it, OpenSSL. The input is a sequence of datagrams, each a 2-byte big-endian length and
 * its bytes; each goes to dtls_conn_recv of a fresh server whose peer fingerprint is fixed.
 * What the server sends is discarded. The certificate is made once. OpenSSL's randomness makes
 * runs past the ClientHello non-reproducible; the target is mainly about the framing code.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "failalloc.h"
#include "net/dtls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dtls_cert *cert;

static void on_send(void *opaque, const uint8_t *data, size_t len)
{
	(void)opaque;
	(void)data;
	(void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];
	/* Before the first failalloc_reset: never fails. */
	if (!cert && dtls_cert_new(&cert, NULL, NULL, err, sizeof(err)) != 0)
		abort();
	failalloc_reset(data, size);
	struct dtls_conn *c = NULL;
	int rc = dtls_conn_new(&c, cert, DTLS_SERVER, "sha-256", dtls_cert_fingerprint(cert),
	                       on_send, NULL);
	if (rc == -ENOMEM && !c) /* FUZZ_FAIL_ALLOC */
		return 0;
	if (rc != 0)
		abort();
	size_t off = 0;
	while (size - off >= 2) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (n > size - off)
			n = size - off;
		rc = dtls_conn_recv(c, data + off, n);
		off += n;
		if (rc != 0 && rc != 1 && rc != -EPERM && rc != -EPROTO && rc != -ECONNRESET)
			abort();
		if (rc < 0)
			break;
	}
	(void)dtls_conn_timeout_us(c);
	dtls_conn_free(&c);
	return 0;
}
